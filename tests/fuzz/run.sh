#!/usr/bin/env bash
# run.sh - build the libFuzzer targets with clang into build-fuzz and run each
# for a while.
#
# Usage: tests/fuzz/run.sh [SECONDS] [NAME ...]
#   SECONDS  per-target run time (default 20)
#   NAME     targets to run, e.g. fuzz_yaml or yaml (default: every tests/fuzz/fuzz_*.c)
# Corpus: new inputs go to tests/fuzz/corpus-<name>/ (gitignored); seeds are read
# from tests/fuzz/seeds/<name>/ (name without the fuzz_ prefix, or with it) when
# present; tests/fuzz/<name>.dict is passed as -dict when present.  Crash inputs
# land in build-fuzz/artifacts/.  Exits 1 if any target found a crash.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${BUILD_FUZZ:-$root/build-fuzz}"
secs="${1:-20}"
shift || true

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found (libFuzzer needs clang)" >&2
    exit 2
fi

names=()
if [ $# -gt 0 ]; then
    for n in "$@"; do
        n="${n%.c}"; n="${n#fuzz_}"
        names+=("fuzz_$n")
    done
else
    for f in "$here"/fuzz_*.c; do
        [ -e "$f" ] || continue
        b="$(basename "$f" .c)"
        names+=("$b")
    done
fi
if [ ${#names[@]} -eq 0 ]; then
    echo "fuzz: no tests/fuzz/fuzz_*.c targets yet" >&2
    exit 0
fi

CC=clang cmake -S "$root" -B "$build" -DCDBT_FUZZ=ON -DCDBT_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${names[@]}" -j2

mkdir -p "$build/artifacts"
failed=()
for t in "${names[@]}"; do
    short="${t#fuzz_}"
    corpus="$here/corpus-$short"
    mkdir -p "$corpus"
    args=("-max_total_time=$secs" "-artifact_prefix=$build/artifacts/$t-" "-print_final_stats=1")
    [ -f "$here/$short.dict" ] && args+=("-dict=$here/$short.dict")
    [ -f "$here/$t.dict" ] && args+=("-dict=$here/$t.dict")
    dirs=("$corpus")
    [ -d "$here/seeds/$short" ] && dirs+=("$here/seeds/$short")
    [ -d "$here/seeds/$t" ] && dirs+=("$here/seeds/$t")
    bin="$build/tests/fuzz/$t"
    echo "== $t for ${secs}s (corpus ${dirs[*]})"
    if ! ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" "$bin" "${args[@]}" "${dirs[@]}"; then
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (inputs in $build/artifacts/)" >&2
    exit 1
fi
echo "fuzz: all ${#names[@]} target(s) ran ${secs}s without a crash"
