#!/usr/bin/env bash
# run_basic.sh - `cdbt run` and `cdbt test` against a throw-away PostgreSQL on
# tests/fixtures/e2e/run_basic: the console lines (exact, with dbt's dot
# padding), what is in the database (tables, views, an ephemeral CTE, an
# incremental model run three times without duplicates, a full refresh,
# introspection at compile time: get_columns_in_relation / run_query /
# is_incremental), on-run-start/end hooks with `schemas` and `results`,
# target/run, logs/cdbt.log, run_results.json (statuses, adapter_response,
# timing, thread_id), test PASS/WARN, --log-format json, and a connection
# failure (exit 2 before anything runs).
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-run-e2e.XXXXXX)
trap 'rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
strip() { sed -E 's/^[0-9]{2}:[0-9]{2}:[0-9]{2}  //; s/ in [0-9]+\.[0-9]{2}s\]/]/; s/in 0 hours 0 minutes and [0-9.]+ seconds \([0-9.]+s\)/in TIME/' "$1"; }
jr() { python3 -c "import json,sys; d=json.load(open('target/run_results.json')); print(eval(sys.argv[1]))" "$1"; }

# ---- 1. first run, one thread: exact console
"$CDBT" run --threads 1 > run1.out 2> run1.err
check "run 1 exit code" 0 $?
check "run 1 console" "Running with cdbt=0.1.0
Found 10 models, 6 data tests, 0 macros

Concurrency: 1 threads (target='dev')

Running 3 on-run-start hooks
1 of 3 START hook: e2e_basic.on-run-start.0 .................................... [RUN]
1 of 3 OK hook: e2e_basic.on-run-start.0 ....................................... [CREATE SCHEMA]
2 of 3 START hook: e2e_basic.on-run-start.1 .................................... [RUN]
2 of 3 OK hook: e2e_basic.on-run-start.1 ....................................... [CREATE TABLE]
3 of 3 START hook: e2e_basic.on-run-start.2 .................................... [RUN]
3 of 3 OK hook: e2e_basic.on-run-start.2 ....................................... [INSERT 0 1]

1 of 9 START sql table model analytics.base .................................... [RUN]
1 of 9 OK created sql table model analytics.base ............................... [SELECT 3]
2 of 9 START sql table model analytics.flaky ................................... [RUN]
2 of 9 OK created sql table model analytics.flaky .............................. [SELECT 1]
3 of 9 START sql view model analytics.after_flaky .............................. [RUN]
3 of 9 OK created sql view model analytics.after_flaky ......................... [CREATE VIEW]
4 of 9 START sql incremental model analytics.inc ............................... [RUN]
4 of 9 OK created sql incremental model analytics.inc .......................... [SELECT 3]
5 of 9 START sql view model analytics.introspect ............................... [RUN]
5 of 9 OK created sql view model analytics.introspect .......................... [CREATE VIEW]
6 of 9 START sql table model analytics.slow .................................... [RUN]
6 of 9 OK created sql table model analytics.slow ............................... [SELECT 1]
7 of 9 START sql view model analytics.after_slow ............................... [RUN]
7 of 9 OK created sql view model analytics.after_slow .......................... [CREATE VIEW]
8 of 9 START sql view model analytics.uses_eph ................................. [RUN]
8 of 9 OK created sql view model analytics.uses_eph ............................ [CREATE VIEW]
9 of 9 START sql view model analytics.v_base ................................... [RUN]
9 of 9 OK created sql view model analytics.v_base .............................. [CREATE VIEW]

Running 1 on-run-end hook
1 of 1 START hook: e2e_basic.on-run-end.0 ...................................... [RUN]
1 of 1 OK hook: e2e_basic.on-run-end.0 ......................................... [INSERT 0 1]

Finished running 3 table models, 5 view models, 1 incremental model, 4 hooks in TIME.

Completed successfully

Done. PASS=13 WARN=0 ERROR=0 SKIP=0 TOTAL=13" "$(strip run1.out)"
check "run 1 stderr" "" "$(cat run1.err)"

# database contents
check "relations" "after_flaky|VIEW
after_slow|VIEW
base|BASE TABLE
flaky|BASE TABLE
inc|BASE TABLE
introspect|VIEW
slow|BASE TABLE
uses_eph|VIEW
v_base|VIEW" "$(q "select table_name, table_type from information_schema.tables where table_schema = 'analytics' order by 1")"
check "v_base" "1|A
2|B
3|C" "$(q "select * from analytics.v_base order by 1")"
check "ephemeral CTE" "10
20
30" "$(q "select * from analytics.uses_eph order by 1")"
check "introspection at compile time" "id:integer|name:text|3" "$(q "select * from analytics.introspect")"
check "inc after run 1" "1|a|1
2|b|1
3|c|1" "$(q "select * from analytics.inc order by 1")"
check "post-hook grant" "t" "$(q "select has_table_privilege('public', 'analytics.base', 'select')")"
check "run hooks (schemas, results)" "start
end analytics 9" "$(q "select event from analytics_meta.run_log order by at")"

# artifacts
check "target/run of a view" 'create view "postgres"."analytics"."v_base__dbt_tmp"' \
  "$(grep -o 'create view "postgres"."analytics"."v_base__dbt_tmp"' target/run/e2e_basic/models/v_base.sql)"
check "target/compiled" 'select id, upper(name) as name_u from "postgres"."analytics"."base"' "$(cat target/compiled/e2e_basic/models/v_base.sql)"
contains "cdbt.log has the statements" 'alter table "postgres"."analytics"."v_base__dbt_tmp" rename to "v_base"' logs/cdbt.log
contains "cdbt.log has the hook" "insert into analytics_meta.run_log (event) values ('start')" logs/cdbt.log
check "run_results statuses" "operation.e2e_basic.e2e_basic-on-run-start-0 success
operation.e2e_basic.e2e_basic-on-run-start-1 success
operation.e2e_basic.e2e_basic-on-run-start-2 success
model.e2e_basic.base success
model.e2e_basic.flaky success
model.e2e_basic.after_flaky success
model.e2e_basic.inc success
model.e2e_basic.introspect success
model.e2e_basic.slow success
model.e2e_basic.after_slow success
model.e2e_basic.uses_eph success
model.e2e_basic.v_base success
operation.e2e_basic.e2e_basic-on-run-end-0 success" "$(jr "'\n'.join(r['unique_id']+' '+r['status'] for r in d['results'])")"
check "adapter_response of a table" "{'_message': 'SELECT 3', 'code': 'SELECT', 'rows_affected': 3}" \
  "$(jr "[r for r in d['results'] if r['unique_id']=='model.e2e_basic.base'][0]['adapter_response']")"
check "adapter_response of a view" "{'_message': 'CREATE VIEW', 'code': 'CREATE VIEW', 'rows_affected': -1}" \
  "$(jr "[r for r in d['results'] if r['unique_id']=='model.e2e_basic.v_base'][0]['adapter_response']")"
check "timing, thread, message, relation" "['compile', 'execute'] Thread-1 SELECT 3 \"postgres\".\"analytics\".\"base\" None" \
  "$(jr "(lambda r: ' '.join(map(str, [[t['name'] for t in r['timing']], r['thread_id'], r['message'], r['relation_name'], r['failures']])))([r for r in d['results'] if r['unique_id']=='model.e2e_basic.base'][0])")"
check "args" "run 1 False dev" "$(jr "' '.join(map(str, [d['args']['which'], d['args']['threads'], d['args']['full_refresh'], d['args']['target']]))")"
check "manifest has compiled code" "True" "$(python3 -c "import json; print('compiled_code' in json.load(open('target/manifest.json'))['nodes']['model.e2e_basic.v_base'])")"

# ---- 2. incremental: second and third runs add nothing twice
"$CDBT" run -s inc --vars '{run_no: 2}' > run2.out 2>&1
check "run 2 exit code" 0 $?
contains "run 2 is incremental" "OK created sql incremental model analytics.inc" run2.out
check "inc after run 2" "1|a|1
2|b|1
3|c|2" "$(q "select * from analytics.inc order by 1")"
"$CDBT" run -s inc --vars '{run_no: 2}' > run3.out 2>&1
check "inc idempotent" "1|a|1
2|b|1
3|c|2" "$(q "select * from analytics.inc order by 1")"
"$CDBT" run -s inc --vars '{run_no: 4}' --full-refresh > run4.out 2>&1
check "full refresh exit code" 0 $?
check "inc after --full-refresh" "1|a|4
2|b|4
3|c|4" "$(q "select * from analytics.inc order by 1")"
check "full refresh message" "SELECT 3" "$(jr "d['results'][3]['message']")"

# ---- 3. a rebuilt table drops the views on it (cascade): the rerun recreates them
ino_run=$(stat -c %i target/run/e2e_basic/models/v_base.sql)
"$CDBT" run -s base+ --threads 4 > run5.out 2>&1
check "rerun of base+ exit code" 0 $?
check "views back after cascade" "3" "$(q "select count(*) from analytics.v_base")"
check "target/run file rewritten in place (same inode)" "$ino_run" "$(stat -c %i target/run/e2e_basic/models/v_base.sql)"

# ---- 4. tests: PASS and WARN, exit 0
"$CDBT" test --threads 1 > test1.out 2>&1
check "test exit code (warnings do not fail)" 0 $?
contains "test pass line" "PASS not_null_base_id ....." test1.out
contains "test warn line" "6 of 6 WARN 1 accepted_values_v_base_name_u__A__B .............................. [WARN 1 in" test1.out
contains "warning summary" "Completed with 1 warning:" test1.out
contains "warning detail" "Warning in test accepted_values_v_base_name_u__A__B (models/schema.yml)" test1.out
contains "warning message" "  Got 1 result, configured to warn if != 0" test1.out
contains "done line" "Done. PASS=9 WARN=1 ERROR=0 SKIP=0 TOTAL=10" test1.out
contains "long START line cut at 77 columns" "START test a_singular_test_with_quite_a_long_name_to_check_the_truncat... [RUN]" test1.out
contains "long result line not cut" "PASS a_singular_test_with_quite_a_long_name_to_check_the_truncation ..... [PASS in" test1.out
check "adapter_response of a test" "{'_message': 'SELECT 1', 'code': 'SELECT', 'rows_affected': 1}" \
  "$(jr "[r for r in d['results'] if 'accepted_values_v_base' in r['unique_id']][0]['adapter_response']")"
check "test failures field" "1 warn" "$(jr "(lambda r: str(r['failures'])+' '+r['status'])([r for r in d['results'] if 'accepted_values_v_base' in r['unique_id']][0])")"
"$CDBT" test -s no_big_ids --vars '{max_id: 1}' > test2.out 2>&1
check "failing test exit code" 1 $?
contains "fail line" "FAIL 2 no_big_ids" test2.out
contains "failure detail" "Failure in test no_big_ids (tests/no_big_ids.sql)" test2.out
contains "failure message" "Got 2 results, configured to fail if != 0" test2.out

# ---- 5. --log-format json: one object per line
"$CDBT" run -s v_base --log-format json > json.out 2>&1
check "json exit code" 0 $?
check "every line is a JSON object" "ok" "$(python3 -c "
import json,sys
names=[json.loads(l)['info']['name'] for l in open('json.out')]
print('ok' if 'LogModelResult' in names and 'StatsLine' in names else names)")"
check "json node result" "success model.e2e_basic.v_base" "$(python3 -c "
import json
for l in open('json.out'):
    o=json.loads(l)
    if o['info']['name']=='LogModelResult': print(o['data']['status'], o['data']['node_info']['unique_id'])")"
# log(info=True) from a model is a JinjaLogInfo object too, not a text line
# (printed at parse time and at run time, as dbt does)
printf "{{ log('hello from jinja', info=True) }}select 1 as a\n" > models/logger.sql
"$CDBT" run -s logger --log-format json > json2.out 2>&1
check "json log exit code" 0 $?
check "log() under --log-format json" "JinjaLogInfo hello from jinja" "$(python3 -c "
import json
for l in open('json2.out'):
    o=json.loads(l)
    if o['info']['name']=='JinjaLogInfo': print(o['info']['name'], o['data']['msg'])" 2>&1 | sort -u)"
rm models/logger.sql

# ---- 6. a compilation error at run time: error with file:line:col, child skipped
echo "select {{ nope() }} as x" > models/cerr.sql
echo "select * from {{ ref('cerr') }}" > models/cerr_child.sql
"$CDBT" run -s cerr+ > cerr.out 2>&1
check "compile error exit code" 1 $?
contains "compile error line" "1 of 2 ERROR creating sql view model analytics.cerr" cerr.out
contains "compile error child skipped" "2 of 2 SKIP relation analytics.cerr_child" cerr.out
contains "compile error header" "  Compilation Error in model cerr (models/cerr.sql)" cerr.out
contains "compile error location" "  models/cerr.sql:1:11: error: 'nope' is undefined" cerr.out
contains "compile error caret" "        |           ^" cerr.out

# ---- 6b. the last status per node is kept in target/cdbt.db: result:<status> without --state
check "result:error selects the failed model" "e2e_basic.cerr" "$("$CDBT" ls -q -s result:error --resource-type model 2>&1)"
check "result:skipped selects its child" "e2e_basic.cerr_child" "$("$CDBT" ls -q -s result:skipped --resource-type model 2>&1)"
rm models/cerr.sql models/cerr_child.sql

# ---- 7. connection failure: exit 2, nothing runs
rm -f target/run_results.json
PGHOST=/nonexistent "$CDBT" run > conn.out 2> conn.err
check "connection failure exit code" 2 $?
contains "connection failure names profile and target" "e2e" conn.err
contains "connection failure names the target" "dev" conn.err
check "no START line" "" "$(grep START conn.out)"
check "no run_results" "no" "$([ -f target/run_results.json ] && echo yes || echo no)"

if [ $fails -ne 0 ]; then echo "run_basic: $fails failure(s)"; exit 1; fi
echo "run_basic: ok"
