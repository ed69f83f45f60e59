#!/usr/bin/env bash
# cache_bench.sh - what the parse cache (target/cdbt.db) buys on a synthetic
# project (gen_project.py): cold (--no-partial-parse) vs nothing changed vs
# one model changed vs a macro used by every model changed, for `cdbt parse`
# and `cdbt compile`.  Each scenario starts from a warm cache holding the
# previous state.  "one model" appends a comment to one model; "macro" edits
# the SQL cents_to_dollars emits (text between its tags: the models only
# print it, so none is re-parsed, README "Editing the SQL a macro emits");
# "macro_tags" edits inside its tags ({{ scale }} becomes {{ scale or N }},
# N new at every edit: an edit never seen before, so no parse-cache entry
# can match), which re-parses every model.  Each edit is followed by a 0.1 s pause (not
# timed), as a person editing would leave: an input changed within ~50 ms of
# a run is "racy" and keeps that run from storing its snapshot.
#
# Usage: bench/cache_bench.sh [path/to/cdbt] [N]     (default build/cdbt, 10000)
# Env:   RUNS (measured runs per cell, default 3; the best wall time is kept,
#        with the CPU time of that run), SEED (generator seed, 42),
#        BENCH_OUT (project root, default bench/out).
# Prints one row per command and scenario: best wall s, its user+sys CPU s,
# and the ratio of CPU to the cold run.  On a loaded machine compare CPU.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cdbt="$(realpath "${1:-$root/build/cdbt}")"
n="${2:-10000}"
runs="${RUNS:-3}"
seed="${SEED:-42}"
out="${BENCH_OUT:-$here/out}"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
[ -x "$cdbt" ] || { echo "cache_bench: no cdbt binary at $cdbt" >&2; exit 2; }

proj="$out/cache_$n"
mkdir -p "$out"
"$py" "$here/gen_project.py" --models "$n" --out "$proj" --seed "$seed" >/dev/null
cd "$proj"
model=$(find models -name 'model_*.sql' | sort | sed -n 1p)
macro=macros/cents_to_dollars.sql
grep -q '/ 100)' "$macro" && grep -q 'numeric(16, {{ scale }})' "$macro" || { echo "cache_bench: unexpected $macro" >&2; exit 2; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
edit=0

# run_once <cmd> [flags...]: prints "wall cpu"
run_once() {
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S' -o "$tmp" "$cdbt" "$@" --project-dir . --profiles-dir . -q >/dev/null
    t1=$(date +%s%N)
    awk -v w="$(( (t1 - t0) / 1000000 ))" '{ printf "%.3f %.3f\n", w / 1000, $1 + $2 }' "$tmp"
}

prepare() {   # prepare <scenario>: the change made before each measured run
    edit=$((edit + 1))
    case ${1%_cold} in
    cold|nochange) ;;
    one_model) printf -- '-- bench edit %d\n' "$edit" >> "$model" ;;
    macro) sed -i -E "s#/ 1[0-9]*\)#/ 1$edit)#" "$macro" ;;
    macro_tags) sed -i -E "s/numeric\(16, \{\{[^}]*\}\}\)/numeric(16, {{ scale or $$$edit }})/" "$macro" ;;
    esac
    sleep 0.1
}

measure() {   # measure <cmd> <scenario>
    local cmd=$1 sc=$2 best="" bestcpu="" extra=()
    case $sc in cold|*_cold) extra=(--no-partial-parse) ;; esac
    prepare nochange; run_once "$cmd" >/dev/null           # warm: the cache holds the current state
    for _ in $(seq "$runs"); do
        prepare "$sc"
        read -r w c < <(run_once "$cmd" "${extra[@]}")
        if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$w; bestcpu=$c
        fi
    done
    echo "$best $bestcpu"
}

# *_cold: the same edit, measured with --no-partial-parse (what the cache
# competes with after that edit: the compiled files change either way).
printf '%-8s %-14s %9s %9s %9s\n' command scenario wall_s cpu_s cpu/cold
for cmd in parse compile; do
    cold=""
    for sc in cold nochange one_model one_model_cold macro macro_cold macro_tags macro_tags_cold; do
        read -r w c < <(measure "$cmd" "$sc")
        [ -z "$cold" ] && cold=$c
        num=$c; den=$cold
        case $sc in *_cold) num=$prev; den=$c ;; esac
        printf '%-8s %-14s %9s %9s %9s\n' "$cmd" "$sc" "$w" "$c" "$(awk -v a="$num" -v b="$den" 'BEGIN { printf "%.2f", a / b }')"
        prev=$c
    done
done
echo "(cpu/cold of a *_cold row: the row above divided by it, i.e. cached / cold after the same edit)"

# Where the time goes (CPU of each phase, from --debug; less noisy than the
# totals above, which include writing manifest.json / compiled files).
echo
echo "parse phases (cpu s), one run each, --no-write-json:"
for sc in cold nochange one_model macro macro_tags; do
    extra=()
    [ "$sc" = cold ] && extra=(--no-partial-parse)
    "$cdbt" parse --project-dir . --profiles-dir . -q --no-write-json >/dev/null 2>&1
    prepare "$sc"
    line=$("$cdbt" parse --project-dir . --profiles-dir . -q --no-write-json --debug "${extra[@]}" 2>&1 | grep '^cdbt timing' || true)
    printf '%-10s %s\n' "$sc" "${line#cdbt timing (cpu s): }"
done
