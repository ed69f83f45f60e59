#!/usr/bin/env bash
# selectors.sh - named selectors in selectors.yml (§12.3): --selector NAME
# with CLI strings, method/value mappings (parents, children), union,
# intersection (multiplied out), excludes of the top union, references to
# other selectors; the `default: true` selector when nothing is selected on
# the command line; errors (exit 2) for an unknown selector, --selector
# with --select, an exclude that cannot be expressed, a missing file.
set -u
CDBT=$(realpath "${1:?usage: selectors.sh path/to/cdbt}")
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/tests/fixtures/projects/jaffle" "$W/p"
rm -rf "$W/p/target"
cd "$W/p"
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
expect() {  # expect <what> <expected> <actual>
    if [ "$2" = "$3" ]; then ok; else bad "$1"; printf '  expected: %s\n  actual:   %s\n' "$2" "$3"; fi
}
C() { "$CDBT" "$@" --project-dir . --profiles-dir .; }
L() { C ls -q --resource-type model --output name "$@" 2>&1 | sort | tr '\n' ' ' | sed 's/ $//'; }

out=$(C ls -q --selector staging_only 2>&1); rc=$?
expect "--selector without selectors.yml: exit 2" 2 $rc
expect "its message" "error: --selector staging_only: the project has no selectors.yml" "$out"

cat > selectors.yml <<'EOF'
selectors:
  - name: staging_only
    definition: "path:models/staging"
  - name: marts_but_orders
    description: the marts without orders
    definition:
      union:
        - method: path
          value: models/marts
        - exclude:
            - method: fqn
              value: orders
  - name: upstream_of_customers
    definition:
      method: fqn
      value: customers
      parents: true
  - name: downstream_of_stg_orders
    definition:
      method: fqn
      value: stg_orders
      children_depth: 1
  - name: both
    definition:
      intersection:
        - method: tag
          value: staging
        - union:
            - stg_orders
            - stg_payments
  - name: pii_or_pk
    definition: "tag:pii tag:patched"
  - name: by_reference
    definition:
      selector: staging_only
  - name: nested_exclude
    definition:
      intersection:
        - path:models
        - union: [stg_orders, {exclude: [stg_orders]}]
EOF
expect "a CLI string" "stg_customers stg_orders stg_payments" "$(L --selector staging_only)"
expect "union minus an exclude" "customers int_order_totals" "$(L --selector marts_but_orders)"
expect "parents: true" "customers int_order_totals stg_customers stg_orders stg_payments" "$(L --selector upstream_of_customers)"
expect "children_depth: 1" "int_order_totals orders stg_orders" "$(L --selector downstream_of_stg_orders)"
expect "intersection of a tag and a union" "stg_orders stg_payments" "$(L --selector both)"
expect "a space-separated union" "customers stg_orders" "$(L --selector pii_or_pk)"
expect "selector: another one" "stg_customers stg_orders stg_payments" "$(L --selector by_reference)"
expect "DBT_SELECTOR is --selector's twin" "stg_customers stg_orders stg_payments" "$(DBT_SELECTOR=staging_only L)"
expect "tests come with their models" "1" "$(C ls -q --selector both --resource-type test --output name | grep -c '^accepted_values_stg_orders_status')"
C compile -q --selector staging_only >/dev/null 2>&1 && ok || bad "compile --selector"
[ -e target/compiled/jaffle/models/staging/stg_orders.sql ] && [ ! -e target/compiled/jaffle/models/marts/orders.sql ] && ok ||
    bad "compile --selector wrote the wrong files"

out=$(C ls -q --selector nope 2>&1); rc=$?
expect "unknown selector: exit 2" 2 $rc
case $out in *"Could not find selector named nope"*) ok ;; *) bad "unknown selector message: $out" ;; esac
out=$(C ls -q --selector staging_only -s orders 2>&1); rc=$?
expect "--selector with --select: exit 2" 2 $rc
out=$(C ls -q --selector nested_exclude 2>&1); rc=$?
expect "an exclude that cannot be expressed: exit 2" 2 $rc
case $out in *"does not support an 'exclude' inside"*) ok ;; *) bad "nested exclude message: $out" ;; esac

# the default selector: used when nothing is selected, overridden by --select
cat >> selectors.yml <<'EOF'
  - name: default_marts
    default: true
    definition: "path:models/marts"
EOF
sleep 0.15
expect "default selector applies" "customers int_order_totals orders" "$(L)"
expect "--select overrides the default" "stg_orders" "$(L -s stg_orders)"
expect "--selector overrides the default" "stg_customers stg_orders stg_payments" "$(L --selector staging_only)"
sleep 0.15
C compile -q >/dev/null 2>&1; sleep 0.15
C compile -q >/dev/null 2>&1
# changing the default selector is seen by the next (otherwise reusable) compile
sed -i 's|definition: "path:models/marts"|definition: "path:models/staging"|' selectors.yml
sleep 0.15
rm -rf target/compiled
C compile -q >/dev/null 2>&1
[ -e target/compiled/jaffle/models/staging/stg_orders.sql ] && [ ! -e target/compiled/jaffle/models/marts/orders.sql ] && ok ||
    bad "compile after editing the default selector used the old one"
printf 'selectors:\n  - name: a\n    default: true\n    definition: "x"\n  - name: b\n    default: true\n    definition: "y"\n' > selectors.yml
out=$(C ls -q 2>&1); rc=$?
expect "two defaults: exit 2" 2 $rc
printf 'selectors: 3\n' > selectors.yml
out=$(C ls -q --selector a 2>&1); rc=$?
expect "selectors not a list: exit 2" 2 $rc
case $out in *"selectors.yml"*"'selectors' list"*) ok ;; *) bad "bad file message: $out" ;; esac

echo "selectors: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
