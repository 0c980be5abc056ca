#!/usr/bin/env bash
# s2emu replay --stats: per section, the counts a kernel engineer compares;
# --json carries them; host options replace the trace's config; --teardown
# ends the VM so that the leak rule runs.
set -u
S2EMU=${S2EMU:-build/s2emu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "replay_stats.sh: $*" >&2; exit 1; }

cat >"$tmp/t.s2t" <<'T'
s2emu-trace 1
config vcpus=1 fwb=1
memslot 0 ipa=0x40000000 size=2M hva=0x7f0000000000 backing=4k
section pass1
vcpu 0 write ipa=0x40000000 value=1
vcpu 0 write ipa=0x40001000 value=2
section after-pass1
host dirty-log-on slot=0
section pass2
vcpu 0 write ipa=0x40000000 value=3
T
out=$("$S2EMU" replay --stats "$tmp/t.s2t") || fail "replay failed: $out"
grep -qx '  stat pass1 fault.translation.L1.write 1' <<<"$out" || fail "no L1 fault in pass1: $out"
grep -qx '  stat pass1 fault.translation.L3.write 1' <<<"$out" || fail "no L3 fault in pass1: $out"
grep -qx '  stat pass1 op.map 2' <<<"$out" || fail "maps: $out"
grep -qx '  stat pass1 table.alloc 2' <<<"$out" || fail "tables: $out"
grep -qx '  stat after-pass1 op.wrprotect 1' <<<"$out" || fail "wrprotect: $out"
grep -qx '  stat after-pass1 tlbi.vmid 1' <<<"$out" || fail "tlbi.vmid: $out"
grep -qx '  stat pass2 fault.permission.L3.write 1' <<<"$out" || fail "permission fault: $out"
grep -qx '  stat pass2 op.relax 1' <<<"$out" || fail "relax: $out"
grep -qx '  stat pass2 tlbi.local 1' <<<"$out" || fail "local TLBI: $out"
# FWB: the kernel's clean-to-PoC helper is called (and returns) per leaf.
grep -qx '  stat pass1 dcache.calls 2' <<<"$out" || fail "dcache calls: $out"
grep -q 'stat pass1 dcache.bytes' <<<"$out" && fail "FWB cleaned bytes: $out"
# Without FWB the same calls clean 4K each.
out=$("$S2EMU" replay --stats --fwb=0 "$tmp/t.s2t") || fail "--fwb=0 failed"
grep -qx '  stat pass1 dcache.bytes 8192' <<<"$out" || fail "--fwb=0 bytes: $out"
"$S2EMU" replay --fwb=2 "$tmp/t.s2t" 2>/dev/null; [ $? -eq 2 ] || fail "--fwb=2 accepted"

# JSON: the same numbers under "sections".
json=$("$S2EMU" replay --json "$tmp/t.s2t") || fail "json failed"
grep -q '{"name": "pass1", "stats": {"fault.translation.L1.write": 1' <<<"$json" \
    || fail "json sections: $json"

# --teardown ends the VM after the last event, in the last section.
"$S2EMU" replay --stats "$tmp/t.s2t" | grep -q 'op.destroy' && fail "destroyed without --teardown"
out=$("$S2EMU" replay --stats --teardown "$tmp/t.s2t") || fail "--teardown failed: $out"
grep -qx '  stat pass2 op.destroy 1' <<<"$out" || fail "--teardown: $out"
grep -qx '  stat pass2 table.free 4' <<<"$out" || fail "--teardown frees: $out"
exit 0
