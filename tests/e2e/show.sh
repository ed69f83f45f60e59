#!/usr/bin/env bash
# show.sh - `cdbt show` against a throw-away PostgreSQL (§12.1): a node
# compiled with the database bound, or --inline SQL (refs resolved), run
# with `limit <n>` (--limit, default 5, -1 all) in a transaction that is
# rolled back; a table (numbers right-aligned, NULL empty, True/False) or
# --output json; exit 1 when the query fails, 2 for usage errors.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-show-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
"$CDBT" run -s base v_base > r.out 2>&1 || { echo "setup run failed"; cat r.out; exit 1; }
table() { grep '^|' "$1"; }

# ---- 1. a model (a view over a table)
"$CDBT" show -s v_base > s1.out 2>&1
check "show model exit code" 0 $?
contains "preview line" "Previewing node 'v_base':" s1.out
check "table" "| id | name_u |
| -- | ------ |
|  1 | A      |
|  2 | B      |
|  3 | C      |" "$(table s1.out)"
"$CDBT" show -s base --limit 2 > s2.out 2>&1
check "limit 2 rows" 4 "$(table s2.out | wc -l)"
"$CDBT" show -s base --limit -1 > s3.out 2>&1
check "limit -1: every row" 5 "$(table s3.out | wc -l)"

# ---- 2. inline SQL, types, refs, json
"$CDBT" show --inline "select 12 as n, 'x' as t, null::int as z, true as b, 2.50::numeric as d" > s4.out 2>&1
check "inline exit code" 0 $?
contains "inline preview" "Previewing inline node:" s4.out
check "inline table" "| n  | t | z | b    | d    |
| -- | - | - | ---- | ---- |
| 12 | x |   | True | 2.50 |" "$(table s4.out)"
"$CDBT" show --inline "select count(*) as rows from {{ ref('base') }}" --output json > s5.out 2>&1
check "json exit code" 0 $?
check "json" '{"node": "inline_query", "show": [{"rows": 3}]}' \
    "$(python3 -c "import json,sys; print(json.dumps(json.load(open('s5.out'))))")"
"$CDBT" show --inline "select 1.5::float8 as f, null as n, false as b, 'q\"' as s" --output json > s6.out 2>&1
check "json types" '[{"f": 1.5, "n": null, "b": false, "s": "q\""}]' \
    "$(python3 -c "import json,sys; print(json.dumps(json.load(open('s6.out'))['show']))")"

# ---- 3. nothing persists: the query runs in a transaction that is rolled back
"$CDBT" show --inline "with d as (delete from {{ ref('base') }} returning 1) select count(*) as deleted from d" > s7.out 2>&1
check "delete inside show exit code" 0 $?
check "rows still there" "3" "$(q "select count(*) from analytics.base")"

# ---- 4. errors
"$CDBT" show --inline "select * from analytics.no_such_table" > s8.out 2>&1
check "failing query exit code" 1 $?
contains "server error" "no_such_table" s8.out
"$CDBT" show > s9.out 2>&1
check "no --select/--inline exit code" 2 $?
contains "usage message" "Either --select or --inline must be passed to show" s9.out
"$CDBT" show -s base --limit many > s10.out 2>&1
check "bad --limit exit code" 2 $?
"$CDBT" show -s base --output yaml > s11.out 2>&1
check "bad --output exit code" 2 $?

[ $fails = 0 ] && echo "show: all checks passed"
[ $fails = 0 ]
