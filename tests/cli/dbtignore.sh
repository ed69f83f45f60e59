#!/usr/bin/env bash
# dbtignore.sh - .dbtignore (§1.7): gitignore patterns at the project root
# keep files out of discovery (models, properties files, macros, seeds);
# directories, basename globs at any depth, anchored paths, `**`, classes,
# `!` re-includes (not inside an excluded directory), comments, escapes; and
# creating, editing or deleting .dbtignore is seen by the cache (a run after
# it never reuses a snapshot taken before).
set -u
CDBT=$(realpath "${1:?usage: dbtignore.sh path/to/cdbt}")
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
L() { C ls -q --resource-type model --output name 2>&1 | sort | tr '\n' ' ' | sed 's/ $//'; }
settle() { sleep 0.15; }

mkdir -p models/scratch/deep models/marts/wip
echo "select 1 as a" > models/scratch/tmp_one.sql
echo "select 1 as a" > models/scratch/deep/tmp_two.sql
echo "select 1 as a" > models/marts/draft_orders.sql
echo "select 1 as a" > models/marts/wip/half.sql
echo "select 1 as a" > models/marts/wip/keep_wip.sql
echo "select 1 as a" > models/staging/stg_x1.sql
echo "select 1 as a" > models/staging/stg_xa.sql
echo "select 1 as a" > 'models/staging/#hash.sql'
printf 'version: 2\nmodels:\n  - name: tmp_one\n    columns:\n      - name: a\n        data_tests: [not_null]\n' > models/scratch/_scratch.yml
printf '{%% macro scratch_macro() %%}1{%% endmacro %%}\n' > macros/scratch_macro.sql
base="customers int_order_totals orders stg_customers stg_orders stg_payments"
all="customers draft_orders half int_order_totals keep_wip orders stg_customers stg_orders stg_payments stg_x1 stg_xa tmp_one tmp_two #hash"
all=$(echo $all | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
expect "no .dbtignore: every model" "$all" "$(L)"
expect "the scratch test exists" "not_null_tmp_one_a" "$(C ls -q --resource-type test --output name | grep tmp_one)"

cat > .dbtignore <<'EOF'
# scratch work is never part of the project
models/scratch/
draft_*.sql

/models/marts/wip/**
!models/marts/wip/keep_wip.sql
models/staging/stg_x[0-9].sql
\#hash.sql
macros/scratch_*
EOF
settle
expect "ignored: a directory, a basename glob, a class, an escaped #, wip/** (keep_wip re-included)" \
    "$(echo customers int_order_totals keep_wip orders stg_customers stg_orders stg_payments stg_xa | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" "$(L)"
expect "properties file in an ignored directory: its test is gone" "" "$(C ls -q --resource-type test --output name | grep tmp_one)"
expect "ignored macro file: its macro is gone" "" "$(C ls -q --output json --resource-type model 2>&1 | grep -o scratch_macro | head -1)"
C compile -q >/dev/null 2>&1 && ok || bad "compile with a .dbtignore"
[ ! -e target/compiled/jaffle/models/scratch ] && ok || bad "ignored models compiled"

# an excluded directory cannot have a file re-included (git's rule)
printf 'models/scratch/\n!models/scratch/tmp_one.sql\n' > .dbtignore
settle
expect "no re-include inside an excluded directory" "" "$(L | tr ' ' '\n' | grep -x tmp_one)"
# a pattern with no slash matches at any depth; `**/` any directories
printf 'tmp_*\n**/wip/half.sql\n' > .dbtignore
settle
expect "basename at any depth, **/" "" "$(L | tr ' ' '\n' | grep -E -x 'tmp_one|tmp_two|half')"
expect "keep_wip not matched" "keep_wip" "$(L | tr ' ' '\n' | grep -x keep_wip)"

# a pattern whose backtracking explodes (12 stars against 60 a's): still quick
long=$(printf 'a%.0s' $(seq 1 60))
echo "select 1 as a" > "models/scratch/${long}.sql"
printf '*a*a*a*a*a*a*a*a*a*a*a*a*b\n**/a*a*a*a*a*a*a*a*a*a*a*a*c/**\n' > .dbtignore
settle
out=$(timeout 20 "$CDBT" ls -q --resource-type model --output name --project-dir . --profiles-dir . 2>&1); rc=$?
expect "pathological patterns: ls finishes" 0 "$rc"
expect "and keeps the file they do not match" "$long" "$(echo "$out" | grep -x "$long")"
rm "models/scratch/${long}.sql"

# the cache: a compile that stored a snapshot, then .dbtignore edited / deleted / created
printf 'models/scratch/\n' > .dbtignore
settle
C compile --debug >/dev/null 2>&1; settle
out=$(C compile --debug 2>&1 | grep -c "outputs reused")
expect "a compile with nothing changed is reused" 1 "$out"
printf 'models/scratch/\nstg_x*\n' > .dbtignore
settle
out=$(C compile --debug 2>&1)
case $out in *"outputs reused"*) bad "reused after editing .dbtignore" ;; *) ok ;; esac
python3 -c "import json,sys; m=json.load(open('target/manifest.json')); sys.exit(1 if any(k.endswith('.stg_x1') for k in m['nodes']) else 0)" \
    && ok || bad "manifest after editing .dbtignore still has stg_x1 (stale snapshot reused)"
rm .dbtignore
settle
C compile -q >/dev/null 2>&1
python3 -c "import json,sys; m=json.load(open('target/manifest.json')); sys.exit(0 if any(k.endswith('.tmp_one') for k in m['nodes']) else 1)" \
    && ok || bad "manifest after deleting .dbtignore lacks tmp_one"
settle
C compile -q >/dev/null 2>&1; settle
printf 'models/scratch/\n' > .dbtignore
settle
C compile -q >/dev/null 2>&1
python3 -c "import json,sys; m=json.load(open('target/manifest.json')); sys.exit(1 if any(k.endswith('.tmp_one') for k in m['nodes']) else 0)" \
    && ok || bad "manifest after creating .dbtignore still has tmp_one (stale snapshot reused)"

echo "dbtignore: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
