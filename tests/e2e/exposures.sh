#!/usr/bin/env bash
# exposures.sh - `cdbt build -s +exposure:x` builds exactly the exposure's
# ancestors (seed, models, the test of a built model) and nothing for the
# exposure itself; run_results.json and the summary count no exposure; `run`
# with an exposure selector runs its ancestor models.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-expo-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/exposures" "$W/p"
rm -rf "$W/p/target"
cd "$W/p"
. "$HERE/assert.sh"
rels() { q "select string_agg(table_name, ',' order by table_name) from information_schema.tables where table_schema = 'ex'"; }

"$CDBT" build -s +exposure:weekly_kpis > b.out 2>&1
check "build +exposure:x exit code" 0 $?
check "exactly the ancestors were built" "fct_orders,raw_orders,stg_orders" "$(rels)"
check "their data" "60" "$(q "select sum(amount) from ex.fct_orders")"
check "run_results: the ancestors and the test, no exposure" \
    "model.ex.fct_orders model.ex.stg_orders seed.ex.raw_orders test.ex.not_null_fct_orders_id.600c7b2b67" \
    "$(python3 -c "import json; print(' '.join(sorted(r['unique_id'] for r in json.load(open('target/run_results.json'))['results'])))")"
contains "summary counts four nodes" "PASS=4 WARN=0 ERROR=0 SKIP=0" b.out
check "no console line for an exposure" "0" "$(grep -v 'Found' b.out | grep -ci exposure)"

"$CDBT" seed -q -s raw_other > /dev/null 2>&1
"$CDBT" run -s +exposure:events_app --exclude source:* > r.out 2>&1
check "run +exposure:x exit code" 0 $?
contains "run ran the one model" "PASS=1 WARN=0 ERROR=0 SKIP=0" r.out
check "and nothing else" "fct_orders,raw_orders,raw_other,stg_orders,unrelated" "$(rels)"
check "test +exposure:x runs the tests of its ancestors" "0" "$("$CDBT" test -q -s +exposure:weekly_kpis > /dev/null 2>&1; echo $?)"

[ $fails = 0 ] && echo "exposures: all checks passed"
[ $fails = 0 ]
