#!/usr/bin/env bash
# The docker profile only where gVisor contains it, and only the profiles
# the operator lets an annotation select (docs/security.md).  Each refusal
# names the profile and the backend (or the list), and creates nothing.
. "$(dirname "$0")/../lib.sh"

RUNC=$(command -v runc || echo /usr/sbin/runc)

rt_init() {
    STATE=$T_CASE_DIR/state
    RT=("$WARREN_RUNTIME" --root "$STATE" --init "$WARREN_INIT" "$@")
}

# busybox_bundle DIR ARGS...: a small bundle (busybox root, host network).
busybox_bundle() {
    local dir=$1; shift
    t_bundle "$dir" "$WARREN_BUSYBOX_ROOTFS" - "$@"
}

# Nothing of container ID is left: no runc or runsc state, no process
# naming it.
assert_nothing_made() {
    local id=$1 list
    list=$(timeout 20 "$RUNC" --root "$STATE" list -q 2>/dev/null || true)
    assert_not_contains "$list" "$id" "runc's list"
    list=$(timeout 20 "$RUNSC" --root "$STATE" list -quiet 2>/dev/null || true)
    assert_not_contains "$list" "$id" "runsc's list"
    [ ! -e "$STATE/$id" ] || t_fail "state of $id left in $STATE: $(ls -A "$STATE/$id")"
    if pgrep -f -- "$id" > /dev/null; then
        t_fail "a process naming $id is running: $(pgrep -af -- "$id")"
    fi
}

case_docker_profile_refused_on_runc() {
    t_require_warren
    [ -x "$RUNC" ] || t_fail "runc is not installed (scripts/setup installs it)"
    t_images busybox
    rt_init --backend runc --backend-binary "$RUNC"
    local b=$T_CASE_DIR/b
    busybox_bundle "$b" echo should-not-run
    local before
    before=$(sha256sum < "$b/config.json")
    t_defer timeout 20 "$RUNC" --root "$STATE" delete --force sec-flag
    t_capture out 60 "${RT[@]}" --profile docker run --bundle "$b" sec-flag
    assert_status nonzero "$T_STATUS" "--backend runc --profile docker"
    assert_contains "$out" "profile \`docker\` needs a sandbox" "the error"
    assert_contains "$out" "backend \`runc\`" "the error"
    assert_not_contains "$out" should-not-run
    assert_nothing_made sec-flag
    t_spec_set "$b" '.annotations["dev.warren.profile"] = "docker"'
    before=$(sha256sum < "$b/config.json")
    t_defer timeout 20 "$RUNC" --root "$STATE" delete --force sec-annotation
    t_capture out 60 "${RT[@]}" create --bundle "$b" sec-annotation
    assert_status nonzero "$T_STATUS" "--backend runc with the docker annotation"
    assert_contains "$out" "profile \`docker\` needs a sandbox" "the error"
    assert_contains "$out" "backend \`runc\`" "the error"
    assert_eq "$(sha256sum < "$b/config.json")" "$before" "config.json (not changed)"
    assert_nothing_made sec-annotation
    # The default profile still runs under runc.
    t_spec_set "$b" 'del(.annotations["dev.warren.profile"])'
    t_capture out 60 "${RT[@]}" run --bundle "$b" sec-default
    assert_status 0 "$T_STATUS" "--backend runc with the default profile"
    assert_contains "$out" should-not-run "the default profile's output"
}

case_annotation_outside_list() {
    t_require_warren
    t_images busybox
    local b=$T_CASE_DIR/b
    busybox_bundle "$b" echo should-not-run
    t_spec_set "$b" '.annotations["dev.warren.profile"] = "docker"'
    rt_init --annotation-profiles default
    t_sandbox_cleanup "$STATE" sec-list
    t_capture out 60 "${RT[@]}" run --bundle "$b" sec-list
    assert_status nonzero "$T_STATUS" "an annotation outside --annotation-profiles"
    assert_contains "$out" "asks for profile \`docker\`" "the error"
    assert_contains "$out" "(allowed: default)" "the error"
    assert_nothing_made sec-list
    # The same from the config file.
    printf '{"annotation_profiles": []}\n' > "$T_CASE_DIR/runtime.json"
    rt_init --config "$T_CASE_DIR/runtime.json"
    t_sandbox_cleanup "$STATE" sec-config
    t_capture out 60 "${RT[@]}" run --bundle "$b" sec-config
    assert_status nonzero "$T_STATUS" "an annotation with annotation_profiles []"
    assert_contains "$out" "(allowed: none)" "the error"
    assert_nothing_made sec-config
    # A malformed config file is an error naming it, not the defaults.
    printf '{"annotation_profile": ["docker"]}\n' > "$T_CASE_DIR/bad.json"
    rt_init --config "$T_CASE_DIR/bad.json"
    t_capture out 60 "${RT[@]}" run --bundle "$b" sec-bad
    assert_status nonzero "$T_STATUS" "a malformed config file"
    assert_contains "$out" "bad.json" "the error"
    assert_contains "$out" "unknown field" "the error"
}

podman_cmd() {
    P=(podman --root "$WARREN_TEST_CACHE/podman/root" --runroot "$WARREN_TEST_RUN/podman/runroot"
        --tmpdir "$WARREN_TEST_RUN/podman/tmp" --cgroup-manager cgroupfs
        --events-backend file --storage-driver overlay)
}

# A wrapper, as an operator would register it: warren-runtime with fixed
# flags for Podman.
runtime_wrapper() {
    local path=$T_CASE_DIR/$1; shift
    printf '#!/bin/sh\nexec %q' "$WARREN_RUNTIME" > "$path"
    printf ' %q' "$@" >> "$path"
    printf ' "$@"\n' >> "$path"
    chmod +x "$path"
    echo "$path"
}

case_podman() {
    t_require_warren
    t_require podman
    [ -x "$RUNC" ] || t_fail "runc is not installed (scripts/setup installs it)"
    t_images busybox
    podman_cmd
    t_timeout 300 "${P[@]}" pull -q --tls-verify=false "$WARREN_BUSYBOX_IMAGE" > /dev/null
    local on_runc name=warren-test-sec-$$
    on_runc=$(runtime_wrapper warren-runc --backend runc --backend-binary "$RUNC" --init "$WARREN_INIT")
    t_defer "${P[@]}" rm -f "$name"
    t_capture out 120 "${P[@]}" --runtime "$on_runc" run --rm --name "$name" --network=host \
        --annotation dev.warren.profile=docker "$WARREN_BUSYBOX_IMAGE" echo should-not-run
    assert_status nonzero "$T_STATUS" "podman, warren-runtime on runc, the docker annotation"
    assert_contains "$out" "profile \`docker\` needs a sandbox" "podman's error"
    assert_contains "$out" "backend \`runc\`" "podman's error"
    assert_not_contains "$out" should-not-run
    t_timeout 30 "${P[@]}" rm -f "$name" > /dev/null 2>&1 || true
    local listed
    on_list=$(runtime_wrapper warren-list --annotation-profiles default --init "$WARREN_INIT")
    t_capture out 120 "${P[@]}" --runtime "$on_list" run --rm --name "$name" --network=host \
        --annotation dev.warren.profile=docker "$WARREN_BUSYBOX_IMAGE" echo should-not-run
    assert_status nonzero "$T_STATUS" "podman, an annotation outside the operator's list"
    assert_contains "$out" "asks for profile \`docker\`" "podman's error"
    assert_not_contains "$out" should-not-run
    t_timeout 30 "${P[@]}" rm -f "$name" > /dev/null 2>&1 || true
    listed=$("${P[@]}" ps -a --format '{{.Names}}' 2>/dev/null || true)
    assert_not_contains "$listed" "$name" "podman ps -a"
}

t_case "the docker profile through --backend runc (flag and annotation) is refused, nothing made" case_docker_profile_refused_on_runc
t_case "an annotation asking for a profile outside the operator's list is refused" case_annotation_outside_list
t_case "both refusals through Podman" case_podman
t_done
