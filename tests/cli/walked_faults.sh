#!/usr/bin/env bash
# A translation or access-flag fault line of a real trace was a walk: the
# vCPU's TLB held nothing for its address, so replay drops the vCPU's
# leaves for it first. After an ageing (which flushes nothing), a fault
# line on the aged page takes the access-flag fault the kernel took; a
# plain access there is served by the TLB and takes none.
set -u
S2EMU=${S2EMU:-build/s2emu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "walked_faults.sh: $*" >&2; exit 1; }

afs() { # TRACE-BODY: the access-flag faults of section s
    printf 's2emu-trace 1\nconfig vcpus=1\nmemslot 0 ipa=0x40000000 size=2M hva=0x7f0000000000 backing=4k\nsection s\n%s\n' "$1" >"$tmp/t.s2t"
    out=$("$S2EMU" replay --walker upstream --stats "$tmp/t.s2t") || fail "replay failed: $out"
    f=$(sed -n 's/^  stat s fault.access-flag.L3.read //p' <<<"$out")
    echo "${f:-0}"
}
first='vcpu 0 fault ipa=0x40000000 esr=0x93cc8047
vcpu 0 read ipa=0x40000000
host age-hva hva=0x7f0000000000 size=4K'
r=$(afs "$first
vcpu 0 fault ipa=0x40000000 esr=0x93cc800b"); [ "$r" = 1 ] || fail "an access-flag fault line after ageing: $r, not 1"
r=$(afs "$first
vcpu 0 read ipa=0x40000000"); [ "$r" = 0 ] || fail "a plain read after ageing: $r, not 0 (the TLB serves it)"
exit 0
