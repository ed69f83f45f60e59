#!/usr/bin/env bash
# warehouse.sh - the bundled telecom warehouse (the repository root) built
# end to end against a real PostgreSQL at the small size, and its gold
# figures checked against the figures bench/datagen computes independently
# from the rows it generated (`datagen --expect`).
#
#   batch 1 -> cdbt build: every seed, model and test passes; gold == expected;
#              rejects tables hold exactly the rows the generator spoiled
#   batch 2 -> cdbt build: incremental models take in the batch; gold == expected(1..2)
#   build again, and land batch 2 a second time: nothing changes (idempotent)
#
# Usage: warehouse.sh path/to/cdbt   (datagen is looked up next to cdbt in
# bench/datagen/, else compiled from bench/datagen/datagen.c with cc).
set -u
CDBT=${1:?usage: warehouse.sh path/to/cdbt}
case "$CDBT" in /*) ;; *) CDBT=$PWD/$CDBT ;; esac
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$(cd "$(dirname "$0")" && pwd)
ROWS=1000
W=$(mktemp -d)
chmod 755 "$W"

DATAGEN=${CDBT_DATAGEN:-$(dirname "$CDBT")/bench/datagen/datagen}
if [ ! -x "$DATAGEN" ]; then
  DATAGEN=$W/datagen
  cc -std=c11 -O2 -o "$DATAGEN" "$SRC/bench/datagen/datagen.c" || { echo "FAIL: cannot build datagen"; exit 1; }
fi

. "$HERE/pg_env.sh"
trap 'pg_env_stop; rm -rf "$W"' EXIT

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
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
build() { "$CDBT" build --target pg >"$W/build.log" 2>&1; }

# the gold figures in datagen --expect's line format
GOLD_SQL="
select 'sales_by_product|' || product_code || '|' || orders || '|' || units || '|' || total_sales from gold.gold_sales_by_product
union all select 'campaign|' || campaign_id || '|' || impressions || '|' || clicks || '|' || coalesce(ctr::text, '') || '|' || spend from gold.gold_campaign_performance
union all select 'http_status|' || status_code || '|' || requests from gold.gold_http_status_counts
union all select 'http_hour|' || hour_of_day || '|' || requests from gold.gold_http_hourly_traffic
union all select 'social_likes|' || product_code || '|' || posts || '|' || avg_likes from gold.gold_product_social_engagement
union all select 'fact_sales|' || count(*) || '|' || coalesce(sum(quantity), 0) || '|' || coalesce(sum(net_amount), 0.00) from gold.fact_sales
union all select 'dim_device|' || count(*) from gold.dim_device
union all select 'dim_sales_junk|' || count(*) from gold.dim_sales_profile
union all select 'rows|silver_transactions|' || count(*) from silver.silver_transactions
union all select 'rows|silver_web_requests|' || count(*) from silver.silver_web_requests
union all select 'rows|silver_social_posts|' || count(*) from silver.silver_social_posts
union all select 'rows|silver_ad_events|' || count(*) from silver.silver_ad_events
union all select 'rows|silver_device_sales|' || count(*) from silver.silver_device_sales"

expect() { "$DATAGEN" --expect --rows $ROWS --batch "$1"; }
gold_matches() {  # batch: gold tables == datagen's figures for batches 1..batch
  expect "$1" | grep -E -v '^(reader_rejects|rule_rejects|lines)\|' | sort >"$W/want.txt"
  q "$GOLD_SQL" | sort >"$W/got.txt"
  if diff "$W/want.txt" "$W/got.txt" >"$W/gold.diff"; then return 0; fi
  head -20 "$W/gold.diff"; return 1
}

# ---- batch 1
"$DATAGEN" --out landing --rows $ROWS --batch 1 || bad "datagen batch 1"
build; rc=$?
check "build batch 1 exits 0 (rc=$rc; $(grep -E 'ERROR|FAIL|Error' "$W/build.log" | head -5))" test $rc = 0
for node in department callrecords bronze_transactions bronze_web_requests silver_social_posts stg_orders \
            gold_sales_by_product gold_payroll_by_department dim_device fact_sales; do
  check "console shows $node being built" grep -q "$node" "$W/build.log"
done
PY=$(command -v /usr/bin/python3 || command -v python3)
check "run_results: every node succeeded or passed" "$PY" - <<'PYEOF'
import json, collections
r = json.load(open("target/run_results.json"))["results"]
bad = [(x["unique_id"], x["status"], (x.get("message") or "")[:200]) for x in r if x["status"] not in ("success", "pass")]
kinds = collections.Counter(x["unique_id"].split(".")[0] for x in r)
assert not bad, bad[:10]
assert kinds["seed"] == 17 and kinds["model"] == 41 and kinds["test"] >= 250, kinds
PYEOF
check "gold figures after batch 1 match the generator" gold_matches 1
for feed in transactions web_requests social_posts ad_events device_sales; do
  want=$(expect 1 | grep "^reader_rejects|$feed|" | cut -d'|' -f3)
  got=$(q "select count(distinct (source, line)) from bronze.bronze_${feed}__rejects")
  check "bronze_${feed}__rejects holds the $want unreadable rows (got $got)" test "$got" = "$want"
  want=$(expect 1 | grep "^rule_rejects|$feed|" | cut -d'|' -f3)
  [ -n "$want" ] || want=0
  got=$(q "select count(distinct line) from silver.silver_${feed}__rejects")
  check "silver_${feed}__rejects holds the $want rows failing a rule (got $got)" test "$got" = "$want"
done
got=$(q "select count(*) from silver.silver_transactions__rejects where column_name = 'quantity' and rule = 'integer'")
check "a bad quantity is rejected by the integer rule ($got)" test "${got:-0}" -gt 0
got=$(q "select string_agg(distinct payment_method, ',' order by payment_method) from silver.silver_transactions")
check "null tokens become the default, case is folded ($got)" test "$got" = "card,cash,direct_debit,paypal,unknown"
got=$(q "select count(*) from bronze.bronze_transactions where transaction_id <> trim(transaction_id)")
check "bronze keeps the landing text as delivered (padded ids: $got)" test "${got:-0}" -gt 0
got=$(q "select count(*) from gold.fact_sales f left join gold.dim_device d using (device_key) where d.device_key is null")
check "every fact row finds its device" test "$got" = 0
got=$(q "select count(*) from gold.dim_device where device_key <> md5(brand || '-' || model || '-' || storage_gb || '-' || color)")
check "dim_device key is the MD5 of its attributes" test "$got" = 0
got=$(q "select count(*) from gold.dim_sales_profile where sales_profile_key <> md5(region || '-' || classification)")
check "junk dimension key is the MD5 of region and classification" test "$got" = 0
got=$(q "select total_payroll from gold.gold_payroll_by_department where department_name = 'Sales'")
want=$(awk -F, 'FNR == 1 { f++ } f == 1 && FNR > 1 && $5 == 1 { e[$1] = 1 }
                f == 2 && FNR > 1 && ($2 in e) { c += ($4 + $5) * 100 } END { printf "%.2f", c / 100 }' \
           "$SRC/seeds/employee.csv" "$SRC/seeds/salary.csv")
check "payroll of Sales matches the seeds ($got vs $want)" test "$got" = "$want"
bronze1=$(q "select count(*) from bronze.bronze_device_sales")

# ---- batch 2: the incremental models take it in
"$DATAGEN" --out landing --rows $ROWS --batch 2 || bad "datagen batch 2"
build; rc=$?
check "build batch 2 exits 0 (rc=$rc; $(grep -E 'ERROR|FAIL|Error' "$W/build.log" | head -5))" test $rc = 0
check "gold figures after batch 2 match the generator (batches 1+2)" gold_matches 2
bronze2=$(q "select count(*) from bronze.bronze_device_sales")
want=$(( bronze1 + $(expect 2 | grep '^lines|device_sales|' | cut -d'|' -f3) - $(expect 1 | grep '^lines|device_sales|' | cut -d'|' -f3) \
         - $(expect 2 | grep '^reader_rejects|device_sales|' | cut -d'|' -f3) + $(expect 1 | grep '^reader_rejects|device_sales|' | cut -d'|' -f3) ))
check "bronze appended batch 2 ($bronze1 -> $bronze2, want $want)" test "$bronze2" = "$want"
got=$(q "select string_agg(batch_id || ':' || n, ',' order by batch_id) from (select batch_id, count(*) n from gold.fact_sales group by 1) s")
check "fact_sales holds both batches ($got)" grep -q '^1:[0-9]*,2:[0-9]*$' <<<"$got"
snap() { q "select count(*), sum(net_amount), md5(string_agg(sale_id || device_key || sales_profile_key, ',' order by sale_id)) from gold.fact_sales"; }
before=$(snap)

# ---- the same batch again: nothing changes
build; rc=$?
check "rebuild exits 0" test $rc = 0
check "rebuilding the same batch adds nothing to fact_sales" test "$(snap)" = "$before"
check "bronze skipped the files it already loaded" test "$(q 'select count(*) from bronze.bronze_device_sales')" = "$bronze2"
"$DATAGEN" --out landing --rows $ROWS --batch 2 || bad "datagen batch 2 again"
build; rc=$?
check "build after re-landing batch 2 exits 0" test $rc = 0
check "re-landing batch 2 changes nothing" test "$(snap)" = "$before"
check "gold figures unchanged" gold_matches 2
"$CDBT" run --target pg -s fact_sales >"$W/run.log" 2>&1
check "running fact_sales alone again is idempotent" test "$(snap)" = "$before"

echo "warehouse: $pass passed, $fail failed"
[ $fail = 0 ]
