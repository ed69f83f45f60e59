#!/usr/bin/env bash
# source_freshness.sh - `cdbt source freshness` against a throw-away
# PostgreSQL (§11): max(loaded_at_field) against now(), naive timestamps
# taken as UTC, no rows = year 1, `filter`, warn/error thresholds, a failed
# query as `runtime error`, sources without loaded_at_field or with
# `freshness: null` left out; target/sources.json (or -o) in dbt's layout;
# exit 1 when a source is in error, 0 with warnings only, 2 for usage errors.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-fresh-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
cat > models/fresh_sources.yml <<'EOF'
version: 2
sources:
  - name: raw
    schema: raw
    loaded_at_field: loaded_at
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 2, period: hour}
    tables:
      - name: fresh_t
      - name: warn_t
      - name: stale_tz
      - name: empty_t
      - name: filtered_t
        freshness:
          warn_after: {count: 1, period: hour}
          error_after: {count: 2, period: hour}
          filter: "kind = 'old'"
      - name: missing_t
      - name: day_t
        freshness:           # merged with the source's (error_after too), as dbt does
          warn_after: {count: 1, period: day}
          error_after: {count: 3, period: day}
      - name: off_t
        freshness: null
  - name: other
    schema: raw
    tables:
      - name: fresh_t
EOF
q "create schema raw;
   create table raw.fresh_t as select (now() at time zone 'UTC') - interval '10 minutes' as loaded_at;
   create table raw.warn_t as select (now() at time zone 'UTC') - interval '90 minutes' as loaded_at;
   create table raw.stale_tz as select now() - interval '3 hours' as loaded_at;
   create table raw.empty_t (loaded_at timestamp);
   create table raw.filtered_t as select * from (values
       ((now() at time zone 'UTC') - interval '5 hours', 'old'),
       ((now() at time zone 'UTC') - interval '1 minute', 'new')) v(loaded_at, kind);
   create table raw.day_t as select (now() - interval '30 hours')::date as loaded_at;
   create table raw.off_t as select timestamp '2000-01-01' as loaded_at;" >/dev/null
field() { python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
r = {x['unique_id'].split('.', 2)[2]: x for x in d['results']}
x = r.get(sys.argv[2])
print('absent' if x is None else x.get(sys.argv[3]))" "$@"; }

# ---- 1. every source
"$CDBT" source freshness > f1.out 2>&1
check "exit code with errors" 1 $?
contains "pass line" "PASS freshness of raw.fresh_t" f1.out
contains "warn line" "WARN freshness of raw.warn_t" f1.out
contains "stale line" "ERROR STALE freshness of raw.stale_tz" f1.out
contains "runtime error line" "ERROR freshness of raw.missing_t" f1.out
contains "summary" "Done. PASS=1 WARN=2 ERROR=4 SKIP=0 TOTAL=7" f1.out
J=target/sources.json
check "fresh_t" pass "$(field $J raw.fresh_t status)"
check "warn_t" warn "$(field $J raw.warn_t status)"
check "stale_tz (timestamptz)" error "$(field $J raw.stale_tz status)"
check "empty_t (no rows: year 1)" error "$(field $J raw.empty_t status)"
check "empty_t max_loaded_at" "0001-01-01T00:00:00+00:00" "$(field $J raw.empty_t max_loaded_at)"
check "filtered_t (filter counts old rows only)" error "$(field $J raw.filtered_t status)"
check "missing_t" "runtime error" "$(field $J raw.missing_t status)"
check "day_t (a date, warn after 1 day)" warn "$(field $J raw.day_t status)"
check "off_t (freshness: null)" absent "$(field $J raw.off_t status)"
check "other.fresh_t (no loaded_at_field)" absent "$(field $J other.fresh_t status)"
age=$(field $J raw.fresh_t max_loaded_at_time_ago_in_s)
python3 -c "import sys; a=float(sys.argv[1]); sys.exit(0 if 540 < a < 720 else 1)" "$age" ||
    { echo "FAIL: fresh_t age $age, expected about 600 s"; fails=$((fails+1)); }
check "criteria" "{'warn_after': {'count': 1, 'period': 'hour'}, 'error_after': {'count': 2, 'period': 'hour'}, 'filter': None}" \
    "$(field $J raw.fresh_t criteria)"
check "filter in criteria" "kind = 'old'" "$(python3 -c "
import json; d=json.load(open('$J'))
print([x for x in d['results'] if x['unique_id'].endswith('filtered_t')][0]['criteria']['filter'])")"
check "schema version" "https://schemas.getdbt.com/dbt/sources/v3.json" \
    "$(python3 -c "import json; print(json.load(open('$J'))['metadata']['dbt_schema_version'])")"
contains "runtime error text" "does not exist" $J

# ---- 2. a selection, -o
"$CDBT" source freshness --select source:raw.fresh_t source:raw.warn_t -o out/fresh.json > f2.out 2>&1
check "warnings only: exit 0" 0 $?
check "selected only" "2" "$(python3 -c "import json; print(len(json.load(open('out/fresh.json'))['results']))")"
"$CDBT" source freshness -s source:raw.off_t > f3.out 2>&1
check "nothing to check: exit 0" 0 $?
contains "nothing to do" "Nothing to do." f3.out

# ---- 3. usage
"$CDBT" source > f4.out 2>&1
check "source without freshness: exit 2" 2 $?
"$CDBT" source stale > f5.out 2>&1
check "source <unknown>: exit 2" 2 $?
contains "unknown subcommand" "No such command 'source stale'" f5.out
"$CDBT" source freshness --help > f6.out 2>&1
check "help exit code" 0 $?

[ $fails = 0 ] && echo "source_freshness: all checks passed"
[ $fails = 0 ]
