#!/bin/bash
# cleanse.sh - materialized='cleanse' end to end against a throw-away
# PostgreSQL: dirty landing CSV files (wrong field counts, unterminated
# quote, NUL byte, invalid UTF-8, truncated last line, empty file, bad
# numbers, impossible dates, duplicates), an all-text bronze table streamed
# with COPY TO, Apache combined logs through the built-in preset, NDJSON with
# dotted paths.  Checks the silver tables, the rejects tables, the console
# counts, that an equivalent SQL model gives the same rows, that a failed
# cleanse (max_rejects) leaves the old table untouched, incremental file
# loading, and the located parse-time error of a bad rule.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
FIX="$HERE/../fixtures/e2e/cleanse"
W=$(mktemp -d /tmp/cdbt-cleanse-e2e.XXXXXX)
trap 'rm -rf "$W"; pg_env_stop' EXIT
cp -r "$FIX" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"

"$CDBT" run --profiles-dir . > run1.out 2>&1
rc=$?
check "first run exit code" "0" "$rc"
[ "$rc" = 0 ] || cat run1.out

check "silver_tx rows" \
"1|Alice Smith|alice@example.com|1234.50|EUR|2024-01-15 10:00:00|f|$(printf '1-2024-01-15 10:00:00' | md5sum | cut -c1-32)
2|Bob||12.30|USD|2024-01-15 11:30:00|t|$(printf '2-2024-01-15 11:30:00' | md5sum | cut -c1-32)
5|Eve||7.01|EUR|2024-03-01 00:00:00|f|$(printf '5-2024-03-01 00:00:00' | md5sum | cut -c1-32)
8|Tab Here|h@x.org|0.50|USD|2024-03-04 12:00:00|f|$(printf '8-2024-03-04 12:00:00' | md5sum | cut -c1-32)" \
"$(q "select * from analytics.silver_tx order by id")"

check "silver_tx rejects" \
"landing/tx/tx_1.csv|4|amount|numeric|not a number|3,carol,carol@x.org,abc,EUR,2024-01-16 09:00:00,n
landing/tx/tx_1.csv|5|created_at|timestamp|impossible timestamp|4,dave,dave@x.org,5,gbp,2024-02-30 10:00:00,n
landing/tx/tx_1.csv|8|||wrong field count: expected 7, got 8|6,frank,f@x.org,1,eur,2024-03-02 00:00:00,no,EXTRA
landing/tx/tx_1.csv|9|amount|range|out of range|\"7\",grace,,-3,EUR,2024-03-03 00:00:00,Y
landing/tx/tx_2.csv|3|||unterminated quote|10,\"unterminated,x@y.z,1,eur,2024-03-05 00:00:00,n
landing/tx/tx_2.csv|4|||NUL byte|11,nul�byte,n@x.org,1,eur,2024-03-05 00:00:00,n
landing/tx/tx_2.csv|5|||invalid UTF-8|12,bad��utf,b@x.org,1,eur,2024-03-05 00:00:00,n
landing/tx/tx_2.csv|6|||truncated last line (4 of 7 fields)|9,ivan,i@x.org,3
landing/tx/tx_3.csv|0|||empty file|" \
"$(q "select source, line, column_name, rule, reason, raw from analytics.silver_tx__rejects order by source, line")"

check "console line counts" "1" \
"$(grep -c 'silver_tx .*in=14 out=4 rejected=9 dup=1' run1.out)"

check "bronze cleanse = SQL cleanse (both directions)" "0|0|4" \
"$(q "select (select count(*) from (select * from analytics.silver_from_bronze except select * from analytics.silver_sql) a),
             (select count(*) from (select * from analytics.silver_sql except select * from analytics.silver_from_bronze) b),
             (select count(*) from analytics.silver_from_bronze)")"
check "bronze rejects" \
"bronze.tx|3|amount|numeric|not a number
bronze.tx|4|created_at|timestamp|impossible timestamp
bronze.tx|7|amount|range|out of range" \
"$(q "select source, line, column_name, rule, reason from analytics.silver_from_bronze__rejects order by line")"

check "access_log rows" \
"127.0.0.1|2000-10-10 20:55:36+00|GET|/apache_pb.gif|200|2326|Mozilla/4.08 [en] (Win98; I ;Nav)
10.0.0.2|2024-01-01 00:00:01+00|POST|/api/v1/items|201||curl/8.5.0" \
"$(PGTZ=UTC q "select * from analytics.access_log order by requested_at")"
check "access_log rejects" "3|no match
4|impossible timestamp" "$(q "select line, reason from analytics.access_log__rejects order by line")"

check "events rows" "1|click|u1|DE|2024-05-01 10:00:00+00
2|view|u2||2024-05-01 08:00:01+00" "$(PGTZ=UTC q "select * from analytics.events order by id")"
check "events rejects" "3|invalid JSON
4|not an integer" "$(q "select line, reason from analytics.events__rejects order by line")"

"$CDBT" test --profiles-dir . --select silver_tx > test.out 2>&1
check "tests on the cleansed model" "0" "$?"

# a failing cleanse (max_rejects exceeded) leaves the old table and rejects untouched
before=$(q "select count(*) from analytics.silver_strict")
"$CDBT" run --profiles-dir . --select silver_strict --vars '{strict_max: 0}' > run2.out 2>&1
check "strict run exit code" "1" "$?"
check "strict error message" "1" "$(grep -c 'more than max_rejects=0 rows rejected; see "analytics"."silver_strict__rejects"' run2.out)"
check "old silver_strict kept" "$before" "$(q "select count(*) from analytics.silver_strict")"
check "rejects of the failed attempt published" "4|amount|numeric|not a number" \
  "$(q "select line, column_name, rule, reason from analytics.silver_strict__rejects")"
check "no leftover tmp tables" "" "$(q "select tablename from pg_tables where schemaname = 'analytics' and tablename like '%dbt_tmp%'")"

# incremental by files: only new or changed files are read
cat >> models/properties.yml <<'YML'
  - name: tx_incr
    config:
      materialized: cleanse
      input: {path: "landing/incr/*.csv"}
      incremental: files
      unique_key: id
    columns:
      - name: id
        data_type: integer
      - name: v
        data_type: text
YML
echo "-- files" > models/tx_incr.sql
mkdir -p landing/incr
printf 'id,v\n1,a\n2,b\n' > landing/incr/a.csv
"$CDBT" run --profiles-dir . --select tx_incr > run3.out 2>&1
check "incr run 1" "0" "$?"
printf 'id,v\n2,B\n3,c\n' > landing/incr/b.csv
"$CDBT" run --profiles-dir . --select tx_incr > run4.out 2>&1
check "incr run 2" "0" "$?"
check "incr merged rows" "1|a
2|B
3|c" "$(q "select * from analytics.tx_incr order by id")"
check "incr second run read only b.csv" "1" "$(grep -c 'tx_incr .*in=2 out=2 rejected=0' run4.out)"
check "incr bookkeeping" "landing/incr/a.csv|13
landing/incr/b.csv|13" "$(q "select path, size from analytics.tx_incr__cleanse_files order by path")"

# incremental by watermark (SQL input): only rows past the target's max are read, merged by unique_key
q "create table bronze.ev (id text, v text, updated_at text);
   insert into bronze.ev values ('1', 'a', '2024-01-01 00:00:00'), ('2', 'b', '2024-01-02 00:00:00')" >/dev/null
cat >> models/properties.yml <<'YML'
  - name: ev_incr
    config:
      materialized: cleanse
      unique_key: id
      incremental: {watermark: updated_at}
    columns:
      - name: id
        data_type: integer
      - name: v
        data_type: text
      - name: updated_at
        data_type: timestamp
YML
echo "select * from bronze.ev" > models/ev_incr.sql
"$CDBT" run --profiles-dir . --select ev_incr > run6.out 2>&1
check "watermark run 1" "0" "$?"
q "update bronze.ev set v = 'B', updated_at = '2024-01-03 00:00:00' where id = '2';
   insert into bronze.ev values ('3', 'c', '2024-01-01 12:00:00')" >/dev/null
"$CDBT" run --profiles-dir . --select ev_incr > run7.out 2>&1
check "watermark run 2" "0" "$?"
check "watermark merged rows" "1|a|2024-01-01 00:00:00
2|B|2024-01-03 00:00:00" "$(q "select * from analytics.ev_incr order by id")"
check "watermark counts" "1" "$(grep -c 'ev_incr .*in=3 out=1 rejected=0 skipped=2' run7.out)"
"$CDBT" run --profiles-dir . --select ev_incr --full-refresh > run8.out 2>&1
check "full refresh rebuilds" "3" "$(q "select count(*) from analytics.ev_incr")"

# bad rule: located error before anything runs
sed -i 's/rules: \[trim, collapse_spaces, title\]/rules: [trim, collapse_spaces, titel]/' models/properties.yml
"$CDBT" run --profiles-dir . > run5.out 2>&1
check "bad rule exit code" "2" "$?"
check "bad rule message" "models/properties.yml:26:40: error: cleanse model 'silver_from_bronze': unknown rule 'titel'" \
  "$(grep -m1 "unknown rule" run5.out)"

if [ "$fails" != 0 ]; then
  echo "$fails check(s) failed"; for f in run*.out; do echo "== $f"; cat "$f"; done; exit 1
fi
echo "cleanse e2e: all checks passed"
