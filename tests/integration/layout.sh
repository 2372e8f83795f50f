#!/usr/bin/env bash
# The tree is what the README and docs/architecture.md say it is: every
# folder of src/lib and src/cmd is in the README's layout and every path
# there exists; each src/lib folder has its own meson.build that names the
# folders it may use, and its sources include headers from those folders
# only; the library reads no environment variable and logs only through a
# log its caller passes in.
. "$(dirname "$0")/../lib.sh"

cd "$T_SOURCE_DIR"

# The paths of the README's layout block (the first word of each line).
readme_paths() {
    awk '/^## Layout/ { in_section = 1; next }
         in_section && /^```/ { if (in_block) exit; in_block = 1; next }
         in_block { print $1 }' README.md
}

case_readme_matches_tree() {
    local paths p d missing=() absent=()
    paths=$(readme_paths)
    [ -n "$paths" ] || { echo "README.md has no layout block under '## Layout'"; return 1; }
    while IFS= read -r p; do
        [ -e "$p" ] || absent+=("$p")
    done <<<"$paths"
    for d in src/lib/*/ src/cmd/*/ tests/*/ bench/ scripts/ docs/; do
        d=${d%/}
        grep -qxF -e "$d" -e "$d/" <<<"$paths" || missing+=("$d")
    done
    [ ${#absent[@]} = 0 ] || { echo "the README's layout names paths that do not exist: ${absent[*]}"; return 1; }
    [ ${#missing[@]} = 0 ] || { echo "folders missing from the README's layout: ${missing[*]}"; return 1; }
}

# allowed FOLDER: the folders src/lib/FOLDER/meson.build says it may use.
allowed() {
    sed -n 's/^# May use: //p' "src/lib/$1/meson.build" | tr -d '.' | tr ',' ' '
}

case_each_folder_names_what_it_uses() {
    local dir folder uses
    for dir in src/lib/*/; do
        folder=$(basename "$dir")
        [ -f "$dir/meson.build" ] || { echo "src/lib/$folder has no meson.build"; return 1; }
        grep -q '^# May use: ' "$dir/meson.build" ||
            { echo "src/lib/$folder/meson.build has no '# May use:' line"; return 1; }
        uses=$(allowed "$folder")
        for u in $uses; do
            [ "$u" = no ] || [ "$u" = other ] || [ "$u" = folder ] || [ -d "src/lib/$u" ] ||
                { echo "src/lib/$folder/meson.build may use '$u', which is not a folder"; return 1; }
            [ "$u" = no ] || [ "$u" = other ] || [ "$u" = folder ] ||
                grep -q "warren_${u}_dep" "$dir/meson.build" ||
                { echo "src/lib/$folder/meson.build says it may use $u but does not depend on warren_${u}_dep"; return 1; }
        done
    done
}

case_includes_follow_the_flow() {
    local file folder header home bad=()
    # header name -> folder
    declare -A home_of
    for header in src/lib/*/*.h; do
        home_of[$(basename "$header")]=$(basename "$(dirname "$header")")
    done
    for file in src/lib/*/*.[ch]; do
        folder=$(basename "$(dirname "$file")")
        while IFS= read -r header; do
            home=${home_of[$header]:-}
            [ -n "$home" ] || { bad+=("$file includes \"$header\", which is in no src/lib folder"); continue; }
            [ "$home" = "$folder" ] && continue
            [[ " $(allowed "$folder") " == *" $home "* ]] ||
                bad+=("$file includes $home/$header, but src/lib/$folder may not use $home")
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
    done
    [ ${#bad[@]} = 0 ] || { printf '%s\n' "${bad[@]}"; return 1; }
}

case_library_reads_no_environment() {
    local hits
    hits=$(grep -rn 'getenv\|secure_getenv\|environ\b' src/lib || true)
    [ -z "$hits" ] || { echo "the library reads the environment:"; echo "$hits"; return 1; }
}

# wr_log and wr_logf write to the process's standard log, for programs; the
# library logs with wr_log_to through a log its caller passed in.
case_library_logs_where_told() {
    local hits
    hits=$(grep -rnE '\bwr_logf? \(' src/lib --include='*.c' | grep -v '^src/lib/core/log.c:' || true)
    [ -z "$hits" ] || { echo "the library logs to the standard log instead of a log passed in:"; echo "$hits"; return 1; }
}

case_unit_tests_mirror_the_library() {
    local t folder module bad=()
    for t in tests/unit/*/test_*.c; do
        folder=$(basename "$(dirname "$t")")
        module=$(basename "$t" .c)
        module=${module#test_}
        case $folder in init) continue ;; esac
        [ -d "src/lib/$folder" ] || { bad+=("$t: no src/lib/$folder"); continue; }
        [ "$module" = runtime_util ] && continue
        [ -f "src/lib/$folder/$module.c" ] || bad+=("$t tests no src/lib/$folder/$module.c")
    done
    [ ${#bad[@]} = 0 ] || { printf '%s\n' "${bad[@]}"; return 1; }
}

t_case "the README's layout matches the tree" case_readme_matches_tree
t_case "each src/lib folder's meson.build names the folders it may use" case_each_folder_names_what_it_uses
t_case "sources include headers of their folder and the folders it may use only" case_includes_follow_the_flow
t_case "the library reads no environment variable" case_library_reads_no_environment
t_case "the library logs only to logs its callers pass" case_library_logs_where_told
t_case "unit tests mirror src/lib's folders" case_unit_tests_mirror_the_library
t_done
