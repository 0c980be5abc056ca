#!/usr/bin/env bash
# The layering check passes on the tree, and fails, naming FILE:LINE, on
# each kind of forbidden include in a copy of layers.txt over a small tree.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
chk=scripts/layers.sh

"$chk" check . >"$tmp/out" 2>&1 || { echo "layers: the tree itself fails:"; cat "$tmp/out"; fail=1; }

# A clean small tree: one source per module, each including what it may.
fresh() {
    rm -rf "$tmp/t"; mkdir -p "$tmp/t"
    cp layers.txt "$tmp/t/"
    for m in common arch walker cache-model pool hyp-model traces fuzz guest cli tests; do
        mkdir -p "$tmp/t/$m"; printf '#include "common/x.h"\nint x_%s;\n' "${m//-/_}" > "$tmp/t/$m/a.c"
    done
    printf '#include "walker/s2pt.h"\n' >> "$tmp/t/hyp-model/a.c"
    printf '#include "hyp-model/s2hyp.h"\n' >> "$tmp/t/traces/a.c"
    printf '#include "cli/cli.h"\n#include "fuzz/s2fuzz.h"\n' >> "$tmp/t/cli/a.c"
}
fresh
"$chk" check "$tmp/t" >"$tmp/out" 2>&1 || { echo "layers: a clean tree fails:"; cat "$tmp/out"; fail=1; }

# bad FILE INCLUDE EXPECTED: adding the include to FILE must fail the check
# with FILE:LINE and the message fragment.
bad() {
    fresh
    printf '#include "%s"\n' "$2" >> "$tmp/t/$1"
    n=$(wc -l < "$tmp/t/$1")
    if "$chk" check "$tmp/t" >"$tmp/out" 2>&1; then
        echo "layers: $1 including $2 passed the check"; fail=1
    elif ! grep -q "^$1:$n: .*$3" "$tmp/out"; then
        echo "layers: $1 including $2: unexpected report:"; cat "$tmp/out"; fail=1
    fi
}
bad walker/a.c hyp-model/s2hyp.h "which walker may not use"
bad walker/a.c cache-model/s2cache.h "which walker may not use"
bad walker/a.c traces/s2trace.h "which walker may not use"
bad cache-model/a.c walker/s2pt.h "which cache-model may not use"
bad hyp-model/a.c traces/s2trace.h "which hyp-model may not use"
bad hyp-model/a.c guest/s2guest.h "which hyp-model may not use"
bad hyp-model/a.c fuzz/s2fuzz.h "which hyp-model may not use"
bad traces/a.c cli/cli.h "which traces may not use"
bad fuzz/a.c cli/cli.h "which fuzz may not use"
bad guest/a.c traces/s2trace.h "which guest may not use"
bad common/a.c walker/s2pt.h "which common may not use"
bad common/a.c arch/s2arm.h "which common may not use"
bad arch/a.c walker/s2pt.h "which arch may not use"
bad arch/a.c cache-model/s2cache.h "which arch may not use"
bad tests/a.c cli/cli.h "nothing but the command"
bad walker/a.c tests/fake_mm.h "from the module walker"

# A directory of sources that layers.txt does not list.
fresh; mkdir "$tmp/t/newmod"; echo 'int y;' > "$tmp/t/newmod/a.c"
if "$chk" check "$tmp/t" >"$tmp/out" 2>&1 || ! grep -q "^newmod/: .*does not list" "$tmp/out"; then
    echo "layers: an unlisted module directory was not reported"; cat "$tmp/out"; fail=1
fi
# A reserved slot becomes a module by adding its directory.
fresh; mkdir "$tmp/t/host-mm"; printf '#include "common/x.h"\n' > "$tmp/t/host-mm/a.c"
printf '#include "host-mm/a.h"\n' >> "$tmp/t/hyp-model/a.c"
"$chk" check "$tmp/t" >"$tmp/out" 2>&1 || { echo "layers: host-mm under hyp-model fails:"; cat "$tmp/out"; fail=1; }
printf '#include "host-mm/a.h"\n' >> "$tmp/t/walker/a.c"
"$chk" check "$tmp/t" >/dev/null 2>&1 && { echo "layers: walker including host-mm passed"; fail=1; }

# A graph with a circle or an unclosed list is refused (exit 2).
fresh; sed -i 's/^walker: .*/walker: hyp-model arch common/' "$tmp/t/layers.txt"
"$chk" check "$tmp/t" >"$tmp/out" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "layers.txt:[0-9]*: walker uses hyp-model, which is not on an earlier line" "$tmp/out" ||
    { echo "layers: an upward edge in layers.txt: rc=$rc"; cat "$tmp/out"; fail=1; }
fresh; sed -i 's/^fuzz: .*/fuzz: traces common/' "$tmp/t/layers.txt"
"$chk" check "$tmp/t" >"$tmp/out" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "fuzz uses traces, which uses guest: list guest for fuzz too" "$tmp/out" ||
    { echo "layers: an unclosed list in layers.txt: rc=$rc"; cat "$tmp/out"; fail=1; }

# The link lists come from the same file: walker tests link no hyp-model.
"$chk" mk > "$tmp/mk" || fail=1
grep -q '^USES_walker_desc_test := walker arch common$' "$tmp/mk" || { echo "layers: walker_desc_test links:"; grep walker_desc "$tmp/mk"; fail=1; }
grep -q '^PKGS_walker_ops_test := $' "$tmp/mk" || { echo "layers: walker_ops_test needs packages"; fail=1; }
exit $fail
