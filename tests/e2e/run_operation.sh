#!/usr/bin/env bash
# run_operation.sh - `cdbt run-operation MACRO --args '<YAML>'` against a
# throw-away PostgreSQL (§12.1, §15): the macro runs with the database bound
# and its args as keyword arguments; run_query's statements persist, a
# `statement` transaction is rolled back unless the macro commits; a failing
# or unknown macro exits 1, bad usage exits 2; run_results.json holds one
# entry macro.<package>.<name>.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-op-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
mkdir -p macros
cat > macros/ops.sql <<'EOF'
{% macro make_table(name, n=3) %}
  {% do run_query("create table analytics." ~ name ~ " as select generate_series(1, " ~ n ~ ") as i") %}
  {% do log("made " ~ name ~ " with " ~ n ~ " rows", info=True) %}
{% endmacro %}

{% macro uncommitted(name) %}
  {% call statement('s', auto_begin=True) %}create table analytics.{{ name }} (x int){% endcall %}
{% endmacro %}

{% macro committed(name) %}
  {% call statement('s', auto_begin=True) %}create table analytics.{{ name }} (x int){% endcall %}
  {% do adapter.commit() %}
{% endmacro %}

{% macro count_rows(rel) %}
  {% set r = run_query("select count(*) as n from " ~ rel) %}
  {% do log("rows of " ~ rel ~ ": " ~ r.columns[0].values()[0], info=True) %}
{% endmacro %}

{% macro boom() %}
  {{ exceptions.raise_compiler_error("boom from the macro") }}
{% endmacro %}
EOF
q "create schema analytics" >/dev/null
uid() { python3 -c "import json; r=json.load(open('target/run_results.json'))['results']; print(len(r), r[0]['unique_id'], r[0]['status'])"; }

# ---- 1. a macro with args: run_query persists
"$CDBT" run-operation make_table --args '{name: t1, n: 5}' > o1.out 2>&1
check "make_table exit code" 0 $?
contains "log line" "made t1 with 5 rows" o1.out
check "t1 rows" "5" "$(q "select count(*) from analytics.t1")"
check "run_results entry" "1 macro.e2e_basic.make_table success" "$(uid)"
"$CDBT" run-operation make_table --args 'name: t3' > o1b.out 2>&1
check "args as a block mapping, default n" "3" "$(q "select count(*) from analytics.t3")"
"$CDBT" run-operation count_rows --args "{rel: analytics.t1}" > o1c.out 2>&1
check "count_rows exit code" 0 $?
contains "run_query result read back" "rows of analytics.t1: 5" o1c.out

# ---- 2. a statement block's transaction: rolled back unless committed
"$CDBT" run-operation uncommitted --args '{name: u1}' > o2.out 2>&1
check "uncommitted exit code" 0 $?
check "uncommitted table rolled back" "" "$(q "select tablename from pg_tables where schemaname = 'analytics' and tablename = 'u1'")"
"$CDBT" run-operation committed --args '{name: c1}' > o3.out 2>&1
check "committed exit code" 0 $?
check "committed table kept" "c1" "$(q "select tablename from pg_tables where schemaname = 'analytics' and tablename = 'c1'")"

# ---- 3. package-qualified name
"$CDBT" run-operation e2e_basic.make_table --args '{name: t2, n: 2}' > o4.out 2>&1
check "qualified exit code" 0 $?
check "t2 rows" "2" "$(q "select count(*) from analytics.t2")"

# ---- 4. failures: exit 1, reported, recorded
"$CDBT" run-operation boom > o5.out 2>&1
check "boom exit code" 1 $?
contains "error shown" "boom from the macro" o5.out
contains "dbt's words" "Encountered an error while running operation" o5.out
check "run_results error entry" "1 macro.e2e_basic.boom error" "$(uid)"
"$CDBT" run-operation no_such_macro > o6.out 2>&1
check "unknown macro exit code" 1 $?
contains "unknown macro" "dbt could not find a macro with the name 'no_such_macro' in any package" o6.out

# ---- 5. usage errors: exit 2
"$CDBT" run-operation > o7.out 2>&1
check "no macro exit code" 2 $?
contains "missing argument" "Missing argument 'MACRO'" o7.out
"$CDBT" run-operation make_table --args '[1, 2]' > o8.out 2>&1
check "args not a mapping exit code" 2 $?
contains "args must be a dict" "The --args argument must be a YAML dictionary, but was of type 'list'" o8.out
"$CDBT" run-operation 'bad name!' > o9.out 2>&1
check "bad macro name exit code" 2 $?
"$CDBT" run-operation --help > o10.out 2>&1
check "help exit code" 0 $?
contains "help text" "--args" o10.out

[ $fails = 0 ] && echo "run_operation: all checks passed"
[ $fails = 0 ]
