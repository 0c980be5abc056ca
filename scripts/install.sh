#!/bin/sh
# `make install`: s2emu, the library with its public headers and pkg-config
# file, the man page, and the example guests and trace corpus. Run by the
# Makefile, which passes what it built:
#
#   DESTDIR PREFIX BUILD VERSION MODULES PKGS scripts/install.sh
#
# PREFIX/bin/s2emu
# PREFIX/lib/libs2emu.a, PREFIX/lib/pkgconfig/libs2emu.pc
# PREFIX/include/s2emu/MODULE/*.h   every module's public headers, in the
#                                    layout the sources include them by
#                                    ("hyp-model/s2hyp.h"); *_internal.h
#                                    and headers that include one stay out
# PREFIX/share/man/man1/s2emu.1     built from docs/s2emu.md
# PREFIX/share/s2emu/guests/        the example guests: images and sources
# PREFIX/share/s2emu/corpus/        traces/corpus, guest-code traces naming
#                                    ../guests/ so they replay from anywhere
set -eu
: "${PREFIX:?}" "${BUILD:?}" "${VERSION:?}" "${MODULES:?}"
DESTDIR=${DESTDIR:-}
PKGS=${PKGS:-}
root=$DESTDIR$PREFIX
share=$root/share/s2emu

install -d "$root/bin" "$root/lib/pkgconfig" "$root/include/s2emu" \
    "$root/share/man/man1" "$share/guests" "$share/corpus"
install -m 755 "$BUILD/s2emu" "$root/bin/s2emu"
install -m 644 "$BUILD/libs2emu.a" "$root/lib/libs2emu.a"
install -m 644 "$BUILD/s2emu.1" "$root/share/man/man1/s2emu.1"

for m in $MODULES; do
    for h in "$m"/*.h; do
        [ -e "$h" ] || continue
        case $h in *_internal.h) continue ;; esac
        grep -q '^#include "[^"]*_internal\.h"' "$h" && continue
        install -d "$root/include/s2emu/$m"
        install -m 644 "$h" "$root/include/s2emu/$h"
    done
done

# -D_DEFAULT_SOURCE: the library is built with it and its headers use POSIX.
cat >"$root/lib/pkgconfig/libs2emu.pc" <<EOF
prefix=$PREFIX
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include
datadir=\${prefix}/share/s2emu

Name: libs2emu
Description: arm64 KVM stage-2 page-table emulator and checker (static library)
Version: $VERSION
Requires: $PKGS
Cflags: -I\${includedir}/s2emu -D_DEFAULT_SOURCE
Libs: -L\${libdir} -ls2emu -lpthread -lm
EOF

for f in build/guests/*.bin guests/*.S guests/*.inc guests/*.ld guests/*.vm; do
    [ -e "$f" ] && install -m 644 "$f" "$share/guests/"
done
for f in traces/corpus/*; do
    [ -f "$f" ] || continue
    case $f in
    *.s2t)
        # The image beside the installed guests, relative to the trace.
        sed -E 's#^(guest image=)[^ ]*/([^/ ]+\.bin) #\1../guests/\2 #' "$f" \
            >"$share/corpus/${f##*/}"
        chmod 644 "$share/corpus/${f##*/}" ;;
    *)
        install -m 644 "$f" "$share/corpus/" ;;
    esac
done
echo "installed s2emu $VERSION under $root"
