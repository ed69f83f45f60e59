#!/usr/bin/env bash
# unit_tests.sh - dbt 1.8+ unit tests against a throw-away PostgreSQL: dict,
# csv (inline and a fixture file) and sql inputs, a source input, a seed
# read from its CSV, an incremental model with is_incremental overridden
# both ways and a `this` input, var/env_var/macro overrides, nulls; a
# deliberately failing test (exit 1, the diff, run_results), `build` running
# unit tests before their model and skipping the model and its children when
# one fails; no temporary table left behind; an input relation missing.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-unit-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/unit_tests" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
status() {   # status <unique_id suffix>: its status in target/run_results.json
  python3 -c "import json,sys
r=json.load(open('target/run_results.json'))['results']
print(' '.join(x['status'] for x in r if x['unique_id'].endswith(sys.argv[1])) or 'absent')" "$1"
}

# ---- 1. before anything exists: the input relations are needed for their column types
"$CDBT" test -s test_doubled_nulls > t0.out 2>&1
check "missing input relation exit code" 1 $?
contains "no columns error" "Not able to get columns for unit test 'raw_orders' from relation \"postgres\".\"ut\".\"raw_orders\" because the relation doesn't exist" t0.out
check "missing input: error status" "error" "$(status test_doubled_nulls)"

"$CDBT" seed > s.out 2>&1 || { echo "seed failed"; cat s.out; exit 1; }
"$CDBT" run > r.out 2>&1 || { echo "run failed"; cat r.out; exit 1; }

# ---- 2. cdbt test: every unit test; one fails on purpose
"$CDBT" test -s test_type:unit > t1.out 2>&1
check "test exit code (one failure)" 1 $?
for t in test_customer_orders_dict test_customer_orders_overrides test_stg_customers_from_seed test_doubled_nulls \
         test_events_full_refresh test_events_incremental test_order_summary_sql; do
  check "$t passes" "pass" "$(status $t)"
done
check "the wrong one fails" "fail" "$(status test_doubled_wrong)"
contains "console start line" "START unit_test customer_orders::test_customer_orders_dict" t1.out
contains "console fail line" "FAIL 1 doubled::test_doubled_wrong" t1.out
contains "failure header" "Failure in unit_test test_doubled_wrong (models/unit_tests.yml)" t1.out
contains "diff title" "actual differs from expected:" t1.out
contains "diff header" "@@ ,id,doubled" t1.out
contains "unexpected actual row" "+++,2 ,6" t1.out
contains "missing expected row" "---,2 ,7" t1.out
contains "summary" "Finished running 8 unit tests" t1.out
check "run_results: unique_id, failures, message" "unit_test.ut.doubled.test_doubled_wrong 1 True" "$(python3 -c "
import json
r=[x for x in json.load(open('target/run_results.json'))['results'] if x['status']=='fail'][0]
print(r['unique_id'], r['failures'], r['message'].startswith('actual differs from expected'))")"
check "passing tests: failures 0" "0" "$(python3 -c "
import json
print(set(x['failures'] for x in json.load(open('target/run_results.json'))['results'] if x['status']=='pass').pop())")"

# ---- 3. the compiled SQL: fixture CTEs with the input relation's columns, nulls cast
C=target/compiled/ut/models/unit_tests.yml
contains "fixture CTE" "with __dbt__cte__stg_customers as (" $C/test_customer_orders_dict.sql
contains "fixture comment" "-- Fixture for stg_customers" $C/test_customer_orders_dict.sql
contains "missing column null-cast" "cast(1 as integer) as id, cast('alice' as text) as name, cast(null as text) as country" $C/test_customer_orders_dict.sql
contains "source CTE" "__dbt__cte__orders as (" $C/test_customer_orders_dict.sql
contains "csv empty field is null" "cast('12' as integer) as id, cast('3' as integer) as customer_id, cast(null as double precision) as amount" $C/test_customer_orders_dict.sql
contains "ref replaced" "from __dbt__cte__stg_customers c" $C/test_customer_orders_dict.sql
contains "var override" "'overridden' as label" $C/test_customer_orders_overrides.sql
contains "env_var override" "'mars' as region" $C/test_customer_orders_overrides.sql
contains "macro override" "'MOCK' as shouted" $C/test_customer_orders_overrides.sql
contains "no rows: limit 0" "limit 0" $C/test_customer_orders_overrides.sql
contains "is_incremental true + this" "where ts > (select max(ts) from __dbt__cte__events_incr)" $C/test_events_incremental.sql
if grep -q "where ts" $C/test_events_full_refresh.sql; then echo "FAIL: is_incremental false still filters"; fails=$((fails+1)); fi
contains "sql input verbatim" "union all
select 2, 1, 3.0" $C/test_order_summary_sql.sql
R=target/run/ut/models/unit_tests.yml
contains "empty temp table" "create temporary table \"test_doubled_wrong__dbt_tmp" $R/test_doubled_wrong.sql
contains "expected rows cast to the model's types" "select cast(1 as integer) as id, cast(4 as double precision) as doubled" $R/test_doubled_wrong.sql
contains "actual_or_expected" "'expected' as \"actual_or_expected\"" $R/test_doubled_wrong.sql
contains "temp table dropped" "drop table if exists \"test_doubled_wrong__dbt_tmp" $R/test_doubled_wrong.sql

# ---- 4. selection: a model selects its unit tests; test_type:data leaves them out
"$CDBT" test -s doubled > t2.out 2>&1
check "test -s doubled exit code" 1 $?
contains "data test of doubled ran" "PASS not_null_doubled_id" t2.out
contains "unit test of doubled ran" "PASS doubled::test_doubled_nulls" t2.out
check "3 results" "3" "$(python3 -c "import json; print(len(json.load(open('target/run_results.json'))['results']))")"
"$CDBT" test -s test_type:data > t3.out 2>&1
check "data tests only exit code" 0 $?
check "data tests only: no unit test" "absent" "$(status test_doubled_wrong)"
"$CDBT" test -s test_events_incremental > t4.out 2>&1
check "one unit test by name" 0 $?

# ---- 5. build: unit tests before their model; the failing one skips doubled and doubled_child
"$CDBT" build > b.out 2>&1
check "build exit code" 1 $?
check "doubled skipped" "skipped" "$(status model.ut.doubled)"
check "doubled_child skipped" "skipped" "$(status model.ut.doubled_child)"
check "data test of doubled skipped" "skipped" "$(status not_null_doubled_id.7519f53a53)"
check "customer_orders built" "success" "$(status model.ut.customer_orders)"
check "big_customers built" "success" "$(status model.ut.big_customers)"
check "events_incr built" "success" "$(status model.ut.events_incr)"
check "unit test ran in build" "pass" "$(status test_customer_orders_dict)"
order=$(python3 -c "
import json
ids=[x['unique_id'] for x in json.load(open('target/run_results.json'))['results']]
print(ids.index('unit_test.ut.customer_orders.test_customer_orders_dict') < ids.index('model.ut.customer_orders'))")
check "unit test before its model" "True" "$order"
"$CDBT" build --exclude test_doubled_wrong > b2.out 2>&1
check "build without the failing test" 0 $?

# ---- 6. nothing left behind
check "no temp or stray tables" "" "$(q "select relname from pg_class where relname like '%dbt_tmp%'")"
check "relations of the schema" "big_customers
customer_orders
doubled
doubled_child
events_incr
order_summary
raw_customers
raw_events
raw_orders
stg_customers" "$(q "select table_name from information_schema.tables where table_schema = 'ut' order by 1")"

# ---- 7. an expected column the model does not have
sed -i 's/- {id: 3, doubled: 3}/- {id: 3, doubled: 3, nope: 1}/' models/unit_tests.yml
"$CDBT" test -s test_doubled_nulls > t5.out 2>&1
check "bad expected column exit code" 1 $?
contains "invalid column" "Invalid column name: 'nope' in unit test fixture for expected output." t5.out
check "bad expected column: error" "error" "$(status test_doubled_nulls)"

[ $fails = 0 ] && echo "unit_tests: all checks passed"
[ $fails = 0 ]
