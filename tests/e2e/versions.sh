#!/usr/bin/env bash
# versions.sh - model versions (dbt 1.5+): `versions:` / `latest_version:`
# in a properties file.  Each version is its own node
# (model.<pkg>.<name>.v<v>, fqn [..., name, v<v>]) built from <name>_v<v>.sql
# (or `defined_in`; the latest may be <name>.sql itself) as <name>_v<v>;
# ref('name') is the latest version, ref('name', v=N) / version=N a given
# one; a version's description, config, columns (include / exclude of the
# model's) and tests go over the model's; generic tests run per version
# (<test>_<name>_v<v>_<column>); selection by name, name_vN, name.vN and
# version:latest|old|prerelease|none; located errors for a missing
# version and a bad latest_version.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-versions-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
mkdir -p "$W/p/models"
cd "$W/p"
. "$HERE/assert.sh"
cat > dbt_project.yml <<'YML'
name: e2e_versions
profile: e2e
models:
  e2e_versions:
    +materialized: table
YML
cp "$HERE/../fixtures/e2e/run_basic/profiles.yml" profiles.yml
echo "select 1 as id, 'one' as label, 10 as amount" > models/dim_customers.sql
echo "select 1 as id, 'one' as label" > models/dim_customers_v2.sql
echo "select 1 as id, 'v3-beta' as label, 0 as extra" > models/dim_customers_v3.sql
echo "select id, label from {{ ref('dim_customers') }}" > models/latest_user.sql
echo "select id, amount from {{ ref('dim_customers', v=1) }}" > models/old_user.sql
echo "select id, extra from {{ ref('dim_customers', version=3) }}" > models/beta_user.sql
cat > models/schema.yml <<'YML'
version: 2
models:
  - name: dim_customers
    description: customers
    latest_version: 2
    config:
      materialized: table
    columns:
      - name: id
        data_tests: [unique, not_null]
      - name: label
      - name: amount
        data_tests: [not_null]
    versions:
      - v: 1
        defined_in: dim_customers
      - v: 2
        description: customers without amount
        columns:
          - include: all
            exclude: [amount]
      - v: 3
        config:
          materialized: view
        columns:
          - include: [id]
          - name: extra
            data_tests: [not_null]
YML

"$CDBT" build > b1.out 2>&1
check "build exit code" 0 $?
contains "summary" "Done. PASS=14 WARN=0 ERROR=0 SKIP=0 TOTAL=14" b1.out
check "relations: <name>_v<v>, the version's materialization" \
    "dim_customers_v1:BASE TABLE dim_customers_v2:BASE TABLE dim_customers_v3:VIEW" \
    "$(q "select string_agg(table_name || ':' || table_type, ' ' order by table_name) from information_schema.tables where table_schema = 'analytics' and table_name like 'dim_customers%'")"
contains "ref() is the latest version (v2)" '"analytics"."dim_customers_v2"' target/compiled/e2e_versions/models/latest_user.sql
contains "ref(v=1)" '"analytics"."dim_customers_v1"' target/compiled/e2e_versions/models/old_user.sql
contains "ref(version=3)" '"analytics"."dim_customers_v3"' target/compiled/e2e_versions/models/beta_user.sql
check "built from the right versions" "1|one 1|10 1|0" \
    "$(q "select * from analytics.latest_user") $(q "select * from analytics.old_user") $(q "select * from analytics.beta_user")"

check "manifest: ids, names, fqns, versions, aliases, columns, descriptions" \
"model.e2e_versions.dim_customers.v1 dim_customers ['e2e_versions', 'dim_customers', 'v1'] 1 2 dim_customers_v1 ['id', 'label', 'amount'] customers models/dim_customers.sql
model.e2e_versions.dim_customers.v2 dim_customers ['e2e_versions', 'dim_customers', 'v2'] 2 2 dim_customers_v2 ['id', 'label'] customers without amount models/dim_customers_v2.sql
model.e2e_versions.dim_customers.v3 dim_customers ['e2e_versions', 'dim_customers', 'v3'] 3 2 dim_customers_v3 ['id', 'extra'] customers models/dim_customers_v3.sql" \
    "$(python3 -c "
import json; m=json.load(open('target/manifest.json'))
for k in sorted(m['nodes']):
    n=m['nodes'][k]
    if k.startswith('model.e2e_versions.dim_customers'):
        print(k, n['name'], n['fqn'], n['version'], n['latest_version'], n['alias'], list(n['columns']), n['description'], n['original_file_path'])")"
check "manifest: depends_on and refs of the users" \
    "model.e2e_versions.beta_user ['model.e2e_versions.dim_customers.v3'] 3
model.e2e_versions.latest_user ['model.e2e_versions.dim_customers.v2'] None
model.e2e_versions.old_user ['model.e2e_versions.dim_customers.v1'] 1" \
    "$(python3 -c "
import json; m=json.load(open('target/manifest.json'))
for k in sorted(m['nodes']):
    n=m['nodes'][k]
    if k.endswith('_user'):
        print(k, n['depends_on']['nodes'], n['refs'][0]['version'])")"
check "tests per version, with dbt's names and version refs" \
"not_null_dim_customers_v1_amount model.e2e_versions.dim_customers.v1
not_null_dim_customers_v1_id model.e2e_versions.dim_customers.v1
not_null_dim_customers_v2_id model.e2e_versions.dim_customers.v2
not_null_dim_customers_v3_extra model.e2e_versions.dim_customers.v3
not_null_dim_customers_v3_id model.e2e_versions.dim_customers.v3
unique_dim_customers_v1_id model.e2e_versions.dim_customers.v1
unique_dim_customers_v2_id model.e2e_versions.dim_customers.v2
unique_dim_customers_v3_id model.e2e_versions.dim_customers.v3" \
    "$(python3 -c "
import json; m=json.load(open('target/manifest.json'))
for k in sorted(m['nodes']):
    n=m['nodes'][k]
    if k.startswith('test.'):
        print(n['name'], n['depends_on']['nodes'][0])")"
contains "test kwargs ref the version" "ref('dim_customers', version='3')" target/manifest.json

L() { "$CDBT" ls -q --resource-type model "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
check "ls by name: every version" "e2e_versions.dim_customers.v1 e2e_versions.dim_customers.v2 e2e_versions.dim_customers.v3" "$(L -s dim_customers)"
check "ls name_vN / name.vN" "e2e_versions.dim_customers.v3 e2e_versions.dim_customers.v1" "$(L -s dim_customers_v3) $(L -s dim_customers.v1)"
check "version:latest / old / prerelease" "e2e_versions.dim_customers.v2|e2e_versions.dim_customers.v1|e2e_versions.dim_customers.v3" \
    "$(L -s version:latest)|$(L -s version:old)|$(L -s version:prerelease)"
check "version:none" "e2e_versions.beta_user e2e_versions.latest_user e2e_versions.old_user" "$(L -s version:none)"
check "ls --output name" "dim_customers.v1" "$(L -s dim_customers.v1 --output name)"
check "graph: +latest_user" "e2e_versions.dim_customers.v2 e2e_versions.latest_user" "$(L -s +latest_user)"

# ---- errors
echo "select 1 from {{ ref('dim_customers', v=9) }}" > models/bad_user.sql
"$CDBT" compile -q > e1.out 2>&1
check "missing version: exit 2" 2 $?
contains "missing version: message" "depends on a node named 'dim_customers' with version '9' which was not found" e1.out
rm models/bad_user.sql
sed -i 's/latest_version: 2/latest_version: 7/' models/schema.yml
"$CDBT" parse -q > e2.out 2>&1
check "bad latest_version: exit 2" 2 $?
contains "bad latest_version: located" "models/schema.yml:5:21: error: latest_version: 7 is not one of model 'dim_customers' versions: [1, 2, 3]" e2.out
sed -i 's/latest_version: 7/latest_version: 2/; s/    versions:/    versions:\n      - v: 4\n        colour: red/' models/schema.yml
"$CDBT" parse -q > e3.out 2>&1
check "unknown key in a version: exit 2" 2 $?
contains "unknown key in a version: message" "Additional properties are not allowed ('colour' was unexpected)" e3.out

[ $fails = 0 ] && echo "versions: all checks passed"
exit $fails
