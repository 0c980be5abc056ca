#!/usr/bin/env bash
# Real captures of Linux 6.12 KVM (traces/real/, listed in traces/real/TEST)
# import as captured and replay with the kernel's counts: faults per class,
# level and access in every section, and for function-traced captures the
# calls (maps, tables, breaks, makes, puts, TLBIs by kind, CMOs), equal, or
# differing only as traces/real/NAME.known explains; no rule fires.
set -u
S2EMU=${S2EMU:-build/s2emu}
export S2EMU
names=$(grep -v '^#' traces/real/TEST)
# shellcheck disable=SC2086
out=$(scripts/fidelity.sh $names 2>&1) || { echo "$out"; exit 1; }
# Each capture compared something.
for n in $names; do
    grep -q "^$n pass1 fault\." <<<"$out" || { echo "real_traces.sh: $n compared no fault"; exit 1; }
done
exit 0
