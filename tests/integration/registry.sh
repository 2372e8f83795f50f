#!/usr/bin/env bash
# The registry client against real registries (Debian's docker-registry on
# 127.0.0.1): anonymous (:5000), basic auth (:5001), token auth (:5002 with
# the token service on :5003), a multi-platform index, a zstd image, a
# registry serving corrupt content, a missing tag, and a download killed
# with -9 half way and then resumed.  tests/tools/registry-fetch fetches an
# image's manifest, config and layers into a store and prints the digests.
. "$(dirname "$0")/../lib.sh"

FETCH=${REGISTRY_FETCH:-$WARREN_BUILD_DIR/tests/tools/registry-fetch}
export WARREN_TOKEN_SERVER=${WARREN_TOKEN_SERVER:-$WARREN_BUILD_DIR/tests/tools/token-server}

fetch_init() {
    [ -x "$FETCH" ] || t_fail "registry-fetch not built: $FETCH"
    STORE=$T_CASE_DIR/store
}

# expected_blobs REF [skopeo args...]: "config digest" then every layer
# digest of REF's image manifest, as the registry has them (skopeo).
expected_blobs() {
    local ref=$1; shift
    local raw
    raw=$(t_timeout 60 skopeo inspect --raw --tls-verify=false "$@" "docker://$ref")
    jq -r '.config.digest, .layers[].digest' <<<"$raw"
}

# assert_store_has DIGEST...: each blob is in the store, whole and verified.
assert_store_has() {
    local d hex
    for d in "$@"; do
        hex=${d#sha256:}
        [ -f "$STORE/blobs/sha256/$hex" ] || t_fail "$d is not in the store"
        assert_eq "sha256:$(sha256sum < "$STORE/blobs/sha256/$hex" | cut -d' ' -f1)" "$d" "content of $d"
    done
}

# fetched_blobs OUTPUT: the digests of the "blob" lines.
fetched_blobs() { awk '$1 == "blob" { print $2 }' <<<"$1"; }

case_anonymous() {
    fetch_init
    t_images busybox
    local out
    t_capture out 120 "$FETCH" "$STORE" "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "registry-fetch $WARREN_BUSYBOX_IMAGE"
    assert_contains "$out" "done"
    local want
    want=$(expected_blobs "$WARREN_BUSYBOX_IMAGE")
    assert_eq "$(fetched_blobs "$out")" "$want" "blobs fetched"
    # shellcheck disable=SC2046
    assert_store_has $want
    local manifest
    manifest=$(t_timeout 60 skopeo inspect --raw --tls-verify=false "docker://$WARREN_BUSYBOX_IMAGE" | sha256sum | cut -d' ' -f1)
    assert_contains "$out" "manifest sha256:$manifest "
}

# auth_config FILE JSON_AUTHS: writes a Docker config.json.
auth_config() { jq -n --argjson auths "$2" '{auths: $auths}' > "$1"; }

auth_env() {
    local vars
    vars=$(t_timeout 300 "$T_LIB_DIR/fixtures/registry-auth" start) ||
        t_fail "tests/fixtures/registry-auth failed"
    eval "$vars"
}

case_basic_auth() {
    fetch_init
    auth_env
    local ref=$WARREN_BASIC_REGISTRY/library/busybox:latest out
    # "auth": base64 of user:password, keyed by host:port.
    auth_config "$T_CASE_DIR/good.json" "$(jq -n --arg k "$WARREN_BASIC_REGISTRY" \
        --arg a "$(printf '%s:%s' "$WARREN_BASIC_USER" "$WARREN_BASIC_PASSWORD" | base64 -w0)" \
        '{($k): {auth: $a}}')"
    t_capture out 120 "$FETCH" --auth-config "$T_CASE_DIR/good.json" "$STORE" "$ref"
    assert_status 0 "$T_STATUS" "registry-fetch with basic credentials"
    local want
    want=$(expected_blobs "$ref" --creds "$WARREN_BASIC_USER:$WARREN_BASIC_PASSWORD")
    assert_eq "$(fetched_blobs "$out")" "$want" "blobs fetched"
    # shellcheck disable=SC2046
    assert_store_has $want

    # No credentials: refused, naming the registry.
    t_capture out 60 "$FETCH" --auth-config "$T_CASE_DIR/none.json" "$T_CASE_DIR/store2" "$ref"
    assert_status 1 "$T_STATUS" "registry-fetch without credentials"
    assert_contains "$out" "401 Unauthorized: $WARREN_BASIC_REGISTRY asks for a user name and password"
    # A wrong password: the registry's own refusal.
    auth_config "$T_CASE_DIR/bad.json" "$(jq -n --arg k "http://$WARREN_BASIC_REGISTRY" \
        --arg u "$WARREN_BASIC_USER" '{($k): {username: $u, password: "wrong"}}')"
    t_capture out 60 "$FETCH" --auth-config "$T_CASE_DIR/bad.json" "$T_CASE_DIR/store2" "$ref"
    assert_status 1 "$T_STATUS" "registry-fetch with a wrong password"
    assert_contains "$out" "manifests/latest: 401 Unauthorized"
    [ ! -d "$T_CASE_DIR/store2/blobs/sha256" ] || [ -z "$(ls -A "$T_CASE_DIR/store2/blobs/sha256")" ] ||
        t_fail "a refused fetch stored blobs"
}

case_token_auth() {
    fetch_init
    auth_env
    local ref=$WARREN_TOKEN_REGISTRY/library/busybox:latest out
    # "username"/"password", keyed by a URL.
    auth_config "$T_CASE_DIR/good.json" "$(jq -n --arg k "http://$WARREN_TOKEN_REGISTRY/v2/" \
        --arg u "$WARREN_TOKEN_USER" --arg p "$WARREN_TOKEN_PASSWORD" \
        '{($k): {username: $u, password: $p}}')"
    local before
    before=$(grep -c 'GET /token: 200' "$WARREN_TEST_RUN/token-server.log" || true)
    t_capture out 120 "$FETCH" --auth-config "$T_CASE_DIR/good.json" "$STORE" "$ref"
    assert_status 0 "$T_STATUS" "registry-fetch with token auth"
    # One token for the manifest and both blobs (kept per host and scope).
    local after
    after=$(grep -c 'GET /token: 200' "$WARREN_TEST_RUN/token-server.log" || true)
    assert_eq "$((after - before))" 1 "tokens issued"
    local want
    want=$(expected_blobs "$ref" --creds "$WARREN_TOKEN_USER:$WARREN_TOKEN_PASSWORD")
    assert_eq "$(fetched_blobs "$out")" "$want" "blobs fetched"
    # shellcheck disable=SC2046
    assert_store_has $want

    auth_config "$T_CASE_DIR/bad.json" "$(jq -n --arg k "$WARREN_TOKEN_REGISTRY" \
        --arg u "$WARREN_TOKEN_USER" '{($k): {username: $u, password: "wrong"}}')"
    t_capture out 60 "$FETCH" --auth-config "$T_CASE_DIR/bad.json" "$T_CASE_DIR/store2" "$ref"
    assert_status 1 "$T_STATUS" "registry-fetch with a wrong password"
    assert_contains "$out" "token for repository:library/busybox:pull: GET $WARREN_TOKEN_REALM"
    assert_contains "$out" "401 Unauthorized (UNAUTHORIZED: wrong or missing user name and password)"
}

# warren image push to the basic and the token registry, with the same
# auth config as pulls; what arrives is checked with skopeo.
case_push_with_auth() {
    auth_env
    t_images busybox
    local W=("$WARREN_BUILD_DIR/src/cmd/warren/warren" --root "$T_CASE_DIR/root") out digest
    [ -x "${W[0]}" ] || t_fail "warren not built: ${W[0]}"
    t_capture out 120 "${W[@]}" image pull "$WARREN_BUSYBOX_IMAGE"
    assert_status 0 "$T_STATUS" "pull of busybox to push"
    digest=$("${W[@]}" image inspect "$WARREN_BUSYBOX_IMAGE" | jq -r .ManifestDigest)
    auth_config "$T_CASE_DIR/auth.json" "$(jq -n \
        --arg b "$WARREN_BASIC_REGISTRY" --arg bu "$WARREN_BASIC_USER" --arg bp "$WARREN_BASIC_PASSWORD" \
        --arg t "$WARREN_TOKEN_REGISTRY" --arg tu "$WARREN_TOKEN_USER" --arg tp "$WARREN_TOKEN_PASSWORD" \
        '{($b): {username: $bu, password: $bp}, ($t): {username: $tu, password: $tp}}')"
    # A repository of its own, so that no blob is there from an earlier run.
    local repo=warren-push/busybox-$$-$RANDOM dest registry user password before after
    for registry in "$WARREN_BASIC_REGISTRY" "$WARREN_TOKEN_REGISTRY"; do
        dest=$registry/$repo:pushed
        if [ "$registry" = "$WARREN_BASIC_REGISTRY" ]; then
            user=$WARREN_BASIC_USER password=$WARREN_BASIC_PASSWORD
        else
            user=$WARREN_TOKEN_USER password=$WARREN_TOKEN_PASSWORD
        fi
        # Without credentials: refused, saying why.
        t_capture out 120 "${W[@]}" image push --auth-config "$T_CASE_DIR/none.json" "$WARREN_BUSYBOX_IMAGE" "$dest"
        assert_status 1 "$T_STATUS" "push to $registry without credentials"
        assert_contains "$out" "401 Unauthorized" "push to $registry without credentials"
        before=$(grep -c 'GET /token: 200' "$WARREN_TEST_RUN/token-server.log" || true)
        t_capture out 300 "${W[@]}" image push --auth-config "$T_CASE_DIR/auth.json" "$WARREN_BUSYBOX_IMAGE" "$dest"
        assert_status 0 "$T_STATUS" "push to $registry"
        assert_contains "$out" "$dest@$digest (2 blobs pushed, 0 already there)" "push to $registry"
        after=$(grep -c 'GET /token: 200' "$WARREN_TEST_RUN/token-server.log" || true)
        if [ "$registry" = "$WARREN_TOKEN_REGISTRY" ]; then
            # One token with push rights for every request of the push.
            assert_eq "$((after - before))" 1 "tokens issued for the push"
            tail -n 1 "$WARREN_TEST_RUN/token-server.log" | grep -q 'pull,push\|"push"' ||
                t_fail "the token was not asked with a push scope: $(tail -n 1 "$WARREN_TEST_RUN/token-server.log")"
        fi
        # What the registry has now is the image, byte for byte.
        assert_eq "sha256:$(t_timeout 60 skopeo inspect --raw --tls-verify=false --creds "$user:$password" \
            "docker://$dest" | sha256sum | cut -d' ' -f1)" "$digest" "the manifest in $registry"
        # Pushed again: every blob is there already.
        t_capture out 300 "${W[@]}" image push --auth-config "$T_CASE_DIR/auth.json" "$WARREN_BUSYBOX_IMAGE" "$dest"
        assert_status 0 "$T_STATUS" "second push to $registry"
        assert_contains "$out" "(0 blobs pushed, 2 already there)" "second push to $registry"
    done
}

variants_env() {
    local vars
    vars=$(t_timeout 300 "$T_LIB_DIR/fixtures/image-variants") ||
        t_fail "tests/fixtures/image-variants failed"
    eval "$vars"
}

case_multi_platform() {
    fetch_init
    variants_env
    local out
    # Without --platform: the host's.
    local host_manifest
    case $(uname -m) in
        x86_64) host_manifest=$WARREN_MULTI_AMD64 ;;
        aarch64) host_manifest=$WARREN_MULTI_ARM64 ;;
        *) t_fail "no entry of the fixture index for this host ($(uname -m))" ;;
    esac
    t_capture out 120 "$FETCH" "$STORE" "$WARREN_MULTI_IMAGE"
    assert_status 0 "$T_STATUS" "registry-fetch of the index (host platform)"
    assert_contains "$out" "index $WARREN_MULTI_INDEX"
    assert_contains "$out" "manifest $host_manifest application/vnd.oci.image.manifest.v1+json"

    t_capture out 120 "$FETCH" --platform linux/amd64 "$STORE" "$WARREN_MULTI_IMAGE"
    assert_status 0 "$T_STATUS" "registry-fetch of the index for linux/amd64"
    assert_contains "$out" "manifest $WARREN_MULTI_AMD64 "

    t_capture out 120 "$FETCH" --platform linux/arm64 "$STORE" "$WARREN_MULTI_IMAGE"
    assert_status 0 "$T_STATUS" "registry-fetch of the index for linux/arm64"
    assert_contains "$out" "manifest $WARREN_MULTI_ARM64 "
    local layer
    layer=$(fetched_blobs "$out" | sed -n 2p)
    assert_store_has "$layer"
    # The arm64 image is the one-file image, not busybox.
    assert_eq "$(tar -xzOf "$STORE/blobs/sha256/${layer#sha256:}" ./platform)" "linux/arm64" "/platform"

    t_capture out 60 "$FETCH" --platform linux/s390x "$STORE" "$WARREN_MULTI_IMAGE"
    assert_status 1 "$T_STATUS" "registry-fetch for a platform the index lacks"
    assert_contains "$out" "arm64"
}

case_zstd() {
    fetch_init
    variants_env
    local out
    t_capture out 120 "$FETCH" "$STORE" "$WARREN_ZSTD_IMAGE"
    assert_status 0 "$T_STATUS" "registry-fetch of the zstd image"
    assert_contains "$out" "manifest $WARREN_ZSTD_MANIFEST "
    assert_contains "$out" "blob $WARREN_ZSTD_LAYER "
    assert_store_has "$WARREN_ZSTD_LAYER"
    # Stored as it came (zstd), and it is the tar the config's diff id names.
    local config diff
    config=$(fetched_blobs "$out" | sed -n 1p)
    diff=$(jq -r '.rootfs.diff_ids[0]' "$STORE/blobs/sha256/${config#sha256:}")
    assert_eq "sha256:$(zstd -dc "$STORE/blobs/sha256/${WARREN_ZSTD_LAYER#sha256:}" | sha256sum | cut -d' ' -f1)" \
        "$diff" "diff id of the zstd layer"
}

case_mirror() {
    fetch_init
    t_images busybox
    # "busybox" is docker.io/library/busybox:latest; the mirror serves it.
    local out
    t_capture out 120 "$FETCH" --mirror "http://$WARREN_REGISTRY" "$STORE" busybox
    assert_status 0 "$T_STATUS" "registry-fetch busybox through the mirror"
    local want
    want=$(expected_blobs "$WARREN_BUSYBOX_IMAGE")
    assert_eq "$(fetched_blobs "$out")" "$want" "blobs fetched"
}

case_missing_tag() {
    fetch_init
    t_images busybox
    local out
    t_capture out 60 "$FETCH" "$STORE" "$WARREN_REGISTRY/library/busybox:nope"
    assert_status 1 "$T_STATUS" "registry-fetch of a missing tag"
    assert_contains "$out" "GET http://$WARREN_REGISTRY/v2/library/busybox/manifests/nope: 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)"
}

# A registry of the case's own whose stored content is then corrupted
# behind its back: it serves bytes that do not match their digests.
CORRUPT_ADDR=127.0.0.1:5010
case_corrupt_content() {
    fetch_init
    t_images busybox
    local dir=$T_CASE_DIR/corrupt
    mkdir -p "$dir/storage"
    cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
http:
  addr: $CORRUPT_ADDR
YAML
    fx_spawn "$dir/pid" "$dir/log" docker-registry serve "$dir/config.yml"
    t_defer fx_stop_pid "$dir/pid" 10 docker-registry
    fx_wait 30 "the registry on $CORRUPT_ADDR" curl -sf -o /dev/null "http://$CORRUPT_ADDR/v2/" ||
        t_fail "the registry on $CORRUPT_ADDR did not start"
    t_timeout 120 skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false \
        "docker://$WARREN_BUSYBOX_IMAGE" "docker://$CORRUPT_ADDR/library/busybox:latest"

    local raw manifest layer
    raw=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$CORRUPT_ADDR/v2/library/busybox/manifests/latest")
    manifest=sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)
    layer=$(jq -r '.layers[0].digest' <<<"$raw")
    local blobs=$dir/storage/docker/registry/v2/blobs/sha256
    local layer_file=$blobs/${layer:7:2}/${layer#sha256:}/data
    [ -f "$layer_file" ] || t_fail "no layer file at $layer_file"
    # Same size, other bytes in the middle.
    printf 'CORRUPT' | dd of="$layer_file" bs=1 seek=1000 conv=notrunc status=none

    local out
    t_capture out 60 "$FETCH" "$STORE" "$CORRUPT_ADDR/library/busybox:latest"
    assert_status 1 "$T_STATUS" "registry-fetch of a corrupt layer"
    assert_contains "$out" "GET http://$CORRUPT_ADDR/v2/library/busybox/blobs/$layer"
    assert_contains "$out" "$layer"
    [ ! -e "$STORE/blobs/sha256/${layer#sha256:}" ] || t_fail "the corrupt layer became visible in the store"

    # The manifest asked for by digest, with its stored bytes changed.
    local manifest_file=$blobs/${manifest:7:2}/${manifest#sha256:}/data
    [ -f "$manifest_file" ] || t_fail "no manifest file at $manifest_file"
    sed -i 's/"schemaVersion": *2/"schemaVersion":  2/' "$manifest_file"
    t_capture out 60 "$FETCH" "$T_CASE_DIR/store2" "$CORRUPT_ADDR/library/busybox@$manifest"
    assert_status 1 "$T_STATUS" "registry-fetch of a changed manifest by digest"
    assert_contains "$out" "not the $manifest asked for"
}

case_kill_and_resume() {
    fetch_init
    t_images debian-docker
    local ref=$WARREN_DEBIAN_IMAGE raw layer size
    raw=$(t_timeout 60 skopeo inspect --raw --tls-verify=false "docker://$ref")
    layer=$(jq -r '.layers | max_by(.size) | .digest' <<<"$raw")
    size=$(jq -r '.layers | max_by(.size) | .size' <<<"$raw")
    [ "$size" -gt 50000000 ] || t_fail "the Debian layer is only $size bytes"
    local hex=${layer#sha256:}

    # Slowed down (25 MB/s) so that it is surely killed half way.
    : > "$T_CASE_DIR/first.out"
    "$FETCH" --progress --limit-rate 25000000 "$STORE" "$ref" >> "$T_CASE_DIR/first.out" 2>&1 &
    local pid=$!
    t_defer kill -KILL "$pid"
    local deadline=$((SECONDS + 120)) done_bytes=0
    while [ "$SECONDS" -lt "$deadline" ]; do
        done_bytes=$(awk -v d="$layer" '$1 == "progress" && $2 == d { n = $3 } END { print n + 0 }' "$T_CASE_DIR/first.out")
        [ "$done_bytes" -gt 20000000 ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || t_fail "registry-fetch ended before it could be killed: $(tail -3 "$T_CASE_DIR/first.out")"
    wait "$pid" 2>/dev/null || true
    [ "$done_bytes" -gt 20000000 ] || t_fail "only $done_bytes bytes of $layer arrived before the deadline"
    [ "$done_bytes" -lt "$size" ] || t_fail "the layer was complete before the kill"

    # What the killed run left: a partial in ingest/, nothing in blobs/.
    local partial=$STORE/ingest/$hex.partial kept
    [ -f "$partial" ] || t_fail "no partial download at $partial: $(ls -la "$STORE/ingest")"
    kept=$(stat -c %s "$partial")
    echo "killed after $done_bytes bytes reported; $kept bytes kept in $partial"
    [ "$kept" -gt 0 ] || t_fail "the partial download is empty"
    [ ! -e "$STORE/blobs/sha256/$hex" ] || t_fail "the layer is in blobs/ after a killed download"

    # Slowed down too, so that a fresh start could not get as far as what
    # was kept before its first progress report (0.1 s).
    local out
    t_capture out 300 "$FETCH" --progress --limit-rate 50000000 "$STORE" "$ref"
    assert_status 0 "$T_STATUS" "registry-fetch after the kill"
    assert_contains "$out" "blob $layer $size"
    assert_store_has "$layer"
    [ ! -e "$partial" ] || t_fail "the partial is still there after the download completed"
    # It went on from what was kept: its first report is already that far.
    local first
    first=$(awk -v d="$layer" '$1 == "progress" && $2 == d { print $3; exit }' <<<"$out")
    echo "the second run started at $first bytes"
    [ -n "$first" ] && [ "$first" -ge "$kept" ] ||
        t_fail "the second run did not resume: first progress $first, $kept bytes were kept"
}

t_case "anonymous pull from :5000" case_anonymous
t_case "basic auth registry (config.json auth)" case_basic_auth
t_case "token auth registry (token service, config.json username/password)" case_token_auth
t_case "push with basic and token auth (warren image push)" case_push_with_auth
t_case "multi-platform index" case_multi_platform
t_case "zstd-compressed layer" case_zstd
t_case "docker.io through a mirror" case_mirror
t_case "missing tag: 404 message" case_missing_tag
t_case "corrupt blob and manifest refused" case_corrupt_content
T_CASE_TIMEOUT=600 t_case "kill -9 mid-blob, then resume" case_kill_and_resume
t_done
