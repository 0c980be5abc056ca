#!/usr/bin/env bash
# scripts/real-facts.sh counts a capture's RAM faults per section, class,
# level and access as KVM takes them (a fault on a stage-1 walk is a read,
# or a write when a permission fault; never exec), skips faults outside the
# memslots, counts KVM's functions from a function_graph trace, and says
# which groups the capture can tell.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "real_facts.sh: $*" >&2; exit 1; }

K='          kvmrun-386     [001] .....    '
cat >"$tmp/cap" <<T
# tracer: nop
${K}1.0: tracing_mark_write: s2emu-host vhe=1 fwb=1 range-tlbi=1 idc=1 dic=0 hw-dirty=1
${K}1.1: tracing_mark_write: s2emu-memslot slot=0 gpa=0x80000000 size=0x4000000 hva=0xffffa3400000 flags=none backing=4k
${K}1.2: kvm_guest_fault: ipa 0x80000000, hsr 0x82000005, hxfar 0x80000000, pc 0x80000000
${K}1.3: tracing_mark_write: s2emu-phase name=start mode=linux
${K}1.4: kvm_guest_fault: ipa 0x80001000, hsr 0x82000007, hxfar 0x80001000, pc 0x80001000
${K}1.5: kvm_guest_fault: ipa 0x80002000, hsr 0x8200008f, hxfar 0x1000, pc 0x80001000
${K}1.6: kvm_guest_fault: ipa 0x80003000, hsr 0x920000c6, hxfar 0x2000, pc 0x80001000
${K}1.7: kvm_guest_fault: ipa 0x80004000, hsr 0x820000ab, hxfar 0x3000, pc 0x80001000
${K}1.8: kvm_guest_fault: ipa 0x80005000, hsr 0x9200004f, hxfar 0x80005000, pc 0x80001000
${K}1.9: kvm_guest_fault: ipa 0x09000000, hsr 0x92000046, hxfar 0x09000000, pc 0x80001000
${K}2.0: tracing_mark_write: s2emu-phase name=pass_done pass=1
${K}2.1: kvm_guest_fault: ipa 0x80005000, hsr 0x9200000b, hxfar 0x80005000, pc 0x80001000
T
scripts/real-facts.sh "$tmp/cap" >"$tmp/facts" || fail "failed"
want() { grep -qx "$1" "$tmp/facts" || fail "no '$1' in: $(cat "$tmp/facts")"; }
want '# compare: fault'
want 'pre fault.translation.L1.exec 1'
want 'pass1 fault.translation.L3.exec 1'
want 'pass1 fault.permission.L3.write 2'	# the guest's write and a stage-1 walk's update
want 'pass1 fault.translation.L2.read 1'	# a stage-1 walk, WnR set: still a read
want 'pass1 fault.translation.L-1.read 1'	# FSC 0x2b
want 'after-pass1 fault.access-flag.L3.read 1'
grep -q 'exec' <(grep -v 'L[13]\.exec' "$tmp/facts") && fail "a stage-1 walk counted as exec: $(cat "$tmp/facts")"
[ "$(grep -c ' fault\.' "$tmp/facts")" -eq 6 ] || fail "the MMIO fault counted: $(cat "$tmp/facts")"

# A function_graph capture: calls per section, and every group to compare.
cat >"$tmp/ft" <<T
 1.000000 |   1)  kvmrun-386   |               |  /* s2emu-host vhe=1 fwb=1 range-tlbi=1 idc=1 dic=0 hw-dirty=1 */
 1.100000 |   1)  kvmrun-386   |               |  /* s2emu-phase name=start mode=raw */
 1.200000 |   1)  kvmrun-386   |               |  kvm_pgtable_stage2_map() {
 1.300000 |   1)  kvmrun-386   |   0.500 us    |    stage2_try_break_pte();
 1.400000 |   1)  kvmrun-386   |   0.500 us    |    stage2_make_pte();
 1.500000 |   1)  kvmrun-386   |   0.500 us    |    __kvm_tlb_flush_vmid_range();
 1.600000 |   1)  kvmrun-386   |   2.000 us    |  } /* kvm_pgtable_stage2_map */
T
scripts/real-facts.sh "$tmp/ft" >"$tmp/facts" || fail "function_graph failed"
want '# compare: fault op table break make put dcache icache tlbi'
want 'pass1 op.map 1'
want 'pass1 break 1'
want 'pass1 make 1'
want 'pass1 tlbi.range 1'
# .xz captures are read too.
xz -c "$tmp/ft" >"$tmp/ft.xz" || fail "xz"
scripts/real-facts.sh "$tmp/ft.xz" | grep -qx 'pass1 op.map 1' || fail ".xz capture"
exit 0
