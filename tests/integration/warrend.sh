#!/usr/bin/env bash
# warrend, the real binary (from $WARREN_BUILD_DIR, the sanitizer build under
# tests/run), driven with curl: the unix socket (mode 0660, its group), the
# health check, version, JSON errors for unknown routes and methods, huge
# bodies and routes to come, the TCP listener with its bearer token, the
# refusals at start (TCP without a token, a short token, a socket in use),
# its route table against docs/openapi.json, JSON logs with request ids,
# and SIGTERM / SIGINT stopping it and removing its socket.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=120

# start_warrend DIR ARGS...: tests/lib.sh's t_warrend with DIR as its root;
# sets PID and SOCK.
start_warrend() {
    WD_ROOT=$1; shift
    t_warrend "$@"
    PID=$WD_PID SOCK=$WD_SOCK
}

# api METHOD PATH [CURL ARGS...]: prints "BODY STATUS" (on one line) from
# the socket.
api() {
    local method=$1 path=$2; shift 2
    curl -s --unix-socket "$SOCK" -X "$method" -w ' %{http_code}' "$@" "http://warrend$path" | tr -d '\n'
}

# tcp URL [CURL ARGS...]: the same over TCP.
tcp() {
    local url=$1; shift
    curl -s --noproxy '*' -w ' %{http_code}' "$@" "$url" | tr -d '\n'
}

new_dir() {
    local dir
    mkdir -p "$T_TMP_ROOT"
    dir=$(mktemp -d "$T_TMP_ROOT/warrend.XXXXXX")
    t_defer rm -rf "$dir"
    echo "$dir"
}

case_unix_socket() {
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    local dir out
    dir=$(new_dir)
    start_warrend "$dir" --group daemon
    assert_eq "$(stat -c %a "$SOCK")" 660 "the socket's mode"
    assert_eq "$(stat -c %G "$SOCK")" daemon "the socket's group"
    out=$(api GET /v1/health)
    assert_match "$out" '^\{"status":"ok","version":"[0-9.]+"\}.* 200$'
    out=$(api GET /v1/version)
    assert_contains "$out" '"api_versions":["v1"]'
    assert_match "$out" ' 200$'
}

case_errors_and_still_serving() {
    local dir out big
    dir=$(new_dir)
    start_warrend "$dir"
    out=$(api GET /v1/nothing)
    assert_contains "$out" '{"error":{"kind":"not_found","message":"no such route: GET `/v1/nothing`"}}'
    assert_match "$out" ' 404$'
    out=$(api DELETE /v1/health -D "$dir/headers")
    assert_contains "$out" '"kind":"invalid"'
    assert_match "$out" ' 405$'
    assert_contains "$(tr -d '\r' < "$dir/headers")" 'Allow: GET'
    out=$(api POST /v1/sandboxes -H 'Content-Type: application/json' -d '{"image": "busybox", "cpus": 1}')
    assert_contains "$out" '"kind":"invalid"'
    assert_contains "$out" 'unknown field `cpus`'
    assert_match "$out" ' 400$'
    out=$(api GET /v1/sandboxes/sb-0123456789abcdef)
    assert_contains "$out" '"kind":"not_found"'
    assert_contains "$out" 'sb-0123456789abcdef'
    assert_match "$out" ' 404$'
    big=$dir/big.json
    head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$big"
    out=$(api POST /v1/sandboxes -H 'Content-Type: application/json' --data-binary @"$big")
    assert_contains "$out" '"kind":"limit"'
    assert_contains "$out" 'the limit is 1048576'
    assert_match "$out" ' 413$'
    out=$(api POST /v1/sandboxes -H 'Transfer-Encoding: chunked' --data-binary @"$big")
    assert_match "$out" ' 413$'
    # A request that is not HTTP at all.
    timeout 10 python3 -c '
import socket, sys
for data in (b"NONSENSE\r\n\r\n", b"GET /v1/health HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"\x00\xff" * 5000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    s.recv(65536)
    s.close()
' "$SOCK" || t_fail "raw requests on the socket failed"
    out=$(api GET /v1/health)
    assert_match "$out" ' 200$' "health after the bad requests"
    kill -0 "$PID" || t_fail "warrend died"
}

case_tcp_token() {
    local dir out port token
    dir=$(new_dir)
    token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s\n' "$token" > "$dir/token"
    start_warrend "$dir" --listen 127.0.0.1:0 --token-file "$dir/token"
    port=$(sed -n 's/.*warrend is serving.* tcp=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/warrend.log")
    [ -n "$port" ] || { cat "$dir/warrend.log"; t_fail "no TCP port in the log"; }
    local url=http://127.0.0.1:$port
    out=$(tcp "$url/v1/health")
    assert_match "$out" '"status":"ok".* 200$' "health without a token"
    out=$(tcp "$url/v1/version")
    assert_contains "$out" '"kind":"unauthorized"'
    assert_match "$out" ' 401$'
    out=$(tcp "$url/v1/version" -H "Authorization: Bearer ${token}x")
    assert_contains "$out" 'the bearer token is wrong'
    assert_match "$out" ' 401$'
    out=$(tcp "$url/v1/version" -H "Authorization: Bearer $token")
    assert_match "$out" '"version".* 200$'
    out=$(tcp "$url/v1/nothing")
    assert_match "$out" ' 401$' "an unknown path without a token"
    out=$(api GET /v1/version)
    assert_match "$out" ' 200$' "the unix socket needs no token"
}

case_refusals_at_start() {
    local dir out rc
    dir=$(new_dir)
    rc=0; out=$("$WARREND" --root "$dir" --listen 127.0.0.1:0 2>&1) || rc=$?
    assert_status 2 "$rc" "--listen without --token-file"
    assert_contains "$out" "--listen needs --token-file"
    printf 'short\n' > "$dir/token"
    rc=0; out=$("$WARREND" --root "$dir" --listen 127.0.0.1:0 --token-file "$dir/token" 2>&1) || rc=$?
    assert_status 1 "$rc" "a short token"
    assert_contains "$out" "at least 16 bytes"
    rc=0; out=$("$WARREND" --root "$dir" --group no-such-group-here 2>&1) || rc=$?
    assert_status 2 "$rc" "an unknown group"
    [ ! -e "$dir/run/warrend.sock" ] || t_fail "a refused start left a socket"
    # A socket in use is not taken over; a stale one is.
    start_warrend "$dir/a"
    local first=$PID
    rc=0; out=$("$WARREND" --root "$dir/a" 2>&1) || rc=$?
    assert_status 1 "$rc" "a second warrend on the same root"
    assert_contains "$out" "is in use by another warrend (pid $first)"
    rc=0; out=$("$WARREND" --root "$dir/b" --socket "$dir/a/run/warrend.sock" 2>&1) || rc=$?
    assert_status 1 "$rc" "a second warrend on the same socket"
    assert_contains "$out" "another server is listening on it"
    kill -KILL "$first"
    wait "$first" 2>/dev/null || true
    [ -S "$dir/a/run/warrend.sock" ] || t_fail "kill -9 should leave the socket behind"
    start_warrend "$dir/a"
    assert_match "$(api GET /v1/health)" ' 200$' "health after replacing a stale socket"
}

case_routes_match_openapi() {
    local routes documented
    routes=$("$WARREND" --print-routes | sort)
    documented=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for path, item in doc["paths"].items():
    for method in item:
        if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
            print(method.upper(), path)
' "$T_SOURCE_DIR/docs/openapi.json" | sort)
    [ -n "$routes" ] || t_fail "warrend --print-routes printed nothing"
    assert_eq "$routes" "$documented" "the routes of warrend --print-routes and docs/openapi.json"
}

case_json_logs() {
    local dir
    dir=$(new_dir)
    start_warrend "$dir" --log-format json
    api GET /v1/nothing > /dev/null
    sleep 0.2
    grep '"path":"/v1/nothing"' "$dir/warrend.log" > "$dir/line" || { cat "$dir/warrend.log"; t_fail "no log line for the request"; }
    jq -e '.request != null and .status == "404" and .msg == "request"' "$dir/line" > /dev/null ||
        t_fail "the request's log line is not JSON with its id and status: $(cat "$dir/line")"
}

# stop_with SIGNAL: warrend exits 0, promptly, and removes its socket.
stop_with() {
    local sig=$1 dir rc=0 start
    dir=$(new_dir)
    start_warrend "$dir"
    start=$(date +%s)
    kill "-$sig" "$PID"
    wait "$PID" || rc=$?
    assert_status 0 "$rc" "warrend's exit status after SIG$sig"
    [ $(( $(date +%s) - start )) -lt 5 ] || t_fail "warrend took too long to stop"
    [ ! -e "$SOCK" ] || t_fail "warrend left its socket after SIG$sig"
    assert_contains "$(cat "$dir/warrend.log")" 'warrend stopped'
}

case_sigterm() { stop_with TERM; }
case_sigint() { stop_with INT; }

t_case "the unix socket: mode 0660, its group, health and version" case_unix_socket
t_case "JSON errors (404, 405, 400, 413) and warrend still serving" case_errors_and_still_serving
t_case "TCP: health without a token, everything else needs the right one" case_tcp_token
t_case "refusals at start: TCP without a token, a short token, a root or a socket in use" case_refusals_at_start
t_case "warrend --print-routes equals docs/openapi.json's paths" case_routes_match_openapi
t_case "--log-format json: a line per request with its id" case_json_logs
t_case "SIGTERM stops warrend and removes its socket" case_sigterm
t_case "SIGINT stops warrend and removes its socket" case_sigint
t_done
