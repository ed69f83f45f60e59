#!/usr/bin/env bash
# demo_project.sh - end to end on the bundled project (the repo root):
# parse, ls in every output format, compile (files, printed SQL, artifacts),
# --inline, selection, clean.  Runs on a copy so the checkout stays clean.
# No database: the telecom warehouse is checked as compiled SQL and manifest.
set -u
CDBT=${1:?usage: demo_project.sh path/to/cdbt}
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=$(command -v /usr/bin/python3 || command -v python3)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# the project's files: in a git checkout only the tracked ones (stray files
# other tests leave in the working tree must not change the project)
PROJ=(dbt_project.yml profiles.yml models seeds macros tests/data)
mkdir -p "$W/p/tests"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$SRC" && git ls-files -z -- "${PROJ[@]}" | xargs -0 cp --parents -t "$W/p/")
else
  (cd "$SRC" && cp -r --parents "${PROJ[@]}" "$W/p/")
fi
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
nodes = m["nodes"]
n = nodes["model.warehouse.gold_sales_by_product"]
for k in ["unique_id","resource_type","name","package_name","path","original_file_path","fqn","database",
          "schema","alias","relation_name","config","tags","meta","description","columns","depends_on",
          "refs","sources","raw_code","language","checksum","compiled_path","compiled","extra_ctes_injected",
          "extra_ctes","patch_path","unrendered_config","created_at","docs","contract","access","constraints",
          "version","latest_version","group"]:
    assert k in n, k
assert n["fqn"] == ["warehouse","gold","gold_sales_by_product"], n["fqn"]
assert n["config"]["materialized"] == "table"
assert n["tags"] == ["gold"], n["tags"]
# generate_schema_name is overridden: layer schemas are used as named
assert n["schema"] == "gold", n["schema"]
assert n["relation_name"] == '"warehouse"."gold"."gold_sales_by_product"', n["relation_name"]
assert sorted(n["depends_on"]["nodes"]) == ["model.warehouse.silver_transactions","model.warehouse.stg_products"], n["depends_on"]
assert sorted(n["depends_on"]["macros"]) == ["macro.warehouse.cents_to_dollars","macro.warehouse.to_cents"], n["depends_on"]
# layers: counts per folder
models = [v for k, v in nodes.items() if k.startswith("model.")]
layer = lambda name: sorted(v["name"] for v in models if v["fqn"][1] == name)
assert len(layer("bronze")) == 5, layer("bronze")
assert len(layer("silver")) == 22, layer("silver")
assert len(layer("gold")) == 14, layer("gold")
assert len([k for k in nodes if k.startswith("seed.")]) == 17
for t in ["department","worklocation","employee","employeeworklocation","salesperson","customer","orders",
          "tracking","plans","planinclusions","billinginformation","phonenumber","callrecords","salary","simdata"]:
    s = nodes["seed.warehouse." + t]
    assert s["schema"] == "bronze" and "operational" in s["tags"], (t, s["schema"], s["tags"])
    assert "model.warehouse.stg_" + t in m["child_map"]["seed.warehouse." + t], t
assert nodes["seed.warehouse.simdata"]["config"]["column_types"] == {"iccid": "text", "imsi": "text"}
# bronze: cleanse from landing files; silver: cleanse over bronze
b = nodes["model.warehouse.bronze_web_requests"]
assert b["config"]["materialized"] == "cleanse" and b["schema"] == "bronze"
assert b["config"]["input"] == {"path": "landing/weblogs/*.log", "format": "regex", "preset": "apache_combined"}, b["config"]["input"]
assert b["config"]["incremental"] == "files"
assert b["depends_on"]["nodes"] == []
s = nodes["model.warehouse.silver_transactions"]
assert s["config"]["materialized"] == "cleanse" and s["schema"] == "silver"
assert s["config"]["unique_key"] == "transaction_id"
assert s["depends_on"]["nodes"] == ["model.warehouse.bronze_transactions"]
assert s["columns"]["transaction_date"]["data_type"] == "date"
v = nodes["model.warehouse.stg_orders"]
assert v["config"]["materialized"] == "view" and v["tags"] == ["silver", "staging"], (v["config"]["materialized"], v["tags"])
f = nodes["model.warehouse.fact_sales"]
assert f["config"]["materialized"] == "incremental"
assert f["config"]["unique_key"] == "sale_id" and f["config"]["incremental_strategy"] == "delete+insert"
assert f["fqn"] == ["warehouse","gold","star","fact_sales"] and f["tags"] == ["gold","star"], (f["fqn"], f["tags"])
tests = [k for k in nodes if k.startswith("test.")]
names = sorted(nodes[k]["name"] for k in tests)
for want in ["accepted_values_stg_orders_order_status___var_order_statuses_",
             "relationships_fact_sales_device_key__device_key__ref_dim_device_",
             "relationships_fact_sales_sales_profile_key__sales_profile_key__ref_dim_sales_profile_",
             "unique_dim_device_device_key", "non_negative_fact_sales_net_amount",
             "row_count_between_dim_date_366__365", "assert_fact_sales_net_amount",
             "assert_fact_sales_rows_match_silver"]:
    assert want in names, (want, [x for x in names if x[:12] == want[:12]])
for uid in list(nodes) + list(m["sources"]):
    assert uid in m["parent_map"] and uid in m["child_map"], uid
assert "model.warehouse.fact_sales" in m["child_map"]["model.warehouse.silver_device_sales"]
for mac in ["generate_surrogate_key","cents_to_dollars","to_cents","date_spine","generate_schema_name",
            "test_non_negative","test_row_count_between","test_expression_is_true"]:
    assert "macro.warehouse." + mac in m["macros"], mac
PYEOF

out=$("$CDBT" ls --quiet 2>&1); rc=$?
check "ls exits 0" test $rc = 0
check "ls lists models by fqn" grep -qx "warehouse.gold.star.fact_sales" <<<"$out"
check "ls lists seeds" grep -qx "warehouse.callrecords" <<<"$out"
check "ls lists singular tests" grep -qx "warehouse.assert_fact_sales_net_amount" <<<"$out"
out=$("$CDBT" ls -q --resource-type model --output name)
check "ls --output name, models only (41)" test "$(wc -l <<<"$out")" = 41
check "ls --output name, sorted" test "$(head -1 <<<"$out") $(tail -1 <<<"$out")" = "bronze_ad_events stg_worklocation"
out=$("$CDBT" ls -q -s +fact_sales --resource-type model --output path)
check "ls +selector --output path" test "$out" = "$(printf 'models/bronze/bronze_device_sales.sql\nmodels/gold/star/fact_sales.sql\nmodels/silver/silver_device_sales.sql')"
out=$("$CDBT" ls -q -s tag:bronze --resource-type seed --output name | wc -l)
check "seeds carry the bronze tag" test "$out" = 17
out=$("$CDBT" ls -q -s fact_sales --resource-type test --output name)
check "indirect selection picks the model's tests" grep -q "^unique_fact_sales_sale_id$" <<<"$out"
check "eager indirect selection keeps fact_sales' relationships tests" grep -q "^relationships_fact_sales_device_key__device_key__ref_dim_device_$" <<<"$out"
out=$("$CDBT" ls -q -s tag:star --resource-type model --output json --output-keys name,resource_type)
check "ls json" grep -qx '{"name": "dim_device", "resource_type": "model"}' <<<"$out"
check "ls json: four star models" test "$(wc -l <<<"$out")" = 4

out=$("$CDBT" compile 2>&1); rc=$?
check "compile exits 0 ($out)" test $rc = 0
check "compiled model file" test -s target/compiled/warehouse/models/gold/gold_sales_by_product.sql
check "compiled generic test file" test -s target/compiled/warehouse/models/gold/star/_star.yml/unique_fact_sales_sale_id.sql
check "compiled singular test" test -s target/compiled/warehouse/tests/data/assert_fact_sales_net_amount.sql
check "run_results.json" test -s target/run_results.json
F=target/compiled/warehouse/models/gold/star/fact_sales.sql
check "ref rendered as relation" grep -q 'select \* from "warehouse"."silver"."silver_device_sales"' $F
check "is_incremental() false at compile: no batch filter" bash -c "! grep -q 'batch_id >=' $F"
check "surrogate key macro over var(device_attributes)" grep -q "md5(cast(coalesce(cast(s.brand as text), '_dbt_utils_surrogate_key_null_') || '-' || coalesce(cast(s.model as text), '_dbt_utils_surrogate_key_null_') || '-' || coalesce(cast(s.storage_gb as text), '_dbt_utils_surrogate_key_null_') || '-' || coalesce(cast(s.color as text), '_dbt_utils_surrogate_key_null_') as text)) as device_key" $F
check "dim_device key built the same way" grep -q "md5(cast(coalesce(cast(c.brand as text)" target/compiled/warehouse/models/gold/star/dim_device.sql
check "date spine macro" grep -q "generate_series" target/compiled/warehouse/models/gold/star/dim_date.sql
check "currency macros" grep -q "(sum(round((t.quantity \* t.unit_price) \* 100)::bigint) / 100.0)::numeric(16, 2) as total_sales" target/compiled/warehouse/models/gold/gold_sales_by_product.sql
T=target/compiled/warehouse/models/gold/star/_star.yml/row_count_between_dim_date_366__365.sql
check "custom generic test compiled" grep -q 'from (select count(\*) as row_count from "warehouse"."gold"."dim_date") counted' $T

out=$("$CDBT" compile -q -s stg_orders)
want='select
    order_id,
    customer_id,
    salesperson_id,
    plan_id,
    order_date,
    order_amount,
    round((order_amount) * 100)::bigint as order_amount_cents,
    status as order_status,
    status in ('"'"'placed'"'"', '"'"'shipped'"'"') as is_open
from "warehouse"."bronze"."orders"'
check "compile -s prints the SQL" test "$out" = "$want"
out=$("$CDBT" compile -q --inline "select count(*) from {{ ref('fact_sales') }}")
check "compile --inline" test "$out" = 'select count(*) from "warehouse"."gold"."fact_sales"'
out=$("$CDBT" compile -q --vars '{open_order_statuses: [placed]}' -s stg_orders)
check "--vars overrides project vars" grep -q "status in ('placed') as is_open" <<<"$out"
out=$(DBT_TARGET_PATH=elsewhere "$CDBT" parse -q); rc=$?
check "DBT_TARGET_PATH env twin" test -s elsewhere/manifest.json
"$CDBT" --version | grep -q '^cdbt ' && ok || bad "--version"
"$CDBT" --help | grep -q 'compile' && ok || bad "--help"
"$CDBT" compile --help | grep -q -- '--select' && ok || bad "compile --help"
"$CDBT" clean -q; check "clean removes target" test ! -e target/manifest.json
echo "demo_project: $pass passed, $fail failed"
[ $fail = 0 ]
