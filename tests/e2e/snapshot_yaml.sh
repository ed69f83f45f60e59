#!/usr/bin/env bash
# snapshot_yaml.sh - snapshots defined in a properties file (dbt 1.9):
# `snapshots: - name, relation: source(...) | ref(...), config: {...}` is a
# snapshot of `select * from {{ relation }}`, listed, compiled and run like
# a SQL-defined one, configured from the entry and from dbt_project.yml;
# a bad `relation` or a name taken twice is a project error (exit 2).
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-snapy-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/snapshot" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
rm snapshots/*.sql models/current_orders.sql
cat > models/_sources.yml <<'EOF'
version: 2
sources:
  - name: raw
    schema: raw
    tables:
      - name: orders
EOF
echo "select * from {{ source('raw', 'orders') }} where status <> 'gone'" > models/live_orders.sql
mkdir -p snapshots/sub
cat > snapshots/sub/orders.yml <<'EOF'
version: 2
snapshots:
  - name: orders_hist
    relation: source('raw', 'orders')
    description: every version of every order
    config:
      schema: snaps            # 1.9: resolved like a model's (analytics_snaps)
      unique_key: id
      strategy: timestamp
      updated_at: updated_at
  - name: live_hist
    relation: ref('live_orders')
    config:
      target_schema: snaps
      unique_key: id
      strategy: check
      check_cols: [status]
EOF
q "create schema raw;
   create table raw.orders (id int, status text, updated_at timestamp);
   insert into raw.orders values (1, 'new', '2024-01-01 10:00'), (2, 'new', '2024-01-01 11:00');" >/dev/null

check "listed" "e2e_snap.sub.live_hist
e2e_snap.sub.orders_hist" "$("$CDBT" ls -q --resource-type snapshot 2>&1 | sort)"
"$CDBT" compile -q -s orders_hist > c.out 2>&1
check "compile exit code" 0 $?
check "compiled code" 'select * from "postgres"."raw"."orders"' "$(cat target/compiled/e2e_snap/snapshots/sub/orders.yml/orders_hist.sql 2>/dev/null || cat c.out)"
python3 - <<'PY' || { echo "FAIL: manifest entry"; fails=$((fails+1)); }
import json, sys
n = json.load(open('target/manifest.json'))['nodes']['snapshot.e2e_snap.orders_hist']
assert n['resource_type'] == 'snapshot', n['resource_type']
assert n['original_file_path'] == 'snapshots/sub/orders.yml', n['original_file_path']
assert n['raw_code'] == "select * from {{ source('raw', 'orders') }}", n['raw_code']
assert n['description'] == 'every version of every order', n['description']
assert n['depends_on']['nodes'] == ['source.e2e_snap.raw.orders'], n['depends_on']
assert n['config']['strategy'] == 'timestamp', n['config']
PY
"$CDBT" build > b1.out 2>&1
check "build exit code" 0 $?
check "orders_hist first run" "1|new|
2|new|" "$(q "select id, status, dbt_valid_to from analytics_snaps.orders_hist order by id")"
check "live_hist after its model" "2" "$(q "select count(*) from snaps.live_hist")"
q "update raw.orders set status = 'paid', updated_at = '2024-01-02 09:00' where id = 1" >/dev/null
"$CDBT" snapshot > s2.out 2>&1
check "snapshot exit code" 0 $?
check "orders_hist: old version closed, new one added" "1|new|2024-01-02 09:00:00
1|paid|
2|new|" "$(q "select id, status, dbt_valid_to from analytics_snaps.orders_hist order by id, dbt_valid_from")"

# dbt_valid_to_current (1.9): current rows carry it instead of null, and a
# change closes them all the same
cat > snapshots/vtc.yml <<'EOF2'
version: 2
snapshots:
  - name: vtc_hist
    relation: source('raw', 'orders')
    config:
      target_schema: snaps
      unique_key: id
      strategy: timestamp
      updated_at: updated_at
      dbt_valid_to_current: "'9999-12-31'::timestamp"
EOF2
"$CDBT" snapshot -s vtc_hist > v1.out 2>&1
check "vtc first run exit code" 0 $?
check "vtc: current rows end in 9999" "1|paid|9999-12-31 00:00:00
2|new|9999-12-31 00:00:00" "$(q "select id, status, dbt_valid_to from snaps.vtc_hist order by id, dbt_valid_from")"
q "update raw.orders set status = 'shipped', updated_at = '2024-01-03 08:00' where id = 2" >/dev/null
"$CDBT" snapshot -s vtc_hist > v2.out 2>&1
check "vtc second run exit code" 0 $?
check "vtc: the changed row closed, the new one current" "1|paid|9999-12-31 00:00:00
2|new|2024-01-03 08:00:00
2|shipped|9999-12-31 00:00:00" "$(q "select id, status, dbt_valid_to from snaps.vtc_hist order by id, dbt_valid_from")"
"$CDBT" snapshot -s vtc_hist > v3.out 2>&1
check "vtc: nothing changed, nothing added" "3" "$(q "select count(*) from snaps.vtc_hist")"
rm snapshots/vtc.yml

# errors: a relation that is no ref/source, a name taken twice
cp snapshots/sub/orders.yml orders.yml.ok
sed -i "s|relation: source('raw', 'orders')|relation: raw.orders|" snapshots/sub/orders.yml
"$CDBT" ls -q > e1.out 2>&1
check "bad relation exit code" 2 $?
contains "bad relation message" "'relation' must be a ref() or a source() call" e1.out
cp orders.yml.ok snapshots/sub/orders.yml
printf 'version: 2\nsnapshots:\n  - name: orders_hist\n    relation: ref(%slive_orders%s)\n' "'" "'" > snapshots/dup.yml
"$CDBT" ls -q > e2.out 2>&1
check "duplicate name exit code" 2 $?
contains "duplicate name message" 'dbt found two snapshots with the name "orders_hist"' e2.out

[ $fails = 0 ] && echo "snapshot_yaml: all checks passed"
[ $fails = 0 ]
