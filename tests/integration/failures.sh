#!/usr/bin/env bash
# Failure paths: each must fail, and say clearly what is wrong and what to do.
. "$(dirname "$0")/../lib.sh"

rt_init() {
    RT=("$WARREN_RUNTIME" --root "$T_CASE_DIR/state" --log "$T_CASE_DIR/runtime.log"
        --log-format json --init "$WARREN_INIT")
}

show_runtime_log() {
    [ -f "$T_CASE_DIR/runtime.log" ] || return 0
    echo "--- warren-runtime --log:"
    cat "$T_CASE_DIR/runtime.log"
}

# busybox_bundle DIR ARGS...: a small bundle (busybox root, host network).
busybox_bundle() {
    local dir=$1; shift
    t_bundle "$dir" "$WARREN_BUSYBOX_ROOTFS" - "$@"
}

# fake_runsc PATH VERSION: a script that answers like runsc VERSION and
# fails anything else.
fake_runsc() {
    cat > "$1" <<EOF
#!/bin/sh
for a in "\$@"; do
    case \$a in
        --version|-version) echo "runsc version $2"; echo "spec: 1.0.2-dev"; exit 0 ;;
    esac
done
echo "fake runsc $2: \$*" >&2
exit 1
EOF
    chmod +x "$1"
}

case_runsc_missing() {
    t_require_warren
    t_images busybox
    rt_init
    busybox_bundle "$T_CASE_DIR/b" echo should-not-run
    t_defer show_runtime_log
    t_capture out 60 "${RT[@]}" --backend-binary /nonexistent/runsc run --bundle "$T_CASE_DIR/b" fail-missing
    assert_status nonzero "$T_STATUS" "run with no runsc"
    assert_not_contains "$out" should-not-run
    assert_contains "$out" /nonexistent/runsc "the error"
    assert_contains "$out" 20240729 "the error (the runsc release needed)"
}

case_runsc_too_old() {
    t_require_warren
    t_images busybox
    rt_init
    fake_runsc "$T_CASE_DIR/runsc" 0.0~20221219.0
    busybox_bundle "$T_CASE_DIR/b" echo should-not-run
    t_defer show_runtime_log
    t_capture out 60 "${RT[@]}" --backend-binary "$T_CASE_DIR/runsc" run --bundle "$T_CASE_DIR/b" fail-old
    assert_status nonzero "$T_STATUS" "run with runsc 20221219"
    assert_not_contains "$out" should-not-run
    assert_contains "$out" 20240729 "the error (the runsc release needed)"
    assert_contains "$out" 20221219 "the error (the release found)"
}

case_no_dockerd() {
    t_require_warren
    t_images busybox
    rt_init
    busybox_bundle "$T_CASE_DIR/b" echo should-not-run
    t_sandbox_cleanup "$T_CASE_DIR/state" fail-nodockerd
    t_defer show_runtime_log
    t_capture out 120 "${RT[@]}" --profile docker run --bundle "$T_CASE_DIR/b" fail-nodockerd
    assert_status nonzero "$T_STATUS" "docker profile on an image without dockerd"
    assert_not_contains "$out" should-not-run
    assert_not_contains "$out" "docker daemon is ready"
    assert_match "$out" 'dockerd' "the error"
    assert_match "$(tr 'A-Z' 'a-z' <<<"$out")" 'not found|no such file|not installed|missing|no dockerd|cannot find|could not find' \
        "the error (says dockerd is not there)"
}

case_dockerd_crashes() {
    t_require_warren
    t_images busybox
    rt_init
    local b=$T_CASE_DIR/b
    busybox_bundle "$b" echo should-not-run
    # The overlay keeps the cached busybox root unchanged.
    mkdir -p "$b/rootfs/usr/bin"
    cat > "$b/rootfs/usr/bin/dockerd" <<'EOF'
#!/bin/sh
echo "fake dockerd starting (warren failure test)"
echo "fake dockerd: failed to start daemon: simulated crash 4242"
exit 1
EOF
    chmod +x "$b/rootfs/usr/bin/dockerd"
    t_sandbox_cleanup "$T_CASE_DIR/state" fail-crash
    t_defer show_runtime_log
    t_capture out 120 "${RT[@]}" --profile docker run --bundle "$b" fail-crash
    assert_status nonzero "$T_STATUS" "docker profile with a crashing dockerd"
    assert_not_contains "$out" should-not-run
    assert_not_contains "$out" "docker daemon is ready"
    # dockerd's last log lines reach the caller, and its exit status.
    assert_contains "$out" "simulated crash 4242" "the error (dockerd's last log lines)"
    assert_match "$out" '(status|code)[^0-9]{0,4}1([^0-9]|$)|exited[^0-9]{0,12}1([^0-9]|$)' "the error (dockerd's exit status)"
}

case_dockerd_never_ready() {
    t_require_warren
    t_images busybox
    rt_init
    local b=$T_CASE_DIR/b
    busybox_bundle "$b" echo should-not-run
    mkdir -p "$b/rootfs/usr/bin"
    cat > "$b/rootfs/usr/bin/dockerd" <<'EOF'
#!/bin/sh
echo "fake dockerd: hanging before it listens (warren failure test 5151)"
exec sleep 600
EOF
    chmod +x "$b/rootfs/usr/bin/dockerd"
    t_spec_set "$b" '.process.env += ["WARREN_DOCKERD_TIMEOUT=3"]'
    t_sandbox_cleanup "$T_CASE_DIR/state" fail-hang
    t_defer show_runtime_log
    local started=$SECONDS
    t_capture out 90 "${RT[@]}" --profile docker run --bundle "$b" fail-hang
    assert_status nonzero "$T_STATUS" "docker profile with a dockerd that never answers"
    [ "$T_STATUS" != 124 ] || t_fail "warren-runtime was still waiting after 90 s (WARREN_DOCKERD_TIMEOUT=3)"
    [ $((SECONDS - started)) -lt 60 ] || t_fail "gave up only after $((SECONDS - started)) s with WARREN_DOCKERD_TIMEOUT=3"
    assert_not_contains "$out" should-not-run
    assert_not_contains "$out" "docker daemon is ready"
    assert_contains "$out" "warren failure test 5151" "the error (dockerd's last log lines)"
    assert_contains "$out" WARREN_DOCKERD_TIMEOUT "the error (how to wait longer)"
}

case_malformed_config() {
    t_require_warren
    t_images busybox
    rt_init
    local b=$T_CASE_DIR/b
    mkdir -p "$b/rootfs"
    printf '{\n  "ociVersion": "1.0.2",\n  "process": {"args": ["sh",]\n' > "$b/config.json"
    t_sandbox_cleanup "$T_CASE_DIR/state" fail-json
    t_capture out 60 "${RT[@]}" create --bundle "$b" fail-json
    assert_status nonzero "$T_STATUS" "create with a malformed config.json"
    assert_contains "$out" config.json "stderr"
    # runc's way: the error is also in the --log file, as JSON lines with a
    # level and a msg, which is what Docker and containerd show the user.
    [ -s "$T_CASE_DIR/runtime.log" ] || t_fail "nothing in the --log file $T_CASE_DIR/runtime.log"
    cat "$T_CASE_DIR/runtime.log"
    jq -e . "$T_CASE_DIR/runtime.log" > /dev/null || t_fail "the --log file is not JSON lines"
    local msg
    msg=$(jq -r 'select(.level == "error") | .msg' "$T_CASE_DIR/runtime.log")
    [ -n "$msg" ] || t_fail "no {\"level\":\"error\"} line in the --log file"
    assert_contains "$msg" config.json "the error message in the --log file"
    # Docker's shim parses "time" as RFC 3339 and hides the message when it
    # cannot.
    local time
    time=$(jq -r 'select(.level == "error") | .time' "$T_CASE_DIR/runtime.log" | head -n 1)
    assert_match "$time" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' \
        "the time of the --log error line (RFC 3339)"
    # The position of the error (a line, column or offset): a number once
    # the bundle's path (which may hold digits) is taken out.
    assert_match "${msg//$b/BUNDLE}" '[0-9]' "the error message in the --log file (a position)"
}

case_unknown_profile() {
    t_require_warren
    t_images busybox
    rt_init
    local b=$T_CASE_DIR/b
    busybox_bundle "$b" echo should-not-run
    t_spec_set "$b" '.annotations["dev.warren.profile"] = "no-such-profile"'
    t_sandbox_cleanup "$T_CASE_DIR/state" fail-profile
    t_capture out 60 "${RT[@]}" run --bundle "$b" fail-profile
    assert_status nonzero "$T_STATUS" "run with an unknown profile"
    assert_not_contains "$out" should-not-run
    assert_contains "$out" no-such-profile "the error"
    assert_contains "$out" docker "the error (the known profiles)"
}

t_case "runsc missing: the error names the binary and the release needed" case_runsc_missing
t_case "runsc too old: the error names the release found and the one needed" case_runsc_too_old
t_case "no dockerd in the image: a clear error, the command does not run" case_no_dockerd
t_case "dockerd crashes: its exit status and last log lines are shown" case_dockerd_crashes
t_case "dockerd never answers: warren-init gives up after WARREN_DOCKERD_TIMEOUT" case_dockerd_never_ready
t_case "malformed config.json: runc-style JSON error in --log and on stderr" case_malformed_config
t_case "unknown profile: the error lists the known ones" case_unknown_profile
t_done
