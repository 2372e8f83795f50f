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
