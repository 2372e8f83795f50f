#!/usr/bin/env bash
# Unpacking: the root warren makes of an image is the one `skopeo copy` +
# `umoci unpack` make of it: same files, types, modes, owners, link
# targets, sizes, link counts, times and contents.  Each image comes from
# the local registry (tests/fixtures) into an OCI layout with skopeo; umoci
# unpacks that layout, and so does warren (tests/tools/warren-unpack-tool,
# which calls wr_unpack_root and checks every diff_id).
. "$(dirname "$0")/../lib.sh"

UNPACK_TOOL=${UNPACK_TOOL:-$WARREN_BUILD_DIR/tests/tools/warren-unpack-tool}

unpack_init() {
    t_require skopeo umoci
    [ -x "$UNPACK_TOOL" ] || t_fail "warren-unpack-tool not built: $UNPACK_TOOL"
    t_images "$1"
    # On disk, not the case's tmpfs: the Debian root is a few hundred MB,
    # three times over.
    WORK=$(mktemp -d /var/tmp/warren-unpack.XXXXXX)
    t_defer rm -rf "$WORK"
}

# listing DIR: one line per file (path, type, mode, uid, gid, size, link
# target, link count, mtime), then the SHA-256 of every regular file.
# Directory sizes depend on the filesystem's history, so they are left out;
# so are atimes (umoci sets them to the time of the unpack).
listing() {
    (
        cd "$1"
        find . -printf '%p|%y|%m|%U|%G|%s|%l|%n|%T@\n' |
            awk -F'|' 'BEGIN { OFS = "|" } $2 == "d" { $6 = "-" } { print }' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    )
}

# compare WHAT EXPECTED_ROOT ACTUAL_ROOT: fails naming every difference.
compare_roots() {
    local what=$1 expected=$2 actual=$3
    listing "$expected" > "$WORK/expected.txt"
    listing "$actual" > "$WORK/actual.txt"
    local files
    files=$(grep -c '|' "$WORK/expected.txt" || true)
    echo "$what: $files files in umoci's root"
    [ "$files" -gt 10 ] || t_fail "$what: umoci's root has only $files entries"
    if ! diff -u "$WORK/expected.txt" "$WORK/actual.txt" > "$WORK/diff.txt"; then
        echo "--- differences (- umoci, + warren), path|type|mode|uid|gid|size|link|nlink|mtime:"
        head -n 80 "$WORK/diff.txt"
        t_fail "$what: warren's root differs from umoci's in $(grep -c '^[-+][^-+]' "$WORK/diff.txt") lines"
    fi
}

# copy_image REF LAYOUT TAG [skopeo args...]
copy_image() {
    local ref=$1 layout=$2 tag=$3; shift 3
    t_timeout 600 skopeo copy --quiet --src-tls-verify=false "$@" "docker://$ref" "oci:$layout:$tag"
}

umoci_unpack() {
    t_timeout 600 umoci unpack --image "$1" "$2" > /dev/null
}

compare_image() {
    local ref=$1
    copy_image "$ref" "$WORK/layout" img
    umoci_unpack "$WORK/layout:img" "$WORK/bundle"
    t_timeout 600 "$UNPACK_TOOL" "$WORK/layout" img "$WORK/warren"
    compare_roots "$ref" "$WORK/bundle/rootfs" "$WORK/warren"
    # Nothing but the root was left next to it.
    assert_eq "$(ls "$WORK" | tr '\n' ' ')" "actual.txt bundle diff.txt expected.txt layout warren " \
        "what the unpack left in $WORK"
}

case_busybox() {
    unpack_init busybox
    compare_image "$WARREN_BUSYBOX_IMAGE"
}

case_debian() {
    unpack_init debian-docker
    compare_image "$WARREN_DEBIAN_IMAGE"
}

# The same image recompressed with zstd: skopeo writes zstd layers (and
# their new digests) into the layout; the root must be the one umoci makes
# of the gzip image.
case_zstd() {
    unpack_init busybox
    copy_image "$WARREN_BUSYBOX_IMAGE" "$WORK/gzip" img
    copy_image "$WARREN_BUSYBOX_IMAGE" "$WORK/zstd" img --dest-compress --dest-compress-format zstd
    local media
    media=$(jq -r '.manifests[0].digest' "$WORK/zstd/index.json" | sed 's/^sha256://')
    media=$(jq -r '.layers[0].mediaType' "$WORK/zstd/blobs/sha256/$media")
    assert_eq "$media" "application/vnd.oci.image.layer.v1.tar+zstd" "the zstd layout's layer type"
    umoci_unpack "$WORK/gzip:img" "$WORK/bundle"
    t_timeout 600 "$UNPACK_TOOL" "$WORK/zstd" img "$WORK/warren"
    compare_roots "zstd busybox" "$WORK/bundle/rootfs" "$WORK/warren"
}

# Two layers: busybox, and on top of it a layer `umoci repack` makes of a
# changed root: whiteouts (a file, a directory, a directory replaced by a
# file with whiteouts under it), a symlink replacing a file, hard links,
# device nodes, a fifo, owners and modes.
case_second_layer() {
    unpack_init busybox
    copy_image "$WARREN_BUSYBOX_IMAGE" "$WORK/layout" img
    umoci_unpack "$WORK/layout:img" "$WORK/edit"
    local r=$WORK/edit/rootfs
    rm -f "$r/bin/ls"
    rm -rf "$r/sbin" "$r/usr/sbin"
    echo now-a-file > "$r/usr/sbin"
    rm -f "$r/etc/passwd"
    ln -s /etc/group "$r/etc/passwd"
    mkdir -p "$r/opt/app/sub"
    echo hello > "$r/opt/app/sub/file"
    ln "$r/opt/app/sub/file" "$r/opt/app/hard"
    chown 1000:2000 "$r/opt/app/hard"
    echo setuid > "$r/opt/app/suid"
    chmod 4755 "$r/opt/app/suid"
    chmod 1777 "$r/opt/app/sub"
    mknod "$r/opt/app/null" c 1 3
    mknod "$r/opt/app/loop" b 7 0
    mkfifo "$r/opt/app/fifo"
    t_timeout 300 umoci repack --image "$WORK/layout:img2" "$WORK/edit"
    local manifest layer
    manifest=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "img2")
        | .digest' "$WORK/layout/index.json" | sed 's/^sha256://')
    assert_eq "$(jq '.layers | length' "$WORK/layout/blobs/sha256/$manifest")" 2 "layers in img2"
    layer=$(jq -r '.layers[1].digest' "$WORK/layout/blobs/sha256/$manifest" | sed 's/^sha256://')
    assert_contains "$(tar -tzf "$WORK/layout/blobs/sha256/$layer")" "bin/.wh.ls" "the second layer"
    umoci_unpack "$WORK/layout:img2" "$WORK/bundle"
    t_timeout 600 "$UNPACK_TOOL" "$WORK/layout" img2 "$WORK/warren"
    compare_roots "busybox + a layer of changes" "$WORK/bundle/rootfs" "$WORK/warren"
    [ ! -e "$WORK/warren/bin/ls" ] || t_fail "the whiteout of bin/ls was not applied"
    [ -f "$WORK/warren/usr/sbin" ] || t_fail "usr/sbin is not the file that replaced the directory"
}

# add_layer LAYOUT FROM_TAG TO_TAG DIR: tags TO_TAG the image FROM_TAG plus
# one gzip layer holding DIR (as it is: whiteout files included).
add_layer() {
    local layout=$1 from=$2 to=$3 dir=$4 blobs=$1/blobs/sha256
    local manifest config diff_id layer layer_size new_config new_manifest
    manifest=$(jq -r --arg t "$from" '.manifests[]
        | select(.annotations."org.opencontainers.image.ref.name" == $t) | .digest' \
        "$layout/index.json" | sed 's/^sha256://')
    config=$(jq -r '.config.digest' "$blobs/$manifest" | sed 's/^sha256://')
    tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@1000000000 --format=posix \
        -C "$dir" -cf "$WORK/layer.tar" .
    diff_id=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
    gzip -n "$WORK/layer.tar"
    layer=$(sha256sum "$WORK/layer.tar.gz" | cut -d' ' -f1)
    layer_size=$(stat -c %s "$WORK/layer.tar.gz")
    mv "$WORK/layer.tar.gz" "$blobs/$layer"
    jq -c --arg d "sha256:$diff_id" '.rootfs.diff_ids += [$d]' "$blobs/$config" > "$WORK/config"
    new_config=$(sha256sum "$WORK/config" | cut -d' ' -f1)
    jq -c --arg c "sha256:$new_config" --argjson cs "$(stat -c %s "$WORK/config")" \
        --arg l "sha256:$layer" --argjson ls "$layer_size" \
        '.config.digest = $c | .config.size = $cs
         | .layers += [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]' \
        "$blobs/$manifest" > "$WORK/manifest"
    new_manifest=$(sha256sum "$WORK/manifest" | cut -d' ' -f1)
    jq -c --arg m "sha256:$new_manifest" --argjson ms "$(stat -c %s "$WORK/manifest")" --arg t "$to" \
        '.manifests += [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
                         annotations: {"org.opencontainers.image.ref.name": $t}}]' \
        "$layout/index.json" > "$WORK/index"
    mv "$WORK/config" "$blobs/$new_config"
    mv "$WORK/manifest" "$blobs/$new_manifest"
    mv "$WORK/index" "$layout/index.json"
}

# Opaque directories (".wh..wh..opq"), before and after the layer's own
# entries in the directory, as umoci applies them.
case_opaque() {
    unpack_init busybox
    copy_image "$WARREN_BUSYBOX_IMAGE" "$WORK/layout" img
    local s=$WORK/stage
    # In etc, "-early" sorts before the marker and "hostname" after it;
    # both stay, nothing from busybox does.
    mkdir -p "$s/etc" "$s/usr/bin" "$s/root"
    : > "$s/etc/.wh..wh..opq"
    echo warren > "$s/etc/hostname"
    echo early > "$s/etc/-early"
    : > "$s/usr/bin/.wh..wh..opq"
    ln -s /bin/busybox "$s/usr/bin/wget"
    : > "$s/root/.wh..wh..opq"
    add_layer "$WORK/layout" img opq "$s"
    umoci_unpack "$WORK/layout:opq" "$WORK/bundle"
    t_timeout 600 "$UNPACK_TOOL" "$WORK/layout" opq "$WORK/warren"
    compare_roots "busybox + opaque directories" "$WORK/bundle/rootfs" "$WORK/warren"
    assert_eq "$(ls -A "$WORK/warren/etc" | tr '\n' ' ')" "-early hostname " "etc after the opaque layer"
    assert_eq "$(ls -A "$WORK/warren/usr/bin" | tr '\n' ' ')" "wget " "usr/bin after the opaque layer"
    [ -x "$WORK/warren/bin/busybox" ] || t_fail "bin/busybox went with the opaque directories"
}

# A layer whose bytes do not match its diff_id: an error naming the layer,
# and no root at all.
case_diff_id_mismatch() {
    unpack_init busybox
    copy_image "$WARREN_BUSYBOX_IMAGE" "$WORK/layout" img
    local manifest config
    manifest=$(jq -r '.manifests[0].digest' "$WORK/layout/index.json" | sed 's/^sha256://')
    config=$(jq -r '.config.digest' "$WORK/layout/blobs/sha256/$manifest" | sed 's/^sha256://')
    # Point the config at a wrong diff_id (the tool reads the blob as is).
    jq '.rootfs.diff_ids[0] = "sha256:" + ("0" * 64)' "$WORK/layout/blobs/sha256/$config" > "$WORK/config"
    mv "$WORK/config" "$WORK/layout/blobs/sha256/$config"
    t_capture out 120 "$UNPACK_TOOL" "$WORK/layout" img "$WORK/warren"
    assert_status nonzero "$T_STATUS" "unpack with a wrong diff_id"
    assert_contains "$out" "uncompressed digest is sha256:"
    assert_contains "$out" "$WORK/layout/blobs/sha256/"
    [ ! -e "$WORK/warren" ] || t_fail "a root was made although its layer did not match"
    assert_eq "$(ls "$WORK" | tr '\n' ' ')" "layout " "what the failed unpack left in $WORK"
}

t_case "busybox: warren's root equals umoci's" case_busybox
T_CASE_TIMEOUT=900 t_case "debian-docker: warren's root equals umoci's" case_debian
t_case "zstd layers: warren's root equals umoci's of the gzip image" case_zstd
t_case "a second layer (whiteouts, links, devices, owners): warren equals umoci" case_second_layer
t_case "opaque directories: warren equals umoci" case_opaque
t_case "a layer that does not match its diff_id makes no root" case_diff_id_mismatch
t_done
