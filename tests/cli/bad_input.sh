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
# Usage errors.
"$S2EMU" replay >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: replay with no file"; fail=1; }
"$S2EMU" replay --bogus x >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: bad option"; fail=1; }
"$S2EMU" replay "$tmp/does-not-exist" 2>&1 | grep -q "cannot open" || { echo "bad_input: missing file"; fail=1; }
"$S2EMU" run nope >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: unknown scenario"; fail=1; }
"$S2EMU" run seed --vcpus 0 >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: --vcpus 0"; fail=1; }
"$S2EMU" frob >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad_input: unknown command"; fail=1; }
exit $fail
