#!/usr/bin/env bash
# warrend's sandboxes through its API, against real runsc, the local
# registry and the agent in each sandbox: create with its events (and a
# Docker-enabled one with the two readiness lines), loopback only and the
# memory limit seen inside, list filters, get by name, the sandbox's Docker
# socket on the host, delete leaving nothing; `kill -9` of warrend during a
# create and a restart (the half-made sandbox failed and removed, the
# running one adopted and answering); `kill -9` of a sandbox's runsc
# processes (failed, with the reason); lifetimes that expire, and one made
# endless; an ended sandbox's name taken again and its record forgotten;
# bad input.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=300

setup() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    [ -x "$AGENT_CALL" ] || t_fail "agent-call not built: $AGENT_CALL"
    t_images "${1:-busybox}"
    t_warrend_root
}

# create BODY: creates a sandbox with events; prints the events, the last
# line being the sandbox.  Fails unless it ends with a running sandbox.
create() {
    local out
    out=$(curl -s --unix-socket "$WD_SOCK" -H 'Accept: application/x-ndjson' \
        -H 'Content-Type: application/json' -d "$1" http://warrend/v1/sandboxes)
    printf '%s\n' "$out"
    [ "$(printf '%s\n' "$out" | tail -n 1 | jq -r '.sandbox.state // empty')" = running ] ||
        t_fail "the create did not end with a running sandbox: $out"
}

last_id() { printf '%s\n' "$1" | tail -n 1 | jq -r .sandbox.id; }

in_sandbox() {
    local id=$1; shift
    timeout -k 5 60 "$AGENT_CALL" "$WD_ROOT/sandboxes/$id/agent/agent.sock" "$@"
}

# wait_state ID STATE: polls until the sandbox is in STATE (30 s).
wait_state() {
    local i state
    for i in $(seq 300); do
        state=$(t_api GET "/v1/sandboxes/$1" | head -n 1 | jq -r .state)
        [ "$state" = "$2" ] && return 0
        sleep 0.1
    done
    t_fail "sandbox $1 is $state, not $2, after 30s"
}

case_plain_sandbox() {
    setup
    t_warrend
    local out id
    out=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"cpu\": 1, \"memory\": \"256Mi\",
                   \"name\": \"plain-1\", \"labels\": {\"team\": \"ml\"}}")
    echo "$out"
    assert_contains "$out" '{"event":"state","state":"creating"'
    assert_contains "$out" '{"event":"state","state":"starting"'
    assert_contains "$out" '"event":"pulled"'
    id=$(last_id "$out")
    assert_match "$id" '^sb-[0-9a-f]{16}$'
    # Loopback only, and the memory limit is what it sees.
    out=$(in_sandbox "$id" cat /proc/net/dev)
    assert_contains "$out" "lo:"
    assert_eq "$(printf '%s\n' "$out" | tail -n +3 | grep -vc 'lo:')" 0 "interfaces other than lo"
    out=$(in_sandbox "$id" grep MemTotal /proc/meminfo)
    assert_match "$out" 'MemTotal: +262144 kB'
    # Filters, and a name for an id.
    assert_contains "$(t_api GET '/v1/sandboxes?state=running')" "\"$id\""
    assert_contains "$(t_api GET '/v1/sandboxes?label=team=ml')" "\"$id\""
    assert_not_contains "$(t_api GET '/v1/sandboxes?label=team=web')" "\"$id\""
    assert_not_contains "$(t_api GET '/v1/sandboxes?state=stopped')" "\"$id\""
    out=$(t_api GET /v1/sandboxes/plain-1)
    assert_contains "$out" "\"id\":\"$id\""
    assert_eq "$(tail -n 1 <<<"$out")" 200 "GET by name"
    # A second sandbox cannot take the name.
    out=$(t_api POST /v1/sandboxes -d "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"name\": \"plain-1\"}")
    assert_contains "$out" '"kind":"exists"'
    assert_eq "$(tail -n 1 <<<"$out")" 409 "a name taken"
    out=$(t_api DELETE "/v1/sandboxes/$id")
    assert_contains "$out" '"state":"stopped","reason":"deleted"'
    assert_eq "$(t_leftovers)" "" "what the deleted sandbox left"
    out=$(t_api GET /metrics)
    assert_contains "$out" 'warren_sandboxes{state="stopped"} 1'
    assert_contains "$out" 'warren_sandbox_create_seconds_count 1'
    assert_match "$out" 'warren_heap_bytes [1-9][0-9]{5,}'
}

case_docker_sandbox() {
    setup debian-docker
    t_warrend
    local out id sock
    out=$(create "{\"image\": \"$WARREN_DEBIAN_IMAGE\", \"docker_enabled\": true}")
    echo "$out"
    assert_contains "$out" '"message":"Waiting for Docker daemon to be ready (timeout: 30s)..."'
    assert_match "$out" '"message":"Docker daemon is ready \(took [0-9]+\.[0-9]s\)"'
    id=$(last_id "$out")
    sock=$(printf '%s\n' "$out" | tail -n 1 | jq -r .sandbox.docker_socket)
    assert_eq "$sock" "$WD_ROOT/sandboxes/$id/docker.sock" "the sandbox's Docker socket"
    # The host's docker CLI talks to the sandbox's own dockerd.
    out=$(timeout -k 5 60 docker -H "unix://$sock" info --format '{{.OperatingSystem}} {{.Name}}')
    assert_contains "$out" "warren"
    out=$(timeout -k 5 60 docker -H "unix://$sock" version --format '{{.Server.Version}}')
    assert_match "$out" '^[0-9]+\.'
    # Asked again, readiness answers at once.
    out=$(curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$id/docker")
    assert_contains "$out" '"event":"docker.ready"'
    out=$(t_api DELETE "/v1/sandboxes/$id")
    assert_contains "$out" '"reason":"deleted"'
    [ ! -e "$sock" ] || t_fail "the Docker socket is still there"
    assert_eq "$(t_leftovers)" "" "what the deleted sandbox left"
}

case_warrend_killed() {
    setup debian-docker
    t_warrend
    local out a b i
    out=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    a=$(last_id "$out")
    # A create that pulls a larger image, killed while it runs.
    curl -s --unix-socket "$WD_SOCK" -d "{\"image\": \"$WARREN_DEBIAN_IMAGE\"}" \
        http://warrend/v1/sandboxes > /dev/null &
    for i in $(seq 200); do
        b=$(t_api GET '/v1/sandboxes?state=creating' | head -n 1 | jq -r '.sandboxes[0].id // empty')
        [ -n "$b" ] && break
        sleep 0.02
    done
    [ -n "$b" ] || t_fail "the second create was never seen creating"
    kill -KILL "$WD_PID"
    wait "$WD_PID" 2>/dev/null || true
    t_warrend
    out=$(t_api GET "/v1/sandboxes/$b")
    assert_contains "$out" '"state":"failed","reason":"warrend stopped while creating it"'
    out=$(t_api GET "/v1/sandboxes/$a")
    assert_contains "$out" '"state":"running"'
    assert_contains "$(in_sandbox "$a" echo still-here)" still-here
    assert_eq "$(t_leftovers | grep -v "${a:0:12}" || true)" "" "what the killed create left"
    t_api DELETE "/v1/sandboxes/$a" > /dev/null
    assert_eq "$(t_leftovers)" "" "what is left after the delete"
}

case_runsc_killed() {
    setup
    t_warrend
    local out id pids
    out=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")
    id=$(last_id "$out")
    pids=$(pgrep -f -- "--root=$WD_ROOT/runsc" || true)
    [ -n "$pids" ] || t_fail "no runsc process of the sandbox found"
    kill -KILL $pids
    wait_state "$id" failed
    out=$(t_api GET "/v1/sandboxes/$id")
    assert_contains "$out" '"reason":"runsc died'
    assert_eq "$(t_leftovers)" "" "what the dead sandbox left"
}

case_lifetimes() {
    setup
    t_warrend --max-lifetime 8
    local out short endless
    out=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"keep_warm_seconds\": 2}")
    short=$(last_id "$out")
    out=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"keep_warm_seconds\": 2}")
    endless=$(last_id "$out")
    out=$(t_api PATCH "/v1/sandboxes/$endless" -d '{"keep_warm_seconds": -1}')
    assert_contains "$out" '"keep_warm_seconds":-1'
    out=$(t_api PATCH "/v1/sandboxes/$endless" -d '{"keep_warm_seconds": 0}')
    assert_eq "$(tail -n 1 <<<"$out")" 400 "keep_warm_seconds 0"
    wait_state "$short" stopped
    assert_contains "$(t_api GET "/v1/sandboxes/$short")" '"reason":"lifetime expired"'
    # Idle for longer than the other's keep_warm, it still runs...
    assert_contains "$(t_api GET "/v1/sandboxes/$endless")" '"state":"running"'
    # ...until the daemon's maximum lifetime, which bounds every sandbox.
    wait_state "$endless" stopped
    assert_contains "$(t_api GET "/v1/sandboxes/$endless")" '"reason":"lifetime expired"'
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

# An ended sandbox gives its name back at once; its record stays for
# --keep-ended seconds, then it is forgotten.
case_ended() {
    setup
    t_warrend
    local out first second i
    out=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"name\": \"job\"}")
    first=$(last_id "$out")
    t_api DELETE /v1/sandboxes/job > /dev/null
    out=$(t_api GET /v1/sandboxes/job)
    assert_contains "$out" "\"id\":\"$first\""
    assert_contains "$out" '"state":"stopped","reason":"deleted"'
    out=$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\", \"name\": \"job\"}")
    second=$(last_id "$out")
    [ "$second" != "$first" ] || t_fail "the same id twice: $second"
    assert_eq "$(t_api GET /v1/sandboxes/job | head -n 1 | jq -r .id)" "$second" "the name's holder"
    assert_eq "$(t_api GET '/v1/sandboxes?name=job' | head -n 1 | jq -r '[.sandboxes[].id] | join(" ")')" \
        "$first $second" "the sandboxes named job"
    t_api DELETE "/v1/sandboxes/$second" > /dev/null
    assert_eq "$(t_api GET /v1/sandboxes/job | head -n 1 | jq -r .id)" "$second" "the one that ended last"
    # Restarted with a short --keep-ended: both records are forgotten.
    kill -TERM "$WD_PID"; wait "$WD_PID" 2>/dev/null || true
    t_warrend --keep-ended 1
    for i in $(seq 40); do
        [ "$(t_api GET /v1/sandboxes | head -n 1 | jq '.sandboxes | length')" = 0 ] && break
        sleep 0.5
    done
    assert_eq "$(t_api GET /v1/sandboxes | head -n 1)" '{"sandboxes":[]}' "the sandboxes known"
    out=$(t_api GET "/v1/sandboxes/$first")
    assert_eq "$(tail -n 1 <<<"$out")" 404 "a forgotten sandbox"
    assert_contains "$out" '"kind":"not_found"'
    assert_contains "$(t_api GET /metrics)" 'warren_sandboxes{state="stopped"} 0'
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

case_bad_input() {
    setup
    t_warrend
    local out
    out=$(t_api POST /v1/sandboxes -d '{"image": 5}')
    assert_contains "$out" 'image'
    assert_eq "$(tail -n 1 <<<"$out")" 400 "a wrong type"
    out=$(t_api POST /v1/sandboxes -d '{"image": "x", "memory": "lots"}')
    assert_contains "$out" 'memory'
    assert_eq "$(tail -n 1 <<<"$out")" 400 "a bad memory"
    out=$(t_api POST /v1/sandboxes -d '{"image": ')
    assert_eq "$(tail -n 1 <<<"$out")" 400 "truncated JSON"
    # An image the registry does not have: failed, named, nothing left.
    out=$(t_api POST /v1/sandboxes -d "{\"image\": \"$WARREN_REGISTRY/no/such:image\"}")
    assert_contains "$out" 'no/such'
    assert_eq "$(tail -n 1 <<<"$out")" 404 "an image that does not exist"
    out=$(t_api GET '/v1/sandboxes?state=failed')
    assert_contains "$out" '"state":"failed"'
    out=$(t_api PATCH /v1/sandboxes/sb-0123456789abcdef -d '{"keep_warm_seconds": 5}')
    assert_eq "$(tail -n 1 <<<"$out")" 404 "an unknown id"
    assert_eq "$(t_api GET /v1/health | tail -n 1)" 200 "warrend still serving"
    assert_eq "$(t_leftovers)" "" "what the failed create left"
}

case_isolation() {
    setup
    t_warrend
    local out a b
    a=$(last_id "$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")")
    b=$(last_id "$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")")
    in_sandbox "$a" sh -c 'echo secret-of-a > /tmp/secret; sleep 300 > /dev/null 2>&1 &'
    assert_eq "$(in_sandbox "$a" cat /tmp/secret)" secret-of-a "A's own file"
    # B sees neither A's file nor A's processes.
    out=$(in_sandbox "$b" sh -c 'cat /tmp/secret 2>&1; ps')
    assert_not_contains "$out" secret-of-a
    assert_contains "$(in_sandbox "$a" ps)" "sleep 300"
    assert_not_contains "$out" "sleep 300"
    # Nothing of the host's is there: not warrend's socket, not its root,
    # not another sandbox's agent directory.
    out=$(in_sandbox "$a" sh -c "ls -d '$WD_SOCK' '$WD_ROOT' /.warren/agent/* 2>&1; cat /proc/net/unix")
    assert_contains "$out" "$WD_SOCK: No such file or directory"
    assert_contains "$out" "$WD_ROOT: No such file or directory"
    assert_not_contains "$out" "$b"
    # A plain sandbox has no raw sockets.
    out=$(in_sandbox "$a" ping -c 1 127.0.0.1 2>&1 || true)
    assert_match "$out" '[Pp]ermission denied|not permitted'
    t_api DELETE "/v1/sandboxes/$a" > /dev/null
    t_api DELETE "/v1/sandboxes/$b" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

case_processes_and_output() {
    setup
    t_warrend
    local id pid out want
    id=$(last_id "$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")")
    want=$(seq 1 1000000 | sha256sum)
    pid=$(t_api_exec "$id" '["seq", "1", "1000000"]')
    # Two readers at once: one following from the start, one reading all
    # of it once the process has ended.
    curl -s --unix-socket "$WD_SOCK" \
        "http://warrend/v1/sandboxes/$id/processes/$pid/output?stream=stdout&follow=true" \
        -o "$WD_ROOT/follow.out" &
    local follower=$!
    out=$(t_api POST "/v1/sandboxes/$id/processes/$pid/wait" -d '{"timeout_ms": 60000}')
    assert_contains "$out" '"state":"exited","exit_code":0'
    curl -s --unix-socket "$WD_SOCK" \
        "http://warrend/v1/sandboxes/$id/processes/$pid/output?stream=stdout" -o "$WD_ROOT/after.out" &
    local after=$!
    wait "$follower" "$after"
    assert_eq "$(sha256sum < "$WD_ROOT/follow.out")" "$want" "the follower's 1,000,000 lines"
    assert_eq "$(sha256sum < "$WD_ROOT/after.out")" "$want" "the later reader's 1,000,000 lines"
    # From an offset: the rest exactly.
    local offset=$(($(seq 1 1000000 | wc -c) - 15))
    out=$(curl -s --unix-socket "$WD_SOCK" \
        "http://warrend/v1/sandboxes/$id/processes/$pid/output?stream=stdout&stdout_offset=$offset")
    assert_eq "$out" "$(seq 999999 1000000)" "the output from an offset"
    # Exit codes and signals exactly.
    pid=$(t_api_exec "$id" '["sh", "-c", "echo oops >&2; exit 3"]')
    out=$(t_api POST "/v1/sandboxes/$id/processes/$pid/wait")
    assert_contains "$out" '"state":"exited","exit_code":3'
    pid=$(t_api_exec "$id" '["sleep", "100"]')
    t_api POST "/v1/sandboxes/$id/processes/$pid/kill" > /dev/null
    out=$(t_api POST "/v1/sandboxes/$id/processes/$pid/wait")
    assert_contains "$out" '"state":"signaled","signal":9'
    out=$(t_api GET "/v1/sandboxes/$id/processes/p999")
    assert_eq "$(tail -n 1 <<<"$out")" 404 "an unknown process"
    # Exec and wait in one request: 200 with the ended process, its output
    # kept; with timeout_ms, 201 with the one still running.
    out=$(t_api POST "/v1/sandboxes/$id/processes" -d '{"argv": ["sh", "-c", "echo waited; exit 4"], "wait": true}')
    echo "$out"
    assert_eq "$(tail -n 1 <<<"$out")" 200 "the status of an exec with wait"
    assert_contains "$out" '"state":"exited","exit_code":4'
    pid=$(head -n 1 <<<"$out" | jq -r .pid)
    out=$(curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$id/processes/$pid/output?stream=stdout")
    assert_eq "$out" "waited" "the output of an exec with wait"
    out=$(t_api POST "/v1/sandboxes/$id/processes" -d '{"argv": ["sleep", "100"], "wait": true, "timeout_ms": 300}')
    assert_eq "$(tail -n 1 <<<"$out")" 201 "an exec with wait past its timeout_ms"
    assert_contains "$out" '"state":"running"'
    pid=$(head -n 1 <<<"$out" | jq -r .pid)
    t_api POST "/v1/sandboxes/$id/processes/$pid/kill" > /dev/null
    out=$(t_api POST "/v1/sandboxes/$id/processes" -d '{"argv": ["true"], "timeout_ms": 300}')
    assert_eq "$(tail -n 1 <<<"$out")" 400 "timeout_ms without wait"
    assert_contains "$out" 'timeout_ms: is for `wait: true` only'
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

case_files() {
    setup
    t_warrend
    local id out canary
    id=$(last_id "$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")")
    head -c $((100 * 1024 * 1024)) /dev/urandom > "$WD_ROOT/big"
    out=$(t_api PUT "/v1/sandboxes/$id/files/content?path=/srv/big&mode=0640&uid=1000&gid=1001&parents=true" \
        --data-binary @"$WD_ROOT/big" -H 'Content-Type: application/octet-stream')
    assert_eq "$(tail -n 1 <<<"$out")" 200 "the 100 MB upload"
    assert_contains "$out" '"mode_octal":"0640"'
    curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$id/files/content?path=/srv/big" \
        -o "$WD_ROOT/big.back"
    assert_eq "$(sha256sum < "$WD_ROOT/big.back")" "$(sha256sum < "$WD_ROOT/big")" "the 100 MB download"
    out=$(in_sandbox "$id" stat -c '%a %u %g %s' /srv/big)
    assert_eq "$out" "640 1000 1001 104857600" "mode, owner and size inside"
    # Sizes around the largest download answered whole (128 KiB; longer
    # ones stream after what came first), an empty file, a range, and a
    # file that is not there.
    local size
    for size in 0 4096 131072 131073 400000; do
        head -c "$size" /dev/urandom > "$WD_ROOT/sized"
        t_api PUT "/v1/sandboxes/$id/files/content?path=/srv/sized" --data-binary @"$WD_ROOT/sized" > /dev/null
        out=$(curl -s --unix-socket "$WD_SOCK" -w '%{http_code}' -o "$WD_ROOT/sized.back" \
            "http://warrend/v1/sandboxes/$id/files/content?path=/srv/sized")
        assert_eq "$out $(sha256sum < "$WD_ROOT/sized.back")" "200 $(sha256sum < "$WD_ROOT/sized")" "a download of $size bytes"
    done
    out=$(curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$id/files/content?path=/srv/sized&offset=131000&length=100" | sha256sum)
    assert_eq "$out" "$(tail -c +131001 "$WD_ROOT/sized" | head -c 100 | sha256sum)" "bytes 131000 to 131099"
    out=$(t_api GET "/v1/sandboxes/$id/files/content?path=/srv/no-such-file")
    assert_eq "$(tail -n 1 <<<"$out")" 404 "a download of a missing file"
    assert_contains "$out" '"kind":"not_found"'
    # Paths that try to leave: `..` and a symlink pointing out resolve
    # inside the sandbox, and nothing on the host is touched.
    canary=$(mktemp /tmp/warren-canary.XXXXXX)
    echo host > "$canary"
    t_defer rm -f "$canary"
    in_sandbox "$id" ln -s / /tmp/up
    out=$(t_api PUT "/v1/sandboxes/$id/files/content?path=/tmp/up/../..$canary" --data-binary 'sandbox')
    assert_eq "$(tail -n 1 <<<"$out")" 200 "a write through .. and a symlink"
    assert_eq "$(cat "$canary")" host "the host's file"
    assert_eq "$(in_sandbox "$id" cat "$canary")" sandbox "the file the sandbox got"
    out=$(curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$id/files/content?path=/../../etc/passwd")
    assert_contains "$out" "root:x:0:0"
    assert_eq "$out" "$(in_sandbox "$id" cat /etc/passwd)" "a read through /../.."
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

case_warrend_killed_mid_call() {
    setup
    t_warrend
    local id pid out upload
    id=$(last_id "$(create "{\"image\": \"$WARREN_BUSYBOX_IMAGE\"}")")
    # During an exec's wait, and during a slow upload.
    pid=$(t_api_exec "$id" '["sh", "-c", "sleep 3; echo done"]')
    curl -s --unix-socket "$WD_SOCK" -X POST "http://warrend/v1/sandboxes/$id/processes/$pid/wait" > /dev/null &
    head -c $((64 * 1024 * 1024)) /dev/zero > "$WD_ROOT/zeros"
    curl -s --unix-socket "$WD_SOCK" --limit-rate 8M -X PUT --data-binary @"$WD_ROOT/zeros" \
        "http://warrend/v1/sandboxes/$id/files/content?path=/tmp/upload" > /dev/null &
    upload=$!
    sleep 1.5
    kill -KILL "$WD_PID"
    wait "$WD_PID" 2>/dev/null || true
    wait "$upload" 2>/dev/null || true
    t_warrend
    # The process lived on in the sandbox, and its output with it.
    out=$(t_api POST "/v1/sandboxes/$id/processes/$pid/wait" -d '{"timeout_ms": 30000}')
    assert_contains "$out" '"state":"exited","exit_code":0'
    out=$(curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$id/processes/$pid/output?stream=stdout")
    assert_eq "$out" done "the output of the process started before the crash"
    # The cut upload left no file and no temporary file.
    out=$(in_sandbox "$id" ls -a /tmp)
    assert_not_contains "$out" upload
    assert_not_contains "$out" ".warren-"
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

t_case "a plain sandbox: events, loopback only, its memory, filters, a name, delete leaves nothing" case_plain_sandbox
t_case "a Docker-enabled sandbox: the readiness lines, the host's docker CLI on its socket" case_docker_sandbox
t_case "kill -9 of warrend during a create: the half-made one failed and removed, the running one adopted" case_warrend_killed
t_case "kill -9 of a sandbox's runsc processes: failed with the reason, nothing left" case_runsc_killed
t_case "lifetimes: keep_warm_seconds expires, -1 does not, the daemon's maximum bounds both" case_lifetimes
t_case "isolation: no sandbox sees another's files or processes, or any host socket; no raw sockets without Docker" case_isolation
t_case "processes: 1,000,000 lines read by a follower and a later reader, offsets, exit codes and signals, exec with wait" case_processes_and_output
t_case "files: a 100 MB upload and download, mode and owner kept, paths that try to leave stay inside" case_files
t_case "kill -9 of warrend during an exec's wait and an upload: the process and its output live on, no partial file" case_warrend_killed_mid_call
t_case "ended sandboxes: the name given back at once, the record forgotten after --keep-ended" case_ended
t_case "bad input: wrong types, bad values, an unknown image and id, and warrend still serving" case_bad_input
t_done
