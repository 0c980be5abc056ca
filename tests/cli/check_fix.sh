#!/usr/bin/env bash
# The fix-check flow: a counterexample recorded on a buggy walker, replayed
# with --check-fix on the fixed one, follows the recorded schedule as far as
# it applies and says which recorded rules no longer fire (exit 0); on the
# buggy walker it says they still fire (exit 1); a trace that records no
# rule firing has nothing to check (exit 2).
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$S2EMU" run seed --walker install-first-nocmo --record "$tmp/bad.s2t" >/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q '^expect fired rule=dcache-clean-before-visible' "$tmp/bad.s2t" \
    || { echo "check_fix: the recording did not fire (rc=$rc)"; fail=1; }
# Without --check-fix the recorded schedule no longer fits the fixed code.
"$S2EMU" replay --walker install-first "$tmp/bad.s2t" >/dev/null 2>&1 \
    && { echo "check_fix: a plain replay on the fixed walker passed: the test proves nothing"; fail=1; }

out=$("$S2EMU" replay --walker install-first --check-fix "$tmp/bad.s2t" 2>&1); rc=$?
for want in "fixed: rule dcache-clean-before-visible no longer fires" \
            "fixed: rule stale-data no longer fires" "check-fix: fixed" \
            "schedule: followed for [0-9]* of its [0-9]* choices; the next one names a step"; do
    grep -q "^  $want" <<<"$out" || { echo "check_fix: fixed walker: no '$want'"; fail=1; }
done
[ $rc -eq 0 ] || { echo "check_fix: fixed walker exit $rc"; echo "$out"; fail=1; }

out=$("$S2EMU" replay --check-fix "$tmp/bad.s2t" 2>&1); rc=$?
grep -q "^  not fixed: rule stale-data still fires" <<<"$out" && grep -q "^  check-fix: NOT FIXED" <<<"$out" \
    && grep -q "^  schedule: followed for \([0-9]*\) of its \1 choices$" <<<"$out" \
    || { echo "check_fix: the buggy walker: $out"; fail=1; }
[ $rc -eq 1 ] || { echo "check_fix: buggy walker exit $rc"; fail=1; }

out=$("$S2EMU" replay --walker install-first --check-fix --json "$tmp/bad.s2t" 2>&1)
python3 -c '
import json, sys
r = json.loads(sys.argv[1])[0]["check_fix"]
assert r["status"] == "fixed" and r["diverged"] and r["still_fires"] == [], r
assert sorted(r["fixed"]) == ["dcache-clean-before-visible", "stale-data"], r
assert 0 < r["schedule_followed"] < r["schedule_length"], r
' "$out" || { echo "check_fix: JSON"; fail=1; }

out=$("$S2EMU" replay --check-fix traces/corpus/seed-upstream.s2t 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && grep -q "records no rule that fired" <<<"$out" \
    || { echo "check_fix: a trace without expect fired: rc=$rc $out"; fail=1; }
exit $fail
