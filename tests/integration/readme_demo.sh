#!/usr/bin/env bash
# The README's first command, on a clean checkout: the committed tree is
# cloned into a fresh directory, the first shell block of the README's "Try
# it" section is run there as it is (as root, like a user on a fresh Debian
# 12 machine: setup, build, images, warrend, examples/docker_in_sandbox.py),
# and its output must show the two readiness lines and docker pull's
# output, and nothing it started may be left: no warrend, no runsc, no
# mount, no state directory.  The images built by debootstrap are reused from
# the test cache ($WARREN_TEST_CACHE) when they are there.
. "$(dirname "$0")/../lib.sh"

T_CASE_TIMEOUT=2400

# The demo's leftovers on this machine: its state directories, mounts and
# processes (warrend, runsc) under them.
readme_leftovers() {
    ls -d /run/warren-demo.* /sys/fs/cgroup/warren-demo-* 2>/dev/null || true
    grep -o ' /run/warren-demo\.[^ ]*' /proc/self/mountinfo 2>/dev/null || true
    local p
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -E "^[^ ]*(warrend|runsc) .*(/run/warren-demo\.|$1)" || true
    done
}

case_first_command() {
    command -v git > /dev/null || t_fail "git is not installed"
    local clone before after cmd out
    mkdir -p /var/tmp/warren-test
    clone=$(mktemp -d /var/tmp/warren-test/readme.XXXXXX)
    t_defer rm -rf "$clone"
    git clone -q --no-hardlinks "$T_SOURCE_DIR" "$clone/warren"
    git -C "$clone/warren" checkout -q "$(git -C "$T_SOURCE_DIR" rev-parse HEAD)"
    assert_eq "$(git -C "$clone/warren" status --porcelain)" "" "the clone's status"
    # The README's first command: the first ```sh block after "## Try it".
    cmd=$(awk '/^## Try it/ { on = 1 } on && /^```sh$/ { inb = 1; next } inb && /^```$/ { exit } inb { print }' \
        "$clone/warren/README.md")
    assert_eq "$cmd" "./scripts/setup && ./scripts/demo" "the README's first command"
    before=$(readme_leftovers "$clone")
    T_STATUS=0
    out=$(cd "$clone/warren" && env -u WARREN_ROOT -u WARREN_HOST timeout -k 10 2000 bash -c "$cmd" 2>&1) || T_STATUS=$?
    printf '%s\n' "$out"
    assert_status 0 "$T_STATUS" "$cmd"
    assert_match "$out" '^\(ubuntu:22\.04 here is a stand-in built from Debian 12' "the line saying what ubuntu:22.04 is"
    assert_match "$out" '^Waiting for Docker daemon to be ready \(timeout: 30s\)\.\.\.$' "the first readiness line"
    assert_match "$out" '^Docker daemon is ready \(took [0-9]+\.[0-9]s\)$' "the second readiness line"
    assert_match "$out" '^latest: Pulling from library/nginx$' "docker pull's output"
    assert_match "$out" '^Status: (Downloaded newer image|Image is up to date) for nginx:latest$' "docker pull's output"
    assert_match "$out" '^docker\.io/library/nginx:latest$' "docker pull's output"
    assert_match "$out" '^removed sandbox sb-[0-9a-f]{16}$' "the sandbox removed"
    assert_match "$out" '^stopped warrend$' "warrend stopped"
    assert_match "$out" 'demo ok:' "the demo's last line"
    # Nothing it started is left.
    after=$(readme_leftovers "$clone")
    assert_eq "$after" "$before" "what the demo left (state directories, mounts, warrend and runsc processes)"
    # The checkout was not changed by it (build/ is ignored).
    assert_eq "$(git -C "$clone/warren" status --porcelain)" "" "the clone's status after the demo"
}

t_case "README: ./scripts/setup && ./scripts/demo on a fresh clone shows the readiness lines and the pull, leaves nothing running" case_first_command
t_done
