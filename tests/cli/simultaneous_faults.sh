#!/usr/bin/env bash
# A fault line of a vCPU with the ESR and page of another vCPU's fault line
# after the first vCPU's own last line was in flight with it: replay takes
# both faults (one maps, the other finds the entry done), sequential or
# parallel, whether the lines are adjacent or not. So was one after lines of
# its own vCPU, when the other vCPU has had no line since its fault (its
# handler was still mapping). A vCPU that faults again and again on the
# page lost its break to the handler holding the entry each time: with
# parallel faults every line faults and each but the last loses a break;
# so does a line marked lost-break (a function trace showed it). A
# line of each vCPU in between, a host event before them, or another ESR,
# keeps them one at a time. A translation fault at a deeper level than the
# other's walked while the other's map had linked tables down to it: it is
# taken there. Access-flag faults overlap after host events
# too, unless one that may change an entry (not an invalidation's begin or
# end) comes between.
set -u
S2EMU=${S2EMU:-build/s2emu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "simultaneous_faults.sh: $*" >&2; exit 1; }

head='s2emu-trace 1
config vcpus=2 fwb=1
memslot 0 ipa=0x40000000 size=2M hva=0x7f0000000000 backing=4k
section s'
w0='vcpu 0 fault ipa=0x40000000 esr=0x93cc8046'
w1='vcpu 1 fault ipa=0x40000000 esr=0x93cc8046'
faults() { # TRACE-BODY WALKER: the section's faults, maps and lost breaks
    printf '%s\n%s\n' "$head" "$1" >"$tmp/t.s2t"
    out=$("$S2EMU" replay --walker "$2" --stats "$tmp/t.s2t") || fail "replay failed ($2): $out"
    f=$(awk '$1 == "stat" && $2 == "s" && $3 ~ /^fault\./ { n += $4 } END { print n + 0 }' <<<"$out")
    m=$(sed -n 's/^  stat s op.map //p' <<<"$out")
    l=$(sed -n 's/^  stat s break.lost //p' <<<"$out")
    echo "$f ${m:-0} ${l:-0}"
}
for w in upstream upstream-exclusive; do
    r=$(faults "$w0
$w1" $w); [ "$r" = "2 2 0" ] || fail "$w: overlapping faults gave faults/maps/lost $r, not 2 2 0"
    r=$(faults "$w0
vcpu 0 fault ipa=0x40001000 esr=0x93cc8047
$w1" $w); [ "$r" = "3 3 0" ] || fail "$w: another page's fault between: $r, not 3 3 0"
    r=$(faults "vcpu 1 fault ipa=0x40001000 esr=0x93cc8046
$w0
vcpu 1 fault ipa=0x40002000 esr=0x93cc8047
$w1" $w); [ "$r" = "4 4 0" ] || fail "$w: a line of the second vCPU between: $r, not 4 4 0"
    r=$(faults "vcpu 1 fault ipa=0x40001000 esr=0x93cc8046
$w0
vcpu 1 fault ipa=0x40002000 esr=0x93cc8047
vcpu 0 fault ipa=0x40003000 esr=0x93cc8047
$w1" $w); [ "$r" = "4 4 0" ] || fail "$w: a line of each vCPU between: $r, not 4 4 0 (no fault on the last line)"
    r=$(faults "$w0
vcpu 0 read ipa=0x40000000
$w1" $w); [ "$r" = "2 2 0" ] || fail "$w: the first vCPU's access between: $r, not 2 2 0"
    r=$(faults "host age-hva hva=0x7f0000100000 size=4K
$w0
$w1" $w); [ "$r" = "1 1 0" ] || fail "$w: after a host event: $r, not 1 1 0"
    r=$(faults "$w0
vcpu 1 fault ipa=0x40000000 esr=0x92000006" $w); [ "$r" = "1 1 0" ] || fail "$w: another ESR (a read): $r, not 1 1 0"
done

# After an ageing, both vCPUs' access-flag faults
# on the page overlap: both are taken, as the kernel took them.
af0='vcpu 0 fault ipa=0x40000000 esr=0x93cc804b'
af1='vcpu 1 fault ipa=0x40000000 esr=0x93cc804b'
aged="$w0
host age-hva hva=0x7f0000000000 size=4K"
afs() { # TRACE-BODY: the section's L3 write access-flag faults
    printf '%s\n%s\n' "$head" "$1" >"$tmp/t.s2t"
    out=$("$S2EMU" replay --walker upstream --stats "$tmp/t.s2t") || fail "replay failed: $out"
    f=$(sed -n 's/^  stat s fault.access-flag.L3.write //p' <<<"$out")
    echo "${f:-0}"
}
r=$(afs "$aged
$af0
$af1"); [ "$r" = 2 ] || fail "access-flag faults after a host event: $r, not 2"
r=$(afs "$aged
$af0
host invalidate-begin
host invalidate-end
$af1"); [ "$r" = 2 ] || fail "an invalidation's begin and end between: $r, not 2"
r=$(afs "$aged
$af0
host unmap-hva hva=0x7f0000100000 size=4K
$af1"); [ "$r" = 1 ] || fail "a host change between: $r, not 1"

# The same page three times by vCPU 1 while vCPU 0 maps it (the tables
# exist): the first two lose the break, the last finds the page mapped.
again="vcpu 0 fault ipa=0x40005000 esr=0x93cc8046
vcpu 0 fault ipa=0x40000000 esr=0x93cc8047
vcpu 1 fault ipa=0x40000000 esr=0x93cc8047
vcpu 1 fault ipa=0x40000000 esr=0x93cc8047
vcpu 1 fault ipa=0x40000000 esr=0x93cc8047"
r=$(faults "$again" upstream); [ "$r" = "5 5 2" ] || fail "upstream: faults again on the page: $r, not 5 5 2"
# The same with the vCPUs swapped: vCPU 0's last fault, which is not to
# lose, waits while vCPU 1's handler holds the entry (it was handled first
# and lost a third break).
swapped="vcpu 1 fault ipa=0x40005000 esr=0x93cc8046
vcpu 1 fault ipa=0x40000000 esr=0x93cc8047
vcpu 0 fault ipa=0x40000000 esr=0x93cc8047
vcpu 0 fault ipa=0x40000000 esr=0x93cc8047
vcpu 0 fault ipa=0x40000000 esr=0x93cc8047"
r=$(faults "$swapped" upstream); [ "$r" = "5 5 2" ] || fail "upstream: vCPU 0 faults again on the page: $r, not 5 5 2"
# A function trace shows which handler lost its break (lost-break), even
# when the vCPU did not fault again: that handler runs while the other
# holds the entry, and loses; without the flag it finds the page mapped.
for lb in "$w0
$w1 lost-break" "$w0 lost-break
$w1"; do
    r=$(faults "$lb" upstream); [ "$r" = "2 2 1" ] || fail "upstream: a lost-break line: $r, not 2 2 1"
done
# vCPU 1's fetch faulted at level 3 while vCPU 0's fetch fault at level 1
# was being handled: its walk waits for the tables vCPU 0's map links.
deep="vcpu 0 fault ipa=0x40000000 esr=0x82000005
vcpu 1 fault ipa=0x40000000 esr=0x82000007"
for w in upstream upstream-exclusive; do
    printf '%s\n%s\n' "$head" "$deep" >"$tmp/t.s2t"
    out=$("$S2EMU" replay --walker $w --stats "$tmp/t.s2t") || fail "replay failed ($w): $out"
    grep -q '^  stat s fault.translation.L1.exec 1$' <<<"$out" &&
        grep -q '^  stat s fault.translation.L3.exec 1$' <<<"$out" ||
        fail "$w: a deeper fault on the page is not taken at level 3: $out"
done
# Faults one at a time never leave the entry locked for another to see.
r=$(faults "$again" upstream-exclusive); [ "$r" = "3 3 0" ] || fail "upstream-exclusive: faults again on the page: $r, not 3 3 0"
exit 0
