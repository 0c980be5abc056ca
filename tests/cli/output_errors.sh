#!/usr/bin/env bash
# Output that cannot be written is an error: every command writing to a full
# device exits non-zero with one message, and the importers put nothing on
# standard output (or in -o FILE) unless the whole input converted.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
T=traces/corpus
if [ -c /dev/full ]; then
    full() {  # command... : must fail with "cannot write" on stderr
        out=$("$S2EMU" "$@" 2>&1 >/dev/full); rc=$?
        if [ $rc -eq 0 ] || ! grep -q "cannot write" <<<"$out"; then
            echo "output_errors: '$*' to /dev/full: rc=$rc out=$out"; fail=1
        fi
    }
    full rules
    full rules --json
    full rules --markdown
    full variants
    full variants --json
    full --help
    full replay $T/seed-upstream.s2t
    full replay --json $T/seed-upstream.s2t $T/seed-anchor-leak.s2t
    full run seed
    full run seed --json
    full run-guest build/guests/boot.bin
    full fuzz seed --walker anchor-leak --runs 5 --out "$tmp/f.s2t"
    full import-ftrace --layout $T/ftrace-6.12-seed.layout $T/ftrace-6.12-seed.txt
    full import-casemate $T/casemate-sample.log
    # Files named with -o, --out and --record.
    full import-ftrace --layout $T/ftrace-6.12-seed.layout $T/ftrace-6.12-seed.txt -o /dev/full
    full import-casemate $T/casemate-sample.log -o /dev/full
    full run seed --record /dev/full
    full replay --record /dev/full $T/seed-upstream.s2t
    full fuzz seed --walker anchor-leak --runs 5 --out /dev/full
    [ -c /dev/full ] || { echo "output_errors: /dev/full is no longer a device"; fail=1; }
else
    echo "output_errors: no /dev/full here; the full-device checks are skipped"
fi

# A casemate log that breaks at its end: nothing on standard output, no -o file.
head -20 $T/casemate-sample.log > "$tmp/cut.log"
echo '(garbage' >> "$tmp/cut.log"
out=$("$S2EMU" import-casemate "$tmp/cut.log" 2>/dev/null); rc=$?
[ $rc -eq 2 ] && [ -z "$out" ] || { echo "output_errors: import-casemate printed ${#out} bytes before its error (rc=$rc)"; fail=1; }
"$S2EMU" import-casemate "$tmp/cut.log" -o "$tmp/cut.s2t" 2>/dev/null
[ ! -e "$tmp/cut.s2t" ] || { echo "output_errors: import-casemate left a partial -o file"; fail=1; }
# The same log whole converts, to standard output and to a file alike.
a=$("$S2EMU" import-casemate $T/casemate-sample.log 2>/dev/null) && \
    "$S2EMU" import-casemate $T/casemate-sample.log -o "$tmp/whole.s2t" 2>/dev/null && \
    [ "$a" = "$(cat "$tmp/whole.s2t")" ] && [ -n "$a" ] \
    || { echo "output_errors: import-casemate output differs between stdout and -o"; fail=1; }
exit $fail
