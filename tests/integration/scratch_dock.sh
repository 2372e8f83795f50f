#!/usr/bin/env bash
# warrend's Docker routes (/v1/sandboxes/{id}/docker/...) against a real
# Docker-enabled sandbox: each call talks to the sandbox dockerd's Engine
# API and answers ndjson events ending with {"event":"end","exit_code":N}.
# The sandbox pulls busybox by its short name through warrend's docker.io
# mirror (the local registry).  Checked: pull with its progress events and
# the CLI's text, run (output, exit status, a non-zero one, detach,
# remove), ps, images, logs, exec, build of a context uploaded through the
# files API (and one failing at a step), stop, rm, rmi, tag, volumes,
# login; failures: an image that does not exist, a sandbox without Docker,
# bad bodies, compose without its plugin.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=900

create() {
    local docker=$1 out
    out=$(curl -s --unix-socket "$WD_SOCK" -H 'Content-Type: application/json' \
        -d "{\"image\": \"$WARREN_DEBIAN_IMAGE\", \"docker_enabled\": $docker}" \
        http://warrend/v1/sandboxes)
    [ "$(jq -r '.state // empty' <<<"$out")" = running ] || t_fail "the create failed: $out"
    jq -r .id <<<"$out"
}

# dock METHOD ROUTE [BODY]: the call's events into $WD_ROOT/last.ndjson,
# its HTTP status into $WD_ROOT/last.status.
dock() {
    local method=$1 route=$2 body=${3:-}
    local args=(-s -N --max-time 600 --unix-socket "$WD_SOCK" -X "$method" -o "$WD_ROOT/last.ndjson"
        -w '%{http_code}')
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
    curl "${args[@]}" "http://warrend/v1/sandboxes/$SB/docker/$route" > "$WD_ROOT/last.status"
    echo "== $method $route $body: $(cat "$WD_ROOT/last.status")"
    cat "$WD_ROOT/last.ndjson"; echo
}

status() { cat "$WD_ROOT/last.status"; }
events() { cat "$WD_ROOT/last.ndjson"; }
# The end event's exit code, and that the end is the last line and only one.
exit_code() {
    local ends
    ends=$(jq -c 'select(.event == "end")' "$WD_ROOT/last.ndjson" | wc -l)
    assert_eq "$ends" 1 "end events"
    assert_eq "$(tail -n 1 "$WD_ROOT/last.ndjson" | jq -r .event)" end "the last event"
    tail -n 1 "$WD_ROOT/last.ndjson" | jq -r .exit_code
}
# has FILTER: some event of the last call gives true for FILTER.
has() { jq -se "map($1) | any" "$WD_ROOT/last.ndjson" >/dev/null; }
end_error() { tail -n 1 "$WD_ROOT/last.ndjson" | jq -r '.error.message // empty'; }
output() { jq -j --arg s "$1" 'select(.event == "output" and .stream == $s) | .data | @base64d' "$WD_ROOT/last.ndjson"; }

upload() {
    local path=$1 text=$2 out
    out=$(t_api PUT "/v1/sandboxes/$SB/files/content?path=$path&parents=true" --data-binary "$text")
    assert_eq "$(tail -n 1 <<<"$out")" 200 "upload of $path"
}

case_scratch() {
    t_images debian-docker
    t_images busybox
    t_warrend_root
    t_warrend
    SB=$(create true)
    dock POST run '{"image": "busybox", "command": ["sleep", "600"], "name": "bg", "detach": true}'
    ( sleep 15; timeout 60 gdb -p $WD_PID -batch -ex "thread apply all bt 12" > /tmp/dock-gdb.txt 2>&1; ss -xp > /tmp/dock-ss.txt 2>&1 ) &
    timeout 30 curl -s -N --unix-socket "$WD_SOCK" -H 'Content-Type: application/json' -d '{"container": "bg", "command": ["echo", "hi"]}' "http://warrend/v1/sandboxes/$SB/docker/exec"
    echo "curl $?"
    sleep 40
    echo "in the sandbox:"
    timeout -k 5 30 "$AGENT_CALL" "$WD_ROOT/sandboxes/$SB/agent/agent.sock" docker exec bg echo hi; echo "rc $?"
}
t_case "scratch" case_scratch
t_done
