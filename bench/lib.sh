# Shared helpers for the benchmarks: timing and medians.
# Every benchmark runs warren and its baseline in the same run, alternating,
# and prints both medians and their ratio.

now_ns() { date +%s%N; }

# median FILE: the median of the numbers in FILE, one a line.
median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ms_between START_NS END_NS
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'; }

bench_log() { printf 'level=info msg="%s"\n' "$*" >&2; }
bench_die() { printf 'level=error msg="%s"\n' "$*" >&2; exit 1; }

# find_build_dir: the build directory with warren's binaries (WARREN_BUILD_DIR or build/).
find_build_dir() {
    local top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    local dir=${WARREN_BUILD_DIR:-$top/build}
    if [ ! -x "$dir/src/cmd/warren-runtime/warren-runtime" ]; then
        bench_log "building warren in $dir"
        [ -d "$dir" ] || meson setup "$dir" "$top" >/dev/null
        ninja -C "$dir" >/dev/null
    fi
    echo "$dir"
}

# now_ns_var VAR: the wall clock in ns, stored in VAR without a fork
# (bash 5's EPOCHREALTIME), for timestamps taken inside a read loop.
now_ns_var() {
    local t=${EPOCHREALTIME/[.,]/}
    printf -v "$1" '%s000' "$t"
}

# percentile FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
percentile() {
    sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
        print v[r] }'
}

# in_registry REPO TAG: the local test registry has that image.
in_registry() {
    curl -sfI -o /dev/null --max-time 10 \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$WARREN_REGISTRY/v2/$1/manifests/$2"
}

# bench_images busybox|debian-docker...: sets WARREN_REGISTRY and the
# fixture's WARREN_*_IMAGE variables; builds and pushes (tests/fixtures/images)
# only what the registry lacks.
bench_images() {
    local fixtures want
    fixtures=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fixtures
    eval "$("$fixtures/images" paths)"
    WARREN_REGISTRY=${WARREN_DEBIAN_IMAGE%%/*}
    for want in "$@"; do
        case $want in
            busybox) in_registry library/busybox latest && continue ;;
            debian-docker) in_registry warren/debian-docker bookworm && continue ;;
        esac
        eval "$(timeout 1800 "$fixtures/images" "$want")"
    done
}

# bench_warrend_start BUILD [ARGS...]: warrend (with ARGS) of the benchmark's own (a state
# directory under /run/warren-bench, short enough for the agent's socket
# path; a cgroup parent of its own, named after the calling (sub)shell;
# the local registry), the way
# tests/lib.sh's t_warrend starts one.  Sets WD_ROOT, WD_SOCK, WD_PID,
# WD_CGROUP; its log is WD_ROOT/warrend.log.  bench_warrend_stop undoes it.
bench_warrend_start() {
    local build=$1 i
    shift
    mkdir -p /run/warren-bench
    WD_ROOT=$(mktemp -d /run/warren-bench/wd.XXXXXX)
    WD_SOCK=$WD_ROOT/run/warrend.sock
    WD_CGROUP=/warren-bench-$BASHPID
    local warrend=$build/src/cmd/warrend/warrend
    [ -x "$warrend" ] || bench_die "no warrend at $warrend (ninja -C $build)"
    if grep -q __asan_init "$warrend" 2> /dev/null; then
        bench_log "warning: $warrend is built with ASan; times will be slower than real"
    fi
    "$warrend" --root "$WD_ROOT" --init "$build/src/cmd/warren-init/warren-init" \
        --runsc "$(command -v runsc)" --insecure-registry "$WARREN_REGISTRY" \
        --docker-io-mirror "http://$WARREN_REGISTRY" --cgroup-parent "$WD_CGROUP" "$@" \
        2>> "$WD_ROOT/warrend.log" &
    WD_PID=$!
    for i in $(seq 200); do
        if [ -S "$WD_SOCK" ] && curl -sf --unix-socket "$WD_SOCK" http://warrend/v1/health > /dev/null 2>&1; then
            return 0
        fi
        kill -0 "$WD_PID" 2> /dev/null || { tail -n 30 "$WD_ROOT/warrend.log" >&2; bench_die "warrend exited at start"; }
        sleep 0.05
    done
    tail -n 30 "$WD_ROOT/warrend.log" >&2
    bench_die "warrend did not answer on $WD_SOCK within 10 s"
}

# bench_api METHOD PATH [CURL ARGS...]: the body of warrend's answer; fails
# on an HTTP error.
bench_api() {
    local method=$1 path=$2
    shift 2
    curl -sSf --unix-socket "$WD_SOCK" -X "$method" "$@" "http://warrend$path"
}

# bench_warrend_stop: stops warrend (SIGTERM, then SIGKILL after 10 s) and
# removes whatever its sandboxes left (runsc containers, mounts, cgroups) and
# its state directory.  Safe to call twice, or before a start.
bench_warrend_stop() {
    [ -n "${WD_ROOT:-}" ] || return 0
    local id d i runsc
    runsc=$(command -v runsc)
    if [ -n "${WD_PID:-}" ] && kill -TERM "$WD_PID" 2> /dev/null; then
        for i in $(seq 100); do kill -0 "$WD_PID" 2> /dev/null || break; sleep 0.1; done
        kill -KILL "$WD_PID" 2> /dev/null || true
        wait "$WD_PID" 2> /dev/null || true
    fi
    for id in $(timeout -k 5 30 "$runsc" --root "$WD_ROOT/runsc" list -quiet 2> /dev/null); do
        timeout -k 5 30 "$runsc" --root "$WD_ROOT/runsc" delete -force "$id" > /dev/null 2>&1 || true
    done
    grep -o " $WD_ROOT/[^ ]*" /proc/self/mountinfo 2> /dev/null | sort -r | while read -r d; do
        umount -l "$d" 2> /dev/null || true
    done
    for d in /sys/fs/cgroup/*"$WD_CGROUP" /sys/fs/cgroup/*/"$WD_CGROUP"; do
        [ -d "$d" ] && { find "$d" -depth -type d -exec rmdir {} + 2> /dev/null || true; }
    done
    rm -rf "$WD_ROOT"
    WD_ROOT=
}
