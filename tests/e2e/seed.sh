#!/usr/bin/env bash
# seed.sh - `cdbt seed` against a throw-away PostgreSQL (§8): dbt's CSV rules
# and type inference (column types and loaded values asserted), column_types,
# delimiter, quote_columns, truncate on a second run (same table), drop and
# re-create under --full-refresh, offset timestamps converted in the session
# time zone as psycopg2 does, the target/run record, and failures that leave
# the previous table intact: a malformed CSV (located error before anything
# is sent), a value the server rejects during COPY (CSV line reported), a
# view in the way.  Also a 100,000-row load (row count only: no timing).
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
FIX="$HERE/../fixtures/e2e/seeds"
W=$(mktemp -d /tmp/cdbt-seed-e2e.XXXXXX)
trap 'rm -rf "$W"; pg_env_stop' EXIT
cp -r "$FIX" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
q() { PGTZ=UTC psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
cols() { q "select column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '')
            from information_schema.columns where table_schema = 'analytics' and table_name = '$1' order by ordinal_position"; }
oid() { q "select 'analytics.$1'::regclass::oid"; }

# The session time zone matters for offset timestamps (psycopg2 binds timestamptz).
q "alter database $PGDATABASE set timezone to 'America/New_York'" >/dev/null

# ---------------------------------------------------------------- first load
"$CDBT" seed --profiles-dir . > run1.out 2>&1
rc=$?
check "first seed exit code" "0" "$rc"
[ "$rc" = 0 ] || cat run1.out
check "console OK lines" "4" "$(grep -c 'OK loaded seed file analytics\.' run1.out)"
check "console INSERT 3 for typed" "1" "$(grep -c 'OK loaded seed file analytics.typed .*\[INSERT 3 in' run1.out)"

check "typed column types" \
"id integer
amount double precision
price integer
pct double precision
flag boolean
day date
ts timestamp without time zone
iso timestamp without time zone
note text
empty_col integer" "$(cols typed)"
check "typed values" \
"1|1000|5|50|t|2024-01-02|2024-01-02 03:04:05|2024-01-02 03:04:05.123|hello|
2|2.5|7|12.5|f|2024-01-03|2024-01-03 04:05:06|2024-01-03 05:00:00|multi
line \"quoted\"|
3||||||||  spaced  |" \
"$(q "select * from analytics.typed order by id")"
check "typed nulls" "0|1|1|1|1|1|1|1|0|3" \
"$(q "select count(*) filter (where id is null), count(*) filter (where amount is null), count(*) filter (where price is null),
            count(*) filter (where pct is null), count(*) filter (where flag is null), count(*) filter (where day is null),
            count(*) filter (where ts is null), count(*) filter (where iso is null), count(*) filter (where note is null),
            count(*) filter (where empty_col is null) from analytics.typed")"

check "codes: column_types and leading zeros" \
"zip character varying(10)
code text
n integer" "$(cols codes)"
check "codes values" "00501|007|7
02134|0042|1000
||" "$(q "select * from analytics.codes order by zip nulls last")"

check "semi: delimiter, post-hook row" "1|x,y|3
4|semi;colon|6
9|from hook|9" "$(q "select * from analytics.semi order by a")"
check "semi: persist_docs" "Semicolon-separated seed|the a column" \
"$(q "select obj_description('analytics.semi'::regclass, 'pg_class'), col_description('analytics.semi'::regclass, 1)")"
check "semi: index created with the table" "1" "$(q "select count(*) from pg_indexes where schemaname = 'analytics' and tablename = 'semi'")"
check "semi: message counts CSV rows only" "1" "$(grep -c 'analytics.semi .*\[INSERT 2 in' run1.out)"
check "plain_names: letter names, duplicates, unquoted" \
"first_name text
b integer
x integer
x_2 integer" "$(cols plain_names)"
check "plain_names rows (short row padded, blank line = NULL row)" "ann|1|2|3
bob|4||
|||" "$(q "select * from analytics.plain_names order by first_name nulls last")"

check "target/run record" \
'create table "postgres"."analytics"."codes" ("zip" varchar(10),"code" text,"n" integer);
-- dbt seed --
copy "postgres"."analytics"."codes" ("zip", "code", "n") from stdin;' \
"$(cat target/run/e2e_seeds/seeds/codes.csv)"
check "target/run unquoted columns" \
'create table "postgres"."analytics"."plain_names" (first_name text,b integer,x integer,x_2 integer);
-- dbt seed --
copy "postgres"."analytics"."plain_names" (first_name, b, x, x_2) from stdin with (format binary);' \
"$(cat target/run/e2e_seeds/seeds/plain_names.csv)"
check "run_results message" "1" "$(grep -c '"message":"INSERT 3","unique_id":"seed.e2e_seeds.typed"\|"_message":"INSERT 3","code":"INSERT","rows_affected":3' target/run_results.json)"

# ---------------------------------------------------------------- second run: truncate
oid1=$(oid codes)
printf 'zip,code,n\n99999,0001,5\n' > seeds/codes.csv
"$CDBT" seed --profiles-dir . -s codes > run2.out 2>&1
check "second run exit code" "0" "$?"
check "second run truncates (same table)" "$oid1" "$(oid codes)"
check "second run rows" "99999|0001|5" "$(q "select * from analytics.codes")"
check "second run target/run" \
'truncate table "postgres"."analytics"."codes";
-- dbt seed --
copy "postgres"."analytics"."codes" ("zip", "code", "n") from stdin;' \
"$(cat target/run/e2e_seeds/seeds/codes.csv)"
check "second run message" "1" "$(grep -c 'analytics.codes .*\[INSERT 1 in' run2.out)"

# ---------------------------------------------------------------- --full-refresh: drop + create
"$CDBT" seed --profiles-dir . -s codes --full-refresh > run3.out 2>&1
check "full refresh exit code" "0" "$?"
check "full refresh message" "1" "$(grep -c 'analytics.codes .*\[CREATE 1 in' run3.out)"
check "full refresh re-creates the table" "1" "$(q "select count(*) from analytics.codes where '$oid1' <> 'analytics.codes'::regclass::oid::text")"
check "full refresh target/run" \
'drop table if exists "postgres"."analytics"."codes" cascade;
create table "postgres"."analytics"."codes" ("zip" varchar(10),"code" text,"n" integer);
-- dbt seed --
copy "postgres"."analytics"."codes" ("zip", "code", "n") from stdin;' \
"$(cat target/run/e2e_seeds/seeds/codes.csv)"

# node config full_refresh: false wins over --full-refresh (truncate, INSERT)
oid_semi=$(oid semi)
"$CDBT" seed --profiles-dir . -s semi --full-refresh > run3b.out 2>&1
check "full_refresh: false exit code" "0" "$?"
check "full_refresh: false truncates" "$oid_semi" "$(oid semi)"
check "truncate: no second index" "1" "$(q "select count(*) from pg_indexes where schemaname = 'analytics' and tablename = 'semi'")"
check "full_refresh: false message" "1" "$(grep -c 'analytics.semi .*\[INSERT 2 in' run3b.out)"
check "full_refresh: false target/run" "truncate table \"postgres\".\"analytics\".\"semi\";" "$(head -1 target/run/e2e_seeds/seeds/semi.csv)"

# ---------------------------------------------------------------- malformed CSV: located error, old table kept
printf 'a,b\n1,2\n3,4,5\n' > seeds/codes.csv
"$CDBT" seed --profiles-dir . -s codes > run4.out 2>&1
check "malformed exit code" "1" "$?"
check "malformed message" "1" "$(grep -c 'seeds/codes.csv:3:5: error: Row 1 has 3 values, but Table only has 2 columns.' run4.out)"
check "malformed source line" "1" "$(grep -c '    3 | 3,4,5' run4.out)"
check "malformed: old table intact" "99999|0001|5" "$(q "select * from analytics.codes")"
printf 'zip,code,n\n1,"open,2\n' > seeds/codes.csv
"$CDBT" seed --profiles-dir . -s codes > run5.out 2>&1
check "unterminated quote exit code" "1" "$?"
check "unterminated quote message" "1" "$(grep -c 'seeds/codes.csv:2:3: error: unterminated quoted field' run5.out)"
# (files up to 1 MiB are read by the project loader, which rejects bad UTF-8 before the run: exit 2)
printf 'zip,code,n\n1,\xff,2\n' > seeds/codes.csv
"$CDBT" seed --profiles-dir . -s codes > run6.out 2>&1
check "invalid UTF-8 (small file) exit code" "2" "$?"
check "invalid UTF-8 (small file) located" "1" "$(grep -c "seeds/codes.csv:2:3: error: " run6.out)"
{ echo 'zip,code,n'; awk 'BEGIN { for (i = 0; i < 60000; i++) print i ",abcdefghij," i }'; printf '1,\xff,2\n'; } > seeds/codes.csv
"$CDBT" seed --profiles-dir . -s codes > run6b.out 2>&1
check "invalid UTF-8 (big file) exit code" "1" "$?"
check "invalid UTF-8 (big file) message" "1" "$(grep -c "seeds/codes.csv:60002:3: error: invalid UTF-8: can't decode byte 0xff (invalid start byte)" run6b.out)"
check "errors: old table intact" "99999|0001|5" "$(q "select * from analytics.codes")"

# ---------------------------------------------------------------- server rejects a value during COPY
printf 'zip,code,n\n1,a,1\n2,b,29051_00040\n' > seeds/codes.csv
"$CDBT" seed --profiles-dir . -s codes > run7.out 2>&1
check "COPY failure exit code" "1" "$?"
check "COPY failure names the CSV line and field" "1" "$(grep -c 'seeds/codes.csv:3:5: error: value "2905100040" is out of range for type integer' run7.out)"
check "COPY failure source line" "1" "$(grep -c '    3 | 2,b,29051_00040' run7.out)"
check "COPY failure: truncate rolled back" "99999|0001|5" "$(q "select * from analytics.codes")"

# ---------------------------------------------------------------- a view in the way
q "create view analytics.viewed as select 1 as x" >/dev/null
printf 'x\n1\n' > seeds/viewed.csv
"$CDBT" seed --profiles-dir . -s viewed > run8.out 2>&1
check "view in the way exit code" "1" "$?"
check "view in the way message" "1" "$(grep -c "Cannot seed to '\"postgres\".\"analytics\".\"viewed\"', it is a view" run8.out)"
check "view untouched" "view" "$(q "select table_type from information_schema.tables where table_name = 'viewed'" | tr 'A-Z' 'a-z' | sed 's/^$/none/')"
rm seeds/viewed.csv

# ---------------------------------------------------------------- binary COPY = text COPY
# A table cdbt creates (or keeps with the same column types) is loaded with
# COPY (FORMAT binary) when every value encodes without the server's input
# functions; vals_text holds the same values plus a column_types column, which
# keeps the text format.  Both must hold identical datums (floats bit for bit).
cat >> dbt_project.yml <<'EOF'
    vals_text:
      +column_types:
        forced: text
EOF
TAB=$(printf '\t')
cat > seeds/vals.csv <<EOF
i,f,d,ts,iso,b,t
1,0.1,2024-01-05,2024-01-05 10:11:12,2024-01-05T10:11:12.123456,true,plain
2,-2.75,2024-1-5,2024-1-5 1:2:3,2024-01-05T10:11:12.1234567,False,"tab${TAB}and \\backslash"
3,"\$1,234.50", 2024-02-29 ,0001-01-01 00:00:00,20240105T101112,TRUE,"multi
line"
4,1e-5,0001-01-01,9999-12-31 23:59:59,2024-W01-1T10,"t,rue",null
5,1e22,9999-12-31,1999-12-31 23:59:59,2024-001T00:00,,
6,1e23,1999-12-31,2000-01-01 00:00:00,2000-01-01T00:00:00.5,false,  spaced  
7,9007199254740993,2000-01-01,,1999-12-31T23:59:59,true,üñí 😀
8,0.30000000000000004,,2024-01-05 10:11:12,,false,NULL
9,3.14159265358979323846264338327950288,1969-07-20,1969-07-20 20:17:40,1969-07-20T20:17:40,true,x
10,NaN,2024-12-31,2024-12-31 23:59:59,2024-12-31T23:59:59.999999,true,"""quoted"""
11,-Infinity,2024-01-01,2024-01-01 00:00:00,2024-01-01T00:00,false,back\\slash
12,1e-300,2024-01-01,2024-01-01 00:00:00,2024-01-01T00,true,y
13,9.99e298,2024-01-01,2024-01-01 00:00:00,2024-01-01T00:00:00,true,z
14,-0,2024-01-01,2024-01-01 00:00:00,2024-01-01T00:00:00,true,z
15,123456789012345e-22,2024-01-01,2024-01-01 00:00:00,2024-01-01T00:00:00,true,z
16,50%,2024-01-01,2024-01-01 00:00:00,2024-01-01T00:00:00,true,z
EOF
# the same records with a last field "x" (record 3 spans two lines)
awk 'NR == 1 { print $0 ",forced"; next } /^3,/ { print; next } { print $0 ",x" }' seeds/vals.csv > seeds/vals_text.csv
"$CDBT" seed --profiles-dir . -s vals vals_text > run10.out 2>&1
check "binary seed exit code" "0" "$?"
check "binary: vals loaded in binary" "1" "$(grep -c 'from stdin with (format binary);' target/run/e2e_seeds/seeds/vals.csv)"
check "binary: vals_text loaded as text" "0" "$(grep -c 'format binary' target/run/e2e_seeds/seeds/vals_text.csv)"
check "binary: column types" \
"i integer
f double precision
d date
ts timestamp without time zone
iso timestamp without time zone
b boolean
t text" "$(cols vals)"
check "binary: vals_text column types" "$(cols vals)
forced text" "$(cols vals_text)"
same_vals() {
  q "select count(*) from analytics.vals a full join analytics.vals_text b using (i)
     where a.i is null or b.i is null or float8send(a.f) is distinct from float8send(b.f)
        or (a.d, a.ts, a.iso, a.b, a.t) is distinct from (b.d, b.ts, b.iso, b.b, b.t)"
}
check "binary: identical datums" "0" "$(same_vals)"
check "binary: 16 rows" "16" "$(q "select count(*) from analytics.vals")"
check "binary: sample values" "3|1234.5|2024-02-29|0001-01-01 00:00:00|2024-01-05 10:11:12|t|multi
line" "$(q "select i, f, d, ts, iso, b, t from analytics.vals where i = 3")"
check "binary: text kept as bytes" "tab${TAB}and \\backslash|t" "$(q "select t, t like '%' || chr(9) || '%' from analytics.vals where i = 2")"
check "binary: nulls" "0|1|1|1|1|3" \
"$(q "select count(*) filter (where f is null), count(*) filter (where d is null), count(*) filter (where ts is null),
            count(*) filter (where iso is null), count(*) filter (where b is null), count(*) filter (where t is null) from analytics.vals")"
# a second run keeps the table and its types: binary again, same contents
oid_vals=$(oid vals)
"$CDBT" seed --profiles-dir . -s vals > run11.out 2>&1
check "binary truncate exit code" "0" "$?"
check "binary truncate keeps the table" "$oid_vals" "$(oid vals)"
check "binary truncate target/run" 'truncate table "postgres"."analytics"."vals";
-- dbt seed --
copy "postgres"."analytics"."vals" ("i", "f", "d", "ts", "iso", "b", "t") from stdin with (format binary);' \
"$(cat target/run/e2e_seeds/seeds/vals.csv)"
check "binary truncate: identical datums" "0" "$(same_vals)"
# a kept table whose column type differs gets text, which the server converts
q "alter table analytics.vals alter column f type numeric using null" >/dev/null
"$CDBT" seed --profiles-dir . -s vals > run12.out 2>&1
check "changed type exit code" "0" "$?"
check "changed type: text COPY" "0" "$(grep -c 'format binary' target/run/e2e_seeds/seeds/vals.csv)"
check "changed type: values" "numeric|0.1|1234.5" \
"$(q "select pg_typeof(f), f, (select f from analytics.vals where i = 3) from analytics.vals where i = 1")"
# a whole-number column with a value beyond int32: text COPY, the server's error at the field
printf 'n,label\n1,a\n3000000000,b\n' > seeds/ovf.csv
"$CDBT" seed --profiles-dir . -s ovf > run13.out 2>&1
check "int4 overflow exit code" "1" "$?"
check "int4 overflow: server error at the field" "1" "$(grep -c 'seeds/ovf.csv:3:1: error: value "3000000000" is out of range for type integer' run13.out)"
check "int4 overflow: no table left" "0" "$(q "select count(*) from pg_tables where tablename = 'ovf'")"
rm seeds/ovf.csv

# ---------------------------------------------------------------- 100,000 rows
awk 'BEGIN { print "id,amount,day,label"; for (i = 1; i <= 100000; i++) printf "%d,%d.%02d,2024-%02d-%02d,\"row %d, \"\"q\"\"\"\n", i, i, i % 100, i % 12 + 1, i % 28 + 1, i }' > seeds/big.csv
"$CDBT" seed --profiles-dir . -s big > run9.out 2>&1
check "100k exit code" "0" "$?"
check "100k message" "1" "$(grep -c 'analytics.big .*\[INSERT 100000 in' run9.out)"
check "100k contents" "100000|5000050000|float8|2024-12-28|row 99999, \"q\"" \
"$(q "select count(*), sum(id), pg_typeof(max(amount))::text = 'double precision' and 'float8' is not null, max(day), (select label from analytics.big where id = 99999) from analytics.big" | sed 's/|t|/|float8|/')"

if [ "$fails" -ne 0 ]; then
  echo "seed e2e: $fails check(s) failed"
  exit 1
fi
echo "seed e2e: all checks passed"
