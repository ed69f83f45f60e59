#!/usr/bin/env bash
# crossdb_macros.sh - dbt's cross-database macros (dbt.split_part,
# dbt.datediff, dbt.listagg, dbt.last_day, ...; §3.9) compile to SQL that
# PostgreSQL runs and that gives dbt-postgres's answers; a project's
# postgres__<name> override wins over the built-in.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-xdb-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
S() {   # S '<sql>': the one row of `cdbt show --inline`, as JSON
    "$CDBT" show --inline "$1" --output json 2>&1 | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)['show'][0], sort_keys=True))"
}
check "split_part" '{"a": "b", "b": "c", "c": "a"}' \
    "$(S "select {{ dbt.split_part(\"'a,b,c'\", \"','\", 2) }} as a, {{ dbt.split_part(\"'a,b,c'\", \"','\", -1) }} as b, {{ dbt.split_part(\"'a,b,c'\", \"','\", -3) }} as c")"
check "datediff" '{"d": 30, "h": 49, "m": 2, "mi": 61, "q": 1, "w": 4, "y": 1}' \
    "$(S "select {{ dbt.datediff(\"'2024-01-31'::date\", \"'2024-03-01'::date\", 'day') }} as d,
               {{ dbt.datediff(\"'2024-01-31'::date\", \"'2024-03-01'::date\", 'month') }} as m,
               {{ dbt.datediff(\"'2023-12-31'::date\", \"'2024-01-01'::date\", 'year') }} as y,
               {{ dbt.datediff(\"'2024-03-31'::date\", \"'2024-04-01'::date\", 'quarter') }} as q,
               {{ dbt.datediff(\"'2024-01-01'::date\", \"'2024-01-31'::date\", 'week') }} as w,
               {{ dbt.datediff(\"'2024-01-01 00:30'::timestamp\", \"'2024-01-03 01:10'::timestamp\", 'hour') }} as h,
               {{ dbt.datediff(\"'2024-01-01 00:59'::timestamp\", \"'2024-01-01 02:00'::timestamp\", 'minute') }} as mi")"
check "aggregates" '{"a": 1, "b": true, "l": "x, y", "l2": "x;y;z"}' \
    "$(S "select {{ dbt.any_value('v') }} as a, {{ dbt.bool_or('v > 2') }} as b,
               {{ dbt.listagg('s', \"', '\", 'order by s', 2) }} as l, {{ dbt.listagg('s', \"';'\", 'order by s') }} as l2
          from (values (1, 'z'), (3, 'x'), (2, 'y')) t(v, s)")"
check "last_day" '{"m": "2024-02-29", "q": "2024-06-30", "y": "2024-12-31"}' \
    "$(S "select {{ dbt.last_day(\"'2024-02-10'::date\", 'month') }}::text as m, {{ dbt.last_day(\"'2024-05-10'::date\", 'quarter') }}::text as q,
               {{ dbt.last_day(\"'2024-05-10'::date\", 'year') }}::text as y")"
check "strings" "{\"e\": \"it's\", \"l\": 6, \"p\": 3, \"r\": \"ef\", \"r0\": \"\", \"re\": \"aXcdef\", \"s\": \"lit\", \"t\": \"true\"}" \
    "$(S "select {{ dbt.right(\"'abcdef'\", 2) }} as r, {{ dbt.right(\"'abc'\", 0) }} as r0, {{ dbt.length(\"'abcdef'\") }} as l,
               {{ dbt.position(\"'c'\", \"'abcdef'\") }} as p, {{ dbt.replace(\"'abcdef'\", \"'b'\", \"'X'\") }} as re,
               {{ dbt.string_literal('lit') }} as s, '{{ dbt.escape_single_quotes(\"it's\") }}' as e,
               {{ dbt.cast_bool_to_text('true') }} as t")"
check "arrays" '{"a": "{1,2}", "b": "{1,2,3}", "c": "{1,2,3,4}", "e": "{}"}' \
    "$(S "select {{ dbt.array_construct([1, 2]) }}::text as a, {{ dbt.array_append(dbt.array_construct([1, 2]), 3) }}::text as b,
               {{ dbt.array_concat(dbt.array_construct([1, 2]), dbt.array_construct([3, 4])) }}::text as c,
               {{ dbt.array_construct() }}::text as e")"
check "types and set operations" '{"n": 2}' \
    "$(S "select count(*) as n from (select 1::{{ dbt.type_int() }} as x union all select 2::{{ dbt.type_bigint() }}
          union all select 3 {{ dbt.except() }} select 3 {{ dbt.intersect() }} select 3) t")"
check "casts" '{"b": true, "f": 1.5, "n": 2.5}' \
    "$(S "select '1.5'::{{ dbt.type_float() }} as f, {{ dbt.cast(\"'2.5'\", dbt.type_numeric()) }} as n, {{ dbt.safe_cast(\"'t'\", dbt.type_boolean()) }} as b")"
# a project override of the postgres flavour wins
mkdir -p macros
printf "{%% macro postgres__any_value(expression) -%%}max({{ expression }}){%%- endmacro %%}\n" > macros/over.sql
check "project override" '{"a": 3}' "$(S "select {{ dbt.any_value('v') }} as a from (values (1), (3)) t(v)")"
"$CDBT" show --inline "select {{ dbt.datediff('a', 'b', 'fortnight') }}" > bad.out 2>&1
check "unsupported datepart exit code" 1 $?
contains "unsupported datepart" "Unsupported datepart for macro datediff in postgres: 'fortnight'" bad.out

[ $fails = 0 ] && echo "crossdb_macros: all checks passed"
[ $fails = 0 ]
