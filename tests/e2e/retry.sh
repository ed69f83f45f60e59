#!/usr/bin/env bash
# retry.sh - `cdbt retry`: after a build where a model failed (its child and
# its test skipped) and a test failed, retry runs exactly those nodes with
# the previous invocation's flags (--vars, --full-refresh, target, threads),
# leaves the nodes that succeeded alone, writes its own run_results.json
# (so a second retry has nothing to do), and refuses what it cannot retry.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-retry-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
mkdir -p "$W/p/models"
cd "$W/p"
. "$HERE/assert.sh"
cp "$HERE/../fixtures/e2e/run_basic/profiles.yml" .
cat > dbt_project.yml <<'YML'
name: e2e_retry
profile: e2e
models:
  e2e_retry:
    +materialized: table
YML
echo "select 1 as id" > models/a.sql
echo "select id, {{ var('k', 0) }} as k from raw.late" > models/b.sql
echo "select * from {{ ref('b') }}" > models/c.sql
echo "{{ config(materialized='view') }} select v from raw.vals" > models/d.sql
cat > models/schema.yml <<'YML'
version: 2
models:
  - name: b
    columns: [{name: id, data_tests: [not_null]}]
  - name: d
    columns: [{name: v, data_tests: [unique]}]
YML
q "create schema raw; create table raw.vals (v int); insert into raw.vals values (1), (1)" >/dev/null
statuses() { python3 -c "
import json
d=json.load(open('target/run_results.json'))
print(' '.join(sorted(r['unique_id'].split('.')[2] + '=' + r['status'] for r in d['results'])))"; }

"$CDBT" build --vars '{k: 7}' --threads 2 > b1.out 2>&1
check "first build exit code" 1 $?
check "first build statuses" "a=success b=error c=skipped d=success not_null_b_id=skipped unique_d_v=fail" "$(statuses)"
oid_a=$(q "select 'analytics.a'::regclass::oid")

# ---- 1. fix the causes, retry: only the failed/skipped nodes, with --vars k=7
q "create table raw.late (id int); insert into raw.late values (1); delete from raw.vals; insert into raw.vals values (1), (2)" >/dev/null
"$CDBT" retry > r1.out 2>&1
check "retry exit code" 0 $?
check "retry statuses (only what did not succeed)" "b=success c=success not_null_b_id=pass unique_d_v=pass" "$(statuses)"
check "the previous --vars applied" "1|7" "$(q "select * from analytics.c")"
check "a was not rebuilt" "$oid_a" "$(q "select 'analytics.a'::regclass::oid")"
contains "retry names the command" "Retrying 4 nodes of the previous 'build'" r1.out
contains "previous threads" "Concurrency: 2 threads" r1.out
check "its run_results name the retried command" "build" "$(python3 -c "import json; print(json.load(open('target/run_results.json'))['args']['which'])")"

# ---- 2. nothing left to retry
"$CDBT" retry > r2.out 2>&1
check "second retry exit code" 0 $?
contains "nothing to do" "Nothing to do" r2.out

# ---- 3. a run that fails again keeps failing; --threads on the command line wins
q "drop table raw.late cascade" >/dev/null
"$CDBT" run -s b c > b2.out 2>&1
check "run with a failure exit code" 1 $?
"$CDBT" retry --threads 3 > r3.out 2>&1
check "retry of a still-broken model exit code" 1 $?
contains "--threads given to retry wins" "Concurrency: 3 threads" r3.out
check "still failing: b error, c skipped" "b=error c=skipped" "$(statuses)"
q "create table raw.late (id int)" >/dev/null
"$CDBT" retry > r4.out 2>&1
check "then fixed: retry exit code" 0 $?
check "then fixed: statuses" "b=success c=success" "$(statuses)"

# ---- 4. --state DIR: retry from another directory's run_results.json
q "drop table raw.late cascade" >/dev/null
"$CDBT" run -s b > b3.out 2>&1
cp -r target prev
q "create table raw.late (id int)" >/dev/null
"$CDBT" run -s a > b4.out 2>&1
"$CDBT" retry --state prev > r5.out 2>&1
check "retry --state exit code" 0 $?
check "retry --state ran b" "b=success" "$(statuses)"

# ---- 5. errors
rm -rf target
"$CDBT" retry > e1.out 2>&1
check "no previous run: exit 2" 2 $?
contains "no previous run: message" "Could not find previous run in '" e1.out
"$CDBT" run-operation nope > /dev/null 2>&1
"$CDBT" retry > e2.out 2>&1
check "after run-operation: exit 2" 2 $?
contains "after run-operation: message" "the previous command 'run-operation' cannot be retried" e2.out

[ $fails = 0 ] && echo "retry: all checks passed"
[ $fails = 0 ]
