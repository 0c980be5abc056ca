#!/usr/bin/env bash
# s2emu replay of effect traces: --ignore-ttl relaxes the TTL rule (and
# only that); every casemate example log replays as shipped with exit 0
# when casemate accepts it and 1 when it rejects it; the JSON report of an
# effect trace names the file, the line and the thread.
# Run by scripts/run-tests.sh from the repository root with $S2EMU set.
set -euo pipefail

: "${S2EMU:?S2EMU must name the s2emu binary}"
die() { echo "effect_replay: $*"; exit 1; }
run() { timeout 20 "$S2EMU" "$@"; }

ttl=traces/corpus/effect-ttl-wrong.s2t
run replay "$ttl" >/dev/null || die "$ttl: its expectations do not hold"
set +e
out=$(run replay --ignore-ttl "$ttl"); rc=$?
set -e
[ $rc -eq 1 ] || die "--ignore-ttl: exit $rc, not 1"
grep -q "rule tlbi-ttl did not fire" <<<"$out" || die "--ignore-ttl still fires tlbi-ttl: $out"
run replay --ignore-ttl traces/corpus/effect-bbm-bad.s2t >/dev/null ||
	die "--ignore-ttl changes a trace whose hints are right"

n=0
for log in tests/data/casemate/expected/*.log; do
	want=0
	grep -q '^!' "$log" && want=1
	set +e
	run replay "$log" >/dev/null 2>&1; rc=$?
	set -e
	[ $rc -eq $want ] || die "$log: exit $rc, casemate's verdict says $want"
	n=$((n + 1))
done
[ $n -eq 23 ] || die "$n casemate logs, not 23"

log=tests/data/casemate/expected/bad_race.log
set +e
json=$(run replay --json "$log"); rc=$?
set -e
[ $rc -eq 1 ] || die "--json $log: exit $rc"
JSON=$json python3 - "$log" <<'PY' || die "the JSON report of $log is not as expected: $json"
import json, os, sys
v = json.loads(os.environ["JSON"])[0]["violations"][0]
assert v["rule"] == "unlocked-write", v
assert v["file"] == sys.argv[1] and v["line"] == 4 and v["thread"] == 1, v
assert v["pa"] == "0xaaaad1f75008", v
PY
exit 0
