#!/usr/bin/env bash
# Each rule the machine's checker enforces fires from exactly one place: the
# function rule_<name> (dashes as underscores) of hyp-model/checker.c; its id
# appears nowhere else in the machine's sources. guest/, traces/ and fuzz/
# may name rules (to sort reports) but cannot fire them (report() is
# private). The effect-trace checker (hyp-model/effcheck.c, its own handle,
# s2hyp_effect.h) is the one other file that may fire rules; a rule only it
# enforces must appear in no third file.
set -u
fail=0
rules=hyp-model/s2hyp_rules.h
chk=hyp-model/checker.c
# "ID NAME" per row of the table.
rows=$(sed -n 's/^[[:space:]]*X(\(S2HYP_RULE_[A-Z0-9_]*\), "\([a-z0-9-]*\)".*/\1 \2/p' "$rules")
[ -n "$rows" ] || { echo "rules_one_place: no rows read from $rules"; exit 1; }
# "FUNCTION ID" for each id named in checker.c, by the function it is in.
uses=$(awk '/^[a-z].*[a-z0-9_]+\(/ && !/;$/ { f = $0; sub(/\(.*/, "", f); sub(/.*[ *]/, "", f) }
            { while (match($0, /S2HYP_RULE_[A-Z0-9_]+/)) { print f, substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH) } }' "$chk")
eff=hyp-model/effcheck.c
n=0
while read -r id name; do
    fn=rule_${name//-/_}
    if ! grep -q "^static void $fn(" "$chk"; then
        files=$(grep -lw "$id" hyp-model/*.c | tr '\n' ' ')
        [ "$files" = "$eff " ] || { echo "rules_one_place: $id has no $fn in $chk and fires from: ${files:-nowhere}"; fail=1; }
        continue
    fi
    n=$((n + 1))
    where=$(awk -v id="$id" '$2 == id { print $1 }' <<<"$uses" | sort -u | tr '\n' ' ')
    [ "$where" = "$fn " ] || { echo "rules_one_place: $id is used in: ${where:-nothing} (expected only $fn)"; fail=1; }
    others=$(grep -lw "$id" hyp-model/*.c | grep -v "^$chk$" | grep -v "^$eff$")
    [ -z "$others" ] || { echo "rules_one_place: $id is named outside $chk: $others"; fail=1; }
done <<<"$rows"
[ "$n" -ge 12 ] || { echo "rules_one_place: $chk implements only $n rules"; fail=1; }
exit $fail
