#!/usr/bin/env bash
# Exposed ports: a server listening on a sandbox's 127.0.0.1 answers on the
# host port warrend gives it (at create, and exposed later), through the
# sandbox's agent; a second sandbox's server on the same port is reached
# only through its own host port; exposing twice or on a host port in use
# is refused; a port stopped, or its sandbox deleted, no longer answers;
# after `kill -9` of warrend and a restart the same host port answers
# again.  In a Docker-enabled sandbox, a nested container with
# --network=host answers on an exposed port too.  (Published ports with
# the nested dockerd's bridge are asserted inside the sandbox by
# docker_in_gvisor.sh's case_sandbox_network; docs/docker.md.)
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=600

setup() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images "${1:-busybox}"
    t_warrend_root
}

create() {
    local out
    out=$(curl -s --unix-socket "$WD_SOCK" -H 'Accept: application/x-ndjson' \
        -H 'Content-Type: application/json' -d "$1" http://warrend/v1/sandboxes)
    [ "$(printf '%s\n' "$out" | tail -n 1 | jq -r '.sandbox.state // empty')" = running ] ||
        t_fail "the create did not end with a running sandbox: $out"
    printf '%s\n' "$out" | tail -n 1 | jq -c .sandbox
}

# run_api ID ARGV_JSON: runs a process to its end, which must be exit 0.
run_api() {
    local pid out
    pid=$(t_api_exec "$1" "$2")
    out=$(t_api POST "/v1/sandboxes/$1/processes/$pid/wait" -d '{"timeout_ms": 240000}')
    assert_contains "$out" '"exit_code":0'
}

# serve ID PORT TEXT: busybox httpd on the sandbox's 127.0.0.1:PORT
# serving TEXT as /index.html.
serve() {
    local out
    out=$(t_api PUT "/v1/sandboxes/$1/files/content?path=/www$2/index.html&parents=true" \
        --data-binary "$3")
    assert_eq "$(tail -n 1 <<<"$out")" 200 "the upload of the page"
    t_api_exec "$1" "[\"httpd\", \"-f\", \"-p\", \"127.0.0.1:$2\", \"-h\", \"/www$2\"]" > /dev/null
}

# fetch URL: the page, retried while the server starts (10 s).
fetch() {
    local i out
    for i in $(seq 100); do
        out=$(curl -s --max-time 5 "$1/index.html") && [ -n "$out" ] && { printf '%s' "$out"; return 0; }
        sleep 0.1
    done
    return 1
}

url_of() { jq -r --argjson p "$2" '.ports[] | select(.port == $p) | .url' <<<"$1"; }

case_ports() {
    setup
    t_warrend
    local a b a_url b_url later out host_port
    a=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"ports\": [8080]}")
    a_url=$(url_of "$a" 8080)
    assert_match "$a_url" '^http://127\.0\.0\.1:[0-9]+$'
    a=$(jq -r .id <<<"$a")
    serve "$a" 8080 "page-of-a"
    assert_eq "$(fetch "$a_url")" "page-of-a" "A's page on its exposed port"

    # Exposed later, on a host port the caller names.
    host_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    out=$(t_api POST "/v1/sandboxes/$a/ports" -d "{\"port\": 9090, \"host_port\": $host_port}")
    assert_eq "$(tail -n 1 <<<"$out")" 201 "exposing 9090"
    later=$(head -n 1 <<<"$out" | jq -r .url)
    assert_eq "$later" "http://127.0.0.1:$host_port" "the URL of the named host port"
    serve "$a" 9090 "second-page-of-a"
    assert_eq "$(fetch "$later")" "second-page-of-a" "A's second page"
    out=$(t_api GET "/v1/sandboxes/$a/ports")
    assert_eq "$(head -n 1 <<<"$out" | jq -c '[.ports[].port]')" "[8080,9090]" "the exposed ports"

    # Refusals: the same port twice, a host port in use, not a port.
    out=$(t_api POST "/v1/sandboxes/$a/ports" -d '{"port": 8080}')
    assert_eq "$(tail -n 1 <<<"$out")" 409 "exposing 8080 twice"
    assert_contains "$out" "port 8080 is exposed already"
    out=$(t_api POST "/v1/sandboxes/$a/ports" -d "{\"port\": 7070, \"host_port\": $host_port}")
    assert_eq "$(tail -n 1 <<<"$out")" 409 "a host port in use"
    assert_contains "$out" "is in use"
    out=$(t_api POST "/v1/sandboxes/$a/ports" -d '{"port": 70000}')
    assert_eq "$(tail -n 1 <<<"$out")" 400 "port 70000"
    assert_contains "$out" "70000 is not a port"
    out=$(t_api POST "/v1/sandboxes/sb-0000000000000000/ports" -d '{"port": 80}')
    assert_eq "$(tail -n 1 <<<"$out")" 404 "an unknown sandbox"

    # A second sandbox with a server on the same port: each host port
    # reaches its own sandbox only.
    b=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"ports\": [8080]}")
    b_url=$(url_of "$b" 8080)
    b=$(jq -r .id <<<"$b")
    [ "$a_url" != "$b_url" ] || t_fail "both sandboxes got $a_url"
    serve "$b" 8080 "page-of-b"
    assert_eq "$(fetch "$b_url")" "page-of-b" "B's page"
    assert_eq "$(fetch "$a_url")" "page-of-a" "A's page, still A's"
    # A port of B's that nothing exposes is not reached through A's ports.
    serve "$b" 9090 "hidden-page-of-b"
    assert_eq "$(fetch "$later")" "second-page-of-a" "A's 9090 while B serves 9090 too"

    # kill -9 of warrend and a restart: the same host ports answer again.
    kill -9 "$WD_PID"
    wait "$WD_PID" 2>/dev/null || true
    ! curl -s --max-time 2 "$a_url/index.html" > /dev/null || t_fail "A's port answers with warrend dead"
    t_warrend
    assert_eq "$(fetch "$a_url")" "page-of-a" "A's page after the restart"
    assert_eq "$(fetch "$later")" "second-page-of-a" "A's second page after the restart"
    assert_eq "$(fetch "$b_url")" "page-of-b" "B's page after the restart"

    # Stopping one port; deleting a sandbox ends its ports.
    out=$(t_api DELETE "/v1/sandboxes/$a/ports/9090")
    assert_eq "$(tail -n 1 <<<"$out")" 200 "stopping 9090"
    assert_eq "$(head -n 1 <<<"$out" | jq -c '[.ports[].port]')" "[8080]" "the ports left"
    ! curl -s --max-time 2 "$later/index.html" > /dev/null || t_fail "9090 answers after it was stopped"
    out=$(t_api DELETE "/v1/sandboxes/$a/ports/9090")
    assert_eq "$(tail -n 1 <<<"$out")" 404 "stopping 9090 again"
    t_api DELETE "/v1/sandboxes/$a" > /dev/null
    ! curl -s --max-time 2 "$a_url/index.html" > /dev/null || t_fail "A's port answers after A was deleted"
    assert_eq "$(fetch "$b_url")" "page-of-b" "B's page after A was deleted"
    out=$(t_api GET "/v1/sandboxes/$a")
    assert_eq "$(head -n 1 <<<"$out" | jq -c .ports)" "[]" "a deleted sandbox's ports"
    t_api DELETE "/v1/sandboxes/$b" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

case_nested_ports() {
    setup debian-docker
    t_images busybox
    t_warrend
    local sb id host_url
    sb=$(create "{\"image\": \"$WARREN_DEBIAN_IMAGE\", \"docker_enabled\": true, \"ports\": [8081, 8082]}")
    id=$(jq -r .id <<<"$sb")
    host_url=$(url_of "$sb" 8081)
    run_api "$id" '["docker", "pull", "busybox"]' > /dev/null
    run_api "$id" '["sh", "-c", "docker run -d --network=host busybox sh -c \"mkdir -p /w && echo nested-host > /w/index.html && httpd -f -p 8081 -h /w\""]' > /dev/null
    assert_eq "$(fetch "$host_url")" "nested-host" "a nested container with --network=host"
    # On the nested dockerd's bridge, published on the sandbox's 8082 by
    # docker-proxy, and exposed from there.
    run_api "$id" '["sh", "-c", "docker run -d -p 8082:80 busybox sh -c \"mkdir -p /w && echo nested-bridge > /w/index.html && httpd -f -p 80 -h /w\""]' > /dev/null
    assert_eq "$(fetch "$(url_of "$sb" 8082)")" "nested-bridge" "a nested bridged container's published port"
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

t_case "exposed ports: at create and later, one sandbox's only, refusals, after a restart, ended" case_ports
t_case "an exposed port reaches a nested container with --network=host, and one published from the bridge" case_nested_ports
t_done
