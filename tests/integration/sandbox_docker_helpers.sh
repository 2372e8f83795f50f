#!/usr/bin/env bash
# warrend's Docker routes (/v1/sandboxes/{id}/docker/...) against a real
# Docker-enabled sandbox: each call talks to the sandbox dockerd's Engine
# API and answers ndjson events ending with {"event":"end","exit_code":N}.
# The sandbox pulls busybox by its short name through warrend's docker.io
# mirror (the local registry).  Checked: pull with its progress events and
# the CLI's text, run (output, exit status, a non-zero one, detach,
# remove, entrypoint, workdir, user, network and ports as dockerd's host
# config, a network that does not exist), ps, images, logs, exec, build of a context uploaded through the
# files API, directory and tar (and one failing at a step), stop, rm, rmi,
# tag, volumes, login and push against a registry with basic auth run in
# the sandbox; failures: an image that does not exist, a sandbox without
# Docker, wrong credentials, bad bodies, compose without its plugin.
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

case_docker_helpers() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images debian-docker
    t_images busybox
    t_warrend_root
    t_warrend
    SB=$(create true)

    # pull: progress events with layer ids and sizes, the CLI's lines.
    dock POST pull '{"image": "busybox"}'
    assert_eq "$(status)" 200 "pull's status"
    assert_eq "$(exit_code)" 0 "pull's exit code"
    has '.event == "progress" and .status == "Downloading" and .id != null and .current > 0 and .total > 0' || t_fail "no Downloading progress with id, current and total"
    assert_contains "$(output stdout)" "latest: Pulling from library/busybox"
    assert_match "$(output stdout)" '^[0-9a-f]{12}: Pull complete$'
    assert_match "$(output stdout)" '^Digest: sha256:[0-9a-f]{64}$'
    assert_contains "$(output stdout)" "Status: Downloaded newer image for busybox:latest"
    assert_contains "$(output stdout)" "docker.io/library/busybox:latest"
    assert_not_contains "$(output stdout)" "Downloading" "the CLI's text (no progress bars)"

    # An image that does not exist: dockerd's error, exit 1.  Named on the
    # sandbox's mirror (127.0.0.1:5999) so dockerd has nowhere else to try.
    dock POST pull '{"image": "127.0.0.1:5999/library/no-such-image:v9"}'
    assert_eq "$(status)" 200 "a failed pull's status"
    assert_eq "$(exit_code)" 1 "a failed pull's exit code"
    assert_contains "$(end_error)" "no-such-image" "the failed pull's error"
    assert_contains "$(output stderr)" "Error response from daemon: "

    # run: output and exit status, stderr apart; a non-zero exit.
    dock POST run '{"image": "busybox", "command": ["sh", "-c", "echo out-1; echo err-1 >&2; echo out-2"], "remove": true}'
    assert_eq "$(exit_code)" 0 "run's exit code"
    assert_eq "$(output stdout)" $'out-1\nout-2' "run's stdout"
    assert_eq "$(output stderr)" "err-1" "run's stderr"
    dock POST run '{"image": "busybox", "command": ["sh", "-c", "echo failing; exit 3"], "name": "three"}'
    assert_eq "$(exit_code)" 3 "run's exit code of exit 3"
    assert_eq "$(output stdout)" "failing"
    assert_eq "$(tail -n 1 "$WD_ROOT/last.ndjson" | jq -r .container.name)" three "the end's container"
    # run of an image that does not exist: 125 as the CLI, and the pull tried.
    dock POST run '{"image": "127.0.0.1:5999/library/no-such-image:v9", "command": ["true"]}'
    assert_eq "$(exit_code)" 125 "run's exit code for a missing image"
    assert_contains "$(output stderr)" "Unable to find image '127.0.0.1:5999/library/no-such-image:v9' locally"
    # env, volumes, detach.
    dock POST volume/create '{"name": "vol-a"}'
    assert_eq "$(exit_code)" 0 "volume create"
    assert_eq "$(output stdout)" "vol-a"
    dock POST run '{"image": "busybox", "command": ["sh", "-c", "echo $GREETING > /data/f; cat /data/f"], "env": {"GREETING": "hello-env"}, "volumes": ["vol-a:/data"], "remove": true}'
    assert_eq "$(exit_code)" 0 "run with env and a volume"
    assert_eq "$(output stdout)" "hello-env"
    dock POST run '{"image": "busybox", "command": ["sh", "-c", "echo started; cat /data/f; sleep 600"], "name": "bg", "detach": true, "volumes": ["vol-a:/data"]}'
    assert_eq "$(exit_code)" 0 "detached run"
    assert_match "$(output stdout)" '^[0-9a-f]{64}$'

    # entrypoint, workdir, user; network and ports reach dockerd as the
    # container's host config (docker inspect in the sandbox); a network
    # that does not exist is dockerd's error, 125.
    dock POST run '{"image": "busybox", "entrypoint": ["sh", "-c"], "command": ["pwd; id -u"], "workdir": "/tmp", "user": "1234", "remove": true}'
    assert_eq "$(exit_code)" 0 "run with entrypoint, workdir and user"
    assert_eq "$(output stdout)" $'/tmp\n1234' "pwd and uid in the container"
    dock POST run '{"image": "busybox", "command": ["sleep", "600"], "name": "netnone", "detach": true, "network": "none", "ports": ["127.0.0.1:18080:80", "9090/udp"]}'
    assert_eq "$(exit_code)" 0 "detached run with network and ports"
    local inspect
    inspect=$(timeout -k 5 120 "$AGENT_CALL" "$WD_ROOT/sandboxes/$SB/agent/agent.sock" \
        docker inspect -f '{{.HostConfig.NetworkMode}} {{json .HostConfig.PortBindings}}' netnone)
    assert_contains "$inspect" 'none {' "netnone's network mode"
    assert_contains "$inspect" '"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18080"}]' "netnone's tcp binding"
    assert_contains "$inspect" '"9090/udp":[{"HostIp":"","HostPort":""}]' "netnone's udp port"
    dock POST rm '{"container": "netnone", "force": true}'
    assert_eq "$(exit_code)" 0 "rm --force of netnone"
    dock POST run '{"image": "busybox", "command": ["true"], "network": "no-such-network", "remove": true}'
    assert_eq "$(exit_code)" 125 "run on a network that does not exist"
    assert_contains "$(end_error)" "no-such-network"
    assert_eq "$(output stderr)" "Error response from daemon: $(end_error)" "the CLI's words on stderr"
    dock GET 'ps?all=true'
    if has 'select(.event == "result") | .containers[] | select(.image == "busybox" and .command == "true")'; then
        t_fail "the container that did not start is left (remove)"
    fi

    # ps and images list them.
    dock GET ps
    assert_eq "$(exit_code)" 0 "ps"
    has 'select(.event == "result") | .containers[] | select(.names == ["bg"] and .state == "running")' || t_fail "ps does not list bg running"
    assert_contains "$(output stdout)" "CONTAINER ID"
    dock GET 'ps?all=true'
    has 'select(.event == "result") | .containers[] | select(.names == ["three"])' || t_fail "ps?all=true does not list the exited container"
    dock GET images
    assert_eq "$(exit_code)" 0 "images"
    has 'select(.event == "result") | .images[] | select(.tags | index("busybox:latest"))' || t_fail "images does not list busybox:latest"
    assert_match "$(output stdout)" '^busybox +latest'

    # logs and exec.
    dock POST logs '{"container": "bg"}'
    assert_eq "$(exit_code)" 0 "logs"
    assert_eq "$(output stdout)" $'started\nhello-env' "bg's logs"
    # logs with follow: until the container ends; tail: the last lines.
    dock POST run '{"image": "busybox", "command": ["sh", "-c", "echo first; sleep 2; echo second; echo third"], "name": "slow", "detach": true}'
    assert_eq "$(exit_code)" 0 "detached run of slow"
    dock POST logs '{"container": "slow", "follow": true}'
    assert_eq "$(exit_code)" 0 "logs with follow"
    assert_eq "$(output stdout)" $'first\nsecond\nthird' "slow's followed logs"
    dock POST logs '{"container": "slow", "tail": 1}'
    assert_eq "$(output stdout)" "third" "slow's last line"
    dock POST rm '{"container": "slow"}'
    assert_eq "$(exit_code)" 0 "rm of slow"
    dock POST logs '{"container": "slow"}'
    assert_eq "$(exit_code)" 1 "logs of a removed container"
    assert_eq "$(tail -n 1 "$WD_ROOT/last.ndjson" | jq -r .error.kind)" not_found "its error's kind"

    # exec: the same answer as `docker exec` in the sandbox gives.  (runc's
    # exec inside gVisor fails to setns here, measured: exit 126 and "OCI
    # runtime exec failed", the CLI's answer too; where it works, the
    # command's own output and exit status.)
    local cli cli_code
    cli=$(timeout -k 5 120 "$AGENT_CALL" "$WD_ROOT/sandboxes/$SB/agent/agent.sock" \
        docker exec bg sh -c 'echo in-exec; exit 4' 2>/dev/null) && cli_code=0 || cli_code=$?
    dock POST exec '{"container": "bg", "command": ["sh", "-c", "echo in-exec; exit 4"]}'
    if [ "$cli_code" = 4 ]; then
        assert_eq "$(exit_code)" 4 "exec's exit code"
        assert_eq "$(output stdout)" "in-exec"
    else
        assert_eq "$(exit_code)" 126 "exec's exit code where runc cannot exec"
        assert_contains "$(output stdout)" "OCI runtime exec failed"
    fi
    dock POST exec '{"container": "no-such-container", "command": ["true"]}'
    assert_eq "$(exit_code)" 1 "exec in a missing container"
    assert_contains "$(end_error)" "no-such-container"

    # A client that hangs up ends the call: warrend's connection to the
    # sandbox's dockerd (through its docker.sock) closes.
    local sock=$WD_ROOT/sandboxes/$SB/docker.sock n
    curl -s -N --unix-socket "$WD_SOCK" -H 'Content-Type: application/json' \
        -d '{"container": "bg", "follow": true}' "http://warrend/v1/sandboxes/$SB/docker/logs" \
        > "$WD_ROOT/follow.ndjson" &
    local follower=$!
    for i in $(seq 50); do
        [ "$(ss -xa | grep -c "$sock")" -gt 1 ] && break
        sleep 0.1
    done
    [ "$(ss -xa | grep -c "$sock")" -gt 1 ] || t_fail "no connection on the docker socket while following"
    sleep 1
    kill "$follower"; wait "$follower" || true
    assert_contains "$(cat "$WD_ROOT/follow.ndjson")" '"stream":"stdout"' "the follow's first events"
    for i in $(seq 50); do
        n=$(ss -xa | grep -c "$sock")
        [ "$n" = 1 ] && break
        sleep 0.1
    done
    assert_eq "$n" 1 "sockets on the docker socket 5 s after the client hung up (its listener only)"

    # stop, rm.
    dock POST stop '{"container": "bg", "timeout": 1}'
    assert_eq "$(exit_code)" 0 "stop"
    assert_eq "$(output stdout)" "bg"
    dock POST rm '{"container": "bg"}'
    assert_eq "$(exit_code)" 0 "rm"
    dock POST rm '{"container": "three"}'
    assert_eq "$(exit_code)" 0 "rm of three"
    dock GET 'ps?all=true'
    assert_eq "$(jq -c 'select(.event == "result") | .containers | length' "$WD_ROOT/last.ndjson")" 0 "containers left"

    # build of a context uploaded through the files API.
    upload /ctx/Dockerfile $'FROM busybox\nARG WHO=nobody\nCOPY greeting.txt /greeting.txt\nRUN echo "built for $WHO" > /who\nCMD ["cat", "/greeting.txt", "/who"]\n'
    upload /ctx/greeting.txt $'hello-from-build\n'
    dock POST build '{"context": "/ctx", "tag": "built:v1", "build_args": {"WHO": "tests"}}'
    assert_eq "$(exit_code)" 0 "build"
    assert_eq "$(jq -c 'select(.event == "step") | [.step, .steps]' "$WD_ROOT/last.ndjson" | tr -d '\n')" \
        '[1,5][2,5][3,5][4,5][5,5]' "the build's steps"
    assert_contains "$(output stdout)" "Step 1/5 : FROM busybox"
    assert_contains "$(output stdout)" "Successfully tagged built:v1"
    assert_match "$(tail -n 1 "$WD_ROOT/last.ndjson" | jq -r .image_id)" '^sha256:[0-9a-f]{64}$'
    dock POST run '{"image": "built:v1", "remove": true}'
    assert_eq "$(output stdout)" $'hello-from-build\nbuilt for tests' "the built image's output"
    # The same context as one tar file uploaded.
    mkdir -p "$WD_ROOT/tarctx"
    printf 'FROM busybox\nCOPY greeting.txt /\nCMD ["cat", "/greeting.txt"]\n' > "$WD_ROOT/tarctx/Dockerfile"
    echo hello-from-tar > "$WD_ROOT/tarctx/greeting.txt"
    tar -C "$WD_ROOT/tarctx" -cf "$WD_ROOT/ctx.tar" .
    out=$(t_api PUT "/v1/sandboxes/$SB/files/content?path=/ctx.tar" --data-binary "@$WD_ROOT/ctx.tar")
    assert_eq "$(tail -n 1 <<<"$out")" 200 "upload of ctx.tar"
    dock POST build '{"context_tar": "/ctx.tar", "tag": "from-tar:v1"}'
    assert_eq "$(exit_code)" 0 "build of a tar context"
    dock POST run '{"image": "from-tar:v1", "remove": true}'
    assert_eq "$(output stdout)" "hello-from-tar" "the image built from a tar"
    dock POST build '{"context": "/ctx", "context_tar": "/ctx.tar"}'
    assert_eq "$(status)" 400 "both contexts"
    # A build failing at a step: its error names the step.
    upload /bad/Dockerfile $'FROM busybox\nRUN echo fine\nRUN echo breaking; exit 7\n'
    dock POST build '{"context": "/bad", "no_cache": true}'
    assert_eq "$(exit_code)" 1 "a failing build's exit code"
    assert_contains "$(end_error)" "step 3/3 (RUN echo breaking; exit 7)"
    assert_contains "$(end_error)" "returned a non-zero code: 7"
    assert_contains "$(output stdout)" "breaking"
    # A context that is not there.
    dock POST build '{"context": "/no/such/dir"}'
    assert_eq "$(exit_code)" 1 "a build of a missing context"
    assert_contains "$(end_error)" "/no/such/dir"

    # tag, rmi.
    dock POST tag '{"source": "built:v1", "target": "other/name:v2"}'
    assert_eq "$(exit_code)" 0 "tag"
    dock GET images
    has 'select(.event == "result") | .images[] | select(.tags | index("other/name:v2"))' || t_fail "images does not list the new tag"
    dock POST rmi '{"image": "other/name:v2"}'
    assert_eq "$(exit_code)" 0 "rmi"
    assert_contains "$(output stdout)" "Untagged: other/name:v2"
    dock POST rmi '{"image": "no-such-image:v9"}'
    assert_eq "$(exit_code)" 1 "rmi of a missing image"
    assert_eq "$(tail -n 1 "$WD_ROOT/last.ndjson" | jq -r .error.kind)" not_found "rmi's error kind"

    # volumes.
    dock GET volume/ls
    has 'select(.event == "result") | .volumes[] | select(.name == "vol-a")' || t_fail "volume ls does not list vol-a"
    dock POST volume/rm '{"name": "vol-a"}'
    assert_eq "$(exit_code)" 0 "volume rm"
    dock GET volume/ls
    assert_eq "$(jq -c 'select(.event == "result") | .volumes | length' "$WD_ROOT/last.ndjson")" 0 "volumes left"

    # login, against the sandbox's own mirror (127.0.0.1:5999, which asks
    # for no credentials), and a push it refuses.
    dock POST login '{"username": "u", "password": "p", "registry": "127.0.0.1:5999"}'
    assert_eq "$(exit_code)" 0 "login"
    assert_contains "$(output stdout)" "Login Succeeded"
    dock POST tag '{"source": "built:v1", "target": "127.0.0.1:5999/pushed/built:v1"}'
    dock POST push '{"image": "127.0.0.1:5999/pushed/built:v1", "auth": {"username": "u", "password": "p"}}'
    assert_eq "$(exit_code)" 1 "a push the mirror refuses"
    [ -n "$(end_error)" ] || t_fail "the refused push has no error"
    has 'select(.event == "progress" and .status == "The push refers to repository [127.0.0.1:5999/pushed/built]")' || t_fail "no progress event of the push"

    # Compose: this image has no plugin, a clear 400 before any stream.
    dock POST compose/up '{}'
    assert_eq "$(status)" 400 "compose without its plugin"
    assert_contains "$(events)" "has no Docker Compose"
    assert_contains "$(events)" "$SB"

    # Bad bodies are 400s before the stream.
    dock POST run '{"image": "busybox", "ports": ["80:99999"]}'
    assert_eq "$(status)" 400 "a bad port"
    assert_contains "$(events)" "ports[0]"
    dock POST pull '{"image": "busybox", "tag": "x"}'
    assert_eq "$(status)" 400 "an unknown field"
    assert_contains "$(events)" 'unknown field'

    out=$(t_api DELETE "/v1/sandboxes/$SB")
    assert_contains "$out" '"reason":"deleted"'
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

# A registry with basic auth inside the sandbox (the host's docker-registry
# binary uploaded and started as a process there, on the sandbox's own
# loopback): login with wrong and right credentials, push without and with
# them, and a pull back with them.
case_push_and_login() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    command -v docker-registry >/dev/null || t_fail "docker-registry is not installed"
    command -v htpasswd >/dev/null || t_fail "htpasswd is not installed (apache2-utils)"
    t_images debian-docker
    t_images busybox
    t_warrend_root
    t_warrend
    SB=$(create true)
    local reg=127.0.0.1:5055 out i
    out=$(t_api PUT "/v1/sandboxes/$SB/files/content?path=/opt/registry/docker-registry&mode=0755&parents=true" \
        --data-binary @"$(command -v docker-registry)")
    assert_eq "$(tail -n 1 <<<"$out")" 200 "upload of docker-registry"
    upload /opt/registry/htpasswd "$(htpasswd -Bbn pusher push-secret)"
    upload /opt/registry/config.yml "version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /tmp/registry
http:
  addr: $reg
auth:
  htpasswd:
    realm: sandbox
    path: /opt/registry/htpasswd
"
    out=$(t_api POST "/v1/sandboxes/$SB/processes" -H 'Content-Type: application/json' \
        -d '{"argv": ["/opt/registry/docker-registry", "serve", "/opt/registry/config.yml"]}')
    assert_eq "$(tail -n 1 <<<"$out")" 201 "start of the registry"

    dock POST pull '{"image": "busybox"}'
    assert_eq "$(exit_code)" 0 "pull"
    dock POST tag "{\"source\": \"busybox\", \"target\": \"$reg/mine/busybox:v1\"}"
    assert_eq "$(exit_code)" 0 "tag"

    # The right credentials, once the registry answers.
    for i in $(seq 50); do
        dock POST login "{\"username\": \"pusher\", \"password\": \"push-secret\", \"registry\": \"$reg\"}"
        [ "$(exit_code)" = 0 ] && break
        sleep 0.2
    done
    assert_eq "$(exit_code)" 0 "login with the right password"
    assert_contains "$(output stdout)" "Login Succeeded"
    dock POST login "{\"username\": \"pusher\", \"password\": \"wrong\", \"registry\": \"$reg\"}"
    assert_eq "$(exit_code)" 1 "login with a wrong password"
    assert_contains "$(end_error)" "401 Unauthorized"
    assert_contains "$(output stderr)" "Error response from daemon: "

    # push: refused without credentials, done with them.
    dock POST push "{\"image\": \"$reg/mine/busybox:v1\"}"
    assert_eq "$(exit_code)" 1 "push without credentials"
    assert_contains "$(end_error)" "no basic auth credentials"
    dock POST push "{\"image\": \"$reg/mine/busybox:v1\", \"auth\": {\"username\": \"pusher\", \"password\": \"push-secret\", \"serveraddress\": \"$reg\"}}"
    assert_eq "$(exit_code)" 0 "push with credentials"
    assert_contains "$(output stdout)" "The push refers to repository [$reg/mine/busybox]"
    assert_match "$(output stdout)" '^[0-9a-f]{12}: Pushed$'
    assert_match "$(output stdout)" '^v1: digest: sha256:[0-9a-f]{64} size: [0-9]+$'
    has '.event == "progress" and .aux.Tag == "v1" and (.aux.Digest | startswith("sha256:"))' ||
        t_fail "no progress event with the pushed digest"

    # And back: removed, then pulled with the credentials.
    dock POST rmi "{\"image\": \"$reg/mine/busybox:v1\"}"
    assert_eq "$(exit_code)" 0 "rmi of the pushed tag"
    dock POST pull "{\"image\": \"$reg/mine/busybox:v1\", \"auth\": {\"username\": \"pusher\", \"password\": \"push-secret\"}}"
    assert_eq "$(exit_code)" 0 "pull with credentials"
    assert_contains "$(output stdout)" "$reg/mine/busybox:v1"

    out=$(t_api DELETE "/v1/sandboxes/$SB")
    assert_contains "$out" '"reason":"deleted"'
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

case_sandbox_without_docker() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images debian-docker
    t_warrend_root
    t_warrend
    SB=$(create false)
    dock POST pull '{"image": "busybox"}'
    assert_eq "$(status)" 400 "pull in a sandbox without Docker"
    assert_eq "$(jq -r .error.kind "$WD_ROOT/last.ndjson")" invalid
    assert_contains "$(jq -r .error.message "$WD_ROOT/last.ndjson")" "sandbox \`$SB\` has no Docker"
    dock GET ps
    assert_eq "$(status)" 400 "ps in a sandbox without Docker"
    SB=sb-0000000000000000
    dock POST pull '{"image": "busybox"}'
    assert_eq "$(status)" 404 "pull in a sandbox that does not exist"
}

t_case "Docker routes on a sandbox's dockerd: pull, run, ps, images, logs, exec, build, stop, rm, rmi, tag, volumes, login, push" case_docker_helpers
t_case "docker login and push against a registry with basic auth inside the sandbox" case_push_and_login
t_case "Docker routes on a sandbox without Docker or without a sandbox: 400 and 404" case_sandbox_without_docker
t_done
