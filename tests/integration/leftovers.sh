#!/usr/bin/env bash
# warren-runtime leaves nothing behind: after `delete` of a container in
# any state, and after a failed create or start, no runsc process, mount,
# `list` entry or record of it remains (what a Kubernetes node does all
# day).  `delete` of a stopped container needs no --force; `kill` delivers
# the signal asked for.
. "$(dirname "$0")/../lib.sh"

rt_init() {
    STATE=$T_CASE_DIR/state
    RECORDS=$T_CASE_DIR/warren-root
    RT=(env WARREN_ROOT="$RECORDS" "$WARREN_RUNTIME" --root "$STATE" --init "$WARREN_INIT")
}

# rt VAR SECONDS ARGS...: warren-runtime ARGS, like t_capture, but with its
# output in a file: a created sandbox keeps the container's stdout open, so
# a pipe would never end.
rt() {
    local __var=$1 secs=$2; shift 2
    local file=$T_CASE_DIR/rt.out
    T_STATUS=0
    timeout -k 5 "$secs" "${RT[@]}" "$@" > "$file" 2>&1 < /dev/null || T_STATUS=$?
    printf -- '--- warren-runtime %s (exit %s)\n%s\n---\n' "$*" "$T_STATUS" "$(cat "$file")"
    printf -v "$__var" '%s' "$(cat "$file")"
}

# bundle DIR NETWORK ARGS...: a busybox bundle; NETWORK "host" (no network
# namespace: runsc --network=host) or "sandbox" (a namespace of the case's
# own: netstack).
bundle() {
    local dir=$1 network=$2; shift 2
    local netns=-
    [ "$network" = host ] || netns=$(t_netns "wr-left-$$-$(basename "$dir")")
    t_bundle "$dir" "$WARREN_BUSYBOX_ROOTFS" "$netns" "$@"
}

# Nothing of container ID (bundle BUNDLE) is left.
assert_gone() {
    local id=$1 bundle=$2 what=$3 list procs mounts
    list=$("${RT[@]}" list 2>&1 || true)
    assert_not_contains "$list" "$id " "warren-runtime list after $what"
    list=$(timeout 20 "$RUNSC" --root "$STATE" list -quiet 2>&1 || true)
    assert_not_contains "$list" "$id" "runsc list after $what"
    procs=$(pgrep -af -- "--bundle=$bundle( |\$)" || true)
    [ -z "$procs" ] || t_fail "runsc processes of $id left after $what: $procs"
    mounts=$(grep -F -- "$bundle/rootfs/" /proc/self/mountinfo || true)
    [ -z "$mounts" ] || t_fail "mounts of $id left after $what: $mounts"
    [ ! -e "$STATE/$id" ] || t_fail "runsc state of $id left after $what"
    [ -z "$(ls -A "$RECORDS/run/containers" 2>/dev/null)" ] ||
        t_fail "warren's records left after $what: $(ls "$RECORDS/run/containers")"
    echo "nothing of $id left after $what"
}

wait_status() {
    local id=$1 want=$2 i status=
    for i in $(seq 1 100); do
        status=$("${RT[@]}" state "$id" 2>/dev/null | jq -r .status) || true
        [ "$status" = "$want" ] && return 0
        sleep 0.1
    done
    t_fail "$id is '$status', not '$want', after 10 s"
}

every_state() {
    local network=$1
    t_require_warren
    t_images busybox
    rt_init
    local b=$T_CASE_DIR/b id
    bundle "$b" "$network" sleep 1000

    id=left-created
    t_sandbox_cleanup "$STATE" "$id"
    rt out 60 create --bundle "$b" "$id"
    assert_status 0 "$T_STATUS" "create"
    rt out 60 delete "$id"
    assert_status 0 "$T_STATUS" "delete of a created container (runc: no --force needed)"
    assert_gone "$id" "$b" "delete of a created container"

    id=left-running
    t_sandbox_cleanup "$STATE" "$id"
    rt out 60 create --bundle "$b" "$id"
    rt out 60 start "$id"
    assert_status 0 "$T_STATUS" "start"
    wait_status "$id" running
    rt out 60 delete "$id"
    assert_status nonzero "$T_STATUS" "delete of a running container without --force"
    assert_contains "$out" "--force" "the refusal"
    # Refused: it is still there, and warren still has create's flags for it.
    wait_status "$id" running
    [ -n "$(ls -A "$RECORDS/run/containers" 2>/dev/null)" ] ||
        t_fail "the refused delete lost warren's record of $id"
    rt out 60 delete --force "$id"
    assert_status 0 "$T_STATUS" "delete --force of a running container"
    assert_gone "$id" "$b" "delete --force of a running container"

    id=left-stopped
    t_sandbox_cleanup "$STATE" "$id"
    rt out 60 create --bundle "$b" "$id"
    rt out 60 start "$id"
    rt out 60 kill "$id" KILL
    assert_status 0 "$T_STATUS" "kill KILL"
    wait_status "$id" stopped
    rt out 60 delete "$id"
    assert_status 0 "$T_STATUS" "delete of a stopped container without --force"
    assert_gone "$id" "$b" "delete of a stopped container"

    id=left-hook
    local hb=$T_CASE_DIR/hook
    bundle "$hb" "$network" sleep 1000
    t_spec_set "$hb" '.hooks = {prestart: [{path: "/bin/false"}]}'
    t_sandbox_cleanup "$STATE" "$id"
    rt out 60 create --bundle "$hb" "$id"
    assert_status nonzero "$T_STATUS" "create with a failing prestart hook"
    assert_gone "$id" "$hb" "a failed prestart hook"
    rt out 60 delete --force "$id"
    assert_gone "$id" "$hb" "delete after a failed prestart hook"

    id=left-badcmd
    local cb=$T_CASE_DIR/badcmd
    bundle "$cb" "$network" /no/such/command
    t_sandbox_cleanup "$STATE" "$id"
    rt out 60 create --bundle "$cb" "$id"
    if [ "$T_STATUS" = 0 ]; then
        rt out 60 start "$id"
        rt out 60 delete --force "$id"
        assert_status 0 "$T_STATUS" "delete after a start of a missing command"
    fi
    assert_gone "$id" "$cb" "a missing command"
}

case_states_host() { every_state host; }
case_states_sandbox() { every_state sandbox; }

case_kill_signals() {
    t_require_warren
    t_images busybox
    rt_init
    local b=$T_CASE_DIR/b id=left-signals
    # PID 1 in the container: records each signal it gets.
    bundle "$b" host sh -c 'trap "echo TERM >> /tmp/got" TERM; trap "echo USR1 >> /tmp/got" USR1; echo ready > /tmp/ready; while :; do sleep 0.1; done'
    t_sandbox_cleanup "$STATE" "$id"
    rt out 60 create --bundle "$b" "$id"
    rt out 60 start "$id"
    local i
    for i in $(seq 1 100); do
        "${RT[@]}" exec "$id" cat /tmp/ready > /dev/null 2>&1 && break
        sleep 0.1
    done
    # One at a time, each seen before the next is sent (a shell merges a
    # signal that is already pending, and handles pending ones in its own
    # order).
    local sig want got= expected=
    for sig in TERM:TERM USR1:USR1 SIGUSR1:USR1 15:TERM; do
        want=${sig#*:} sig=${sig%%:*}
        expected+="$want "
        rt out 30 kill "$id" "$sig"
        assert_status 0 "$T_STATUS" "kill $sig"
        for i in $(seq 1 50); do
            got=$("${RT[@]}" exec "$id" cat /tmp/got 2>/dev/null | tr '\n' ' ') || true
            [ "$got" = "$expected" ] && break
            sleep 0.1
        done
        assert_eq "$got" "$expected" "the signals the process got after kill $sig"
    done
    rt out 30 kill "$id" KILL
    assert_status 0 "$T_STATUS" "kill KILL"
    wait_status "$id" stopped
    rt out 60 delete "$id"
    assert_status 0 "$T_STATUS" "delete after KILL"
    assert_gone "$id" "$b" "KILL and delete"
}

t_case "every state, host network: delete leaves nothing, no --force for stopped" case_states_host
t_case "every state, sandbox network: delete leaves nothing, no --force for stopped" case_states_sandbox
t_case "kill TERM, USR1, SIGUSR1, 15 and KILL reach the process as asked" case_kill_signals
t_done
