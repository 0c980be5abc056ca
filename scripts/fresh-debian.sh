#!/usr/bin/env bash
# Checks the README's set-up on a fresh machine: builds a minbase Debian 12
# (bookworm) chroot with debootstrap, clones this repository's committed
# HEAD into it, and runs the README's two set-up commands there, each in a
# clean clone:
#
#   scripts/install-deps.sh && make && build/s2emu replay traces/corpus/*.s2t
#   scripts/install-deps.sh && make test
#
# With --ci it then runs what CI runs (.ci/run: make check, the fuzz smoke
# test) and `make bench` in the second clone. Prints PASS or FAIL per step
# with the tail of the failing log; every log is kept in the log directory.
# Exit 0 when every step passed, 1 when one failed, 2 on usage or set-up
# errors. Needs root (chroot, mount); installs debootstrap from Debian when
# it is missing. Uncommitted changes are not tested: commit first.
#
#   scripts/fresh-debian.sh [--ci] [--keep] [--logs DIR]
#
#   --ci        also .ci/run and make bench
#   --keep      leave the chroot in place (its path is printed)
#   --logs DIR  where the logs go (default: a new directory under /tmp)
#   MIRROR=URL  the Debian mirror (default http://deb.debian.org/debian)
#   S2EMU_FRESH_CACHE=DIR  downloaded .debs are kept there between runs
#               (default /var/cache/s2emu-fresh; "none" disables it)
set -euo pipefail
# The whole script is one block, read before it runs: editing the file while
# a run is under way cannot change what that run does.
{
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
ci=0; keep=0; logs=""
while [ $# -gt 0 ]; do
    case $1 in
    --ci) ci=1 ;;
    --keep) keep=1 ;;
    --logs) [ $# -ge 2 ] || { echo "fresh-debian: --logs needs a directory" >&2; exit 2; }
            logs=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fresh-debian: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
    shift
done

repo=$(cd "$(dirname "$0")/.." && git rev-parse --show-toplevel)
head=$(git -C "$repo" rev-parse HEAD)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
cache=${S2EMU_FRESH_CACHE:-/var/cache/s2emu-fresh}
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
    echo "fresh-debian: note: uncommitted changes are not tested (HEAD ${head:0:12} is)"
fi
if ! command -v debootstrap >/dev/null; then
    echo "fresh-debian: installing debootstrap"
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends debootstrap \
        || { echo "fresh-debian: could not install debootstrap" >&2; exit 2; }
fi

[ -n "$logs" ] || logs=$(mktemp -d /tmp/s2emu-fresh-logs.XXXXXX)
mkdir -p "$logs"
root=$(mktemp -d /var/tmp/s2emu-fresh.XXXXXX)
mounts=()

# Unmounts in reverse order; removes the chroot only when nothing is still
# mounted under it (a bind mount of /dev must never be deleted through).
cleanup() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
    done
    mounts=()
    if [ "$keep" -eq 1 ]; then
        echo "fresh-debian: chroot kept at $root"
    elif grep -q " $root/" /proc/self/mounts; then
        echo "fresh-debian: something is still mounted under $root; not removing it" >&2
    else
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT
# Long steps run in their own process group, waited for, so that an
# interrupt stops the whole step at once (then the clean-up runs).
child=""
on_signal() {
    if [ -n "$child" ]; then
        kill -TERM -- "-$child" 2>/dev/null || true
        sleep 2
        kill -KILL -- "-$child" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    exit 130
}
trap on_signal INT TERM
runwait() {
    setsid "$@" &
    child=$!
    local rc=0
    wait "$child" || rc=$?
    child=""
    return "$rc"
}

mnt() {   # mnt TARGET MOUNT-ARGS...
    local target=$1; shift
    mkdir -p "$target"
    mount "$@" "$target"
    mounts+=("$target")
}

echo "fresh-debian: chroot $root, logs $logs, testing ${head:0:12}"
echo "fresh-debian: debootstrap --variant=minbase bookworm ($MIRROR)"
dbargs=(--variant=minbase)
if [ "$cache" != none ]; then
    mkdir -p "$cache/debootstrap" "$cache/apt/partial"
    dbargs+=(--cache-dir="$cache/debootstrap")
    # One run at a time uses the cache (apt in two chroots would fight over
    # its lock); a second run waits.
    exec 8>"$cache/.lock"
    if ! flock -n 8; then
        echo "fresh-debian: waiting for another run that uses $cache"
        flock 8
    fi
fi
if ! runwait debootstrap "${dbargs[@]}" bookworm "$root" "$MIRROR" >"$logs/debootstrap.log" 2>&1; then
    tail -20 "$logs/debootstrap.log"
    echo "fresh-debian: FAIL debootstrap (log $logs/debootstrap.log)"
    exit 2
fi
# As an installed system has them: the point releases and security updates.
cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mnt "$root/proc" -t proc proc
mnt "$root/sys" -t sysfs sysfs
mnt "$root/dev" --bind /dev
mnt "$root/dev/pts" -t devpts devpts
if [ "$cache" != none ]; then
    mnt "$root/var/cache/apt/archives" --bind "$cache/apt"
fi

# Two clean clones of HEAD (git is the host's: the fresh system has none).
for c in a b; do
    git clone -q --no-checkout "$repo" "$root/root/s2emu-$c"
    git -C "$root/root/s2emu-$c" checkout -q --detach "$head"
done

failed=0
step() {   # step NAME CLONE COMMAND
    local name=$1 clone=$2 cmd=$3 log="$logs/$1.log" t0=$SECONDS
    echo "fresh-debian: [$name] $cmd"
    if runwait chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/s2emu-$clone && $cmd" >"$log" 2>&1; then
        echo "fresh-debian: PASS $name ($((SECONDS - t0))s)"
    else
        echo "fresh-debian: FAIL $name ($((SECONDS - t0))s); last lines of $log:"
        tail -25 "$log" | sed 's/^/    /'
        failed=1
    fi
}

step replay a 'scripts/install-deps.sh && make && build/s2emu replay traces/corpus/*.s2t'
step test b 'scripts/install-deps.sh && make test'
if [ "$ci" -eq 1 ]; then
    step ci b '.ci/run'
    step bench b 'make bench'
fi

if [ "$failed" -eq 0 ]; then
    echo "fresh-debian: all steps passed on a fresh Debian 12 (logs $logs)"
else
    echo "fresh-debian: FAILED (logs $logs)"
fi
exit "$failed"
}
