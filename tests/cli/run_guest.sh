#!/usr/bin/env bash
# s2emu run-guest end to end: exit status, the reports a person reads, the
# same run twice from one seed, a recorded trace that replay accepts, and
# bad usage answered with exit status 2.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
G=build/guests
expect() {  # name, wanted status, pattern the output must hold, command...
    local name=$1 want=$2 pat=$3; shift 3
    out=$("$@" 2>&1); rc=$?
    if [ $rc -ne "$want" ] || ! grep -q -- "$pat" <<<"$out"; then
        echo "run_guest: $name: rc=$rc (want $want), '$pat' not in:"; echo "$out" | head -20; fail=1
    fi
}
expect clean 0 "rules: none fired" "$S2EMU" run-guest $G/boot.bin
expect nocmo 1 "stale data: a 8-byte read of IPA 0x40002000" \
    "$S2EMU" run-guest $G/boot.bin --walker upstream-nocmo --idc
expect fwb 0 "vCPU 0: exited 0 " "$S2EMU" run-guest $G/boot.bin --walker upstream-nocmo --fwb
expect smc 1 "the icache gives d2800020 movz x0, #0x1, memory holds d2800040 movz x0, #0x2" \
    "$S2EMU" run-guest $G/smc.bin
expect smc-dic 1 "rules: none fired" "$S2EMU" run-guest $G/smc.bin --dic
expect mmu 1 "mmu-on-refused at PC 0x40000028 (msr sctlr_el1, x1)" "$S2EMU" run-guest $G/mmu.bin
expect exit-codes 1 "vCPU 2: exited 0x42" "$S2EMU" run-guest $G/exit.bin --vcpus 3
expect seed 0 "1 coalesces" "$S2EMU" run-guest $G/seed.bin --vm guests/seed.vm --vcpus 3 --seed 5
# Seed 131 stopped a quantum where Unicorn reported a PC already run (vCPU 0
# left its loop for MMIO); guest_test's retire tests check every stop point.
expect seed-stop 0 "1 coalesces" "$S2EMU" run-guest $G/seed.bin --vm guests/seed.vm --vcpus 3 --seed 131
expect fault-pc 1 "at PC 0x40000044 (f9400023 ldr x3, \[x1\]): translation fault on a read of IPA 0x40400000" \
    "$S2EMU" run-guest $G/rw.bin --vcpus 1 --backing 4k
expect json 1 '"end": "exited", "exit_code": 65' "$S2EMU" run-guest $G/exit.bin --json
expect timeout 1 "timeout at PC" "$S2EMU" run-guest $G/spin.bin --vcpus 1 --timeout 1

# One seed, one run: the same output twice (but for the time it took).
a=$("$S2EMU" run-guest $G/smp.bin --vcpus 3 --seed 9 --schedule | grep -v "^outcome")
b=$("$S2EMU" run-guest $G/smp.bin --vcpus 3 --seed 9 --schedule | grep -v "^outcome")
[ "$a" = "$b" ] || { echo "run_guest: seed 9 gave two different runs"; fail=1; }
grep -q "^v[0-9]:[0-9]" <<<"$a" || { echo "run_guest: no quantum in the schedule"; fail=1; }

# A recorded run replays exactly: the image again under the recorded
# schedule (every choice used, the same faults and findings).
"$S2EMU" run-guest $G/rw.bin --vcpus 1 --backing 4k --dirty-log --record "$tmp/rw.s2t" >/dev/null
out=$("$S2EMU" replay "$tmp/rw.s2t" 2>&1); rc=$?
if [ $rc -ne 0 ] || ! grep -q "2 translation, 1 permission" <<<"$out"; then
    echo "run_guest: replay of the record: rc=$rc"; echo "$out"; fail=1
fi
"$S2EMU" run-guest $G/boot.bin --vcpus 2 --seed 4 --walker upstream-nocmo --record "$tmp/boot.s2t" >/dev/null
grep -q "^guest image=" "$tmp/boot.s2t" && grep -q "^expect fired rule=stale-data" "$tmp/boot.s2t" \
    || { echo "run_guest: the boot record lacks its guest line or outcome"; fail=1; }
"$S2EMU" replay "$tmp/boot.s2t" >/dev/null 2>&1 \
    || { echo "run_guest: the boot record did not replay to its outcome"; fail=1; }
# Under a walker with the CMOs, the recorded findings are gone: it fails.
if "$S2EMU" replay --walker upstream "$tmp/boot.s2t" >/dev/null 2>&1; then
    echo "run_guest: the boot record passed under the upstream walker"; fail=1
fi
# Guest-code traces find their image beside themselves: a record made in
# another directory and the corpus's traces replay from anywhere.
mkdir -p "$tmp/rec/deep" "$tmp/else"
"$S2EMU" run-guest $G/boot.bin --vcpus 2 --seed 4 --walker upstream-nocmo \
    --record "$tmp/rec/deep/b.s2t" >/dev/null
grep -q "^guest image=\.\./" "$tmp/rec/deep/b.s2t" \
    || { echo "run_guest: the record names its image from the current directory"; fail=1; }
abs_s2emu=$(cd "$(dirname "$S2EMU")" && pwd)/$(basename "$S2EMU")
for t in "$tmp/rec/deep/b.s2t" "$PWD/traces/corpus/guest-boot-upstream.s2t" \
         "$PWD/traces/corpus/guest-boot-nocmo.s2t"; do
    ( cd "$tmp/else" && "$abs_s2emu" replay "$t" >/dev/null 2>&1 ) \
        || { echo "run_guest: $t does not replay from another directory"; fail=1; }
done
# A memslot the machine refuses is named by its line, in a VM file and in a
# guest-code trace alike.
printf 's2emu-trace 1\nmemslot 0 ipa=0x40000000 size=2M hva=0x7f0000000000 backing=thp\n# c\nmemslot 1 ipa=0x40000000 size=2M hva=0x7f1000000000 backing=thp\n' >"$tmp/ovl.vm"
expect ovl-vm 2 "$tmp/ovl.vm:4: memslot 1: memslots overlap in IPA" \
    "$S2EMU" run-guest $G/boot.bin --vm "$tmp/ovl.vm"
printf 's2emu-trace 1\nconfig vcpus=2\nmemslot 0 ipa=0x40000000 size=2M hva=0x7f0000000000 backing=thp\nmemslot 1 ipa=0x40000000 size=2M hva=0x7f1000000000 backing=thp\nguest image=%s load=0x40000000 entry=0x40001000 size=24576\n' \
    "$PWD/$G/boot.bin" >"$tmp/ovl.s2t"
expect ovl-guest 2 "$tmp/ovl.s2t:4: memslot 1: memslots overlap in IPA" "$S2EMU" replay "$tmp/ovl.s2t"
# A changed image is refused with the line of the guest line.
cp $G/boot.bin "$tmp/img.bin" && printf 'x' >>"$tmp/img.bin"
sed "s|^guest image=[^ ]*|guest image=$tmp/img.bin|" "$tmp/boot.s2t" >"$tmp/changed.s2t"
out=$("$S2EMU" replay "$tmp/changed.s2t" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "changed.s2t:[0-9]*: the guest image .* bytes, not the" <<<"$out" \
    || { echo "run_guest: a changed image: rc=$rc $out"; fail=1; }

# Bad usage and bad images: one line, status 2.
: >"$tmp/empty.bin"
out=$("$S2EMU" run-guest "$tmp/empty.bin" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "cannot read .*: empty" <<<"$out" \
    || { echo "run_guest: an empty image: rc=$rc $out"; fail=1; }
# A header whose entry point lies below its load address.
printf 's2guest1\000\000\000\100\000\000\000\000\000\000\377\077\000\000\000\000\000\000\000\000\000\000\000\000' > "$tmp/bad.bin"
for args in "" "$tmp/none.bin" "$G/boot.bin --backing 3k" "$G/boot.bin --vcpus 0" \
            "$G/boot.bin --load 0x1000" "$G/boot.bin --mem 12Q" "$tmp/bad.bin" \
            "$G/boot.bin --vm $tmp/none.s2t" "$G/boot.bin --frob"; do
    # shellcheck disable=SC2086
    "$S2EMU" run-guest $args >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || { echo "run_guest: 'run-guest $args' gave $rc, not 2"; fail=1; }
done
printf 's2emu-trace 1\nvcpu 0 read ipa=0x1000\n' > "$tmp/vm.s2t"
expect vm-vcpu 2 "a VM file holds memslot, phase and host lines" \
    "$S2EMU" run-guest $G/boot.bin --vm "$tmp/vm.s2t"
exit $fail
