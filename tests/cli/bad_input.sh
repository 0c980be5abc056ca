#!/usr/bin/env bash
# Bad input gives one line naming FILE:LINE and the problem, exit 2, no crash.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
check() {  # name, expected message fragment, trace text
    printf '%b' "$3" > "$tmp/$1.s2t"
    out=$("$S2EMU" replay "$tmp/$1.s2t" 2>&1); rc=$?
    if [ $rc -ne 2 ] || ! grep -q "$tmp/$1.s2t:[0-9]*: .*$2" <<<"$out" || [ "$(wc -l <<<"$out")" -ne 1 ]; then
        echo "bad_input: $1: rc=$rc out=$out"; fail=1
    fi
}
check header "not an s2emu trace" "hello\n"
check version "version 2 is not supported" "s2emu-trace 2\n"
check empty "empty trace" ""
check unknown "unknown event 'frobnicate'" "s2emu-trace 1\nfrobnicate\n"
check badkey "unknown key 'colour'" "s2emu-trace 1\nvcpu 0 read ipa=0x1000 colour=red\n"
check missing "needs ipa=" "s2emu-trace 1\nvcpu 0 read\n"
check range "out of range" "s2emu-trace 1\nconfig vcpus=99\n"
check walker "unknown walker 'nope'" "s2emu-trace 1\nconfig walker=nope\n"
check vcpu "no such vCPU" "s2emu-trace 1\nconfig vcpus=1\nvcpu 3 read ipa=0x1000\n"
check slot "memslots overlap" "s2emu-trace 1\nmemslot 0 ipa=0x0 size=2M hva=0x1000000\nmemslot 1 ipa=0x100000 size=2M hva=0x8000000\nvcpu 0 read ipa=0\n"
check phase "phases never decrease" "s2emu-trace 1\nphase 3\nphase 1\n"
check hostw "host write outside any memslot" "s2emu-trace 1\nhost write hva=0x1000 size=4K\n"
check effect "outside every page" "s2emu-trace 1\neffect 0 pte-write pa=0x1000 value=3\n"
check mixed "not both" "s2emu-trace 1\neffect 0 vtcr value=0x80023558\nvcpu 0 read ipa=0\n"
check rule "unknown rule" "s2emu-trace 1\nexpect fired rule=nope\n"
# The same, naming the exact line: memslots and configuration (not line 0
# or the first event's line), values out of range for the machine.
check_at() {  # name, line, expected message fragment, trace text
    printf '%b' "$4" > "$tmp/$1.s2t"
    out=$("$S2EMU" replay "$tmp/$1.s2t" 2>&1); rc=$?
    if [ $rc -ne 2 ] || ! grep -q "$tmp/$1.s2t:$2: .*$3" <<<"$out" || [ "$(wc -l <<<"$out")" -ne 1 ]; then
        echo "bad_input: $1: want line $2 '$3': rc=$rc out=$out"; fail=1
    fi
}
H="s2emu-trace 1\nconfig vcpus=2\n"
check_at slot-line 4 "memslot 1: memslots overlap in IPA" "${H}memslot 0 ipa=0x0 size=2M hva=0x1000000\nmemslot 1 ipa=0x100000 size=2M hva=0x8000000\n\nvcpu 0 read ipa=0\n"
check_at slot-noevent 3 "memslot 0: .*page-aligned" "${H}memslot 0 ipa=0x1 size=2M hva=0x1000000\n"
check_at mmio-vcpu 4 "mmio vcpu=5: the configuration has 2 vCPUs" "${H}memslot 0 ipa=0x0 size=2M hva=0x1000000\nmmio vcpu=5 ipa=0x9000000 write\n"
check_at expect-vcpu 4 "expect faults vcpu=5: the configuration has 2 vCPUs" "${H}memslot 0 ipa=0x0 size=2M hva=0x1000000\nexpect faults max=0 vcpu=5\n"
check_at uffd-no-host 2 "userfaultfd fixes turned off .* need the host memory model (uffd-pre-fix needs host-mm=POLICY)" "s2emu-trace 1\nconfig vcpus=1 uffd-pre-fix\nmemslot 0 ipa=0x40000000 size=64K hva=0x7f0000000000\nvcpu 0 read ipa=0x40000000\n"
check_at kvm-bug-no-host 2 "KVM.s host-mm bugs .* need the host memory model (host-unmap-no-tlbi needs host-mm=POLICY)" "s2emu-trace 1\nconfig vcpus=1 host-unmap-no-tlbi\nmemslot 0 ipa=0x40000000 size=64K hva=0x7f0000000000\nvcpu 0 read ipa=0x40000000\n"
check_at uffd-slot-no-host 3 "memslot 0: memfd and userfaultfd memslots need the host memory model (host-mm=POLICY on the config line)" "s2emu-trace 1\nconfig vcpus=1\nmemslot 0 ipa=0x40000000 size=64K hva=0x7f0000000000 uffd-missing\nvcpu 0 read ipa=0x40000000\n"
# host-mm events take only their own keys, and an exit names a child.
M="s2emu-trace 1\nconfig vcpus=1 host-mm=AE\nmemslot 0 ipa=0x40000000 size=4M hva=0x7f0000000000\n"
check_at mm-key 4 "unknown key 'size' for host" "${M}host thp-split hva=0x7f0000000000 size=4K\n"
check_at mm-fork-proc 4 "unknown key 'proc' for host" "${M}host fork proc=2\n"
check_at mm-exit-none 4 "host exit needs proc=" "${M}host exit\n"
check_at mm-exit-vmm 4 "proc=0 is out of range" "${M}host exit proc=0\n"
# host-mm events name processes and references the trace made before them.
A="host dontneed hva=0x7f0000000000 size=4K"
check_at mm-proc-none 4 "proc=7: no such process" "${M}host dontneed hva=0x7f0000000000 size=4K proc=7\n"
check_at mm-proc-gone 6 "proc=1: .*exited" "${M}host fork\nhost exit proc=1\n$A proc=1\n"
check_at mm-ref-none 4 "ref=0: no such reference" "${M}host unref ref=0\n"
check_at mm-ref-next 5 "ref=1: no such reference" "${M}host gup hva=0x7f0000000000\nhost ref-read ref=1\n"
check_at mm-ref-gupw 6 "ref=2: no such reference (2 pin or gup lines" "${M}host gup-write hva=0x7f0000000000\nhost pin hva=0x7f0000001000\nhost unref ref=2\n"
# A reference an unref dropped is gone: a second unref or a read through it is refused.
G="host gup hva=0x7f0000000000\nhost unref ref=0\n"
check_at mm-unref-twice 6 "ref=0: that reference was dropped" "${M}${G}host unref ref=0\n"
check_at mm-read-dropped 6 "ref=0: that reference was dropped" "${M}${G}host ref-read ref=0\n"
check_at mm-write-dropped 6 "ref=0: that reference was dropped" "${M}${G}host ref-write ref=0 value=1\n"
check_at mm-fork-16 19 "more than 15 forks" "${M}$(for i in $(seq 16); do printf 'host fork\\n'; done)"
# A schedule names vCPUs the configuration has.
check_at sched-vcpu 3 "v9: the configuration has 2 vCPUs" "${H}schedule v0 v9\nvcpu 0 read ipa=0\n"
check_at sched-late 3 "vcpus=1: .*schedule on line 2 names v1" "s2emu-trace 1\nschedule v1\nconfig vcpus=1\n"
check_at value-size 3 "value=0x1ffff does not fit in size=1" "${H}vcpu 1 write ipa=0x0 value=0x1ffff size=1\n"
check_at exec-size 3 "an instruction fetch is 4 bytes" "${H}vcpu 0 exec ipa=0x0 size=8\n"
check_at phase-wrap 4 "phase number would wrap" "${H}phase 18446744073709551615\nphase\n"
# The fuzzer reads traces the same way and says which command speaks.
printf '%b' "${H}memslot 0 ipa=0x1 size=2M hva=0x1000000\nvcpu 0 read ipa=0\n" > "$tmp/fz.s2t"
out=$("$S2EMU" fuzz "$tmp/fz.s2t" --runs 1 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "^s2emu fuzz: $tmp/fz.s2t:3: memslot 0" <<<"$out" \
    || { echo "bad_input: fuzz of a bad trace: rc=$rc out=$out"; fail=1; }
# Usage errors.
"$S2EMU" replay >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: replay with no file"; fail=1; }
"$S2EMU" replay --bogus x >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: bad option"; fail=1; }
"$S2EMU" replay "$tmp/does-not-exist" 2>&1 | grep -q "cannot open" || { echo "bad_input: missing file"; fail=1; }
"$S2EMU" run nope >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: unknown scenario"; fail=1; }
"$S2EMU" run seed --vcpus 0 >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: --vcpus 0"; fail=1; }
# Options that would do nothing where they are given are usage errors.
usage() {  # expected message fragment, command...
    local want=$1; shift
    out=$("$S2EMU" "$@" 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] && grep -q -- "$want" <<<"$out" || { echo "bad_input: $*: rc=$rc out=$out"; fail=1; }
}
usage "--schedule prints the schedule of a single run" run seed --schedule --runs 2
usage "--schedule prints the schedule of a single run" run seed --schedule --json
usage "--seed does nothing with --strategy sequential" run seed --strategy sequential --seed 3
usage "--depth does nothing with --strategy random" fuzz seed --depth 2
usage "--bound does nothing with --strategy random" fuzz seed --bound 1
usage "--bound does nothing with --strategy pct" fuzz seed --strategy pct --bound 1
usage "--depth does nothing with --strategy exhaustive" fuzz seed --strategy exhaustive --depth 2
usage "--jobs does nothing with --strategy exhaustive" fuzz seed --strategy exhaustive --jobs 2
usage "--no-reduction does nothing with --strategy pct" fuzz seed --strategy pct --no-reduction
usage "--no-source-sets does nothing with --strategy random" fuzz seed --no-source-sets
usage "--no-source-sets does nothing with --no-reduction" fuzz seed --strategy exhaustive --no-reduction --no-source-sets
usage "--no-source-sets does nothing with --bound" fuzz seed --strategy exhaustive --bound 2 --no-source-sets
usage "--shrink-runs does nothing with --no-shrink" fuzz seed --no-shrink --shrink-runs 9
usage "--shrink-runs does nothing with --no-shrink" fuzz seed --shrink-runs 20000 --no-shrink
out=$("$S2EMU" fuzz seed --no-shrink --shrink-runs 20000 2>&1 >/dev/null)
[ "$(wc -l <<<"$out")" -eq 1 ] || { echo "bad_input: --shrink-runs with --no-shrink: not one line: $out"; fail=1; }
usage "--json and --markdown are two formats" rules --json --markdown
usage "--seed does nothing with --strategy sequential" run-guest build/guests/boot.bin --strategy sequential --seed 2
usage "--schedule prints text; not with --json" run-guest build/guests/boot.bin --schedule --json
usage "--mem does nothing with --vm" run-guest build/guests/seed.bin --vm guests/seed.vm --mem 64M
# An output path that cannot be written is found before any work is done.
usage "s2emu fuzz: cannot write $tmp/no/such/dir/x.s2t" fuzz seed --runs 1000000000 --time 30 --out "$tmp/no/such/dir/x.s2t"
usage "s2emu run: cannot write $tmp/no/x.s2t" run seed --record "$tmp/no/x.s2t"
out=$("$S2EMU" replay --record "$tmp/no/x.s2t" traces/corpus/seed-upstream.s2t 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "s2emu replay: cannot write $tmp/no/x.s2t: No such file or directory" ] \
    || { echo "bad_input: replay --record to a bad path: rc=$rc out=$out"; fail=1; }
"$S2EMU" frob >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: unknown command"; fail=1; }
exit $fail
