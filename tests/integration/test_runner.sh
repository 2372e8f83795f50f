#!/usr/bin/env bash
# The test runner's own tests: tests/run must not miss a failure.  Each case
# builds a throwaway tree in its case directory (a copy of tests/run,
# tests/lib.sh and tests/fixtures/common.sh, stub fixtures, a small meson
# project with cmocka programs, an integration file and a stub fuzzer),
# breaks one thing in it, runs that tree's tests/run and checks that it
# exits non-zero and counts the failure in its `N passed, N failed` line.
# The first case runs the tree unbroken: it passes, so what fails in the
# others is the one thing each breaks.
. "$(dirname "$0")/../lib.sh"

# make_tree DIR: a healthy throwaway tree.
make_tree() {
    local t=$1 f
    mkdir -p "$t/tests/unit" "$t/tests/integration" "$t/tests/fixtures" "$t/tests/fuzz/corpus/a"
    cp "$T_SOURCE_DIR/tests/run" "$t/tests/run"
    cp "$T_SOURCE_DIR/tests/lib.sh" "$t/tests/lib.sh"
    cp "$T_SOURCE_DIR/tests/fixtures/common.sh" "$t/tests/fixtures/common.sh"
    # Stub fixtures: none is running, and starting or stopping one works.
    for f in registry registry-auth apt-mirror host-dockerd containerd images; do
        printf '#!/bin/sh\n[ "$1" != status ]\n' > "$t/tests/fixtures/$f"
        chmod +x "$t/tests/fixtures/$f"
    done
    printf '#!/bin/sh\necho "fuzz_$1: ok (stub)"\n' > "$t/tests/fuzz/run"
    chmod +x "$t/tests/fuzz/run"
    echo '/* stub target */' > "$t/tests/fuzz/fuzz_a.c"
    echo seed > "$t/tests/fuzz/corpus/a/seed"

    cat > "$t/meson.build" <<'EOF'
project('runner-selftest', 'c')
subdir('tests/unit')
EOF
    unit_list "$t" ok
    cmocka_program "$t/tests/unit/test_ok.c" 'static void test_one (void **state) { assert_int_equal (1, 1); }' \
        'cmocka_unit_test (test_one)'

    cat > "$t/tests/integration/good.sh" <<'EOF'
. "$(dirname "$0")/../lib.sh"
case_one() { true; }
case_two() { true; }
t_case "one" case_one
t_case "two" case_two
t_done
EOF
}

# unit_list TREE NAME...: tests/unit/meson.build names these tests.
unit_list() {
    local t=$1; shift
    {
        echo "cmocka_dep = dependency('cmocka')"
        printf 'unit_tests = ['
        printf "'%s', " "$@"
        echo ']'
        echo 'foreach t : unit_tests'
        echo "  test(t, executable('test_' + t, 'test_' + t + '.c', dependencies : cmocka_dep), suite : 'unit')"
        echo 'endforeach'
    } > "$t/tests/unit/meson.build"
}

# cmocka_program FILE FUNCTIONS TESTS: a cmocka program whose test array
# holds TESTS (empty: none).
cmocka_program() {
    cat > "$1" <<EOF
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
$2
int
main (void)
{
    const struct CMUnitTest tests[] = { $3 };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
EOF
}

# run_tree TREE ARGS...: runs TREE's tests/run; its output in RUN_OUT, its
# status in RUN_STATUS, its last line's counts in RUN_PASSED / RUN_FAILED.
# The outer run's environment (results file, sanitizer log paths, the -k
# pattern) is not the inner run's.
run_tree() {
    local t=$1; shift
    RUN_STATUS=0
    RUN_OUT=$(env -u WARREN_RESULTS_FILE -u WARREN_RESULTS_DIR -u WARREN_BUILD_DIR \
        -u WARREN_RUNTIME -u WARREN_INIT -u T_ONLY -u ASAN_OPTIONS -u UBSAN_OPTIONS \
        WARREN_TEST_KEEP=1 NO_COLOR=1 T_TMP_ROOT="$t/tmp" \
        timeout -k 10 600 "$t/tests/run" "$@" 2>&1) || RUN_STATUS=$?
    printf -- '--- %s/tests/run %s (exit %s)\n%s\n---\n' "$t" "$*" "$RUN_STATUS" "$RUN_OUT"
    local last
    last=$(tail -n 1 <<<"$RUN_OUT")
    [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]] ||
        t_fail "the last line of tests/run is not 'N passed, N failed': $last"
    RUN_PASSED=${BASH_REMATCH[1]} RUN_FAILED=${BASH_REMATCH[2]}
}

# expect_failure NEEDLE: the run failed, counted it, and said NEEDLE.
expect_failure() {
    assert_status nonzero "$RUN_STATUS" "tests/run's exit status"
    [ "$RUN_FAILED" -ge 1 ] || t_fail "tests/run exited $RUN_STATUS but counted $RUN_FAILED failures"
    assert_contains "$RUN_OUT" "$1" "tests/run's output"
}

tree() {
    TREE=$T_CASE_DIR/tree
    make_tree "$TREE"
}

case_healthy_tree_passes() {
    tree
    run_tree "$TREE" --no-asan unit fuzz integration
    assert_status 0 "$RUN_STATUS" "tests/run on the unbroken tree"
    assert_eq "$RUN_FAILED" 0 "failures"
    # build/ build-asan/ build-tsan/, the source check, test_ok in three
    # builds, the fuzz stub, the two stub fixtures, two integration cases.
    assert_eq "$RUN_PASSED" 12 "passes"
    assert_contains "$RUN_OUT" "PASS unit (build-tsan): ok"
    assert_contains "$RUN_OUT" "PASS good: two"
}

case_file_dies_after_first_case() {
    tree
    cat > "$TREE/tests/integration/dies.sh" <<'EOF'
. "$(dirname "$0")/../lib.sh"
case_one() { true; }
case_two() { true; }
t_case "one" case_one
exit 3
t_case "two" case_two
t_done
EOF
    run_tree "$TREE" --no-asan integration/dies
    expect_failure "FAIL integration/dies"
    assert_contains "$RUN_OUT" "exited with status 3 after 1 case(s), none of which failed"
    assert_contains "$RUN_OUT" "PASS dies: one"
}

case_file_exits_0_before_t_done() {
    tree
    cat > "$TREE/tests/integration/quits.sh" <<'EOF'
. "$(dirname "$0")/../lib.sh"
case_one() { true; }
t_case "one" case_one
exit 0
EOF
    run_tree "$TREE" --no-asan integration/quits
    expect_failure "FAIL integration/quits"
    assert_contains "$RUN_OUT" "without reaching t_done"
}

case_cmocka_skip_with_require_all() {
    tree
    unit_list "$TREE" ok skips
    cmocka_program "$TREE/tests/unit/test_skips.c" \
        'static void test_runs (void **state) { } static void test_skipped (void **state) { skip (); }' \
        'cmocka_unit_test (test_runs), cmocka_unit_test (test_skipped)'
    WARREN_REQUIRE_ALL=1 run_tree "$TREE" unit
    expect_failure "FAIL unit (build): skips"
    assert_contains "$RUN_OUT" "cmocka skipped: test_skipped"
    # Without WARREN_REQUIRE_ALL it is a skip (in each of the three builds),
    # not a pass.
    WARREN_REQUIRE_ALL=0 run_tree "$TREE" unit
    assert_status 0 "$RUN_STATUS" "without WARREN_REQUIRE_ALL"
    assert_match "$(tail -n 1 <<<"$RUN_OUT")" '^[0-9]+ passed, 0 failed, 3 skipped$' "the summary line"
}

case_cmocka_program_without_tests() {
    tree
    unit_list "$TREE" ok empty
    cmocka_program "$TREE/tests/unit/test_empty.c" '' ''
    run_tree "$TREE" unit
    expect_failure "FAIL unit (build): empty"
    assert_contains "$RUN_OUT" "runs no tests"
}

case_missing_test_file() {
    tree
    unit_list "$TREE" ok gone
    run_tree "$TREE" unit
    expect_failure "FAIL build build/"
    assert_contains "$RUN_OUT" "test_gone.c"
}

case_test_file_not_listed() {
    tree
    cmocka_program "$TREE/tests/unit/test_forgotten.c" 'static void test_one (void **state) { }' \
        'cmocka_unit_test (test_one)'
    run_tree "$TREE" unit
    expect_failure "FAIL unit: test sources no meson test runs"
    assert_contains "$RUN_OUT" "tests/unit/test_forgotten.c"
}

case_fuzz_corpus_and_target_in_pairs() {
    tree
    mkdir -p "$TREE/tests/fuzz/corpus/orphan"
    echo seed > "$TREE/tests/fuzz/corpus/orphan/seed"
    echo '/* no corpus */' > "$TREE/tests/fuzz/fuzz_lonely.c"
    run_tree "$TREE" fuzz
    expect_failure "FAIL fuzz_orphan"
    assert_contains "$RUN_OUT" "tests/fuzz/corpus/orphan/ has no target tests/fuzz/fuzz_orphan.c"
    assert_contains "$RUN_OUT" "tests/fuzz/fuzz_lonely.c has no seed corpus tests/fuzz/corpus/lonely/"
    assert_eq "$RUN_FAILED" 2 "failures"
}

# .ci/run clears every variable the tests read that could turn a comparison
# into a rewrite (or write test data somewhere): a new one must be added there.
case_ci_clears_rewrite_variables() {
    local vars var missing=
    vars=$(grep -rhoE '(getenv \("|\$\{?)[A-Z][A-Z0-9_]*(UPDATE|REGEN|SAVE|RECORD|REWRITE|BLESS|ACCEPT|OVERWRITE)[A-Z0-9_]*' \
        "$T_SOURCE_DIR/tests" "$T_SOURCE_DIR/scripts" --include='*.c' --include='*.h' --include='*.sh' |
        sed -E 's/^(getenv \("|\$\{?)//' | sort -u)
    assert_contains "$vars" WARREN_UPDATE_GOLDEN "the variables found"
    local cleared
    cleared=$(sed -n '/^cleared=(/,/^)/p' "$T_SOURCE_DIR/.ci/run")
    for var in $vars; do
        grep -qw -- "$var" <<<"$cleared" || missing+=" $var"
    done
    [ -z "$missing" ] || t_fail ".ci/run does not clear:$missing"
}

t_case "an unbroken tree passes" case_healthy_tree_passes
t_case "an integration file that dies after its first case fails" case_file_dies_after_first_case
t_case "an integration file that exits 0 before t_done fails" case_file_exits_0_before_t_done
t_case "a cmocka skip() fails with WARREN_REQUIRE_ALL=1" case_cmocka_skip_with_require_all
t_case "a cmocka program that runs no tests fails" case_cmocka_program_without_tests
t_case "a test file named in meson.build but missing fails the build" case_missing_test_file
t_case "a cmocka program no meson.build names fails" case_test_file_not_listed
t_case "a fuzz corpus without a target, or a target without a corpus, fails" case_fuzz_corpus_and_target_in_pairs
t_case ".ci/run clears every rewrite variable the tests read" case_ci_clears_rewrite_variables
t_done
