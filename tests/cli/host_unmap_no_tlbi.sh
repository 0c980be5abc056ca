#!/usr/bin/env bash
# The injected omission host-unmap-no-tlbi from a trace's config line: the
# MMU notifier's stage-2 unmap without its TLB invalidations leaves the
# vCPU's TLB translating a page the host no longer maps, and the host-mm
# rule fires s2-subset on "a vCPU's TLB", naming the trace's VMM address
# (the memslot's hva plus the offset); the same trace without the knob
# is clean. A fork write-protects the VMM's page: without the TLBIs the
# vCPU's TLB keeps it writable, and s2-writable names the VMM address too
# (its twin with the TLBIs is clean). A recorded run carries the knob and
# fires again.
# Run by scripts/run-tests.sh from the repository root with $S2EMU set.
set -euo pipefail
: "${S2EMU:?S2EMU must name the s2emu binary}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "host_unmap_no_tlbi: $*"; exit 1; }

# preamble CONFIG-WORDS: one vCPU, one 4 MiB memslot at hva 0x7f0000000000,
# and the guest's first write (to IPA 0x40001000).
preamble() {
	printf '%s\n' "s2emu-trace 1" \
		"config granule=4k ipa-bits=40 vcpus=1 walker=upstream host-mm=AE$1" \
		"memslot 0 ipa=0x40000000 size=4M hva=0x7f0000000000 backing=4k" \
		"phase 0" "vcpu 0 write ipa=0x40001000 value=1"
}

# trace CONFIG-WORDS EXPECT-LINES: the guest writes two pages (the table
# stays), the VMM drops one with MADV_DONTNEED, the VM goes.
trace() {
	preamble "$1"
	printf '%b' "vcpu 0 write ipa=0x40002000 value=2
phase 1
host dontneed hva=0x7f0000001000 size=4K
phase 2
host destroy
$2"
}

trace " host-unmap-no-tlbi" "expect fired rule=host-mm\nexpect fired rule=tlbi-after-unmap\n" \
	> "$tmp/drop.s2t"
"$S2EMU" replay --json "$tmp/drop.s2t" > "$tmp/drop.json" ||
	fail "the trace without the notifier's TLBIs did not fire what it expects"
grep -q "\"detail\": \"s2-subset: a vCPU's TLB maps IPA 0x40001000 .* at hva 0x7f0000001000" \
	"$tmp/drop.json" || fail "no s2-subset on the vCPU's TLB at the trace's hva: $(cat "$tmp/drop.json")"

# The twin: the notifier's TLBIs in, nothing fires.
trace "" "expect clean\n" > "$tmp/twin.s2t"
"$S2EMU" replay "$tmp/twin.s2t" > "$tmp/twin.out" ||
	fail "the twin with the notifier's TLBIs fired: $(cat "$tmp/twin.out")"
grep -q 'rules:       none' "$tmp/twin.out" || fail "the twin: $(cat "$tmp/twin.out")"

# fork CONFIG-WORDS: the guest writes a page, the VMM forks (its PTE goes
# read-only, the notifier unmaps stage 2), the guest writes again.
fork_trace() {
	preamble "$1"
	printf '%b' "phase 1
host fork
phase 2
vcpu 0 write ipa=0x40001000 value=2
"
}
fork_trace " host-unmap-no-tlbi" > "$tmp/fork.s2t"
"$S2EMU" replay --json "$tmp/fork.s2t" > "$tmp/fork.json" || true
grep -q "\"detail\": \"s2-writable: a vCPU's TLB maps IPA 0x40001000 writable while the host's PTE at 0x7f0000001000 is read-only" \
	"$tmp/fork.json" || fail "no s2-writable on the vCPU's TLB at the trace's hva: $(cat "$tmp/fork.json")"
fork_trace "" > "$tmp/fork-twin.s2t"
"$S2EMU" replay "$tmp/fork-twin.s2t" > "$tmp/fork-twin.out" ||
	fail "the fork twin with the notifier's TLBIs fired: $(cat "$tmp/fork-twin.out")"

# Without expectations the firing trace fails replay (exit 1); its record
# keeps the knob in its config line and fires the same when replayed.
trace " host-unmap-no-tlbi" "" > "$tmp/bare.s2t"
set +e
"$S2EMU" replay --record "$tmp/rec.s2t" "$tmp/bare.s2t" > "$tmp/bare.out" 2>&1; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "the bare trace exited $rc, expected 1"
grep -q '^config .* host-mm=AE host-unmap-no-tlbi$' "$tmp/rec.s2t" ||
	fail "the record's config lost the knob: $(grep '^config' "$tmp/rec.s2t")"
grep -q 'expect fired rule=host-mm' "$tmp/rec.s2t" || fail "the record does not expect host-mm"
"$S2EMU" replay "$tmp/rec.s2t" > /dev/null || fail "the record did not replay to the same outcome"
