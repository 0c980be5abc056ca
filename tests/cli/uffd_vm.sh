#!/bin/sh
# KVM on memfd memory and userfaultfd: the built-in S5.x scenarios on the
# machine show the spec's outcome per --uffd-policy (S5.1 loses the guest's
# write before the fix, nothing fires after it; S5.3 clean; S5.4's child
# keeps the bit before the fork fix), and a bad policy word is a usage error.
S2EMU=${S2EMU:-build/s2emu}
fail=0
for s in vm-s5.1-punch-hole vm-s5.1-madv-remove; do
    out=$("$S2EMU" run "$s" --uffd-policy pre-fix --runs 20 2>&1); rc=$?
    if [ $rc -ne 1 ] || ! echo "$out" | grep -q "host-mm  *in 20 of 20 runs"; then
        echo "uffd_vm: $s pre-fix: rc $rc, expected host-mm in every run:"; echo "$out"; fail=1
    fi
    out=$("$S2EMU" run "$s" --runs 20 2>&1); rc=$?
    if [ $rc -ne 0 ]; then
        echo "uffd_vm: $s with the fixes: rc $rc:"; echo "$out"; fail=1
    fi
done
out=$("$S2EMU" run vm-s5.3-guest-wp --uffd-policy pre-fix --runs 20 2>&1); rc=$?
if [ $rc -ne 0 ]; then
    echo "uffd_vm: vm-s5.3-guest-wp: rc $rc:"; echo "$out"; fail=1
fi
out=$("$S2EMU" run vm-s5.4-swap-fork --uffd-policy no-fork-fix --runs 20 2>&1); rc=$?
if [ $rc -ne 1 ] || ! echo "$out" | grep -q "host-mm  *in 20 of 20 runs"; then
    echo "uffd_vm: vm-s5.4-swap-fork no-fork-fix: rc $rc:"; echo "$out"; fail=1
fi
out=$("$S2EMU" run vm-s5.4-swap-fork --runs 20 2>&1); rc=$?
if [ $rc -ne 0 ]; then
    echo "uffd_vm: vm-s5.4-swap-fork with the fix: rc $rc:"; echo "$out"; fail=1
fi
out=$("$S2EMU" run vm-s5.3-guest-wp --uffd-policy bogus 2>&1); rc=$?
if [ $rc -ne 2 ] || ! echo "$out" | grep -q "unknown --uffd-policy word 'bogus'"; then
    echo "uffd_vm: a bad --uffd-policy word: rc $rc:"; echo "$out"; fail=1
fi
# The generic fuzzer with memfd memory under the userfaultfd: finds the
# window before the fix, nothing with the fixes.
tmp=$(mktemp -d)
out=$("$S2EMU" fuzz --cow-policy AE --uffd-policy pre-fix --runs 300 --out "$tmp/cex.s2t" 2>&1); rc=$?
if [ $rc -ne 1 ] || ! echo "$out" | grep -q "host-mm" || ! "$S2EMU" replay "$tmp/cex.s2t" >/dev/null 2>&1; then
    echo "uffd_vm: fuzz pre-fix: rc $rc, expected host-mm and a replayable counterexample:"; echo "$out"; fail=1
fi
out=$("$S2EMU" fuzz --cow-policy AE --uffd-policy markers --runs 300 --out "$tmp/none.s2t" 2>&1); rc=$?
if [ $rc -ne 0 ] || ! echo "$out" | grep -q "none fired"; then
    echo "uffd_vm: fuzz with the fixes: rc $rc:"; echo "$out"; fail=1
fi
# Without --cow-policy, --uffd-policy puts guest memory on the host (AE):
# the fuzzer finds the window all the same.
out=$("$S2EMU" fuzz --uffd-policy pre-fix --runs 300 --out "$tmp/cex2.s2t" 2>&1); rc=$?
if [ $rc -ne 1 ] || ! echo "$out" | grep -q "host-mm"; then
    echo "uffd_vm: fuzz --uffd-policy alone: rc $rc, expected host-mm:"; echo "$out"; fail=1
fi
# replay takes the policy over the trace's: the fixed S5.1 trace is clean
# as recorded and loses the write with the fix taken away.
c=traces/corpus/uffd-s5.1-markers.s2t
"$S2EMU" replay "$c" >/dev/null 2>&1 || { echo "uffd_vm: $c not clean"; fail=1; }
out=$("$S2EMU" replay --uffd-policy pre-fix "$c" 2>&1); rc=$?
if [ $rc -ne 1 ] || ! echo "$out" | grep -q "rule host-mm fired"; then
    echo "uffd_vm: replay --uffd-policy pre-fix $c: rc $rc:"; echo "$out"; fail=1
fi
rm -rf "$tmp"
exit $fail
