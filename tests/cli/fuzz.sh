#!/usr/bin/env bash
# s2emu fuzz: a buggy walker is caught, named, shrunk and written as a trace
# that replay reproduces; a correct one passes; exhaustive search covers the
# small race; bad options give one line and exit 2.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

out=$("$S2EMU" fuzz seed --walker install-first-nocmo --runs 50 --out "$tmp/x.s2t" 2>&1); rc=$?
if [ $rc -ne 1 ] || ! grep -q "dcache-clean-before-visible" <<<"$out"; then
    echo "fuzz: install-first-nocmo: rc=$rc"; echo "$out"; fail=1
fi
if ! grep -q "^expect fired rule=dcache-clean-before-visible" "$tmp/x.s2t" 2>/dev/null; then
    echo "fuzz: the trace does not expect the rule"; fail=1
fi
"$S2EMU" replay "$tmp/x.s2t" >/dev/null 2>&1 || { echo "fuzz: replay of the counterexample failed"; fail=1; }
# The counterexample is a regression test: the fixed walker does not fire.
"$S2EMU" replay --walker install-first "$tmp/x.s2t" >/dev/null 2>&1 && {
    echo "fuzz: the counterexample passes with install-first"; fail=1; }

out=$("$S2EMU" fuzz seed --walker upstream --runs 20 2>&1); rc=$?
if [ $rc -ne 0 ] || ! grep -q "none fired" <<<"$out"; then
    echo "fuzz: upstream: rc=$rc"; echo "$out"; fail=1
fi

# Every strategy, the default file name, JSON.
bin=$(cd "$(dirname "$S2EMU")" && pwd)/$(basename "$S2EMU")
( cd "$tmp" && "$bin" fuzz seed --walker anchor-leak --strategy pct --runs 5 >/dev/null 2>&1 )
[ -f "$tmp/fuzz-seed-refcount.s2t" ] || { echo "fuzz: no default counterexample file"; fail=1; }
"$S2EMU" replay "$tmp/fuzz-seed-refcount.s2t" >/dev/null 2>&1 || { echo "fuzz: pct trace"; fail=1; }
"$S2EMU" fuzz coalesce-race --strategy exhaustive --walker upstream-2021 --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["complete"] and r["counterexample"] is None and r["terminal"] > 100, r
' || { echo "fuzz: exhaustive JSON"; fail=1; }
"$S2EMU" fuzz seed --walker anchor-leak --runs 10 --jobs 2 --json --out "$tmp/j.s2t" | python3 -c '
import json, sys
r = json.load(sys.stdin)
c = r["counterexample"]
assert r["runs"] == 10 and c["replays"] and c["shrunk"]["rule"] == "refcount", r
' || { echo "fuzz: JSON with jobs"; fail=1; }

# A trace as the scenario; machine options override its configuration.
cat > "$tmp/t.s2t" <<'T'
s2emu-trace 1
config vcpus=2 walker=upstream
memslot 0 ipa=0x40000000 size=4M hva=0x7f0000000000 backing=thp dirty-log
phase 0
vcpu 0 write ipa=0x40001000 value=1
phase 1
host dirty-log-off slot=0
phase 2
vcpu 0 read ipa=0x40002000 mmu=off
vcpu 1 read ipa=0x40001000
T
"$S2EMU" fuzz "$tmp/t.s2t" --runs 20 >/dev/null 2>&1 || { echo "fuzz: trace scenario, upstream"; fail=1; }
"$S2EMU" fuzz "$tmp/t.s2t" --walker upstream-nocmo --runs 20 --out "$tmp/t-cex.s2t" >/dev/null 2>&1
[ $? -eq 1 ] && "$S2EMU" replay "$tmp/t-cex.s2t" >/dev/null 2>&1 || { echo "fuzz: trace scenario, nocmo"; fail=1; }

# Bad input: exit 2, one line naming the option or FILE:LINE.
bad() {  # expected fragment, args...
    local want=$1; shift
    out=$("$S2EMU" fuzz "$@" 2>&1); rc=$?
    if [ $rc -ne 2 ] || [ "$(wc -l <<<"$out")" -ne 1 ] || ! grep -q -- "$want" <<<"$out"; then
        echo "fuzz: bad input '$*': rc=$rc out=$out"; fail=1
    fi
}
bad "unknown strategy 'nope'" seed --strategy nope
bad "--runs" seed --runs 0
bad "--runs" seed --runs x
bad "--depth" seed --depth 0
bad "--time" seed --time -1
bad "--jobs" seed --jobs 0
bad "unknown option '--frob'" seed --frob
bad "unknown walker" seed --walker nope
bad "--against: unknown walker 'nope'" seed --against nope
bad "neither a built-in scenario nor a file" no-such-scenario
bad "one scenario at a time" seed map-unmap-race
printf 's2emu-trace 1\nvcpu 0 read\n' > "$tmp/bad.s2t"
bad "bad.s2t:2: " "$tmp/bad.s2t"
# s2emu bugs: bad usage is one line and exit 2.
out=$("$S2EMU" bugs --runs 0 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] || { echo "bugs: --runs 0: rc=$rc $out"; fail=1; }
out=$("$S2EMU" bugs --frob 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '--frob'" <<<"$out" || { echo "bugs: --frob: rc=$rc $out"; fail=1; }
# No scenario: the generic generator, a new scenario every seed.
out=$("$S2EMU" fuzz --runs 30 2>&1); rc=$?
if [ $rc -ne 0 ] || ! grep -q "none fired" <<<"$out" || ! grep -q "generated scenario" <<<"$out"; then
    echo "fuzz: no scenario, upstream: rc=$rc"; echo "$out"; fail=1
fi
out=$("$S2EMU" fuzz --walker upstream-noreload --runs 200 --out "$tmp/g.s2t" 2>&1); rc=$?
if [ $rc -ne 1 ] || ! grep -q "walk-after-free" <<<"$out"; then
    echo "fuzz: generated, upstream-noreload: rc=$rc"; echo "$out"; fail=1
fi
"$S2EMU" replay "$tmp/g.s2t" >/dev/null 2>&1 || { echo "fuzz: generated counterexample does not replay"; fail=1; }
grep -q "checked against upstream: the same program and schedule fire nothing" <<<"$out" || {
    echo "fuzz: the report does not name the reference"; echo "$out"; fail=1; }
head -1 "$tmp/g.s2t" | grep -q "fires nothing with the upstream walker" || {
    echo "fuzz: the trace does not name the reference"; fail=1; }
out=$("$S2EMU" run random --runs 20 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "none fired" <<<"$out" || { echo "fuzz: run random: rc=$rc"; echo "$out"; fail=1; }
exit $fail
