#!/usr/bin/env bash
# warrend under load (issue 9): WARREN_LOAD_CLIENTS clients (default 20) at
# once, each creating a sandbox, running a process in it, reading its
# output and deleting it, again and again for WARREN_LOAD_SECONDS (default
# 120), through tests/tools/warren-load.  No request may fail, and
# warrend's open descriptors, threads, heap and memory (VmRSS) must be as
# flat at the end as after a warm-up round of the same load: what it holds
# must not grow with the requests it served (ended sandboxes' records are
# forgotten after 5 s, as warrend does after --keep-ended).  The figures are printed to the
# case's log.  bench/soak runs the same, longer and with more clients.
. "$(dirname "$0")/../lib.sh"

CLIENTS=${WARREN_LOAD_CLIENTS:-20}
SECONDS_OF_LOAD=${WARREN_LOAD_SECONDS:-120}
T_CASE_TIMEOUT=$((SECONDS_OF_LOAD * 3 + 300))

# usage PID: "FDS THREADS RSS_KIB HEAP_KIB" of warrend, process PID (the
# heap: the bytes its allocator has handed out, from /metrics).
usage() {
    printf '%s %s %s %s\n' "$(ls "/proc/$1/fd" | wc -l)" \
        "$(awk '/^Threads:/ { print $2 }' "/proc/$1/status")" \
        "$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status")" \
        "$(t_api GET /metrics | awk '$1 == "warren_heap_bytes" { printf "%d", $2 / 1024 }')"
}

# idle: waits until warrend has no sandbox left running (all deleted).
idle() {
    local i
    for i in $(seq 100); do
        [ "$(t_api GET '/v1/sandboxes?state=running' | head -n 1 | jq '.sandboxes | length')" = 0 ] && { sleep 2; return 0; }
        sleep 0.2
    done
    t_fail "sandboxes still running after the load"
}

case_load() {
    t_require_warren
    [ -x "$WARREND" ] || t_fail "warrend not built: $WARREND"
    t_images busybox
    t_warrend_root
    # A small quarantine under ASan: its freed memory would otherwise grow
    # RSS by up to 256 MiB whatever warrend does.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8 \
        t_warrend --client-sandboxes $((CLIENTS * 2)) --keep-ended 5
    local load=$T_LIB_DIR/tools/warren-load out base end
    # Warm-up: the same clients for a fifth of the time, so that thread
    # stacks, malloc's arenas and SQLite's cache are at their size.
    out=$("$load" --socket "$WD_SOCK" --image "$WARREN_BUSYBOX_IMAGE" --clients "$CLIENTS" \
        --seconds $((SECONDS_OF_LOAD / 5 + 5))) || t_fail "the warm-up failed: $out"
    echo "warm-up: $out"
    idle
    base=$(usage "$WD_PID")
    ls -l "/proc/$WD_PID/fd" | awk '{ print $NF }' | sort > "$T_CASE_DIR/fds.before"
    out=$("$load" --socket "$WD_SOCK" --image "$WARREN_BUSYBOX_IMAGE" --clients "$CLIENTS" \
        --seconds "$SECONDS_OF_LOAD") || t_fail "the load had errors: $out"
    echo "load: $out"
    idle
    # A connection the clients closed may take warrend a moment to notice:
    # what is still there 10 s later is held.  Up to 10 descriptors more
    # are allowed: warrend's bounded caches (socket pairs of libcurl and
    # libmicrohttpd, measured at 6 to 8 pairs) hold a few more or fewer
    # depending on how many threads were busy at once; a leak of one
    # descriptor in a hundred requests would be 30 more after this load.
    local fd0 th0 rss0 heap0 fd1 th1 rss1 heap1 i
    read -r fd0 th0 rss0 heap0 <<<"$base"
    [ -n "$heap0" ] || t_fail "no warren_heap_bytes in /metrics"
    for i in $(seq 10); do
        end=$(usage "$WD_PID")
        read -r fd1 th1 rss1 heap1 <<<"$end"
        [ "$fd1" -le $((fd0 + 10)) ] && [ "$th1" -le $((th0 + 2)) ] && break
        sleep 1
    done
    ls -l "/proc/$WD_PID/fd" | awk '{ print $NF }' | sort > "$T_CASE_DIR/fds.after"
    diff "$T_CASE_DIR/fds.before" "$T_CASE_DIR/fds.after" || true
    echo "warrend after the warm-up: $fd0 descriptors, $th0 threads, $rss0 KiB resident, $heap0 KiB heap"
    echo "warrend after the load:    $fd1 descriptors, $th1 threads, $rss1 KiB resident, $heap1 KiB heap"
    [ "$(jq .errors <<<"$out")" = 0 ] || t_fail "errors under load: $out"
    [ "$(jq .cycles <<<"$out")" -ge "$CLIENTS" ] || t_fail "too few cycles: $out"
    [ "$fd1" -le $((fd0 + 10)) ] || t_fail "descriptors grew from $fd0 to $fd1"
    [ "$th1" -le $((th0 + 2)) ] || t_fail "threads grew from $th0 to $th1"
    # Memory: the heap (what warrend's allocator has handed out and not had
    # back) within 1 MiB of the warm-up's: a leak of 2 KiB a cycle would be
    # more.  Resident memory moves with what the allocator keeps (ASan's
    # quarantine and thread caches: 68.9 -> 95.8 MiB once in CI with a flat
    # heap), so it only has a looser bound, against growth outside the heap.
    [ "$heap1" -le $((heap0 + 1024)) ] || t_fail "the heap grew from $heap0 to $heap1 KiB"
    [ "$rss1" -le $((rss0 + rss0 / 4 + 16384)) ] || t_fail "memory grew from $rss0 to $rss1 KiB"
    assert_eq "$(t_leftovers)" "" "what the sandboxes left"
}

t_case "$CLIENTS clients creating, executing in and deleting sandboxes for ${SECONDS_OF_LOAD}s: no errors, descriptors, threads and memory flat" case_load
t_done
