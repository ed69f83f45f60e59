#!/usr/bin/env bash
# cache_snapshot.sh - the whole-project snapshot (src/cli/fastpath.c,
# src/cache/cache_snap.c): `parse`/`compile` with nothing changed reuse the
# outputs of the previous identical command, and every kind of change
# (file edited, touched, added, deleted, renamed; env var read by a
# template; DBT_* env; command line; profiles.yml; an output edited or
# deleted) takes the full path again and gives what a cold run gives.
# Runs that print from templates or read the clock are never reused.
set -u
CDBT=$(realpath "${1:?usage: cache_snapshot.sh path/to/cdbt}")
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
# R <cmd> [args]: run with --debug; prints "reused" or "full"
R() {
    local out
    out=$(C "$@" --debug 2>&1) || { echo "failed: $out"; return; }
    case $out in *"outputs reused"*) echo reused ;; *) echo full ;; esac
}
settle() { sleep 0.15; }     # inputs changed within the racy margin are not snapshotted
norm() { sed -E 's/"(generated_at|invocation_id)":"[^"]*"/"\1":""/g; s/"created_at":[0-9.e+-]+/"created_at":0/g; s/\} +([],}])/}\1/g' "$1"; }
cold() {    # cold <cmd>: the manifest a cold run writes, normalized, into cold.json
    C "$1" -q --no-partial-parse --target-path "$W/cold" >/dev/null 2>&1
    norm "$W/cold/manifest.json" > "$W/cold.json"
}

printf "select '{{ env_var(\"SNAP_X\", \"dflt\") }}' as x\n" > models/marts/envy.sql
settle

# ---- parse
expect "first parse: full" full "$(R parse)"
expect "second parse: reused" reused "$(R parse)"
out=$(C parse 2>&1)
case $out in *"Found "*"models"*"Performance info: parsed"*) ok ;; *) bad "console of a reused parse: $out" ;; esac
cold parse
norm target/manifest.json > now.json
cmp -s now.json "$W/cold.json" && ok || bad "reused parse manifest differs from a cold parse"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' target/manifest.json 2>/dev/null && ok ||
    { command -v python3 >/dev/null && bad "reused manifest is not JSON" || ok; }
i1=$(grep -o '"invocation_id":"[^"]*"' target/manifest.json | head -1)
C parse -q; i2=$(grep -o '"invocation_id":"[^"]*"' target/manifest.json | head -1)
[ "$i1" != "$i2" ] && ok || bad "a reused parse keeps the old invocation_id"

# ---- compile
expect "first compile: full (the parse snapshot is another command line)" full "$(R compile)"
nres=$(grep -o '"unique_id":' target/run_results.json | wc -l)
expect "second compile: reused" reused "$(R compile)"
mi=$(grep -o '"invocation_id":"[^"]*"' target/manifest.json | head -1)
ri=$(grep -o '"invocation_id":"[^"]*"' target/run_results.json | head -1)
expect "run_results and manifest name the same invocation" "$mi" "$ri"
if command -v python3 >/dev/null; then
    n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["results"]), d["args"]["which"], d["elapsed_time"] >= 0)' target/run_results.json)
    expect "reused run_results is whole" "$nres compile True" "$n"
fi
expect "compiled env_var default" "select 'dflt' as x" "$(cat target/compiled/jaffle/models/marts/envy.sql)"

# ---- every kind of change takes the full path, then is reused again
change() {  # change <what> <command...>: after the change, compile is full, then reused
    local what=$1; shift
    "$@"
    settle
    expect "$what: full" full "$(R compile)"
    expect "$what: then reused" reused "$(R compile)"
}
change "model edited" sh -c 'echo "-- edit" >> models/staging/stg_orders.sql'
grep -q -- "-- edit" target/compiled/jaffle/models/staging/stg_orders.sql && ok || bad "edit not compiled"
change "model touched" touch models/staging/stg_orders.sql
change "model added" sh -c 'printf "select 1 as a\n" > models/marts/added.sql'
[ -f target/compiled/jaffle/models/marts/added.sql ] && ok || bad "added model not compiled"
change "model renamed" mv models/marts/added.sql models/marts/renamed.sql
grep -q '"model.jaffle.renamed"' target/manifest.json && ok || bad "renamed model not in manifest"
grep -q '"model.jaffle.added"' target/manifest.json && bad "old name still in manifest" || ok
change "model deleted" rm models/marts/renamed.sql
change "macro edited" sh -c 'echo "{# edit #}" >> "$(ls macros/*.sql | head -1)"'
change "properties edited" sh -c 'echo "# edit" >> models/marts/_marts.yml'
change "profiles.yml edited" sh -c 'echo "# edit" >> profiles.yml'
change "dbt_project.yml edited" sh -c 'echo "# edit" >> dbt_project.yml'

export SNAP_X=one
settle
expect "env var read by a template changed: full" full "$(R compile)"
expect "compiled env_var value" "select 'one' as x" "$(cat target/compiled/jaffle/models/marts/envy.sql)"
expect "same env var value: reused" reused "$(R compile)"
export SNAP_X=two
expect "env var changed again: full" full "$(R compile)"
expect "compiled new env_var value" "select 'two' as x" "$(cat target/compiled/jaffle/models/marts/envy.sql)"
unset SNAP_X
expect "env var unset: full" full "$(R compile)"
expect "compiled env_var default again" "select 'dflt' as x" "$(cat target/compiled/jaffle/models/marts/envy.sql)"
expect "DBT_* env is part of the key" full "$(DBT_SNAPSHOT_TEST=1 R compile)"
expect "another command line" full "$(R compile --vars '{a: 1}')"
expect "back to the first command line: full (--vars rewrote the outputs)" full "$(R compile)"
expect "and reused after that" reused "$(R compile)"
expect "--select never reuses" full "$(R compile -s orders)"
# a var named like the key a reuse rewrites, inside args at the end of run_results.json
V='{elapsed_time: [{"a": "}],\"elapsed_time\":"}], x: 1}'
R compile --vars "$V" >/dev/null
expect "--vars with an elapsed_time key: reused" reused "$(R compile --vars "$V")"
if command -v python3 >/dev/null; then
    v=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["args"]["vars"]["elapsed_time"][0]["a"], d["elapsed_time"] < 60)' target/run_results.json)
    expect "args survive the rewrite" '}],"elapsed_time": True' "$v"
fi

# ---- outputs
expect "after --select rewrote the manifest: full" full "$(R compile)"
# Outputs are checked by their directory's stat once it has settled (a
# directory written within the racy margin is checked file by file, then
# recorded): a reuse sees outputs deleted, replaced by rename or added
# beside, and cdbt's own runs that rewrite them in place change
# target/cdbt.stamp.
O=target/compiled/jaffle/models/marts/orders.sql
rm -rf target/compiled
expect "compiled files removed: full" full "$(R compile)"
settle
expect "reused (the new directories checked file by file)" reused "$(R compile)"
out=$(C compile --debug 2>&1)
case $out in *"recorded for the next run"*) bad "output directories recorded twice: $out" ;; *"outputs reused"*) ok ;;
    *) bad "reused once the directories are recorded: $out" ;; esac
cp "$O" orders.good
rm "$O"
expect "compiled file deleted: full" full "$(R compile)"
cmp -s orders.good "$O" && ok || bad "deleted compiled file not restored"
settle; R compile >/dev/null; settle; R compile >/dev/null
expect "settled again: reused" reused "$(R compile)"
echo "garbage" > "$W/x.sql"; mv "$W/x.sql" "$O"
expect "compiled file replaced (an editor saving by rename): full" full "$(R compile)"
cmp -s orders.good "$O" && ok || bad "replaced compiled file not restored"
settle; R compile >/dev/null; settle; R compile >/dev/null
echo "stray" > target/compiled/jaffle/models/marts/stray.txt
expect "a stray file beside the outputs: reused (every output checked)" reused "$(R compile)"
rm target/compiled/jaffle/models/marts/stray.txt
settle; R compile >/dev/null; settle; R compile >/dev/null
# cdbt rewriting the outputs in place without the artifacts (another
# command line, --no-write-json): the stamp tells
C compile -q --no-write-json --vars '{orders_extra: 1}' >/dev/null 2>&1
echo "-- rewritten in place by another run" >> "$O"
expect "outputs rewritten by another cdbt run (--no-write-json): full" full "$(R compile)"
cmp -s orders.good "$O" && ok || bad "compiled file rewritten by another run not restored"
settle; R compile >/dev/null; settle; R compile >/dev/null
# an output edited in place by another program, once settled, is what the
# README says: kept until --no-partial-parse (or a change) writes it again
echo "garbage" > "$O"
expect "compiled file edited in place by hand: reused" reused "$(R compile)"
C compile -q --no-partial-parse >/dev/null 2>&1
cmp -s orders.good "$O" && ok || bad "--no-partial-parse does not restore an edited compiled file"
echo " " >> target/manifest.json
expect "manifest.json edited: full" full "$(R compile)"
C compile -q --no-partial-parse >/dev/null
norm target/manifest.json > "$W/cold.json"
cp target/run_results.json "$W/cold_rr.json"
expect "after a cold compile: full" full "$(R compile)"
expect "then reused" reused "$(R compile)"
norm target/manifest.json > now.json
cmp -s now.json "$W/cold.json" && ok || bad "reused compile manifest differs from a cold compile"
strip_rr() { sed -E 's/"(generated_at|invocation_id|started_at|completed_at)":"[^"]*"/"\1":""/g; s/"(execution_time|elapsed_time)":[0-9.e+-]+/"\1":0/g; s/\} +([],}])/}\1/g' "$1"; }
strip_rr "$W/cold_rr.json" > a.json; strip_rr target/run_results.json > b.json
cmp -s a.json b.json && ok || bad "reused run_results differs from a cold compile's beyond timing"

# ---- ls: the listing is kept with the snapshot and printed again
# LS <args>: ls -q --debug into warm_ls.txt; prints "reused" or "full"
LS() {
    C ls -q --debug "$@" > warm_ls.txt 2> ls_err.txt
    grep -q "outputs reused" ls_err.txt && echo reused || echo full
}
for args in "" "-s +orders" "--output json --resource-type model" "--output path -s tag:staging"; do
    # shellcheck disable=SC2086
    C ls -q --no-partial-parse $args > cold_ls.txt 2>&1
    # shellcheck disable=SC2086
    expect "ls $args: full after a cold ls rewrote the manifest" full "$(LS $args)"
    # shellcheck disable=SC2086
    expect "ls $args: reused" reused "$(LS $args)"
    [ -s warm_ls.txt ] && cmp -s cold_ls.txt warm_ls.txt && ok || { bad "ls $args: reused listing differs"; diff cold_ls.txt warm_ls.txt | head -5; }
done
printf "select 1 as a\n" > models/marts/zz_new.sql
settle
expect "ls after a model was added: full" full "$(LS)"
grep -q "zz_new" warm_ls.txt && ok || bad "ls misses the new model"
expect "then reused" reused "$(LS)"
grep -q "zz_new" warm_ls.txt && ok || bad "reused ls misses the new model"
rm models/marts/zz_new.sql
settle
C ls -q -s no_such_model >/dev/null 2>&1
out=$(C ls -s no_such_model 2>&1)
case $out in *"does not match any enabled nodes"*) ok ;; *) bad "a selection warning must print every time: $out" ;; esac
expect "ls with a result: selector is never reused" full "$(R ls -s result:error)"

# ---- never reused
printf "select '{{ run_started_at }}' as t\n" > models/marts/clock.sql
settle
R compile >/dev/null
expect "a project reading the clock: never reused" full "$(R compile)"
rm models/marts/clock.sql
printf "{{ log('hello from a model', info=True) }}select 1 as a\n" > models/marts/chatty.sql
settle
R compile >/dev/null
out=$(C compile 2>&1)
case $out in *"hello from a model"*) ok ;; *) bad "a template's log line must print on every run: $out" ;; esac
expect "a project printing from templates: never reused" full "$(R compile)"
rm models/marts/chatty.sql
settle
R compile >/dev/null
expect "--no-partial-parse never reuses" full "$(R compile --no-partial-parse)"

# a target/cdbt.stamp that cannot be written: no snapshot (it could not
# tell another run's rewrites), and the compile itself still works
rm -f target/cdbt.stamp; mkdir target/cdbt.stamp
out=$(C compile --debug 2>&1); rc=$?
expect "compile with an unwritable stamp: exit 0" 0 "$rc"
case $out in *"no project snapshot (cannot write target/cdbt.stamp)"*) ok ;; *) bad "unwritable stamp: $out" ;; esac
expect "and not reused after" full "$(R compile)"
rmdir target/cdbt.stamp
settle; R compile >/dev/null; settle
expect "stamp writable again: reused" reused "$(R compile)"

echo "cache_snapshot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
