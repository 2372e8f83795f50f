#!/usr/bin/env bash
# `warren image build`: a plain Debian image (tests/fixtures/apt-mirror) with
# --with-docker from the local apt repository, then that image run through
# warren-runtime with the docker profile (dockerd ready, a nested container
# runs), the same build again from the cache, and a push pulled back by digest.
#
# The cases share one state directory (a build takes minutes; the cache and
# the run need its result), made before the first and removed after the last.
. "$(dirname "$0")/../lib.sh"

WARREN=${WARREN:-$WARREN_BUILD_DIR/src/cmd/warren/warren}
ROOT=$T_TMP_ROOT/image_build.$$
STORE=$ROOT/store
W=("$WARREN" --root "$ROOT")
BUILT=127.0.0.1:5000/warren-test/debian-docker:built

setup() {
    [ -x "$WARREN" ] || t_fail "warren not built: $WARREN"
    local vars
    vars=$(timeout -k 5 1500 "$T_LIB_DIR/fixtures/apt-mirror" start) ||
        t_fail "tests/fixtures/apt-mirror failed"
    eval "$vars"
    t_images busybox
    # The nested dockerd pulls busybox through the local registry.
    DAEMON_JSON=$ROOT/daemon.json
    printf '{\n  "registry-mirrors": ["http://%s"]\n}\n' "$WARREN_REGISTRY" > "$DAEMON_JSON"
}

build_args() {
    # The copy first: each layer step unpacks the whole new root once, and
    # the small one is cheaper before Docker's packages than after.
    echo --from "$WARREN_DEBIAN_BASE_IMAGE" --copy "$DAEMON_JSON:/etc/docker/daemon.json" \
        --with-docker --apt-mirror "$WARREN_APT_MIRROR" --env WARREN_BUILT=1 -t "$BUILT"
}

blob_count() { find "$STORE/blobs" -type f | wc -l; }

case_build_with_docker() {
    setup
    t_capture out 120 "${W[@]}" image pull "$WARREN_DEBIAN_BASE_IMAGE"
    assert_status 0 "$T_STATUS" "warren image pull of the plain Debian image"
    local base_root
    base_root=$("${W[@]}" image inspect "$WARREN_DEBIAN_BASE_IMAGE" | jq -r .RootPath)
    [ ! -e "$base_root/usr/sbin/dockerd" ] || t_fail "the base image already has dockerd"

    # shellcheck disable=SC2046
    t_capture out 900 "${W[@]}" image build $(build_args)
    assert_status 0 "$T_STATUS" "warren image build --with-docker"
    assert_match "$out" '3 steps run, 0 cached, 2 layers added' "the build's summary"
    assert_contains "$out" "Setting up docker.io" "apt's output, shown by the build"

    local info root
    info=$("${W[@]}" image inspect "$BUILT")
    root=$(jq -r .RootPath <<<"$info")
    [ -x "$root/usr/sbin/dockerd" ] || t_fail "no /usr/sbin/dockerd in the built root $root"
    assert_eq "$(readlink "$root/etc/alternatives/iptables")" /usr/sbin/iptables-legacy "the iptables alternative"
    assert_eq "$(readlink "$root/etc/alternatives/ip6tables")" /usr/sbin/ip6tables-legacy "the ip6tables alternative"
    assert_eq "$(jq -r '.["registry-mirrors"][0]' "$root/etc/docker/daemon.json")" "http://$WARREN_REGISTRY" "the copied daemon.json"
    [ ! -e "$root/usr/sbin/policy-rc.d" ] || t_fail "policy-rc.d stayed in the image"
    [ -z "$(ls "$root/var/lib/apt/lists" 2>/dev/null | grep -v '^lock$\|^partial$' || true)" ] ||
        t_fail "package lists stayed in the image: $(ls "$root/var/lib/apt/lists")"
    [ ! -e "$root/tmp/warren-apt" ] || t_fail "the mirror's source list stayed in the image"
    assert_eq "$(jq -r .Layers\|length <<<"$info")" 3 "layers of the built image"
    assert_contains "$(jq -c .Config.Env <<<"$info")" "WARREN_BUILT=1" "the built image's env"
    # The base root was not changed by the build (overlay, no copy).
    [ ! -e "$base_root/usr/sbin/dockerd" ] || t_fail "the build wrote into the base image's root"
}

case_built_image_runs_docker() {
    setup
    [ -d "$STORE" ] || t_fail "no store: the build case did not run"
    t_require_warren
    local b=$T_CASE_DIR/bundle state=$T_CASE_DIR/state id=wib-$$
    t_defer "$WARREN" image unbundle "$b"
    t_capture out 30 "${W[@]}" image bundle --host-network --annotation dev.warren.profile=docker \
        "$BUILT" "$b" -- sh -c 'docker run --rm --network=host busybox echo nested-ok'
    assert_status 0 "$T_STATUS" "warren image bundle"
    [ -f "$b/config.json" ] || t_fail "no config.json in the bundle"
    assert_eq "$(jq -r '.annotations["org.opencontainers.image.ref.name"]' "$b/config.json")" "$BUILT" "the bundle's image annotation"
    assert_contains "$(jq -c .process.env "$b/config.json")" "WARREN_BUILT=1" "the bundle's env"
    t_sandbox_cleanup "$state" "$id"
    t_capture out 240 "$WARREN_RUNTIME" --root "$state" --init "$WARREN_INIT" run --bundle "$b" "$id"
    assert_contains "$out" "docker daemon is ready"
    assert_match "$out" '(^|[[:space:]])nested-ok($|[[:space:]])' "the nested container's output"
    assert_status 0 "$T_STATUS" "warren-runtime run of the built image"
}

case_second_build_is_cached() {
    setup
    [ -d "$STORE" ] || t_fail "no store: the build case did not run"
    local before after start took
    before=$(blob_count)
    start=$(date +%s.%N)
    # shellcheck disable=SC2046
    t_capture out 60 "${W[@]}" image build $(build_args)
    took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    assert_status 0 "$T_STATUS" "the second warren image build"
    assert_match "$out" '0 steps run, 3 cached, 0 layers added' "the second build's summary"
    assert_eq "$(grep -c 'msg="cache hit"' <<<"$out")" 3 "cache hits logged"
    assert_not_contains "$out" "Setting up" "the second build's output"
    after=$(blob_count)
    assert_eq "$after" "$before" "blobs in the store after the second build"
    awk -v t="$took" 'BEGIN { exit !(t < 10) }' || t_fail "the cached build took ${took}s"
    echo "cached build took ${took}s"
}

case_push_and_pull_back() {
    setup
    [ -d "$STORE" ] || t_fail "no store: the build case did not run"
    local digest dest=$WARREN_REGISTRY/warren-test/debian-docker:pushed-$$ other=$T_CASE_DIR/other
    digest=$("${W[@]}" image inspect "$BUILT" | jq -r .ManifestDigest)
    t_capture out 300 "${W[@]}" image push "$BUILT" "$dest"
    assert_status 0 "$T_STATUS" "warren image push"
    assert_contains "$out" "$dest@$digest" "the push's summary"
    # At least the config is new (it has a creation time); the registry may
    # have the base layer in this repository from an earlier run.
    assert_match "$out" '[1-4] blobs pushed, [0-3] already there' "the first push's summary"
    t_capture out 120 "${W[@]}" image push "$BUILT" "$dest"
    assert_status 0 "$T_STATUS" "the second warren image push"
    assert_match "$out" '0 blobs pushed, 4 already there' "the second push's summary"
    # Back by digest into another store: the same manifest and root.
    t_capture out 300 "$WARREN" --root "$other" image pull "${dest%:*}@$digest"
    assert_status 0 "$T_STATUS" "warren image pull of the pushed image by digest"
    local root_a root_b
    root_a=$("${W[@]}" image inspect "$BUILT" | jq -r .RootId)
    root_b=$("$WARREN" --root "$other" image inspect "${dest%:*}@$digest" | jq -r .RootId)
    assert_eq "$root_b" "$root_a" "the root id of the image pulled back"
    [ -x "$other/store/roots/$root_b/usr/sbin/dockerd" ] || t_fail "no dockerd in the pulled-back root"
}

# The apt repository's server is stopped at the end unless it was running.
apt_mirror_was_running=0
curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:${WARREN_APT_MIRROR_PORT:-5080}/Packages.gz" &&
    apt_mirror_was_running=1

# SIGINT while a step runs stops the build: the step's sandbox is killed and
# deleted, its bundle unmounted and removed, no image recorded.
case_interrupted_build() {
    setup
    local log=$T_CASE_DIR/build.log name=127.0.0.1:5000/warren-test/interrupted:1
    "${W[@]}" image build --from "$WARREN_DEBIAN_BASE_IMAGE" --run "sleep 300" -t "$name" > "$log" 2>&1 &
    local pid=$! i
    for i in $(seq 600); do
        grep -q 'msg=running' "$log" && [ -n "$(runsc --root "$STORE/build/runsc" list -quiet 2>/dev/null)" ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    [ -n "$(runsc --root "$STORE/build/runsc" list -quiet 2>/dev/null)" ] ||
        { cat "$log"; t_fail "the build's step sandbox never ran"; }
    sleep 1
    local started took status=0
    started=$(date +%s%N)
    kill -INT "$pid"
    wait "$pid" || status=$?
    took=$(( ($(date +%s%N) - started) / 1000000 ))
    cat "$log"
    assert_status 1 "$status" "a build interrupted with SIGINT"
    assert_file_contains "$log" "cancelled"
    [ "$took" -lt 5000 ] || t_fail "the build took ${took} ms to stop after SIGINT"
    assert_eq "$(runsc --root "$STORE/build/runsc" list -quiet 2>/dev/null | wc -l)" 0 "runsc containers of the build"
    assert_eq "$(pgrep -fc "$STORE/build/runsc" || true)" 0 "runsc processes of the build"
    assert_eq "$(grep -c " $STORE/build" /proc/mounts || true)" 0 "mounts under the build directory"
    assert_eq "$(find "$STORE/build" -mindepth 1 -maxdepth 1 ! -name runsc | wc -l)" 0 "bundles left in the build directory"
    if "${W[@]}" image inspect "$name" > /dev/null 2>&1; then
        t_fail "the interrupted build recorded $name"
    fi
}

mkdir -p "$ROOT"
T_CASE_TIMEOUT=1200 t_case "build --with-docker from the local apt repository" case_build_with_docker
T_CASE_TIMEOUT=300 t_case "the built image runs dockerd and a nested container" case_built_image_runs_docker
T_CASE_TIMEOUT=120 t_case "a second identical build is all cache hits" case_second_build_is_cached
T_CASE_TIMEOUT=600 t_case "push to the local registry and pull back by digest" case_push_and_pull_back
T_CASE_TIMEOUT=300 t_case "SIGINT during a step stops the build, nothing left" case_interrupted_build
for d in "$STORE"/build/*/rootfs; do [ -d "$d" ] && umount -l "$d" 2>/dev/null; done
rm -rf "$ROOT"
[ $apt_mirror_was_running = 1 ] || [ "${WARREN_TEST_KEEP:-0}" = 1 ] ||
    "$T_LIB_DIR/fixtures/apt-mirror" stop > /dev/null 2>&1 || true
t_done
