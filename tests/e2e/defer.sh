#!/usr/bin/env bash
# defer.sh - `--defer --state DIR` (slim CI): a prod target is built and its
# manifest.json kept; in a dev schema, `run -s state:modified --defer`
# builds only the edited model, whose ref() of an upstream model that was
# not selected and does not exist in dev reads prod's relation; an upstream
# that exists in dev is read there unless --favor-state; selected nodes are
# never deferred; seeds defer too; `test --defer` runs tests against prod
# relations; `compile --defer` (no database) renders prod's relations;
# --defer-state; --defer without a state directory is an error (exit 2).
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-defer-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
mkdir -p "$W/p/models" "$W/p/seeds"
cd "$W/p"
. "$HERE/assert.sh"
cat > dbt_project.yml <<'YML'
name: e2e_defer
profile: e2e
models:
  e2e_defer:
    +materialized: table
YML
sed 's/schema: analytics/schema: "{{ env_var('"'"'SCHEMA'"'"', '"'"'dev'"'"') }}"/' "$HERE/../fixtures/e2e/run_basic/profiles.yml" > profiles.yml
printf 'code,label\n1,one\n2,two\n' > seeds/codes.csv
echo "select 1 as id, 'prod-a' as src" > models/a.sql
echo "select id, src from {{ ref('a') }}" > models/b.sql
echo "select b.id, b.src, c.label from {{ ref('b') }} b join {{ ref('codes') }} c on c.code = b.id" > models/c.sql
cat > models/schema.yml <<'YML'
version: 2
models:
  - name: a
    columns:
      - name: id
        data_tests: [unique, not_null]
YML

# prod: everything, artifacts kept
SCHEMA=prod "$CDBT" build > prod.out 2>&1 || { echo "prod build failed"; cat prod.out; exit 1; }
cp -r target prod-artifacts
check "prod built" "1|prod-a|one" "$(q "select * from prod.c")"

# ---- 1. the edited model alone, upstream read from prod
echo "select b.id, b.src || '-dev' as src, c.label from {{ ref('b') }} b join {{ ref('codes') }} c on c.code = b.id" > models/c.sql
"$CDBT" run -s state:modified --defer --state prod-artifacts > d1.out 2>&1
check "deferred run exit code" 0 $?
contains "only c ran" "Done. PASS=1 WARN=0 ERROR=0 SKIP=0 TOTAL=1" d1.out
check "dev.c built from prod's b and seed" "1|prod-a-dev|one" "$(q "select * from dev.c")"
check "nothing else in dev" "c" "$(q "select string_agg(table_name, ',') from information_schema.tables where table_schema = 'dev'")"
contains "compiled against prod" '"prod"."b"' target/run/e2e_defer/models/c.sql
contains "seed deferred too" '"prod"."codes"' target/run/e2e_defer/models/c.sql

# ---- 2. without --defer: the dev relations (missing) -> error
"$CDBT" run -s c > d2.out 2>&1
check "no defer: exit code 1" 1 $?
contains "no defer: dev.b missing" 'relation "dev.b" does not exist' d2.out

# ---- 3. an upstream that exists in dev is read in dev; --favor-state reads prod
q "create table dev.b as select 7 as id, 'dev-b' as src; insert into prod.codes values (7, 'seven')" >/dev/null
"$CDBT" run -s c --defer --state prod-artifacts > d3.out 2>&1
check "existing dev relation exit code" 0 $?
check "dev.b used (exists in dev), seed still from prod" "7|dev-b-dev|seven" "$(q "select * from dev.c")"
"$CDBT" run -s c --defer --favor-state --state prod-artifacts > d4.out 2>&1
check "favor-state exit code" 0 $?
check "favor-state: prod.b" "1|prod-a-dev|one" "$(q "select * from dev.c")"
DBT_DEFER=1 DBT_FAVOR_STATE=1 DBT_STATE=prod-artifacts "$CDBT" compile -q -s c > /dev/null 2>&1
contains "DBT_DEFER / DBT_FAVOR_STATE / DBT_STATE" '"prod"."b"' target/compiled/e2e_defer/models/c.sql

# ---- 4. selected nodes are never deferred
"$CDBT" run -s b c --defer --state prod-artifacts > d5.out 2>&1
check "selected upstream exit code" 0 $?
check "b rebuilt in dev and used" "1|prod-a-dev|one" "$(q "select * from dev.c")"
contains "c reads dev.b" '"dev"."b"' target/run/e2e_defer/models/c.sql

# ---- 5. tests against prod relations; compile without a database
q "drop table dev.b" >/dev/null
"$CDBT" test -s a --defer --state prod-artifacts > d6.out 2>&1
check "test --defer exit code" 0 $?
contains "tests ran against prod.a" '"prod"."a"' target/run/e2e_defer/models/schema.yml/unique_a_id.sql
"$CDBT" compile -s c --defer --defer-state prod-artifacts > d7.out 2>&1
check "compile --defer-state exit code" 0 $?
contains "compile renders prod's relation" '"prod"."b"' d7.out

# ---- 6. retry keeps the deferral: a failed deferred run, fixed, retried
q "drop table if exists dev.b" >/dev/null
cp models/c.sql c.sql.good
echo "select b.id, b.src, c.label, 1 / 0 as boom from {{ ref('b') }} b join {{ ref('codes') }} c on c.code = b.id" > models/c.sql
"$CDBT" run -s c --defer --state prod-artifacts > d8.out 2>&1
check "deferred run that fails: exit 1" 1 $?
cp c.sql.good models/c.sql
"$CDBT" retry > d9.out 2>&1
check "retry of a deferred run: exit code" 0 $?
contains "retry: only c" "Done. PASS=1 WARN=0 ERROR=0 SKIP=0 TOTAL=1" d9.out
contains "retry: still deferred to prod" '"prod"."b"' target/run/e2e_defer/models/c.sql
check "retry: run_results args keep state and defer" "prod-artifacts True" \
    "$(python3 -c "import json; a=json.load(open('target/run_results.json'))['args']; print(a.get('state'), a.get('defer'))")"

# ---- 7. errors
"$CDBT" run -s c --defer > e1.out 2>&1
check "--defer without --state: exit 2" 2 $?
contains "--defer without --state: message" "Received a --defer argument, but no value was provided to --state" e1.out
"$CDBT" run -s c --defer --state nowhere > e2.out 2>&1
check "--defer with a missing manifest: exit 2" 2 $?
contains "missing manifest message" "no manifest.json in the state directory 'nowhere'" e2.out

[ $fails = 0 ] && echo "defer: all checks passed"
[ $fails = 0 ]
