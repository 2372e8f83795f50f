#!/usr/bin/env bash
# `warren image`: pull, ls, inspect, rm and prune against the local registry
# (tests/fixtures/registry), each case with its own state directory.
. "$(dirname "$0")/../lib.sh"

WARREN=${WARREN:-$WARREN_BUILD_DIR/src/cmd/warren/warren}

setup() {
    [ -x "$WARREN" ] || t_fail "warren not built: $WARREN"
    t_images "${1:-busybox}"
    ROOT=$T_CASE_DIR/root
    STORE=$ROOT/store
    W=("$WARREN" --root "$ROOT")
}

# W: warren with this case's state directory (an array, not a function:
# t_capture runs it with timeout).

# Path, size and modification time of everything under blobs/ and roots/
# (the roots one level deep): what a warm pull must not change.
store_snapshot() {
    (cd "$STORE" && find blobs -printf '%p %s %T@\n' | sort
        [ -d roots ] && find roots -maxdepth 2 -printf '%p %T@\n' | sort) || true
}

# Every blob's content matches its name (and there is one, unless
# ALLOW_EMPTY is given).
check_blob_digests() {
    local f n=0 sum allow_empty=${1:-}
    for f in "$STORE"/blobs/sha256/*; do
        [ -f "$f" ] || continue
        sum=$(sha256sum "$f" | cut -d' ' -f1)
        [ "$sum" = "$(basename "$f")" ] || t_fail "blob $f has digest sha256:$sum"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || [ -n "$allow_empty" ] || t_fail "no blobs in $STORE/blobs/sha256"
    echo "$n blobs match their digests"
}

# tree_listing DIR: one line per entry (path, type, mode, owner, size, link
# target, link count, mtime; directories' sizes depend on the filesystem, so
# they are left out), device numbers, and the SHA-256 of every regular
# file, sorted.
tree_listing() {
    (
        cd "$1"
        find . -mindepth 1 -printf '%P\t%y\t%m\t%U:%G\t%s\t%l\t%n\t%T@\n' |
            awk -F'\t' 'BEGIN { OFS = "\t" } $2 == "d" { $5 = "-" } { print }' | LC_ALL=C sort
        find . -mindepth 1 \( -type c -o -type b \) -printf '%P\n' | LC_ALL=C sort |
            while IFS= read -r dev; do printf '%s\tdev\t%s\n' "$dev" "$(stat -c '%t:%T' "$dev")"; done
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    )
}

case_pull_ls_inspect() {
    setup busybox
    t_capture out 120 "${W[@]}" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "warren image pull"
    assert_contains "$out" 'msg="layer done"' "the pull's log (no terminal: log lines)"
    assert_contains "$out" 'msg="unpacked"' "the pull's log"
    assert_not_contains "$out" $'\e[' "the pull's output (no terminal: no bars)"

    t_capture ls 30 "${W[@]}" image ls
    assert_status 0 "$T_STATUS" "warren image ls"
    assert_match "$ls" '^NAME +DIGEST +SIZE +CREATED' "ls header"
    assert_match "$ls" '127\.0\.0\.1:5000/library/busybox:latest +[0-9a-f]{12} +[0-9.]+ [KM]B +' "ls"

    t_capture json 30 "${W[@]}" image inspect "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "warren image inspect"
    assert_eq "$(jq -r .Name <<<"$json")" 127.0.0.1:5000/library/busybox:latest "inspect .Name"
    assert_eq "$(jq -c .Config.Cmd <<<"$json")" '["sh"]' "inspect .Config.Cmd"
    assert_match "$(jq -r '.Config.Env[]' <<<"$json")" '^PATH=/usr/local/sbin:' "inspect .Config.Env"
    assert_eq "$(jq -r '.Layers | length' <<<"$json")" 1 "inspect: number of layers"
    assert_match "$(jq -r '.Layers[0].Digest' <<<"$json")" '^sha256:[0-9a-f]{64}$' "inspect layer digest"
    local root
    root=$(jq -r .RootPath <<<"$json")
    assert_eq "$root" "$STORE/roots/$(jq -r .RootId <<<"$json")" "inspect .RootPath"
    [ -x "$root/bin/busybox" ] || t_fail "no executable $root/bin/busybox"
    assert_eq "$(readlink "$root/bin/sh")" /bin/busybox "link bin/sh"
    cmp "$root/bin/busybox" "$WARREN_BUSYBOX_ROOTFS/bin/busybox" || t_fail "bin/busybox differs"
    check_blob_digests
}

case_warm_pull() {
    setup busybox
    t_capture out 120 "${W[@]}" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "first pull"
    local before after
    before=$(store_snapshot)
    sleep 1.1 # a rewritten file would show a new mtime
    t_capture out 120 "${W[@]}" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "second pull"
    assert_contains "$out" 'msg="image is up to date"' "the second pull's log"
    assert_contains "$out" "(up to date)" "the second pull's output"
    assert_not_contains "$out" 'msg="fetching layers"' "the second pull's log"
    assert_not_contains "$out" 'msg="layer done"' "the second pull's log"
    assert_not_contains "$out" 'msg="unpacking"' "the second pull's log"
    after=$(store_snapshot)
    [ "$before" = "$after" ] || {
        diff <(echo "$before") <(echo "$after") || true
        t_fail "the second pull changed blobs/ or roots/"
    }
    [ -z "$(ls -A "$STORE/ingest" 2>/dev/null)" ] || t_fail "ingest/ is not empty after a warm pull"
}

case_rm_prune() {
    setup busybox
    t_capture out 120 "${W[@]}" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "pull"
    local root
    root=$("${W[@]}" image inspect "$WARREN_BUSYBOX_IMAGE" | jq -r .RootPath)
    [ -d "$root" ] || t_fail "no root $root"
    t_capture out 30 "${W[@]}" image rm "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "rm"
    assert_contains "$out" "removed 127.0.0.1:5000/library/busybox:latest"
    t_capture ls 30 "${W[@]}" image ls
    assert_not_contains "$ls" busybox "ls after rm"
    t_capture out 30 "${W[@]}" image inspect "$WARREN_BUSYBOX_IMAGE"
    assert_status 1 "$T_STATUS" "inspect after rm"
    assert_contains "$out" "no image" "inspect after rm"
    # rm leaves the blobs for prune.
    [ -n "$(ls -A "$STORE/blobs/sha256")" ] || t_fail "rm removed the blobs already"
    t_capture out 60 "${W[@]}" image prune
    assert_status 0 "$T_STATUS" "prune"
    # manifest, config and layer
    assert_match "$out" '^removed 3 blobs, 1 roots, 0 partial downloads; freed [0-9.]+ [KM]B$' "prune"
    [ -z "$(ls -A "$STORE/blobs/sha256")" ] || t_fail "blobs left after prune: $(ls "$STORE/blobs/sha256")"
    [ ! -e "$root" ] || t_fail "root $root left after prune"
    t_capture out 60 "${W[@]}" image prune
    assert_match "$out" '^removed 0 blobs, 0 roots' "a second prune"
}

case_prune_keeps_mounted_roots() {
    setup busybox
    t_capture out 120 "${W[@]}" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "pull"
    local root bundle=$T_CASE_DIR/bundle
    root=$("${W[@]}" image inspect "$WARREN_BUSYBOX_IMAGE" | jq -r .RootPath)
    t_capture out 60 "${W[@]}" image bundle "$WARREN_BUSYBOX_IMAGE" "$bundle"
    assert_status 0 "$T_STATUS" "bundle"
    t_defer umount -l "$bundle/rootfs"
    [ -x "$bundle/rootfs/bin/busybox" ] || t_fail "the bundle's rootfs has no bin/busybox"
    # The image goes, a sandbox (the bundle) still runs on its root.
    t_capture out 30 "${W[@]}" image rm "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "rm"
    t_capture out 60 "${W[@]}" image prune
    assert_status 0 "$T_STATUS" "prune with a mounted bundle"
    assert_match "$out" '^removed 3 blobs, 0 roots, 0 partial downloads' "prune with a mounted bundle"
    assert_contains "$out" "kept 1 roots of removed images: mounted bundles use them"
    [ -d "$root/bin" ] || t_fail "prune removed the root $root under a mounted bundle"
    [ -x "$bundle/rootfs/bin/busybox" ] || t_fail "the bundle lost its files"
    t_capture out 60 "${W[@]}" image unbundle "$bundle"
    assert_status 0 "$T_STATUS" "unbundle"
    t_capture out 60 "${W[@]}" image prune
    assert_match "$out" '^removed 0 blobs, 1 roots, 0 partial downloads' "prune after unbundle"
    [ ! -e "$root" ] || t_fail "root $root left after unbundle and prune"
}

# A full disk: the state directory on a small tmpfs.  First too small for
# the layer (the download fails), then big enough for the layer but not for
# its root (the unpack fails); each time the error names what failed and
# says what to do, nothing half-made is in blobs/ or roots/, and no image is
# recorded.  Then the tmpfs grows and the same pull completes, going on from
# the kept download.
case_full_disk() {
    setup debian-docker
    local mnt=$T_CASE_DIR/small layer
    mkdir -p "$mnt"
    mount -t tmpfs -o size=20m tmpfs "$mnt" || t_fail "mount a tmpfs"
    t_defer umount -l "$mnt"
    W=("$WARREN" --root "$mnt/w")
    STORE=$mnt/w/store
    layer=$(t_timeout 60 skopeo inspect --raw --tls-verify=false "docker://$WARREN_DEBIAN_IMAGE" | jq -r '.layers[0].digest')

    t_capture out 300 "${W[@]}" image pull "$WARREN_DEBIAN_IMAGE"
    assert_status 1 "$T_STATUS" "pull onto a full disk"
    assert_contains "$out" "blobs/$layer" "the error names the layer"
    assert_contains "$out" "No space left on device"
    assert_contains "$out" "the file system of $mnt/w is full: free space there"
    [ ! -e "$STORE/blobs/sha256/${layer#sha256:}" ] || t_fail "a partial layer is in blobs/"
    [ -z "$(ls -A "$STORE/roots")" ] || t_fail "roots/ is not empty: $(ls "$STORE/roots")"
    t_capture ls 30 "${W[@]}" image ls
    assert_not_contains "$ls" debian-docker "ls after a failed pull"

    # Room for the layer (147 MB), not for the root (381 MB).
    mount -o remount,size=250m "$mnt" || t_fail "grow the tmpfs"
    t_capture out 300 "${W[@]}" image pull "$WARREN_DEBIAN_IMAGE"
    assert_status 1 "$T_STATUS" "unpack onto a full disk"
    assert_contains "$out" "unpack: layer" "the error names the layer"
    assert_contains "$out" "entry \`" "the error names the entry"
    assert_contains "$out" "No space left on device"
    assert_contains "$out" "the file system of $mnt/w is full"
    [ -z "$(ls -A "$STORE/roots")" ] || t_fail "a half-made root is left in roots/: $(ls "$STORE/roots")"
    t_capture ls 30 "${W[@]}" image ls
    assert_not_contains "$ls" debian-docker "ls after a failed unpack"
    check_blob_digests

    mount -o remount,size=800m "$mnt" || t_fail "grow the tmpfs"
    t_capture out 300 "${W[@]}" image pull "$WARREN_DEBIAN_IMAGE"
    assert_status 0 "$T_STATUS" "the pull once there is room"
    root=$("${W[@]}" image inspect "$WARREN_DEBIAN_IMAGE" | jq -r .RootPath)
    [ -x "$root/usr/sbin/dockerd" ] || t_fail "no usr/sbin/dockerd in $root"
    check_blob_digests
}

# Many sandboxes starting at once from one image: four pulls of the same
# image into one store at the same time.  Each succeeds; the layer is
# downloaded into the store once checked and unpacked into one root; no
# temporary directory, partial download or second copy is left.
case_concurrent_pulls() {
    setup debian-docker
    local i pids=() status=0
    for i in 1 2 3 4; do
        "${W[@]}" image pull --quiet --limit-rate 50M "$WARREN_DEBIAN_IMAGE" > "$T_CASE_DIR/pull$i.log" 2>&1 &
        pids+=($!)
    done
    for i in 0 1 2 3; do
        wait "${pids[$i]}" || { status=$?; cat "$T_CASE_DIR/pull$((i + 1)).log"; }
    done
    assert_status 0 "$status" "four pulls at once"
    check_blob_digests
    assert_eq "$(ls "$STORE/roots" | wc -l)" 1 "entries in roots/ (one root, no temporaries)"
    [ -z "$(ls -A "$STORE/ingest")" ] || t_fail "ingest/ is not empty: $(ls "$STORE/ingest")"
    local root
    root=$("${W[@]}" image inspect "$WARREN_DEBIAN_IMAGE" | jq -r .RootPath)
    [ -x "$root/usr/sbin/dockerd" ] || t_fail "no usr/sbin/dockerd in $root"
    t_capture out 60 "${W[@]}" image pull "$WARREN_DEBIAN_IMAGE"
    assert_contains "$out" "image is up to date" "a fifth pull"
}

case_errors() {
    setup busybox
    local missing=${WARREN_BUSYBOX_IMAGE%:*}:no-such-tag
    t_capture out 60 "${W[@]}" image pull "$missing"
    assert_status 1 "$T_STATUS" "pull of a missing tag"
    assert_contains "$out" "$missing" "the error"
    t_capture out 60 "${W[@]}" image pull "$WARREN_REGISTRY/NoUpperCase:x"
    assert_status 1 "$T_STATUS" "pull of an invalid reference"
    assert_contains "$out" "NoUpperCase" "the error"
    t_capture out 10 "${W[@]}" image pull
    assert_status 2 "$T_STATUS" "pull with no reference"
    t_capture out 10 "${W[@]}" image pull --platform linux "$WARREN_BUSYBOX_IMAGE"
    assert_status 2 "$T_STATUS" "pull --platform linux"
    assert_contains "$out" "expected os/arch" "the error"
    t_capture out 10 "${W[@]}" image frobnicate
    assert_status 2 "$T_STATUS" "an unknown command"
    t_capture out 10 "${W[@]}" image rm no-such-image
    assert_status 1 "$T_STATUS" "rm of a missing image"
    assert_contains "$out" "no-such-image" "the error"
    # Nothing was recorded by the failed pulls.
    t_capture ls 30 "${W[@]}" image ls
    assert_eq "$(wc -l <<<"$ls")" 1 "ls after failed pulls (the header only)"
}

# A layer past a limit (its size uncompressed, its entries, a path's depth)
# is refused as it is read: an error naming the layer and the limit, no
# root or temporary left, no image recorded; then the pull completes
# within the default limits.  (Gzip and zstd bombs: tests/unit/layer/test_unpack.c.)
case_limits() {
    setup busybox
    local flag want
    for flag in "--max-layer-size 256K:bytes per layer" "--max-layer-entries 10:more than 10 entries" \
        "--max-path-depth 1:levels deep, over the limit of 1" "--max-image-size 256K:the image expands past"; do
        want=${flag#*:}
        # shellcheck disable=SC2086
        t_capture out 120 "${W[@]}" image pull ${flag%%:*} "$WARREN_BUSYBOX_IMAGE"
        assert_status 1 "$T_STATUS" "pull ${flag%%:*}"
        assert_contains "$out" "$want" "the error of pull ${flag%%:*}"
        assert_contains "$out" "layer \`" "the error names the layer"
        [ -z "$(find "$STORE/roots" -mindepth 1 -maxdepth 1 2>/dev/null)" ] ||
            t_fail "roots/ is not empty after pull ${flag%%:*}: $(ls -a "$STORE/roots")"
        t_capture ls 30 "${W[@]}" image ls
        assert_eq "$(wc -l <<<"$ls")" 1 "ls after pull ${flag%%:*} (the header only)"
    done
    t_capture out 10 "${W[@]}" image pull --max-layer-entries -3 "$WARREN_BUSYBOX_IMAGE"
    assert_status 2 "$T_STATUS" "a negative limit"
    t_capture out 120 "${W[@]}" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "pull within the default limits"
    check_blob_digests
}

# The root warren makes equals what skopeo + umoci make of the same image.
compare_with_umoci() {
    local image=$1 root=$2
    local oci=$T_CASE_DIR/oci bundle=$T_CASE_DIR/bundle
    rm -rf "$oci" "$bundle"
    t_timeout 300 skopeo copy --quiet --src-tls-verify=false "docker://$image" "oci:$oci:img"
    t_timeout 300 umoci unpack --image "$oci:img" "$bundle" > /dev/null
    tree_listing "$root" > "$T_CASE_DIR/warren.list"
    tree_listing "$bundle/rootfs" > "$T_CASE_DIR/umoci.list"
    local lines
    lines=$(wc -l < "$T_CASE_DIR/warren.list")
    echo "compared $lines lines of $image"
    [ "$lines" -gt 10 ] || t_fail "the listing of $root is nearly empty"
    if ! diff -u "$T_CASE_DIR/umoci.list" "$T_CASE_DIR/warren.list" > "$T_CASE_DIR/diff"; then
        head -n 40 "$T_CASE_DIR/diff"
        t_fail "the root of $image differs from umoci's ($(grep -c '^[-+][^-+]' "$T_CASE_DIR/diff") lines)"
    fi
    rm -rf "$oci" "$bundle"
}

case_same_root_as_umoci() {
    t_require skopeo umoci
    setup all
    local image root
    for image in "$WARREN_BUSYBOX_IMAGE" "$WARREN_DEBIAN_IMAGE"; do
        t_capture out 300 "${W[@]}" image pull "$image"
        assert_status 0 "$T_STATUS" "pull $image"
        root=$("${W[@]}" image inspect "$image" | jq -r .RootPath)
        compare_with_umoci "$image" "$root"
    done
}

# ingest/ holds a partial download of a layer (over 1 MB: not the config).
has_partial() {
    [ -n "$(find "$STORE/ingest" -name '*.partial' -size +1M 2> /dev/null)" ]
}

case_kill_during_pull() {
    setup debian-docker
    # Slowed down (10 MB/s) so that the kill lands in the middle of the layer.
    "${W[@]}" image pull --quiet --limit-rate 10M "$WARREN_DEBIAN_IMAGE" > "$T_CASE_DIR/pull1.log" 2>&1 &
    local pid=$! i killed=
    for i in $(seq 600); do
        if has_partial; then
            kill -KILL "$pid"
            killed=1
            break
        fi
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.05
    done
    wait "$pid" || true
    cat "$T_CASE_DIR/pull1.log"
    [ -n "$killed" ] || t_fail "never saw a partial download in ingest/ to kill the pull in"
    ls -l "$STORE/ingest"
    # No layer of the killed pull is in blobs/ half-made.
    check_blob_digests allow-empty
    local partial hex
    partial=$(find "$STORE/ingest" -name '*.partial' -size +1M | head -n 1)
    hex=$(basename "$partial" .partial)
    [ ! -e "$STORE/blobs/sha256/$hex" ] || t_fail "layer $hex is in blobs/ although its download was killed"
    t_capture out 300 "${W[@]}" image pull "$WARREN_DEBIAN_IMAGE"
    assert_status 0 "$T_STATUS" "the pull after kill -9"
    check_blob_digests
    local root
    root=$("${W[@]}" image inspect "$WARREN_DEBIAN_IMAGE" | jq -r .RootPath)
    [ -x "$root/usr/sbin/dockerd" ] || t_fail "no usr/sbin/dockerd in $root"
    [ -f "$STORE/blobs/sha256/$hex" ] || t_fail "layer $hex is not in blobs/ after the second pull"
    [ ! -e "$partial" ] || t_fail "the partial download $partial is still there"
    # No unpack left half-made roots beside the real one.
    assert_eq "$(ls "$STORE/roots" | wc -l)" 1 "entries in roots/"
}

case_index_and_zstd() {
    setup busybox
    eval "$(t_timeout 600 "$T_LIB_DIR/fixtures/image-variants" all)"
    # An index: the host's platform (amd64 here) is busybox.
    t_capture out 120 "${W[@]}" image pull "$WARREN_MULTI_IMAGE"
    assert_status 0 "$T_STATUS" "pull of an index"
    assert_contains "$out" 'msg="platform selected"' "the pull's log"
    local json root
    json=$("${W[@]}" image inspect "$WARREN_MULTI_IMAGE")
    assert_eq "$(jq -r .ManifestDigest <<<"$json")" "$WARREN_MULTI_AMD64" "the manifest chosen for the host"
    root=$(jq -r .RootPath <<<"$json")
    [ -x "$root/bin/busybox" ] || t_fail "no bin/busybox in the amd64 root $root"
    # --platform chooses another entry; the same name now points at it.
    t_capture out 120 "${W[@]}" image pull --platform linux/arm64/v8 "$WARREN_MULTI_IMAGE"
    assert_status 0 "$T_STATUS" "pull --platform linux/arm64/v8"
    json=$("${W[@]}" image inspect "$WARREN_MULTI_IMAGE")
    assert_eq "$(jq -r .ManifestDigest <<<"$json")" "$WARREN_MULTI_ARM64" "the manifest chosen for arm64"
    assert_eq "$(cat "$(jq -r .RootPath <<<"$json")/platform")" linux/arm64 "/platform of the arm64 root"
    t_capture out 60 "${W[@]}" image pull --platform linux/s390x "$WARREN_MULTI_IMAGE"
    assert_status 1 "$T_STATUS" "pull of a platform the index does not have"
    assert_contains "$out" "linux/amd64" "the error (the platforms offered)"
    # The index itself is kept with the image (so prune keeps it).
    [ -f "$STORE/blobs/sha256/${WARREN_MULTI_INDEX#sha256:}" ] || t_fail "the index is not in blobs/"
    # A zstd layer.
    t_capture out 120 "${W[@]}" image pull "$WARREN_ZSTD_IMAGE"
    assert_status 0 "$T_STATUS" "pull of a zstd image"
    root=$("${W[@]}" image inspect "$WARREN_ZSTD_IMAGE" | jq -r .RootPath)
    cmp "$root/bin/busybox" "$WARREN_BUSYBOX_ROOTFS/bin/busybox" || t_fail "bin/busybox of the zstd image differs"
    check_blob_digests
}

# --deadline stops a slow pull with an error that says so; SIGINT during a
# pull cancels it within a second or two.  Either way: no root, no
# temporary directory, nothing in ingest/ but the partial of the layer it
# was downloading; the next pull goes on from it.
case_deadline_and_interrupt() {
    setup debian-docker
    local started took
    started=$(date +%s%N)
    t_capture out 60 "${W[@]}" image pull --quiet --limit-rate 10M --deadline 1s "$WARREN_DEBIAN_IMAGE"
    took=$(( ($(date +%s%N) - started) / 1000000 ))
    assert_status 1 "$T_STATUS" "a pull past its deadline"
    assert_contains "$out" "the pull deadline of 1 s passed"
    assert_contains "$out" "/blobs/sha256:"
    [ "$took" -lt 4000 ] || t_fail "the pull stopped ${took} ms after it started, with a 1 s deadline"
    assert_eq "$(ls -A "$STORE/roots" | wc -l)" 0 "entries in roots/ after the deadline"
    assert_eq "$(ls -A "$STORE/ingest" | grep -vc '\.partial$')" 0 "non-partial entries in ingest/"

    # Interrupted once it is downloading again (the partial grows).
    partial_bytes() { find "$STORE/ingest" -name '*.partial' -printf '%s\n' | sort -n | tail -n 1; }
    local before
    before=$(partial_bytes)
    "${W[@]}" image pull --quiet --limit-rate 10M "$WARREN_DEBIAN_IMAGE" > "$T_CASE_DIR/pull2.log" 2>&1 &
    local pid=$! i now
    for i in $(seq 600); do
        now=$(partial_bytes)
        [ "${now:-0}" -gt $(( ${before:-0} + 2000000 )) ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.05
    done
    started=$(date +%s%N)
    kill -INT "$pid"
    local status=0
    wait "$pid" || status=$?
    took=$(( ($(date +%s%N) - started) / 1000000 ))
    cat "$T_CASE_DIR/pull2.log"
    assert_status 1 "$status" "a pull interrupted with SIGINT"
    assert_file_contains "$T_CASE_DIR/pull2.log" "cancelled"
    [ "$took" -lt 2000 ] || t_fail "the pull took ${took} ms to stop after SIGINT"
    assert_eq "$(ls -A "$STORE/roots" | wc -l)" 0 "entries in roots/ after SIGINT"
    assert_eq "$(ls -A "$STORE/ingest" | grep -vc '\.partial$')" 0 "non-partial entries in ingest/"
    check_blob_digests allow-empty

    t_capture out 300 "${W[@]}" image pull --quiet "$WARREN_DEBIAN_IMAGE"
    assert_status 0 "$T_STATUS" "the pull after the deadline and the interrupt"
    assert_eq "$(ls -A "$STORE/roots" | wc -l)" 1 "entries in roots/"
}

t_case "pull, then ls and inspect show the image and its root" case_pull_ls_inspect
t_case "a second pull does no layer work" case_warm_pull
t_case "rm, then prune frees the blobs and the root" case_rm_prune
t_case "prune keeps the root of a removed image while a bundle uses it" case_prune_keeps_mounted_roots
t_case "errors: missing tag, bad reference, usage" case_errors
t_case "limits: a layer too big, too many entries, too deep: refused, nothing left" case_limits
T_CASE_TIMEOUT=900 t_case "a full disk: clear errors, nothing half-made, then the pull completes" case_full_disk
t_case "an index (host platform and --platform) and a zstd layer" case_index_and_zstd
T_CASE_TIMEOUT=600 t_case "kill -9 during a pull, then pull again" case_kill_during_pull
T_CASE_TIMEOUT=600 t_case "--deadline and SIGINT stop a pull, nothing half-made, then it completes" case_deadline_and_interrupt
T_CASE_TIMEOUT=600 t_case "four pulls of one image at once share one download and one root" case_concurrent_pulls
T_CASE_TIMEOUT=900 t_case "the pulled root equals skopeo + umoci's" case_same_root_as_umoci
t_done
