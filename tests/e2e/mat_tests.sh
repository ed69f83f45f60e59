#!/usr/bin/env bash
# mat_tests.sh - `cdbt test` against a throw-away PostgreSQL: the four
# generic tests passing and failing, a singular test, severity warn,
# warn_if/error_if, where, limit, store_failures into <schema>_dbt_test__audit,
# run_results.json statuses/messages/failures and the exit code.
#   usage: mat_tests.sh <path to cdbt>
set -u
CDBT=$(realpath "$1")
. "$(dirname "$0")/pg_env.sh"
PSQL="$PG_BIN/psql"
[ -x "$PSQL" ] || PSQL=psql
W=$(mktemp -d /tmp/cdbt-mat-tests.XXXXXX)
trap 'rm -rf "$W"; pg_env_stop' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
q() { "$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
expect_q() {
  local got; got=$(q "$1")
  [ "$got" = "$2" ] || fail "$1: expected [$2], got [$got]"
}
# All test results as "<test name>|<status>|<failures>|<message>", sorted.
results() {
  python3 - "$W/target/run_results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rows = []
for x in r["results"]:
    uid = x["unique_id"]
    if not uid.startswith("test."):
        continue
    name = uid.split(".")[2]
    rows.append("%s|%s|%s|%s" % (name, x["status"], x["failures"], x["message"]))
print("\n".join(sorted(rows)))
EOF
}
run() {
  local want=$1; shift
  (cd "$W" && "$CDBT" "$@" --profiles-dir "$W" >"$W/out.txt" 2>&1)
  local rc=$?
  [ "$rc" = "$want" ] || { fail "cdbt $* exited $rc, expected $want"; cat "$W/out.txt" >&2; }
  ! grep -q 'Sanitizer' "$W/out.txt" || { fail "cdbt $*: sanitizer report"; cat "$W/out.txt" >&2; }
}

mkdir -p "$W/models" "$W/tests"
cat >"$W/dbt_project.yml" <<'EOF'
name: matt
version: '1.0'
profile: matt
models:
  matt:
    +materialized: table
EOF
cat >"$W/profiles.yml" <<EOF
matt:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "$PGHOST"
      port: $PGPORT
      user: postgres
      password: ""
      dbname: postgres
      schema: t
      threads: 2
EOF
cat >"$W/models/customers.sql" <<'EOF'
select * from (values (1, 'ann'), (2, 'bob')) c(id, name)
EOF
cat >"$W/models/orders.sql" <<'EOF'
select * from (values
  (1, 1, 'placed', 10),
  (2, 1, 'shipped', 20),
  (2, 2, 'returned', -5),
  (3, 9, 'placed', 7),
  (null, 2, 'placed', 1)
) o(id, customer_id, status, amount)
EOF
cat >"$W/models/schema.yml" <<'EOF'
version: 2
models:
  - name: customers
    columns:
      - name: id
        data_tests:
          - unique
          - not_null
  - name: orders
    columns:
      - name: id
        data_tests:
          - unique:
              config:
                store_failures: true
          - not_null:
              config:
                severity: warn
          - not_null:
              name: id_not_null_where
              config:
                where: "status = 'shipped'"
      - name: status
        data_tests:
          - accepted_values:
              values: ['placed', 'shipped']
          - accepted_values:
              name: status_thresholds
              values: ['placed']
              config:
                warn_if: ">1"
                error_if: ">5"
      - name: customer_id
        data_tests:
          - relationships:
              to: ref('customers')
              field: id
          - not_null:
              name: customer_limit
              config:
                fail_calc: "count(*) + 3"
                limit: 1
EOF
cat >"$W/tests/no_negative_amounts.sql" <<'EOF'
select * from {{ ref('orders') }} where amount < 0
EOF

run 0 run
run 1 test
got=$(results)
want="accepted_values_orders_status__placed__shipped|fail|1|Got 1 result, configured to fail if != 0
customer_limit|fail|3|Got 3 results, configured to fail if != 0
id_not_null_where|pass|0|None
no_negative_amounts|fail|1|Got 1 result, configured to fail if != 0
not_null_customers_id|pass|0|None
not_null_orders_id|warn|1|Got 1 result, configured to warn if != 0
relationships_orders_customer_id__id__ref_customers_|fail|1|Got 1 result, configured to fail if != 0
status_thresholds|warn|2|Got 2 results, configured to warn if >1
unique_customers_id|pass|0|None
unique_orders_id|fail|1|Got 1 result, configured to fail if != 0"
[ "$got" = "$want" ] || fail "test results:
--- expected
$want
--- got
$got"
# store_failures: the failing rows, in the audit schema
expect_q "select unique_field || ':' || n_records from t_dbt_test__audit.unique_orders_id" "2:2"
# the test transaction is never committed: nothing else was created
expect_q "select string_agg(relname, ',' order by relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace where nspname in ('t', 't_dbt_test__audit') and relkind in ('r', 'v')" \
  "customers,orders,unique_orders_id"
# --warn-error: warnings become failures
run 1 test --warn-error
case "$(results)" in *"not_null_orders_id|fail|1|Got 1 result, configured to fail if != 0"*) ;; *) fail "--warn-error did not fail the warning test";; esac
# --store-failures stores every test; a passing one gives an empty table
run 1 test --store-failures
expect_q "select count(*) from t_dbt_test__audit.unique_customers_id" "0"
expect_q "select count(*) from t_dbt_test__audit.accepted_values_orders_status__placed__shipped" "1"

[ "$fails" = 0 ] || { echo "$fails check(s) failed" >&2; exit 1; }
echo "mat_tests: ok"
