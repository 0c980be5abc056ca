#!/usr/bin/env bash
# scripts/capture/run.sh: take real KVM captures with the shared capture kit
# plus the project's own changes to it, from a clone of the repository.
#
#   scripts/capture/run.sh --setup                 host packages and arm64 payloads (root, once)
#   scripts/capture/run.sh [--add PREFIX] TAG SCENARIOS [KVM-ARM-MODE]
#
# The kit (KIT, default ../shared/capture from the repository's root) is
# read-only: it is copied to a temporary directory, this directory's patches
# are applied to the copy (init.patch: the s2emu-host marker, lean event
# sets for the `_lean` scenarios (with kvm_entry and kvm_exit for
# `_entry_lean`), and the project's scenarios simul4, htlb,
# unmapload, reclaimload; kvmrun.patch: the VMM options those need), the VMM,
# the raw guest and the initramfs are built there, and the kit's boot.sh runs
# the scenarios (a comma-separated list, as the kit's README says) under
# qemu. CPU=cortex-a57 gives the nVHE host; TIMEOUT caps qemu.
#
# Downloaded packages and the extracted kernel stay in CACHE (default
# $HOME/.cache/s2emu-capture); a run's output lands in OUT/TAG (default
# CACHE/out/TAG). With --add PREFIX, every scenario's trace is then kept in
# traces/real/ as PREFIX-SCENARIO.trace.xz with its facts
# (scripts/real-facts.sh); differences from s2emu go in a .known file by
# hand, after `scripts/fidelity.sh PREFIX-SCENARIO` (docs/fidelity.md).
#
# A qemu run keeps both cores of this machine busy for minutes: run one at
# a time.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/scripts/capture
KIT=${KIT:-$root/../shared/capture}
CACHE=${CACHE:-$HOME/.cache/s2emu-capture}
KVER=6.12.117+deb12-arm64

die() { echo "capture: $*" >&2; exit 2; }

setup() {
    apt-get update
    apt-get install -y qemu-system-arm gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu \
        device-tree-compiler cpio xz-utils python3 patch
    dpkg --add-architecture arm64 && apt-get update
    mkdir -p "$CACHE" && cd "$CACHE"
    apt-get download "linux-image-$KVER:arm64" busybox-static:arm64
    rm -rf kpkg bb mods
    dpkg-deb -x linux-image-"$KVER"_*_arm64.deb kpkg
    dpkg-deb -x busybox-static_*_arm64.deb bb
    mkdir -p mods
    xz -dc "kpkg/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko.xz" >mods/virtio_blk.ko
}

if [ "${1:-}" = --setup ]; then setup; exit 0; fi
add=
if [ "${1:-}" = --add ]; then add=${2:?--add needs a prefix}; shift 2; fi
[ $# -ge 2 ] || die "usage: run.sh --setup | run.sh [--add PREFIX] TAG SCENARIOS [KVM-ARM-MODE]"
tag=$1 scen=$2 mode=${3:-}
[ -f "$KIT/boot.sh" ] || die "no capture kit at $KIT (set KIT)"
[ -f "$CACHE/kpkg/boot/vmlinuz-$KVER" ] || die "no payloads in $CACHE: run scripts/capture/run.sh --setup"
for c in qemu-system-aarch64 aarch64-linux-gnu-gcc dtc cpio patch xz; do
    command -v $c >/dev/null || die "$c missing: run scripts/capture/run.sh --setup"
done
OUT=${OUT:-$CACHE/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a "$KIT/." "$work/"
chmod -R u+w "$work"
for p in "$here"/*.patch; do patch -s -d "$work" -p1 <"$p"; done
ln -s "$CACHE/kpkg" "$work/kpkg"
ln -s "$CACHE/bb" "$work/bb"
ln -s "$CACHE/mods" "$work/mods"

# The kit's build steps (its README's set-up).
cd "$work"
mkdir -p build
aarch64-linux-gnu-gcc -static -O2 -Wall -o build/kvmrun src/kvmrun.c -lpthread
(cd build && aarch64-linux-gnu-as ../src/guest.S -o guest.o &&
    aarch64-linux-gnu-ld -Ttext=0 -o guest.elf guest.o &&
    aarch64-linux-gnu-objcopy -O binary guest.elf guest.bin)
dtc -I dts -O dtb -o build/guest-linux.dtb src/guest-linux.dts
dtc -I dts -O dtb -o build/guest-linux-wl.dtb src/guest-linux-wl.dts
G=build/guest-rootfs
mkdir -p $G/bin $G/dev $G/proc $G/mnt
cp bb/bin/busybox $G/bin/busybox && install -m 755 src/guest-init $G/init
mknod -m 600 $G/dev/console c 5 1
(cd $G && find . | cpio -o -H newc 2>/dev/null) >build/guest-initrd.cpio
[ "$(stat -c %s build/guest-initrd.cpio)" -le 1848832 ] ||
    die "guest initramfs is bigger than src/guest-linux-wl.dts's initrd-end allows"
./mkinitrd.sh >/dev/null

rm -rf "${OUT:?}/$tag"
OUTROOT=$OUT ./boot.sh "$tag" "$scen" ${mode:+"$mode"}
grep -q '=== DONE' "$OUT/$tag/console.log" || die "the run did not finish: see $OUT/$tag/console.log"
echo "capture: output in $OUT/$tag"

[ -n "$add" ] || exit 0
cd "$root"
for s in $(echo "$scen" | tr ',' ' '); do
    t=$OUT/$tag/${s%_lean}.trace
    [ -f "$t" ] || die "$s: no trace in $OUT/$tag"
    xz -9 -T1 -c "$t" >"traces/real/$add-$s.trace.xz"
    scripts/real-facts.sh "traces/real/$add-$s.trace.xz" "traces/real/$add-$s.facts"
    echo "capture: traces/real/$add-$s.trace.xz ($(stat -c %s "traces/real/$add-$s.trace.xz") bytes)"
done
