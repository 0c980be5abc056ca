#!/usr/bin/env bash
# Every trace of the corpus replays with all its expectations met, and the
# same traces fail as they should under a walker that breaks them.
set -u
fail=0
for t in traces/corpus/*.s2t; do
    if ! out=$("$S2EMU" replay "$t" 2>&1); then
        echo "corpus: $t failed:"; echo "$out"; fail=1
    fi
done
# A self-checking trace must be able to fail: the MMU-off image trace with a
# walker that skips the CMOs, and a recorded run under another walker.
if "$S2EMU" replay --walker upstream-nocmo traces/corpus/mmu-off-image.s2t >/dev/null 2>&1; then
    echo "corpus: mmu-off-image.s2t passed with upstream-nocmo"; fail=1
fi
if "$S2EMU" replay --walker upstream traces/corpus/seed-anchor-leak.s2t >/dev/null 2>&1; then
    echo "corpus: seed-anchor-leak.s2t passed with upstream"; fail=1
fi
# JSON output parses, one object per trace.
"$S2EMU" replay --json traces/corpus/*.s2t | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert len(r) >= 12, len(r)
assert all(x["result"] == "ok" for x in r), [x["trace"] for x in r if x["result"] != "ok"]
' || { echo "corpus: JSON output wrong"; fail=1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# The ftrace sample, imported, replays with its expectations (the coalesce
# after dirty logging is turned off, the unmapped block faulted back).
"$S2EMU" import-ftrace --layout traces/corpus/ftrace-6.12-seed.layout \
    traces/corpus/ftrace-6.12-seed.txt -o "$tmp/ft.s2t" 2>/dev/null \
    && cat traces/corpus/ftrace-6.12-seed.expect >>"$tmp/ft.s2t" \
    && "$S2EMU" replay "$tmp/ft.s2t" >/dev/null 2>&1 \
    || { echo "corpus: the imported ftrace sample did not replay with its expectations"; fail=1; }
# So does the casemate sample, as an effect trace.
"$S2EMU" import-casemate traces/corpus/casemate-sample.log -o "$tmp/cm.s2t" 2>/dev/null \
    && "$S2EMU" replay "$tmp/cm.s2t" >/dev/null 2>&1 \
    || { echo "corpus: the imported casemate sample did not replay"; fail=1; }
# A recorded replay replays to the same outcome, under another walker too.
"$S2EMU" replay --walker upstream-nocmo --record "$tmp/r.s2t" traces/corpus/mmu-off-image.s2t >/dev/null 2>&1
grep -q "^expect fired rule=stale-data" "$tmp/r.s2t" && "$S2EMU" replay "$tmp/r.s2t" >/dev/null 2>&1 \
    || { echo "corpus: replay --record did not reproduce the run"; fail=1; }
exit $fail
