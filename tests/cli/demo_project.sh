#!/usr/bin/env bash
# demo_project.sh - end to end on the bundled project (the repo root):
# parse, ls in every output format, compile (files, printed SQL, artifacts),
# --inline, selection, clean.  Runs on a copy so the checkout stays clean.
set -u
CDBT=${1:?usage: demo_project.sh path/to/cdbt}
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=$(command -v /usr/bin/python3 || command -v python3)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/p"
cp -r "$SRC/dbt_project.yml" "$SRC/profiles.yml" "$SRC/models" "$SRC/seeds" "$SRC/macros" "$W/p/"
mkdir -p "$W/p/tests" && cp -r "$SRC/tests/data" "$W/p/tests/"
cd "$W/p"
pass=0; fail=0
ok()   { pass=$((pass+1)); }
bad()  { echo "FAIL: $*"; fail=$((fail+1)); }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

out=$("$CDBT" parse 2>&1); rc=$?
check "parse exits 0 ($out)" test $rc = 0
check "parse writes manifest" test -s target/manifest.json

check "manifest has dbt's top-level keys and node fields" "$PY" - <<'PYEOF'
import json, sys
m = json.load(open("target/manifest.json"))
need = ["metadata","nodes","sources","macros","docs","exposures","metrics","groups","selectors",
        "disabled","parent_map","child_map","group_map","saved_queries","semantic_models","unit_tests"]
missing = [k for k in need if k not in m]
assert not missing, missing
assert m["metadata"]["dbt_schema_version"].endswith("manifest/v12.json")
assert m["metadata"]["project_name"] == "warehouse"
n = m["nodes"]["model.warehouse.customer_orders"]
for k in ["unique_id","resource_type","name","package_name","path","original_file_path","fqn","database",
          "schema","alias","relation_name","config","tags","meta","description","columns","depends_on",
          "refs","sources","raw_code","language","checksum","compiled_path","compiled","extra_ctes_injected",
          "extra_ctes","patch_path","unrendered_config","created_at","docs","contract","access","constraints",
          "version","latest_version","group"]:
    assert k in n, k
assert n["fqn"] == ["warehouse","marts","customer_orders"], n["fqn"]
assert n["config"]["materialized"] == "table"
assert "marts" in n["tags"], n["tags"]
assert n["schema"] == "analytics", n["schema"]
assert n["relation_name"] == '"warehouse"."analytics"."customer_orders"', n["relation_name"]
assert sorted(n["depends_on"]["nodes"]) == ["model.warehouse.stg_customers","model.warehouse.stg_orders"], n["depends_on"]
e = m["nodes"]["model.warehouse.stg_orders"]
assert e["config"]["materialized"] == "ephemeral"
assert e["relation_name"] is None
tests = [k for k in m["nodes"] if k.startswith("test.")]
names = sorted(m["nodes"][k]["name"] for k in tests)
assert "accepted_values_stg_orders_status___var_order_statuses_" in names, names
assert "relationships_customer_orders_customer_id__customer_id__ref_stg_customers_" in names, names
assert "assert_no_negative_lifetime_value" in names, names
for uid in list(m["nodes"]) + list(m["sources"]):
    assert uid in m["parent_map"] and uid in m["child_map"], uid
assert "model.warehouse.customer_orders" in m["child_map"]["model.warehouse.stg_customers"]
assert "macro.warehouse.cents_to_dollars" in m["macros"]
PYEOF

out=$("$CDBT" ls --quiet 2>&1); rc=$?
check "ls exits 0" test $rc = 0
check "ls lists models by fqn" grep -qx "warehouse.staging.stg_customers" <<<"$out"
check "ls lists seeds" grep -qx "warehouse.raw_orders" <<<"$out"
out=$("$CDBT" ls -q --resource-type model --output name)
check "ls --output name, models only" test "$out" = "$(printf 'customer_orders\nstg_customers\nstg_orders')"
out=$("$CDBT" ls -q -s +customer_orders --resource-type model --output path)
check "ls +selector --output path" test "$out" = "$(printf 'models/marts/customer_orders.sql\nmodels/staging/stg_customers.sql\nmodels/staging/stg_orders.sql')"
out=$("$CDBT" ls -q -s stg_customers --resource-type test --output name)
check "indirect selection picks the model's tests" grep -q "^unique_stg_customers_customer_id$" <<<"$out"
out=$("$CDBT" ls -q -s tag:marts --output json --output-keys name,resource_type)
check "ls json" grep -qx '{"name": "customer_orders", "resource_type": "model"}' <<<"$out"

out=$("$CDBT" compile 2>&1); rc=$?
check "compile exits 0 ($out)" test $rc = 0
check "compiled model file" test -s target/compiled/warehouse/models/marts/customer_orders.sql
check "compiled generic test file" test -s target/compiled/warehouse/models/staging/schema.yml/unique_stg_customers_customer_id.sql
check "compiled singular test" test -s target/compiled/warehouse/tests/data/assert_no_negative_lifetime_value.sql
check "run_results.json" test -s target/run_results.json
check "ephemeral injected as CTE" grep -Eq "^with  ?__dbt__cte__stg_orders as \($" target/compiled/warehouse/models/marts/customer_orders.sql
check "ref rendered as relation" grep -q 'from "warehouse"."analytics"."stg_customers" c' target/compiled/warehouse/models/marts/customer_orders.sql
check "var loop rendered" grep -q "as returned_amount" target/compiled/warehouse/models/marts/customer_orders.sql

out=$("$CDBT" compile -q -s stg_customers)
want='select
    id as customer_id,
    first_name,
    last_name
from "warehouse"."analytics"."raw_customers"'
check "compile -s prints the SQL" test "$out" = "$want"
out=$("$CDBT" compile -q --inline "select count(*) from {{ ref('customer_orders') }}")
check "compile --inline" test "$out" = 'select count(*) from "warehouse"."analytics"."customer_orders"'
out=$("$CDBT" compile -q --vars '{order_statuses: [open]}' -s customer_orders)
check "--vars overrides project vars" grep -q "as open_amount" <<<"$out"
out=$(DBT_TARGET_PATH=elsewhere "$CDBT" parse -q); rc=$?
check "DBT_TARGET_PATH env twin" test -s elsewhere/manifest.json
"$CDBT" --version | grep -q '^cdbt ' && ok || bad "--version"
"$CDBT" --help | grep -q 'compile' && ok || bad "--help"
"$CDBT" compile --help | grep -q -- '--select' && ok || bad "compile --help"
"$CDBT" clean -q; check "clean removes target" test ! -e target/manifest.json
echo "demo_project: $pass passed, $fail failed"
[ $fail = 0 ]
