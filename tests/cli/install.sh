#!/usr/bin/env bash
# make install into a temporary DESTDIR: the installed s2emu replays the
# installed corpus (guest-code traces included) from another directory and
# runs an installed guest; a tiny program compiles against the installed
# headers and libs2emu.a through pkg-config and runs; every installed header
# compiles on its own; the man page is there.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
build=$(dirname "$S2EMU")
prefix=/opt/s2emu
root=$tmp/root$prefix
if ! out=$(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s install BUILD="$build" \
           DESTDIR="$tmp/root" PREFIX="$prefix" 2>&1); then
    echo "install: make install failed: $out"; exit 1
fi
for f in bin/s2emu lib/libs2emu.a lib/pkgconfig/libs2emu.pc include/s2emu/hyp-model/s2hyp.h \
         include/s2emu/walker/s2pt.h share/man/man1/s2emu.1 share/s2emu/guests/boot.bin \
         share/s2emu/guests/boot.S share/s2emu/corpus/seed-upstream.s2t; do
    [ -e "$root/$f" ] || { echo "install: $f not installed"; fail=1; }
done
find "$root/include" -name '*_internal.h' | grep -q . && { echo "install: internal headers installed"; fail=1; }
grep -q '^\.TH S2EMU 1' "$root/share/man/man1/s2emu.1" || { echo "install: man page has no .TH"; fail=1; }
grep -q '^\.SH EXIT STATUS' "$root/share/man/man1/s2emu.1" || { echo "install: man page lacks EXIT STATUS"; fail=1; }

# From another directory: the installed corpus replays as in the tree.
mkdir -p "$tmp/elsewhere"
n=$(ls "$root"/share/s2emu/corpus/*.s2t | wc -l)
out=$(cd "$tmp/elsewhere" && "$root/bin/s2emu" replay "$root"/share/s2emu/corpus/*.s2t 2>&1); rc=$?
ok=$(grep -c '^  result: ok' <<<"$out")
[ $rc -eq 0 ] && [ "$ok" -eq "$n" ] || { echo "install: installed corpus: rc=$rc, $ok of $n ok"; fail=1; }
out=$(cd "$tmp/elsewhere" && "$root/bin/s2emu" run-guest "$root/share/s2emu/guests/boot.bin" \
      --walker upstream 2>&1); rc=$?
[ $rc -eq 0 ] || { echo "install: installed run-guest: rc=$rc $out"; fail=1; }

# A program built against the installed library, found through pkg-config.
export PKG_CONFIG_PATH=$root/lib/pkgconfig
pc() { pkg-config --define-variable=prefix="$root" "$@" libs2emu; }
[ "$(pc --modversion)" = "$("$S2EMU" --version | sed 's/^s2emu //')" ] \
    || { echo "install: pkg-config version differs from s2emu --version"; fail=1; }
cat > "$tmp/use.c" <<'C'
#include <stdio.h>
#include "hyp-model/s2hyp.h"
#include "walker/s2pt.h"

int main(void)
{
	struct s2hyp_config cfg;
	struct s2hyp_memslot slot = { .ipa = 0x40000000, .size = 2u << 20,
				      .hva = 0x7f0000000000, .backing = S2HYP_BACKING_4K };
	struct s2hyp *m;
	const char *why = "";

	s2hyp_config_init(&cfg);
	if (s2hyp_create(&cfg, &slot, 1, &m, &why)) {
		printf("create: %s\n", why);
		return 1;
	}
	printf("%s %u\n", s2pt_variant_name(cfg.variant), cfg.nr_vcpus);
	s2hyp_delete(m);
	return 0;
}
C
# A sanitizer build's library needs the sanitizer runtime at link time.
san=""
nm "$root/lib/libs2emu.a" 2>/dev/null | grep -q __asan_ && san="-fsanitize=address,undefined"
# shellcheck disable=SC2046
if ! out=$(cc -std=c11 $san $(pc --cflags) -o "$tmp/use" "$tmp/use.c" $(pc --libs) 2>&1); then
    echo "install: a program against the installed library does not build: $out"; fail=1
else
    out=$("$tmp/use" 2>&1); rc=$?
    [ $rc -eq 0 ] && [ "$out" = "upstream 2" ] || { echo "install: the program: rc=$rc '$out'"; fail=1; }
fi
# Every installed header stands on its own.
for h in $(cd "$root/include/s2emu" && find . -name '*.h' | sed 's|^\./||'); do
    printf '#include "%s"\n' "$h" > "$tmp/h.c"
    # shellcheck disable=SC2046
    cc -std=c11 -fsyntax-only $(pc --cflags) "$tmp/h.c" 2>"$tmp/h.err" \
        || { echo "install: $h does not compile alone: $(head -3 "$tmp/h.err")"; fail=1; }
done
exit $fail
