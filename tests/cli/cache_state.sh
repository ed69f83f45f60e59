#!/usr/bin/env bash
# cache_state.sh - `state:` and `result:` selection against a previous
# invocation (--state DIR with manifest.json / run_results.json), and the
# robustness of target/cdbt.db seen from the binary: a corrupt file or a
# foreign schema version gives a warning and is rebuilt, concurrent cdbt
# processes leave it usable, --no-partial-parse neither reads nor writes it,
# the parse store written in the background is complete after a command
# that stopped early and still warns when it fails.
set -u
CDBT=$(realpath "${1:?usage: cache_state.sh path/to/cdbt}")
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
# the fixture patches a missing model and macro on purpose: the loader warns about them
loader_warnings_out() { grep -v -e "matching node for patch" -e "Found patch for macro"; }
L() { C ls -q --resource-type model "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

C parse -q || bad "initial parse"
mkdir -p prod && cp target/manifest.json prod/

expect "nothing modified right after the copy" "" "$(L -s state:modified --state prod)"
expect "everything unmodified" "jaffle.marts.customers jaffle.marts.int_order_totals jaffle.marts.orders jaffle.staging.stg_customers jaffle.staging.stg_orders jaffle.staging.stg_payments" \
    "$(L -s state:unmodified --state prod)"

echo "-- edited" >> models/staging/stg_orders.sql
printf 'select 1 as a\n' > models/marts/brand_new.sql
expect "state:new" "jaffle.marts.brand_new" "$(L -s state:new --state prod)"
expect "state:modified = body + new" "jaffle.marts.brand_new jaffle.staging.stg_orders" "$(L -s state:modified --state prod)"
expect "state:modified.body" "jaffle.staging.stg_orders" "$(L -s state:modified.body --state prod)"
expect "state:old excludes new nodes" "" "$(L -s state:old,brand_new --state prod)"
expect "state:modified+ adds descendants" \
    "jaffle.marts.brand_new jaffle.marts.customers jaffle.marts.int_order_totals jaffle.marts.orders jaffle.staging.stg_orders" \
    "$(L -s state:modified+ --state prod)"
expect "DBT_STATE is --state's twin" "jaffle.marts.brand_new" "$(DBT_STATE=prod L -s state:new)"

sed -i 's|/ 100)|/ 1000)|' macros/cents_to_dollars.sql
expect "state:modified.macros" "jaffle.staging.stg_payments" "$(L -s state:modified.macros --state prod)"

sed -i 's|+materialized: view|+materialized: table|' dbt_project.yml
expect "state:modified.configs (stg_orders overrides materialized)" "jaffle.staging.stg_customers jaffle.staging.stg_payments" \
    "$(L -s state:modified.configs --state prod)"
expect "config change is not a relation change" "" "$(L -s state:modified.relation --state prod)"
expect "another target is not a relation change (dbt compares the configured schema)" "" \
    "$(L -s state:modified.relation --state prod -t ci)"
sed -i 's|      schema: staging|      schema: stg2|' dbt_project.yml
expect "state:modified.relation" "jaffle.staging.stg_customers jaffle.staging.stg_orders jaffle.staging.stg_payments" \
    "$(L -s state:modified.relation --state prod)"

out=$(C ls -q -s state:new 2>&1); rc=$?
expect "state: without --state exits 2" 2 $rc
expect "state: without --state message" "error: Invalid selector 'state:new': state: selection needs --state" "$out"
out=$(C ls -q -s state:changed --state prod 2>&1); rc=$?
expect "unknown state kind exits 2" 2 $rc
mkdir -p empty
out=$(C ls -q -s state:new --state empty 2>&1); rc=$?
expect "missing manifest exits 2" "2 error: Invalid selector 'state:new': no manifest.json in the --state directory 'empty'" "$rc $out"
printf '{"nodes": {' > empty/manifest.json
out=$(C ls -q -s state:new --state empty 2>&1); rc=$?
expect "bad manifest exits 2" 2 $rc
case $out in *"empty/manifest.json is not valid JSON"*) ok ;; *) bad "bad manifest message: $out" ;; esac

# result: from a previous run_results.json
cat > prod/run_results.json <<'EOF'
{"metadata": {}, "results": [
  {"unique_id": "model.jaffle.stg_orders", "status": "error"},
  {"unique_id": "model.jaffle.orders", "status": "success"},
  {"unique_id": "test.jaffle.unique_stg_customers_customer_id.c7614daada", "status": "fail"}
], "elapsed_time": 1.0, "args": {}}
EOF
expect "result:error" "jaffle.staging.stg_orders" "$(L -s result:error --state prod)"
expect "result:error+" "jaffle.marts.customers jaffle.marts.int_order_totals jaffle.marts.orders jaffle.staging.stg_orders" \
    "$(L -s result:error+ --state prod)"
expect "result:success" "jaffle.marts.orders" "$(L -s result:success --state prod)"
out=$(C ls -q -s result:error --no-partial-parse 2>&1); rc=$?
expect "result: without --state or cache exits 2" 2 $rc

# --no-partial-parse neither reads nor writes target/cdbt.db
rm -rf target
C parse -q --no-partial-parse || bad "parse --no-partial-parse"
[ ! -e target/cdbt.db ] && ok || bad "--no-partial-parse wrote target/cdbt.db"
C parse -q || bad "parse"
[ -s target/cdbt.db ] && ok || bad "parse did not write target/cdbt.db"
out=$(C parse --debug 2>&1 | grep '^cdbt cache:')
case $out in "cdbt cache: "*" nodes restored, 0 parsed"*) ok ;; *) bad "second parse restores everything: $out" ;; esac

# a corrupt cache: warning, rebuilt, same manifest
norm() { sed -E 's/"(generated_at|invocation_id)":"[^"]*"/"\1":""/g; s/"created_at":[0-9.e+-]+/"created_at":0/g; s/\} +([],}])/}\1/g' "$1"; }
norm target/manifest.json > good.json
head -c 20000 /dev/urandom > target/cdbt.db; rm -f target/cdbt.db-wal target/cdbt.db-shm
out=$(C parse 2>&1); rc=$?
expect "parse with a corrupt cache exits 0" 0 $rc
case $out in *"warning: cdbt cache ("*"cdbt.db) is corrupt ("*"); rebuilding it"*) ok ;; *) bad "corrupt warning: $out" ;; esac
norm target/manifest.json > now.json
cmp -s good.json now.json && ok || bad "manifest after rebuilding a corrupt cache"
out=$(C parse --debug 2>&1 | loader_warnings_out | grep -c 'warning'); expect "no warning once rebuilt" 0 "$out"
# the loader's warnings: on stderr, errors under --warn-error
out=$(C parse 2>&1 >/dev/null | grep -c "^warning: Did not find matching node for patch with name 'does_not_exist' in the 'models' section of file 'models/staging/_stg_models.yml'")
expect "loader warning printed" 1 "$out"
out=$(C parse -q 2>&1 | grep -c "matching node for patch"); expect "loader warning: not with --quiet" 0 "$out"
C parse --warn-error > ww.out 2>&1; expect "loader warning under --warn-error: exit 2" 2 $?
out=$(grep -c "^error: Did not find matching node for patch with name 'does_not_exist'" ww.out); expect "loader warning under --warn-error: the error" 1 "$out"

# a foreign schema version: warning, rebuilt
if command -v sqlite3 >/dev/null; then
    sqlite3 target/cdbt.db 'PRAGMA user_version=42'
    out=$(C parse 2>&1); rc=$?
    expect "parse with a foreign cache exits 0" 0 $rc
    case $out in *"schema version 42 is not "[0-9]*"; rebuilding it"*) ok ;; *) bad "foreign warning: $out" ;; esac
fi

# concurrent processes: all succeed, identical manifests, cache usable after
echo "-- changed before the concurrent runs" >> models/marts/orders.sql
sed -i 's/{{ scale }}/{{ scale | int }}/' macros/cents_to_dollars.sql   # inside the tags: every node is re-parsed and stored
for i in 1 2 3 4; do
    ( "$CDBT" parse -q --project-dir . --profiles-dir . >"plog$i" 2>&1; echo $? > "prc$i" ) &
done
wait
for i in 1 2 3 4; do
    expect "concurrent parse $i" 0 "$(cat prc$i)"
    expect "concurrent parse $i says nothing" "" "$(cat plog$i)"
done
out=$(C parse --debug 2>&1 | grep -E '^(warning|cdbt cache)')
case $out in "cdbt cache: "*" nodes restored, "*) ok ;; *) bad "cache after concurrent runs: $out" ;; esac
norm target/manifest.json > a.json
C parse -q --no-partial-parse
norm target/manifest.json > b.json
cmp -s a.json b.json && ok || bad "manifest after concurrent runs equals a cold parse"

# the parse store is written beside the command (a thread of the cache's):
# a command that stops early, after the parse, still leaves its rows
sed -i 's/{{ scale | int }}/{{ scale }}/' macros/cents_to_dollars.sql   # every node is re-parsed and stored
out=$(C ls -q -s nosuch:x 2>&1); rc=$?
expect "a bad selector stops ls after the parse" 2 $rc
out=$(C parse --debug 2>&1 | loader_warnings_out | grep -E '^(warning|cdbt cache: .* restored)')
case $out in "cdbt cache: "*" nodes restored, 0 parsed"*) ok ;; *) bad "rows stored by a command that stopped early: $out" ;; esac

# another process holds target/cdbt.db's write lock from hold_lock until
# release_lock (longer than the busy timeout)
hold_lock() {
    rm -f locked release
    python3 - target/cdbt.db <<'EOF_PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open("locked", "w").close()
t = time.time()
while not os.path.exists("release") and time.time() - t < 60:
    time.sleep(0.05)
db.execute("COMMIT")
EOF_PY
    lp=$!
    for _ in $(seq 200); do [ -e locked ] && break; sleep 0.05; done
}
release_lock() { touch release; wait $lp; }

# a store that fails in the background is still reported, in the same
# words, before the command ends: another process holds the write lock
# for longer than the busy timeout (--no-write-json: no snapshot to store;
# an edit inside the macro's tags: every node is re-parsed, so there are rows
# to store - after an edit of its text alone nothing is, and nothing written)
sed -i 's/{{ scale }}/{{ scale | int }}/' macros/cents_to_dollars.sql
hold_lock
out=$(C parse --no-write-json 2>&1); rc=$?
release_lock
expect "parse with the cache locked exits 0" 0 $rc
case $out in *"warning: cdbt cache ("*"cdbt.db): cannot update the parse cache: database is locked"*) ok ;;
    *) bad "locked store warning: $out" ;; esac
out=$(C parse --no-write-json -q 2>&1)
expect "--quiet: no warning once unlocked" "" "$out"
out=$(C parse --debug 2>&1 | loader_warnings_out | grep -E '^(warning|cdbt cache: .* restored)')
case $out in "cdbt cache: "*" nodes restored, 0 parsed"*) ok ;; *) bad "rows stored once unlocked: $out" ;; esac

# a parse that restored every node (the macro's text edited) and has no
# rows of gone nodes to delete writes nothing: the same lock does not stop it
sed -i 's|/ 100)|/ 10)|' macros/cents_to_dollars.sql
hold_lock
out=$(C parse --no-write-json --debug 2>&1 | loader_warnings_out | grep -E '^(warning|cdbt cache: .* (restored|parsed))'); rc=$?
release_lock
case $out in "cdbt cache: "*" nodes restored, 0 parsed"*) ok ;; *) bad "text edit under the lock: $out" ;; esac
case $out in *warning*) bad "nothing to store, yet: $out" ;; *) ok ;; esac

echo "cache_state: $pass passed, $fail failed"
[ $fail = 0 ]
