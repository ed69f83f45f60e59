#!/usr/bin/env bash
# packages.sh - installed packages (dbt_packages/, no database): the
# tests/fixtures/projects/pkgs root project `shop` with util_pkg (dispatched
# macros, a generic test, vars, its own config tree, a seed and a source)
# and geo_pkg (directory geo-pkg-1.2.0, its own model/macro paths and
# generate_schema_name, a model named like a root model).  Checks the
# compiled SQL, unique_ids, fqns, paths, configs (root tree over the
# package's, over its config() calls), macro lookup and dispatch, ref and
# var resolution, namespaced test names and ids, selection, errors, and
# that the caches see package files as inputs.
set -u
CDBT=$(realpath "${1:?usage: packages.sh path/to/cdbt}")
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/tests/fixtures/projects/pkgs" "$W/p"
rm -rf "$W/p/target"
cd "$W/p"
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
expect() {  # expect <what> <expected> <actual>
    if [ "$2" = "$3" ]; then ok; else bad "$1"; printf '  expected: %s\n  actual:   %s\n' "$2" "$3"; fi
}
C() { "$CDBT" "$@" --project-dir . --profiles-dir .; }
LS() { C ls -q "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
J() { python3 -c "import json,sys; m=json.load(open('target/manifest.json')); print($1)"; }
R() {  # R <cmd> [args]: "reused" when the run reused the last run's outputs
    out=$(C "$@" --debug 2>&1) || { echo "failed: $out"; return; }
    case $out in *"outputs reused"*) echo reused ;; *) echo full ;; esac
}
settle() { sleep 0.15; }

# ---- 1. discovery, identity, selection
expect "ls: every node with its fqn" \
    "geo_pkg.orders geo_pkg.regions shop.orders util_pkg.util_from_src util_pkg.marts.util_numbers util_pkg.util_seed source:util_pkg.util_src.util_seed shop.not_null_orders_id shop.util_pkg_expression_is_true_orders_id___0 shop.util_pkg_expression_is_true_orders_ratio_1 util_pkg.assert_lim_positive util_pkg.unique_util_numbers_n util_pkg.util_pkg_expression_is_true_util_numbers_n_between_1_and_5" \
    "$(LS)"
expect "package:util_pkg" \
    "util_pkg.util_from_src util_pkg.marts.util_numbers util_pkg.util_seed source:util_pkg.util_src.util_seed util_pkg.assert_lim_positive util_pkg.unique_util_numbers_n util_pkg.util_pkg_expression_is_true_util_numbers_n_between_1_and_5" \
    "$(LS -s package:util_pkg)"
expect "package:this (the root project)" \
    "shop.orders shop.not_null_orders_id shop.util_pkg_expression_is_true_orders_id___0 shop.util_pkg_expression_is_true_orders_ratio_1" \
    "$(LS -s package:this)"
expect "package:geo_pkg (named by its dbt_project.yml, not its directory)" "geo_pkg.orders geo_pkg.regions" \
    "$(LS -s package:geo_pkg)"
expect "fqn with the package prefix and a wildcard" \
    "util_pkg.util_from_src util_pkg.marts.util_numbers util_pkg.util_seed" "$(LS -s 'util_pkg.*' --resource-type model seed)"
expect "fqn util_pkg.marts" "util_pkg.marts.util_numbers" "$(LS -s util_pkg.marts --resource-type model)"
expect "a model name shared by two packages selects both" "geo_pkg.orders shop.orders" \
    "$(LS -s orders --resource-type model)"
expect "geo_pkg.orders alone" "geo_pkg.orders" "$(LS -s geo_pkg.orders)"
expect "source:util_src" "source:util_pkg.util_src.util_seed" "$(LS -s source:util_src)"
expect "--output path: relative to the package" "models/marts/util_numbers.sql" \
    "$(LS -s util_pkg.marts.util_numbers --resource-type model --output path)"

C compile -q > compile.out 2>&1
expect "compile exit code" 0 $?
expect "compiled files" \
"target/compiled/geo_pkg/src_models/orders.sql
target/compiled/geo_pkg/src_models/regions.sql
target/compiled/shop/models/orders.sql
target/compiled/shop/models/schema.yml/not_null_orders_id.sql
target/compiled/shop/models/schema.yml/util_pkg_expression_is_true_orders_id___0.sql
target/compiled/shop/models/schema.yml/util_pkg_expression_is_true_orders_ratio_1.sql
target/compiled/util_pkg/models/marts/util_numbers.sql
target/compiled/util_pkg/models/schema.yml/unique_util_numbers_n.sql
target/compiled/util_pkg/models/schema.yml/util_pkg_expression_is_true_util_numbers_n_between_1_and_5.sql
target/compiled/util_pkg/models/util_from_src.sql
target/compiled/util_pkg/tests/assert_lim_positive.sql" "$(find target/compiled -type f | sort)"

# util_pkg.surrogate_key dispatches with search order [shop, util_pkg]:
# util_pkg's postgres__ variant; safe_divide: the root's default__ comes first
expect "root model: package macros, dispatch order, ref(pkg, name), vars" \
"select
    n as id,
    md5(concat_ws('-', coalesce(cast(n as text), ''), coalesce(cast(label as text), ''))) as sk,
    case when lim = 0 then null else (n)::numeric / lim end as ratio,
    'EUR' as currency
from \"postgres\".\"analytics_utils\".\"util_numbers\"" \
    "$(cat target/compiled/shop/models/orders.sql)"
# util_limit: the root's util_pkg-scoped 7 beats the package's 3; util_label:
# the package's own; currency: the root's global; label(): its own macro
expect "package model: var scoping, its own bare-name macro" \
"select n, 'pkg_default_util' as label, 7 as lim, 'EUR' as currency
from generate_series(1, 5) as n" "$(sed '/^$/d' target/compiled/util_pkg/models/marts/util_numbers.sql)"
# ref('orders') from geo_pkg: the root project's first; its own generate_schema_name
expect "geo_pkg model: ref search order, its own generate_schema_name" \
"select id, 'EUR' as currency, (select id from \"postgres\".\"analytics_geo\".\"orders\") as geo_id
from \"postgres\".\"analytics\".\"orders\"" "$(cat target/compiled/geo_pkg/src_models/regions.sql)"
expect "namespaced generic test (column level)" \
"select * from \"postgres\".\"analytics\".\"orders\"
where not (id > 0)" "$(sed '/^$/d' target/compiled/shop/models/schema.yml/util_pkg_expression_is_true_orders_id___0.sql)"
expect "a package's source" \
'-- depends_on: "postgres"."analytics"."util_seed"
select code, amount from "postgres"."analytics"."util_seed"' "$(cat target/compiled/util_pkg/models/util_from_src.sql)"

# ---- 2. manifest
n='m["nodes"]["model.util_pkg.util_numbers"]'
expect "package node identity" \
    "util_pkg ['util_pkg', 'marts', 'util_numbers'] marts/util_numbers.sql models/marts/util_numbers.sql util_pkg://models/schema.yml" \
    "$(J "$n['package_name'], $n['fqn'], $n['path'], $n['original_file_path'], $n['patch_path']")"
# layer 2 (package tree: view, pkg_own, [from_pkg]), 4 (config(): table,
# [in_file]), 5 (root tree: schema utils, [from_root])
expect "config layers: package tree, config() call, root tree" \
    "table utils analytics_utils ['from_pkg', 'in_file', 'from_root'] ['from_pkg', 'in_file', 'from_root']" \
    "$(J "$n['config']['materialized'], $n['config']['schema'], $n['schema'], $n['config']['tags'], $n['tags']")"
# var() in a package's properties file: the root's vars scoped to the
# package (util_limit 7), then the package's own (util_label)
expect "var() in a package's properties file" "{'label': 'pkg_default', 'limit': 7}" \
    "$(J "$n['config']['meta']")"
expect "package model without config(): root tree over its own" "view utils" \
    "$(J 'm["nodes"]["model.util_pkg.util_from_src"]["config"]["materialized"], m["nodes"]["model.util_pkg.util_from_src"]["config"]["schema"]')"
expect "root model: the root tree only" "table None" \
    "$(J 'm["nodes"]["model.shop.orders"]["config"]["materialized"], m["nodes"]["model.shop.orders"]["config"]["schema"]')"
expect "depends_on of the root model" \
    "['macro.util_pkg.surrogate_key', 'macro.util_pkg.safe_divide'] ['model.util_pkg.util_numbers']" \
    "$(J 'm["nodes"]["model.shop.orders"]["depends_on"]["macros"], m["nodes"]["model.shop.orders"]["depends_on"]["nodes"]')"
expect "geo_pkg.regions depends on both orders" "['model.geo_pkg.orders', 'model.shop.orders']" \
    "$(J 'sorted(m["nodes"]["model.geo_pkg.regions"]["depends_on"]["nodes"])')"
expect "test unique_ids (dbt's names and hashes, namespace in the metadata)" \
"test.shop.not_null_orders_id.84ef11d8fe None
test.shop.util_pkg_expression_is_true_orders_id___0.6d9c144739 util_pkg
test.shop.util_pkg_expression_is_true_orders_ratio_1.99247dae4a util_pkg
test.util_pkg.unique_util_numbers_n.771fb6b077 None
test.util_pkg.util_pkg_expression_is_true_util_numbers_n_between_1_and_5.8034ffa66c util_pkg" \
    "$(J '"\n".join(k + " " + str(v["test_metadata"]["namespace"]) for k, v in sorted(m["nodes"].items()) if "test_metadata" in v)')"
expect "namespaced test: its macro from util_pkg" "['macro.util_pkg.test_expression_is_true', 'macro.dbt.get_where_subquery']" \
    "$(J 'm["nodes"]["test.shop.util_pkg_expression_is_true_orders_ratio_1.99247dae4a"]["depends_on"]["macros"]')"
expect "seed of a package: root_path is the package directory" "$W/p/dbt_packages/util_pkg util_pkg" \
    "$(J 'm["nodes"]["seed.util_pkg.util_seed"]["root_path"], m["nodes"]["seed.util_pkg.util_seed"]["package_name"]' | tr -d "(),'")"
expect "sources" "['source.util_pkg.util_src.util_seed']" "$(J 'sorted(m["sources"])')"
expect "macros of every package" \
    "['macro.geo_pkg.generate_schema_name', 'macro.shop.default__safe_divide', 'macro.util_pkg.default__safe_divide', 'macro.util_pkg.default__surrogate_key', 'macro.util_pkg.default__test_expression_is_true', 'macro.util_pkg.label', 'macro.util_pkg.postgres__surrogate_key', 'macro.util_pkg.safe_divide', 'macro.util_pkg.surrogate_key', 'macro.util_pkg.test_expression_is_true']" \
    "$(J 'sorted(k for k in m["macros"] if not k.startswith("macro.dbt."))')"
expect "child_map of a package model" \
    "['model.shop.orders', 'test.util_pkg.assert_lim_positive', 'test.util_pkg.unique_util_numbers_n.771fb6b077', 'test.util_pkg.util_pkg_expression_is_true_util_numbers_n_between_1_and_5.8034ffa66c']" \
    "$(J 'm["child_map"]["model.util_pkg.util_numbers"]')"
expect "the root's hooks only (the package's on-run-start is ignored)" "shop" "$(J 'm["metadata"]["project_name"]')"

# ---- 3. errors
cp -r dbt_packages/util_pkg dbt_packages/util_copy
out=$(C ls -q 2>&1); rc=$?
expect "duplicate package names: exit 2" 2 $rc
expect "duplicate package names: message" 'error: dbt found more than one package with the name "util_pkg" included in this project: dbt_packages/util_copy and dbt_packages/util_pkg. Package names must be unique in a project. Please rename one of these packages.' "$out"
rm -rf dbt_packages/util_copy
sed -i 's/^name: geo_pkg/name: shop/' dbt_packages/geo-pkg-1.2.0/dbt_project.yml
out=$(C ls -q 2>&1); rc=$?
expect "package named like the root: exit 2" 2 $rc
expect "package named like the root: message" "error: dbt found more than one package with the name \"shop\" included in this project: the root project $W/p and dbt_packages/geo-pkg-1.2.0. Package names must be unique in a project. Please rename one of these packages." "$out"
sed -i 's/^name: shop/name: geo_pkg/' dbt_packages/geo-pkg-1.2.0/dbt_project.yml
echo "select 1 as a" > dbt_packages/util_pkg/models/marts/dup.sql
echo "select 1 as a" > dbt_packages/util_pkg/models/dup.sql
out=$(C ls -q 2>&1); rc=$?
expect "two models of one name in a package: exit 2" 2 $rc
expect "two models of one name in a package: message" 'error: dbt found two models with the name "dup" (models/dup.sql and models/marts/dup.sql)' "$out"
rm dbt_packages/util_pkg/models/dup.sql
out=$(C ls -q -s dup 2>&1); rc=$?
expect "a root model and a package model may share a name" "0 util_pkg.marts.dup" "$rc $out"
rm dbt_packages/util_pkg/models/marts/dup.sql
echo '{% macro label() %}again{% endmacro %}' > dbt_packages/util_pkg/macros/dup.sql
out=$(C ls -q 2>&1); rc=$?
expect "two macros of one name in a package: exit 2" 2 $rc
expect "two macros of one name in a package: message" 'error: dbt found two macros named "label" in the project "util_pkg" (macros/dup.sql and macros/keys.sql); rename or remove one of them' "$out"
mv dbt_packages/util_pkg/macros/dup.sql macros/label.sql
expect "a root macro may share a package macro's name (the package's nodes use their own)" "0" \
    "$(C compile -q >/dev/null 2>&1; echo $?)"
expect "... and the package node still calls its own label()" "pkg_default_util" \
    "$(grep -o "pkg_default_[a-z]*" target/compiled/util_pkg/models/marts/util_numbers.sql)"
rm macros/label.sql
echo "select {{ util_pkg.nope() }} as x" > models/bad.sql
out=$(C compile -q -s bad 2>&1); rc=$?
expect "macro not found in a package namespace: exit 1 (a compile error in one model)" 1 $rc
expect "macro not found in a package namespace: message" "models/bad.sql:1:11: error: Compilation Error in model bad (models/bad.sql)
  'dict object' has no attribute 'nope'
    1 | select {{ util_pkg.nope() }} as x
      |           ^" "$out"
echo "select {{ surrogate_key(['a']) }} as x" > models/bad.sql
out=$(C compile -q -s bad 2>&1)
expect "a package macro is not visible by bare name from the root project" "  'surrogate_key' is undefined" \
    "$(echo "$out" | sed -n 2p)"
echo "select {{ adapter.dispatch('nothing', 'util_pkg')() }} as x" > models/bad.sql
out=$(C compile -q -s bad 2>&1)
expect "dispatch miss lists the search order" "  In dispatch: No macro named 'nothing' found within namespace: 'util_pkg'
    Searched for: 'shop.postgres__nothing', 'shop.default__nothing', 'util_pkg.postgres__nothing', 'util_pkg.default__nothing'" \
    "$(echo "$out" | sed -n 2,3p)"
cp dbt_project.yml project.bak
sed -i 's/search_order: \[shop, util_pkg\]/search_order: [not_installed, shop, util_pkg]/' dbt_project.yml
out=$(C compile -q -s bad 2>&1)
expect "a search_order package that is not installed is skipped, and listed" "  In dispatch: No macro named 'nothing' found within namespace: 'util_pkg'
    Searched for: 'not_installed.postgres__nothing', 'not_installed.default__nothing', 'shop.postgres__nothing', 'shop.default__nothing', 'util_pkg.postgres__nothing', 'util_pkg.default__nothing'" \
    "$(echo "$out" | sed -n 2,3p)"
rm models/bad.sql
expect "... the other dispatches still resolve" "0" "$(C compile -q -s orders >/dev/null 2>&1; echo $?)"
expect "... to the same macros" "    case when lim = 0 then null else (n)::numeric / lim end as ratio," \
    "$(grep ratio target/compiled/shop/models/orders.sql)"
mv project.bak dbt_project.yml

# ---- 4. the caches see package files
rm -rf target
settle
expect "first compile: full" full "$(R compile)"
expect "compile again: reused" reused "$(R compile)"
sed -i 's/{% macro label() %}util{% endmacro %}/{% macro label() %}tool{% endmacro %}/' dbt_packages/util_pkg/macros/keys.sql
settle
expect "package macro edited: full" full "$(R compile)"
expect "package macro edit compiled" "pkg_default_tool" \
    "$(grep -o "pkg_default_[a-z]*" target/compiled/util_pkg/models/marts/util_numbers.sql)"
expect "then reused" reused "$(R compile)"
sed -i 's/util_label: pkg_default/util_label: pkg_edit/' dbt_packages/util_pkg/dbt_project.yml
settle
expect "package dbt_project.yml edited: full" full "$(R compile)"
expect "package var edit compiled" "pkg_edit_tool" \
    "$(grep -o "pkg_edit_[a-z]*" target/compiled/util_pkg/models/marts/util_numbers.sql)"
echo "-- edited" >> dbt_packages/util_pkg/models/marts/util_numbers.sql
settle
expect "package model edited: full (no models-only delta with packages)" full "$(R compile)"
expect "package model edit compiled" "-- edited" "$(tail -1 target/compiled/util_pkg/models/marts/util_numbers.sql)"
echo "-- root edit" >> models/orders.sql
settle
out=$(C compile --debug 2>&1)
case $out in *"recompiled alone"*) bad "delta compile with packages" ;; *) ok ;; esac
expect "root model edit compiled" "-- root edit" "$(tail -1 target/compiled/shop/models/orders.sql)"
sed -i 's/expression: "n between 1 and 5"/expression: "n between 0 and 5"/' dbt_packages/util_pkg/models/schema.yml
settle
expect "package properties edited: full" full "$(R compile)"
expect "the edited test exists" "util_pkg.util_pkg_expression_is_true_util_numbers_n_between_0_and_5" \
    "$(LS -s test_name:expression_is_true,package:util_pkg)"
settle
mv dbt_packages/geo-pkg-1.2.0 "$W/geo_off"
out=$(C ls -q -s package:geo_pkg 2>&1)
expect "package removed: gone" "" "$out"
settle
mv "$W/geo_off" dbt_packages/geo-pkg-1.2.0
expect "package added back" "geo_pkg.orders geo_pkg.regions" "$(LS -s package:geo_pkg)"
settle
mkdir -p dbt_packages/late/models
echo "select 1 as l" > dbt_packages/late/models/late_model.sql
expect "a directory without dbt_project.yml is no package" "" "$(LS -s late_model)"
settle
printf 'name: late\nconfig-version: 2\n' > dbt_packages/late/dbt_project.yml
expect "its dbt_project.yml created: a package" "late.late_model" "$(LS -s late_model)"
rm -rf dbt_packages
settle
out=$(C compile -q 2>&1); rc=$?
expect "dbt_packages deleted: refs to package nodes fail" 2 $rc
case $out in *"depends on a node named 'util_numbers' in package or project 'util_pkg' which was not found"*) ok ;; *) bad "missing package message: $out" ;; esac

# ---- 5. the parse cache agrees with a cold parse
cp -r "$SRC/tests/fixtures/projects/pkgs/dbt_packages" dbt_packages
C parse -q >/dev/null 2>&1
C parse -q >/dev/null 2>&1
cp target/manifest.json warm.json
C parse -q --no-partial-parse >/dev/null 2>&1
norm() { python3 -c "
import json,sys,re
m=json.load(open(sys.argv[1])); m['metadata']={}
for n in m['nodes'].values(): n['created_at']=0
for n in m['sources'].values(): n['created_at']=0
for n in m['macros'].values(): n['created_at']=0
print(json.dumps(m, sort_keys=True))" "$1"; }
[ "$(norm warm.json)" = "$(norm target/manifest.json)" ] && ok || bad "cached parse manifest differs from a cold parse"

echo "packages: $pass passed, $fail failed"
[ "$fail" = 0 ]
