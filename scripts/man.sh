#!/bin/sh
# The man page s2emu(1) from docs/s2emu.md on standard input, with go-md2man
# (Debian's go-md2man package): the "# s2emu(1)" title becomes the .TH line
# and each heading moves up one level (## NAME is a section, ### a
# subsection).
#   scripts/man.sh VERSION < docs/s2emu.md > s2emu.1
set -eu
command -v go-md2man >/dev/null || {
    echo "man.sh: go-md2man is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
{
    printf '%% S2EMU 1 "" "s2emu %s" "s2emu manual"\n' "$1"
    sed -e '1{/^# s2emu(1)$/d;}' -e 's/^## /# /' -e 's/^### /## /'
} | go-md2man
