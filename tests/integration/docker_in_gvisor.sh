#!/usr/bin/env bash
# Docker inside gVisor through warren-runtime, called directly as a container
# engine would: a bundle whose rootfs is the Debian+Docker image root (an
# overlay on the cached root, so the cache never changes), the docker profile
# chosen by annotation or by --profile, and both runsc network modes.
. "$(dirname "$0")/../lib.sh"

# The runtime as tests call it (${RT[@]}): its own state root and a JSON log
# per case.
rt_init() {
    RT=("$WARREN_RUNTIME" --root "$T_CASE_DIR/state" --log "$T_CASE_DIR/runtime.log"
        --log-format json --init "$WARREN_INIT")
}

state_is() { [ "$("${RT[@]}" state "$1" | jq -r .status)" = "$2" ]; }

# debian_bundle DIR NETNS ARGS...: a bundle of the Debian+Docker root with the
# docker profile asked for by annotation.
debian_bundle() {
    local dir=$1 netns=$2; shift 2
    t_bundle "$dir" "$WARREN_DEBIAN_ROOTFS" "$netns" "$@"
    t_spec_set "$dir" '.annotations["dev.warren.profile"] = "docker"'
}

show_runtime_log() {
    [ -f "$T_CASE_DIR/runtime.log" ] || return 0
    echo "--- warren-runtime --log:"
    cat "$T_CASE_DIR/runtime.log"
}

case_host_network() {
    t_require_warren
    t_images
    rt_init
    local b=$T_CASE_DIR/bundle
    debian_bundle "$b" - sh -c 'docker run --rm --network=host busybox echo nested-ok;
        tr "\\0" "\\n" < "/proc/$(cat /var/run/docker.pid)/environ" | grep "^GODEBUG="'
    t_sandbox_cleanup "$T_CASE_DIR/state" dig-host
    t_defer show_runtime_log
    t_capture out 180 "${RT[@]}" run --bundle "$b" dig-host
    assert_contains "$out" "docker daemon is ready"
    assert_match "$out" 'docker daemon is ready \(took [0-9.]+m?s\)' "the readiness line"
    # The nested container's output, alone on its line.
    assert_match "$out" '(^|[[:space:]])nested-ok($|[[:space:]])' "the nested container's output"
    # Go's async preemption is off for dockerd and what it starts (EINTR in gVisor).
    assert_contains "$out" "GODEBUG=asyncpreemptoff=1"
    assert_status 0 "$T_STATUS" "warren-runtime run"
}

case_profile_flag() {
    t_require_warren
    t_images
    rt_init
    local b=$T_CASE_DIR/bundle
    # No annotation: the docker profile comes from the command line.
    t_bundle "$b" "$WARREN_DEBIAN_ROOTFS" - sh -c 'docker version --format "server={{.Server.Version}}"'
    t_sandbox_cleanup "$T_CASE_DIR/state" dig-flag
    t_defer show_runtime_log
    t_capture out 180 "${RT[@]}" --profile docker run --bundle "$b" dig-flag
    assert_contains "$out" "docker daemon is ready"
    assert_match "$out" 'server=[0-9]+\.[0-9]+' "the nested server version"
    assert_status 0 "$T_STATUS" "warren-runtime --profile docker run"
}

# The script case_sandbox_network runs in the sandbox.  Each check prints
# its marker only when it saw what it expects, so a missing marker names the
# check that failed.  The Debian image has no wget or curl, and this busybox
# build's wget crashes even on the host (static glibc resolver), so HTTP is
# spoken with bash's /dev/tcp in the sandbox and busybox nc in containers.
# UPLINK is a server in a namespace the test made, reached through a veth.
inner_network_script() {
    cat <<'SCRIPT'
#!/bin/bash
set -u
UPLINK=10.211.0.2
# http_get HOST PORT: the last line of GET / (the body), from the sandbox.
http_get() {
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
        "$1" "$2" 2>/dev/null | tail -n 1
}
# wait_body HOST PORT BODY: until the sandbox gets BODY from HOST:PORT (5 s).
wait_body() {
    local i
    for i in $(seq 20); do
        [ "$(http_get "$1" "$2")" = "$3" ] && return 0
        sleep 0.25
    done
    return 1
}
# nested_get DOCKER_RUN_ARGS... HOST PORT: the body, from a nested container.
nested_get() {
    local n=$# host=${*: -2:1} port=${*: -1}
    docker run --rm "${@:1:n-2}" busybox sh -c \
        'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 5 "$0" "$1" | tail -n 1' "$host" "$port"
}
# serve NAME BODY DOCKER_RUN_ARGS...: a detached busybox httpd serving BODY.
serve() {
    local name=$1 body=$2; shift 2
    docker run -d --name "$name" "$@" busybox sh -c \
        'mkdir -p /www && echo "$0" > /www/index.html && exec httpd -f -p 80 -h /www' "$body" >/dev/null
}

docker load -i /warren-test/busybox.tar >/dev/null || { echo "docker load failed"; exit 1; }

docker run --rm --network=none busybox echo nested-none-ok

addr=$(docker run --rm busybox ip -4 -o addr show dev eth0)
echo "default bridge eth0: $addr"
case $addr in *" inet 172.17."*) echo nested-bridge-addr-ok ;; esac

serve web body-web
web=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' web)
echo "web is at $web"
wait_body "$web" 80 body-web && echo sandbox-to-bridge-ok
[ "$(nested_get "$web" 80)" = body-web ] && echo bridge-by-address-ok

docker network create inner >/dev/null && echo "user network: $(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' inner)"
serve web2 body-web2 --network inner
wait_body "$(docker inspect -f '{{.NetworkSettings.Networks.inner.IPAddress}}' web2)" 80 body-web2
[ "$(nested_get --network inner web2 80)" = body-web2 ] && echo user-network-by-name-ok

serve pub body-pub -p 8081:80
wait_body 127.0.0.1 8081 body-pub && echo published-port-ok

# A --network=host container shares the sandbox's stack: it sees docker0's
# address and reaches the published port on loopback.
host_addrs=$(docker run --rm --network=host busybox ip -4 -o addr)
echo "host-network container addresses: $host_addrs"
case $host_addrs in *" inet 172.17.0.1/"*)
    [ "$(nested_get --network=host 127.0.0.1 8081)" = body-pub ] && echo nested-host-ok ;;
esac

# Egress through the sandbox's uplink.  Bridged containers are not
# masqueraded (gVisor has no MASQUERADE), so the uplink must route the
# bridge's subnet back to the sandbox, which the test did.
[ "$(http_get "$UPLINK" 8080)" = body-uplink ] && echo sandbox-uplink-ok
[ "$(nested_get --network=host "$UPLINK" 8080)" = body-uplink ] && echo nested-host-uplink-ok
[ "$(nested_get "$UPLINK" 8080)" = body-uplink ] && echo bridge-routed-egress-ok
for t in MASQUERADE "SNAT --to-source 10.211.0.1"; do
    echo "iptables -j $t: $(iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -j $t 2>&1)"
done
SCRIPT
}

# uplink NS: a namespace joined to the sandbox's (NS) by a veth, with an HTTP
# server on 10.211.0.2:8080 and a route back to docker0's subnet.  Sets
# UPLINK_LOG, the server's log (one line per client, with its address).
uplink() {
    local ns=$1 up
    up=$(t_netns "wt-dig-up-$$")
    up=${up##*/}
    ip link add wt-sbx0 netns "${ns##*/}" type veth peer name wt-up0 netns "$up"
    ip -n "${ns##*/}" addr add 10.211.0.1/24 dev wt-sbx0
    ip -n "${ns##*/}" link set wt-sbx0 up
    ip -n "${ns##*/}" route add default via 10.211.0.2
    ip -n "$up" addr add 10.211.0.2/24 dev wt-up0
    ip -n "$up" link set wt-up0 up
    ip -n "$up" route add 172.17.0.0/16 via 10.211.0.1
    mkdir -p "$T_CASE_DIR/www"
    echo body-uplink > "$T_CASE_DIR/www/index.html"
    UPLINK_LOG=$T_CASE_DIR/uplink.log
    ip netns exec "$up" timeout 300 python3 -m http.server --bind 10.211.0.2 8080 \
        --directory "$T_CASE_DIR/www" > "$UPLINK_LOG" 2>&1 &
    t_defer kill "$!"
}

case_sandbox_network() {
    t_require_warren
    t_require python3
    t_images
    rt_init
    local b=$T_CASE_DIR/bundle ns m
    # netstack has its own loopback, so the nested dockerd cannot reach the
    # host's registry: busybox comes from a tarball mounted into the bundle.
    ns=$(t_netns "wt-dig-$$")
    uplink "$ns"
    debian_bundle "$b" "$ns" bash /warren-inner-network
    inner_network_script > "$b/rootfs/warren-inner-network"
    t_spec_set "$b" '.mounts += [{destination: "/warren-test", type: "bind", source: $src, options: ["rbind", "ro"]}]' \
        --arg src "$(dirname "$WARREN_BUSYBOX_TAR")"
    t_sandbox_cleanup "$T_CASE_DIR/state" dig-sandbox
    t_defer show_runtime_log
    t_capture out 180 "${RT[@]}" run --bundle "$b" dig-sandbox
    echo "--- the uplink server's log:"
    cat "$UPLINK_LOG"
    assert_contains "$out" "docker daemon is ready"
    # Under netstack warren-init leaves dockerd its bridge.
    assert_match "$out" 'msg="dockerd started".* flags="--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false"' \
        "dockerd's flags under runsc --network=sandbox"
    for m in nested-none-ok nested-bridge-addr-ok sandbox-to-bridge-ok bridge-by-address-ok \
        user-network-by-name-ok published-port-ok nested-host-ok sandbox-uplink-ok \
        nested-host-uplink-ok bridge-routed-egress-ok; do
        assert_match "$out" "(^|[[:space:]])$m(\$|[[:space:]])" "the marker $m"
    done
    # The bridged container reached the uplink with its own address: no NAT.
    assert_match "$(cat "$UPLINK_LOG")" '^172\.17\.[0-9]+\.[0-9]+ .*"GET / HTTP/1\.0" 200' \
        "the uplink server's log of the bridged container's request"
    assert_status 0 "$T_STATUS" "warren-runtime run"
}

case_exit_status() {
    t_require_warren
    t_images
    rt_init
    local b=$T_CASE_DIR/bundle
    debian_bundle "$b" - sh -c 'echo before-exit; exit 7'
    t_sandbox_cleanup "$T_CASE_DIR/state" dig-exit
    t_capture out 180 "${RT[@]}" run --bundle "$b" dig-exit
    assert_contains "$out" "docker daemon is ready"
    assert_contains "$out" "before-exit"
    assert_status 7 "$T_STATUS" "warren-runtime run of a command that exits 7"
}

# create, start, state, exec, kill, delete: the lifecycle containerd and
# Docker drive, with nested Docker used through exec.
case_lifecycle() {
    t_require_warren
    t_images
    rt_init
    local b=$T_CASE_DIR/bundle id=dig-life out state
    debian_bundle "$b" - sh -c 'echo main-started; exec sleep 600'
    t_sandbox_cleanup "$T_CASE_DIR/state" "$id"
    t_defer show_runtime_log
    # The container keeps create's stdio: give it a pipe whose reader copies
    # to a file, so the test can wait for a line.
    local outfile=$T_CASE_DIR/container.out
    : > "$outfile"
    t_timeout 60 "${RT[@]}" create --bundle "$b" "$id" > >(cat >> "$outfile") 2>&1
    state=$(t_timeout 30 "${RT[@]}" state "$id")
    echo "$state"
    assert_eq "$(jq -r .status <<<"$state")" created "state after create"
    assert_eq "$(jq -r .id <<<"$state")" "$id" "id in state"
    t_timeout 60 "${RT[@]}" start "$id"
    fx_wait 60 "docker daemon is ready in the container's output" grep -q "docker daemon is ready" "$outfile" ||
        { cat "$outfile"; t_fail "dockerd did not become ready after start"; }
    state=$(t_timeout 30 "${RT[@]}" state "$id")
    assert_eq "$(jq -r .status <<<"$state")" running "state after start"
    local pid
    pid=$(jq -r .pid <<<"$state")
    [ "$pid" -gt 0 ] 2>/dev/null || t_fail "state after start has no pid: $state"
    kill -0 "$pid" || t_fail "the pid in state ($pid) is not a live process"
    t_capture out 120 "${RT[@]}" exec "$id" docker run --rm --network=host busybox echo exec-nested-ok
    assert_match "$out" '(^|[[:space:]])exec-nested-ok($|[[:space:]])' "the output of exec'ed docker run"
    assert_status 0 "$T_STATUS" "warren-runtime exec"
    t_capture out 30 "${RT[@]}" list
    assert_contains "$out" "$id" "warren-runtime list"
    t_timeout 30 "${RT[@]}" kill "$id" KILL
    fx_wait 30 "the container to stop" state_is "$id" stopped ||
        t_fail "the container is not stopped 30 s after kill"
    # As containerd's shim does: wait for the container's process (the
    # sandbox, with runsc) to exit before deleting.
    fx_wait 30 "pid $pid to exit" eval "! kill -0 $pid" ||
        t_fail "pid $pid from state is still alive 30 s after kill"
    t_timeout 30 "${RT[@]}" delete "$id"
    if t_timeout 30 "${RT[@]}" state "$id" 2>/dev/null; then
        t_fail "state still answers for $id after delete"
    fi
    cat "$outfile"
    assert_file_contains "$outfile" main-started
}

# An image whose command is dockerd itself (like docker:dind): warren-init
# prepares the sandbox and runs that dockerd, not a second one.
case_dind_command() {
    t_require_warren
    t_images
    rt_init
    local b=$T_CASE_DIR/bundle id=dig-dind outfile=$T_CASE_DIR/container.out
    debian_bundle "$b" - dockerd --bridge=none --iptables=false --ip6tables=false --ip-forward=false
    t_sandbox_cleanup "$T_CASE_DIR/state" "$id"
    t_defer show_runtime_log
    : > "$outfile"
    t_timeout 60 "${RT[@]}" create --bundle "$b" "$id" > >(cat >> "$outfile") 2>&1
    t_timeout 60 "${RT[@]}" start "$id"
    fx_wait 60 "the user's dockerd to answer" "${RT[@]}" exec "$id" docker version ||
        { cat "$outfile"; t_fail "the dockerd given as the command did not answer in 60 s"; }
    t_capture out 120 "${RT[@]}" exec "$id" docker run --rm --network=host busybox echo dind-nested-ok
    assert_match "$out" '(^|[[:space:]])dind-nested-ok($|[[:space:]])' "the nested container's output"
    t_capture out 30 "${RT[@]}" exec "$id" sh -c 'cat /proc/[0-9]*/comm | grep -c "^dockerd$"'
    assert_eq "$(tail -n 1 <<<"$out")" 1 "number of dockerd processes in the sandbox"
    cat "$outfile"
}

t_case "host network: dockerd becomes ready and a nested docker run prints its output" case_host_network
t_case "--profile docker selects the profile without the annotation" case_profile_flag
t_case "sandbox network (own netns): nested none, default bridge, user network, published port, host network, routed egress" case_sandbox_network
t_case "the container's exit status is the user command's" case_exit_status
t_case "create, start, state, exec, kill, delete with nested Docker" case_lifecycle
t_case "the command is dockerd itself (like docker:dind): it runs, and only once" case_dind_command
t_done
