#!/usr/bin/env bash
# run_build.sh - `cdbt build` semantics against a throw-away PostgreSQL on
# tests/fixtures/e2e/run_basic (§12.4-12.5): tests run right after their
# model and a failing (severity error) test skips the model's descendants;
# a failing model skips its descendants and leaves its previous relation
# untouched; the error detail points at the compiled SQL line; --fail-fast
# stops scheduling; --threads 1 and --threads 8 build identical databases;
# SIGINT cancels the running query on the server and exits 2.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-build-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
status_of() { python3 -c "
import json,sys
d=json.load(open('target/run_results.json'))
for r in d['results']:
    if r['unique_id'].split('.')[2]==sys.argv[1]: print(r['status'])" "$1"; }

# ---- 1. a clean build
"$CDBT" build --threads 1 > b1.out 2>&1
check "build 1 exit code" 0 $?
contains "build done line" "Done. PASS=18 WARN=1 ERROR=0 SKIP=0 TOTAL=19" b1.out
# tests of base run before base's children (test gating), in a 1-thread build
order=$(grep -E 'START (test (not_null|unique)_base_id|sql view model analytics.v_base)' b1.out | sed -E 's/.*START //; s/ \.+.*//')
check "tests of base before its children" "test not_null_base_id
test unique_base_id
sql view model analytics.v_base" "$order"
check "flaky before" "1|2" "$(q "select x, y from analytics.flaky")"

# ---- 2. a failing model: error, descendants skipped, previous table intact
"$CDBT" build --vars '{break: true}' --threads 2 > b2.out 2>&1
check "failing build exit code" 1 $?
contains "error line" "ERROR creating sql table model analytics.flaky" b2.out
contains "skip line" "SKIP relation analytics.after_flaky ..." b2.out
contains "summary" "Completed with 1 error, 0 partial successes, and 1 warning:" b2.out
contains "error header" "  Database Error in model flaky (models/flaky.sql)" b2.out
contains "error located in the compiled SQL" "target/compiled/e2e_basic/models/flaky.sql:3:3: error: column \"no_such_column\" does not exist" b2.out
contains "error source line" "      3 |   no_such_column as y" b2.out
contains "compiled code path" "  compiled code at target/run/e2e_basic/models/flaky.sql" b2.out
check "flaky status" "error" "$(status_of flaky)"
check "after_flaky status" "skipped" "$(status_of after_flaky)"
check "unrelated model still built" "success" "$(status_of v_base)"
check "old flaky table intact" "1|2" "$(q "select x, y from analytics.flaky")"
check "no leftover tmp relations" "" "$(q "select table_name from information_schema.tables where table_schema = 'analytics' and table_name like '%dbt_%'")"

# ---- 3. a failing test (severity error) skips the children of its model
"$CDBT" build --vars '{max_id: 1}' --threads 2 > b3.out 2>&1
check "failing test build exit code" 1 $?
contains "fail line" "FAIL 2 no_big_ids" b3.out
check "test status" "fail" "$(status_of no_big_ids)"
check "child of the tested model skipped" "skipped" "$(status_of v_base)"
check "grandchild skipped" "skipped" "$(status_of uses_eph)"
check "tests of a skipped model skipped" "skipped" "$(status_of accepted_values_v_base_name_u__A__B)"
check "unrelated branch built" "success" "$(status_of after_flaky)"
check "tested model itself built" "success" "$(status_of base)"
contains "failure block" "Failure in test no_big_ids (tests/no_big_ids.sql)" b3.out

# ---- 4. --fail-fast: the first failure stops scheduling
"$CDBT" run --vars '{break: true}' --threads 1 --fail-fast > b4.out 2>&1
check "fail-fast exit code" 1 $?
check "fail-fast skips the rest" "skipped" "$(status_of v_base)"
contains "fail-fast message" "Skipping due to fail_fast" b4.out
check "fail-fast: nothing started after the failure" "" \
  "$(sed -n '/ERROR creating sql table model analytics.flaky/,$p' b4.out | grep 'START sql')"

# ---- 5. --threads 1 and --threads 8 build the same database
dump() {
  q "select table_name || ' ' || table_type from information_schema.tables where table_schema = 'analytics' order by 1"
  for t in base v_base inc introspect uses_eph flaky after_flaky slow after_slow; do
    q "select md5(string_agg(x::text, ',' order by x::text)) from analytics.$t x"
  done
}
q "drop schema analytics cascade" >/dev/null
"$CDBT" build --threads 1 > t1.out 2>&1
check "threads 1 exit code" 0 $?
d1=$(dump)
q "drop schema analytics cascade" >/dev/null
"$CDBT" build --threads 8 > t8.out 2>&1
check "threads 8 exit code" 0 $?
d8=$(dump)
check "threads 1 vs 8: same database" "$d1" "$d8"
check "threads 8 used several workers" "yes" "$(python3 -c "
import json
d=json.load(open('target/run_results.json'))
print('yes' if len({r['thread_id'] for r in d['results']}) > 1 else 'no')")"

# ---- 6. SIGINT: the running query is cancelled on the server, exit 2
"$CDBT" run --vars '{sleep: 600}' --threads 2 > int.out 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ "$(q "select count(*) from pg_stat_activity where query like '%pg_sleep(600)%' and pid <> pg_backend_pid()")" = 1 ] && break
  sleep 0.1
done
kill -INT $pid
wait $pid
check "interrupt exit code" 2 $?
contains "interrupt summary" "Exited because of keyboard interrupt" int.out
check "sleeping query gone from the server" "0" \
  "$(q "select count(*) from pg_stat_activity where query like '%pg_sleep(600)%' and pid <> pg_backend_pid()")"
check "interrupted model is an error" "error" "$(status_of slow)"
check "its child skipped" "skipped" "$(status_of after_slow)"
check "old slow table intact" "1" "$(q "select x from analytics.slow")"

# ---- 7. the server dies mid-run: the run ends with errors (no hang), the old
# relations are intact after a restart, and a rerun succeeds
"$CDBT" run --vars '{sleep: 600}' --threads 2 > kill.out 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ "$(q "select count(*) from pg_stat_activity where query like '%pg_sleep(600)%' and pid <> pg_backend_pid()")" = 1 ] && break
  sleep 0.1
done
pg_env_as "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -s stop >/dev/null 2>&1
wait $pid
rc=$?
check "server killed: node failure exit code" 1 $rc
check "server killed: the running model is an error" "error" "$(status_of slow)"
pg_env_as "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -s \
  -o "-c listen_addresses='' -c unix_socket_directories=$PG_TMP -c fsync=off" start >/dev/null 2>&1
check "old slow table intact after the crash" "1" "$(q "select x from analytics.slow")"
check "no leftover tmp relations after the crash" "" \
  "$(q "select table_name from information_schema.tables where table_schema = 'analytics' and table_name like '%dbt_%'")"
"$CDBT" run --threads 2 > rerun.out 2>&1
check "rerun after the crash exit code" 0 $?

if [ $fails -ne 0 ]; then echo "run_build: $fails failure(s)"; exit 1; fi
echo "run_build: ok"
