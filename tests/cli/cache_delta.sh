#!/usr/bin/env bash
# cache_delta.sh - `cdbt compile` after only model files were edited in place
# (src/cli/delta.c): the edited models are recompiled alone and their entries
# rewritten in place in manifest.json and run_results.json, and the result is
# what a cold compile writes (timings aside).  Everything a model's body can
# change beyond its own code (config, refs, env vars read, ephemeral
# parents, a value outgrowing its slot, an error) takes the full path.
set -u
CDBT=$(realpath "${1:?usage: cache_delta.sh path/to/cdbt}")
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
# R: compile with --debug; prints reused, delta or full (and why, for a delta refused)
R() {
    local out
    out=$(C compile --debug 2>&1) || { echo "failed: $out"; return; }
    case $out in
    *"outputs reused"*) echo reused ;;
    *"recompiled alone"*) echo delta ;;
    *"no delta compile ("*) echo "full: $(printf '%s\n' "$out" | sed -n 's/.*no delta compile (\(.*\))/\1/p')" ;;
    *) echo full ;;
    esac
}
settle() { sleep 0.15; }     # inputs changed within the racy margin are not snapshotted
# run-specific values and the slot padding that follows their length
norm() { sed -E 's/"(generated_at|invocation_id|started_at|completed_at)":"[^"]*"/"\1":""/g; s/"(created_at|execution_time|elapsed_time)":[0-9.e+-]+/"\1":0/g; s/\} +([],}])/}\1/g' "$1"; }
# same_as_cold <what>: the artifacts and compiled files equal a cold compile's
same_as_cold() {
    norm target/manifest.json > "$W/m.delta"; norm target/run_results.json > "$W/r.delta"
    rm -rf "$W/c.delta"; cp -r target/compiled "$W/c.delta"
    C compile -q --no-partial-parse >/dev/null 2>&1
    norm target/manifest.json > "$W/m.cold"; norm target/run_results.json > "$W/r.cold"
    cmp -s "$W/m.delta" "$W/m.cold" && ok || bad "$1: manifest.json differs from a cold compile's"
    cmp -s "$W/r.delta" "$W/r.cold" && ok || bad "$1: run_results.json differs from a cold compile's"
    diff -r "$W/c.delta" target/compiled >/dev/null && ok || bad "$1: compiled files differ from a cold compile's"
    settle
    R >/dev/null                   # the cold run rewrote the outputs: store a snapshot again
    settle
}
start() { settle; R >/dev/null; settle; expect "start: reused" reused "$(R)"; }
# after_racy <what>: after a delta that read an edit made just before it.
# If the run started within the racy margin of the edit (the usual case) it
# recorded the file as "always changed" and the next run reads it once more
# (delta); on a loaded machine (a sanitizer build) it may have started
# later, and then the next run reuses at once.  Either way the one after
# that reuses.
after_racy() {
    local r
    r=$(R)
    case $r in delta|reused) ok ;; *) bad "$1: expected delta or reused, got $r" ;; esac
    expect "$1: then reused" reused "$(R)"
}

start
# ---- an edit to a model's body: recompiled alone
echo "-- edited" >> models/staging/stg_customers.sql
expect "body edited (edit within the racy margin)" delta "$(R)"
grep -q -- "-- edited" target/compiled/jaffle/models/staging/stg_customers.sql && ok || bad "edit not in the compiled file"
grep -q -- "-- edited" target/manifest.json && ok || bad "edit not in manifest.json"
python3 -c 'import json,sys; [json.load(open(f)) for f in sys.argv[1:]]' target/manifest.json target/run_results.json \
    && ok || bad "artifacts are not JSON after a delta"
mi=$(grep -o '"invocation_id":"[^"]*"' target/manifest.json | head -1)
ri=$(grep -o '"invocation_id":"[^"]*"' target/run_results.json | head -1)
expect "run_results and manifest name the same invocation" "$mi" "$ri"
# the edited file was racy when read: the next run reads it again, then it is settled
settle
after_racy "after a racy delta"
same_as_cold "body edit"

start
echo "-- two" >> models/staging/stg_customers.sql; echo "-- two" >> models/staging/stg_orders.sql
expect "two models edited" delta "$(R)"
same_as_cold "two models"

# ---- what takes the full path
refuse() {  # refuse <what> <expected why> <command...>
    local what=$1 why=$2; shift 2
    start
    "$@"
    expect "$what" "full: $why" "$(R)"
    settle
    R >/dev/null                   # the full run above read a racy file: it stored nothing
    settle
    expect "$what: then reused" reused "$(R)"
}
refuse "config() changed" "more than the code of a model changed" \
    sh -c 'printf "{{ config(materialized=\"table\") }}\n" | cat - models/staging/stg_customers.sql > x && cat x > models/staging/stg_customers.sql'
m=$(python3 -c 'import json; print(json.load(open("target/manifest.json"))["nodes"]["model.jaffle.stg_customers"]["config"]["materialized"])')
expect "config change in the manifest" table "$m"
refuse "a new ref()" "the models do not parse alone" \
    sh -c 'echo "-- {{ ref(\"stg_orders\") }}" >> models/staging/stg_customers.sql'
refuse "a new env var read" "a template read a new env var" \
    sh -c 'echo "-- {{ env_var(\"DELTA_NEW\", \"x\") }}" >> models/staging/stg_customers.sql'
refuse "an ephemeral model edited" "a model is disabled, renamed or not a view, table or incremental" \
    sh -c 'echo "-- e" >> models/marts/int_order_totals.sql'
refuse "a model with an ephemeral parent" "a parent is ephemeral" \
    sh -c 'echo "-- e" >> models/marts/customers.sql'
# ---- an entry that outgrows its slot: the artifacts are written again around it
start
for i in $(seq 60); do echo "-- a longer comment line to outgrow the slot $i"; done >> models/staging/stg_customers.sql
expect "a value outgrowing its slot" delta "$(R)"
settle
r=$(R)   # the racy edit read once more from its grown slot, or reused
case $r in delta|reused) ok ;; *) bad "after the grown slot: expected delta or reused, got $r" ;; esac
settle
for i in $(seq 40); do echo "-- and again $i"; done >> models/staging/stg_orders.sql
expect "a second model outgrowing its slot (the first shift applies)" delta "$(R)"
settle
after_racy "after the second shift (run_results' elapsed_time found where it moved)"
python3 -c 'import json,sys; [json.load(open(f)) for f in sys.argv[1:]]' target/manifest.json target/run_results.json \
    && ok || bad "artifacts are not JSON after splicing"
echo "-- small" >> models/staging/stg_customers.sql
expect "a small edit after the splices" delta "$(R)"
same_as_cold "after entries outgrew their slots"
echo "-- two" >> models/staging/stg_customers.sql; for i in $(seq 60); do echo "-- grow $i"; done >> models/staging/stg_orders.sql
expect "two models, one outgrowing its slot" "full: new values do not fit their slots (more than one model)" "$(R)"
start
echo '{{ log("hi", info=True) }}' >> models/staging/stg_customers.sql
expect "a template printing (never reused)" "full: templates printed" "$(R)"
sed -i '/log(/d' models/staging/stg_customers.sql
start
echo "-- {{ undefined_macro() }}" >> models/staging/stg_customers.sql
out=$(C compile 2>&1); rc=$?
expect "a compile error: exit 1 as in a full run" 1 "$rc"
case $out in *"undefined_macro"*) ok ;; *) bad "compile error not reported: $out" ;; esac
sed -i '/undefined_macro/d' models/staging/stg_customers.sql
# ---- editors that save by writing a new file and renaming it over the old one
start
# (an edit of the same length: entries stay in their slots)
sed 's/last_name from/last_nam2 from/' models/staging/stg_customers.sql > models/staging/.stg_customers.sql.tmp
touch models/staging/notes.txt models/staging/.stg_customers.sql.swp
mv models/staging/.stg_customers.sql.tmp models/staging/stg_customers.sql
expect "saved by rename (new inode; the directory changed, its .sql/.yml files did not)" delta "$(R)"
grep -q -- "last_nam2" target/compiled/jaffle/models/staging/stg_customers.sql && ok || bad "rename-save not compiled"
rm -f models/staging/notes.txt models/staging/.stg_customers.sql.swp
same_as_cold "after a rename-save"
# the same in a directory that holds a subdirectory too (its paths sort between the files')
mkdir -p models/staging/more && printf "select 1 as a\n" > models/staging/more/stg_extra.sql
start
sed 's/last_nam2 from/last_nam3 from/' models/staging/stg_customers.sql > models/staging/.stg_customers.sql.tmp
mv models/staging/.stg_customers.sql.tmp models/staging/stg_customers.sql
expect "saved by rename beside a subdirectory" delta "$(R)"
rm -r models/staging/more
start
echo "-- e" >> models/staging/stg_customers.sql
printf "select 1 as a\n" > models/staging/new_model.sql
case $(R) in full*) ok ;; *) bad "a new model in the directory must take the full path" ;; esac
grep -q '"model.jaffle.new_model"' target/manifest.json && ok || bad "new model not in the manifest"
rm models/staging/new_model.sql
start
echo "-- e" >> models/staging/stg_customers.sql
mkdir models/staging/sub
expect "a new subdirectory" "full: a directory lists other files" "$(R)"
rmdir models/staging/sub
same_as_cold "after the refusals"

# ---- a file the delta cannot take (a macro, a properties file): the snapshot
# check stops at it and names it, without asking the delta
checked_full() {  # checked_full <what> <expected path in the reason> <command...>
    local what=$1 path=$2 out; shift 2
    start
    "$@"
    out=$(C compile --debug 2>&1)
    case $out in *"full parse (a project file changed: $W/p/$path)"*) ok ;; *) bad "$what: $out" ;; esac
    case $out in *"no delta compile"*) bad "$what: the delta was asked" ;; *) ok ;; esac
    same_as_cold "$what"
}
checked_full "a macro edited" macros/cents_to_dollars.sql \
    sh -c 'echo "{# edited #}" >> macros/cents_to_dollars.sql'
checked_full "a macro and a model edited" macros/cents_to_dollars.sql \
    sh -c 'echo "-- m" >> models/staging/stg_customers.sql; echo "{# again #}" >> macros/cents_to_dollars.sql'
checked_full "a properties file edited" models/staging/_stg_models.yml \
    sh -c 'echo "# edited" >> models/staging/_stg_models.yml'
checked_full "a macro saved by rename" macros/cents_to_dollars.sql \
    sh -c 'cp macros/cents_to_dollars.sql x.tmp && echo "{# renamed #}" >> x.tmp && mv x.tmp macros/cents_to_dollars.sql'

# ---- parse: the same for manifest.json alone
P() {
    local out
    out=$(C parse --debug 2>&1) || { echo "failed: $out"; return; }
    case $out in *"outputs reused"*) echo reused ;; *"recompiled alone"*) echo delta ;; *) echo full ;; esac
}
settle; P >/dev/null; settle
expect "parse: reused" reused "$(P)"
echo "-- parse edit" >> models/staging/stg_orders.sql
expect "parse after a body edit" delta "$(P)"
echo "-- parse edit 2" >> models/staging/stg_orders.sql
out=$(C parse --debug 2>&1)
case $out in *"recompiled alone"*"Performance info: parsed "*) ok ;; *) bad "parse console after a delta: $out" ;; esac
norm target/manifest.json > "$W/m.delta"
C parse -q --no-partial-parse >/dev/null 2>&1
norm target/manifest.json > "$W/m.cold"
cmp -s "$W/m.delta" "$W/m.cold" && ok || bad "parse delta: manifest.json differs from a cold parse's"
grep -q '"compiled":false' target/manifest.json && ok || bad "a parse manifest holds no compiled code"

echo "cache_delta: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
