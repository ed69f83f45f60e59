#!/usr/bin/env bash
# docs_generate.sh - `cdbt docs generate` against a throw-away PostgreSQL
# (§12.1, §13): target/catalog.json in dbt's catalog/v1 layout for the
# project's tables, views, seeds and sources (format_type types, columns in
# attnum order, comments from `comment on`, owner, has_stats), relations the
# project does not know left out, ephemeral models absent; manifest.json
# written; --no-compile, --empty-catalog; `docs serve` is an error.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-docs-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
. "$HERE/assert.sh"
mkdir -p "$W/p/models" "$W/p/seeds"
cd "$W/p"
cat > dbt_project.yml <<'EOF'
name: docs_e2e
profile: e2e
models:
  docs_e2e:
    +materialized: table
EOF
cat > profiles.yml <<'EOF'
e2e:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('PGHOST') }}"
      port: "{{ env_var('PGPORT') | int }}"
      user: "{{ env_var('PGUSER') }}"
      password: ""
      dbname: "{{ env_var('PGDATABASE') }}"
      schema: analytics
      threads: 2
EOF
cat > models/orders.sql <<'EOF'
select 1::integer as id, 'a'::varchar(20) as code, 2.50::numeric(10,2) as amount,
       timestamp '2024-01-02 03:04:05' as created_at, true as paid
EOF
cat > models/v_orders.sql <<'EOF'
{{ config(materialized='view') }}
select id, code from {{ ref('orders') }} join {{ ref('eph') }} using (id)
EOF
cat > models/eph.sql <<'EOF'
{{ config(materialized='ephemeral') }}
select 1 as id
EOF
cat > models/from_raw.sql <<'EOF'
select * from {{ source('raw', 'events') }}
EOF
cat > models/schema.yml <<'EOF'
version: 2
sources:
  - name: raw
    schema: raw
    tables:
      - name: events
EOF
printf 'k,v\n1,x\n' > seeds/lookup.csv
q "create schema raw; create table raw.events (event_id bigint, payload text, at timestamptz);
   comment on table raw.events is 'Raw events, as landed'; comment on column raw.events.payload is 'JSON text'" >/dev/null
"$CDBT" build > b.out 2>&1 || { echo "setup build failed"; cat b.out; exit 1; }
q "comment on table analytics.orders is 'One row per order';
   comment on column analytics.orders.amount is 'Order total';
   create table analytics.not_in_project (x int)" >/dev/null

"$CDBT" docs generate > d1.out 2>&1
check "docs generate exit code" 0 $?
contains "building catalog" "Building catalog" d1.out
contains "catalog written" "Catalog written to $W/p/target/catalog.json" d1.out
[ -f target/manifest.json ] || { echo "FAIL: manifest.json not written"; fails=$((fails+1)); }
[ -f target/compiled/docs_e2e/models/orders.sql ] || { echo "FAIL: not compiled"; fails=$((fails+1)); }
[ ! -e target/index.html ] || { echo "FAIL: index.html is not provided"; fails=$((fails+1)); }
summary() {
python3 - "$1" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
m = c["metadata"]
print("schema", m["dbt_schema_version"], "errors", c["errors"], "inv", len(m["invocation_id"]))
for part in ("nodes", "sources"):
    for uid, t in c[part].items():
        md = t["metadata"]
        assert t["unique_id"] == uid
        assert list(t) == ["metadata", "columns", "stats", "unique_id"], list(t)
        assert list(md) == ["type", "schema", "name", "database", "comment", "owner"], list(md)
        assert md["owner"] == "postgres", md["owner"]
        assert t["stats"] == {"has_stats": {"id": "has_stats", "label": "Has Stats?", "value": False,
                                            "include": False, "description": "Indicates whether there are statistics for this table"}}
        cols = "; ".join("%s %d %s %s" % (n, v["index"], v["type"], v["comment"]) for n, v in t["columns"].items())
        print(part, uid, md["type"], md["schema"], md["name"], md["comment"], "|", cols)
EOF
}
check "catalog.json" "schema https://schemas.getdbt.com/dbt/catalog/v1.json errors None inv 36
nodes model.docs_e2e.from_raw BASE TABLE analytics from_raw None | event_id 1 bigint None; payload 2 text None; at 3 timestamp with time zone None
nodes seed.docs_e2e.lookup BASE TABLE analytics lookup None | k 1 integer None; v 2 text None
nodes model.docs_e2e.orders BASE TABLE analytics orders One row per order | id 1 integer None; code 2 character varying(20) None; amount 3 numeric(10,2) Order total; created_at 4 timestamp without time zone None; paid 5 boolean None
nodes model.docs_e2e.v_orders VIEW analytics v_orders None | id 1 integer None; code 2 character varying(20) None
sources source.docs_e2e.raw.events BASE TABLE raw events Raw events, as landed | event_id 1 bigint None; payload 2 text JSON text; at 3 timestamp with time zone None" \
    "$(summary target/catalog.json 2>&1)"

# a dropped column leaves a gap in attnum, as dbt reports it
q "alter table analytics.orders drop column amount" >/dev/null
"$CDBT" docs generate --no-compile > d2.out 2>&1
check "--no-compile exit code" 0 $?
check "dropped column: index is attnum" "id 1; code 2; created_at 4; paid 5" \
    "$(python3 -c "import json; c=json.load(open('target/catalog.json'))['nodes']['model.docs_e2e.orders']['columns']; print('; '.join('%s %d' % (k, v['index']) for k, v in c.items()))")"
if grep -q "compiled" d2.out && ! grep -q "Building catalog" d2.out; then echo "FAIL: --no-compile output"; fails=$((fails+1)); fi

"$CDBT" docs generate --empty-catalog > d3.out 2>&1
check "--empty-catalog exit code" 0 $?
check "--empty-catalog: nothing" "{} {} None" \
    "$(python3 -c "import json; c=json.load(open('target/catalog.json')); print(c['nodes'], c['sources'], c['errors'])")"

"$CDBT" docs serve > d4.out 2>&1
check "docs serve exit code" 2 $?
contains "docs serve message" "cdbt docs serve is not supported" d4.out
"$CDBT" docs > d5.out 2>&1
check "docs without a subcommand" 2 $?

[ $fails = 0 ] && echo "docs_generate.sh: all checks passed" || echo "docs_generate.sh: $fails failed"
[ $fails = 0 ]
