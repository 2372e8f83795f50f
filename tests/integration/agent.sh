#!/usr/bin/env bash
# The agent in warren-init (docs/agent-protocol.md) as PID 1 of a real runsc
# sandbox: it listens on a unix socket in a host directory bind-mounted into
# the sandbox (runsc --host-uds=create), and a host client (agent-call)
# connects through it, runs commands and reads their output.
. "$(dirname "$0")/../lib.sh"

AGENT_CALL=${AGENT_CALL:-$WARREN_BUILD_DIR/tests/tools/agent-call}

# agent_sandbox ID: starts a busybox sandbox whose PID 1 is
# `warren-init --agent-socket /run/agent/agent.sock` (no command), the
# socket's directory being $SOCK_DIR on the host.  Stopped when the
# case ends.
agent_sandbox() {
    local id=$1 b=$T_CASE_DIR/bundle
    # The case directory is too deep for a unix socket's path (108 bytes).
    mkdir -p /run/warren-test
    SOCK_DIR=$(mktemp -d /run/warren-test/agent.XXXXXX)
    t_defer rm -rf "$SOCK_DIR"
    mkdir -p "$T_CASE_DIR/init"
    cp "$WARREN_INIT" "$T_CASE_DIR/init/warren-init"
    t_bundle "$b" "$WARREN_BUSYBOX_ROOTFS" - /warren/warren-init --agent-socket /run/agent/agent.sock
    t_spec_set "$b" '.mounts += [
        {destination: "/run/agent", type: "bind", source: $sock, options: ["rbind", "rw"]},
        {destination: "/warren", type: "bind", source: $init, options: ["rbind", "ro"]}]' \
        --arg sock "$SOCK_DIR" --arg init "$T_CASE_DIR/init"
    t_defer t_force_delete "$T_CASE_DIR/state" "$id"
    t_timeout 60 "$RUNSC" --root "$T_CASE_DIR/state" --host-uds=create --network=none \
        --debug-log "$T_CASE_DIR/runsc/" run --detach --bundle "$b" "$id" \
        > "$T_CASE_DIR/sandbox.out" 2>&1
    local i
    for i in $(seq 100); do
        [ -S "$SOCK_DIR/agent.sock" ] && return 0
        sleep 0.1
    done
    cat "$T_CASE_DIR/sandbox.out"
    t_fail "the agent's socket did not appear in $SOCK_DIR"
}

case_echo() {
    t_require_warren
    [ -x "$AGENT_CALL" ] || t_fail "agent-call not built: $AGENT_CALL"
    t_images busybox
    agent_sandbox agent-echo
    local sock=$SOCK_DIR/agent.sock
    t_capture out 60 "$AGENT_CALL" "$sock" echo hi
    assert_status 0 "$T_STATUS" "agent-call echo hi"
    assert_match "$out" '(^|[[:space:]])hi($|[[:space:]])' "echo's output"
    assert_contains "$out" "agent-call: exited 0"
    # PID 1 is warren-init, and exit codes come back exactly.
    t_capture out 60 "$AGENT_CALL" "$sock" sh -c 'cat /proc/1/cmdline | tr "\0" " "; exit 5'
    assert_status 5 "$T_STATUS" "agent-call of a command that exits 5"
    assert_contains "$out" "/warren/warren-init --agent-socket"
    # A second connection after the first closed (warrend reconnecting).
    t_capture out 60 "$AGENT_CALL" "$sock" sh -c 'echo again >&2'
    assert_status 0 "$T_STATUS" "agent-call on a new connection"
    assert_contains "$out" "again"
    # SIGTERM ends the agent and so the sandbox, with status 0.
    t_timeout 30 "$RUNSC" --root "$T_CASE_DIR/state" kill agent-echo TERM
    local i state=
    for i in $(seq 100); do
        state=$("$RUNSC" --root "$T_CASE_DIR/state" state agent-echo 2>/dev/null | jq -r .status) || true
        [ "$state" = stopped ] && break
        sleep 0.1
    done
    assert_eq "$state" stopped "the sandbox's state after SIGTERM"
}

t_case "warren-init's agent in a runsc sandbox: a host client runs echo hi and reads its output" case_echo
t_done
