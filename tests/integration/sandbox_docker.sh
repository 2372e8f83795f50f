#!/usr/bin/env bash
# A Docker-enabled warrend sandbox pulling through warrend's registry
# mirror: its agent offers the nested dockerd a mirror on 127.0.0.1:5999,
# relays each connection over the agent channel (relay.open) to warrend,
# whose mirror fetches docker.io's images with warrend's registry client
# (its --docker-io-mirror: a registry of this test's on 127.0.0.1:5010,
# over the local registry's storage, with an access log) into warrend's
# store.  The sandbox has loopback only, so nothing else could pull.
#
# `docker pull busybox` (docker.io/library/busybox by its short name)
# inside the sandbox, `docker run` of it with its output read back, the
# same through the sandbox's Docker socket on the host, a second sandbox
# pulling with no blob fetched from the registry again (its access log and
# warrend's /metrics), and everything deleted with nothing left.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=600
COUNTED=127.0.0.1:5010

# counted_registry: a second docker-registry on $COUNTED serving the local
# registry's storage (read only here), logging every request to
# $WD_ROOT/registry-access.log.
counted_registry() {
    command -v docker-registry >/dev/null || t_fail "docker-registry is not installed"
    local storage=$WARREN_TEST_CACHE/registry/storage
    [ -d "$storage" ] || t_fail "no local registry storage at $storage"
    cat > "$WD_ROOT/registry.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $storage
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $COUNTED
YAML
    docker-registry serve "$WD_ROOT/registry.yml" > "$WD_ROOT/registry-access.log" 2>&1 &
    local pid=$!
    t_defer kill "$pid"
    local i
    for i in $(seq 100); do
        curl -sf -o /dev/null --max-time 1 "http://$COUNTED/v2/" && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$WD_ROOT/registry-access.log"; t_fail "the counted registry exited"; }
        sleep 0.1
    done
    t_fail "the counted registry does not answer on $COUNTED"
}

# Blob GETs the counted registry answered.
blob_gets() { grep -c '"GET /v2/library/busybox/blobs/sha256:' "$WD_ROOT/registry-access.log" || true; }

create_docker() {
    local out
    out=$(curl -s --unix-socket "$WD_SOCK" -H 'Accept: application/x-ndjson' \
        -H 'Content-Type: application/json' \
        -d "{\"image\": \"$WARREN_DEBIAN_IMAGE\", \"docker_enabled\": true}" \
        http://warrend/v1/sandboxes)
    printf '%s\n' "$out"
    [ "$(printf '%s\n' "$out" | tail -n 1 | jq -r '.sandbox.state // empty')" = running ] ||
        t_fail "the create did not end with a running sandbox: $out"
}

in_sandbox() {
    local id=$1; shift
    timeout -k 5 300 "$AGENT_CALL" "$WD_ROOT/sandboxes/$id/agent/agent.sock" "$@"
}

metric() { t_api GET /metrics | awk -v m="$1" '$1 == m { print $2 }'; }

case_pull_through_the_mirror() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    [ -x "$AGENT_CALL" ] || t_fail "agent-call not built: $AGENT_CALL"
    t_images debian-docker
    t_images busybox
    t_warrend_root
    counted_registry
    t_warrend --docker-io-mirror "http://$COUNTED"
    local out a b sock fetched
    out=$(create_docker)
    echo "$out"
    assert_contains "$out" '"message":"Waiting for Docker daemon to be ready (timeout: 30s)..."'
    assert_match "$out" '"message":"Docker daemon is ready \(took [0-9]+\.[0-9]s\)"'
    a=$(printf '%s\n' "$out" | tail -n 1 | jq -r .sandbox.id)
    sock=$(printf '%s\n' "$out" | tail -n 1 | jq -r .sandbox.docker_socket)

    # dockerd was given the agent's mirror, first.
    out=$(in_sandbox "$a" docker info --format '{{json .RegistryConfig.Mirrors}}')
    assert_contains "$out" '"http://127.0.0.1:5999/"'
    # Loopback and what dockerd made inside the sandbox (docker0 and its
    # veths) only: without the relay nothing could be pulled.
    out=$(in_sandbox "$a" cat /proc/net/dev)
    assert_contains "$out" "docker0:" "the nested dockerd's bridge"
    assert_eq "$(printf '%s\n' "$out" | tail -n +3 | { grep -Evc '^ *(lo|docker0|veth[0-9a-f]+):' || true; })" 0 \
        "interfaces other than lo and docker0"

    assert_eq "$(blob_gets)" 0 "blob GETs before any pull"
    out=$(in_sandbox "$a" docker pull busybox 2>&1)
    echo "$out"
    assert_contains "$out" "docker.io/library/busybox:latest"
    fetched=$(blob_gets)
    [ "$fetched" -ge 1 ] || t_fail "the pull fetched no blob from the counted registry"
    out=$(in_sandbox "$a" docker run --rm busybox echo hello-from-nested 2>&1)
    assert_contains "$out" "hello-from-nested"
    # The host's docker CLI on the sandbox's socket: the same dockerd.
    out=$(timeout -k 5 120 docker -H "unix://$sock" run --rm busybox echo via-socket 2>&1)
    assert_contains "$out" "via-socket"
    assert_eq "$(metric warren_mirror_blobs_fetched_total)" "$fetched" "blobs the mirror fetched"
    [ "$(metric warren_mirror_connections_total)" -ge 1 ] || t_fail "no relayed connection counted"

    # A second sandbox: the same image, every blob from warrend's store.
    out=$(create_docker)
    b=$(printf '%s\n' "$out" | tail -n 1 | jq -r .sandbox.id)
    out=$(in_sandbox "$b" docker pull busybox 2>&1)
    echo "$out"
    assert_contains "$out" "docker.io/library/busybox:latest"
    assert_eq "$(blob_gets)" "$fetched" "blob GETs after the second sandbox's pull"
    assert_eq "$(metric warren_mirror_blobs_fetched_total)" "$fetched" "blobs fetched after the second pull"
    [ "$(metric warren_mirror_blobs_from_store_total)" -ge "$fetched" ] ||
        t_fail "the second pull's blobs did not come from the store"
    out=$(in_sandbox "$b" docker run --rm busybox echo hello-again 2>&1)
    assert_contains "$out" "hello-again"

    for id in "$a" "$b"; do
        out=$(t_api DELETE "/v1/sandboxes/$id")
        assert_contains "$out" '"reason":"deleted"'
    done
    [ ! -e "$sock" ] || t_fail "the Docker socket is still there"
    assert_eq "$(t_leftovers)" "" "what the deleted sandboxes left"
    assert_eq "$(ls "$WD_ROOT/run/netns" | grep -c '^warren-')" 0 "warren-* network namespaces"
}

# After a restart, warrend connects to the adopted sandbox's agent at once,
# so the nested dockerd pulls through it again.
case_pull_after_restart() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images debian-docker
    t_images busybox
    t_warrend_root
    t_warrend
    local out id
    out=$(create_docker)
    id=$(printf '%s\n' "$out" | tail -n 1 | jq -r .sandbox.id)
    t_warrend_stop "$WD_PID"
    t_warrend
    grep -q 'recovery: adopted a running sandbox' "$WD_ROOT/warrend.log" ||
        t_fail "warrend did not adopt the sandbox"
    # It connects to the adopted agents on a thread of its own.
    local i
    for i in $(seq 100); do
        grep -q 'recovery: connected to the agent' "$WD_ROOT/warrend.log" && break
        sleep 0.1
    done
    grep -q 'recovery: connected to the agent' "$WD_ROOT/warrend.log" ||
        t_fail "warrend did not connect to the adopted sandbox's agent"
    out=$(in_sandbox "$id" docker pull busybox 2>&1)
    echo "$out"
    assert_contains "$out" "docker.io/library/busybox:latest"
    out=$(in_sandbox "$id" docker run --rm busybox echo after-restart 2>&1)
    assert_contains "$out" "after-restart"
    out=$(t_api DELETE "/v1/sandboxes/$id")
    assert_contains "$out" '"reason":"deleted"'
    assert_eq "$(t_leftovers)" "" "what the deleted sandbox left"
}

t_case "docker pull inside a sandbox goes through warrend's mirror, blobs fetched once" case_pull_through_the_mirror
t_case "after a warrend restart the adopted sandbox still pulls through the mirror" case_pull_after_restart
t_done
