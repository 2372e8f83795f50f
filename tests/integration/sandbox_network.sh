#!/usr/bin/env bash
# Sandboxes' egress, against test hosts in network namespaces this file
# makes (never any other address).  warrend's uplink is a namespace of the
# test's ("up"), routing to host A (10.77.1.2), host B (10.77.2.2) and host
# M (169.254.77.2, on the default deny list); each host serves a page that
# names it, and the uplink serves one on its own address.
#
#   open      reaches A and B, never M nor the uplink's own address, and
#             gets the resolver --dns gives;
#   blocked   reaches nothing and has no resolver;
#   allowed   (allow_list A and M's range) reaches A only: the deny list
#             comes first;
#   a live change (PATCH) applies at once, to new connections and to one
#             that was open; back to open works again; refusals name the
#             field; after kill -9 of warrend and a restart the rules are
#             back; deleting the sandboxes removes every chain and link,
#             and a clean stop removes warrend's table.
#   build     a sandbox's image build steps get its egress: an open one's
#             fetch from A and get the resolver (not kept in the layer),
#             an allow-listed one's reach A only (B fails the build), a
#             blocked one's reach nothing;
#   nested    in a Docker-enabled sandbox with an allow_list, a nested
#             --network=host container reaches exactly what the sandbox
#             may, and nothing once it is blocked.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=900

# ---- the test network ----

# host NAME SUBNET_PREFIX TEXT: namespace wt-NAME-$$ with ADDR .2 linked to
# the uplink (.1 there), serving TEXT on port 80 and ticks on port 9000.
host() {
    local name=$1 net=$2 text=$3 ns=wt-$1-$$
    t_netns "$ns" > /dev/null
    ip link add "u-$name-$$" type veth peer name "h-$name-$$"
    ip link set "u-$name-$$" netns "$UP"
    ip link set "h-$name-$$" netns "$ns"
    ip -n "$UP" addr add "$net.1/24" dev "u-$name-$$"
    ip -n "$UP" link set "u-$name-$$" up
    ip -n "$ns" addr add "$net.2/24" dev "h-$name-$$"
    ip -n "$ns" link set "h-$name-$$" up
    ip -n "$ns" route add default via "$net.1"
    serve_page "$ns" "$net.2" "$text"
    # A line every 0.2 s for as long as the connection lasts.
    ip netns exec "$ns" python3 -c '
import socket, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000)); s.listen(8)
def tick(c):
    try:
        n = 0
        while True:
            c.sendall(b"tick %d\n" % n); n += 1; time.sleep(0.2)
    except OSError:
        pass
while True:
    c, _ = s.accept(); threading.Thread(target=tick, args=(c,), daemon=True).start()
' &
    t_defer kill $!
}

# serve_page NS ADDR TEXT: busybox httpd on ADDR:80 in NS.
serve_page() {
    local dir=$T_CASE_DIR/www-$RANDOM
    mkdir -p "$dir"
    printf '%s' "$3" > "$dir/index.html"
    ip netns exec "$1" busybox httpd -f -p "$2:80" -h "$dir" &
    t_defer kill $!
}

network() {
    UP=wt-up-$$
    t_netns "$UP" > /dev/null
    host a 10.77.1 host-a
    host b 10.77.2 host-b
    host m 169.254.77 host-m
    serve_page "$UP" 10.77.1.1 uplink-self
    TABLE=wt_$$
    t_defer drop_table "$UP" "$TABLE"
}

drop_table() { ip netns exec "$1" nft delete table inet "$2" 2>/dev/null || true; }

setup() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images "${1:-busybox}"
    t_warrend_root
    network
}

egress_warrend() {
    t_warrend --uplink "/var/run/netns/$UP" --sandbox-subnet 10.78.0.0/24 --nft-table "$TABLE" \
        --dns 10.77.1.53
}

create() {
    local out
    out=$(curl -s --unix-socket "$WD_SOCK" -H 'Accept: application/x-ndjson' \
        -H 'Content-Type: application/json' -d "$1" http://warrend/v1/sandboxes)
    [ "$(printf '%s\n' "$out" | tail -n 1 | jq -r '.sandbox.state // empty')" = running ] ||
        t_fail "the create did not end with a running sandbox: $out"
    printf '%s\n' "$out" | tail -n 1 | jq -c .sandbox
}

# run ID ARGV_JSON: runs a process to its end; prints its stdout, then a
# line with its exit code.
run() {
    local pid out
    pid=$(t_api_exec "$1" "$2")
    out=$(t_api POST "/v1/sandboxes/$1/processes/$pid/wait" -d '{"timeout_ms": 240000}')
    curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$1/processes/$pid/output?stream=stdout"
    printf '\n%s\n' "$(head -n 1 <<<"$out" | jq -r .exit_code)"
}

# fetch ID ADDR: the page at http://ADDR/ from inside sandbox ID, or
# "unreachable".  (busybox's wget crashes in these images: its static
# resolver; nc speaks the request itself.)
GET="printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3"
fetch() {
    local out
    out=$(run "$1" "$(jq -cn --arg c "$GET $2 80" '["sh", "-c", $c]')")
    if grep -q '200 OK' <<<"$out"; then tail -n 2 <<<"$out" | head -n 1; else echo unreachable; fi
}

reaches() { assert_eq "$(fetch "$1" "$2")" "$3" "$4"; }
refused() { assert_eq "$(fetch "$1" "$2")" unreachable "$3"; }

patch() {
    t_api PATCH "/v1/sandboxes/$1" -H 'Content-Type: application/json' -d "$2"
}

# ticks ID: how many lines /tmp/ticks has in sandbox ID.
ticks() {
    local out
    out=$(run "$1" '["wc", "-l", "/tmp/ticks"]')
    awk 'NR == 1 { print $1 }' <<<"$out"
}

link_of() { echo "wr-${1:3:12}"; }

case_egress() {
    setup
    egress_warrend
    local o k l out ticks1 ticks2 pid
    o=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    assert_eq "$(jq -c '[.block_network, .allow_list, .egress]' <<<"$o")" '[false,null,true]' "an open sandbox's network fields"
    assert_match "$(jq -r .address <<<"$o")" '^10\.78\.0\.[0-9]+$' "an open sandbox's address"
    o=$(jq -r .id <<<"$o")
    k=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"block_network\": true}")
    assert_eq "$(jq -c '[.block_network, .allow_list]' <<<"$k")" '[true,null]' "a blocked sandbox's fields"
    k=$(jq -r .id <<<"$k")
    l=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"allow_list\": [\"10.77.1.2\", \"169.254.77.0/24\"]}")
    assert_eq "$(jq -c .allow_list <<<"$l")" '["10.77.1.2/32","169.254.77.0/24"]' "the allow list, normalised"
    l=$(jq -r .id <<<"$l")

    reaches "$o" 10.77.1.2 host-a "open: host A"
    reaches "$o" 10.77.2.2 host-b "open: host B"
    refused "$o" 169.254.77.2 "open: host M, on the deny list"
    refused "$o" 10.77.1.1 "open: the uplink's own address"
    assert_contains "$(run "$o" '["cat", "/etc/resolv.conf"]')" "nameserver 10.77.1.53"
    refused "$k" 10.77.1.2 "blocked: host A"
    refused "$k" 10.77.2.2 "blocked: host B"
    refused "$k" 10.77.1.1 "blocked: the uplink's own address"
    assert_not_contains "$(run "$k" '["cat", "/etc/resolv.conf"]')" "nameserver"
    reaches "$l" 10.77.1.2 host-a "allow_list: host A"
    refused "$l" 10.77.2.2 "allow_list: host B"
    refused "$l" 169.254.77.2 "allow_list: host M, allow-listed but denied"

    # A connection open across a change: ticks flow, then stop at once.
    pid=$(t_api_exec "$o" '["sh", "-c", "nc 10.77.1.2 9000 > /tmp/ticks"]')
    sleep 1.5
    ticks1=$(ticks "$o")
    [ "${ticks1:-0}" -ge 3 ] || t_fail "the open connection got only '${ticks1}' ticks"
    out=$(patch "$o" '{"block_network": true}')
    assert_eq "$(tail -n 1 <<<"$out")" 200 "blocking a running sandbox"
    assert_eq "$(head -n 1 <<<"$out" | jq -c '[.block_network, .allow_list]')" '[true,null]' "the PATCH's answer"
    ticks1=$(ticks "$o")
    sleep 1.5
    ticks2=$(ticks "$o")
    assert_eq "$ticks2" "$ticks1" "ticks on the open connection after the block"
    t_api POST "/v1/sandboxes/$o/processes/$pid/kill" > /dev/null
    refused "$o" 10.77.1.2 "blocked by a PATCH: host A"
    patch "$o" '{"block_network": false}' > /dev/null
    reaches "$o" 10.77.1.2 host-a "open again: host A"
    out=$(patch "$o" '{"allow_list": ["10.77.2.0/24"]}')
    assert_eq "$(head -n 1 <<<"$out" | jq -c .allow_list)" '["10.77.2.0/24"]' "a new allow list"
    refused "$o" 10.77.1.2 "allow-listed B only: host A"
    reaches "$o" 10.77.2.2 host-b "allow-listed B only: host B"

    out=$(patch "$o" '{"block_network": true, "allow_list": ["10.77.1.2"]}')
    assert_eq "$(tail -n 1 <<<"$out")" 400 "both fields at once"
    assert_contains "$out" "cannot go together"
    out=$(patch "$o" '{"allow_list": ["10.77.1.300"]}')
    assert_eq "$(tail -n 1 <<<"$out")" 400 "a bad address"
    assert_contains "$out" "allow_list[0]"
    out=$(curl -s --unix-socket "$WD_SOCK" -H 'Content-Type: application/json' \
        -d "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"block_network\": true, \"allow_list\": []}" \
        -w '\n%{http_code}\n' http://warrend/v1/sandboxes)
    assert_eq "$(tail -n 1 <<<"$out")" 400 "a create with both fields"
    # The refused PATCHes changed nothing.
    reaches "$o" 10.77.2.2 host-b "after refused changes: host B"

    # kill -9 and a restart: the table is made again, the rules come back.
    kill -KILL "$WD_PID"
    wait "$WD_PID" 2>/dev/null || true
    egress_warrend
    reaches "$l" 10.77.1.2 host-a "after a restart, allow_list: host A"
    refused "$l" 10.77.2.2 "after a restart, allow_list: host B"
    refused "$k" 10.77.1.2 "after a restart, blocked: host A"
    reaches "$o" 10.77.2.2 host-b "after a restart, the PATCHed list: host B"

    local id
    for id in "$o" "$k" "$l"; do
        ip -n "$UP" link show "$(link_of "$id")" > /dev/null || t_fail "no link $(link_of "$id") in the uplink"
        ip netns exec "$UP" nft list chain inet "$TABLE" "sbi-${id:3:12}" > /dev/null ||
            t_fail "no chain sbi-${id:3:12} in the uplink's table"
    done
    for id in "$o" "$k" "$l"; do
        t_api DELETE "/v1/sandboxes/$id" > /dev/null
        ip -n "$UP" link show "$(link_of "$id")" > /dev/null 2>&1 &&
            t_fail "link $(link_of "$id") is left after the delete"
        ip netns exec "$UP" nft list chain inet "$TABLE" "sb-${id:3:12}" > /dev/null 2>&1 &&
            t_fail "chain sb-${id:3:12} is left after the delete"
        ip netns exec "$UP" nft list chain inet "$TABLE" "sbi-${id:3:12}" > /dev/null 2>&1 &&
            t_fail "chain sbi-${id:3:12} is left after the delete"
    done
    assert_eq "$(ip netns exec "$UP" nft -j list map inet "$TABLE" links | jq -c '[.nftables[] | select(.map) | .map.elem // []] | add')" '[]' "the links map after the deletes"
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
    ip netns exec "$UP" nft list table inet "$TABLE" > /dev/null || t_fail "no table $TABLE before the stop"
    t_warrend_stop "$WD_PID"
    ip netns exec "$UP" nft list table inet "$TABLE" > /dev/null 2>&1 && t_fail "table $TABLE is left after a clean stop"
    return 0
}

case_nested() {
    setup debian-docker
    t_images busybox
    egress_warrend
    local sb out
    sb=$(create "{\"image\": \"$WARREN_DEBIAN_IMAGE\", \"docker_enabled\": true, \"allow_list\": [\"10.77.1.2\"]}")
    sb=$(jq -r .id <<<"$sb")
    out=$(run "$sb" '["docker", "pull", "busybox"]')
    assert_eq "$(tail -n 1 <<<"$out")" 0 "docker pull busybox in the sandbox"
    nested() {
        local out
        out=$(run "$sb" "$(jq -cn --arg c "$GET $1 80" '["docker", "run", "--rm", "--network=host", "busybox", "sh", "-c", $c]')")
        if grep -q '200 OK' <<<"$out"; then tail -n 2 <<<"$out" | head -n 1; else echo unreachable; fi
    }
    assert_eq "$(nested 10.77.1.2)" host-a "a nested --network=host container: allow-listed host A"
    assert_eq "$(nested 10.77.2.2)" unreachable "a nested --network=host container: host B"
    assert_eq "$(tail -n 1 <<<"$(patch "$sb" '{"block_network": true}')")" 200 "blocking the Docker sandbox"
    assert_eq "$(nested 10.77.1.2)" unreachable "a nested container once blocked: host A"
    t_api DELETE "/v1/sandboxes/$sb" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

# steps JSON: a create of busybox built with the run steps in JSON.
build_body() {
    jq -cn --arg ref "$WARREN_BUSYBOX_IMAGE" --argjson steps "$1" --argjson extra "${2:-{\}}" \
        '{image: {ref: $ref, steps: $steps}} + $extra'
}

case_build() {
    setup
    egress_warrend
    local out id layers
    # An open sandbox's steps reach host A and get the operator's resolver;
    # the resolver's mount point is not part of the layer.
    out=$(create "$(build_body "$(jq -cn --arg c "$GET 10.77.1.2 80 > /from-a; cat /etc/resolv.conf > /resolv" \
        '[{run: $c}]')")")
    id=$(jq -r .id <<<"$out")
    assert_contains "$(run "$id" '["cat", "/from-a"]')" host-a "what a step fetched from host A"
    assert_contains "$(run "$id" '["cat", "/resolv"]')" "nameserver 10.77.1.53" "a step's resolver"
    reaches "$id" 10.77.1.2 host-a "the built sandbox itself: host A"
    layers=$(find "$WD_ROOT" -path '*/blobs/sha256/*' -type f -newer "$T_CASE_DIR" -size -64k \
        -exec sh -c 'tar -tzf "$1" 2>/dev/null || tar -tf "$1" 2>/dev/null' _ {} \;)
    assert_contains "$layers" "from-a" "the step's layer"
    assert_not_contains "$layers" "resolv.conf" "the step's layer"
    t_api DELETE "/v1/sandboxes/$id" > /dev/null

    # An allow-listed sandbox's steps reach host A only: a step that
    # fetches from host B fails the build, and its create.
    out=$(t_api POST /v1/sandboxes -d "$(build_body \
        "$(jq -cn --arg c "$GET 10.77.2.2 80 | grep -q host-b" '[{run: $c}]')" '{"allow_list": ["10.77.1.2"]}')")
    assert_contains "$out" "exited with status 1" "a step of an allow-listed sandbox that fetches from host B"
    out=$(create "$(build_body "$(jq -cn --arg c "$GET 10.77.1.2 80 > /from-a" '[{run: $c}]')" \
        '{"allow_list": ["10.77.1.2"]}')")
    id=$(jq -r .id <<<"$out")
    assert_contains "$(run "$id" '["cat", "/from-a"]')" host-a "an allow-listed step's fetch from host A"
    t_api DELETE "/v1/sandboxes/$id" > /dev/null

    # A blocked sandbox's steps reach nothing and have no resolver.
    out=$(create "$(build_body "$(jq -cn --arg c "($GET 10.77.1.2 80 || true) > /from-a; cat /etc/resolv.conf > /resolv 2>&1 || true" \
        '[{run: $c}]')" '{"block_network": true}')")
    id=$(jq -r .id <<<"$out")
    assert_not_contains "$(run "$id" '["cat", "/from-a"]')" host-a "a blocked step's fetch from host A"
    assert_not_contains "$(run "$id" '["cat", "/resolv"]')" nameserver "a blocked step's resolver"
    refused "$id" 10.77.1.2 "the blocked sandbox itself: host A"
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandboxes and the failed build left"
    assert_eq "$(ip -n "$UP" -o link show | grep -c ' wr-' || true)" 0 "links left in the uplink"
}

t_case "egress open, blocked and allow-listed; live changes; a restart; removal" case_egress
t_case "build steps get the sandbox's egress: open, allow-listed, blocked" case_build
t_case "a nested container gets exactly the sandbox's egress" case_nested
t_done
