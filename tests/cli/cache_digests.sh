#!/usr/bin/env bash
# cache_digests.sh - a full compile after the last one of the same command
# line (a macro edited, say) does not read the compiled files whose stat is
# what that run recorded: the digests stored with its snapshot
# (snapshot_digests, src/cache/cache_snap.c) tell whether each still holds
# what is about to be written.  Whatever the writer skips, the compiled files
# must be what a cold compile writes: after an edit by another program
# (same size, in place), after another cdbt command line rewrote them, with
# an unreadable digests row, and after a delta run rewrote one.
set -u
CDBT=$(realpath "${1:?usage: cache_digests.sh path/to/cdbt}")
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/tests/fixtures/projects/jaffle" "$W/p"
rm -rf "$W/p/target"
cd "$W/p"
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
expect() {  # expect <what> <expected> <actual>
    if [ "$2" = "$3" ]; then ok; else bad "$1"; printf '  expected: %s\n  actual:   %s\n' "$2" "$3"; fi
}
C() { "$CDBT" "$@" --project-dir . --profiles-dir .; }
settle() { sleep 0.15; }     # inputs changed within the racy margin are not snapshotted
scale=100
edit_macro() {               # a new divisor in the macro stg_payments prints
    local next=$((scale + 1))
    sed -i "s|/ $scale)|/ $next)|" macros/cents_to_dollars.sql
    scale=$next
    settle
}
same_as_cold() {             # same_as_cold <what>: target/compiled equals a cold compile's
    rm -rf "$W/cold"
    C compile -q --no-partial-parse --target-path "$W/cold" >/dev/null 2>&1
    if diff -r target/compiled "$W/cold/compiled" >/dev/null 2>&1; then ok; else
        bad "$1: compiled files differ from a cold compile"; diff -r target/compiled "$W/cold/compiled" | head -5
    fi
}
# D: compile --debug; prints "<vouched> <known>" or the reason no digests were used
# V <what> <vouched> <known...>: D's numbers, exactly that many vouched and
# one of the known counts given (a file written in the last clock ticks
# before the store has no digest; how many that is depends on the
# machine's speed, so the file rewritten last may or may not be known)
V() {
    local what=$1 want=$2; shift 2
    local r; r=$(D)
    local v=${r%% *} k=${r##* }
    if [ "$v" != "$want" ]; then bad "$what: vouched"; printf '  expected: %s\n  actual:   %s\n' "$want" "$r"; return; fi
    for x in "$@"; do [ "$k" = "$x" ] && { ok; return; }; done
    bad "$what: known"; printf '  expected one of: %s\n  actual:   %s\n' "$*" "$r"
}
D() {
    local out
    out=$(C compile --debug 2>&1) || { echo "failed: $out"; return; }
    local re1='([0-9]+) compiled files unchanged by their stat and digest \(not read\), of ([0-9]+) known'
    if [[ $out =~ $re1 ]]; then
        echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
    elif [[ $out == *"compiled files will be read ("* ]]; then
        local line
        line=$(grep -o 'compiled files will be read (.*)$' <<<"$out")
        line=${line#compiled files will be read (}
        echo "read: ${line%)}"
    else
        echo "none"
    fi
}

settle
expect "first compile: no cache yet" "none" "$(D)"
settle
expect "second compile: nothing changed, outputs reused" "none" "$(D)"
n=$(find target/compiled -type f | wc -l)
[ "$n" -gt 10 ] && ok || bad "expected the fixture's compiled files, found $n"

# The first compile wrote every file within the last clock ticks before it
# stored the snapshot: no digest is trusted (another program's write in the
# same tick would not show in the stat)
edit_macro
r=$(D)
case $r in
    "read: no digest stored: every compiled file was written in the last clock ticks before the snapshot") ok ;;
    [0-9]*) ok ;;            # a slow machine (sanitizers): some were older than the margin
    *) bad "first full compile after the snapshot: $r" ;;
esac
# that run kept every file but stg_payments': their digests are stored now;
# the next macro edit settles all of them without reading
edit_macro
V "macro edited: all but one file unchanged by stat and digest" $((n - 1)) $((n - 1)) $n
grep -q "/ $scale)" target/compiled/jaffle/models/staging/stg_payments.sql && ok || bad "stg_payments not rewritten"
same_as_cold "after a macro edit"

# another program rewrites a test's compiled file in place, same size
t=$(find target/compiled -path '*_stg_models.yml/*' -name 'not_null*' | head -1)
[ -n "$t" ] && ok || bad "no compiled test file found"
good=$(cat "$t")
tr 'a-y' 'b-z' < "$t" > "$W/garbled" && cat "$W/garbled" > "$t"
[ "$(cat "$t")" != "$good" ] && ok || bad "the file was not garbled"
edit_macro
V "a file edited since: read, not vouched" $((n - 2)) $((n - 1)) $n
expect "the edited file holds the compiled SQL again" "$good" "$(cat "$t")"
same_as_cold "after another program's edit"

# another cdbt command line rewrote outputs since (target/cdbt.stamp)
settle
C compile -q --vars '{unused_var: 1}' >/dev/null 2>&1 || bad "compile with --vars"
edit_macro
expect "another command line ran since: digests not used" \
    "read: another cdbt run wrote outputs (target/) since" "$(D)"
same_as_cold "after another command line"
edit_macro
V "and used again by the next run" $((n - 1)) $((n - 1)) $n

# an unreadable digests row: not used, nothing breaks
if command -v python3 >/dev/null; then
    python3 - <<'PY'
import sqlite3
db = sqlite3.connect("target/cdbt.db")
db.execute("UPDATE snapshot_digests SET dg = x'0102'")
db.commit()
PY
    edit_macro
    out=$(C compile --debug 2>&1); rc=$?
    expect "unreadable digests: compile exits 0" 0 "$rc"
    case $out in *"unchanged by their stat and digest"*) bad "unreadable digests were used: $out" ;; *) ok ;; esac
    same_as_cold "with unreadable digests"
    edit_macro
    V "rebuilt by that run" $((n - 1)) $((n - 1)) $n
fi

# a delta run (one model edited) rewrites its compiled file: its digest is
# no longer known, the others still are
settle
echo "-- edited" >> models/staging/stg_orders.sql
settle
out=$(C compile --debug 2>&1)
case $out in *"1 model file(s) changed; recompiled alone"*) ok ;; *) bad "expected a delta compile: $out" ;; esac
settle
edit_macro
V "after a delta run: its file left out, the rest vouched" $((n - 2)) $((n - 2)) $((n - 1))
same_as_cold "after a delta run"

echo "cache_digests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
