#!/usr/bin/env bash
# The `warren` command line's sandbox commands (docs/cli.md, "Sandboxes")
# against a real warrend, runsc and the local registry: `run` with its
# command's exit status and its two streams kept apart, the sandbox removed
# after it; create with a name, labels and env, ls (and --json), inspect,
# exec (exit statuses, -i with stdin piped), ps, logs, rm; cp both ways of a
# 20 MB file, its bytes and mode kept; `run --docker` with the readiness
# lines, docker-socket and `warren docker`; the messages of an unknown
# sandbox, a bad flag and a warrend that is not running.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=300
WARREN=${WARREN:-$WARREN_BUILD_DIR/src/cmd/warren/warren}

# setup [IMAGES]: the fixture images, a warrend of the case's own, and W,
# the warren command line that finds it (through --root, as docs/cli.md
# says).
setup() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    [ -x "$WARREN" ] || t_fail "warren not built: $WARREN"
    t_images "${1:-busybox}"
    t_warrend_root
    t_warrend
    W=("$WARREN" --root "$WD_ROOT")
}

# json_get JSON PYTHON_EXPR: EXPR over the parsed JSON `d`, printed.
json_get() {
    python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# run_split SECONDS CMD...: runs CMD with its stdout in OUT, its stderr in
# ERR and its status in T_STATUS (never fails); all of it goes to the log.
run_split() {
    local secs=$1; shift
    T_STATUS=0
    timeout -k 5 "$secs" "$@" > "$T_CASE_DIR/stdout" 2> "$T_CASE_DIR/stderr" || T_STATUS=$?
    OUT=$(cat "$T_CASE_DIR/stdout")
    ERR=$(cat "$T_CASE_DIR/stderr")
    printf -- '--- %s (exit %s)\nstdout:\n%s\nstderr:\n%s\n---\n' "$*" "$T_STATUS" "$OUT" "$ERR"
}

case_run() {
    setup
    run_split 120 "${W[@]}" run "$WARREN_BUSYBOX_IMAGE" -- sh -c 'echo out; echo err >&2; exit 3'
    assert_status 3 "$T_STATUS" "warren run's status (the command's)"
    assert_eq "$OUT" out "run's standard output"
    assert_match "$ERR" '^err$' "run's standard error"
    assert_not_contains "$ERR" out "run's standard error"
    # The sandbox is gone: warrend lists it stopped at most, and nothing of
    # it is left on the host.
    t_capture out 30 "${W[@]}" ls --state running --json
    assert_status 0 "$T_STATUS" "warren ls"
    assert_eq "$(json_get "$out" 'len(d)')" 0 "running sandboxes after run"
    t_capture out 30 "${W[@]}" ls --json
    assert_eq "$(json_get "$out" '[(s["state"], s["reason"]) for s in d]')" "[('stopped', 'deleted')]" \
        "every sandbox warrend knows after run"
    assert_eq "$(t_leftovers)" "" "what the run's sandbox left"
    # A signal's end: 128+N, as a shell.
    run_split 120 "${W[@]}" run "$WARREN_BUSYBOX_IMAGE" -- sh -c 'kill -TERM $$'
    assert_status 143 "$T_STATUS" "run of a command ended by SIGTERM"
    # SIGTERM to warren goes to the command (its end ends warren run, and
    # the sandbox is removed).  Not SIGINT: a background job of a script
    # has it ignored.
    "${W[@]}" run "$WARREN_BUSYBOX_IMAGE" -- sh -c 'echo started; exec sleep 100' \
        > "$T_CASE_DIR/sig.out" 2> "$T_CASE_DIR/sig.err" &
    local runner=$! i
    for i in $(seq 300); do
        [ "$(cat "$T_CASE_DIR/sig.out")" = started ] && break
        sleep 0.1
    done
    assert_eq "$(cat "$T_CASE_DIR/sig.out")" started "the output of the command to signal"
    kill -TERM "$runner"
    T_STATUS=0
    t_timeout 30 tail --pid="$runner" -f /dev/null || t_fail "warren run did not end within 30s of SIGTERM"
    wait "$runner" || T_STATUS=$?
    cat "$T_CASE_DIR/sig.err"
    assert_status 143 "$T_STATUS" "warren run after SIGTERM (the command's end by it)"
    t_capture out 30 "${W[@]}" ls --state running --json
    assert_eq "$(json_get "$out" 'len(d)')" 0 "running sandboxes after the signalled run"
    assert_eq "$(t_leftovers)" "" "what the signalled run's sandbox left"
    # --keep leaves it, and says so.
    run_split 120 "${W[@]}" run --keep "$WARREN_BUSYBOX_IMAGE" -- true
    assert_status 0 "$T_STATUS" "run --keep"
    assert_match "$ERR" 'kept sandbox sb-[0-9a-f]{16}' "run --keep's message"
    local id
    id=$(grep -oE 'sb-[0-9a-f]{16}' <<<"$ERR" | head -n 1)
    assert_contains "$("${W[@]}" ls)" "$id" "ls after run --keep"
    t_capture out 60 "${W[@]}" rm "$id"
    assert_eq "$out" "removed $id" "rm of the kept sandbox"
    assert_eq "$(t_leftovers)" "" "what the kept sandbox left after rm"
}

case_lifecycle() {
    setup
    local id out
    t_capture id 120 "${W[@]}" create --name cli-1 --label team=ml --label tier=test \
        -e GREETING=hello --env OTHER=x "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "warren create"
    id=$(tail -n 1 <<<"$id")
    assert_match "$id" '^sb-[0-9a-f]{16}$' "create's output (the id)"

    # ls: the table, and --json with filters.
    t_capture out 30 "${W[@]}" ls
    assert_match "$out" '^ID +NAME +STATE +IMAGE +DOCKER +CREATED' "ls's header"
    assert_match "$out" "^$id +cli-1 +running +[^ ]*busybox[^ ]* +no +[0-9]+s ago" "ls's line"
    t_capture out 30 "${W[@]}" ls --json
    assert_eq "$(json_get "$out" '[s["id"] for s in d] == ["'"$id"'"]')" True "ls --json ids"
    assert_eq "$(json_get "$out" 'd[0]["labels"]["team"]')" ml "ls --json: the label"
    t_capture out 30 "${W[@]}" ls --json --label team=ml --label tier=test
    assert_eq "$(json_get "$out" 'len(d)')" 1 "ls --label team=ml --label tier=test"
    t_capture out 30 "${W[@]}" ls --json --label team=ml --label tier=prod
    assert_eq "$(json_get "$out" 'len(d)')" 0 "ls with a label it does not have (labels ANDed)"
    t_capture out 30 "${W[@]}" ls --json --state stopped
    assert_eq "$(json_get "$out" 'len(d)')" 0 "ls --state stopped"
    t_capture out 30 "${W[@]}" ls --json --name cli-1
    assert_eq "$(json_get "$out" 'd[0]["id"]')" "$id" "ls --name cli-1"

    # inspect, by id and by name.
    t_capture out 30 "${W[@]}" inspect "$id"
    assert_status 0 "$T_STATUS" "inspect"
    assert_eq "$(json_get "$out" 'd["id"]')" "$id" "inspect: id"
    assert_eq "$(json_get "$out" 'd["name"]')" cli-1 "inspect: name"
    assert_eq "$(json_get "$out" 'd["state"]')" running "inspect: state"
    assert_eq "$(json_get "$out" 'd["labels"]')" "{'team': 'ml', 'tier': 'test'}" "inspect: labels"
    assert_eq "$(json_get "$out" 'd["docker_enabled"]')" False "inspect: docker_enabled"
    assert_contains "$(json_get "$out" 'd["image"]')" busybox "inspect: image"
    t_capture out 30 "${W[@]}" inspect cli-1
    assert_eq "$(json_get "$out" 'd["id"]')" "$id" "inspect by name"

    # exec: the environment given at create, exit statuses, a signal.
    run_split 60 "${W[@]}" exec cli-1 -- sh -c 'echo "$GREETING $OTHER"'
    assert_status 0 "$T_STATUS" "exec echo"
    assert_eq "$OUT" "hello x" "the sandbox's environment (create -e/--env)"
    run_split 60 "${W[@]}" exec --env GREETING=bye "$id" -- sh -c 'echo "$GREETING"; echo oops >&2; exit 7'
    assert_status 7 "$T_STATUS" "exec's status"
    assert_eq "$OUT" bye "exec --env overrides"
    assert_eq "$ERR" oops "exec's standard error"
    run_split 60 "${W[@]}" exec "$id" -- sh -c 'kill -KILL $$'
    assert_status 137 "$T_STATUS" "exec of a command killed by SIGKILL"
    run_split 60 "${W[@]}" exec "$id" -- /no/such/program
    assert_status 125 "$T_STATUS" "exec of a program that does not exist"
    assert_contains "$ERR" "/no/such/program\`: No such file or directory" "exec's message"
    # exec -i: our stdin to the command's, closed at its end.
    T_STATUS=0
    OUT=$(seq 1 20000 | timeout -k 5 60 "${W[@]}" exec -i "$id" -- sh -c 'wc -l; exit 4') || T_STATUS=$?
    assert_status 4 "$T_STATUS" "exec -i's status"
    assert_eq "$(tr -d ' ' <<<"$OUT")" 20000 "lines exec -i's command read from our stdin"
    T_STATUS=0
    OUT=$(head -c 300000 /dev/urandom | tee "$T_CASE_DIR/in" |
        timeout -k 5 60 "${W[@]}" exec -i "$id" -- sha256sum) || T_STATUS=$?
    assert_status 0 "$T_STATUS" "exec -i sha256sum"
    assert_eq "${OUT%% *}" "$(sha256sum < "$T_CASE_DIR/in" | cut -d' ' -f1)" "the bytes exec -i forwarded"

    # ps and logs of one process that wrote to both streams.
    run_split 60 "${W[@]}" exec "$id" -- sh -c 'for i in 1 2 3; do echo line-$i; done; echo to-err >&2; exit 5'
    assert_status 5 "$T_STATUS" "exec for the logs"
    t_capture out 30 "${W[@]}" ps "$id"
    assert_match "$out" '^PID +OS PID +STATE +EXIT +STARTED +COMMAND' "ps's header"
    assert_match "$out" ' exited +5 +.* sh -c for i in' "ps: the process that exited 5"
    assert_match "$out" ' signaled +sig 9 ' "ps: the process killed"
    t_capture out 30 "${W[@]}" ps --json "$id"
    local pid
    pid=$(json_get "$out" '[p["pid"] for p in d if p.get("exit_code") == 5][0]')
    assert_match "$pid" '^p[0-9]+$' "the pid of the process that exited 5"
    run_split 30 "${W[@]}" logs "$id" "$pid"
    assert_status 0 "$T_STATUS" "logs"
    assert_eq "$OUT" "$(printf 'line-1\nline-2\nline-3')" "logs: standard output"
    assert_eq "$ERR" to-err "logs: standard error"
    t_capture out 30 "${W[@]}" logs --json "$id" "$pid"
    assert_eq "$(python3 -c 'import base64, json, sys
print("".join(base64.b64decode(json.loads(l)["data"]).decode() for l in sys.stdin
              if json.loads(l).get("stream") == "stdout"), end="")' <<<"$out")" \
        "$(printf 'line-1\nline-2\nline-3\n')" "logs --json, decoded"

    # logs -f follows a running process to its end.
    T_STATUS=0
    OUT=$(timeout -k 5 60 "${W[@]}" exec "$id" -- sh -c 'echo started; sleep 2; echo finished' &
          sleep 0.5
          p=$(timeout 30 "${W[@]}" ps --json "$id" |
              python3 -c 'import json, sys; print([p["pid"] for p in json.load(sys.stdin) if p["state"] == "running" and "finished" in " ".join(p["argv"])][0])')
          timeout -k 5 30 "${W[@]}" logs -f "$id" "$p" > "$T_CASE_DIR/follow"
          wait) || T_STATUS=$?
    assert_eq "$(cat "$T_CASE_DIR/follow")" "$(printf 'started\nfinished')" "logs -f of a running process"

    # rm: by name; then ls and inspect no longer find it running.
    t_capture out 60 "${W[@]}" rm cli-1
    assert_status 0 "$T_STATUS" "rm"
    assert_eq "$out" "removed $id" "rm's output"
    t_capture out 30 "${W[@]}" ls --json --state running
    assert_eq "$(json_get "$out" 'len(d)')" 0 "running sandboxes after rm"
    t_capture out 30 "${W[@]}" ls
    assert_not_contains "$out" "running" "ls after rm"
    assert_eq "$(t_leftovers)" "" "what the removed sandbox left"
}

case_options_and_output() {
    setup
    local out id a b want
    # run's options reach the sandbox: memory, workdir, env; and 2.6 MB of
    # output arrives whole and in order.
    run_split 120 "${W[@]}" run --memory 256M --cpu 1 --workdir /tmp -e A=1 --env B=two \
        "$WARREN_BUSYBOX_IMAGE" -- sh -c 'grep MemTotal /proc/meminfo; pwd; echo "$A $B"'
    assert_status 0 "$T_STATUS" "run with options"
    assert_match "$OUT" 'MemTotal: +262144 kB' "run --memory 256M seen inside"
    assert_contains "$OUT" "$(printf '/tmp\n1 two')" "run --workdir and --env seen inside"
    want=$(seq 1 400000 | sha256sum)
    T_STATUS=0
    out=$(timeout -k 5 120 "${W[@]}" run "$WARREN_BUSYBOX_IMAGE" -- seq 1 400000 | sha256sum) || T_STATUS=$?
    assert_eq "$out" "$want" "the 400,000 lines run printed"
    # A program that is not there: 125, named, and the sandbox removed.
    run_split 120 "${W[@]}" run "$WARREN_BUSYBOX_IMAGE" -- /no/such/program
    assert_status 125 "$T_STATUS" "run of a program that does not exist"
    assert_contains "$ERR" "/no/such/program" "run's message"
    t_capture out 30 "${W[@]}" ls --state running --json
    assert_eq "$(json_get "$out" 'len(d)')" 0 "running sandboxes after the failed run"
    # run --json: JSON lines of the two streams, then the process.
    run_split 120 "${W[@]}" run --json "$WARREN_BUSYBOX_IMAGE" -- sh -c 'echo json-out; echo json-err >&2; exit 2'
    assert_status 2 "$T_STATUS" "run --json's status"
    assert_eq "$(python3 -c 'import base64, json, sys
lines = [json.loads(l) for l in sys.stdin]
out = "".join(base64.b64decode(l["data"]).decode() for l in lines if l.get("stream") == "stdout")
err = "".join(base64.b64decode(l["data"]).decode() for l in lines if l.get("stream") == "stderr")
p = lines[-1]["process"]
print(repr(out), repr(err), p["state"], p["exit_code"])' <<<"$OUT")" "'json-out\\n' 'json-err\\n' exited 2" "run --json's lines"
    # create --json: the whole Sandbox; exec --workdir and --user.
    t_capture out 120 "${W[@]}" create --json --keep-warm -1 "$WARREN_BUSYBOX_IMAGE"
    a=$(json_get "$(sed -n '/^{/,$p' <<<"$out")" 'd["id"]')
    assert_match "$a" '^sb-[0-9a-f]{16}$' "create --json's id"
    assert_eq "$(json_get "$(sed -n '/^{/,$p' <<<"$out")" 'd["keep_warm_seconds"]')" -1 "create --keep-warm -1"
    run_split 60 "${W[@]}" exec --workdir /etc --user 1000:1001 "$a" -- sh -c 'pwd; id -u; id -g'
    assert_eq "$OUT" "$(printf '/etc\n1000\n1001')" "exec --workdir and --user"
    # exec -i with nothing on stdin: the command sees its end at once.
    T_STATUS=0
    out=$(timeout -k 5 60 "${W[@]}" exec -i "$a" -- wc -c < /dev/null) || T_STATUS=$?
    assert_status 0 "$T_STATUS" "exec -i with an empty stdin"
    assert_eq "$(tr -d ' ' <<<"$out")" 0 "bytes read from an empty stdin"
    # rm of two sandboxes and an unknown one: the two removed, status 1.
    t_capture b 120 "${W[@]}" create "$WARREN_BUSYBOX_IMAGE"
    b=$(tail -n 1 <<<"$b")
    t_capture out 60 "${W[@]}" rm "$a" sb-0123456789abcdef "$b"
    assert_status 1 "$T_STATUS" "rm with an unknown id among them"
    assert_contains "$out" "removed $a" "rm's output"
    assert_contains "$out" "removed $b" "rm's output"
    assert_contains "$out" "sandbox \`sb-0123456789abcdef\`: no such sandbox" "rm's message"
    # A removed sandbox: ls shows it stopped with its reason; exec says so.
    t_capture out 30 "${W[@]}" ls --state stopped
    assert_match "$out" "^$a +- +stopped " "ls --state stopped"
    assert_match "$out" '^ +\(deleted\)' "ls: the reason below a stopped sandbox"
    t_capture out 30 "${W[@]}" exec "$a" -- true
    assert_status 125 "$T_STATUS" "exec in a removed sandbox"
    assert_contains "$out" "$a" "exec's message about a removed sandbox"
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

# wait_output FILE TEXT: until FILE holds TEXT (30 s).
wait_output() {
    local i
    for i in $(seq 300); do
        [ "$(cat "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    t_fail "$1 holds '$(cat "$1")', not '$2', after 30s"
}

case_signals() {
    setup
    local id out runner
    t_capture id 120 "${W[@]}" create "$WARREN_BUSYBOX_IMAGE"
    id=$(tail -n 1 <<<"$id")
    # SIGHUP to warren exec: the command ends by it, and so does exec.
    "${W[@]}" exec "$id" -- sh -c 'echo started; exec sleep 100' > "$T_CASE_DIR/hup.out" 2>&1 &
    runner=$!
    wait_output "$T_CASE_DIR/hup.out" started
    kill -HUP "$runner"
    T_STATUS=0
    t_timeout 30 tail --pid="$runner" -f /dev/null || t_fail "warren exec did not end within 30s of SIGHUP"
    wait "$runner" || T_STATUS=$?
    assert_status 129 "$T_STATUS" "warren exec after SIGHUP"
    # A command that ignores them: the third signal makes warren stop
    # waiting, and says so; the command still runs.
    "${W[@]}" exec "$id" -- sh -c 'trap "" TERM; echo started; sleep 100; echo late' \
        > "$T_CASE_DIR/term.out" 2> "$T_CASE_DIR/term.err" &
    runner=$!
    wait_output "$T_CASE_DIR/term.out" started
    kill -TERM "$runner"
    sleep 0.5
    kill -TERM "$runner"
    sleep 0.5
    kill -0 "$runner" 2>/dev/null || t_fail "warren exec ended after two signals the command ignores"
    kill -TERM "$runner"
    T_STATUS=0
    t_timeout 30 tail --pid="$runner" -f /dev/null || t_fail "warren exec did not end within 30s of the third SIGTERM"
    wait "$runner" || T_STATUS=$?
    assert_status 143 "$T_STATUS" "warren exec after the third SIGTERM"
    assert_contains "$(cat "$T_CASE_DIR/term.err")" "stopped waiting (the sandbox may still run the command)" "exec's message"
    t_capture out 30 "${W[@]}" ps "$id"
    assert_match "$out" ' running +- +.*trap "" TERM' "ps: the command that ignored the signals"
    t_capture out 60 "${W[@]}" rm "$id"
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
    # warren run's sandbox is its own: the third signal removes it first.
    "${W[@]}" run "$WARREN_BUSYBOX_IMAGE" -- sh -c 'trap "" TERM; echo started; sleep 100' \
        > "$T_CASE_DIR/run.out" 2> "$T_CASE_DIR/run.err" &
    runner=$!
    wait_output "$T_CASE_DIR/run.out" started
    local i
    for i in 1 2 3; do
        kill -TERM "$runner"
        sleep 0.5
    done
    T_STATUS=0
    t_timeout 60 tail --pid="$runner" -f /dev/null || t_fail "warren run did not end within 60s of the third SIGTERM"
    wait "$runner" || T_STATUS=$?
    cat "$T_CASE_DIR/run.err"
    assert_status 143 "$T_STATUS" "warren run after the third SIGTERM"
    assert_match "$(cat "$T_CASE_DIR/run.err")" "stopped waiting; removing sandbox sb-[0-9a-f]{16}" "run's message"
    t_capture out 30 "${W[@]}" ls --state running --json
    assert_eq "$(json_get "$out" 'len(d)')" 0 "running sandboxes after run was abandoned"
    assert_eq "$(t_leftovers)" "" "what the abandoned run's sandbox left"
}

case_cp() {
    setup
    local id out sum
    t_capture id 120 "${W[@]}" create "$WARREN_BUSYBOX_IMAGE"
    id=$(tail -n 1 <<<"$id")
    head -c $((20 * 1024 * 1024)) /dev/urandom > "$T_CASE_DIR/big"
    chmod 0751 "$T_CASE_DIR/big"
    sum=$(sha256sum < "$T_CASE_DIR/big" | cut -d' ' -f1)
    # In: to a path, to a directory (the name kept), with --parents.
    t_capture out 120 "${W[@]}" cp "$T_CASE_DIR/big" "$id:/tmp/big"
    assert_status 0 "$T_STATUS" "cp in"
    t_capture out 60 "${W[@]}" exec "$id" -- sh -c 'stat -c "%a %s" /tmp/big; sha256sum /tmp/big'
    assert_contains "$out" "751 20971520" "the uploaded file's mode and size inside"
    assert_contains "$out" "$sum" "the uploaded file's checksum inside"
    t_capture out 120 "${W[@]}" cp "$T_CASE_DIR/big" "$id:/tmp/"
    assert_status 0 "$T_STATUS" "cp into a directory"
    t_capture out 120 "${W[@]}" cp --parents "$T_CASE_DIR/big" "$id:/srv/a/b/copy"
    assert_status 0 "$T_STATUS" "cp --parents"
    t_capture out 60 "${W[@]}" exec "$id" -- sh -c 'stat -c "%a %s %n" /tmp/big /srv/a/b/copy'
    assert_contains "$out" "751 20971520 /srv/a/b/copy" "the file cp --parents wrote"
    # Out: to a path and to a directory, the bytes and the mode kept.
    t_capture out 120 "${W[@]}" exec "$id" -- chmod 0640 /srv/a/b/copy
    mkdir "$T_CASE_DIR/out"
    t_capture out 120 "${W[@]}" cp "$id:/tmp/big" "$T_CASE_DIR/out/back"
    assert_status 0 "$T_STATUS" "cp out"
    assert_eq "$(sha256sum < "$T_CASE_DIR/out/back" | cut -d' ' -f1)" "$sum" "the downloaded file's checksum"
    assert_eq "$(stat -c %a "$T_CASE_DIR/out/back")" 751 "the downloaded file's mode"
    t_capture out 120 "${W[@]}" cp "$id:/srv/a/b/copy" "$T_CASE_DIR/out"
    assert_status 0 "$T_STATUS" "cp out into a directory"
    assert_eq "$(stat -c '%a %s' "$T_CASE_DIR/out/copy")" "640 20971520" "the file downloaded into a directory"
    assert_eq "$(ls -A "$T_CASE_DIR/out" | tr '\n' ' ')" "back copy " "the local directory (no temporary file left)"
    # Standard input and output.
    echo from-stdin | timeout -k 5 60 "${W[@]}" cp - "$id:/tmp/piped"
    assert_eq "$(timeout 60 "${W[@]}" cp "$id:/tmp/piped" -)" from-stdin "cp - in, then cp - out"
    # A failed download leaves the target as it was.
    echo old > "$T_CASE_DIR/out/keep"
    t_capture out 60 "${W[@]}" cp "$id:/no/such/file" "$T_CASE_DIR/out/keep"
    assert_status 1 "$T_STATUS" "cp of a file that does not exist"
    assert_contains "$out" "/no/such/file" "cp's error"
    assert_eq "$(cat "$T_CASE_DIR/out/keep")" old "the target of the failed cp"
    t_capture out 60 "${W[@]}" rm "$id"
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

case_cp_edges_and_stdin() {
    setup
    local id out sum
    t_capture id 120 "${W[@]}" create "$WARREN_BUSYBOX_IMAGE"
    id=$(tail -n 1 <<<"$id")
    echo small > "$T_CASE_DIR/small.txt"
    chmod 0600 "$T_CASE_DIR/small.txt"
    # Into a directory named without a trailing /: the name kept.
    t_capture out 60 "${W[@]}" cp "$T_CASE_DIR/small.txt" "$id:/tmp"
    assert_status 0 "$T_STATUS" "cp into /tmp"
    assert_eq "$(timeout 60 "${W[@]}" exec "$id" -- stat -c '%a %s' /tmp/small.txt)" "600 6" "the file cp put in /tmp"
    # An empty file both ways.
    : > "$T_CASE_DIR/empty"
    t_capture out 60 "${W[@]}" cp "$T_CASE_DIR/empty" "$id:/tmp/empty"
    assert_status 0 "$T_STATUS" "cp of an empty file in"
    t_capture out 60 "${W[@]}" cp "$id:/tmp/empty" "$T_CASE_DIR/empty.back"
    assert_status 0 "$T_STATUS" "cp of an empty file out"
    assert_eq "$(stat -c %s "$T_CASE_DIR/empty.back")" 0 "the empty file's size"
    # What cp refuses, with the reason.
    t_capture out 60 "${W[@]}" cp "$T_CASE_DIR/small.txt" "$id:/no/such/dir/f"
    assert_status 1 "$T_STATUS" "cp into a directory that does not exist"
    assert_contains "$out" "/no/such/dir" "cp's message"
    assert_contains "$out" "sandbox $id has no directory /no/such/dir (--parents makes missing directories)" "cp's advice"
    t_capture out 60 "${W[@]}" cp "$T_CASE_DIR/small.txt" "sb-0123456789abcdef:/no/such/dir/f"
    assert_status 1 "$T_STATUS" "cp into an unknown sandbox"
    assert_contains "$out" "no such sandbox" "cp's message about an unknown sandbox"
    assert_not_contains "$out" "--parents" "cp's message about an unknown sandbox"
    t_capture out 60 "${W[@]}" cp "$id:/etc" "$T_CASE_DIR/etc"
    assert_status 1 "$T_STATUS" "cp of a directory out"
    assert_contains "$out" "$id:/etc is a directory: cp copies one file" "cp's message"
    t_capture out 60 "${W[@]}" cp "$T_CASE_DIR" "$id:/tmp/dir"
    assert_status 1 "$T_STATUS" "cp of a local directory in"
    assert_contains "$out" "is a directory: cp copies one file" "cp's message"
    t_capture out 60 "${W[@]}" cp "$id:/etc/passwd" "$T_CASE_DIR/no/such/dir/passwd"
    assert_status 1 "$T_STATUS" "cp out into a local directory that does not exist"
    assert_contains "$out" "$T_CASE_DIR/no/such/dir/passwd" "cp's message"
    # 20 MB through exec -i's stdin, and back through its stdout.
    head -c $((20 * 1024 * 1024)) /dev/urandom > "$T_CASE_DIR/big"
    sum=$(sha256sum < "$T_CASE_DIR/big" | cut -d' ' -f1)
    T_STATUS=0
    out=$(timeout -k 5 120 "${W[@]}" exec -i "$id" -- sh -c 'cat > /tmp/in; sha256sum /tmp/in' < "$T_CASE_DIR/big") || T_STATUS=$?
    assert_status 0 "$T_STATUS" "exec -i of 20 MB"
    assert_eq "${out%% *}" "$sum" "the 20 MB exec -i forwarded"
    timeout -k 5 120 "${W[@]}" exec "$id" -- cat /tmp/in > "$T_CASE_DIR/out"
    assert_eq "$(sha256sum < "$T_CASE_DIR/out" | cut -d' ' -f1)" "$sum" "20 MB through exec's stdout"
    # A command that stops reading before its endless input ends: exec -i
    # ends with it.
    T_STATUS=0
    out=$({ yes || true; } | timeout -k 5 60 "${W[@]}" exec -i "$id" -- head -n 2) || T_STATUS=$?
    assert_status 0 "$T_STATUS" "exec -i head -n 2 of an endless input"
    assert_eq "$out" "$(printf 'y\ny')" "what head read"
    # logs -f of a process that has ended: all of it, at once.
    t_capture out 30 "${W[@]}" ps --json "$id"
    local pid
    pid=$(json_get "$out" '[p["pid"] for p in d if p["argv"] == ["cat", "/tmp/in"]][0]')
    timeout -k 5 30 "${W[@]}" logs -f "$id" "$pid" > "$T_CASE_DIR/logs"
    assert_eq "$(sha256sum < "$T_CASE_DIR/logs" | cut -d' ' -f1)" "$sum" "logs -f of an ended process (20 MB)"
    # warren docker on a sandbox without Docker.
    t_capture out 30 "${W[@]}" docker "$id" ps
    assert_status 1 "$T_STATUS" "warren docker on a sandbox without Docker"
    assert_contains "$out" "has no Docker socket: it was created without --docker" "warren docker's message"
    t_capture out 60 "${W[@]}" rm "$id"
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

# warrend on TCP with a token: --host and --token-file, and the message of
# a wrong token.
case_tcp_token() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    [ -x "$WARREN" ] || t_fail "warren not built: $WARREN"
    t_images busybox
    t_warrend_root
    local port=$((20000 + RANDOM % 20000)) out id
    echo "right-token-$RANDOM$RANDOM" > "$WD_ROOT/token"
    echo wrong-token > "$WD_ROOT/wrong"
    t_warrend --listen "127.0.0.1:$port" --token-file "$WD_ROOT/token"
    local T=("$WARREN" --host "http://127.0.0.1:$port")
    t_capture out 120 "${T[@]}" --token-file "$WD_ROOT/token" run "$WARREN_BUSYBOX_IMAGE" -- echo over-tcp
    assert_status 0 "$T_STATUS" "run over TCP with the token"
    assert_contains "$out" over-tcp "run over TCP"
    t_capture out 30 "${T[@]}" --token-file "$WD_ROOT/wrong" ls
    assert_status 1 "$T_STATUS" "ls with a wrong token"
    assert_contains "$out" "warrend refused the token: give the right one with --token-file" "ls's message with a wrong token"
    t_capture out 30 "${T[@]}" ls
    assert_status 1 "$T_STATUS" "ls with no token"
    assert_contains "$out" "warrend needs a token on this listener: give it with --token-file FILE" "ls's message with no token"
    t_capture out 30 env WARREN_TOKEN="$(cat "$WD_ROOT/token")" "${T[@]}" ls --json
    assert_status 0 "$T_STATUS" "ls with \$WARREN_TOKEN"
    t_capture out 30 "${T[@]}" --token-file "$WD_ROOT/nonexistent" ls
    assert_status 1 "$T_STATUS" "a token file that does not exist"
    assert_contains "$out" "the token file $WD_ROOT/nonexistent" "the message of a missing token file"
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

case_docker() {
    setup debian-docker
    run_split 180 "${W[@]}" run --docker --keep "$WARREN_DEBIAN_IMAGE" -- docker version --format '{{.Server.Version}}'
    assert_status 0 "$T_STATUS" "run --docker"
    assert_contains "$ERR" "Waiting for Docker daemon to be ready (timeout: 30s)..." "run --docker's standard error"
    assert_match "$ERR" '^Docker daemon is ready \(took [0-9]+\.[0-9]s\)$' "run --docker's standard error"
    assert_match "$OUT" '^[0-9]+\.[0-9]+' "docker version inside the sandbox"
    assert_not_contains "$OUT" "Docker daemon" "run --docker's standard output"
    local id sock out
    id=$(grep -oE 'sb-[0-9a-f]{16}' <<<"$ERR" | head -n 1)
    [ -n "$id" ] || t_fail "run --keep named no sandbox"
    t_capture sock 30 "${W[@]}" docker-socket "$id"
    assert_status 0 "$T_STATUS" "docker-socket"
    assert_eq "$sock" "$WD_ROOT/sandboxes/$id/docker.sock" "docker-socket's path"
    [ -S "$sock" ] || t_fail "$sock is not a socket"
    t_capture out 30 "${W[@]}" docker-socket --json "$id"
    assert_eq "$(json_get "$out" 'd["docker_socket"]')" "$sock" "docker-socket --json"
    # The host's docker CLI answers on it, and through `warren docker`.
    t_capture out 60 docker -H "unix://$sock" version --format '{{.Server.Version}}'
    assert_status 0 "$T_STATUS" "docker -H unix://SOCKET version"
    assert_match "$out" '^[0-9]+\.[0-9]+' "the server version on the socket"
    local server=$out
    t_capture out 60 "${W[@]}" docker "$id" version --format '{{.Server.Version}}'
    assert_status 0 "$T_STATUS" "warren docker ID version"
    assert_eq "$out" "$server" "warren docker's server version"
    t_capture out 60 "${W[@]}" docker "$id" info --format '{{.Name}}'
    assert_status 0 "$T_STATUS" "warren docker ID info"
    # docker's own status comes back.
    t_capture out 60 "${W[@]}" docker "$id" inspect no-such-container
    assert_status 1 "$T_STATUS" "warren docker's status (docker's own)"
    t_capture out 60 "${W[@]}" rm "$id"
    assert_status 0 "$T_STATUS" "rm"
    [ ! -e "$sock" ] || t_fail "the Docker socket is still there after rm"
    assert_eq "$(t_leftovers)" "" "what the Docker sandbox left"
}

case_errors() {
    setup
    local out id=sb-0123456789abcdef
    # An unknown sandbox: named, exit 1 (125 for exec, as for run).
    for cmd in inspect rm ps docker-socket; do
        t_capture out 30 "${W[@]}" "$cmd" "$id"
        assert_status 1 "$T_STATUS" "warren $cmd of an unknown sandbox"
        assert_contains "$out" "$id" "warren $cmd's message"
        assert_contains "$out" "no such sandbox" "warren $cmd's message"
    done
    t_capture out 30 "${W[@]}" exec "$id" -- true
    assert_status 125 "$T_STATUS" "exec in an unknown sandbox"
    assert_contains "$out" "$id" "exec's message"
    assert_contains "$out" "no such sandbox" "exec's message"
    t_capture out 30 "${W[@]}" logs "$id" p1
    assert_status 1 "$T_STATUS" "logs of an unknown sandbox"
    assert_contains "$out" "no such sandbox" "logs' message"
    t_capture out 30 "${W[@]}" cp "$id:/etc/passwd" "$T_CASE_DIR/x"
    assert_status 1 "$T_STATUS" "cp from an unknown sandbox"
    assert_contains "$out" "no such sandbox" "cp's message"
    # An unknown process of a sandbox that exists.
    t_capture id 120 "${W[@]}" create "$WARREN_BUSYBOX_IMAGE"
    id=$(tail -n 1 <<<"$id")
    t_capture out 30 "${W[@]}" logs "$id" p999
    assert_status 1 "$T_STATUS" "logs of an unknown process"
    assert_contains "$out" "p999" "logs' message"
    # A sandbox without Docker has no socket.
    t_capture out 30 "${W[@]}" docker-socket "$id"
    assert_status 1 "$T_STATUS" "docker-socket of a sandbox without Docker"
    assert_contains "$out" "has no Docker socket: it was created without --docker" "docker-socket's message"
    # Bad flags and arguments: status 2, the flag named; 125 for run and
    # exec, whose 2 could be the command's own.
    t_capture out 30 "${W[@]}" ls --bogus
    assert_status 2 "$T_STATUS" "ls --bogus"
    assert_contains "$out" "warren: ls: unknown option \`--bogus\`" "ls --bogus's message"
    assert_contains "$out" "(see warren --help)" "ls --bogus's message"
    t_capture out 30 "${W[@]}" exec -z "$id" -- true
    assert_status 125 "$T_STATUS" "exec -z"
    assert_contains "$out" "warren: exec: unknown option \`-z\`" "exec -z's message"
    t_capture out 30 "${W[@]}" run --memory
    assert_status 125 "$T_STATUS" "run --memory without its value"
    assert_contains "$out" "warren: run: option \`--memory\` needs a value" "run --memory's message"
    t_capture out 30 "${W[@]}" cp --parents=yes a "$id:/b"
    assert_status 2 "$T_STATUS" "cp --parents=yes"
    assert_contains "$out" "warren: cp: option \`--parents\` takes no value" "cp --parents=yes's message"
    t_capture out 30 "${W[@]}" run --memory lots "$WARREN_BUSYBOX_IMAGE" -- true
    assert_status 125 "$T_STATUS" "run --memory lots"
    assert_contains "$out" "--memory \`lots\`: expected bytes" "run --memory lots's message"
    t_capture out 30 "${W[@]}" create --label novalue "$WARREN_BUSYBOX_IMAGE"
    assert_status 2 "$T_STATUS" "create --label novalue"
    assert_contains "$out" "--label \`novalue\`: expected KEY=VALUE" "create --label's message"
    t_capture out 30 "${W[@]}" run "$WARREN_BUSYBOX_IMAGE"
    assert_status 125 "$T_STATUS" "run without a command"
    assert_contains "$out" "run needs a command" "run's message"
    t_capture out 30 "${W[@]}" exec "$id"
    assert_status 125 "$T_STATUS" "exec without a command"
    assert_contains "$out" "exec needs a command" "exec's message"
    t_capture out 30 "${W[@]}" run --help
    assert_status 0 "$T_STATUS" "run --help"
    assert_contains "$out" "run [OPTIONS] IMAGE -- CMD..." "run --help"
    t_capture out 30 "${W[@]}" ls --label a=b,c
    assert_status 1 "$T_STATUS" "ls --label with a comma"
    assert_contains "$out" "label filter \`a=b,c\`" "ls --label's message"
    t_capture out 30 "${W[@]}" cp a b
    assert_status 2 "$T_STATUS" "cp with no sandbox side"
    assert_contains "$out" "neither side is ID:PATH" "cp's message"
    # An image the registry does not have: run exits 125, naming it.
    t_capture out 60 "${W[@]}" run "$WARREN_REGISTRY/no/such:image" -- true
    assert_status 125 "$T_STATUS" "run of an unknown image"
    assert_contains "$out" "no/such" "run's message"
    t_capture out 60 "${W[@]}" rm "$id"
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
    # warrend not running: the socket named, and how to start it.
    local gone=$WD_ROOT/gone long=$T_CASE_DIR/a-directory-whose-path-is-too-long-for-a-socket
    t_capture out 30 "$WARREN" --root "$long" ls
    assert_status 1 "$T_STATUS" "ls with a socket path too long"
    assert_contains "$out" "longer than a socket path may be" "ls's message"
    t_capture out 30 "$WARREN" --root "$gone" ls
    assert_status 1 "$T_STATUS" "ls with no warrend"
    assert_contains "$out" "cannot reach warrend at $gone/run/warrend.sock" "ls's message"
    assert_contains "$out" "warrend --root DIR" "ls's message"
    t_capture out 30 "$WARREN" --root "$gone" run "$WARREN_BUSYBOX_IMAGE" -- true
    assert_status 125 "$T_STATUS" "run with no warrend"
    assert_contains "$out" "cannot reach warrend at $gone/run/warrend.sock" "run's message"
    t_capture out 30 "$WARREN" --host "$gone/other.sock" exec "$id" -- true
    assert_status 125 "$T_STATUS" "exec with no warrend"
    assert_contains "$out" "cannot reach warrend at $gone/other.sock" "exec's message"
}

t_case "run: the command's status, stdout and stderr apart, the sandbox removed (--keep keeps it)" case_run
t_case "create with a name, labels and env; ls, inspect, exec (-i), ps, logs (-f), rm" case_lifecycle
t_case "options and output: run's --memory/--workdir/--env inside, 400,000 lines, --json; exec --user, rm of several" case_options_and_output
t_case "signals: SIGHUP to exec ends the command; the third of ignored ones stops warren waiting (run removes its sandbox)" case_signals
t_case "cp of a 20 MB file in and out: checksums equal, mode 0751 kept, stdin and stdout" case_cp
t_case "cp's edges (a directory, an empty file, what it refuses) and 20 MB through exec -i" case_cp_edges_and_stdin
t_case "over TCP: --host and --token-file, \$WARREN_TOKEN, and a wrong or missing token's message" case_tcp_token
t_case "run --docker: the readiness lines, docker-socket and warren docker answer" case_docker
t_case "errors: an unknown sandbox, bad flags, warrend not running" case_errors
t_done
