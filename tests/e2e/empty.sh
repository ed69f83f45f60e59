#!/usr/bin/env bash
# empty.sh - `--empty` (dbt 1.8+): ref() and source() render as
# `(select * from <rel> where false limit 0) _dbt_limit_subq_<name>`, so a
# run builds every relation with its columns and no rows read from
# upstream; `this` and literal selects are untouched; flags.EMPTY is true;
# a later run without it fills them.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-empty-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"

"$CDBT" run --empty -s base v_base > e1.out 2>&1
check "run --empty exit code" 0 $?
check "a model without refs keeps its rows" "3" "$(q "select count(*) from analytics.base")"
check "a model reading a ref has no rows" "0" "$(q "select count(*) from analytics.v_base")"
check "but its columns" "id,name_u" "$(q "select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_schema = 'analytics' and table_name = 'v_base'")"
"$CDBT" compile -q --empty -s v_base > /dev/null 2>&1
check "compiled with the limited ref" 'select id, upper(name) as name_u from (select * from "postgres"."analytics"."base" where false limit 0) _dbt_limit_subq_base' \
    "$(cat target/compiled/e2e_basic/models/v_base.sql)"
check "flags.EMPTY" "True|False" "$("$CDBT" compile -q --empty --inline "{{ flags.EMPTY }}" 2>&1)|$("$CDBT" compile -q --inline "{{ flags.EMPTY }}" 2>&1)"
DBT_EMPTY=1 "$CDBT" compile -q -s v_base > /dev/null 2>&1
contains "DBT_EMPTY is --empty's twin" "where false limit 0" target/compiled/e2e_basic/models/v_base.sql
"$CDBT" run -s base v_base > e2.out 2>&1
check "a normal run fills it" "3" "$(q "select count(*) from analytics.v_base")"

# a render that reads flags.EMPTY while parsing: the parse cache keys it on --empty too
echo "{{ config(materialized='view' if flags.EMPTY else 'table') }} select 1 as a" > models/flagged.sql
mat() { "$CDBT" ls -q -s flagged --output json "$@" 2>&1 | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['config']['materialized'])"; }
check "without --empty" "table" "$(mat)"
check "with --empty (not the cached parse)" "view" "$(mat --empty)"
check "without again" "table" "$(mat)"

[ $fails = 0 ] && echo "empty: all checks passed"
[ $fails = 0 ]
