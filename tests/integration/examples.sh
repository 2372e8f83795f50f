#!/usr/bin/env bash
# The programs in examples/, each run as a user runs it (the SDK installed
# offline into a venv by scripts/sdk-venv, WARREN_HOST naming a warrend)
# against a warrend of the case's own whose docker.io mirror is the local
# registry, filled by tests/fixtures/images with the demo's images
# (library/ubuntu:22.04, a stand-in built from Debian; library/nginx:latest,
# Debian's nginx; library/busybox:latest).  Each case checks the program's
# output and that it left no sandbox running.
. "$(dirname "$0")/../lib.sh"

# The first case may build the demo images with debootstrap (a few minutes).
T_CASE_TIMEOUT=1200
EX_DIR=$T_TMP_ROOT/examples.$$
EXAMPLES=$T_SOURCE_DIR/examples

# ex_setup: the venv (once per run of this file), the images, a warrend.
ex_setup() {
    if [ ! -x "$EX_DIR/venv/bin/python" ]; then
        t_timeout 300 "$T_SOURCE_DIR/scripts/sdk-venv" "$EX_DIR/venv" > /dev/null
    fi
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images busybox
    t_images demo
    t_warrend_root
    t_warrend
}

# ex_run FILE: runs the program FILE; its output in EX_OUT.
ex_run() {
    local file=$1
    T_STATUS=0
    EX_OUT=$(cd "$(dirname "$file")" && WARREN_HOST="unix://$WD_SOCK" WARREN_ROOT= WARREN_TOKEN= \
        PYTHONPATH= PYTHONDONTWRITEBYTECODE=1 timeout -k 5 500 "$EX_DIR/venv/bin/python" "$file" 2>&1) || T_STATUS=$?
    printf '%s\n' "$EX_OUT"
    assert_status 0 "$T_STATUS" "python $(basename "$file")"
}

ex_running() {
    curl -s --unix-socket "$WD_SOCK" 'http://warrend/v1/sandboxes?state=running' | jq -r '.sandboxes[].id'
}

ex_no_sandbox_left() {
    assert_eq "$(ex_running)" "" "sandboxes still running after the program"
}

ex_readiness_and_pull() {
    assert_match "$1" '^Waiting for Docker daemon to be ready \(timeout: 30s\)\.\.\.$' "the first readiness line"
    assert_match "$1" '^Docker daemon is ready \(took [0-9]+\.[0-9]s\)$' "the second readiness line"
    assert_match "$1" '^latest: Pulling from library/nginx$' "docker pull's output"
    assert_match "$1" '^Status: Downloaded newer image for nginx:latest$' "docker pull's output"
    assert_match "$1" '^docker\.io/library/nginx:latest$' "docker pull's output"
}

# The issue's program leaves its sandbox running (it never terminates it):
# exactly one, removed here.
ex_remove_the_one_sandbox() {
    local running
    running=$(ex_running)
    assert_eq "$(printf '%s\n' "$running" | grep -c .)" 1 "sandboxes running after the issue's program"
    curl -sf --unix-socket "$WD_SOCK" -X DELETE "http://warrend/v1/sandboxes/$running" > /dev/null
    ex_no_sandbox_left
}

case_docker_in_sandbox() {
    ex_setup
    ex_run "$EXAMPLES/docker_in_sandbox.py"
    ex_readiness_and_pull "$EX_OUT"
    ex_remove_the_one_sandbox
}

# The program as beta9's users write it, with beta9's names replaced by
# warren's and nothing else changed: the same text as the example.
case_beta9_program() {
    ex_setup
    mkdir -p "$EX_DIR/beta9"
    cat > "$EX_DIR/beta9/program.py" <<'PY'
from beta9 import Image, Sandbox

sandbox = Sandbox(
    cpu=1,
    image=Image.from_registry("ubuntu:22.04").with_docker(),
    docker_enabled=True,
).create()

process = sandbox.docker.pull("nginx:latest")
process.wait()
print(process.stdout.read())
PY
    sed 's/\bbeta9\b/warren/g' "$EX_DIR/beta9/program.py" > "$EX_DIR/beta9/warren_program.py"
    local changed
    changed=$(diff "$EX_DIR/beta9/program.py" "$EX_DIR/beta9/warren_program.py" | grep -c '^[<>]' || true)
    assert_eq "$changed" 2 "lines the replacement changed (the import, before and after)"
    assert_eq "$(cat "$EX_DIR/beta9/warren_program.py")" "$(cat "$EXAMPLES/docker_in_sandbox.py")" \
        "the replaced program and examples/docker_in_sandbox.py"
    ex_run "$EX_DIR/beta9/warren_program.py"
    ex_readiness_and_pull "$EX_OUT"
    ex_remove_the_one_sandbox
}

case_run_untrusted_code() {
    ex_setup
    ex_run "$EXAMPLES/run_untrusted_code.py"
    assert_match "$EX_OUT" '^hello from .* running Linux 4\.4\.0' "the untrusted code's output (gVisor's kernel)"
    assert_contains "$EX_OUT" "exit code: 3"
    assert_contains "$EX_OUT" "streamed: line 3"
    assert_contains "$EX_OUT" "exit code: 0"
    ex_no_sandbox_left
}

case_dockerfile_in_sandbox() {
    ex_setup
    ex_run "$EXAMPLES/dockerfile_in_sandbox.py"
    assert_contains "$EX_OUT" "built greeting:1"
    assert_match "$EX_OUT" '^hello from an image built inside a sandbox$' "the built image's output"
    ex_no_sandbox_left
}

case_image_from_dockerfile() {
    ex_setup
    ex_run "$EXAMPLES/image_from_dockerfile.py"
    assert_match "$EX_OUT" '^hello from app 1.0, built by warrend$' "the built image's program"
    assert_contains "$EX_OUT" "in /app: ['VERSION', 'main.sh']"
    ex_no_sandbox_left
}

case_compose_two_services() {
    ex_setup
    ex_run "$EXAMPLES/compose_two_services.py"
    assert_match "$EX_OUT" 'web' "compose ps"
    assert_match "$EX_OUT" 'client.*Welcome to nginx' "the client's log: nginx's page"
    ex_no_sandbox_left
}

case_files_in_and_out() {
    ex_setup
    ex_run "$EXAMPLES/files_in_and_out.py"
    assert_contains "$EX_OUT" "in the sandbox: ['count.sh', 'counts.txt', 'words.txt']"
    assert_match "$EX_OUT" '^ *2 apple$' "the downloaded counts"
    assert_match "$EX_OUT" '^ *1 pear$' "the downloaded counts"
    ex_no_sandbox_left
}

t_case "examples/docker_in_sandbox.py: the issue's program, readiness lines and the pull of nginx" case_docker_in_sandbox
t_case "the issue's program with beta9's names replaced by warren's, and nothing else" case_beta9_program
t_case "examples/run_untrusted_code.py: code's output and exit code, lines streamed" case_run_untrusted_code
t_case "examples/dockerfile_in_sandbox.py: docker build of an uploaded context, then run" case_dockerfile_in_sandbox
t_case "examples/image_from_dockerfile.py: warrend builds a Dockerfile's COPY from a local context" case_image_from_dockerfile
t_case "examples/compose_two_services.py: nginx and a client that fetches its page" case_compose_two_services
t_case "examples/files_in_and_out.py: upload, process, download" case_files_in_and_out
rc=0
t_done || rc=$?
rm -rf "$EX_DIR"
exit "$rc"
