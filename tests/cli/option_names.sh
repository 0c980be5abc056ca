#!/usr/bin/env bash
# Nothing below the command knows its options: no string of the library's
# modules (every module but cli/) names a command-line option. Importers
# and replay report in their input's terms; cli/ adds the option a value
# came from.
#
# The strings are looked at as compiled, in the read-only and data sections
# of each module's objects (the archives make built): a string is found
# however the source writes it (split into adjacent literals, over lines,
# from a macro of a header, a char array). A string names an option when it
# holds one of the command's long options (every "--name" of cli/'s
# objects: its option table as the command matches it) or anything written
# as one ("--" and a letter, or "--%" that makes one). Where the source has
# the option's text, its FILE:LINE is named too. Comments are not
# compiled, so not looked at. The check passes on the tree and fails on a
# copy with options planted in each of those ways.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
bin=${S2EMU:-build/s2emu}
build=$(dirname "$bin")
modules=$(sed -n 's/^\([a-z][a-z-]*\):.*/\1/p' layers.txt | grep -vx cli)

# strings_of OBJECT: the strings of its read-only and data sections.
strings_of() {
    local s args=()
    for s in $(readelf -SW "$1" 2>/dev/null | grep -oE '\.(rodata|data)[A-Za-z0-9._]*' | grep -v '^\.rela' | sort -u); do
        args+=(-p "$s")
    done
    [ ${#args[@]} -gt 0 ] || return 0
    readelf -W "${args[@]}" "$1" 2>/dev/null | sed -n 's/^ *\[ *[0-9a-f]*\] *//p'
}

# The command's long options, from its own objects.
opts=$(for o in "$build"/obj/cli/*.o; do strings_of "$o"; done | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
[ "$(echo "$opts" | wc -w)" -ge 20 ] || { echo "option_names: cli/'s options not found in $build/obj/cli ($opts)"; exit 1; }
echo "$opts" >"$tmp/opts"

# check_objects NAME OBJECT...: "NAME/OBJ: "STRING"" for each string naming
# an option.
check_objects() {
    local name=$1 o; shift
    for o in "$@"; do
        strings_of "$o" | awk -v obj="$name/${o##*/}" -v opts="$tmp/opts" '
            BEGIN { while ((getline w < opts) > 0) real[w] = 1 }
            {
                s = $0
                while (match(s, /--[a-z%][a-z0-9-]*/)) {
                    opt = substr(s, RSTART, RLENGTH)
                    if (RSTART == 1 || substr(s, RSTART - 1, 1) != "-") {
                        if (opt in real)
                            print obj ": \"" $0 "\" names the option " opt
                        else
                            print obj ": \"" $0 "\" is written as an option (" opt ")"
                    }
                    s = substr(s, RSTART + RLENGTH)
                }
            }'
    done
}

# where ROOT MODULE OPTION: FILE:LINE of OPTION in ROOT/MODULE's sources,
# comments left out.
where() {
    local f
    for f in "$1/$2"/*.c "$1/$2"/*.h; do
        [ -e "$f" ] || continue
        sed -e 's#/\*.*\*/##g' -e '/\/\*/,/\*\//s/.*//' -e 's#//.*##' "$f" |
            grep -nE -- "$3([^a-z0-9-]|\$)" | sed "s#^\([0-9]*\):.*#  at $2/${f##*/}:\1#"
    done
}

# check_tree ROOT ARCHIVE-DIR: every module's archive (extracted).
check_tree() {
    local root=$1 lib m
    lib=$(cd "$2" && pwd)
    for m in $modules; do
        [ -f "$lib/lib$m.a" ] || continue
        rm -rf "$tmp/x"; mkdir "$tmp/x"
        (cd "$tmp/x" && ar x "$lib/lib$m.a")
        check_objects "$m" "$tmp/x"/*.o
    done
}

report() {	# adds the source lines to each finding of stdin
    local line m opt
    while IFS= read -r line; do
        echo "$line"
        m=${line%%/*}; opt=${line##* }; opt=${opt#(}; opt=${opt%)}
        where "$1" "$m" "$opt"
    done
}

check_tree . "$build/lib" | report . >"$tmp/out"
if [ -s "$tmp/out" ]; then
    echo "option_names: strings below cli/ name command-line options:"; cat "$tmp/out"; fail=1
fi

# plant NAME TEXT [HEADER-TEXT]: traces/NAME.c of a copy of traces/ holding
# TEXT (and s2trace.h HEADER-TEXT), compiled.
plant() {
    rm -rf "$tmp/t"; mkdir -p "$tmp/t/traces"
    cp traces/*.h "$tmp/t/traces/"
    printf '%s\n' "$2" >"$tmp/t/traces/$1.c"
    [ $# -lt 3 ] || printf '%s\n' "$3" >>"$tmp/t/traces/s2trace.h"
    "$cc" -std=c11 -D_DEFAULT_SOURCE -O2 -I"$tmp/t" -I. -c "$tmp/t/traces/$1.c" -o "$tmp/$1.o" 2>"$tmp/cc.err" ||
        { echo "option_names: planted $1.c does not compile:"; cat "$tmp/cc.err"; fail=1; }
}

# Each of cli/'s options in a string of traces/, at its line.
i=0
for o in $opts; do
    i=$((i + 1))
    printf 'const char *planted_%d = "bad value for %s";\n/* "%s" in a comment is fine */\n' "$i" "$o" "$o"
done >"$tmp/text"
plant each "$(cat "$tmp/text")"
check_objects traces "$tmp/each.o" | report "$tmp/t" >"$tmp/out"
want=$(echo "$opts" | wc -w)
got=$(grep -c '^traces/each.o: "bad value for --[a-z0-9-]*" names the option --' "$tmp/out")
at=$(grep -c '^  at traces/each.c:[0-9]*[13579]$' "$tmp/out")
if [ "$got" != "$want" ] || [ "$at" != "$want" ]; then
    echo "option_names: $got of cli/'s $want options planted in traces/ were found ($at at their line)"; fail=1
fi

# An option however the source spells it: split over two lines, from a
# header's macro, built by a format; each is found.
plant split 'const char *planted = "use -"
    "-layout to give the memslots";'
check_objects traces "$tmp/split.o" >"$tmp/out"
grep -q '^traces/split.o: "use --layout to give the memslots" names the option --layout$' "$tmp/out" ||
    { echo "option_names: an option split over two literals was not found:"; cat "$tmp/out"; fail=1; }
plant macro '#include "traces/s2trace.h"
const char *planted = "unknown variant; see " PLANTED_OPT;' '#define PLANTED_OPT "--walker"'
check_objects traces "$tmp/macro.o" >"$tmp/out"
grep -q '^traces/macro.o: "unknown variant; see --walker" names the option --walker$' "$tmp/out" ||
    { echo "option_names: an option from a header's macro was not found:"; cat "$tmp/out"; fail=1; }
plant format 'const char *planted = "give --%s with a number";'
check_objects traces "$tmp/format.o" >"$tmp/out"
grep -q '^traces/format.o: "give --%s with a number" is written as an option (--%s)$' "$tmp/out" ||
    { echo "option_names: an option made by a format was not found:"; cat "$tmp/out"; fail=1; }

# What is not an option passes: a comment, a dash pair between words.
plant fine '/* "--walker" in a comment */
const char *planted = "phase 1 -- the first -- 2 vCPUs";'
check_objects traces "$tmp/fine.o" >"$tmp/out"
[ ! -s "$tmp/out" ] || { echo "option_names: a string with no option was reported:"; cat "$tmp/out"; fail=1; }
exit $fail
