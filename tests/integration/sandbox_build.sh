#!/usr/bin/env bash
# Sandboxes from an image with build steps: warrend builds the steps on the
# pulled image (each in a step sandbox; this warrend has no uplink, so without
# any network: sandbox_network.sh has the steps with egress), with a
# `build` event per step, caches them (the same create again runs none),
# and the sandbox runs on the result; a step that fails ends the create
# with its exit status and its last output, and leaves nothing behind; a
# Docker-enabled sandbox from the Debian image with with_docker (which has
# Docker already: only iptables-legacy is selected) gets its dockerd ready.
# A sandbox from a Dockerfile (FROM the Debian image, ARG, RUN, ENV,
# WORKDIR, USER for a RUN, CMD, LABEL) has what it built and runs as it says, and the
# same Dockerfile again is all cache hits; a Dockerfile warrend does not
# take is a 400 naming its line, and no sandbox is recorded.  COPY takes
# files from a build context uploaded as a tar (POST /v1/contexts), kept
# once per archive, never followed out through its symlinks; a hostile
# archive is refused and leaves nothing.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=600

setup() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images "${1:-busybox}"
    t_warrend_root
}

create_events() {
    curl -s --unix-socket "$WD_SOCK" -H 'Accept: application/x-ndjson' \
        -H 'Content-Type: application/json' -d "$1" http://warrend/v1/sandboxes
}

run_out() {
    local pid
    pid=$(t_api_exec "$1" "$2" "${3:-}")
    t_api POST "/v1/sandboxes/$1/processes/$pid/wait" -d '{"timeout_ms": 60000}' > /dev/null
    curl -s --unix-socket "$WD_SOCK" "http://warrend/v1/sandboxes/$1/processes/$pid/output?stream=stdout"
}

case_steps() {
    setup
    t_warrend
    local body out id
    body="{\"image\": {\"ref\": \"$WARREN_BUSYBOX_IMAGE\", \"steps\": [
             {\"run\": \"echo built-by-warrend > /built.txt\"},
             {\"env\": {\"BUILT\": \"yes\"}},
             {\"run\": [\"mkdir -p /srv\", \"cp /built.txt /srv/copy.txt\",
                       \"cat /proc/net/dev > /srv/net.txt\"]}]}}"
    out=$(create_events "$body")
    echo "$out"
    assert_contains "$out" '"event":"build"'
    assert_contains "$out" '"message":"running"'
    assert_match "$out" '"event":"built".*"steps_run":3'
    [ "$(tail -n 1 <<<"$out" | jq -r .sandbox.state)" = running ] || t_fail "not running: $out"
    id=$(tail -n 1 <<<"$out" | jq -r .sandbox.id)
    assert_eq "$(run_out "$id" '["cat", "/built.txt", "/srv/copy.txt"]')" "built-by-warrend
built-by-warrend" "the steps' files in the sandbox"
    assert_eq "$(run_out "$id" '["sh", "-c", "echo $BUILT"]')" "yes" "the env step"
    # A step sandbox has no network: loopback of its own only.
    out=$(run_out "$id" '["cat", "/srv/net.txt"]')
    assert_contains "$out" "lo:"
    assert_eq "$(printf '%s\n' "$out" | tail -n +3 | { grep -vc 'lo:' || true; })" 0 "interfaces of a step other than lo"
    # The same create again: every step from the cache.
    out=$(create_events "$body")
    assert_match "$out" '"event":"built".*"steps_run":0'
    local id2
    id2=$(tail -n 1 <<<"$out" | jq -r .sandbox.id)
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    t_api DELETE "/v1/sandboxes/$id2" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

case_failing_step() {
    setup
    t_warrend
    local out
    out=$(t_api POST /v1/sandboxes -d "{\"image\": {\"ref\": \"$WARREN_BUSYBOX_IMAGE\", \"steps\": [
             {\"run\": \"echo about-to-fail; exit 7\"}]}}")
    echo "$out"
    assert_contains "$out" "step 1: \`echo about-to-fail; exit 7\` exited with status 7"
    assert_contains "$out" "about-to-fail"
    assert_eq "$(t_leftovers)" "" "what the failed creates left"
    out=$(t_api GET '/v1/sandboxes?state=failed')
    assert_eq "$(head -n 1 <<<"$out" | jq '.sandboxes | length')" 1 "failed sandboxes"
}

case_with_docker() {
    setup debian-docker
    t_warrend
    local out id
    out=$(create_events "{\"image\": {\"ref\": \"$WARREN_DEBIAN_IMAGE\", \"steps\": [{\"with_docker\": true}]},
                          \"docker_enabled\": true}")
    echo "$out"
    assert_contains "$out" '"message":"Waiting for Docker daemon to be ready (timeout: 30s)..."'
    assert_match "$out" '"message":"Docker daemon is ready \(took [0-9]+\.[0-9]s\)"'
    id=$(tail -n 1 <<<"$out" | jq -r .sandbox.id)
    assert_contains "$(run_out "$id" '["docker", "info", "--format", "{{.ServerVersion}}"]')" "20.10"
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandbox left"
}

# dockerfile_body TEXT: a create body with the Dockerfile TEXT (JSON-quoted).
dockerfile_body() {
    jq -cn --arg text "$1" '{image: {dockerfile: $text}}'
}

case_dockerfile() {
    setup debian-docker
    t_warrend
    local text out id
    text="ARG BASE=$WARREN_DEBIAN_IMAGE
FROM \${BASE}
# a comment
ARG GREETING=hello
RUN echo \"\$GREETING from a Dockerfile\" > /built.txt && \\
    mkdir -p /srv && id -un > /srv/built-as.txt
ENV APP_HOME=/srv/app APP_MODE=\"\${GREETING} mode\"
WORKDIR \$APP_HOME
RUN pwd > /srv/run-cwd.txt && echo \"\$APP_MODE\" > /srv/run-env.txt
USER nobody
RUN test \"\$(id -un)\" = nobody
LABEL org.example.built-by=warrend
CMD [\"sleep\", \"infinity\"]"
    out=$(create_events "$(dockerfile_body "$text")")
    echo "$out"
    assert_contains "$out" '"message":"Dockerfile: FROM '"$WARREN_DEBIAN_IMAGE"', 8 steps"'
    assert_contains "$out" '"message":"running"'
    assert_match "$out" '"event":"built".*"steps_run":8'
    [ "$(tail -n 1 <<<"$out" | jq -r .sandbox.state)" = running ] || t_fail "not running: $out"
    id=$(tail -n 1 <<<"$out" | jq -r .sandbox.id)
    assert_eq "$(run_out "$id" '["cat", "/built.txt", "/srv/built-as.txt"]')" "hello from a Dockerfile
root" "RUN's file (an ARG in its environment, run as root before USER)"
    assert_eq "$(run_out "$id" '["cat", "/srv/run-cwd.txt", "/srv/run-env.txt"]')" "/srv/app
hello mode" "a RUN after WORKDIR and ENV"
    # (The RUN after USER nobody fails the build unless it runs as nobody.)
    # The last USER is nobody: what a client starts runs as nobody unless
    # it names a user (the agent itself runs as root).
    assert_eq "$(run_out "$id" '["sh", "-c", "echo $APP_HOME/$APP_MODE; pwd; id -un"]')" "/srv/app/hello mode
/srv/app
nobody" "ENV, WORKDIR and USER in the sandbox"
    assert_eq "$(run_out "$id" '["id", "-un"]' '"user": "root"')" "root" "an exec that names root"
    # The same Dockerfile again: every step from the cache.
    out=$(create_events "$(dockerfile_body "$text")")
    assert_match "$out" '"event":"built".*"steps_run":0'
    local id2
    id2=$(tail -n 1 <<<"$out" | jq -r .sandbox.id)
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    t_api DELETE "/v1/sandboxes/$id2" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

case_bad_dockerfile() {
    setup
    t_warrend
    local out
    out=$(t_api POST /v1/sandboxes -d "$(dockerfile_body "FROM $WARREN_BUSYBOX_IMAGE
RUN true

FROM $WARREN_BUSYBOX_IMAGE")")
    echo "$out"
    assert_eq "$(tail -n 1 <<<"$out")" 400 "the status of a create with a second FROM"
    assert_eq "$(head -n 1 <<<"$out" | jq -r .error.kind)" invalid "the error's kind"
    assert_contains "$(head -n 1 <<<"$out" | jq -r .error.message)" \
        "image.dockerfile: line 4: FROM: a second FROM: multi-stage builds are not supported (one FROM, on line 1)"
    out=$(t_api POST /v1/sandboxes -d "$(dockerfile_body "FROM $WARREN_BUSYBOX_IMAGE
COPY app.py /app/")")
    echo "$out"
    assert_eq "$(tail -n 1 <<<"$out")" 400 "the status of a create with COPY and no context"
    assert_contains "$(head -n 1 <<<"$out" | jq -r .error.message)" \
        "image.dockerfile: line 2: COPY: its files come from a build context"
    out=$(t_api GET '/v1/sandboxes')
    assert_eq "$(head -n 1 <<<"$out" | jq '.sandboxes | length')" 0 "sandboxes recorded"
    assert_eq "$(t_leftovers)" "" "what the refused creates left"
}

# A tar of DIR's contents sent as a build context; prints the answer and
# its status.
upload_context() {
    tar -C "$1" -cf - . | curl -s --unix-socket "$WD_SOCK" -X POST --data-binary @- \
        -H 'Content-Type: application/x-tar' -w '\n%{http_code}\n' http://warrend/v1/contexts
}

case_dockerfile_context() {
    setup
    t_warrend
    local tmp ctx out digest id text
    tmp=$(mktemp -d "$T_TMP_ROOT/ctx.XXXXXX")
    t_defer rm -rf "$tmp"
    ctx=$tmp/ctx
    mkdir -p "$ctx/app/lib"
    echo 'echo util' > "$ctx/app/lib/util.sh"
    printf '#!/bin/sh\necho run\n' > "$ctx/run.sh"
    chmod 0750 "$ctx/run.sh"
    ln -s /etc "$ctx/link"
    out=$(upload_context "$ctx")
    echo "$out"
    assert_eq "$(tail -n 1 <<<"$out")" 201 "the status of an upload"
    digest=$(head -n 1 <<<"$out" | jq -r .context)
    assert_match "$digest" '^sha256:[0-9a-f]{64}$' "the context's digest"
    out=$(upload_context "$ctx")
    assert_eq "$(tail -n 1 <<<"$out")" 200 "the status of the same archive again"
    assert_eq "$(head -n 1 <<<"$out" | jq -r .context)" "$digest" "the same archive's digest"
    text="FROM $WARREN_BUSYBOX_IMAGE
WORKDIR /srv
COPY app ./app
COPY run.sh /usr/local/bin/
COPY . /ctx
RUN sh /srv/app/lib/util.sh > /srv/built.txt"
    out=$(create_events "$(jq -cn --arg text "$text" --arg ctx "$digest" '{image: {dockerfile: $text, context: $ctx}}')")
    echo "$out"
    assert_match "$out" '"event":"built".*"steps_run":5'
    id=$(tail -n 1 <<<"$out" | jq -r .sandbox.id)
    [ "$id" != null ] || t_fail "no sandbox: $out"
    assert_eq "$(run_out "$id" '["sh", "-c", "cat /srv/built.txt; run.sh; stat -c %a /usr/local/bin/run.sh; readlink /ctx/link; ls /ctx"]')" "util
run
750
/etc
app
link
run.sh" "the context's files in the sandbox"
    # COPY through the context's symlink stays in the context.
    out=$(t_api POST /v1/sandboxes -d "$(jq -cn --arg text "FROM $WARREN_BUSYBOX_IMAGE
COPY link/passwd /stolen" --arg ctx "$digest" '{image: {dockerfile: $text, context: $ctx}}')")
    echo "$out"
    assert_eq "$(tail -n 1 <<<"$out")" 404 "COPY of link/passwd"
    assert_contains "$(head -n 1 <<<"$out" | jq -r .error.message)" "\`link/passwd\` in the build context"
    # A context never uploaded, and an archive that leaves its directory.
    out=$(t_api POST /v1/sandboxes -d "$(jq -cn --arg text "FROM $WARREN_BUSYBOX_IMAGE
COPY app /app" --arg ctx "sha256:$(printf '%064d' 0)" '{image: {dockerfile: $text, context: $ctx}}')")
    assert_eq "$(tail -n 1 <<<"$out")" 404 "a context never uploaded"
    assert_contains "$(head -n 1 <<<"$out" | jq -r .error.message)" "upload it again (POST /v1/contexts)"
    python3 -c '
import io, sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w|")
data = b"pwned\n"
info = tarfile.TarInfo("../escape.txt"); info.size = len(data)
t.addfile(info, io.BytesIO(data)); t.close()' > "$tmp/hostile.tar"
    out=$(curl -s --unix-socket "$WD_SOCK" -X POST --data-binary @"$tmp/hostile.tar" \
        -w '\n%{http_code}\n' http://warrend/v1/contexts)
    echo "$out"
    assert_eq "$(tail -n 1 <<<"$out")" 400 "an archive with ../escape.txt"
    assert_contains "$(head -n 1 <<<"$out" | jq -r .error.message)" "../escape.txt"
    [ ! -e "$WD_ROOT/escape.txt" ] || t_fail "the hostile archive wrote outside its directory"
    assert_eq "$(find "$WD_ROOT/contexts" -mindepth 1 -maxdepth 1 | wc -l)" 1 "contexts kept (the good one only)"
    t_api DELETE "/v1/sandboxes/$id" > /dev/null
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

t_case "build steps: events, the result in the sandbox, cached the second time" case_steps
t_case "a failing step fails the create with its exit status and its output" case_failing_step
t_case "with_docker on an image that has Docker: dockerd ready" case_with_docker
t_case "a Dockerfile: RUN, ENV, WORKDIR, USER in the sandbox, cached the second time" case_dockerfile
t_case "a Dockerfile warrend does not take: 400 naming the line" case_bad_dockerfile
t_case "a Dockerfile's COPY from an uploaded build context, confined to it" case_dockerfile_context
t_done
