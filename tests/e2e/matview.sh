#!/usr/bin/env bash
# matview.sh - the materialized_view materialization (dbt-postgres 1.9):
# created with its indexes; a later run refreshes it (new source rows show);
# an index config change is applied (on_configuration_change: apply, the
# default: old index dropped, new one created, data kept), skipped with a
# warning (continue) or refused (fail, the view left alone); --full-refresh
# and a table or view in its place go through __dbt_tmp / __dbt_backup;
# a materialized view replaced by a table or a view model; refs to it work;
# grants and persist_docs.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-matview-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
rm -rf tests models/*
. "$HERE/assert.sh"
cat > dbt_project.yml <<'YML'
name: e2e_mv
profile: e2e
models:
  e2e_mv:
    +materialized: view
YML
q "create schema raw; create table raw.ev (id int, kind text); insert into raw.ev values (1, 'a'), (2, 'b'), (3, 'a');
   create role mv_reader" >/dev/null
mv() {   # mv <config args>
  cat > models/mv.sql <<SQL
{{ config(materialized='materialized_view', $1) }}
select kind, count(*) as n from raw.ev group by kind
SQL
}
mv "indexes=[{'columns': ['kind'], 'unique': True}], grants={'select': ['mv_reader']}, persist_docs={'relation': true}"
cat > models/schema.yml <<'YML'
version: 2
models:
  - name: mv
    description: "kinds and counts"
YML
echo "select * from {{ ref('mv') }} where n > 1" > models/downstream.sql
KIND="select relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where nspname = 'analytics' and relname = 'mv'"
IDX="select string_agg(indexdef, ' ; ' order by indexdef) from pg_indexes where schemaname = 'analytics' and tablename = 'mv'"
ROWS="select string_agg(kind || '=' || n, ',' order by kind) from analytics.mv"

# ---- 1. create
"$CDBT" run > r1.out 2>&1
check "create exit code" 0 $?
contains "status line" "OK created sql materialized_view model analytics.mv" r1.out
check "a materialized view" "m" "$(q "$KIND")"
check "rows" "a=2,b=1" "$(q "$ROWS")"
check "unique index on kind" "1" "$(q "select count(*) from pg_indexes where schemaname = 'analytics' and tablename = 'mv' and indexdef like 'CREATE UNIQUE INDEX % USING btree (kind)'")"
check "grant" "t" "$(q "select has_table_privilege('mv_reader', 'analytics.mv', 'select')")"
check "comment" "kinds and counts" "$(q "select obj_description('analytics.mv'::regclass)")"
check "downstream view over it" "a|2" "$(q "select * from analytics.downstream")"
contains "create sent" 'create materialized view if not exists "postgres"."analytics"."mv" as' target/run/e2e_mv/models/mv.sql

# ---- 2. no change: refresh
q "insert into raw.ev values (4, 'b'), (5, 'c')" >/dev/null
idx_before=$(q "$IDX")
"$CDBT" run -s mv > r2.out 2>&1
check "refresh exit code" 0 $?
check "refreshed rows" "a=2,b=2,c=1" "$(q "$ROWS")"
check "refresh kept the index" "$idx_before" "$(q "$IDX")"
contains "refresh sent" 'refresh materialized view "postgres"."analytics"."mv"' target/run/e2e_mv/models/mv.sql
check "run_results message" "REFRESH MATERIALIZED VIEW" "$(python3 -c "import json; print(json.load(open('target/run_results.json'))['results'][0]['message'])")"

# ---- 3. an index change, on_configuration_change: fail / continue / apply
mv "indexes=[{'columns': ['n']}], on_configuration_change='fail'"
"$CDBT" run -s mv > r3.out 2>&1
check "fail exit code" 1 $?
contains "fail message" 'Configuration changes were identified and `on_configuration_change` was set to `fail` for `"postgres"."analytics"."mv"`' r3.out
check "fail left the view alone" "$idx_before" "$(q "$IDX")"
mv "indexes=[{'columns': ['n']}], on_configuration_change='continue'"
q "insert into raw.ev values (6, 'd')" >/dev/null
"$CDBT" run -s mv > r4.out 2>&1
check "continue exit code" 0 $?
contains "continue warning" 'was set to `continue` for `"postgres"."analytics"."mv"`' r4.out
check "continue: not refreshed" "a=2,b=2,c=1" "$(q "$ROWS")"
check "continue: indexes unchanged" "$idx_before" "$(q "$IDX")"
mv "indexes=[{'columns': ['n']}]"
"$CDBT" run -s mv > r5.out 2>&1
check "apply exit code" 0 $?
check "apply: old index gone, new one on n" "1|1" \
  "$(q "select count(*) filter (where indexdef like '% USING btree (n)'), count(*) from pg_indexes where schemaname = 'analytics' and tablename = 'mv'")"
check "apply: still the same relation (not rebuilt), data as before the apply" "a=2,b=2,c=1" "$(q "$ROWS")"
mv "indexes=[{'columns': ['n']}]"
"$CDBT" run -s mv > r6.out 2>&1
check "same indexes again: refresh" "a=2,b=2,c=1,d=1" "$(q "$ROWS")"

# ---- 4. --full-refresh: rebuilt through __dbt_tmp / __dbt_backup
oid1=$(q "select 'analytics.mv'::regclass::oid")
"$CDBT" run -s mv --full-refresh > r7.out 2>&1
check "full refresh exit code" 0 $?
check "full refresh: a new relation" "t" "$(q "select 'analytics.mv'::regclass::oid <> $oid1")"
check "full refresh: its index" "1" "$(q "select count(*) from pg_indexes where schemaname = 'analytics' and tablename = 'mv' and indexdef like '% USING btree (n)'")"
check "no __dbt_tmp / __dbt_backup left" "" "$(q "select relname from pg_class where relname like 'mv__dbt%'")"
contains "renamed with alter materialized view" 'alter materialized view "postgres"."analytics"."mv" rename to "mv__dbt_backup"' target/run/e2e_mv/models/mv.sql

# ---- 5. a table in its place becomes a materialized view, and back
q "drop materialized view analytics.mv cascade; create table analytics.mv (x int)" >/dev/null
"$CDBT" run -s mv > r8.out 2>&1
check "table -> materialized view exit code" 0 $?
check "now a materialized view" "m" "$(q "$KIND")"
echo "{{ config(materialized='table') }} select 1 as x" > models/mv.sql
"$CDBT" run -s mv > r9.out 2>&1
check "materialized view -> table exit code" 0 $?
check "now a table" "r" "$(q "$KIND")"
echo "select 2 as x" > models/mv.sql
mv "indexes=[]"
"$CDBT" run -s mv > r10.out 2>&1
echo "select 3 as x" > models/mv.sql
"$CDBT" run -s mv > r11.out 2>&1
check "materialized view -> view exit code" 0 $?
check "now a view" "v|3" "$(q "$KIND")|$(q "select x from analytics.mv")"

# ---- 6. a failing query leaves the old one
mv "indexes=[]"
"$CDBT" run -s mv > r12.out 2>&1
echo "{{ config(materialized='materialized_view') }} select nope from raw.ev" > models/mv.sql
"$CDBT" run -s mv --full-refresh > r13.out 2>&1
check "broken query exit code" 1 $?
check "old materialized view kept" "m" "$(q "$KIND")"

[ $fails = 0 ] && echo "matview: all checks passed"
[ $fails = 0 ]
