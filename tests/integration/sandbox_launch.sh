#!/usr/bin/env bash
# src/lib/sandbox against real runsc, driven by tests/tools/sandbox-launch:
# a sandbox of the busybox image pulled from the local registry runs
# warren-init as PID 1 in a network namespace of its own with loopback
# only; its cpu, memory and pids limits reach the host's cgroups (and the
# memory limit is what it sees inside); a fork bomb stops at the pids limit
# and the reason is readable; destroy leaves no runsc container, mount,
# network namespace, cgroup or directory, also after `kill -9` of the
# sandbox's runsc processes, after a failed launch and when called twice;
# only a Docker-enabled sandbox gets --net-raw and packet-socket writes.
. "$(dirname "$0")/../lib.sh"

TOOL=${SANDBOX_LAUNCH:-$WARREN_BUILD_DIR/tests/tools/sandbox-launch}
WARREN=${WARREN:-$WARREN_BUILD_DIR/src/cmd/warren/warren}
T_CASE_TIMEOUT=180

# setup: a store with busybox in this case's root; SL runs the tool.
setup() {
    t_require_warren
    [ -x "$TOOL" ] || t_fail "sandbox-launch not built: $TOOL"
    [ -x "$WARREN" ] || t_fail "warren not built: $WARREN"
    t_images busybox
    # Short: the agent's socket, ROOT/sandboxes/ID/agent/agent.sock, must
    # fit a unix socket address (108 bytes).
    mkdir -p "$T_TMP_ROOT"
    local short
    short=$(mktemp -d "$T_TMP_ROOT/sl.XXXXXX")
    t_defer rm -rf "$short"
    ROOT=$short/r
    NETNS_DIR=$short/ns
    CGROUP_PARENT=/warren-test-$$-$RANDOM
    SL=("$TOOL" --root "$ROOT" --netns-dir "$NETNS_DIR" --cgroup-parent "$CGROUP_PARENT"
        --runsc "$RUNSC" --init "$WARREN_INIT")
    t_defer remove_cgroup_parent "$CGROUP_PARENT"
    t_capture out 120 "$WARREN" --root "$ROOT" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "warren image pull"
}

remove_cgroup_parent() {
    local d
    for d in /sys/fs/cgroup/*"$1"; do
        [ -d "$d" ] && rmdir "$d"/* 2>/dev/null; [ -d "$d" ] && rmdir "$d"
    done
    return 0
}

# launch ID [OPTIONS] [-- ARGS]: starts a sandbox running warren-init in
# front of `sleep 3600` (warren-init's agent mode is not there yet);
# destroyed when the case ends.  Sets PID.
launch() {
    local id=$1; shift
    t_defer "${SL[@]}" destroy "$id"
    t_capture out 60 "${SL[@]}" launch "$id" "$WARREN_BUSYBOX_IMAGE" "$@" -- /.warren/init -- sleep 3600
    assert_status 0 "$T_STATUS" "launch of $id"
    PID=$(printf '%s\n' "$out" | sed -n 's/^pid //p')
    [ -n "$PID" ] && [ "$PID" -gt 0 ] || t_fail "launch printed no pid: $out"
}

# inside ID CMD...: the command's output in the sandbox (runsc exec).
inside() {
    local id=$1; shift
    timeout -k 5 30 "${SL[@]}" exec "$id" -- "$@" 2>&1
}

state_of() { "${SL[@]}" state "$1"; }

# What exists on the host, counted without the library: runsc containers
# in ROOT/runsc, mounts under ROOT and NETNS_DIR, namespace files, cgroups
# under the parent in any hierarchy, sandbox directories.
host_things() {
    local list
    list=$(timeout 20 "$RUNSC" --root "$ROOT/runsc" list -quiet 2>/dev/null || true)
    printf 'container %s\n' $list
    awk -v r="$ROOT/" -v n="$NETNS_DIR/" 'index($5, r) == 1 || index($5, n) == 1 { print "mount " $5 }' /proc/self/mountinfo
    [ -d "$NETNS_DIR" ] && find "$NETNS_DIR" -mindepth 1 -printf 'netns %P\n'
    find /sys/fs/cgroup/*"$CGROUP_PARENT" -mindepth 1 -maxdepth 1 -type d -printf 'cgroup %p\n' 2>/dev/null
    [ -d "$ROOT/sandboxes" ] && find "$ROOT/sandboxes" -mindepth 1 -maxdepth 1 -printf 'dir %P\n'
    return 0
}

# assert_nothing_left WHAT: neither the library nor the host shows anything.
assert_nothing_left() {
    local what=$1 things
    things=$(host_things | grep -v '^container $' || true)
    [ -z "$things" ] || t_fail "left after $what: $things"
    t_capture out 30 "${SL[@]}" leftovers
    assert_status 0 "$T_STATUS" "leftovers"
    assert_eq "count 0" "$(printf '%s\n' "$out" | tail -1)" "the library's leftovers after $what"
    echo "nothing left after $what"
}

case_loopback_only() {
    setup
    launch lo1
    assert_eq running "$(state_of lo1)" "state after launch"
    local dev
    dev=$(inside lo1 cat /proc/net/dev)
    echo "$dev"
    # Two header lines, then one line per interface: lo alone.
    assert_eq 3 "$(printf '%s\n' "$dev" | wc -l)" "interfaces in the sandbox"
    assert_match "$(printf '%s\n' "$dev" | tail -1)" '^ *lo:' "the one interface"
    # The namespace is the sandbox's own: lo up, nothing else on the host side either.
    local ns
    ns=$NETNS_DIR/warren-lo1
    [ -f "$ns" ] || t_fail "no network namespace file $ns"
    assert_eq 1 "$(nsenter --net="$ns" ip -o link | wc -l)" "links in the namespace on the host"
    assert_contains "$(nsenter --net="$ns" ip -o link)" "UP" "lo is up in the namespace"
    # PID 1 is warren-init from the read-only mount; the agent directory is there.
    assert_contains "$(inside lo1 cat /proc/1/cmdline | tr '\0' ' ')" "/.warren/init -- sleep 3600" "PID 1"
    assert_contains "$(inside lo1 sh -c 'echo x > /.warren/init 2>&1 || echo refused')" "refused" \
        "warren-init is read-only"
    assert_contains "$(inside lo1 sh -c 'touch /.warren/agent/probe && echo made')" "made" \
        "the agent directory is writable"
    [ -e "$ROOT/sandboxes/lo1/agent/probe" ] || t_fail "the agent directory is not the host's $ROOT/sandboxes/lo1/agent"
    local config=$ROOT/sandboxes/lo1/bundle/config.json
    assert_eq lo1 "$(jq -r '.annotations["dev.warren.sandbox.id"]' "$config")" "annotation"
    assert_eq default "$(jq -r '.annotations["dev.warren.profile"]' "$config")" "profile"
    assert_eq "$ns" "$(jq -r '.linux.namespaces[] | select(.type == "network") | .path' "$config")" "netns in the spec"
    [ -e "$ROOT/sandboxes/lo1/runsc.log" ] || t_fail "runsc got no log file $ROOT/sandboxes/lo1/runsc.log"
    t_capture out 60 "${SL[@]}" destroy lo1
    assert_status 0 "$T_STATUS" "destroy"
    assert_eq gone "$(state_of lo1)" "state after destroy"
    assert_nothing_left "destroy"
}

case_limits() {
    setup
    launch lim1 --cpu 0.5 --memory 134217728 --pids 40
    t_capture out 30 "${SL[@]}" limits lim1
    assert_status 0 "$T_STATUS" "limits"
    assert_contains "$out" "memory_limit 134217728" "memory limit on the host"
    assert_contains "$out" "cpu_quota 50000" "cpu quota on the host"
    assert_contains "$out" "cpu_period 100000" "cpu period on the host"
    assert_contains "$out" "pids_max 104" "pids limit on the host (40 + the Sentry's 64)"
    # gVisor sizes the sandbox's memory to the limit.
    assert_match "$(inside lim1 grep MemTotal /proc/meminfo)" 'MemTotal: +131072 kB' "MemTotal inside"
    echo "inside: nproc $(inside lim1 nproc), ulimit -u $(inside lim1 sh -c 'ulimit -u')"
    # A bounded fork bomb: 200 sleeps against 40 allowed.
    inside lim1 sh -c 'for i in $(seq 200); do sleep 60 & done; wait' > /dev/null 2>&1 || true
    local pids=/sys/fs/cgroup/pids$CGROUP_PARENT/lim1
    if [ -d "$pids" ]; then
        local current
        current=$(cat "$pids/pids.current")
        [ "$current" -le 104 ] || t_fail "pids.current $current above the limit"
    fi
    t_capture out 30 "${SL[@]}" limits lim1
    assert_contains "$out" "reason pids limit reached" "the reason read from the cgroup"
    local i s
    for i in $(seq 50); do
        s=$(state_of lim1)
        [ "$s" = running ] || break
        sleep 0.2
    done
    echo "state after the fork bomb: $s"
    t_capture out 60 "${SL[@]}" destroy lim1
    assert_status 0 "$T_STATUS" "destroy after the fork bomb"
    assert_nothing_left "the fork bomb"
}

case_kill_9() {
    setup
    launch k1
    local procs
    procs=$(pgrep -f -- "--root=$ROOT/runsc" || true)
    [ -n "$procs" ] || t_fail "no runsc process of k1"
    kill -9 $procs
    local i s
    for i in $(seq 100); do
        s=$(state_of k1)
        [ "$s" = stopped ] || [ "$s" = gone ] && break
        sleep 0.1
    done
    assert_match "$s" '^(stopped|gone)$' "state after kill -9 of runsc"
    t_capture out 60 "${SL[@]}" destroy k1
    assert_status 0 "$T_STATUS" "destroy after kill -9"
    assert_eq gone "$(state_of k1)" "state after destroy"
    assert_nothing_left "kill -9 and destroy"
}

case_destroy_partial_and_twice() {
    setup
    launch p1
    # A crash between runsc's delete and the rest.
    timeout 30 "$RUNSC" --root "$ROOT/runsc" delete -force p1
    t_capture out 60 "${SL[@]}" destroy p1
    assert_status 0 "$T_STATUS" "destroy without a runsc container"
    t_capture out 60 "${SL[@]}" destroy p1
    assert_status 0 "$T_STATUS" "destroy again"
    t_capture out 60 "${SL[@]}" destroy never-made
    assert_status 0 "$T_STATUS" "destroy of a sandbox that never existed"
    assert_nothing_left "partial destroys"
    # A launch that fails (warren-init missing) leaves nothing either.
    t_capture out 60 "$TOOL" --root "$ROOT" --netns-dir "$NETNS_DIR" --cgroup-parent "$CGROUP_PARENT" \
        --runsc "$RUNSC" --init /nonexistent/warren-init launch bad1 "$WARREN_BUSYBOX_IMAGE" -- /.warren/init -- true
    [ "$T_STATUS" != 0 ] || t_fail "launch without warren-init succeeded"
    assert_contains "$out" "sandbox \`bad1\`" "the error names the sandbox"
    assert_nothing_left "a failed launch"
    # A second sandbox of the same id is refused while the first exists.
    launch p2
    t_capture out 60 "${SL[@]}" launch p2 "$WARREN_BUSYBOX_IMAGE" -- /.warren/init -- sleep 1
    [ "$T_STATUS" != 0 ] || t_fail "a second launch of p2 succeeded"
    assert_contains "$out" "exists" "the refusal"
    assert_eq running "$(state_of p2)" "the first p2 after the refused launch"
}

# net_raw_flags PID: the --net-raw and packet flags on the sandbox process.
net_raw_flags() {
    tr '\0' '\n' < "/proc/$1/cmdline" | grep -E -- '^--(net-raw|allow-packet-socket-write|TESTONLY-allow-packet-endpoint-write)' || true
}

# cap_net_raw ID: whether PID 1 of the sandbox has CAP_NET_RAW (bit 13).
cap_net_raw() {
    local eff
    eff=$(inside "$1" grep CapEff /proc/1/status | awk '{ print $2 }')
    [ -n "$eff" ] || t_fail "no CapEff for PID 1 of $1"
    echo $(( (16#$eff >> 13) & 1 ))
}

case_net_raw_only_with_docker() {
    setup
    launch plain1
    local plain_pid=$PID
    launch docker1 --docker
    local docker_pid=$PID
    local flags
    flags=$(net_raw_flags "$plain_pid")
    [ -z "$flags" ] || t_fail "a plain sandbox got: $flags"
    flags=$(net_raw_flags "$docker_pid")
    assert_contains "$flags" "--net-raw" "a Docker-enabled sandbox's flags"
    assert_match "$flags" 'packet' "packet-socket writes for a Docker-enabled sandbox"
    assert_eq 0 "$(cap_net_raw plain1)" "CAP_NET_RAW of a plain sandbox's PID 1"
    assert_eq 1 "$(cap_net_raw docker1)" "CAP_NET_RAW of a Docker-enabled sandbox's PID 1"
    assert_eq docker "$(jq -r '.annotations["dev.warren.profile"]' "$ROOT/sandboxes/docker1/bundle/config.json")" "profile"
    # Without CAP_NET_RAW a raw socket is refused in the plain one.
    assert_contains "$(inside plain1 ping -c 1 -W 1 127.0.0.1)" "permission denied" "ping in a plain sandbox"
}

# The default process: warren-init's agent mode, its socket in the host's
# agent directory (--host-uds=create), answering agent-call.
case_agent() {
    setup
    local call=$WARREN_BUILD_DIR/tests/tools/agent-call
    [ -x "$call" ] || t_fail "agent-call not built: $call"
    t_defer "${SL[@]}" destroy ag1
    t_capture out 60 "${SL[@]}" launch ag1 "$WARREN_BUSYBOX_IMAGE" --memory 134217728
    assert_status 0 "$T_STATUS" "launch with the agent"
    local sock=$ROOT/sandboxes/ag1/agent/agent.sock i
    for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
    [ -S "$sock" ] || t_fail "no agent socket at $sock: $(cat "$ROOT/sandboxes/ag1/init.log")"
    assert_contains "$(tr '\0' ' ' < "$ROOT/sandboxes/ag1/bundle/config.json" | jq -r '.process.args | join(" ")')" \
        "/.warren/init --agent-socket /.warren/agent/agent.sock" "the process"
    t_capture out 30 "$call" "$sock" /bin/sh -c 'echo hi from $(hostname); grep -c : /proc/net/dev'
    assert_status 0 "$T_STATUS" "agent-call"
    assert_contains "$out" "hi from warren" "the agent ran the command"
    t_capture out 60 "${SL[@]}" destroy ag1
    assert_status 0 "$T_STATUS" "destroy"
    assert_nothing_left "destroy of a sandbox with its agent"
}

t_case "a sandbox runs warren-init with loopback only, and destroy leaves nothing" case_loopback_only
t_case "the agent in warren-init answers on its socket in the host's agent directory" case_agent
t_case "cpu, memory and pids limits reach the host; a fork bomb stops at the pids limit" case_limits
t_case "destroy after kill -9 of the sandbox's runsc processes" case_kill_9
t_case "destroy is idempotent, works on partial state, and a failed launch leaves nothing" case_destroy_partial_and_twice
t_case "only a Docker-enabled sandbox gets --net-raw and packet-socket writes" case_net_raw_only_with_docker
t_done
