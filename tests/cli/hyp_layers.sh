#!/usr/bin/env bash
# Inside hyp-model the machine's parts call in one direction: the machine
# (machine.c, hwwalk.c) below KVM (kvm.c, mmops.c) and the driven vCPUs
# (driver.c), the scheduler (sched.c) on top. A part may include the
# internal header of its own level and those below, never one above; the
# check passes on the tree and fails, naming FILE:LINE, on a wrong include.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# FILE: the internal headers it must not include.
forbidden() {
    case $1 in
    machine.c|hwwalk.c|footprint.c) echo "s2hyp_kvm.h s2hyp_driver.h s2hyp_sched.h" ;;
    kvm.c|mmops.c) echo "s2hyp_driver.h s2hyp_sched.h" ;;
    driver.c) echo "s2hyp_kvm.h s2hyp_sched.h" ;;
    s2hyp_internal.h) echo "s2hyp_kvm.h s2hyp_driver.h s2hyp_sched.h" ;;
    esac
}

# check DIR: prints FILE:LINE: problem for each wrong include, exits 1 if any.
check() {
    local bad=0 f h
    for f in machine.c hwwalk.c footprint.c kvm.c mmops.c driver.c s2hyp_internal.h; do
        [ -r "$1/$f" ] || continue
        for h in $(forbidden "$f"); do
            if grep -n "#include \"hyp-model/$h\"" "$1/$f" >"$tmp/hits"; then
                while IFS=: read -r ln _; do
                    echo "hyp-model/$f:$ln: includes $h, a part above it"
                done <"$tmp/hits"
                bad=1
            fi
        done
    done
    return $bad
}

check hyp-model >"$tmp/out" || { echo "hyp_layers: the tree fails:"; cat "$tmp/out"; fail=1; }

mkdir "$tmp/t"
cp hyp-model/*.c hyp-model/*.h "$tmp/t/"
printf '#include "hyp-model/s2hyp_sched.h"\n' >>"$tmp/t/kvm.c"
n=$(wc -l <"$tmp/t/kvm.c")
if check "$tmp/t" >"$tmp/out"; then
    echo "hyp_layers: kvm.c including the scheduler passed"; fail=1
elif ! grep -q "^hyp-model/kvm.c:$n: includes s2hyp_sched.h" "$tmp/out"; then
    echo "hyp_layers: wrong report:"; cat "$tmp/out"; fail=1
fi
exit $fail
