#!/usr/bin/env bash
# Nothing below the command knows its options: no string in the library's
# modules names a command-line option (--something, any of cli/'s or
# another). Importers and replay report in their input's terms; cli/ adds
# the option a value came from. Comments are not strings and are not
# looked at. The check passes on the tree and fails, naming FILE:LINE, on a
# planted string.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
modules="common arch walker cache-model pool host-mm hyp-model guest traces fuzz"

# check ROOT: prints FILE:LINE:text for each string naming an option.
check() {
    local m f
    for m in $modules; do
        [ -d "$1/$m" ] || continue
        for f in "$1/$m"/*.c "$1/$m"/*.h; do
            [ -e "$f" ] || continue
            # Drop comments (block and line), then look inside string literals.
            sed -e 's#/\*.*\*/##g' -e '/\/\*/,/\*\//s/.*//' -e 's#//.*##' "$f" |
                grep -n '"[^"]*--[a-z][a-z0-9-]*[^"]*"' | sed "s#^#${f#"$1"/}:#"
        done
    done
}

# The command has options to name at all (else the pattern would be moot).
grep -qhoE '"--[a-z][a-z0-9-]*' cli/*.c || { echo "option_names: no option found in cli/"; fail=1; }

hits=$(check .)
if [ -n "$hits" ]; then
    echo "option_names: strings below cli/ name command-line options:"
    echo "$hits"
    fail=1
fi

# Each of cli/'s options planted in a string of traces/ is found.
mkdir -p "$tmp/t/traces"
opts=$(grep -hoE '"--[a-z][a-z0-9-]*' cli/*.c | tr -d '"' | sort -u)
for o in $opts; do
    printf 'static const char *m = "bad value for %s";\n/* "%s" in a comment is fine */\n' "$o" "$o"
done >"$tmp/t/traces/a.c"
want=$(echo "$opts" | wc -w)
got=$(check "$tmp/t" | grep -c '^traces/a.c:[0-9]*:static const char')
if [ "$got" != "$want" ]; then
    echo "option_names: $got of cli/'s $want options planted in traces/ were found"; fail=1
fi
exit $fail
