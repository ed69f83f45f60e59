#!/usr/bin/env bash
# microbatch.sh - incremental_strategy='microbatch' (dbt-core 1.9 on
# dbt-postgres): batches from `begin` on the first build, the lookback window
# later, --event-time-start/--event-time-end backfills, --full-refresh; refs
# and sources whose config has event_time are filtered per batch, others not;
# each batch is a merge on unique_key; a failing batch gives "partial
# success" (exit 1) with run_results' batch_results; config errors at parse
# time with dbt's messages (exit 2).
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-mb-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
mkdir -p "$W/p/models"
cd "$W/p"
. "$HERE/assert.sh"

D0=$(date -u +%F); D1=$(date -u -d '1 day ago' +%F); D2=$(date -u -d '2 days ago' +%F); D3=$(date -u -d '3 days ago' +%F)
cat > profiles.yml <<YML
mb:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('PGHOST') }}"
      port: "{{ env_var('PGPORT') | int }}"
      user: "{{ env_var('PGUSER') }}"
      password: ""
      dbname: "{{ env_var('PGDATABASE') }}"
      schema: analytics
      threads: 2
YML
cat > dbt_project.yml <<YML
name: mb
version: '1.0'
profile: mb
models:
  mb:
    +materialized: view
YML
cat > models/sources.yml <<YML
sources:
  - name: raw
    schema: raw
    tables:
      - name: events
        config:
          event_time: ts
models:
  - name: up_events
    config:
      event_time: ts
YML
echo "select * from {{ source('raw', 'events') }}" > models/up_events.sql
echo "{{ config(materialized='table') }} select 1 as k, 'one' as name union all select 2, 'two'" > models/dim.sql
cat > models/mb.sql <<SQL
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', begin='$D3',
          batch_size='day', unique_key='id') }}
with e as (select * from {{ ref('up_events') }}), d as (select * from {{ ref('dim') }})
select e.id, e.ts, e.v, d.name, '{{ model.batch.id }}' as batch_id
from e left join d on d.k = e.k
SQL
q "create schema raw; create table raw.events (id int, ts timestamp, k int, v text);
   insert into raw.events values (1, '$D3 12:00', 1, 'a'), (2, '$D2 12:00', 2, 'b'), (3, '$D1 12:00', 1, 'c'), (4, '$D0 00:30', 2, 'd')" >/dev/null

# 1. first build: one batch per day from begin
"$CDBT" run > r1.out 2>&1
check "first run exit code" 0 $?
contains "model start line" "START sql microbatch model analytics.mb" r1.out
contains "batch 1 start" "Batch 1 of 4 START batch $D3 of analytics.mb" r1.out
contains "batch 4 done" "Batch 4 of 4 OK created batch $D0 of analytics.mb" r1.out
contains "model result" "OK created sql microbatch model analytics.mb" r1.out
contains "model result status" "[SUCCESS in" r1.out
check "one row per batch, tagged with its batch id" "1|$D3|one|${D3//-/}
2|$D2|two|${D2//-/}
3|$D1|one|${D1//-/}
4|$D0|two|${D0//-/}" "$(q "select id, ts::date, name, batch_id from analytics.mb order by id")"
F="target/run/mb/models/mb_$D2.sql"
contains "the batch's SQL in target/run" "(select * from \"postgres\".\"analytics\".\"up_events\" where ts >= '$D2 00:00:00+00:00' and ts < '$D1 00:00:00+00:00') _dbt_et_filter_subq_up_events" "$F"
contains "a ref without event_time is not filtered" "d as (select * from \"postgres\".\"analytics\".\"dim\")" "$F"
contains "later batches merge on unique_key" "merge into \"postgres\".\"analytics\".\"mb\" as DBT_INTERNAL_DEST" "$F"
check "run_results batch_results" "success|4|0|SUCCESS|${D3}T00:00:00+00:00" "$(python3 -c "
import json; r=[x for x in json.load(open('target/run_results.json'))['results'] if x['unique_id']=='model.mb.mb'][0]
b=r['batch_results']; print(r['status'], len(b['successful']), len(b['failed']), r['message'], b['successful'][0][0], sep='|')")"

# 2. compile renders without filters
"$CDBT" compile -q -s mb > c1.out 2>&1; check "compile exit code" 0 $?
check "compile: no event-time filter" "0" "$(grep -c _dbt_et_filter_subq target/compiled/mb/models/mb.sql)"

# 3. a later run: lookback 1 re-processes yesterday and today only
q "update raw.events set v = v || '2'; insert into raw.events values (5, '$D1 13:00', 1, 'e')" >/dev/null
"$CDBT" run -s mb > r2.out 2>&1
check "lookback run exit code" 0 $?
contains "two batches" "Batch 2 of 2 OK created batch $D0 of analytics.mb" r2.out
check "old batches untouched, recent ones updated and added" "1|a
2|b
3|c2
4|d2
5|e" "$(q "select id, v from analytics.mb order by id")"

# 4. backfill with --event-time-start / --event-time-end
"$CDBT" run -s mb --event-time-start "$D3" --event-time-end "$D2" > r3.out 2>&1
check "backfill exit code" 0 $?
contains "one batch" "Batch 1 of 1 OK created batch $D3 of analytics.mb" r3.out
check "only that day changed" "1|a2
2|b" "$(q "select id, v from analytics.mb where id <= 2 order by id")"
DBT_EVENT_TIME_START="$D2" DBT_EVENT_TIME_END="$D1" "$CDBT" run -s mb > r3b.out 2>&1
check "env twins" "2|b2" "$(q "select id, v from analytics.mb where id = 2")"

# 5. --full-refresh rebuilds from begin
q "insert into analytics.mb (id, v) values (99, 'stray')" >/dev/null
"$CDBT" run -s mb --full-refresh > r4.out 2>&1
check "full refresh exit code" 0 $?
contains "from begin" "Batch 1 of 4 START batch $D3" r4.out
check "rebuilt" "5|0" "$(q "select count(*), count(*) filter (where id = 99) from analytics.mb")"

# 6. a failing batch: partial success, exit 1, batch_results
cat > models/mb.sql <<SQL
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', begin='$D3',
          batch_size='day', unique_key='id') }}
with e as (select * from {{ ref('up_events') }}), d as (select * from {{ ref('dim') }})
select e.id, e.ts, e.v, d.name, '{{ model.batch.id }}' as batch_id
from e left join d on d.k = e.k
{% if model.batch.id == '${D1//-/}' %} where 1 / 0 = 1 {% endif %}
SQL
"$CDBT" run -s mb --event-time-start "$D2" --event-time-end "$D0 12:00:00" > r5.out 2>&1
check "partial success exit code" 1 $?
contains "error batch line" "Batch 2 of 3 ERROR creating batch $D1 of analytics.mb" r5.out
contains "partial line" "[PARTIAL SUCCESS (2/3) in" r5.out
contains "summary" "Completed with 0 errors, 1 partial success, and 0 warnings:" r5.out
contains "the batch's error" "division by zero" r5.out
check "run_results" "partial success|$D2|$D0|$D1" "$(python3 -c "
import json; r=[x for x in json.load(open('target/run_results.json'))['results'] if x['unique_id']=='model.mb.mb'][0]
b=r['batch_results']; print(r['status'], b['successful'][0][0][:10], b['successful'][1][0][:10], b['failed'][0][0][:10], sep='|')")"

# 7. dbt-postgres requires unique_key (the first batch of a new table is a create)
sed -i "s/, unique_key='id'//; /1 \/ 0/d" models/mb.sql
q "drop table analytics.mb" >/dev/null
"$CDBT" run -s mb --event-time-start "$D2" --event-time-end "$D0" > r6.out 2>&1
check "no unique_key exit code" 1 $?
contains "no unique_key" "dbt-postgres 'microbatch' requires a \`unique_key\` config" r6.out

# 8. config errors at parse time, exit 2
cfg() { cat > models/mb.sql <<SQL
{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='id', $1) }}
select 1 as id, now() as ts
SQL
  "$CDBT" parse > perr.out 2>&1; echo "rc=$?"; }
check "no event_time rc" "rc=2" "$(cfg "begin='$D3', batch_size='day'")"
contains "no event_time" "Microbatch model 'mb' must provide an 'event_time' (string) config that indicates the name of the event time column." perr.out
cfg "event_time='ts', batch_size='day'" >/dev/null
contains "no begin" "Microbatch model 'mb' must provide a 'begin' (datetime) config that indicates the earliest timestamp the microbatch model should be built from." perr.out
cfg "event_time='ts', begin='yesterday', batch_size='day'" >/dev/null
contains "bad begin" "Microbatch model 'mb' must provide a 'begin' config of valid datetime (ISO format), but got: yesterday." perr.out
cfg "event_time='ts', begin='$D3', batch_size='week'" >/dev/null
contains "bad batch_size" "Microbatch model 'mb' must provide a 'batch_size' config that is one of ['hour', 'day', 'month', 'year'], but got: week." perr.out
cfg "event_time='ts', begin='$D3', batch_size='day', lookback='2'" >/dev/null
contains "bad lookback" "Microbatch model 'mb' must provide the optional 'lookback' config as type int, but got: <class 'str'>)." perr.out
cfg "event_time=3, begin='$D3', batch_size='day'" >/dev/null
contains "event_time not a string" "Microbatch model 'mb' must provide an 'event_time' config of type string, but got: <class 'int'>." perr.out
"$CDBT" run --event-time-start "$D3" > ferr.out 2>&1
check "flag error rc" 2 $?
contains "mutually required" "When specifying \`--event-time-start\`, \`--event-time-end\` must also be present." ferr.out
"$CDBT" run --event-time-start "$D1" --event-time-end "$D3" > ferr.out 2>&1
contains "start before end" "Value for \`--event-time-start\` must be less than \`--event-time-end\`" ferr.out

[ $fails = 0 ] && echo "microbatch: all checks passed"
[ $fails = 0 ]
