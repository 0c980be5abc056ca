#!/usr/bin/env bash
# s2emu report: the page of the seed counterexample is self-contained, and
# rendered by headless Chromium it has the lanes, the violation marker with
# the rule's name, and as many marks of each kind as replay counts; a write
# error and bad input are errors. Without chromium the browser part is
# skipped with a note (scripts/install-deps.sh installs it; CI has it).
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
trace=traces/corpus/fuzz-seed-install-first-nocmo.s2t

"$S2EMU" report "$trace" -o "$tmp/r.html" || { echo "report: exit $?"; exit 1; }
# Self-contained: nothing fetched from elsewhere (the SVG namespace is a name).
if grep -Eo '(src|href)="[^"]*"|url\(|@import' "$tmp/r.html" | grep -q .; then
    echo "report: the page refers to an external resource"; fail=1
fi
# The same page on standard output.
"$S2EMU" report "$trace" | cmp -s - "$tmp/r.html" || { echo "report: stdout differs from -o"; fail=1; }

# Output write errors are errors.
out=$("$S2EMU" report "$trace" -o /dev/full 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "cannot write" <<<"$out" || { echo "report: /dev/full: rc=$rc $out"; fail=1; }
out=$("$S2EMU" report "$trace" -o "$tmp/no/such/dir.html" 2>&1); rc=$?
[ $rc -eq 2 ] || { echo "report: bad output path: rc=$rc $out"; fail=1; }
# Bad input: one FILE:LINE line, exit 2, no page.
printf 's2emu-trace 1\nconfig granule=4k ipa-bits=40 vcpus=1\nvcpu 0 jump ipa=0x1000\n' >"$tmp/bad.s2t"
out=$("$S2EMU" report "$tmp/bad.s2t" -o "$tmp/bad.html" 2>&1); rc=$?
if [ $rc -ne 2 ] || ! grep -q "^$tmp/bad.s2t:3: " <<<"$out" || [ -e "$tmp/bad.html" ]; then
    echo "report: bad input: rc=$rc $out"; fail=1
fi
out=$("$S2EMU" report 2>&1); [ $? -eq 2 ] || { echo "report: no file accepted"; fail=1; }
out=$("$S2EMU" report --frobnicate "$trace" 2>&1); [ $? -eq 2 ] || { echo "report: bad option"; fail=1; }

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "report: no chromium; the browser checks are skipped (scripts/install-deps.sh)" >&2
    exit $fail
fi
browser() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$tmp/profile" "$@" 2>/dev/null
}
browser --dump-dom "file://$tmp/r.html" >"$tmp/dom.html"
dom="$tmp/dom.html"
count() { grep -o "$1" "$dom" | wc -l; }
# A number from replay's JSON.
json=$("$S2EMU" replay --json "$trace")
num() { grep -o "\"$1\": [0-9]*" <<<"$json" | head -1 | grep -o '[0-9]*$'; }

[ "$(count 'class="lane lane-host"')" -eq 1 ] || { echo "report: no host lane"; fail=1; }
[ "$(count 'class="lane lane-hyp"')" -eq 1 ] || { echo "report: no hypervisor lane"; fail=1; }
[ "$(count 'class="lane lane-vcpu"')" -eq "$(num vcpus)" ] || { echo "report: vCPU lanes"; fail=1; }
grep -q '<g class="violation" data-rule="dcache-clean-before-visible">' "$dom" \
    || { echo "report: no violation marker"; fail=1; }
grep -q 'class="vlabel">dcache-clean-before-visible<' "$dom" || { echo "report: no rule label"; fail=1; }
grep -q 'DDI 0487 D7.5' "$dom" || { echo "report: no citation"; fail=1; }
grep -q 'class="cmo-window" data-cmos="0"' "$dom" || { echo "report: no empty CMO window"; fail=1; }
grep -q 'class="gs gs-unclean"' "$dom" || { echo "report: no invalid-unclean ghost state"; fail=1; }
# The marks, kind by kind, against replay's own counts of the same trace.
check() {
    local got; got=$(count "class=\"ev ev-$1\"")
    [ "$got" -eq "$2" ] || { echo "report: $got $1 marks, replay counts $2"; fail=1; }
}
check tlbi "$(num tlbis)"
check dsb "$(num dsbs)"
check cmo "$(num cmos)"
check fault $(( $(num translation) + $(num permission) + $(num access_flag) ))
check host "$(num host_events)"
check access $(( $(num vcpu_events) - $(num mmio_events) ))
total=$(count 'class="ev ev-')
grep -q "data-events=\"$total\"" "$dom" || { echo "report: $total marks, not data-events"; fail=1; }
# Every mark's title holds its event; the trace's events are named with their line.
grep -A1 "<title>step [0-9]*: access write IPA 0x40008000" "$dom" \
    | grep -q "^$trace:11: vcpu 0 write ipa=0x40008000" \
    || { echo "report: the write's title lacks its trace line"; fail=1; }
# An effect trace: a lane per CPU, a mark per effect line, the checker's violation.
eff=traces/corpus/effect-bbm-bad.s2t
"$S2EMU" report "$eff" -o "$tmp/e.html" || { echo "report: effect trace: exit $?"; fail=1; }
browser --dump-dom "file://$tmp/e.html" >"$tmp/edom.html"
[ "$(grep -o 'class="ev ev-' "$tmp/edom.html" | wc -l)" -eq "$(grep -c '^effect ' "$eff")" ] \
    || { echo "report: effect marks differ from the effect lines"; fail=1; }
grep -q 'class="lane lane-cpu"' "$tmp/edom.html" || { echo "report: no CPU lane"; fail=1; }
grep -q '<g class="violation" data-rule="break-before-make">' "$tmp/edom.html" \
    || { echo "report: effect trace: no violation marker"; fail=1; }
# The page draws as a picture too.
(cd "$tmp" && browser --window-size=1300,700 --screenshot="$tmp/r.png" "file://$tmp/r.html" >/dev/null)
[ "$(head -c 4 "$tmp/r.png" 2>/dev/null | od -An -c | tr -d ' ')" = "211PNG" ] \
    || { echo "report: no screenshot"; fail=1; }
exit $fail
