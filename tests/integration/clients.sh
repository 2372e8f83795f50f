#!/usr/bin/env bash
# Real container engines using warren-runtime: Docker (--add-runtime via
# daemon.json), Podman (--runtime) and containerd (ctr with warren-runtime as
# the runc binary).  Each runs the Debian+Docker image from the local registry
# and, inside it, a nested `docker run` of busybox pulled through the
# registry mirror.
. "$(dirname "$0")/../lib.sh"

NESTED=(docker run --rm --network=host busybox echo nested-client-ok)
NESTED_LINE='(^|[[:space:]])nested-client-ok($|[[:space:]])'

# The docker CLI of the docker.io package (20.10), on the test dockerd.
DK=(env "DOCKER_HOST=unix://$WARREN_TEST_RUN/dockerd/docker.sock" "$DOCKER_CLI")

host_dockerd() {
    WARREN_RUNTIME=$WARREN_RUNTIME t_timeout 120 "$T_LIB_DIR/fixtures/host-dockerd" start ||
        t_fail "the host dockerd fixture did not start"
}

# A container Docker left behind: remove it, and its sandbox if the runtime
# left one in runsc's state (e.g. stuck in `created`).
docker_cleanup() {
    local name=$1
    "${DK[@]}" rm -f "$name" > /dev/null 2>&1 || true
    # Docker 20.10 keeps every runc-shim runtime's state in runtime-runc.
    local root id
    for root in "$WARREN_TEST_RUN"/dockerd/exec/runtime-*/moby; do
        [ -d "$root" ] || continue
        for id in $(ls "$root" 2>/dev/null); do
            [ -d "$root/$id" ] || continue
            "$RUNSC" --root "$root" delete -force "$id" 2>/dev/null || true
        done
    done
}

case_docker_runtimes() {
    t_require_warren
    host_dockerd
    local info
    info=$(t_timeout 30 "${DK[@]}" info --format '{{json .Runtimes}}')
    echo "$info"
    local rt
    for rt in warren warren-docker warren-broken; do
        jq -e --arg rt "$rt" 'has($rt)' <<<"$info" > /dev/null ||
            t_fail "the host dockerd has no runtime '$rt': $info"
    done
    assert_eq "$(jq -r '.warren.path' <<<"$info")" "$(realpath -m "$WARREN_RUNTIME")" "path of runtime warren"
}

case_docker() {
    t_require_warren
    t_images
    host_dockerd
    local name=warren-test-docker-$$
    t_defer docker_cleanup "$name" warren-docker
    t_timeout 300 "${DK[@]}" pull -q "$WARREN_DEBIAN_IMAGE"
    # Docker 20.10's `docker run` has no --annotation flag: the runtime
    # registered as warren-docker passes `--profile docker` (runtimeArgs).
    t_capture out 240 "${DK[@]}" run --rm --name "$name" --runtime=warren-docker --network=host \
        "$WARREN_DEBIAN_IMAGE" "${NESTED[@]}"
    assert_status 0 "$T_STATUS" "docker run --runtime=warren-docker"
    assert_contains "$out" "docker daemon is ready"
    assert_match "$out" "$NESTED_LINE" "the nested container's output"
}

case_docker_default_profile() {
    t_require_warren
    t_images busybox
    host_dockerd
    local name=warren-test-default-$$
    t_defer docker_cleanup "$name" warren
    # Without a profile warren-runtime is a plain gVisor runtime: the
    # command runs, and no dockerd is started.
    t_timeout 120 "${DK[@]}" pull -q "$WARREN_BUSYBOX_IMAGE"
    t_capture out 120 "${DK[@]}" run --rm --name "$name" --runtime=warren --network=host \
        "$WARREN_BUSYBOX_IMAGE" sh -c 'echo default-profile-ok; dmesg 2>/dev/null | head -n 3'
    assert_status 0 "$T_STATUS" "docker run --runtime=warren"
    assert_contains "$out" default-profile-ok
    assert_not_contains "$out" "docker daemon is ready"
    # gVisor's kernel, not the host's, answered.
    assert_match "$out" 'gVisor|Starting gVisor' "dmesg inside the container"
}

case_docker_error() {
    t_require_warren
    t_images busybox
    host_dockerd
    local name=warren-test-error-$$
    t_defer docker_cleanup "$name" warren-broken
    t_timeout 120 "${DK[@]}" pull -q "$WARREN_BUSYBOX_IMAGE"
    # The runtime registered as warren-broken is told to use a runsc that
    # does not exist: it must refuse, and `docker run` must show the
    # runtime's own message (Docker reads it from the runtime's --log file).
    t_capture out 120 "${DK[@]}" run --rm --name "$name" --runtime=warren-broken --network=host \
        "$WARREN_BUSYBOX_IMAGE" echo should-not-run
    assert_status nonzero "$T_STATUS" "docker run with a runtime whose runsc is missing"
    assert_not_contains "$out" should-not-run
    assert_contains "$out" /nonexistent/runsc "docker run's error"
    assert_contains "$out" 20240729 "docker run's error (the runsc release needed)"
}

case_podman() {
    t_require_warren
    t_require podman
    t_images
    local name=warren-test-podman-$$
    local P=(podman --root "$WARREN_TEST_CACHE/podman/root" --runroot "$WARREN_TEST_RUN/podman/runroot"
        --tmpdir "$WARREN_TEST_RUN/podman/tmp" --cgroup-manager cgroupfs
        --events-backend file --storage-driver overlay)
    t_defer "${P[@]}" rm -f "$name"
    t_timeout 300 "${P[@]}" pull -q --tls-verify=false "$WARREN_DEBIAN_IMAGE"
    t_capture out 240 "${P[@]}" --runtime "$WARREN_RUNTIME" run --rm --name "$name" \
        --annotation dev.warren.profile=docker --network=host \
        "$WARREN_DEBIAN_IMAGE" "${NESTED[@]}"
    assert_status 0 "$T_STATUS" "podman --runtime warren-runtime run"
    assert_contains "$out" "docker daemon is ready"
    assert_match "$out" "$NESTED_LINE" "the nested container's output"
}

containerd_up() {
    t_timeout 60 "$T_LIB_DIR/fixtures/containerd" start || t_fail "the containerd fixture did not start"
    CTR=(ctr --address "$WARREN_TEST_RUN/containerd/containerd.sock" --namespace warren-test)
    t_timeout 300 "${CTR[@]}" images pull --plain-http "$WARREN_DEBIAN_IMAGE" > /dev/null
}

ctr_cleanup() {
    local id=$1 runc_root=$2
    local C=(ctr --address "$WARREN_TEST_RUN/containerd/containerd.sock" --namespace warren-test)
    timeout 20 "${C[@]}" tasks kill -s KILL "$id" > /dev/null 2>&1 || true
    timeout 20 "${C[@]}" tasks delete -f "$id" > /dev/null 2>&1 || true
    # The runc shim keeps the runtime state in <runc root>/<namespace>.
    "$RUNSC" --root "$runc_root/warren-test" delete -force "$id" > /dev/null 2>&1 || true
    timeout 20 "${C[@]}" tasks delete -f "$id" > /dev/null 2>&1 || true
    timeout 20 "${C[@]}" containers delete "$id" > /dev/null 2>&1 || true
}

# The runtime under the name that selects the docker profile.  containerd's
# runc shim passes no extra arguments, so the name is how it asks.
runtime_docker_link() {
    local link=$(dirname "$WARREN_RUNTIME")/warren-runtime-docker
    if [ ! -e "$link" ]; then
        link=$T_CASE_DIR/bin/warren-runtime-docker
        mkdir -p "$(dirname "$link")"
        ln -sf "$(realpath "$WARREN_RUNTIME")" "$link"
    fi
    echo "$link"
}

case_containerd_link() {
    t_require_warren
    t_require ctr containerd
    t_images
    containerd_up
    local id=warren-test-ctr-$$ runc_root=$WARREN_TEST_RUN/containerd/runc link
    link=$(runtime_docker_link)
    t_defer ctr_cleanup "$id" "$runc_root"
    t_capture out 240 "${CTR[@]}" run --rm --runc-binary "$link" --runc-root "$runc_root" --net-host \
        "$WARREN_DEBIAN_IMAGE" "$id" "${NESTED[@]}"
    assert_status 0 "$T_STATUS" "ctr run --runc-binary warren-runtime-docker"
    assert_contains "$out" "docker daemon is ready"
    assert_match "$out" "$NESTED_LINE" "the nested container's output"
}

case_containerd_annotation() {
    t_require_warren
    t_require ctr containerd
    t_images
    containerd_up
    local id=warren-test-ctra-$$ runc_root=$WARREN_TEST_RUN/containerd/runc
    t_defer ctr_cleanup "$id" "$runc_root"
    t_capture out 240 "${CTR[@]}" run --rm --runc-binary "$WARREN_RUNTIME" --runc-root "$runc_root" --net-host \
        --annotation dev.warren.profile=docker "$WARREN_DEBIAN_IMAGE" "$id" "${NESTED[@]}"
    assert_status 0 "$T_STATUS" "ctr run --runc-binary warren-runtime --annotation dev.warren.profile=docker"
    assert_contains "$out" "docker daemon is ready"
    assert_match "$out" "$NESTED_LINE" "the nested container's output"
}

t_case "host dockerd lists the warren runtimes" case_docker_runtimes
t_case "docker run --runtime=warren-docker: nested docker run prints its output" case_docker
t_case "docker run --runtime=warren without a profile: a plain gVisor container" case_docker_default_profile
t_case "docker run shows warren-runtime's error (runsc missing)" case_docker_error
t_case "podman --runtime warren-runtime --annotation dev.warren.profile=docker: nested docker run" case_podman
t_case "containerd: ctr run with warren-runtime-docker as the runc binary: nested docker run" case_containerd_link
t_case "containerd: ctr run with the dev.warren.profile=docker annotation: nested docker run" case_containerd_annotation
t_done
