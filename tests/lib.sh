# Helpers for the integration tests (sourced by tests/integration/*.sh).
#
# A test file is a list of cases.  Each case is a function run by t_case in
# its own subshell and process group, with `set -e`, a time limit and its own
# log file; whatever it registered with t_defer is undone when it ends, however
# it ends (failure, timeout, ^C):
#
#     . "$(dirname "$0")/../lib.sh"
#     case_echo() {
#         out=$(t_timeout 30 "$WARREN_RUNTIME" --version)
#         assert_contains "$out" "warren"
#     }
#     t_case "warren-runtime prints its version" case_echo
#     t_done
#
# Inside a case: t_fail MSG and t_skip REASON end it; assertions end it with a
# message; any failing command ends it naming the command and line.  The
# primitives t_begin NAME / t_pass / t_fail MSG / t_skip REASON also work
# outside t_case for a hand-written case.
#
# Results: one line per case ("pass|fail|skip<TAB>file/case<TAB>message") is
# appended to $WARREN_RESULTS_FILE when tests/run sets it; each case's output
# is in $WARREN_RESULTS_DIR/<file>/<case>.log and the tail of it is printed
# when the case fails.  With WARREN_REQUIRE_ALL=1 a skip counts as a failure.

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_SOURCE_DIR=$(cd "$T_LIB_DIR/.." && pwd)
. "$T_LIB_DIR/fixtures/common.sh"

T_FILE=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
WARREN_BUILD_DIR=${WARREN_BUILD_DIR:-$T_SOURCE_DIR/build}
WARREN_RUNTIME=${WARREN_RUNTIME:-$WARREN_BUILD_DIR/src/cmd/warren-runtime/warren-runtime}
WARREN_INIT=${WARREN_INIT:-$WARREN_BUILD_DIR/src/cmd/warren-init/warren-init}
WARREN_RESULTS_DIR=${WARREN_RESULTS_DIR:-$WARREN_BUILD_DIR/test-results/integration}
WARREN_RESULTS_FILE=${WARREN_RESULTS_FILE:-}
T_CASE_TIMEOUT=${T_CASE_TIMEOUT:-300}
# Where cases keep bundles, state and sockets.  Short: unix socket paths
# (containerd, docker) must stay under 108 bytes.
T_TMP_ROOT=${T_TMP_ROOT:-/run/warren-test/t}
RUNSC=${RUNSC:-$(command -v runsc || echo /usr/bin/runsc)}

T_PASSED=0 T_FAILED=0 T_SKIPPED=0
T_NAME= T_START= T_LOG= T_DIR=

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    _T_RED=$'\e[31m' _T_GREEN=$'\e[32m' _T_YELLOW=$'\e[33m' _T_OFF=$'\e[0m'
else
    _T_RED= _T_GREEN= _T_YELLOW= _T_OFF=
fi

_t_slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-80; }
_t_elapsed() { awk -v s="$T_START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1fs", e - s }'; }
_t_record() {
    [ -n "$WARREN_RESULTS_FILE" ] || return 0
    printf '%s\t%s/%s\t%s\n' "$1" "$T_FILE" "$T_NAME" "$(printf '%s' "$2" | tr '\t\n' '  ')" >> "$WARREN_RESULTS_FILE"
}

t_begin() {
    T_NAME=$1
    T_START=$(date +%s.%N)
    T_DIR=$WARREN_RESULTS_DIR/$T_FILE
    mkdir -p "$T_DIR"
    T_LOG=$T_DIR/$(_t_slug "$T_NAME").log
    : > "$T_LOG"
    [ -z "$WARREN_RESULTS_FILE" ] || printf 'begin\t%s/%s\t\n' "$T_FILE" "$T_NAME" >> "$WARREN_RESULTS_FILE"
}

t_pass() {
    T_PASSED=$((T_PASSED + 1))
    _t_record pass ""
    printf '%sPASS%s %s: %s (%s)\n' "$_T_GREEN" "$_T_OFF" "$T_FILE" "$T_NAME" "$(_t_elapsed)"
}

# t_fail MSG: inside t_case it ends the case; outside it records the failure.
t_fail() {
    if [ -n "${_T_IN_CASE:-}" ]; then
        printf '%s\n' "$*" > "$_T_CASE_STATE/message"
        printf 'FAILED: %s\n' "$*" >&2
        exit 1
    fi
    T_FAILED=$((T_FAILED + 1))
    _t_record fail "$*"
    printf '%sFAIL%s %s: %s (%s)\n    %s\n' "$_T_RED" "$_T_OFF" "$T_FILE" "$T_NAME" "$(_t_elapsed)" "$*"
    if [ -s "$T_LOG" ]; then
        printf '    --- last lines of %s ---\n' "$T_LOG"
        tail -n "${T_FAIL_LINES:-60}" "$T_LOG" | sed 's/^/    | /'
        printf '    ---\n'
    fi
}

# t_skip REASON: a case that cannot run here.  With WARREN_REQUIRE_ALL=1 it is
# a failure, so CI never passes with parts of the suite skipped.
t_skip() {
    if [ -n "${_T_IN_CASE:-}" ]; then
        printf '%s\n' "$*" > "$_T_CASE_STATE/message"
        printf 'SKIPPED: %s\n' "$*" >&2
        exit 77
    fi
    if [ "${WARREN_REQUIRE_ALL:-0}" = 1 ]; then
        t_fail "skipped, but WARREN_REQUIRE_ALL=1 requires every case: $*"
        return
    fi
    T_SKIPPED=$((T_SKIPPED + 1))
    _t_record skip "$*"
    printf '%sSKIP%s %s: %s (%s)\n' "$_T_YELLOW" "$_T_OFF" "$T_FILE" "$T_NAME" "$*"
}

# t_defer CMD [ARGS...]: run CMD when the current case ends (last in, first
# out).  Failures of deferred commands are logged, never fatal.
t_defer() {
    [ -n "${_T_CASE_STATE:-}" ] || { echo "t_defer outside t_case: $*" >&2; return 1; }
    { printf '%q ' "$@"; printf '\n'; } >> "$_T_CASE_STATE/cleanup"
}

_t_run_cleanups() {
    local file=$1 line
    [ -f "$file" ] || return 0
    # Reverse order; each one bounded so cleanup itself cannot hang the run.
    tac "$file" | while IFS= read -r line; do
        [ -n "$line" ] || continue
        echo "cleanup: $line"
        # eval in a subshell, so test-file functions work; bounded by a
        # watchdog because `timeout` cannot run shell functions.
        ( eval "$line" ) < /dev/null &
        local pid=$! watchdog rc=0
        ( sleep 60; kill -KILL "$pid" ) > /dev/null 2>&1 &
        watchdog=$!
        wait "$pid" || rc=$?
        kill "$watchdog" 2>/dev/null || true
        wait "$watchdog" 2>/dev/null || true
        [ "$rc" = 0 ] || echo "cleanup failed ($rc): $line"
    done
    rm -f "$file"
}

_t_on_err() {
    # Name the line in the test file, not in this library.
    local file=${BASH_SOURCE[1]} line=$2 i=1
    while [ "$file" = "${BASH_SOURCE[0]}" ] && [ -n "${BASH_SOURCE[i + 1]:-}" ]; do
        line=${BASH_LINENO[i]}
        i=$((i + 1))
        file=${BASH_SOURCE[i]}
    done
    printf 'FAILED: %s line %s: %s (exit %s)\n' "${file##*/}" "$line" "$3" "$1" >&2
    [ -s "$_T_CASE_STATE/message" ] ||
        printf 'command failed (exit %s) at %s line %s: %s\n' "$1" "${file##*/}" "$line" "$3" > "$_T_CASE_STATE/message"
}

_t_case_body() {
    local fn=$1
    _T_IN_CASE=1
    export T_CASE_DIR=$_T_CASE_STATE/work
    mkdir -p "$T_CASE_DIR"
    trap 'set +eE; trap - ERR; _t_run_cleanups "$_T_CASE_STATE/cleanup"' EXIT
    trap 'exit 143' TERM INT
    trap '_t_on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR
    set -eE -o pipefail
    "$fn"
}

# When the test file itself is stopped (tests/run's time limit, ^C), stop the
# running case's process group too, and undo what it set up.
_T_CASE_PID=
_t_abort() {
    if [ -n "$_T_CASE_PID" ]; then
        kill -TERM -- "-$_T_CASE_PID" 2>/dev/null
        local i
        for i in $(seq 50); do kill -0 "$_T_CASE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$_T_CASE_PID" 2>/dev/null
        if [ -n "${_T_CASE_STATE:-}" ]; then
            _t_run_cleanups "$_T_CASE_STATE/cleanup" >> "$T_LOG" 2>&1
            rm -rf "$_T_CASE_STATE"
        fi
    fi
    exit 143
}
trap _t_abort TERM INT

# t_case NAME FUNCTION: runs FUNCTION as one case (see the top of this file).
# T_CASE_TIMEOUT (seconds, default 300) bounds it; set it per case before the
# call if a case needs longer.
t_case() {
    local name=$1 fn=$2
    if [ -n "${T_ONLY:-}" ] && [[ $name != *"$T_ONLY"* ]]; then
        return 0
    fi
    t_begin "$name"
    _T_CASE_STATE=$T_TMP_ROOT/$T_FILE.$(_t_slug "$name").$$
    rm -rf "$_T_CASE_STATE"
    mkdir -p "$_T_CASE_STATE"
    printf '=== %s: %s (%s)\n' "$T_FILE" "$name" "$(date -Is)" >> "$T_LOG"
    local saved_opts=$- rc
    set +e
    # Job control gives the case its own process group, so a timeout stops
    # everything it started in the foreground (runsc, docker clients, ...).
    set -m
    ( _t_case_body "$fn" ) >> "$T_LOG" 2>&1 < /dev/null &
    local pid=$!
    _T_CASE_PID=$pid
    set +m
    (
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$T_CASE_TIMEOUT" & sleeper=$!
        wait "$sleeper"
        echo "TIMEOUT after ${T_CASE_TIMEOUT}s" >> "$T_LOG"
        printf 'timed out after %ss\n' "$T_CASE_TIMEOUT" > "$_T_CASE_STATE/message"
        kill -TERM -- "-$pid" 2>/dev/null
        sleep 10 & sleeper=$!
        wait "$sleeper"
        kill -KILL -- "-$pid" 2>/dev/null
    ) > /dev/null 2>&1 &
    local watchdog=$!
    wait "$pid"
    rc=$?
    _T_CASE_PID=
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    # Whatever the case left behind (it was killed before its trap ran).
    _t_run_cleanups "$_T_CASE_STATE/cleanup" >> "$T_LOG" 2>&1
    local message=
    [ -s "$_T_CASE_STATE/message" ] && message=$(cat "$_T_CASE_STATE/message")
    rm -rf "$_T_CASE_STATE"
    _T_CASE_STATE=
    case $rc in
        0) t_pass ;;
        77) t_skip "$message" ;;
        *) t_fail "${message:-exit status $rc}" ;;
    esac
    [[ $saved_opts == *e* ]] && set -e
    return 0
}

# t_junit REPORT PREFIX: one hand-written case per test of a JUnit XML report
# (pytest --junitxml), named "PREFIX FILE::CLASS::TEST": passed, failed with
# the test's message, or skipped.  A missing or unreadable report is one
# failure, so a run that never wrote one cannot pass.
t_junit() {
    local report=$1 prefix=$2 status name message
    if [ ! -s "$report" ]; then
        t_begin "$prefix: its JUnit report"
        t_fail "no JUnit report at $report"
        return 0
    fi
    while IFS=$'\t' read -r status name message; do
        t_begin "$prefix $name"
        case $status in
            pass) t_pass ;;
            skip) t_skip "$message" ;;
            *) t_fail "$message" ;;
        esac
    done < <(/usr/bin/python3 - "$report" <<'PY' || printf 'fail\tits JUnit report\t%s does not parse\n' "$report"
import sys
import xml.etree.ElementTree as ET

def one_line(s):
    return " ".join((s or "").split())[:300]

root = ET.parse(sys.argv[1]).getroot()
cases = root.iter("testcase")
n = 0
for c in cases:
    n += 1
    cls = c.get("classname", "")
    module, _, klass = cls.partition(".")
    name = f"{module}.py::{klass}::{c.get('name')}" if klass else f"{module}.py::{c.get('name')}"
    status, message = "pass", ""
    for child in c:
        if child.tag in ("failure", "error"):
            status, message = "fail", one_line(child.get("message")) or child.tag
        elif child.tag == "skipped":
            status, message = "skip", one_line(child.get("message")) or "skipped"
    print(f"{status}\t{name}\t{message}")
if n == 0:
    print(f"fail\tits JUnit report\tno test case in {sys.argv[1]}")
PY
)
}

# t_done: prints this file's totals; exits non-zero when a case failed.
t_done() {
    printf '%s: %d passed, %d failed' "$T_FILE" "$T_PASSED" "$T_FAILED"
    [ "$T_SKIPPED" = 0 ] || printf ', %d skipped' "$T_SKIPPED"
    printf '\n'
    [ "$T_FAILED" = 0 ]
}

# ---- assertions: each ends the case with a message that shows both sides ----

_t_show() { printf '%s' "$1" | tail -n 30 | sed 's/^/      /'; }

# assert_contains OUTPUT NEEDLE [WHAT]
assert_contains() {
    [[ $1 == *"$2"* ]] && return 0
    printf 'expected %s to contain: %s\n    got:\n%s\n' "${3:-the output}" "$2" "$(_t_show "$1")" >&2
    t_fail "${3:-the output} does not contain '$2'"
}

# assert_not_contains OUTPUT NEEDLE [WHAT]
assert_not_contains() {
    [[ $1 != *"$2"* ]] && return 0
    printf 'expected %s not to contain: %s\n    got:\n%s\n' "${3:-the output}" "$2" "$(_t_show "$1")" >&2
    t_fail "${3:-the output} contains '$2'"
}

# assert_match OUTPUT ERE [WHAT]
assert_match() {
    grep -Eq -- "$2" <<<"$1" && return 0
    printf 'expected %s to match /%s/\n    got:\n%s\n' "${3:-the output}" "$2" "$(_t_show "$1")" >&2
    t_fail "${3:-the output} does not match /$2/"
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
    [ "$1" = "$2" ] && return 0
    t_fail "${3:-value}: expected '$2', got '$1'"
}

# assert_status EXPECTED ACTUAL [WHAT]: ACTUAL an exit status; EXPECTED a
# number or "nonzero".
assert_status() {
    if [ "$1" = nonzero ]; then
        [ "$2" != 0 ] && return 0
    elif [ "$1" = "$2" ]; then
        return 0
    fi
    t_fail "${3:-exit status}: expected $1, got $2"
}

# assert_file_contains FILE NEEDLE
assert_file_contains() {
    [ -f "$1" ] || t_fail "$1 does not exist"
    assert_contains "$(cat "$1")" "$2" "$1"
}

# ---- running things ----

# t_timeout SECONDS CMD...: runs CMD, killed after SECONDS (KILL 5 s later).
t_timeout() {
    local secs=$1; shift
    timeout -k 5 "$secs" "$@"
}

# t_capture VAR SECONDS CMD...: runs CMD with a time limit, stores its stdout
# and stderr (together) in VAR and its status in T_STATUS; never fails.
# The output is also copied to the case log.
t_capture() {
    local __var=$1 secs=$2; shift 2
    local __out
    T_STATUS=0
    __out=$(timeout -k 5 "$secs" "$@" 2>&1) || T_STATUS=$?
    printf -- '--- %s (exit %s)\n%s\n---\n' "$*" "$T_STATUS" "$__out"
    [ "$T_STATUS" != 124 ] || echo "(timed out after ${secs}s)"
    printf -v "$__var" '%s' "$__out"
}

# t_require CMD...: skip the case unless each command exists.
t_require() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || t_skip "$c is not installed (run scripts/setup)"
    done
}

# t_require_warren: the binaries under test exist.  Missing binaries are a
# failure, not a skip: tests/run builds them.
t_require_warren() {
    [ -x "$WARREN_RUNTIME" ] || t_fail "warren-runtime not built: $WARREN_RUNTIME"
    [ -x "$WARREN_INIT" ] || t_fail "warren-init not built: $WARREN_INIT"
}

# t_images: builds (or reuses) the fixture images and sets the WARREN_*
# variables printed by tests/fixtures/images.
t_images() {
    local vars
    vars=$(timeout -k 5 1500 "$T_LIB_DIR/fixtures/images" "${1:-all}") ||
        t_fail "tests/fixtures/images ${1:-all} failed"
    eval "$vars"
}

# ---- things cases start, each stopped by the case's cleanup ----

# t_netns NAME: creates a network namespace (with loopback up), deleted when
# the case ends.  Prints its path.
t_netns() {
    local name=$1
    ip netns delete "$name" 2>/dev/null || true
    ip netns add "$name"
    t_defer ip netns delete "$name"
    ip -n "$name" link set lo up
    echo "/var/run/netns/$name"
}

# t_sandbox_cleanup ROOT ID: when the case ends, deletes container ID from
# warren-runtime's and runsc's state under ROOT, whatever state it is in.
t_sandbox_cleanup() {
    t_defer t_force_delete "$1" "$2"
}

t_force_delete() {
    local root=$1 id=$2
    if [ -x "$WARREN_RUNTIME" ]; then
        timeout -k 5 30 "$WARREN_RUNTIME" --root "$root" delete --force "$id" 2>/dev/null || true
    fi
    timeout -k 5 30 "$RUNSC" --root "$root" delete -force "$id" 2>/dev/null || true
}

# t_overlay LOWER MERGED: mounts an overlay of LOWER on MERGED so a sandbox
# can write without changing LOWER (the cached image roots).  Unmounted when
# the case ends.
t_overlay() {
    local lower=$1 merged=$2 base
    [ -d "$lower" ] || t_fail "t_overlay: no directory '$lower' to mount"
    base=$(dirname "$merged")/.overlay-$(basename "$merged")
    mkdir -p "$base/upper" "$base/work" "$merged"
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$base/upper,workdir=$base/work" "$merged"
    t_defer rm -rf "$base"
    t_defer umount -l "$merged"
}

# t_bundle DIR ROOTFS [NETNS_PATH] ARGS...: writes DIR/config.json for a
# sandbox running ARGS with ROOTFS (an overlay on it) as its root, based on
# `runsc spec`.  With NETNS_PATH (not "-") the spec joins that network
# namespace; without, it has none (runsc --network=host).
t_bundle() {
    local dir=$1 rootfs=$2 netns=$3; shift 3
    mkdir -p "$dir"
    t_overlay "$rootfs" "$dir/rootfs"
    (cd "$dir" && "$RUNSC" spec -- "$@")
    local args_json
    args_json=$(jq -cn '$ARGS.positional' --args -- "$@")
    local filter='.process.args = $args | .process.terminal = false | .root.readonly = false
        | .hostname = "warren-test"'
    if [ "$netns" = - ] || [ -z "$netns" ]; then
        filter="$filter | .linux.namespaces |= map(select(.type != \"network\"))"
    else
        filter="$filter | .linux.namespaces |= (map(select(.type != \"network\")) + [{type: \"network\", path: \$netns}])"
    fi
    jq --argjson args "$args_json" --arg netns "$netns" "$filter" "$dir/config.json" > "$dir/config.json.tmp"
    mv "$dir/config.json.tmp" "$dir/config.json"
}

# t_spec_set DIR JQ_FILTER [jq args...]: edits DIR/config.json in place.
t_spec_set() {
    local dir=$1 filter=$2; shift 2
    jq "$@" "$filter" "$dir/config.json" > "$dir/config.json.tmp"
    mv "$dir/config.json.tmp" "$dir/config.json"
}

# ---- warrend with sandboxes ----

WARREND=${WARREND:-$WARREN_BUILD_DIR/src/cmd/warrend/warrend}
AGENT_CALL=${AGENT_CALL:-$WARREN_BUILD_DIR/tests/tools/agent-call}

# t_warrend_root: a short state directory for a warrend of this case (the
# agent's socket, ROOT/sandboxes/ID/agent/agent.sock, must fit a unix
# socket address), and a cgroup parent of its own.  Sets WD_ROOT, WD_CGROUP.
t_warrend_root() {
    mkdir -p "$T_TMP_ROOT"
    WD_ROOT=$(mktemp -d "$T_TMP_ROOT/wd.XXXXXX")
    WD_CGROUP=/warren-test-$$-$RANDOM
    t_defer t_warrend_cleanup_root "$WD_ROOT" "$WD_CGROUP"
}

# t_warrend ARGS...: warrend --root WD_ROOT (with the local registry and the
# case's cgroup parent) in the background, its log appended to
# WD_ROOT/warrend.log; waits until it answers.  Sets WD_PID and WD_SOCK.
t_warrend() {
    mkdir -p "$WD_ROOT"
    WD_SOCK=$WD_ROOT/run/warrend.sock
    "$WARREND" --root "$WD_ROOT" --init "$WARREN_INIT" --runsc "$RUNSC" \
        --insecure-registry "$WARREN_REGISTRY" --docker-io-mirror "http://$WARREN_REGISTRY" \
        --cgroup-parent "${WD_CGROUP:-/warren-test-$$}" "$@" 2>> "$WD_ROOT/warrend.log" &
    WD_PID=$!
    t_defer t_warrend_stop "$WD_PID"
    local i
    for i in $(seq 200); do
        if [ -S "$WD_SOCK" ] && curl -sf --unix-socket "$WD_SOCK" http://warrend/v1/health > /dev/null 2>&1; then
            return 0
        fi
        kill -0 "$WD_PID" 2>/dev/null || { tail -n 30 "$WD_ROOT/warrend.log"; t_fail "warrend exited at start"; }
        sleep 0.05
    done
    tail -n 30 "$WD_ROOT/warrend.log"
    t_fail "warrend did not answer on $WD_SOCK within 10s"
}

t_warrend_stop() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

# Removes what sandboxes of a warrend may have left (after a failed case).
t_warrend_cleanup_root() {
    local root=$1 cgroup=$2 id d
    for id in $(timeout -k 5 30 "$RUNSC" --root "$root/runsc" list -quiet 2>/dev/null); do
        timeout -k 5 30 "$RUNSC" --root "$root/runsc" delete -force "$id" 2>/dev/null || true
    done
    grep -o " $root/[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    for d in /sys/fs/cgroup/*"$cgroup" /sys/fs/cgroup/*/"$cgroup"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$root"
}

# t_api METHOD PATH [CURL ARGS...]: prints the answer's body, then a line
# with its status.
t_api() {
    local method=$1 path=$2; shift 2
    curl -s --unix-socket "$WD_SOCK" -X "$method" -w '\n%{http_code}\n' "$@" "http://warrend$path"
}

# t_api_exec ID ARGV_JSON [MORE]: starts a process in sandbox ID through the API
# (MORE: more members of the body, such as `"user": "root"`)
# (fails the case unless it is 201); prints its pid.
t_api_exec() {
    local out
    out=$(t_api POST "/v1/sandboxes/$1/processes" -d "{\"argv\": $2${3:+, $3}}")
    [ "$(tail -n 1 <<<"$out")" = 201 ] || t_fail "exec $2: $out"
    head -n 1 <<<"$out" | jq -r .pid
}

# t_leftovers: what warrend's sandboxes hold on the host, one per line
# (runsc containers, mounts under the root, network namespaces, cgroups,
# sandbox directories): empty when nothing is left.  Finding nothing is
# not a failure (without `|| true` each empty grep or ls would set off the
# case's ERR trap and log a FAILED line in a case that passes).
t_leftovers() {
    { timeout -k 5 30 "$RUNSC" --root "$WD_ROOT/runsc" list -quiet 2>/dev/null || true; } | sed 's/^/container /'
    { grep -o " $WD_ROOT/[^ ]*" /proc/self/mountinfo || true; } | sed 's/^ /mount /'
    { ls "$WD_ROOT/run/netns" 2>/dev/null || true; } | sed 's/^/netns /'
    { ls -d /sys/fs/cgroup/*"$WD_CGROUP"/*/ /sys/fs/cgroup/*/"$WD_CGROUP"/*/ 2>/dev/null || true; } | sed 's/^/cgroup /'
    { ls "$WD_ROOT/sandboxes" 2>/dev/null || true; } | sed 's/^/dir /'
}
