#!/usr/bin/env bash
# mat_models.sh - `cdbt run` of view / table / incremental models against a
# throw-away PostgreSQL: what ends up in the database across runs (append,
# merge, delete+insert with a list key, on_schema_change, --full-refresh),
# hooks inside and outside the transaction, a failing model that leaves the
# previous relation intact, run_results.json messages and target/run/.
#   usage: mat_models.sh <path to cdbt>
set -u
CDBT=$(realpath "$1")
. "$(dirname "$0")/pg_env.sh"
PSQL="$PG_BIN/psql"
[ -x "$PSQL" ] || PSQL=psql
W=$(mktemp -d /tmp/cdbt-mat-models.XXXXXX)
trap 'rm -rf "$W"; pg_env_stop' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
q() { "$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
expect_q() {   # expect_q <sql> <expected output>
  local got; got=$(q "$1")
  [ "$got" = "$2" ] || fail "$1: expected [$2], got [$got]"
}
status_of() {  # status_of <model name> -> status and message from run_results.json
  python3 - "$W/target/run_results.json" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["results"]:
    if x["unique_id"].endswith("." + sys.argv[2]):
        print("%s|%s" % (x["status"], x["message"]))
EOF
}
expect_status() {
  local got; got=$(status_of "$1")
  [ "$got" = "$2" ] || fail "run_results for $1: expected [$2], got [$got]"
}
run() {   # run <expected exit code> <args...>
  local want=$1; shift
  (cd "$W" && "$CDBT" "$@" --profiles-dir "$W" >"$W/out.txt" 2>&1)
  local rc=$?
  [ "$rc" = "$want" ] || { fail "cdbt $* exited $rc, expected $want"; cat "$W/out.txt" >&2; }
  ! grep -q 'Sanitizer' "$W/out.txt" || { fail "cdbt $*: sanitizer report"; cat "$W/out.txt" >&2; }
}

mkdir -p "$W/models"
cat >"$W/dbt_project.yml" <<'EOF'
name: mate2e
version: '1.0'
profile: mate2e
models:
  mate2e:
    +materialized: view
EOF
cat >"$W/profiles.yml" <<EOF
mate2e:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "$PGHOST"
      port: $PGPORT
      user: postgres
      password: ""
      dbname: postgres
      schema: mat
      threads: 4
EOF
cat >"$W/models/base.sql" <<'EOF'
{{ config(materialized='table') }}
select g as id, 'name_' || g as name, (g % 2) as grp
from generate_series(1, {{ var('n', 3) }}) g
EOF
cat >"$W/models/base_v.sql" <<'EOF'
select * from {{ ref('base') }}
EOF
cat >"$W/models/inc_merge.sql" <<'EOF'
{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}
select id, name || '_v{{ var("n", 3) }}' as name from {{ ref('base') }}
EOF
cat >"$W/models/inc_di.sql" <<'EOF'
{{ config(materialized='incremental', unique_key=['grp', 'id'], incremental_strategy='delete+insert') }}
select grp, id, 'r{{ var("n", 3) }}' as run from {{ ref('base') }}
EOF
cat >"$W/models/inc_append.sql" <<'EOF'
{{ config(materialized='incremental') }}
select id from {{ ref('base') }} where id > {{ var('n', 3) }} - 2
EOF
cat >"$W/models/inc_osc.sql" <<'EOF'
{{ config(materialized='incremental', unique_key='id', on_schema_change='append_new_columns') }}
select id, 'x'::varchar(1) as v{% if var('n', 3) > 3 %}, 'longer'::varchar(6) as v2{% endif %}
from {{ ref('base') }}
EOF
cat >"$W/models/hooked.sql" <<'EOF'
{{ config(materialized='table',
          pre_hook="create table if not exists {{ target.schema }}.hook_log (what text, at timestamp default clock_timestamp())",
          post_hook=["insert into {{ target.schema }}.hook_log (what) select 'post ' || count(*) from {{ this }}",
                     {"sql": "vacuum analyze {{ this }}", "transaction": false}]) }}
select 1 as a
EOF
cat >"$W/models/breakable.sql" <<'EOF'
{{ config(materialized='table') }}
select {% if var('break', false) %}nope{% else %}1{% endif %} as a
EOF

# ---- run 1: everything builds
run 0 run
expect_status base "success|SELECT 3"
expect_status base_v "success|CREATE VIEW"
expect_status inc_merge "success|SELECT 3"
expect_status hooked "success|SELECT 1"
expect_q "select string_agg(id || ':' || name, ',' order by id) from mat.base_v" "1:name_1,2:name_2,3:name_3"
expect_q "select relkind from pg_class where oid = 'mat.base_v'::regclass" "v"
expect_q "select count(*) from mat.inc_append" "2"
expect_q "select what from mat.hook_log" "post 1"
expect_q "select count(*) from pg_class where relname like '%\\_\\_dbt\\_%'" "0"
grep -q 'create table "postgres"."mat"."base__dbt_tmp"' "$W/target/run/mate2e/models/base.sql" \
  || fail "target/run/mate2e/models/base.sql lacks the create statement"
grep -q 'vacuum analyze' "$W/logs/cdbt.log" 2>/dev/null || fail "logs/cdbt.log lacks the hook statement"

# ---- run 2: new data, an added column, and a model that now fails
run 1 run --vars '{n: 5, break: true}'
case "$(status_of breakable)" in error*'column "nope" does not exist'*) ;; *) fail "breakable error message: $(status_of breakable)";; esac
expect_q "select a from mat.breakable" "1"
expect_q "select string_agg(id || ':' || name, ',' order by id) from mat.inc_merge" "1:name_1_v5,2:name_2_v5,3:name_3_v5,4:name_4_v5,5:name_5_v5"
expect_status inc_merge "success|MERGE 5"
expect_q "select string_agg(grp || '/' || id || ':' || run, ',' order by id) from mat.inc_di" "1/1:r5,0/2:r5,1/3:r5,0/4:r5,1/5:r5"
expect_status inc_di "success|INSERT 0 5"
expect_q "select string_agg(id::text, ',' order by id) from mat.inc_append" "2,3,4,5"
expect_status inc_append "success|INSERT 0 2"
expect_q "select string_agg(column_name || ' ' || data_type, ',' order by ordinal_position) from information_schema.columns where table_schema = 'mat' and table_name = 'inc_osc'" \
  "id integer,v character varying,v2 character varying"
expect_q "select count(*) || '/' || count(v2) from mat.inc_osc" "5/5"
expect_q "select string_agg(what, ',' order by at) from mat.hook_log" "post 1,post 1"
expect_q "select count(*) from pg_class where relname like '%\\_\\_dbt\\_%'" "0"

# ---- run 3: the same vars again are idempotent for keyed incrementals
run 0 run --vars '{n: 5}'
expect_q "select count(*) from mat.inc_merge" "5"
expect_q "select count(*) from mat.inc_di" "5"
expect_q "select a from mat.breakable" "1"

# ---- run 4: --full-refresh rebuilds incrementals; view <-> table switch
cat >"$W/models/base_v.sql" <<'EOF'
{{ config(materialized='table') }}
select * from {{ ref('base') }}
EOF
run 0 run --full-refresh --vars '{n: 2}'
expect_q "select string_agg(id::text, ',' order by id) from mat.inc_append" "1,2"
expect_q "select string_agg(id || ':' || name, ',' order by id) from mat.inc_merge" "1:name_1_v2,2:name_2_v2"
expect_status inc_merge "success|SELECT 2"
expect_q "select relkind from pg_class where oid = 'mat.base_v'::regclass" "r"
expect_q "select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_schema = 'mat' and table_name = 'inc_osc'" "id,v"

[ "$fails" = 0 ] || { echo "$fails check(s) failed" >&2; exit 1; }
echo "mat_models: ok"
