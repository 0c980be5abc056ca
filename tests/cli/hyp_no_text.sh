#!/usr/bin/env bash
# hyp-model parses no text (issue 10): none of its sources calls a number
# parser (strtoul and kin, sscanf, atoi, common's s2_parse_*), reads lines
# or characters of a stream, splits or searches strings (strtok, strchr,
# strstr, strspn) or compares them (strcmp and kin; a table's element is
# found by name with common's s2_find_name). Text is read in traces/ and
# cli/. Comments are not looked at. The check passes on the tree and fails,
# naming FILE:LINE, on a planted call.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
calls='strto[a-z]*|v?[sf]?scanf|ato[fil]l?|strtok(_r)?|s2_parse_[a-z0-9_]*|getline|getdelim|fgets|fgetc|getc(_unlocked)?|strn?(case)?cmp|strchr|strrchr|strstr|strspn|strcspn|strpbrk'

# check DIR: prints FILE:LINE: the call, for each; exits 1 if any.
check() {
    local bad=0 f
    for f in "$1"/*.c "$1"/*.h; do
        [ -e "$f" ] || continue
        # Comments blanked (their lines kept, so numbers stay right).
        sed -e 's#/\*.*\*/##g' -e '/\/\*/,/\*\//s/.*//' -e 's#//.*##' "$f" |
            grep -nE "(^|[^a-zA-Z0-9_])($calls)[[:space:]]*\(" >"$tmp/hits" || continue
        while IFS=: read -r ln text; do
            echo "hyp-model/${f##*/}:$ln: reads text:$text"
        done <"$tmp/hits"
        bad=1
    done
    return $bad
}

check hyp-model >"$tmp/out" || { echo "hyp_no_text: the tree fails:"; cat "$tmp/out"; fail=1; }

mkdir "$tmp/t"
cp hyp-model/*.c hyp-model/*.h "$tmp/t/"
printf 'static unsigned long planted(const char *s) { return strtoul(s, 0, 0); }\n' >>"$tmp/t/kvm.c"
n=$(wc -l <"$tmp/t/kvm.c")
printf '/* strcmp(a, b) in a comment is fine */\n' >>"$tmp/t/machine.c"
if check "$tmp/t" >"$tmp/out"; then
    echo "hyp_no_text: a planted strtoul passed"; fail=1
elif ! grep -q "^hyp-model/kvm.c:$n: reads text" "$tmp/out" || [ "$(wc -l <"$tmp/out")" != 1 ]; then
    echo "hyp_no_text: wrong report:"; cat "$tmp/out"; fail=1
fi
exit $fail
