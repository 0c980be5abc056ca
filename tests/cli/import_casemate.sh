#!/usr/bin/env bash
# s2emu import-casemate: the sample casemate log of the corpus converts to a
# trace our reader accepts, with its unused records listed on stderr; -o,
# '-' and --vtcr work; a malformed log, a missing file and bad usage give
# exit status 2 with one line on stderr, and no half-written output file.
# Run by scripts/run-tests.sh from the repository root with $S2EMU set.
set -euo pipefail

: "${S2EMU:?S2EMU must name the s2emu binary}"
sample=traces/corpus/casemate-sample.log
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
die() { echo "import_casemate: $*"; exit 1; }
run() { timeout 20 "$S2EMU" "$@"; }

[ -f "$sample" ] || die "$sample is missing"

# The sample converts, starting with the header.
run import-casemate "$sample" >"$tmp/out.s2t" 2>"$tmp/err" || die "exit $? for the sample: $(cat "$tmp/err")"
[ "$(head -n1 "$tmp/out.s2t")" = "s2emu-trace 1" ] || die "the output does not start with 's2emu-trace 1'"
grep -q '^effect 1 ' "$tmp/out.s2t" || die "no effect of thread 1"
grep -q '^effect 0 tlbi \|^effect 1 tlbi ' "$tmp/out.s2t" || die "no tlbi effect"
grep -q '# src: arch/arm64/kvm/hyp/pgtable.c:' "$tmp/out.s2t" || die "no source locations kept"
grep -q '^effect 0 hint kind=set-root-lock ' "$tmp/out.s2t" || die "no set-root-lock hint"
grep -q '^effect 1 trylock addr=' "$tmp/out.s2t" || die "no trylock"
! grep -q '^# unused:' "$tmp/out.s2t" || die "records left unused in the sample"
[ ! -s "$tmp/err" ] || die "unexpected stderr for the sample: $(cat "$tmp/err")"

# The converted trace replays as it is, and the sample's protocol is clean.
rout=$(run replay "$tmp/out.s2t" 2>&1) || die "replay of the converted sample: $rout"

# -o writes the same trace; '-' reads standard input.
run import-casemate -o "$tmp/o.s2t" "$sample" 2>/dev/null || die "-o failed"
cmp -s "$tmp/out.s2t" "$tmp/o.s2t" || die "-o differs from standard output"
run import-casemate - <"$sample" 2>/dev/null | sed 's/casemate log -$/casemate log X/' >"$tmp/stdin.s2t"
sed "s|casemate log $sample\$|casemate log X|" "$tmp/out.s2t" | cmp -s - "$tmp/stdin.s2t" ||
	die "'-' gives another trace"

# --vtcr comes first, after the header; no note about a missing vtcr then.
printf '(mem-init (id 0) (tid 0) (address 0x1000) (size 0x1000) (src "a.c:1"))\n' >"$tmp/novtcr.log"
run import-casemate "$tmp/novtcr.log" >"$tmp/nv.s2t" 2>"$tmp/err" || die "exit $? without vtcr"
grep -q 'the log writes no vtcr_el2' "$tmp/err" || die "no warning about the missing vtcr_el2"
run import-casemate --vtcr 0x80023558 "$tmp/novtcr.log" >"$tmp/v.s2t" 2>"$tmp/err" || die "--vtcr failed"
[ "$(sed -n 3p "$tmp/v.s2t")" = "effect 0 vtcr value=0x80023558  # given to the importer, not in the log" ] ||
	die "--vtcr is not the first effect: $(sed -n 3p "$tmp/v.s2t")"
[ ! -s "$tmp/err" ] || die "unexpected stderr with --vtcr: $(cat "$tmp/err")"

# Bad input: exit 2, one line "s2emu import-casemate: FILE:LINE: problem".
bad() { # name, content, line
	printf '%b' "$2" >"$tmp/$1"
	set +e
	run import-casemate -o "$tmp/$1.s2t" "$tmp/$1" 2>"$tmp/err" >/dev/null
	local rc=$?
	set -e
	[ $rc -eq 2 ] || die "$1: exit $rc, not 2"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || die "$1: not one line on stderr: $(cat "$tmp/err")"
	grep -q "^s2emu import-casemate: $tmp/$1:$3: ." "$tmp/err" || die "$1: $(cat "$tmp/err")"
	[ ! -e "$tmp/$1.s2t" ] || die "$1: a half-written -o file is left"
}
bad unclosed.log '(lock (id 0) (tid 0) (address 0x10))\n(mem-write (id 1)\n (tid 0)\n' 2
bad nofield.log '(lock (id 0) (tid 0) (address 0x10))\n\n(mem-write (id 1) (tid 0) (mem-order plain) (value 0))\n' 3
bad garbage.log 'hello\n' 1
bad nul.log '(lock (id 0) (tid 0) (address 0x10))\n\0' 2
bad binary.log '\x7fELF\x02\x01\x01' 1
bad unknown.log '(lock (id 0) (tid 0) (address 0x10))\n(future-step (id 1) (tid 0))\n' 2
bad sysreg.log '(sysreg-write (id 0) (tid 0) (sysreg foo_el2) (value 0))\n' 1

# A missing file and bad usage.
set +e
run import-casemate "$tmp/none.log" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^s2emu import-casemate: $tmp/none.log: cannot open" "$tmp/err" ||
	die "a missing file: exit $rc, $(cat "$tmp/err")"
for args in "" "--vtcr" "--vtcr x $sample" "-o" "--bogus $sample" "$sample $sample"; do
	# shellcheck disable=SC2086
	run import-casemate $args >/dev/null 2>&1; rc=$?
	[ $rc -eq 2 ] || die "usage '$args': exit $rc, not 2"
done
run import-casemate --help >"$tmp/help"; rc=$?
[ $rc -eq 0 ] && grep -q '^usage: s2emu import-casemate' "$tmp/help" || die "--help: exit $rc"
set -e

# replay takes a casemate log as it is and reports on the log's own lines.
log=tests/data/casemate/expected/bad_bbm_missing_tlbi.log
set +e
out=$(run replay "$log"); rc=$?
set -e
[ $rc -eq 1 ] || die "replay of $log: exit $rc, not 1"
grep -q "^$log:13: violation: break-before-make (thread 0, step 13)\$" <<<"$out" ||
	die "no report on the log's line 13: $out"
grep -q "^  $log:10: thread 0 broke it here (0xaaaadccc6003 -> invalid)\$" <<<"$out" ||
	die "the report does not name the break on line 10: $out"
run replay tests/data/casemate/expected/good_bbm.log >/dev/null || die "good_bbm.log is not clean"
printf '(lock (id 0) (tid 0) (address 0x10))\n(future-step (id 1) (tid 0))\n' >"$tmp/unknown.log"
set +e
out=$(run replay "$tmp/unknown.log" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && grep -q "^s2emu replay: $tmp/unknown.log:2: future-step: a transition s2emu does not know" <<<"$out" ||
	die "replay of an unknown record: exit $rc, $out"
exit 0
