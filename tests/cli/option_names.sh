#!/usr/bin/env bash
# Nothing below the command knows its options: no string in the library's
# modules names a command-line option (--something). Importers and replay
# report in their input's terms; cli/ adds the option a value came from.
# Comments are not strings and are not looked at.
set -u
hits=$(for m in common walker cache-model pool host-mm hyp-model guest traces fuzz; do
    [ -d "$m" ] || continue
    # Drop comments (block and line), then look inside string literals.
    for f in "$m"/*.c "$m"/*.h; do
        [ -e "$f" ] || continue
        sed -e 's#/\*.*\*/##g' -e '/\/\*/,/\*\//s/.*//' -e 's#//.*##' "$f" |
            grep -n '"[^"]*--[a-z][a-z0-9-]*[^"]*"' | sed "s#^#$f:#"
    done
done)
if [ -n "$hits" ]; then
    echo "option_names: strings below cli/ name command-line options:"
    echo "$hits"
    exit 1
fi
exit 0
