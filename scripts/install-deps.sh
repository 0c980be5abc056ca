#!/bin/sh
# Installs everything s2emu's build, tests and benchmarks need from Debian
# packages. Idempotent: packages already present are left alone.
set -eu
PKGS="build-essential pkg-config clang valgrind libcmocka-dev libunicorn-dev \
libcapstone-dev binutils-aarch64-linux-gnu libclang-rt-dev chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
