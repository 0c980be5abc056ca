#!/usr/bin/env bash
# Runs every cmocka test binary given after the s2emu binary, then the
# command-line checks in tests/cli/*.sh, and closes with one line
# "tests: N passed, N failed" that CI reads.
#
#   RUNNER='valgrind -q ...' scripts/run-tests.sh BIN TESTS...
#       runs each test binary under RUNNER (make valgrind); NO_CLI=1 leaves
#       out the command-line checks.
set -u
bin=$1; shift
read -r -a runner <<< "${RUNNER:-}"
passed=0; failed=0; failed_names=()
for t in "$@"; do
    out=$("${runner[@]}" "$t" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed before cmocka's summary
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failed_names+=("$(basename "$t")")
        printf '%s\n' "$out"
    fi
    printf '%-28s %4d passed %4d failed\n' "$(basename "$t")" "$p" "$f"
done
for s in tests/cli/*.sh; do
    [ -z "${NO_CLI:-}" ] || break
    [ -e "$s" ] || continue
    if out=$(S2EMU="$bin" bash "$s" 2>&1); then
        passed=$((passed + 1))
        printf '%-28s %4d passed %4d failed\n' "cli/$(basename "$s")" 1 0
    else
        failed=$((failed + 1)); failed_names+=("cli/$(basename "$s")")
        printf '%s\n' "$out"
        printf '%-28s %4d passed %4d failed\n' "cli/$(basename "$s")" 0 1
    fi
done
[ ${#failed_names[@]} -eq 0 ] || echo "failing: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
