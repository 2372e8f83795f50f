# Shared by bench/docker-ready and bench/create: a host dockerd of the
# benchmark's own (tests/fixtures/host-dockerd) with the runtimes warren-docker
# and runsc, and the `docker run`s of docker-ready's kinds: warren
# (--runtime=warren-docker), recipe (gVisor's published Docker-in-gVisor
# steps) and lean (the leanest start that works here); see the header of
# bench/docker-ready for what each one runs.  Source after lib.sh:
#
#   docker_bench_init WORK BUILD   sets the globals (the image, the scripts);
#                                  WORK is the caller's scratch directory
#   docker_bench_start             starts the dockerd and pulls the image
#   verify KIND                    one untimed run that must work (warm-up)
#   timed KIND I                   one timed run, a line in WORK/KIND.tsv
#                                  (column 1: the total in ms)
#   docker_bench_cleanup           removes the container being run, stops
#                                  the dockerd, unmounts what it left
#
# Environment: DOCKER_CLI, WARREN_BENCH_CACHE (the dockerd's data root, kept
# so the image is pulled once; default /var/cache/warren-bench; one run at a
# time).

docker_bench_init() {
    work=$1 build=$2
    local top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    fixtures=$top/tests/fixtures
    docker=${DOCKER_CLI:-/usr/bin/docker}
    local tool
    for tool in runsc dockerd jq curl "$docker"; do
        command -v "$tool" > /dev/null || bench_die "$tool not found: run scripts/setup"
    done
    runtime=$build/src/cmd/warren-runtime/warren-runtime
    [ -x "$runtime" ] || bench_die "no warren-runtime at $runtime"
    if grep -q __asan_init "$runtime" 2> /dev/null; then
        bench_log "warning: $runtime is built with ASan; times will be slower than real"
    fi
    # The images (built once, cached) in the shared test registry.  When the
    # registry has both already, the fixture (and its build lock) is skipped.
    bench_images debian-docker busybox
    image=$WARREN_DEBIAN_IMAGE
    bench_cache=${WARREN_BENCH_CACHE:-/var/cache/warren-bench}
    current= # the container being run, removed on exit
    docker_run_extra=() # flags added to every docker run (bench/create sets them)
    # Every docker command talks to that dockerd.
    export DOCKER_HOST=unix://$work/run/dockerd/docker.sock
    docker_ping=$(realpath -m "$build/tests/tools/docker-ping")
    [ -x "$docker_ping" ] || bench_die "$docker_ping is not built (ninja -C $build)"
}

marker=READY-MARKER
run_timeout=120 # seconds a whole `docker run` may take
ready_timeout=90 # seconds until the marker must appear

fixture_dockerd() {
    WARREN_TEST_RUN=$work/run WARREN_TEST_CACHE=$bench_cache WARREN_RUNTIME=$runtime \
        timeout 180 "$fixtures/host-dockerd" "$@"
}

docker_bench_cleanup() {
    set +e
    [ -z "$current" ] || timeout 60 "$docker" rm -f "$current" > /dev/null 2>&1
    fixture_dockerd stop > /dev/null 2>&1
    # Anything dockerd left mounted under our directory (its netns mount).
    local m
    for m in $(awk -v d="$work/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
        umount -l "$m" 2> /dev/null
    done
}

docker_bench_start() {
    fixture_dockerd start
    bench_log "pulling $image into the benchmark's dockerd"
    timeout 600 "$docker" pull -q "$image" > /dev/null || bench_die "could not pull $image"
    local runtimes rt
    runtimes=$(timeout 30 "$docker" info --format '{{json .Runtimes}}')
    for rt in warren-docker runsc; do
        jq -e --arg rt "$rt" 'has($rt)' <<< "$runtimes" > /dev/null ||
            bench_die "the benchmark's dockerd has no runtime $rt: $runtimes"
    done
}

# The scripts run by the image's /bin/sh (dash).  @MARKER@ and @AFTER@ (what
# runs after the marker) are filled in.  The reads of /proc/uptime (shell
# builtins, no process) split the time on the sandbox's clock.
read -r -d '' warren_script << 'EOF' || true
read u rest < /proc/uptime
echo "@MARKER@ $u"
@AFTER@
EOF
read -r -d '' recipe_prepare << 'EOF' || true
umount -R /sys/fs/cgroup
read uf rest < /proc/uptime
mount -t tmpfs cgroups /sys/fs/cgroup
for c in devices memory cpu cpuacct cpuset pids; do
    mkdir -p /sys/fs/cgroup/$c
    mount -t cgroup -o $c $c /sys/fs/cgroup/$c
done
update-alternatives --set iptables /usr/sbin/iptables-legacy > /dev/null
EOF
read -r -d '' baseline_script << 'EOF' || true
set -e
read u0 rest < /proc/uptime
@PREPARE@
mkdir -p /var/lib/docker
mount -t tmpfs tmpfs /var/lib/docker
read u1 rest < /proc/uptime
dockerd --bridge=none --iptables=false --ip-forward=false > /var/log/dockerd.log 2>&1 &
@WAIT@
read u2 rest < /proc/uptime
echo "@MARKER@ $u2 start=$u0 dockerd=$u1 unmounted=${uf:-$u0}"
@AFTER@
EOF

# How the baselines wait for dockerd.  recipe: gVisor's published way,
# `docker info` every 100 ms.  lean: the way warren-init does, GET /_ping on
# the socket every 20 ms (tests/tools/docker-ping, static, mounted in).
read -r -d '' recipe_wait << 'WAIT_END' || true
n=0
until docker info > /dev/null 2>&1; do
    n=$((n + 1))
    if [ $n -ge 300 ]; then
        echo "baseline: dockerd did not answer docker info within 30 s" >&2
        tail -n 20 /var/log/dockerd.log >&2
        exit 1
    fi
    sleep 0.1
done
WAIT_END
lean_wait='/warren-bench/docker-ping /var/run/docker.sock 20 30000 || { tail -n 20 /var/log/dockerd.log >&2; exit 1; }'

# docker_run_cmd KIND NAME AFTER: sets the array CMD.
docker_run_cmd() {
    local kind=$1 name=$2 after=$3 script
    case $kind in
        warren) script=$warren_script ;;
        recipe) script=${baseline_script//@PREPARE@/"$recipe_prepare"}
            script=${script//@WAIT@/"$recipe_wait"} ;;
        lean) script=${baseline_script//@PREPARE@/:}
            script=${script//@WAIT@/"$lean_wait"} ;;
    esac
    script=${script//@MARKER@/"$marker"}
    script=${script//@AFTER@/"$after"}
    # docker_run_extra: flags the caller adds to every run (bench/create's
    # --cpus), none by default.
    local extra=("${docker_run_extra[@]}")
    case $kind in
        warren) CMD=("$docker" run --rm --name "$name" "${extra[@]}" --runtime=warren-docker --network=host
            "$image" sh -c "$script") ;;
        recipe) CMD=("$docker" run --rm --name "$name" "${extra[@]}" --runtime=runsc --network=host --cap-add all
            "$image" sh -c "$script") ;;
        lean) CMD=("$docker" run --rm --name "$name" "${extra[@]}" --runtime=runsc --network=host --cap-add all
            -v "$docker_ping:/warren-bench/docker-ping:ro" "$image" sh -c "$script") ;;
    esac
}

show_fail() { # OUTPUT MESSAGE
    printf '%s\n' "$1" >&2
    bench_die "$2"
}

# verify KIND: one untimed run that must reach the marker and then run a
# nested container (busybox through the registry mirror); also the warm-up.
verify() {
    local kind=$1 name=warren-bench-verify-$1-$$ out
    current=$name
    docker_run_cmd "$kind" "$name" 'docker run --rm --network=host busybox echo nested-ok'
    out=$(timeout 240 "${CMD[@]}" < /dev/null 2>&1) || show_fail "$out" "the $kind run failed (output above)"
    current=
    grep -q "^$marker " <<< "$out" || show_fail "$out" "the $kind run printed no $marker"
    grep -qx nested-ok <<< "$out" || show_fail "$out" "the $kind run's nested container did not print nested-ok"
    if [ "$kind" = warren ]; then
        grep -q 'docker daemon is ready' <<< "$out" || show_fail "$out" "warren-init printed no ready line"
    fi
    bench_log "$kind works: dockerd answered and a nested container ran"
}

# field_ms NAME LINE: the number in `NAME=1.234s` in LINE, in ms (0 if absent).
field_ms() {
    local v
    v=$(sed -nE "s/.*[[:space:]]$1=([0-9.]+)s?([[:space:]].*)?\$/\\1/p" <<< "$2" | head -n 1)
    awk -v v="${v:-0}" 'BEGIN { printf "%.1f", v * 1000 }'
}

# timed KIND I: one timed run; appends a line to $work/KIND.tsv:
#   total engine boot prepare dockerd after, then for warren: its cgroups,
#   tmpfs and iptables steps; for the baselines: the unmount step
# engine: docker run until the sandbox's clock starts, plus the marker's way
# back; boot: sandbox clock start until init (or the script) starts;
# after: warren-init's ready until the command printed.
timed() {
    local kind=$1 i=$2 name=warren-bench-$1-$2-$$
    local out=$work/$kind-$i.out t0 t_mark="" line fd pid left deadline mark_line=""
    docker_run_cmd "$kind" "$name" 'exec sleep 60'
    current=$name
    : > "$out"
    now_ns_var t0
    exec {fd}< <(exec timeout "$run_timeout" "${CMD[@]}" < /dev/null 2>&1)
    pid=$!
    deadline=$((SECONDS + ready_timeout))
    while left=$((deadline - SECONDS)) && [ "$left" -gt 0 ] &&
        IFS= read -r -t "$left" -u "$fd" line; do
        if [[ $line == "$marker "* ]]; then
            now_ns_var t_mark
            mark_line=$line
            break
        fi
        printf '%s\n' "$line" >> "$out"
    done
    # Untimed: remove the container, collect the rest of its output.
    timeout 60 "$docker" rm -f "$name" > /dev/null 2>&1 || true
    timeout 30 cat <&"$fd" >> "$out" || true
    exec {fd}<&-
    wait "$pid" 2> /dev/null || true
    current=
    [ -n "$t_mark" ] || show_fail "$(tail -n 30 "$out")" "$kind run $i: no $marker within ${ready_timeout}s"
    local total u_mark
    total=$(ms_between "$t0" "$t_mark")
    u_mark=$(awk '{ printf "%.1f", $2 * 1000 }' <<< "$mark_line")
    if [ "$kind" = warren ]; then
        local ready boot init_total prepare dockerd tmpfs iptables cgroups
        ready=$(grep -m1 'docker daemon is ready' "$out") ||
            show_fail "$(cat "$out")" "warren run $i: no ready line from warren-init"
        boot=$(field_ms uptime_at_init_start "$ready")
        init_total=$(field_ms since_init_start "$ready")
        prepare=$(field_ms prepare "$ready")
        dockerd=$(field_ms since_dockerd_start "$ready")
        cgroups=$(field_ms took "$(grep -m1 'msg="cgroups mounted"' "$out" || true)")
        tmpfs=$(field_ms took "$(grep -m1 'msg="tmpfs mounted"' "$out" || true)")
        iptables=$(field_ms took "$(grep -m1 'msg="selected iptables-legacy' "$out" || true)")
        awk -v t="$total" -v u="$u_mark" -v b="$boot" -v it="$init_total" -v p="$prepare" \
            -v d="$dockerd" -v cg="$cgroups" -v tm="$tmpfs" -v ip="$iptables" 'BEGIN {
            printf "%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n",
                t, t - u, b, p, d, u - b - it, cg, tm, ip }' >> "$work/$kind.tsv"
    else
        local u0 u1 uf
        u0=$(sed -nE 's/.* start=([0-9.]+).*/\1/p' <<< "$mark_line")
        u1=$(sed -nE 's/.* dockerd=([0-9.]+).*/\1/p' <<< "$mark_line")
        uf=$(sed -nE 's/.* unmounted=([0-9.]+).*/\1/p' <<< "$mark_line")
        awk -v t="$total" -v u="$u_mark" -v a="$u0" -v b="$u1" -v f="$uf" 'BEGIN {
            printf "%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n",
                t, t - u, a * 1000, (b - a) * 1000, u - b * 1000, 0, (f - a) * 1000 }' >> "$work/$kind.tsv"
    fi
    bench_log "$kind run $i: $total ms"
}

col_median() { # KIND COLUMN
    cut -f "$2" "$work/$1.tsv" > "$work/col"
    median "$work/col"
}

