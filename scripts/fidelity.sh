#!/usr/bin/env bash
# fidelity.sh [--doc FILE] NAME...: replay real captures and compare with the
# kernel's facts.
#
# For each NAME, traces/real/NAME.trace.xz (a capture of shared/capture's
# kit, as captured) is imported with `s2emu import-ftrace` and replayed with
# `s2emu replay --walker upstream --stats`; every count of the groups that
# traces/real/NAME.facts says the capture can tell (its "# compare:" line)
# is compared with the kernel's. A count that differs must be listed, with
# s2emu's value and the reason, in traces/real/NAME.known as
#
#   SECTION KEY S2EMU-VALUE REASON
#
# (REASON names a paragraph of docs/fidelity.md). The replay must fire no
# rule. Prints one line per compared count that either side has:
#
#   NAME SECTION KEY KERNEL S2EMU [REASON]
#
# and exits 1 if a difference is not explained, or an explained one no
# longer holds. --doc FILE rewrites the table between FILE's
# "<!-- fidelity-table -->" markers.
set -u
S2EMU=${S2EMU:-build/s2emu}
dir=traces/real
doc=
if [ "${1:-}" = --doc ]; then doc=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: fidelity.sh [--doc FILE] NAME..." >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0

for name in "$@"; do
    cap=$dir/$name.trace.xz facts=$dir/$name.facts known=$dir/$name.known
    [ -f "$cap" ] && [ -f "$facts" ] || { echo "fidelity: $name: no $cap or $facts" >&2; bad=1; continue; }
    [ -f "$known" ] || known=/dev/null
    if ! xz -dc "$cap" | "$S2EMU" import-ftrace -o "$tmp/t.s2t" - 2>"$tmp/import.err"; then
        echo "fidelity: $name: import failed: $(head -1 "$tmp/import.err")" >&2; bad=1; continue
    fi
    "$S2EMU" replay --walker upstream --stats "$tmp/t.s2t" >"$tmp/replay.out" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "fidelity: $name: replay exit $rc (a rule fired or the run failed):" >&2
        sed -n '1,12p' "$tmp/replay.out" >&2; bad=1
    fi
    LC_ALL=C awk -v name="$name" -v out="$tmp/rows" '
    # The counts the kernel can tell, by group; the rest are s2emu only.
    function group(key) {
        if (key ~ /^(fault|op|tlbi)\./) { sub(/\..*/, "", key); return key }
        if (key == "table.alloc" || key == "table.free-unlinked") return "table"
        if (key == "break" || key == "make" || key == "put") return key
        if (key == "dcache.calls" || key == "icache.calls") { sub(/\..*/, "", key); return key }
        return ""
    }
    FILENAME == ARGV[1] {
        if ($1 == "#" && $2 == "compare:") { for (i = 3; i <= NF; i++) grp[$i] = 1; next }
        if ($1 ~ /^#/ || NF < 3) next
        k[$1 " " $2] = $3; if (!seen[$1 " " $2]++) order[++n] = $1 " " $2; next
    }
    FILENAME == ARGV[2] {
        if ($1 ~ /^#/ || NF < 4) next
        kv[$1 " " $2] = $3; why = $4; for (i = 5; i <= NF; i++) why = why " " $i
        kr[$1 " " $2] = why; next
    }
    $1 == "stat" { s[$2 " " $3] = $4; if (!seen[$2 " " $3]++) order[++n] = $2 " " $3 }
    END {
        status = 0
        for (i = 1; i <= n; i++) {
            key = order[i]; split(key, p, " "); g = group(p[2])
            if (g == "" || !(g in grp)) continue
            a = (key in k) ? k[key] : 0; b = (key in s) ? s[key] : 0
            why = ""
            if (a != b) {
                if (!(key in kv)) { why = "UNEXPLAINED"; status = 1 }
                else if (kv[key] != b) { why = "CHANGED(known " kv[key] ")"; status = 1 }
                else why = kr[key]
            } else if (key in kv) {
                why = "FIXED(remove from .known)"; status = 1
            }
            printf "%s %s %s %s %s %s\n", name, p[1], p[2], a, b, why >> out
        }
        exit status
    }' "$facts" "$known" "$tmp/replay.out" || bad=1
done
[ -f "$tmp/rows" ] && cat "$tmp/rows"

if [ -n "$doc" ] && [ -f "$tmp/rows" ]; then
    {
        echo "| capture | section | count | kernel | s2emu | why they differ |"
        echo "| --- | --- | --- | ---: | ---: | --- |"
        awk '{ why = ""; for (i = 6; i <= NF; i++) why = why (i > 6 ? " " : "") $i
               printf "| %s | %s | `%s` | %s | %s | %s |\n", $1, $2, $3, $4, $5, why }' "$tmp/rows"
    } >"$tmp/table"
    awk -v table="$tmp/table" '
        /<!-- fidelity-table -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
        /<!-- \/fidelity-table -->/ { skip = 0 }
        !skip' "$doc" >"$tmp/doc" && cp "$tmp/doc" "$doc"
fi
exit $bad
