#!/usr/bin/env bash
# KVM's fault handler gives up (mmu_invalidate_retry, VM-wide) while an
# MMU-notifier invalidation is in progress, and when one began or ended
# while it handled the fault (before the vCPU's next attempt): the fault
# maps nothing and the vCPU's next fault line on the page faults again.
# A next line that is the same access on another page shows it did not,
# even with an invalidation in progress at the fault, and however many
# fetches and stage-1 walks (the retry's own) came between; so does an
# access-flag fault on the page, of any vCPU, after an ageing.
# Without invalidation lines the second attempt finds the page mapped.
# An entry line ends the span; with entry lines, a handler that did not
# give up although an invalidation ended in its span maps after that end,
# and a fault line's walk comes right after the vCPU's entry.
# Across chunk boundaries (a long trace), the span is kept all the same.
set -u
S2EMU=${S2EMU:-build/s2emu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "invalidate_retry.sh: $*" >&2; exit 1; }

head='s2emu-trace 1
config vcpus=2 fwb=1
memslot 0 ipa=0x40000000 size=64M hva=0x7f0000000000 backing=4k
section s'
w0='vcpu 0 fault ipa=0x40000000 esr=0x93cc8047'
far='host unmap-hva hva=0x7f0003000000 size=4K'
counts() { # TRACE-BODY: the section's faults, maps and retries
    printf '%s\n%s\n' "$head" "$1" >"$tmp/t.s2t"
    out=$("$S2EMU" replay --walker upstream --stats "$tmp/t.s2t") || fail "replay failed: $out"
    f=$(awk '/^  stat s fault\./ { n += $4 } END { print n + 0 }' <<<"$out")
    m=$(sed -n 's/^  stat s op.map //p' <<<"$out")
    r=$(sed -n 's/^  stat s retry //p' <<<"$out")
    echo "$f ${m:-0} ${r:-0}"
}
# has_stat TRACE-BODY STAT: its replay counts "stat s STAT"
has_stat() {
    printf '%s\n%s\n' "$head" "$1" >"$tmp/t.s2t"
    "$S2EMU" replay --walker upstream --stats "$tmp/t.s2t" | grep -qx "  stat s $2"
}
r=$(counts "$w0
$w0"); [ "$r" = "1 1 0" ] || fail "no invalidation: faults/maps/retries $r, not 1 1 0"
r=$(counts "host invalidate-begin
$far
$w0
$w0
host invalidate-end
$w0"); [ "$r" = "3 1 2" ] || fail "in progress: $r, not 3 1 2"
r=$(counts "$w0
host invalidate-begin
$far
host invalidate-end
$w0"); [ "$r" = "2 1 1" ] || fail "in the fault's span: $r, not 2 1 1"
# The vCPU's next line, a write on another page: the guest's retry of the
# first write went through, so its handler did not give up.
r=$(counts "$w0
host invalidate-begin
$far
host invalidate-end
vcpu 0 fault ipa=0x40001000 esr=0x93cc8047"); [ "$r" = "2 2 0" ] || fail "a write elsewhere next: $r, not 2 2 0"
# ... even with an invalidation in progress at the fault (the handler
# sampled the sequence after it ended).
r=$(counts "host invalidate-begin
$far
$w0
host invalidate-end
vcpu 0 fault ipa=0x40001000 esr=0x93cc8047"); [ "$r" = "2 2 0" ] || fail "in progress, a write elsewhere next: $r, not 2 2 0"
# A fetch between (the retry's own) does not matter.
r=$(counts "host invalidate-begin
$far
$w0
host invalidate-end
vcpu 0 fault ipa=0x40100000 esr=0x82000007
vcpu 0 fault ipa=0x40001000 esr=0x93cc8047"); [ "$r" = "3 3 0" ] || fail "a fetch, then a write elsewhere: $r, not 3 3 0"
# An instruction fetch next proves nothing (the retry fetched first).
r=$(counts "$w0
host invalidate-begin
$far
host invalidate-end
vcpu 0 fault ipa=0x40100000 esr=0x82000007
$w0"); [ "$r" = "3 2 1" ] || fail "a fetch elsewhere next: $r, not 3 2 1"
# Nor does a read on a stage-1 walk after a read (the retry walked stage 1
# first).
r=$(counts "vcpu 0 fault ipa=0x40000000 esr=0x92000007
host invalidate-begin
$far
host invalidate-end
vcpu 0 fault ipa=0x40001000 esr=0x92000087
vcpu 0 fault ipa=0x40000000 esr=0x92000007"); [ "$r" = "3 2 1" ] || fail "a stage-1 walk's read elsewhere next: $r, not 3 2 1"
# ... but a stage-1 walk's fault between a read and the next read
# elsewhere is the retry's own walk, as a fetch is.
r=$(counts "vcpu 0 fault ipa=0x40000000 esr=0x92000007
host invalidate-begin
$far
host invalidate-end
vcpu 0 fault ipa=0x40001000 esr=0x92000087
vcpu 0 fault ipa=0x40002000 esr=0x92000007"); [ "$r" = "3 3 0" ] || fail "a stage-1 walk, then a read elsewhere: $r, not 3 3 0"
# An entry line (the vCPU back in the guest) ends the fault's span: an
# invalidation after it is not in it.
r=$(counts "$w0
entry vcpu=0
host invalidate-begin
$far
host invalidate-end
$w0"); [ "$r" = "1 1 0" ] || fail "an invalidation after the entry: $r, not 1 1 0"
# With entry lines, a fault whose span held an invalidation's end and
# whose handler did not give up (a write elsewhere next) maps after that
# end: here after the unmap of its own page, which it survives, and its
# table with it (the next write faults at level 3, not 1). The fault is
# counted once, and not as a retry.
late="$w0
host invalidate-begin
host unmap-hva hva=0x7f0000000000 size=4K
host invalidate-end
entry vcpu=0
vcpu 0 fault ipa=0x40001000 esr=0x93cc8047
expect mapped ipa=0x40000000"
r=$(counts "$late"); [ "$r" = "2 2 0" ] || fail "the handler after the end: $r, not 2 2 0"
has_stat "$late" "fault.translation.L3.write 1" ||
    fail "the handler after the end: the next write is not a level-3 fault"
# Without entry lines, the rule before them: it mapped at the fault.
printf '%s\n%s\n' "$head" "$(grep -v '^entry' <<<"$late")" >"$tmp/t.s2t"
out=$("$S2EMU" replay --walker upstream "$tmp/t.s2t")
[ $? = 1 ] && grep -q "ipa 0x40000000 is not mapped" <<<"$out" ||
    fail "without entry lines, the page is not unmapped by the unmap after its fault: $out"
# A fault line after an entry with a host change since: its walk came
# soon after the entry, before the change. Here the unmap of the first
# page frees its table; the second write walked before it, and faults at
# level 3 (counted once), then is handled after it; without the entry
# line it walks after the unmap and faults at level 1.
early="$w0
entry vcpu=0
host unmap-hva hva=0x7f0000000000 size=4K
vcpu 0 fault ipa=0x40001000 esr=0x93cc8047
expect mapped ipa=0x40001000"
r=$(counts "$early"); [ "$r" = "2 2 0" ] || fail "a walk at the entry: $r, not 2 2 0"
has_stat "$early" "fault.translation.L3.write 1" ||
    fail "a walk at the entry: the second write is not a level-3 fault"
has_stat "$(grep -v '^entry' <<<"$early")" "fault.translation.L1.write 2" ||
    fail "without the entry line, the second write is not a level-1 fault"
printf '%s\n%s\n' "$head" "entry vcpu=2" >"$tmp/t.s2t"
out=$("$S2EMU" replay "$tmp/t.s2t" 2>&1)
[ $? = 2 ] && grep -q "t.s2t:5: entry vcpu=2: the configuration has 2 vCPUs" <<<"$out" ||
    fail "an entry of a vCPU the configuration lacks is not bad input at its line: $out"
# A stage-1 walk's read, however far back (here the ninth line), is no data
# read the next read elsewhere shows went through: it still retries.
fetches=$(for i in 1 2 3 4 5 6 7 8; do printf 'vcpu 0 fault ipa=%#x esr=0x82000007\n' $((0x40100000 + i * 4096)); done)
r=$(counts "host invalidate-begin
$far
vcpu 0 fault ipa=0x40001000 esr=0x92000087
host invalidate-end
$fetches
vcpu 0 fault ipa=0x40002000 esr=0x92000007"); [ "$r" = "10 9 1" ] || fail "a stage-1 walk nine lines back: $r, not 10 9 1"
# ... and a data read further back than eight lines of fetches and walks
# is still the one the next read elsewhere shows went through.
r=$(counts "host invalidate-begin
$far
vcpu 0 fault ipa=0x40000000 esr=0x92000007
host invalidate-end
vcpu 0 fault ipa=0x40001000 esr=0x92000087
$fetches
vcpu 0 fault ipa=0x40002000 esr=0x92000007"); [ "$r" = "11 11 0" ] || fail "a read ten lines back: $r, not 11 11 0"
# An access-flag fault on the page after an ageing shows the page was
# mapped: the handler of the page's last fault line, this vCPU's or
# another's, did not give up (before: it retried, and the access-flag
# line took a translation fault).
for v in 0 1; do
    r=$(counts "vcpu $v fault ipa=0x40000000 esr=0x93cc8047
host invalidate-begin
$far
host invalidate-end
host age-hva hva=0x7f0000000000 size=4K
vcpu 0 fault ipa=0x40000000 esr=0x93cc804b"); [ "$r" = "2 1 0" ] || fail "vCPU $v's fault, then an access-flag one: $r, not 2 1 0"
    out=$("$S2EMU" replay --walker upstream --stats "$tmp/t.s2t")
    grep -q '^  stat s fault.access-flag.L3.write 1$' <<<"$out" ||
        fail "vCPU $v's fault, then an access-flag one: no access-flag fault: $out"
done
printf '%s\n%s\n' "$head" "host invalidate-end" >"$tmp/t.s2t"
out=$("$S2EMU" replay "$tmp/t.s2t" 2>&1)
[ $? = 2 ] && grep -q "t.s2t:5: invalidate-end without" <<<"$out" ||
    fail "an end without a begin is not bad input at its line: $out"

# vCPU 1's fault, hundreds of vCPU 0's (the first chunk of 4096 events
# ends among them), an invalidation, vCPU 1 again on its page: vCPU 1's
# first fault was still being handled.
{
    printf '%s\n' "$head" "host invalidate-begin" "host invalidate-end"
    for i in $(seq 1 4000); do
        printf 'vcpu %d fault ipa=%#x esr=0x93cc8047\n' $((i % 1000 == 0)) $((0x40000000 + i * 4096))
    done
    echo 'vcpu 1 fault ipa=0x43000000 esr=0x93cc8047'
    for i in $(seq 4001 4400); do printf 'vcpu 0 fault ipa=%#x esr=0x93cc8047\n' $((0x40000000 + i * 4096)); done
    printf '%s\n' "host invalidate-begin" "$far" "host invalidate-end"
    echo 'vcpu 1 fault ipa=0x43000000 esr=0x93cc8047'
} >"$tmp/long.s2t"
out=$("$S2EMU" replay --walker upstream --stats "$tmp/long.s2t") || fail "long trace: $out"
r=$(sed -n 's/^  stat s retry //p' <<<"$out")
# vCPU 1's first fault and vCPU 0's last one (its span holds the invalidation too)
[ "$r" = 2 ] || fail "long trace: $r retries, not 2"
exit 0
