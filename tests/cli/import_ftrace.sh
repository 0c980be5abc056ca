#!/usr/bin/env bash
# s2emu import-ftrace: the seed corpus imports as a trace v1 with its 16
# guest faults; broken inputs and options exit 2 with one FILE:LINE line.
set -u
S2EMU=${S2EMU:-build/s2emu}
seed=traces/corpus/ftrace-6.12-seed.txt
layout=traces/corpus/ftrace-6.12-seed.layout
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "import_ftrace.sh: $*" >&2; exit 1; }

# The seed imports; stdout is the trace, stderr the summary and unused list.
"$S2EMU" import-ftrace --layout "$layout" "$seed" >"$tmp/out.s2t" 2>"$tmp/err" \
    || fail "seed import failed: $(cat "$tmp/err")"
[ "$(head -1 "$tmp/out.s2t")" = "s2emu-trace 1" ] || fail "output does not start with the header"
n=$(grep -c '^vcpu ' "$tmp/out.s2t")
[ "$n" -eq 16 ] || fail "expected 16 vcpu lines, got $n"
[ "$(grep -c '^mmio ' "$tmp/out.s2t")" -eq 2 ] || fail "expected 2 mmio lines"
grep -q '^memslot 0 ipa=0x40000000 size=8M hva=0xffff7be00000 backing=thp$' "$tmp/out.s2t" \
    || fail "the layout's memslot is not in the header"
grep -q '^# unused: kvm_userspace_exit x2$' "$tmp/out.s2t" || fail "unused events not listed"
grep -q 'unused: kvm_userspace_exit x2' "$tmp/err" || fail "unused events not on stderr"
grep -q '^phase' "$tmp/out.s2t" && fail "phase lines without --phases"

# -o writes the same trace to a file; --phases adds phase lines.
"$S2EMU" import-ftrace --layout "$layout" -o "$tmp/o.s2t" "$seed" 2>/dev/null || fail "-o failed"
cmp -s "$tmp/out.s2t" "$tmp/o.s2t" || fail "-o differs from stdout"
"$S2EMU" import-ftrace --phases --layout "$layout" "$seed" 2>/dev/null | grep -q '^phase 1$' \
    || fail "--phases gave no phase lines"
# The same memslot as an option instead of the layout file.
"$S2EMU" import-ftrace --memslot ipa=0x40000000,size=8M,hva=0xffff7be00000,backing=thp \
    --vcpus 2 "$seed" >"$tmp/m.s2t" 2>/dev/null || fail "--memslot import failed"
[ "$(grep -c '^vcpu ' "$tmp/m.s2t")" -eq 16 ] || fail "--memslot import differs"
"$S2EMU" import-ftrace --help | grep -q '^usage: s2emu import-ftrace' || fail "--help"

# Bad inputs: exit 2, one line naming FILE:LINE, no output file left behind.
expect2() {
    local want=$1; shift
    "$S2EMU" import-ftrace "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
    local rc=$?
    [ "$rc" -eq 2 ] || fail "exit $rc, not 2, for: $*"
    [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] || fail "not one line for: $*: $(cat "$tmp/bad.err")"
    grep -q -- "^s2emu import-ftrace: $want" "$tmp/bad.err" \
        || fail "for: $*: want '$want', got: $(cat "$tmp/bad.err")"
}
sed '5s/hsr 0x[0-9a-f]*/hsr banana/' "$seed" >"$tmp/broken.txt"
expect2 "$tmp/broken.txt:5: malformed kvm_guest_fault" --layout "$layout" -o "$tmp/never.s2t" "$tmp/broken.txt"
[ -e "$tmp/never.s2t" ] && fail "a failed import left its output file"
expect2 "$seed:24: a dirty-log marker needs the memslots, and the trace has no s2emu-memslot marker" --vcpus 2 "$seed"
printf 'memslot 0 ipa=0x40000000 size=8M hva=0 backing=huge\n' >"$tmp/bad.layout"
expect2 "$tmp/bad.layout:1: backing must be 4k, thp, hugetlb-2m, hugetlb-1g or memfd, not 'huge'" --layout "$tmp/bad.layout" "$seed"
expect2 "$tmp/missing.txt: cannot open" --layout "$layout" "$tmp/missing.txt"
expect2 "$seed:[0-9]*: vCPU 1 is beyond the 1 vCPU(s) given to the importer" --layout "$layout" --vcpus 1 "$seed"
expect2 "--vcpus '0' is not a number" --vcpus 0 "$seed"
expect2 "unknown option '--bogus'" --bogus "$seed"
expect2 "--layout needs a value" "$seed" --layout
expect2 "needs a FILE"
expect2 "--memslot: memslot needs hva=" --memslot ipa=0,size=4K,backing=4k "$seed"
# Damaged lines are refused, not misread: a line cut inside its event name
# (not a function-tracer line), a vCPU number no thread can have (not vCPU
# 0), a last line cut short after "IPA: 4" (not an access to 0x4).
head -71 "$seed" >"$tmp/cutname.txt"
printf '       CPU 1/KVM-4213  [002] 3817.900404: kvm_access_fa\n' >>"$tmp/cutname.txt"
expect2 "$tmp/cutname.txt:72: the line ends inside an event name" --layout "$layout" "$tmp/cutname.txt"
sed '0,/CPU 0\/KVM/s//CPU 99999999999999999999999\/KVM/' "$seed" >"$tmp/hugecpu.txt"
expect2 "$tmp/hugecpu.txt:[0-9]*: thread 'CPU 99999999999999999999999/KVM': no vCPU has that number" \
    --layout "$layout" "$tmp/hugecpu.txt"
head -71 "$seed" >"$tmp/cutipa.txt"
printf '       CPU 1/KVM-4213  [002] 3817.900404: kvm_access_fault:    IPA: 4' >>"$tmp/cutipa.txt"
expect2 "$tmp/cutipa.txt:72: the last line has no newline: cut short" --layout "$layout" "$tmp/cutipa.txt"
# The same lines whole import.
head -72 "$seed" >"$tmp/whole.txt"
"$S2EMU" import-ftrace --layout "$layout" "$tmp/whole.txt" >/dev/null 2>&1 || fail "72 whole lines refused"
# A directory opens but cannot be read.
expect2 "$tmp:1: read error" "$tmp"

# Replay is the lead's; check the import replays only once it exists.
if "$S2EMU" --help | grep -q '^  replay '; then
    "$S2EMU" replay "$tmp/out.s2t" >"$tmp/replay.out" 2>&1
    rc=$?
    [ "$rc" -ne 2 ] || fail "replay refused the imported trace: $(head -3 "$tmp/replay.out")"
fi
# With the guest image, each fault's PC is disassembled in its comment: an
# image of NOPs with one LDR at the PC of the level-3 write fault.
for i in $(seq 1024); do printf '\x1f\x20\x03\xd5'; done >"$tmp/img"
printf '\x23\x84\x40\xf8' | dd of="$tmp/img" bs=1 seek=$((0x1f0)) conv=notrunc 2>/dev/null
"$S2EMU" import-ftrace --layout traces/corpus/ftrace-6.12-seed.layout --image "$tmp/img" \
    --image-va 0xffff800080a3c000 traces/corpus/ftrace-6.12-seed.txt 2>/dev/null >"$tmp/img.s2t" \
    || fail "import with --image failed"
grep -q "pc=0xffff800080a3c1f0 .*; pc: ldr x3, \[x1\], #8" "$tmp/img.s2t" || fail "no disassembled LDR"
grep -q "pc=0xffff800080a3c1e8 .*; pc: nop" "$tmp/img.s2t" || fail "no disassembled NOP"
"$S2EMU" import-ftrace --image "$tmp/img" traces/corpus/ftrace-6.12-seed.txt >/dev/null 2>&1
[ $? -eq 2 ] || fail "--image without --image-va accepted"
exit 0
