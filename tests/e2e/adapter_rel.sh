#!/usr/bin/env bash
# adapter_rel.sh - adapter.drop_relation / truncate_relation / rename_relation
# run their SQL (dbt-postgres's statements) at run time and keep the relation
# cache in step: a model dropped by another model's pre-hook is then built
# afresh (not renamed away as if it still existed); in compile they do nothing.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-adapter-e2e.XXXXXX)
trap 'rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/adapter_rel" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"

q "create schema analytics; create view analytics.stale_view as select 1 as x;
   create table analytics.to_empty as select generate_series(1, 5) as x;
   create table analytics.old_name as select 42 as x" >/dev/null

"$CDBT" compile -q > compile.out 2>&1
check "compile exit code" 0 $?
check "compile runs no SQL" "t|5|42" "$(q "select to_regclass('analytics.stale_view') is not null,
   (select count(*) from analytics.to_empty), (select x from analytics.old_name)")"

"$CDBT" run > run1.out 2>&1
check "run 1 exit code" 0 $?
check "view dropped" "" "$(q "select to_regclass('analytics.stale_view')")"
check "table truncated" "0" "$(q "select count(*) from analytics.to_empty")"
check "table renamed" "|42" "$(q "select to_regclass('analytics.old_name'), (select x from analytics.new_name)")"
check "victim built" "1" "$(q "select v from analytics.victim")"
contains "the drop is logged" 'drop view if exists "' logs/cdbt.log
contains "the rename is logged" 'rename to "new_name"' logs/cdbt.log

# dropper's pre-hook drops victim (type looked up in the relation cache)
# before victim is rebuilt: victim must be created afresh
"$CDBT" run -s dropper victim --vars '{v: 2}' > run2.out 2>&1
check "run 2 exit code" 0 $?
check "victim rebuilt" "2" "$(q "select v from analytics.victim")"
contains "victim dropped as a table" 'drop table if exists "' logs/cdbt.log
"$CDBT" run -s dropper victim --vars '{v: 3}' --threads 1 > run3.out 2>&1
check "run 3 exit code" 0 $?
check "victim rebuilt again" "3" "$(q "select v from analytics.victim")"

# dropping a relation that does not exist is not an error
"$CDBT" run -s keeper > run4.out 2>&1
check "run 4 exit code (nothing left to drop or rename)" 1 $?
contains "renaming a missing table is the server's error" 'does not exist' run4.out

[ $fails = 0 ] && echo "adapter_rel: ok"
[ $fails = 0 ]
