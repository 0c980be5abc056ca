#!/usr/bin/env bash
# Build casemate's offline checker (rems-project/casemate,
# src/casemate-check-c) with -O2 and no sanitizers, as build/casemate-check,
# for `make bench` to compare against (effect.ratio_to_casemate).
#
#   scripts/build-casemate-check.sh CASEMATE   # a checkout, or a bare git directory
#
# The casemate tree is copied to a temporary directory and built there
# with its own Makefile (clang by default; CC=gcc to change).
set -euo pipefail

src=${1:?usage: scripts/build-casemate-check.sh CASEMATE_DIR}
out=$(pwd)/build/casemate-check
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -f "$src/HEAD" ] && [ -d "$src/objects" ]; then
	git -C "$src" archive HEAD | tar -x -C "$tmp"	# a bare repository
else
	cp -r "$src/." "$tmp"
fi
cd "$tmp"
# Optimised, without the address sanitizer the default configuration adds.
sed -i 's/^CONFIG_SAN=.*/CONFIG_SAN=n/; s/^CONFIG_OPT=.*/CONFIG_OPT=y/' configs/DEFAULT
./configure --cc="${CC:-clang}" >/dev/null 2>&1
make casemate-lib >/dev/null
make casemate-check >/dev/null
mkdir -p "$(dirname "$out")"
cp src/casemate-check-c/casemate-check "$out"
echo "built $out"
