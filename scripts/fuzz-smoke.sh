#!/usr/bin/env bash
# Builds every tests/fuzz/NAME_fuzz.c as a libFuzzer binary with ASan and
# UBSan, linked against the library sources instrumented the same way, and
# runs each for a short time on its seed corpus tests/fuzz/corpus/NAME/
# (with tests/fuzz/NAME.dict as its dictionary when there is one).
# New inputs go to build/fuzz/corpus/NAME (the seeds are only read); a
# crash, leak, sanitizer report or timeout fails the script and leaves the
# input in build/fuzz/.
#
#   scripts/fuzz-smoke.sh               every harness, 10 seconds each
#   scripts/fuzz-smoke.sh ftrace        only tests/fuzz/ftrace_fuzz.c
#   FUZZ_TIME=60 scripts/fuzz-smoke.sh  longer
#   CLANG=clang-16 scripts/fuzz-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG=${CLANG:-clang}
FUZZ_TIME=${FUZZ_TIME:-10}
OUT=build/fuzz
# Every module in layers.txt (the one list of modules), bottom up.
MODULES=$(scripts/layers.sh mk | sed -n "s/^LAYER_MODULES := //p")
EMU_CFLAGS=$(pkg-config --cflags unicorn capstone 2>/dev/null || true)
EMU_LIBS=$(pkg-config --libs unicorn capstone 2>/dev/null || echo "-lunicorn -lcapstone")
# Warnings are the normal builds' business (-Werror there); here they would
# only stop the fuzzer over a compiler difference.
CFLAGS="-std=c11 -D_DEFAULT_SOURCE -I. -DS2EMU_VERSION=\"fuzz\" -g -O1 -fno-omit-frame-pointer $EMU_CFLAGS"
SAN="address,undefined"

command -v "$CLANG" >/dev/null || { echo "fuzz-smoke: no $CLANG (scripts/install-deps.sh)" >&2; exit 1; }
mkdir -p "$OUT/obj"
probe="$OUT/probe.c"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }' >"$probe"
if ! "$CLANG" -fsanitize=fuzzer,$SAN "$probe" -o "$OUT/probe" 2>"$OUT/probe.err"; then
    echo "fuzz-smoke: $CLANG cannot link libFuzzer (Debian: libclang-rt-dev;" \
         "scripts/install-deps.sh installs it):" >&2
    cat "$OUT/probe.err" >&2
    exit 1
fi

# The library, instrumented for coverage without libFuzzer's main.
objs=()
for src in $(for m in $MODULES; do ls "$m"/*.c 2>/dev/null; done); do
    obj="$OUT/obj/${src%.c}.o"
    mkdir -p "$(dirname "$obj")"
    if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find "${src%/*}" -name '*.h' -newer "$obj")" ]; then
        echo "  CC      $src"
        "$CLANG" $CFLAGS -fsanitize=fuzzer-no-link,$SAN -c "$src" -o "$obj"
    fi
    objs+=("$obj")
done
rm -f "$OUT/libs2emu-fuzz.a"
ar rcs "$OUT/libs2emu-fuzz.a" "${objs[@]}"

status=0
for harness in tests/fuzz/*_fuzz.c; do
    [ -e "$harness" ] || continue
    name=$(basename "$harness" _fuzz.c)
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
        continue
    fi
    bin="$OUT/${name}_fuzz"
    echo "  LD      $bin"
    "$CLANG" $CFLAGS -fsanitize=fuzzer,$SAN "$harness" "$OUT/libs2emu-fuzz.a" $EMU_LIBS -lpthread -lm -o "$bin"
    work="$OUT/corpus/$name"
    mkdir -p "$work"
    seeds=()
    [ -d "tests/fuzz/corpus/$name" ] && seeds+=("tests/fuzz/corpus/$name")
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict+=("-dict=../../tests/fuzz/$name.dict")
    echo "  FUZZ    $name for ${FUZZ_TIME}s"
    if ! (cd "$OUT" && "./${name}_fuzz" -max_total_time="$FUZZ_TIME" -timeout=10 \
              -print_final_stats=1 "${dict[@]}" "corpus/$name" "${seeds[@]/#/../../}") \
              >"$OUT/$name.log" 2>&1; then
        echo "fuzz-smoke: $name failed; the end of $OUT/$name.log:" >&2
        tail -30 "$OUT/$name.log" >&2
        status=1
        continue
    fi
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$OUT/$name.log" \
        | sed "s/^/  $name: /"
done
exit $status
