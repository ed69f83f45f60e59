#!/usr/bin/env bash
# clone.sh - `cdbt clone --state DIR` (dbt's clone on PostgreSQL, which has
# no zero-copy clones): every selected model, seed and snapshot the state
# built becomes a view `select * from` the state's relation in the current
# target; a relation that already exists is left alone ("No-op") unless
# --full-refresh, which replaces even a table; a node the state lacks is a
# "No-op" with dbt's info line; ephemeral models and tests are not cloned;
# run_results.json says what happened; without --state (or with a
# directory without manifest.json) it is a usage error, exit 2; a failing
# clone is exit 1 and does not stop the others.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-clone-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
mkdir -p "$W/p/models" "$W/p/seeds"
cd "$W/p"
. "$HERE/assert.sh"
cat > dbt_project.yml <<'YML'
name: e2e_clone
profile: e2e
models:
  e2e_clone:
    +materialized: table
YML
sed 's/schema: analytics/schema: "{{ env_var('"'"'SCHEMA'"'"', '"'"'dev'"'"') }}"/' "$HERE/../fixtures/e2e/run_basic/profiles.yml" > profiles.yml
printf 'code,label\n1,one\n2,two\n' > seeds/codes.csv
echo "select 1 as id, 'prod-a' as src" > models/a.sql
echo "{{ config(materialized='ephemeral') }} select id from {{ ref('a') }}" > models/e.sql
echo "select e.id, c.label from {{ ref('e') }} e join {{ ref('codes') }} c on c.code = e.id" > models/b.sql
cat > models/schema.yml <<'YML'
version: 2
models:
  - name: a
    columns:
      - name: id
        data_tests: [unique]
YML

SCHEMA=prod "$CDBT" build > prod.out 2>&1 || { echo "prod build failed"; cat prod.out; exit 1; }
cp -r target prod-artifacts
# a model the state does not have
echo "select 2 as id" > models/new_model.sql

# ---- 1. usage errors
"$CDBT" clone > c0.out 2>&1
check "no --state: exit 2" 2 $?
contains "no --state: dbt's message" "--state is required for cloning relations from another environment" c0.out
"$CDBT" clone --state nowhere > c0b.out 2>&1
check "no manifest: exit 2" 2 $?
contains "no manifest: dbt's message" 'Could not find manifest in --state path: "nowhere"' c0b.out

# ---- 2. everything: views over prod
"$CDBT" clone --state prod-artifacts > c1.out 2>&1
check "clone exit code" 0 $?
check "views in dev" "a:VIEW b:VIEW codes:VIEW" \
    "$(q "select string_agg(table_name || ':' || case table_type when 'VIEW' then 'VIEW' else 'TABLE' end, ' ' order by table_name) from information_schema.tables where table_schema = 'dev'")"
check "dev.b reads prod" "1|one" "$(q "select * from dev.b")"
check "view definition points at prod" "1" "$(q "select count(*) from pg_views where schemaname = 'dev' and viewname = 'b' and definition like '%prod.b%'")"
contains "the new model: dbt's info line" "No relation found in state manifest for model.e2e_clone.new_model" c1.out
contains "summary" "Done. PASS=4 WARN=0 ERROR=0 SKIP=0 TOTAL=4" c1.out
check "no per-node lines (dbt's clone runner prints none)" "" "$(grep -E 'START|OK created' c1.out)"
check "run_results: command, statuses and messages" \
    "clone model.e2e_clone.a:success:CREATE VIEW model.e2e_clone.b:success:CREATE VIEW model.e2e_clone.new_model:success:No-op seed.e2e_clone.codes:success:CREATE VIEW" \
    "$(python3 -c "
import json; r=json.load(open('target/run_results.json'))
print(r['args']['which'], ' '.join(sorted(x['unique_id']+':'+x['status']+':'+str(x['message']) for x in r['results'])))")"

# ---- 3. again: the relations exist -> No-op
"$CDBT" clone --state prod-artifacts > c2.out 2>&1
check "second clone exit code" 0 $?
contains "existing relation: dbt's info line" 'Relation "postgres"."dev"."a" already exists' c2.out
check "second clone: all No-op" "No-op No-op No-op No-op" \
    "$(python3 -c "
import json; r=json.load(open('target/run_results.json'))
print(' '.join(x['message'] for x in sorted(r['results'], key=lambda x: x['unique_id'])))")"

# ---- 4. --full-refresh replaces what is there, a table too; selection
q "drop view dev.a; create table dev.a as select 99 as id, 'dev' as src" >/dev/null
"$CDBT" clone -s a --state prod-artifacts > c3.out 2>&1
check "selected, existing table kept" "99|dev" "$(q "select * from dev.a")"
"$CDBT" clone -s a --state prod-artifacts --full-refresh > c4.out 2>&1
check "full refresh exit code" 0 $?
check "full refresh: the table became a view over prod" "VIEW 1|prod-a" \
    "$(q "select table_type from information_schema.tables where table_schema = 'dev' and table_name = 'a'") $(q "select * from dev.a")"
contains "only a" "Done. PASS=1 WARN=0 ERROR=0 SKIP=0 TOTAL=1" c4.out

# ---- 5. a failing clone (its state relation is gone) does not stop the others
q "drop table prod.codes cascade" >/dev/null
"$CDBT" clone --state prod-artifacts --full-refresh > c5.out 2>&1
check "failure: exit code 1" 1 $?
contains "failure: the error" 'relation "prod.codes" does not exist' c5.out
contains "failure: the others went on" "Done. PASS=3 WARN=0 ERROR=1 SKIP=0 TOTAL=4" c5.out

# ---- 6. retry: the failed node alone, with the clone's --state and --full-refresh
q "create table prod.codes as select 1 as code, 'one' as label" >/dev/null
"$CDBT" retry > c6.out 2>&1
check "retry of a clone: exit code" 0 $?
contains "retry: codes alone" "Done. PASS=1 WARN=0 ERROR=0 SKIP=0 TOTAL=1" c6.out
check "retry: codes is a view over prod again" "VIEW 1|one" \
    "$(q "select table_type from information_schema.tables where table_schema = 'dev' and table_name = 'codes'") $(q "select * from dev.codes")"

[ $fails = 0 ] && echo "clone: all checks passed"
exit $fails
