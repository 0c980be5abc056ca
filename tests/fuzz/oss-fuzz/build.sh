#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzz build script for s2emu's libFuzzer harnesses, in
# their layout: the builder provides $CC, $CFLAGS (sanitizer and coverage
# flags), $LIB_FUZZING_ENGINE (-fsanitize=fuzzer, or a driver) and $OUT, and
# runs this from the source tree. The builder image needs pkg-config,
# libunicorn-dev and libcapstone-dev (guest code and disassembly are part of
# the library). Every tests/fuzz/NAME_fuzz.c becomes $OUT/NAME_fuzz, with
# $OUT/NAME_fuzz.dict when tests/fuzz/NAME.dict exists and
# $OUT/NAME_fuzz_seed_corpus.zip from tests/fuzz/corpus/NAME/.
# Locally, with clang's libFuzzer:
#   CC=clang CFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=build/oss-fuzz tests/fuzz/oss-fuzz/build.sh
cd "$(dirname "$0")/../../.."
: "${CC:=clang}" "${CFLAGS:=}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}" "${OUT:=build/oss-fuzz}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

EMU_CFLAGS=$(pkg-config --cflags unicorn capstone)
EMU_LIBS=$(pkg-config --libs unicorn capstone)
FLAGS="-std=c11 -D_DEFAULT_SOURCE -I. -DS2EMU_VERSION=\"oss-fuzz\" $EMU_CFLAGS"
# Every module of layers.txt (the one list of modules), bottom up.
MODULES=$(scripts/layers.sh mk | sed -n "s/^LAYER_MODULES := //p")

objs=()
for src in $(for m in $MODULES; do ls "$m"/*.c 2>/dev/null || true; done); do
    obj="$work/${src%.c}.o"
    mkdir -p "$(dirname "$obj")"
    # shellcheck disable=SC2086
    $CC $CFLAGS $FLAGS -c "$src" -o "$obj"
    objs+=("$obj")
done
ar rcs "$work/libs2emu.a" "${objs[@]}"

for harness in tests/fuzz/*_fuzz.c; do
    name=$(basename "$harness" _fuzz.c)
    # shellcheck disable=SC2086
    $CC $CFLAGS $FLAGS "$harness" "$work/libs2emu.a" $LIB_FUZZING_ENGINE $EMU_LIBS \
        -lpthread -lm -o "$OUT/${name}_fuzz"
    [ -f "tests/fuzz/$name.dict" ] && cp "tests/fuzz/$name.dict" "$OUT/${name}_fuzz.dict"
    corpus="tests/fuzz/corpus/$name"
    if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ] && command -v zip >/dev/null; then
        rm -f "$OUT/${name}_fuzz_seed_corpus.zip"
        (cd "$corpus" && zip -q -r "$OUT/${name}_fuzz_seed_corpus.zip" .)
    fi
done
echo "build.sh: $(ls "$OUT"/*_fuzz | wc -l) harnesses in $OUT"
