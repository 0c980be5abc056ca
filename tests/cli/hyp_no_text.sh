#!/usr/bin/env bash
# hyp-model parses no text (issue 10). Text is read in traces/ (the trace
# grammar, the schedule-choice syntax, rule names) and cli/; the model takes
# numbers, enums and tables. Checked at two levels, so that a parser is
# found however it is written:
#  1. Symbols (nm of hyp-model's archive, the objects make built): no object
#     imports a function that reads, converts, compares, splits or searches
#     text (the C library's number parsers, scanf, string comparison and
#     search, line and character input, ctype classification, regular
#     expressions), another module's parser (a function named *_parse*)
#     or common's look-up by name (s2_find_name*: the models name their
#     built-in scenarios, the text layer finds them), and none defines a
#     *_parse* function. A macro or a helper in a header
#     that hides the call does not hide its symbol.
#  2. The preprocessed sources (comments gone, macros expanded, each line
#     named by its file and line): no call of those functions by name (the
#     optimiser may inline a strcmp against a literal and leave no symbol),
#     and no scanning of text character by character: no character literal
#     compared (==, !=, <, >, <=, >=), added, subtracted or used as a case
#     label. Writing a character (fputc(f, '}')) is not reading text.
# The check passes on the tree, and fails on a copy of hyp-model with a
# parser planted in each of those ways, naming where.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
bin=${S2EMU:-build/s2emu}
archive=$(dirname "$bin")/lib/libhyp-model.a
[ -f "$archive" ] || { echo "hyp_no_text: no $archive (make builds it)"; exit 1; }

libc='strto[a-z]*|__strto[a-z_]*|ato[fil]|atoll|v?f?s?scanf|__isoc[0-9]*_[a-z_]*|str(n)?(case)?cmp|strcoll|strverscmp|strchr|strchrnul|strrchr|strstr|strcasestr|strspn|strcspn|strpbrk|strsep|strtok(_r)?|memchr|memrchr|rawmemchr|memmem|getline|getdelim|fgets|fgetc|getc|getc_unlocked|getchar|getchar_unlocked|_IO_getc|ungetc|regcomp|regexec|fnmatch|wordexp|__ctype_b_loc|__ctype_to(lower|upper)_loc|to(lower|upper)|is(alnum|alpha|blank|cntrl|digit|graph|lower|print|punct|space|upper|xdigit)'
parsers='[A-Za-z0-9_]*(^|_)parse(_[A-Za-z0-9_]*)?|s2_find_name[a-z_]*'

# symbols NAME ARCHIVE-OR-OBJECT...: prints "NAME: imports SYM" and
# "NAME: defines SYM" for each forbidden symbol.
symbols() {
    local name=$1; shift
    nm -A "$@" 2>/dev/null | awk -v name="$name" -v libc="^($libc)\$" -v parse="^($parsers)\$" '
        NF < 2 { next }
        { sym = $NF; type = $(NF - 1); obj = $1
          sub(/:[0-9a-f]*$/, "", obj); sub(/.*:/, "", obj); sub(/.*\//, "", obj) }
        type == "U" && (sym ~ libc || sym ~ parse) { print name "/" obj ": imports " sym }
        type == "T" && sym ~ parse { print name "/" obj ": defines " sym }'
}

# sources ROOT [FILE.c...]: preprocesses ROOT/hyp-model/*.c (or the FILEs
# of it; ROOT's headers first) and prints "hyp-model/FILE:LINE: what" for
# each forbidden call or character comparison in a line of hyp-model's own
# files.
sources() {
    local root=$1 f; shift
    local files=("$@")
    [ ${#files[@]} -gt 0 ] || files=("$root"/hyp-model/*.c)
    for f in "${files[@]}"; do
        "$cc" -std=c11 -D_DEFAULT_SOURCE -E -I"$root" -I. "$f" 2>"$tmp/cpp.err" ||
            { echo "${f#"$root"/}: does not preprocess:"; cat "$tmp/cpp.err"; continue; }
    done | awk -v calls="(^|[^A-Za-z0-9_])($libc)[ \t]*\\(" '
        /^# [0-9]+ "/ { line = $2; file = $3; gsub(/"/, "", file); sub(/.*\/hyp-model\//, "hyp-model/", file); next }
        {
            here = line++
            if (file !~ /^hyp-model\//) next
            s = $0
            gsub(/"([^"\\]|\\.)*"/, "\"\"", s)          # strings say nothing
            cl = "\047([^\047\\\\]|\\\\[^\047]*)\047"      # a character literal
            if (match(s, calls)) {
                why = substr(s, RSTART, RLENGTH)
                sub(/^[^A-Za-z_]*/, "", why); sub(/[ \t]*\($/, "", why)
                why = "calls " why "("
            }
            else if (s ~ ("(==|!=|<=|>=|[^-<]<|[^->]>|[-+])[ \t]*" cl) || s ~ (cl "[ \t]*(==|!=|<=|>=|<|>|[-+])") ||
                     s ~ ("case[ \t]+" cl))
                why = "compares a character"
            else
                next
            print file ":" here ": " why
        }' | sort -u
}

# check ROOT SOURCES ARCHIVE-OR-OBJECT...: both levels (SOURCES: the files
# of ROOT/hyp-model to preprocess, "" for all); 1 when anything is found.
check() {
    local root=$1 src=$2; shift 2
    { symbols hyp-model "$@"; sources "$root" $src; } >"$tmp/found"
    cat "$tmp/found"
    [ ! -s "$tmp/found" ]
}

check . "" "$archive" >"$tmp/out" || { echo "hyp_no_text: the tree fails:"; cat "$tmp/out"; fail=1; }

# plant FILE TEXT: a copy of hyp-model with TEXT appended to FILE, its
# objects (FILE compiled, the tree's archive for the rest) in $tmp/objs.
plant() {
    rm -rf "$tmp/t"; mkdir -p "$tmp/t/hyp-model"
    cp hyp-model/*.c hyp-model/*.h "$tmp/t/hyp-model/"
    printf '%s\n' "$2" >>"$tmp/t/hyp-model/$1"
    case $1 in
    *.c) "$cc" -std=c11 -D_DEFAULT_SOURCE -O2 -I"$tmp/t" -I. -c "$tmp/t/hyp-model/$1" \
             -o "$tmp/${1%.c}.o" 2>"$tmp/cc.err" || { echo "hyp_no_text: planted $1 does not compile:"; cat "$tmp/cc.err"; fail=1; }
         objs=("$tmp/${1%.c}.o") ;;
    *) objs=() ;;
    esac
}

# caught WHAT EXPECTED...: the check of the planted copy fails and prints
# each EXPECTED line (a grep -E pattern) and nothing more.
caught() {
    local what=$1 p n=0; shift
    if check "$tmp/t" "$tmp/t/hyp-model/kvm.c" "$archive" "${objs[@]}" >"$tmp/out"; then
        echo "hyp_no_text: $what passed the check"; fail=1; return
    fi
    for p in "$@"; do
        n=$((n + 1))
        grep -qE "$p" "$tmp/out" || { echo "hyp_no_text: $what: no '$p' in:"; cat "$tmp/out"; fail=1; }
    done
    [ "$(wc -l <"$tmp/out")" -eq "$n" ] || { echo "hyp_no_text: $what: unexpected report:"; cat "$tmp/out"; fail=1; }
}

n=$(($(wc -l <hyp-model/kvm.c) + 3))	# the planted function's line
# A number parser of the C library, called.
plant kvm.c '#include <stdlib.h>
unsigned long planted_num(const char *s);
unsigned long planted_num(const char *s) { return strtoul(s, 0, 0); }'
caught "a planted strtoul" "^hyp-model/kvm.o: imports strtoul$" "^hyp-model/kvm.c:$n: calls strtoul\\($"

# A hand-written number parser: no library call at all.
plant kvm.c '#include <stdlib.h>
unsigned planted_num(const char *s);
unsigned planted_num(const char *s) { unsigned v = 0; while (*s >= 0x30 && *s <= 0x39) v = v * 10 + (unsigned)(*s++ - '"'0'"'); return v; }'
caught "a hand-written number parser" "^hyp-model/kvm.c:$n: compares a character$"
plant kvm.c '#include <stdlib.h>
int planted_sep(const char *s);
int planted_sep(const char *s) { int n = 0; for (; *s; s++) switch (*s) { case '"':'"': n++; break; default: break; } return n; }'
caught "a switch on characters" "^hyp-model/kvm.c:$n: compares a character$"

# A string comparison hidden in a header's macro: the expanded call is found
# at the line that uses it, and its symbol.
plant s2hyp_internal.h '#include <string.h>
#define PLANTED_SAME(a, b) (strcmp((a), (b)) == 0)'
printf '%s\n' 'int planted_is(const char *a, const char *b);' \
    'int planted_is(const char *a, const char *b) { return PLANTED_SAME(a, b); }' >>"$tmp/t/hyp-model/kvm.c"
"$cc" -std=c11 -D_DEFAULT_SOURCE -O2 -I"$tmp/t" -I. -c "$tmp/t/hyp-model/kvm.c" -o "$tmp/kvm.o" && objs=("$tmp/kvm.o")
caught "a strcmp in a header's macro" "^hyp-model/kvm.o: imports strcmp$" "^hyp-model/kvm.c:$((n - 1)): calls strcmp\\($"

# A parser of another module, called; a parser of its own, defined.
plant kvm.c '#include "arch/s2arm.h"
int planted_op(const char *s);
int planted_op(const char *s) { return s2arm_tlbi_parse(s); }'
caught "a call of arch's parser" "^hyp-model/kvm.o: imports s2arm_tlbi_parse$"
plant kvm.c '#include "common/s2_text.h"
int planted_find(const char *s);
int planted_find(const char *s) { static const char *const t[] = { "a", "b" }; return s2_find_name(t, 2, sizeof(t[0]), s); }'
caught "a look-up by name" "^hyp-model/kvm.o: imports s2_find_name$"
plant kvm.c 'int s2hyp_planted_parse(int x);
int s2hyp_planted_parse(int x) { return x + 1; }'
caught "a parse function defined" "^hyp-model/kvm.o: defines s2hyp_planted_parse$"

# What is not reading text passes: comments, strings, writing a character.
plant kvm.c '#include <stdio.h>
/* strcmp(a, b) and c == '"'x'"' in a comment */
void planted_put(FILE *f);
void planted_put(FILE *f) { fputc('"'}'"', f); fputs("a == '"'b'"' strtoul(", f); }'
check "$tmp/t" "$tmp/t/hyp-model/kvm.c" "$archive" "${objs[@]}" >"$tmp/out" || { echo "hyp_no_text: a comment, a string or fputc was reported:"; cat "$tmp/out"; fail=1; }
exit $fail
