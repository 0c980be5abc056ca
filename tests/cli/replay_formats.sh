#!/usr/bin/env bash
# s2emu replay reads a casemate log or an ftrace capture directly (format
# detected, or --from), with the same result as importing first; '-o -' is
# standard output for the importers; bad formats and damaged logs give exit
# status 2 with one FILE:LINE line.
# Run by scripts/run-tests.sh from the repository root with $S2EMU set.
set -euo pipefail

: "${S2EMU:?S2EMU must name the s2emu binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
die() { echo "replay_formats: $*"; exit 1; }
run() { timeout 20 "$S2EMU" "$@"; }
# A summary without its first line, the trace's name in reports made FILE.
body() { tail -n +2 "$1" | sed -e "s#\(^\| \)$2:#\1FILE:#g"; }

# A casemate log whose protocol is broken: the same rules fire, the same
# exit status, whether imported first or replayed directly.
log=tests/data/casemate/expected/bad_bbm_missing_tlbi.log
[ -f "$log" ] || die "$log is missing"
run import-casemate -o "$tmp/t.s2t" "$log" 2>/dev/null || die "import failed"
set +e
run replay "$tmp/t.s2t" >"$tmp/imported" 2>&1; st1=$?
run replay "$log" >"$tmp/direct" 2>&1; st2=$?
run replay --from casemate - <"$log" >"$tmp/stdin" 2>&1; st3=$?
set -e
[ "$st1" = "$st2" ] && [ "$st1" = "$st3" ] || die "exit statuses differ: $st1 $st2 $st3"
[ "$st1" = 1 ] || die "the broken log did not fire a rule (status $st1)"
# The rules and counts are the same; the direct replay names the log's lines.
cmp -s <(body "$tmp/imported" "$tmp/t.s2t" | grep -v "FILE:") <(body "$tmp/direct" "$log" | grep -v "FILE:") \
    || die "direct replay differs from import + replay"
cmp -s <(body "$tmp/direct" "$log") <(body "$tmp/stdin" "-") || die "replay of stdin differs"
grep -q "^$log:[0-9]*: violation: " "$tmp/direct" || die "no violation naming the log's line"
vline=$(sed -n "s|^$log:\([0-9]*\): violation: .*|\1|p" "$tmp/direct" | head -1)
sed -n "${vline}p" "$log" | grep -q '^(' || die "the violation's line $vline is not a record of the log"

# import-casemate -o - writes standard output, not a file named '-'.
(cd "$tmp" && timeout 20 "$OLDPWD/$S2EMU" import-casemate -o - "$OLDPWD/$log" >o.s2t 2>/dev/null) \
    || die "import-casemate -o - failed"
[ ! -e "$tmp/-" ] || die "import-casemate -o - wrote a file named '-'"
cmp -s <(tail -n +3 "$tmp/o.s2t") <(tail -n +3 "$tmp/t.s2t") || die "-o - differs from -o FILE"

# An ftrace capture: detected, with its layout; the same as import + replay.
seed=traces/corpus/ftrace-6.12-seed.txt
layout=traces/corpus/ftrace-6.12-seed.layout
run import-ftrace --layout "$layout" -o - "$seed" >"$tmp/f.s2t" 2>/dev/null || die "import-ftrace -o - failed"
run replay "$tmp/f.s2t" >"$tmp/fi" 2>&1 || die "replay of the imported capture failed"
run replay --layout "$layout" "$seed" >"$tmp/fd" 2>&1 || die "direct replay of the capture failed"
cmp -s <(body "$tmp/fi" "$tmp/f.s2t") <(body "$tmp/fd" "$seed (imported)") || die "direct replay of ftrace differs"

# Errors: a damaged log names its line; a wrong --from, a missing value.
printf '(mem-write (id 0) (tid 0)\n' >"$tmp/bad.log"
set +e
run replay "$tmp/bad.log" >/dev/null 2>"$tmp/err"; st=$?
set -e
[ "$st" = 2 ] || die "a damaged log gave status $st"
[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "bad.log:1: " "$tmp/err" || die "damaged log: $(cat "$tmp/err")"
set +e
run replay --from casemate traces/corpus/boot-sequential.s2t >/dev/null 2>"$tmp/err"; st=$?
run replay --from xml "$log" >/dev/null 2>"$tmp/err2"; st2=$?
set -e
[ "$st" = 2 ] && grep -q "boot-sequential.s2t:1: " "$tmp/err" || die "an s2emu trace read as casemate: $st $(cat "$tmp/err")"
[ "$st2" = 2 ] && grep -q -- "--from" "$tmp/err2" || die "--from xml: $st2"
# An s2emu trace is still read as it is.
run replay traces/corpus/boot-sequential.s2t >/dev/null || die "the corpus trace no longer replays"
echo "replay_formats: ok"
