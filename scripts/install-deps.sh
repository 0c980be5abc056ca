#!/bin/sh
# Installs everything s2emu's build, tests, benchmarks, fuzz smoke test and
# `make install` need from Debian packages. Idempotent: packages already
# present are left alone. When another apt or dpkg holds the package
# manager's locks it waits (up to S2EMU_APT_WAIT seconds, default 900)
# instead of failing.
#
#   build-essential pkg-config   the build (gcc, make, ar)
#   clang libclang-rt-dev        the clang build and the libFuzzer smoke test
#   libcmocka-dev                the unit tests
#   libunicorn-dev libcapstone-dev   guest/ (run-guest, guest-code traces)
#   binutils-aarch64-linux-gnu   the example guests (guests/*.S)
#   valgrind                     memory checks of the tests
#   python3                      tests/cli/*.sh check JSON output with it
#   go-md2man                    the man page s2emu(1) built from docs/s2emu.md
#   chromium                     the report test renders the HTML page headless
#   xz-utils                     the real captures in traces/real/ (make test, make fidelity)
set -eu
PKGS="build-essential pkg-config clang valgrind libcmocka-dev libunicorn-dev \
libcapstone-dev binutils-aarch64-linux-gnu libclang-rt-dev chromium python3 go-md2man \
xz-utils"
WAIT=${S2EMU_APT_WAIT:-900}
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
# env: sudo would drop an exported DEBIAN_FRONTEND
APT="$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=$WAIT"

# apt-get install waits for dpkg's locks itself (DPkg::Lock::Timeout);
# apt-get update does not wait for the lists lock, so it is retried while
# the only complaint is a held lock.
update() {
    waited=0
    while :; do
        if err=$($APT update -qq 2>&1); then
            return 0
        fi
        case $err in
        *"Could not get lock"*|*"Unable to lock"*|*"is another process using it"*)
            if [ "$waited" -ge "$WAIT" ]; then
                printf '%s\n' "$err" >&2
                echo "install-deps: the package lists stayed locked for ${WAIT}s" >&2
                return 1
            fi
            [ "$waited" -gt 0 ] || echo "install-deps: waiting for another package manager to finish"
            sleep 5; waited=$((waited + 5)) ;;
        *)
            printf '%s\n' "$err" >&2
            return 1 ;;
        esac
    done
}

echo "install-deps: installing$missing"
update
# shellcheck disable=SC2086 # the package list is meant to split
$APT install -y -qq --no-install-recommends $missing
