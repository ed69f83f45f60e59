#!/usr/bin/env bash
# packages.sh - `cdbt build` of a project with installed packages
# (tests/fixtures/projects/pkgs) against a throw-away PostgreSQL: the
# packages' seed, models and tests run with the root's; relations land in
# the schemas the config layers and each package's generate_schema_name
# give; dispatched package macros and namespaced generic tests run; the
# package's on-run-start (which would fail) is ignored; a --vars override
# reaches the package's model and makes the root's namespaced test fail.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-pkg-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/projects/pkgs" "$W/p"
rm -rf "$W/p/target"
cd "$W/p"
. "$HERE/assert.sh"

"$CDBT" build > b1.out 2>&1
check "build exit code" 0 $?
contains "summary" "Done. PASS=12 WARN=0 ERROR=0 SKIP=0 TOTAL=12" b1.out
check "relations and their schemas" \
"analytics|orders|BASE TABLE
analytics|util_seed|BASE TABLE
analytics_geo|orders|BASE TABLE
analytics_geo|regions|BASE TABLE
analytics_utils|util_from_src|VIEW
analytics_utils|util_numbers|BASE TABLE" \
    "$(q "select table_schema, table_name, table_type from information_schema.tables
          where table_schema like 'analytics%' order by 1, 2")"
check "package model rows (root-scoped var util_limit=7, package var, root var)" \
"1|pkg_default_util|7|EUR
5|pkg_default_util|7|EUR" \
    "$(q "select n, label, lim, currency from analytics_utils.util_numbers where n in (1, 5) order by n")"
check "root model over the package model (dispatched macros)" \
"5|$(printf '%s' '5-pkg_default_util' | md5sum | cut -d' ' -f1)|0.71428571428571428571|EUR" \
    "$(q "select id, sk, ratio, currency from analytics.orders where id = 5")"
check "geo_pkg: ref('orders') is the root's, ref('geo_pkg', 'orders') its own" "5|100" \
    "$(q "select count(*), max(geo_id) from analytics_geo.regions")"
check "package source over the package seed" "a|1
b|2" "$(q "select code, amount from analytics_utils.util_from_src order by code")"
for t in util_pkg_expression_is_true_orders_ratio_1 util_pkg_expression_is_true_orders_id___0 \
         util_pkg_expression_is_true_util_numbers_n_between_1_and_5 unique_util_numbers_n assert_lim_positive; do
    contains "test $t passed" "PASS $t" b1.out
done
check "the package's on-run-start did not run" "" "$(grep -i nonsense b1.out)"
[ -f target/run/util_pkg/models/marts/util_numbers.sql ] || { echo "FAIL: no target/run/util_pkg file"; fails=$((fails+1)); }
check "run_results: package ids" "model.util_pkg.util_numbers success" \
    "$(python3 -c "import json; r=json.load(open('target/run_results.json'))
print(*[x['unique_id'] + ' ' + x['status'] for x in r['results'] if x['unique_id'] == 'model.util_pkg.util_numbers'])")"

# --vars beats the root's scoped var: lim 2, ratio > 1 for n = 3, 4, 5
"$CDBT" build --vars '{util_limit: 2}' > b2.out 2>&1
check "build with --vars exit code" 1 $?
contains "namespaced test fails" "FAIL 3 util_pkg_expression_is_true_orders_ratio_1" b2.out
check "the package model saw --vars" "2" "$(q "select distinct lim from analytics_utils.util_numbers")"

"$CDBT" test -s package:util_pkg > t1.out 2>&1
check "test -s package:util_pkg exit code" 0 $?
contains "package tests only" "Done. PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3" t1.out

[ $fails = 0 ] && echo "packages: all checks passed"
[ $fails = 0 ]
