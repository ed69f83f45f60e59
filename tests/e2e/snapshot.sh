#!/usr/bin/env bash
# snapshot.sh - `cdbt snapshot` and snapshots in `cdbt build` (§10) against a
# throw-away PostgreSQL on tests/fixtures/e2e/snapshot: the first run builds
# the tables (meta columns, dbt_scd_id = md5 of key(s) and updated_at); a
# run without source changes adds nothing; a changed row closes its old
# version (dbt_valid_to = the new updated_at) and inserts a new one (timestamp
# and check strategies, a list unique_key); a deleted key is closed only with
# hard-delete invalidation, or with hard_deletes: new_record a deletion
# row (dbt_is_deleted 'True') that a returning key closes again; a new source column is added to the snapshot
# table; `build` runs a snapshot before the model that selects from it;
# missing / unsupported config fails the node with a clear error naming the
# file; a view in the snapshot's place is an error.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-snap-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/snapshot" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
status_of() { python3 -c "
import json,sys
d=json.load(open('target/run_results.json'))
for r in d['results']:
    if r['unique_id'].split('.')[2]==sys.argv[1]: print(r['status'])" "$1"; }
msg_of() { python3 -c "
import json,sys
d=json.load(open('target/run_results.json'))
for r in d['results']:
    if r['unique_id'].split('.')[2]==sys.argv[1]: print(r['message'])" "$1"; }

q "create schema raw;
   create table raw.orders (id int, status text, updated_at timestamp);
   insert into raw.orders values (1, 'new', '2024-01-01 10:00'), (2, 'new', '2024-01-01 11:00'), (3, 'new', '2024-01-01 12:00');
   create table raw.items (region text, id int, status varchar(5), amount int);
   insert into raw.items values ('eu', 1, 'a', 10), ('us', 1, 'a', 20), ('eu', 2, null, 30);
   create table raw.people (id int, name text);
   insert into raw.people values (1, 'ann'), (2, 'bob');
   create table raw.hook_log (which text);" >/dev/null

ORDERS="select id, status, updated_at, dbt_valid_from, dbt_valid_to, dbt_updated_at from snapshots.orders_snap order by id, dbt_valid_from"
SCD_TS="select count(*) from snapshots.orders_snap where dbt_scd_id is distinct from md5(coalesce(cast(id as varchar), '') || '|' || coalesce(cast(updated_at as varchar), ''))"
SCD_LIST="select count(*) from analytics.items_snap where dbt_scd_id is distinct from md5(coalesce(cast(region as varchar), '') || '|' || coalesce(cast(id as varchar), '') || '|' || coalesce(cast(dbt_updated_at as varchar), ''))"

# ---- 1. first run
"$CDBT" snapshot > s1.out 2>&1
check "first snapshot exit code" 0 $?
contains "status line" "OK snapshotted snapshot snapshots.orders_snap" s1.out
contains "status line (model-like schema)" "OK snapshotted snapshot analytics.items_snap" s1.out
contains "done line" "Done. PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3" s1.out
check "orders after run 1" "1|new|2024-01-01 10:00:00|2024-01-01 10:00:00||2024-01-01 10:00:00
2|new|2024-01-01 11:00:00|2024-01-01 11:00:00||2024-01-01 11:00:00
3|new|2024-01-01 12:00:00|2024-01-01 12:00:00||2024-01-01 12:00:00" "$(q "$ORDERS")"
check "timestamp scd_id is md5(id|updated_at)" "0" "$(q "$SCD_TS")"
check "list-key scd_id is md5(region|id|updated_at)" "0" "$(q "$SCD_LIST")"
check "items: all current, valid_from = updated_at = snapshot time" "3|3|0" \
  "$(q "select count(*), count(*) filter (where dbt_valid_from = dbt_updated_at and dbt_valid_from > now()::timestamp - interval '1 hour'), count(dbt_valid_to) from analytics.items_snap")"
check "snapshot table columns" "id,status,updated_at,dbt_scd_id,dbt_updated_at,dbt_valid_from,dbt_valid_to" \
  "$(q "select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_schema = 'snapshots' and table_name = 'orders_snap'")"
check "run_results status" "success" "$(status_of orders_snap)"
check "run_results message (first run)" "SELECT 3" "$(msg_of orders_snap)"
check "post-hook sees flags.WHICH = snapshot" "snapshot" "$(q "select string_agg(which, ',') from raw.hook_log")"
check "no staging tables left" "" "$(q "select relname from pg_class where relname like '%dbt_tmp%'")"

# ---- 2. no change: nothing new
"$CDBT" snapshot > s2.out 2>&1
check "second snapshot exit code" 0 $?
check "orders unchanged" "3|0" "$(q "select count(*), count(dbt_valid_to) from snapshots.orders_snap")"
check "items unchanged" "3|0" "$(q "select count(*), count(dbt_valid_to) from analytics.items_snap")"
check "people unchanged" "2|0" "$(q "select count(*), count(dbt_valid_to) from snapshots.people_snap")"
check "run_results message (merge)" "INSERT 0 0" "$(msg_of orders_snap)"
contains "merge status line" "OK snapshotted snapshot snapshots.orders_snap" s2.out

# ---- 3. changes: timestamp moves, a check column changes (also null -> value)
q "update raw.orders set status = 'paid', updated_at = '2024-02-01 09:00' where id = 2;
   update raw.orders set status = 'quiet' where id = 3;
   update raw.items set status = 'b' where region = 'us' and id = 1;
   update raw.items set status = 'x' where region = 'eu' and id = 2;
   update raw.items set status = 'a' where region = 'eu' and id = 1;" >/dev/null
"$CDBT" snapshot --select orders_snap items_snap > s3.out 2>&1
check "third snapshot exit code" 0 $?
contains "only two selected" "Done. PASS=2 WARN=0 ERROR=0 SKIP=0 TOTAL=2" s3.out
check "orders after a change (old row closed at the new updated_at, new row current; unchanged updated_at ignored)" \
"1|new|2024-01-01 10:00:00|2024-01-01 10:00:00||2024-01-01 10:00:00
2|new|2024-01-01 11:00:00|2024-01-01 11:00:00|2024-02-01 09:00:00|2024-01-01 11:00:00
2|paid|2024-02-01 09:00:00|2024-02-01 09:00:00||2024-02-01 09:00:00
3|new|2024-01-01 12:00:00|2024-01-01 12:00:00||2024-01-01 12:00:00" "$(q "$ORDERS")"
check "timestamp scd_id after change" "0" "$(q "$SCD_TS")"
check "items after a change (list key: only us/1 and eu/2 got new versions)" \
"eu|1|a|current
eu|2||closed
eu|2|x|current
us|1|a|closed
us|1|b|current" \
  "$(q "select region, id, status, case when dbt_valid_to is null then 'current' else 'closed' end from analytics.items_snap order by region, id, dbt_valid_from")"
check "closed check rows end when the new ones start" "2" \
  "$(q "select count(*) from analytics.items_snap o join analytics.items_snap n using (region, id) where o.dbt_valid_to = n.dbt_valid_from and n.dbt_valid_to is null")"
check "list-key scd_id after change" "0" "$(q "$SCD_LIST")"
check "run_results message (merge with inserts)" "INSERT 0 1" "$(msg_of orders_snap)"

# ---- 4. deleted keys: closed only with invalidation
q "delete from raw.orders where id = 1; delete from raw.items where region = 'eu' and id = 1;" >/dev/null
"$CDBT" snapshot > s4.out 2>&1
check "fourth snapshot exit code" 0 $?
check "no invalidation: deleted order stays current" "1|open" \
  "$(q "select id, coalesce(dbt_valid_to::text, 'open') from snapshots.orders_snap where id = 1")"
check "invalidation: deleted item closed at snapshot time" "1" \
  "$(q "select count(*) from analytics.items_snap where region = 'eu' and id = 1 and dbt_valid_to > now()::timestamp - interval '1 hour'")"
check "invalidation: no other item closed" "2" "$(q "select count(*) from analytics.items_snap where dbt_valid_to is not null and not (region = 'eu' and id = 1)")"
check "a rerun does not close it again" "5" "$("$CDBT" snapshot -s items_snap >/dev/null 2>&1; q "select count(*) from analytics.items_snap")"
# a deleted key that comes back is a new current version
q "insert into raw.items values ('eu', 1, 'a', 10)" >/dev/null
"$CDBT" snapshot -s items_snap > s4b.out 2>&1
check "returning key exit code" 0 $?
check "returning key: a new current row" "eu|1|a|current" \
  "$(q "select region, id, status, 'current' from analytics.items_snap where region = 'eu' and id = 1 and dbt_valid_to is null")"

# ---- 4c. hard_deletes: new_record (1.9): a deletion inserts a row marked
# dbt_is_deleted = 'True'; a rerun adds nothing; a returning key closes it
q "create table raw.members (id int, name text, updated_at timestamp);
   insert into raw.members values (1, 'a', '2024-01-01'), (2, 'b', '2024-01-01'), (3, 'c', '2024-01-01');
   create table raw.pairs (k1 int, k2 text, v int);
   insert into raw.pairs values (1, 'x', 10), (2, 'y', 20);" >/dev/null
cat > snapshots/members_snap.sql <<'SQL'
{% snapshot members_snap %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at',
          hard_deletes='new_record') }}
select * from raw.members
{% endsnapshot %}
SQL
cat > snapshots/pairs_snap.sql <<'SQL'
{% snapshot pairs_snap %}
{{ config(target_schema='snapshots', unique_key=['k1', 'k2'], strategy='check', check_cols='all',
          hard_deletes='new_record', dbt_valid_to_current="'9999-12-31'::timestamp") }}
select * from raw.pairs
{% endsnapshot %}
SQL
MEM="select id, name, dbt_is_deleted, case when dbt_valid_to is null then 'current' else 'closed' end from snapshots.members_snap order by id, dbt_valid_from, dbt_is_deleted"
PAIRS="select k1, k2, coalesce(v::text, '-'), dbt_is_deleted, case when dbt_valid_to = '9999-12-31' then 'current' else 'closed' end from snapshots.pairs_snap order by k1, dbt_valid_from, dbt_is_deleted"
"$CDBT" snapshot -s members_snap pairs_snap > nr1.out 2>&1
check "new_record first run exit code" 0 $?
check "new_record first run: all 'False'" "1|a|False|current
2|b|False|current
3|c|False|current" "$(q "$MEM")"
check "new_record: dbt_is_deleted is the last column, text" "dbt_valid_to:timestamp without time zone,dbt_is_deleted:text" \
  "$(q "select string_agg(column_name || ':' || data_type, ',' order by ordinal_position) from information_schema.columns where table_schema = 'snapshots' and table_name = 'members_snap' and ordinal_position > 6")"
q "delete from raw.members where id = 2; delete from raw.pairs where k1 = 2" >/dev/null
"$CDBT" snapshot -s members_snap pairs_snap > nr2.out 2>&1
check "new_record after a delete exit code" 0 $?
check "new_record: old row closed, a deletion row current" "1|a|False|current
2|b|False|closed
2|b|True|current
3|c|False|current" "$(q "$MEM")"
check "new_record: the deletion row starts when the old row ends (snapshot time)" "1" \
  "$(q "select count(*) from snapshots.members_snap o join snapshots.members_snap d using (id) where o.dbt_is_deleted = 'False' and d.dbt_is_deleted = 'True' and o.dbt_valid_to = d.dbt_valid_from and d.dbt_valid_from = d.dbt_updated_at and d.dbt_valid_from > now()::timestamp - interval '1 hour'")"
check "new_record: deletion row scd_id = md5(old scd_id|time)" "1" \
  "$(q "select count(*) from snapshots.members_snap o join snapshots.members_snap d using (id) where o.dbt_is_deleted = 'False' and d.dbt_is_deleted = 'True' and d.dbt_scd_id = md5(o.dbt_scd_id || '|' || d.dbt_valid_from::varchar)")"
check "new_record, list key, dbt_valid_to_current" "1|x|10|False|current
2|y|20|False|closed
2|y|20|True|current" "$(q "$PAIRS")"
"$CDBT" snapshot -s members_snap pairs_snap > nr3.out 2>&1
check "new_record rerun exit code" 0 $?
check "new_record rerun adds nothing" "4|3" "$(q "select (select count(*) from snapshots.members_snap), (select count(*) from snapshots.pairs_snap)")"
q "insert into raw.members values (2, 'b2', '2024-06-01'); insert into raw.pairs values (2, 'y', 21)" >/dev/null
"$CDBT" snapshot -s members_snap pairs_snap > nr4.out 2>&1
check "new_record returning key exit code" 0 $?
# (the timestamp strategy: the new row is valid from its updated_at, which
# here is before the deletion row's start, as in dbt)
check "new_record: a returning key closes the deletion row and is current again" "1|a|False|current
2|b|False|closed
2|b2|False|current
2|b|True|closed
3|c|False|current" "$(q "$MEM")"
check "new_record: list key returns" "1|x|10|False|current
2|y|20|False|closed
2|y|20|True|closed
2|y|21|False|current" "$(q "$PAIRS")"
# switching an existing snapshot to new_record needs the column (dbt's check)
sed -i "s/hard_deletes='invalidate'/hard_deletes='new_record'/" snapshots/people_snap.sql
"$CDBT" snapshot -s people_snap > nr5.out 2>&1
check "new_record on an old table exit code" 1 $?
contains "new_record on an old table message" 'Snapshot target is not a snapshot table (missing "dbt_is_deleted")' nr5.out
sed -i "s/hard_deletes='new_record'/hard_deletes='invalidate'/" snapshots/people_snap.sql
rm snapshots/members_snap.sql snapshots/pairs_snap.sql

# ---- 5. a new source column, a wider varchar
q "alter table raw.orders add column note text; update raw.orders set note = 'n', updated_at = '2024-03-01 00:00' where id = 3;
   alter table raw.items alter column status type varchar(20); update raw.items set status = 'much longer' where region = 'us' and id = 1;
   alter table raw.people add column age int;" >/dev/null
"$CDBT" snapshot > s5.out 2>&1
check "new column exit code" 0 $?
check "new column added to the snapshot table" "note|text" \
  "$(q "select column_name, data_type from information_schema.columns where table_schema = 'snapshots' and table_name = 'orders_snap' and column_name = 'note'")"
check "new column filled for the new version only" "3|new||closed
3|n|n|current" "$(q "select id, coalesce(note, status), note, case when dbt_valid_to is null then 'current' else 'closed' end from snapshots.orders_snap where id = 3 order by dbt_valid_from")"
check "varchar widened" "character varying|20" \
  "$(q "select data_type, character_maximum_length from information_schema.columns where table_schema = 'analytics' and table_name = 'items_snap' and column_name = 'status'")"
check "long value stored" "much longer" "$(q "select status from analytics.items_snap where region = 'us' and id = 1 and dbt_valid_to is null")"
check "check_cols=all: a new column makes every row a new version" "4|2" \
  "$(q "select count(*), count(dbt_valid_to) from snapshots.people_snap")"

# ---- 6. build: snapshot before the model that selects from it
q "drop schema snapshots cascade; drop table if exists analytics.current_orders" >/dev/null
"$CDBT" build --threads 4 > b1.out 2>&1
check "build exit code" 0 $?
order=$(grep -E 'START (snapshot snapshots.orders_snap|sql table model analytics.current_orders)' b1.out | sed -E 's/.*START //; s/ \.+.*//')
check "snapshot before the model" "snapshot snapshots.orders_snap
sql table model analytics.current_orders" "$order"
check "model sees the snapshot" "2" "$(q "select count(*) from analytics.current_orders")"
check "build: flags.WHICH" "build" "$(q "select which from raw.hook_log order by ctid desc limit 1")"

# ---- 7. errors: a view in the snapshot's place
q "drop table snapshots.people_snap; create view snapshots.people_snap as select 1 as id" >/dev/null
"$CDBT" snapshot -s people_snap > e1.out 2>&1
check "view target exit code" 1 $?
contains "view target error" "Compilation Error in snapshot people_snap (snapshots/people_snap.sql)" e1.out
contains "view target message" "but it currently exists as a view" e1.out
check "view left alone" "v" "$(q "select relkind from pg_class where relname = 'people_snap'")"
q "drop view snapshots.people_snap" >/dev/null

# ---- 8. errors: missing / unsupported config
bad() {   # bad <file stem> <config> <expected message>
  printf '{%% snapshot %s %%}\n{{ config(%s) }}\nselect 1 as id\n{%% endsnapshot %%}\n' "$1" "$2" > "snapshots/$1.sql"
  "$CDBT" snapshot -s "$1" > "$1.out" 2>&1
  check "$1 exit code" 1 $?
  contains "$1 names the file" "in snapshot $1 (snapshots/$1.sql)" "$1.out"
  contains "$1 message" "$3" "$1.out"
  check "$1 built nothing" "" "$(q "select relname from pg_class where relname = '$1'")"
  rm "snapshots/$1.sql"
}
bad no_strategy "unique_key='id', target_schema='snapshots'" "Snapshots must be configured with a 'strategy' and 'unique_key'."
bad no_key "strategy='timestamp', updated_at='id'" "Snapshots must be configured with a 'strategy' and 'unique_key'."
bad no_updated_at "strategy='timestamp', unique_key='id'" "must specify an updated_at configuration"
bad no_check_cols "strategy='check', unique_key='id'" "must specify a check_cols configuration"
bad bad_check_cols "strategy='check', unique_key='id', check_cols='id'" "Invalid value for 'check_cols': id."
bad valid_to_current "strategy='check', unique_key='id', check_cols='all', dbt_valid_to_current=3" "Invalid value for 'dbt_valid_to_current'"
bad meta_names "strategy='check', unique_key='id', check_cols='all', snapshot_meta_column_names={'dbt_valid_to': 'valid_to'}" "snapshot_meta_column_names (renaming dbt_valid_to) is not supported by cdbt yet"
bad custom "strategy='mine', unique_key='id'" "Snapshot strategy 'mine' is not supported by cdbt yet"
bad both_deletes "strategy='check', unique_key='id', check_cols='all', hard_deletes='invalidate', invalidate_hard_deletes=True" "You cannot set both"

# ---- 9. the command's help
"$CDBT" snapshot --help > h.out 2>&1
check "snapshot --help exit code" 0 $?
contains "snapshot --help" "Usage: cdbt snapshot [OPTIONS]" h.out

if [ $fails = 0 ]; then echo "snapshot e2e: all passed"; else echo "snapshot e2e: $fails failed"; fi
[ $fails = 0 ]
