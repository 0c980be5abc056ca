#!/usr/bin/env bash
# s2emu fuzz --shard I/N and --merge: two shards of a random, a pct and an
# exhaustive search, merged, equal the unsharded search (runs, distinct
# schedules, steps, classes, rules, the counterexample); a shard does only
# part of the work; bad shard specs and mismatched or missing shards are
# refused with exit 2.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The value of a top-level field (the first one of that name).
field() { grep -o "\"$2\": [^,}]*" "$1" | head -1; }
same() {
    local what=$1 a=$2 b=$3; shift 3
    for f in "$@"; do
        if [ "$(field "$a" "$f")" != "$(field "$b" "$f")" ] || [ -z "$(field "$a" "$f")" ]; then
            echo "shard: $what: $f: whole '$(field "$a" "$f")', merged '$(field "$b" "$f")'"; fail=1
        fi
    done
}
search() {  # NAME ARGS...: the whole search, its two shards and their merge
    local name=$1; shift
    "$S2EMU" fuzz "$@" --json >"$tmp/$name.json" 2>/dev/null
    "$S2EMU" fuzz "$@" --json --shard 0/2 >"$tmp/$name.0.json" 2>/dev/null
    local jobs=(--jobs 2)   # worker processes change nothing either
    case "$*" in *exhaustive*) jobs=() ;; esac
    "$S2EMU" fuzz "$@" --json --shard 1/2 "${jobs[@]}" >"$tmp/$name.1.json" 2>/dev/null
    "$S2EMU" fuzz --merge "$tmp/$name.0.json" "$tmp/$name.1.json" --json >"$tmp/$name.m.json"
}

search random seed --walker install-first --runs 24 --seed 5
same random "$tmp/random.json" "$tmp/random.m.json" runs distinct steps incomplete rules
search pct seed --walker install-first --strategy pct --runs 16
same pct "$tmp/pct.json" "$tmp/pct.m.json" runs distinct steps rules
# (Shards search with sleep sets alone: the whole search to compare with too.)
search exh coalesce-race --walker install-first --strategy exhaustive --no-source-sets
same exhaustive "$tmp/exh.json" "$tmp/exh.m.json" runs steps terminal blocked pruned \
    bound_cut max_depth complete rules
for k in 0 1; do
    r=$(field "$tmp/exh.$k.json" runs | grep -o '[0-9]*')
    [ "$r" -lt "$(field "$tmp/exh.json" runs | grep -o '[0-9]*')" ] || { echo "shard: exhaustive shard $k did it all"; fail=1; }
done
# A bug: the same counts, the same first seed, the same shrunk counterexample.
search bug seed --walker install-first-nocmo --runs 12 --out "$tmp/bug.s2t"
same bug "$tmp/bug.json" "$tmp/bug.m.json" runs distinct steps rules
grep -q "\"trace\": \"$tmp/bug.s2t\"" "$tmp/bug.m.json" || { echo "shard: bug: no trace"; fail=1; }
[ "$(grep -o '"choices": [0-9]*' "$tmp/bug.json")" = "$(grep -o '"choices": [0-9]*' "$tmp/bug.m.json")" ] \
    || { echo "shard: bug: another counterexample"; fail=1; }
"$S2EMU" fuzz --merge "$tmp/bug.0.json" "$tmp/bug.1.json" >"$tmp/text" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "dcache-clean-before-visible  in 12 of 12 runs (first seed 1)" "$tmp/text" \
    || { echo "shard: bug text: rc=$rc"; cat "$tmp/text"; fail=1; }
# The exhaustive search's first violation is the whole search's.
search exbug coalesce-race --walker upstream-noreload --strategy exhaustive --no-shrink --no-source-sets
[ "$(grep -o '"counterexample": .*' "$tmp/exbug.json")" = "$(grep -o '"counterexample": .*' "$tmp/exbug.m.json")" ] \
    || { echo "shard: exhaustive: another first violation"; fail=1; }

bad() {  # ARGS...: exit 2 with one line naming the problem
    local out rc
    out=$("$S2EMU" fuzz "$@" 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 2 ] || [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
        echo "shard: '$*': rc=$rc: $out"; fail=1
    fi
}
bad seed --shard 2/2
bad seed --shard 1
bad seed --shard x/2
bad --merge "$tmp/random.0.json"
bad --merge "$tmp/random.0.json" "$tmp/random.0.json"
bad --merge "$tmp/random.0.json" "$tmp/pct.1.json"
bad --merge "$tmp/random.json"
printf '{"shard": "0/1", "oops' >"$tmp/cut.json"
bad --merge "$tmp/cut.json"
bad --merge "$tmp/no-such.json"
exit $fail
