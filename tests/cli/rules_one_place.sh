#!/usr/bin/env bash
# Each rule fires from exactly one place in each checker that enforces it:
# the function rule_<name> (dashes as underscores) of that checker's file,
# and its id appears nowhere else in the file. The checkers: the machine's
# (hyp-model/checker.c) and the effect-trace checker (hyp-model/effcheck.c),
# both over the rows of hyp-model/s2hyp_rules.h, and KVM over host-mm
# (hyp-model/kvmhost.c) over the rows of s2hyp_kvmhost.h. No other file of
# hyp-model/ names a rule's id; guest/, traces/ and fuzz/ may name rules (to
# sort reports, or as a bit of an expected mask) but cannot fire them (the
# reporting functions are private).
set -u
fail=0

# rows TABLE_HEADER PREFIX: "ID NAME" per row of the X-macro table.
rows() {
    sed -n "s/^[[:space:]]*X(\($2[A-Z0-9_]*\), \"\([a-z0-9-]*\)\".*/\1 \2/p" "$1"
}

# uses FILE PREFIX: "FUNCTION ID" for each id named in FILE, by the function it is in.
uses() {
    awk -v pre="$2" '/^[a-z].*[a-z0-9_]+\(/ && !/;$/ { f = $0; sub(/\(.*/, "", f); sub(/.*[ *]/, "", f) }
        { re = pre "[A-Z0-9_]+"; while (match($0, re)) { print f, substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH) } }' "$1"
}

# check TABLE PREFIX MIN FILE...: every row a FILE enforces is in its rule_<name>
# only; every row is enforced by one of the FILEs; no other hyp-model file
# names a row; the FILEs together implement at least MIN rows.
check() {
    local table=$1 pre=$2 min=$3; shift 3
    local files=" $* " r id name fn file where others n=0
    r=$(rows "$table" "$pre")
    [ -n "$r" ] || { echo "rules_one_place: no rows read from $table"; fail=1; return; }
    while read -r id name; do
        fn=rule_${name//-/_}
        local found=0
        for file in "$@"; do
            if grep -q "^static [a-z]* $fn(" "$file"; then
                found=1
                where=$(uses "$file" "$pre" | awk -v id="$id" '$2 == id { print $1 }' | sort -u | tr '\n' ' ')
                [ "$where" = "$fn " ] || { echo "rules_one_place: $id is used in $file by: ${where:-nothing} (expected only $fn)"; fail=1; }
            elif grep -qw "$id" "$file"; then
                echo "rules_one_place: $id is named in $file, which has no $fn"; fail=1
            fi
        done
        [ $found = 1 ] || { echo "rules_one_place: $id ($name) has no $fn in any of:$files"; fail=1; }
        n=$((n + found))
        # (an expectation may name it as a bit of a mask: RULE_BIT(ID))
        others=$(grep -w "$id" hyp-model/*.c /dev/null | grep -v "RULE_BIT($id)" | cut -d: -f1 | sort -u | while read -r f; do [[ "$files" == *" $f "* ]] || echo "$f"; done)
        [ -z "$others" ] || { echo "rules_one_place: $id is named outside$files: $others"; fail=1; }
    done <<<"$r"
    [ "$n" -ge "$min" ] || { echo "rules_one_place: only $n rules of $table are implemented"; fail=1; }
}

check hyp-model/s2hyp_rules.h S2HYP_RULE_ 20 hyp-model/checker.c hyp-model/effcheck.c
check hyp-model/s2hyp_kvmhost.h S2HYP_KVM_RULE_ 4 hyp-model/kvmhost.c
exit $fail
