#!/usr/bin/env bash
# warrend's limits per client (docs/api.md, "Limits per client"), against
# real sandboxes: a request rate over which requests get 429 too_many with
# Retry-After (the health check never), the sandboxes a client may have at
# once (plain and streamed creates refused before anything is made, a
# deleted one freeing its place, the count kept across a kill -9 of
# warrend), the processes a sandbox runs at once for the API, and a TCP
# client counted apart from the unix socket's.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=300

setup() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images busybox
    t_warrend_root
}

# create BODY: a sandbox through the API; prints "ID STATUS" or the answer.
create_status() {
    t_api POST /v1/sandboxes -d "$1"
}

case_rate() {
    setup
    t_warrend --client-rate 2 --client-burst 5
    local i out ok=0 limited=0 headers=$WD_ROOT/headers
    # Each limited answer's headers are checked as it comes: a request sent
    # after the loop could find a token refilled on a slow machine.
    local start
    start=$(date +%s.%N)
    for i in $(seq 20); do
        out=$(t_api GET /v1/sandboxes -D "$headers")
        case "$(tail -n 1 <<<"$out")" in
            200) ok=$((ok + 1)) ;;
            429) limited=$((limited + 1))
                 assert_contains "$out" '"kind":"too_many"'
                 assert_contains "$out" "client \`uid:$(id -u)\`: more than 2 requests a second (5 at once)"
                 assert_match "$(cat "$headers")" 'Retry-After: [0-9]+' ;;
            *) t_fail "request $i: $out" ;;
        esac
    done
    # 5 at once, and 2 a second while the 20 were sent (the bound follows the
    # time they took, so that a slow machine does not fail the count).
    local most
    most=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", 5 + 2 * (b - a) + 1 }')
    [ "$ok" -ge 5 ] && [ "$ok" -le "$most" ] || t_fail "$ok of 20 requests answered 200 (5 to $most expected)"
    [ "$limited" -ge 1 ] || t_fail "no request was limited"
    assert_eq "$((ok + limited))" 20 "answers"
    # The health check is not limited.
    for i in $(seq 10); do
        assert_eq "$(t_api GET /v1/health | tail -n 1)" 200 "health $i"
    done
    sleep 1.2
    assert_eq "$(t_api GET /v1/sandboxes | tail -n 1)" 200 "a request after a pause"
    grep -q 'request rate exceeded' "$WD_ROOT/warrend.log" || t_fail "no log line for the limited requests"
}

case_sandboxes() {
    setup
    t_warrend --client-sandboxes 1
    local out a b c
    out=$(create_status "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    assert_eq "$(tail -n 1 <<<"$out")" 201 "the first sandbox"
    a=$(head -n 1 <<<"$out" | jq -r .id)
    assert_eq "$(head -n 1 <<<"$out" | jq -r .client)" "uid:$(id -u)" "the sandbox's client"
    out=$(create_status "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    assert_eq "$(tail -n 1 <<<"$out")" 429 "a second sandbox"
    assert_contains "$out" '"kind":"too_many"'
    assert_contains "$out" "client \`uid:$(id -u)\` has 1 sandboxes, the most it may have at once: delete one first"
    # A streamed create is refused before its stream starts.
    out=$(t_api POST /v1/sandboxes -H 'Accept: application/x-ndjson' -d "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    assert_eq "$(tail -n 1 <<<"$out")" 429 "a second sandbox, streamed"
    # Nothing of the refused ones was made.
    assert_eq "$(t_api GET /v1/sandboxes | head -n 1 | jq '.sandboxes | length')" 1 "sandboxes known"
    assert_eq "$(ls "$WD_ROOT/sandboxes")" "$a" "sandbox directories"
    # The count survives a kill -9 of warrend.
    kill -KILL "$WD_PID"; wait "$WD_PID" 2>/dev/null || true
    t_warrend --client-sandboxes 1
    out=$(create_status "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    assert_eq "$(tail -n 1 <<<"$out")" 429 "a second sandbox after a restart"
    t_api DELETE "/v1/sandboxes/$a" > /dev/null
    out=$(create_status "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    assert_eq "$(tail -n 1 <<<"$out")" 201 "a sandbox once the first was deleted"
    b=$(head -n 1 <<<"$out" | jq -r .id)
    # Over TCP the peer's address is another client.
    local token port
    token=$WD_ROOT/token; head -c 24 /dev/urandom | base64 > "$token"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    kill -TERM "$WD_PID"; wait "$WD_PID" 2>/dev/null || true
    t_warrend --client-sandboxes 1 --listen "127.0.0.1:$port" --token-file "$token"
    out=$(curl -s --noproxy '*' -w '\n%{http_code}\n' -H "Authorization: Bearer $(cat "$token")" \
        -d "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}" "http://127.0.0.1:$port/v1/sandboxes")
    assert_eq "$(tail -n 1 <<<"$out")" 201 "a TCP client's sandbox"
    c=$(head -n 1 <<<"$out" | jq -r .id)
    assert_eq "$(head -n 1 <<<"$out" | jq -r .client)" "tcp:127.0.0.1" "the TCP client"
    t_api DELETE "/v1/sandboxes/$b" > /dev/null
    t_api DELETE "/v1/sandboxes/$c" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

case_processes() {
    setup
    t_warrend --sandbox-processes 2
    local out id p1 p2 p3
    out=$(create_status "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    assert_eq "$(tail -n 1 <<<"$out")" 201 "the sandbox"
    id=$(head -n 1 <<<"$out" | jq -r .id)
    p1=$(t_api_exec "$id" '["sleep", "60"]')
    p2=$(t_api_exec "$id" '["sleep", "60"]')
    out=$(t_api POST "/v1/sandboxes/$id/processes" -d '{"argv": ["echo", "third"]}')
    assert_eq "$(tail -n 1 <<<"$out")" 429 "a third process"
    assert_contains "$out" '"kind":"too_many"'
    assert_contains "$out" "2 processes started through the agent run already"
    assert_eq "$(t_api GET "/v1/sandboxes/$id/processes" | head -n 1 | jq '.processes | length')" 2 "processes"
    assert_eq "$(t_api POST "/v1/sandboxes/$id/processes/$p1/kill" | tail -n 1)" 200 "the kill"
    t_api POST "/v1/sandboxes/$id/processes/$p1/wait" -d '{"timeout_ms": 20000}' > /dev/null
    p3=$(t_api_exec "$id" '["echo", "third"]')
    out=$(t_api POST "/v1/sandboxes/$id/processes/$p3/wait" -d '{"timeout_ms": 20000}')
    assert_contains "$out" '"exit_code":0'
    t_api POST "/v1/sandboxes/$id/processes/$p2/kill" > /dev/null
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

t_case "a client's request rate: 429 too_many with Retry-After over it, the health check never" case_rate
t_case "a client's sandboxes at once: refused before anything is made, kept across kill -9, TCP apart" case_sandboxes
t_case "a sandbox's processes at once: the next exec refused until one ends" case_processes
t_done
