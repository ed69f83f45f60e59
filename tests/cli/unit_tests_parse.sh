#!/usr/bin/env bash
# unit_tests_parse.sh - dbt 1.8+ unit tests without a database: parse, ls
# (unit_test: selectors, --resource-type unit_test), selection (test_type:
# unit / data, by name, a model selecting its unit tests), manifest.json
# (`unit_tests`, parent/child maps), and located errors (exit 2).
set -u
CDBT=$(realpath "${1:?usage: unit_tests_parse.sh path/to/cdbt}")
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/tests/fixtures/e2e/unit_tests" "$W/p"
rm -rf "$W/p/target"
cd "$W/p"
export PGHOST=/nonexistent PGPORT=5432 PGUSER=x PGDATABASE=x
pass=0; fail=0
expect() {  # expect <what> <expected> <actual>
    if [ "$2" = "$3" ]; then pass=$((pass+1)); else echo "FAIL: $1"; printf '  expected: %s\n  actual:   %s\n' "$2" "$3"; fail=$((fail+1)); fi
}
C() { "$CDBT" "$@" --project-dir . --profiles-dir .; }
L() { C ls -q "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

C parse > p.out 2>&1
expect "parse exit code" 0 $?
grep -q "Found 8 models, 3 seeds, 1 data test, 1 source, 1 macro, 8 unit tests" p.out
expect "found line counts unit tests" 0 $?
expect "ls test_type:unit" "unit_test:ut.test_customer_orders_dict unit_test:ut.test_customer_orders_overrides unit_test:ut.test_doubled_nulls unit_test:ut.test_doubled_wrong unit_test:ut.test_events_full_refresh unit_test:ut.test_events_incremental unit_test:ut.test_order_summary_sql unit_test:ut.test_stg_customers_from_seed" "$(L -s test_type:unit)"
expect "ls --resource-type unit_test -s doubled" "unit_test:ut.test_doubled_nulls unit_test:ut.test_doubled_wrong" "$(L --resource-type unit_test -s doubled)"
expect "ls resource_type:unit_test,tag:unit_tag" "unit_test:ut.test_customer_orders_dict" "$(L -s resource_type:unit_test,tag:unit_tag)"
expect "ls a model selects its tests" "ut.doubled ut.not_null_doubled_id unit_test:ut.test_doubled_nulls unit_test:ut.test_doubled_wrong" "$(L -s doubled)"
# a unit test's fqn is [pkg, <yml dirs>, model, name]: the fqn method matches
# it by the model's name directly, so --indirect-selection empty keeps it (as in dbt)
expect "ls indirect selection empty" "ut.doubled unit_test:ut.test_doubled_nulls unit_test:ut.test_doubled_wrong" "$(L -s doubled --indirect-selection empty)"
expect "ls indirect selection empty, by path" "ut.doubled_child" "$(L -s models/doubled_child.sql --indirect-selection empty)"
expect "ls by name" "unit_test:ut.test_events_incremental" "$(L -s test_events_incremental)"
expect "ls test_type:data" "ut.not_null_doubled_id" "$(L -s test_type:data)"
expect "ls --output name" "test_order_summary_sql" "$(L -s test_order_summary_sql --output name)"
expect "ls --output path" "models/unit_tests.yml" "$(L -s test_order_summary_sql --output path)"
expect "ls --exclude test_type:unit" "ut.not_null_doubled_id" "$(L --resource-type test --resource-type unit_test --exclude test_type:unit)"

# the unit_tests: tree of dbt_project.yml (fqn [pkg, dirs, model, name]; under the entry's config)
cp dbt_project.yml dbt_project.yml.orig
cat >> dbt_project.yml <<'YML'
unit_tests:
  ut:
    +tags: [from_project]
    +meta: {owner: qa}
    doubled:
      +enabled: false
YML
expect "unit_tests tree: +enabled: false for one model's tests" "unit_test:ut.test_customer_orders_dict unit_test:ut.test_customer_orders_overrides unit_test:ut.test_events_full_refresh unit_test:ut.test_events_incremental unit_test:ut.test_order_summary_sql unit_test:ut.test_stg_customers_from_seed" "$(L -s test_type:unit)"
expect "unit_tests tree: +tags selects" "unit_test:ut.test_customer_orders_dict" "$(L -s tag:from_project,tag:unit_tag)"
expect "unit_tests tree: config (tags appended, meta)" "['from_project', 'unit_tag'] {'owner': 'qa'}" \
    "$(python3 -c "import json; u=json.load(open('target/manifest.json'))['unit_tests']['unit_test.ut.customer_orders.test_customer_orders_dict']; print(u['config']['tags'], u['config']['meta'])")"
mv dbt_project.yml.orig dbt_project.yml
C parse -q > /dev/null 2>&1

# manifest.json
check_manifest=$(python3 - <<'PY'
import json
m = json.load(open('target/manifest.json'))
u = m['unit_tests']
out = []
out.append(str(len(u)))
t = u['unit_test.ut.customer_orders.test_customer_orders_dict']
out.append(','.join(t.keys()))
out.append(t['resource_type'] + ' ' + t['model'] + ' ' + t['path'] + ' ' + t['original_file_path'])
out.append('.'.join(t['fqn']))
out.append(json.dumps(t['depends_on']))
out.append(json.dumps(t['config'], sort_keys=True))
out.append(json.dumps(t['given'][1]['rows']))
out.append(t['given'][1]['format'] + ' ' + t['schema'] + ' ' + t['description'])
o = u['unit_test.ut.customer_orders.test_customer_orders_overrides']
out.append(json.dumps(o['overrides'], sort_keys=True))
out.append(json.dumps(o['given'][0]))
s = u['unit_test.ut.stg_customers.test_stg_customers_from_seed']
out.append(json.dumps(s['given'][0]['rows']))
q = u['unit_test.ut.order_summary.test_order_summary_sql']
out.append(json.dumps(q['expect']))
out.append(str(any(k.startswith('unit_test.') for k in m['nodes'])))
out.append(json.dumps(m['parent_map']['unit_test.ut.doubled.test_doubled_wrong']))
out.append(str('unit_test.ut.doubled.test_doubled_wrong' in m['child_map']['model.ut.doubled']))
print('\n'.join(out))
PY
)
expect "manifest unit_tests" "8
model,given,expect,name,resource_type,package_name,path,original_file_path,unique_id,fqn,description,overrides,depends_on,config,checksum,schema,created_at,versions,version
unit_test customer_orders unit_tests.yml models/unit_tests.yml
ut.customer_orders.test_customer_orders_dict
{\"macros\": [], \"nodes\": [\"model.ut.customer_orders\"]}
{\"enabled\": true, \"meta\": {\"owner\": \"qa\"}, \"tags\": [\"unit_tag\"]}
[{\"id\": \"10\", \"customer_id\": \"1\", \"amount\": \"5.5\"}, {\"id\": \"11\", \"customer_id\": \"1\", \"amount\": \"4.5\"}, {\"id\": \"12\", \"customer_id\": \"3\", \"amount\": null}]
csv ut counts the orders of each customer
{\"env_vars\": {\"UT_REGION\": \"mars\"}, \"macros\": {\"shout\": \"'MOCK'\"}, \"vars\": {\"label\": \"overridden\"}}
{\"input\": \"ref('stg_customers')\", \"rows\": [{\"id\": \"1\", \"name\": \"alice\"}], \"format\": \"csv\", \"fixture\": \"customers_fixture\"}
[{\"id\": \"1\", \"name\": \"alice\", \"country\": \"fr\"}, {\"id\": \"2\", \"name\": \"bob\", \"country\": \"de\"}]
{\"rows\": \"select 2 as n, 5.0 as total\\n\", \"format\": \"sql\", \"fixture\": \"order_summary_expected\"}
False
[\"model.ut.doubled\"]
True" "$check_manifest"

# editing a unit test is seen (the listing is not reused)
sed -i 's/tags: \[unit_tag\]/tags: [other_tag]/' models/unit_tests.yml
expect "edited yml seen by ls" "unit_test:ut.test_customer_orders_dict" "$(L -s tag:other_tag)"
echo "id,name" > tests/fixtures/customers_fixture.csv; echo "7,zed" >> tests/fixtures/customers_fixture.csv
C parse -q > /dev/null 2>&1
expect "edited fixture file seen" '[{"id": "7", "name": "zed"}]' "$(python3 -c "import json; print(json.dumps(json.load(open('target/manifest.json'))['unit_tests']['unit_test.ut.customer_orders.test_customer_orders_overrides']['given'][0]['rows']))")"

# errors: file:line:col, the line, a caret; exit 2
cp models/unit_tests.yml ut.orig
err() {  # err <what> <expected stderr> : runs parse on the current models/unit_tests.yml
    C parse -q > e.out 2>&1
    local rc=$?
    expect "$1 exit code" 2 $rc
    expect "$1 message" "$2" "$(grep -v 'Running with' e.out)"
    cp ut.orig models/unit_tests.yml
}
sed -i '0,/model: customer_orders/s//model: no_such_model/' models/unit_tests.yml
err "unknown model" "models/unit_tests.yml:5:12: error: Unable to find model 'ut.no_such_model' for unit test 'test_customer_orders_dict' in models/unit_tests.yml
    5 |     model: no_such_model
      |            ^"
sed -i "0,/input: ref('stg_customers')/s//input: ref('raw_orders')/" models/unit_tests.yml
err "input not a parent" "models/unit_tests.yml:10:16: error: Unit test 'test_customer_orders_dict' has an input (ref('raw_orders')) that model 'customer_orders' does not ref or source
   10 |       - input: ref('raw_orders')
      |                ^"
sed -i "0,/input: ref('stg_customers')/s//input: ref('nothing_here')/" models/unit_tests.yml
err "input not found" "models/unit_tests.yml:10:16: error: Unit test 'test_customer_orders_dict' had an input (ref('nothing_here')) which was not found in the manifest.
   10 |       - input: ref('nothing_here')
      |                ^"
sed -i "0,/input: ref('stg_customers')/s//input: stg_customers/" models/unit_tests.yml
err "input not a call" "models/unit_tests.yml:10:16: error: Unit test given inputs must be either a 'ref', 'source' or 'this' call. Got: 'stg_customers'.
   10 |       - input: stg_customers
      |                ^"
sed -i '0,/format: csv/s//format: xml/' models/unit_tests.yml
err "bad format" "models/unit_tests.yml:15:17: error: Invalid unit_tests config given in models/unit_tests.yml @ unit_tests: 'xml' is not one of ['csv', 'dict', 'sql']
   15 |         format: xml
      |                 ^"
python3 - <<'PY'
s = open('models/unit_tests.yml').read()
s = s.replace("""    expect:
      rows:
        - {id: 1, country: FR}
        - {id: 2, country: DE}""", """    expect:
      format: dict""", 1)
open('models/unit_tests.yml', 'w').write(s)
PY
err "missing rows" "models/unit_tests.yml:49:7: error: Unit test test_stg_customers_from_seed has expected rows which do not match format dict
   49 |       format: dict
      |       ^"
sed -i 's/fixture: customers_fixture/fixture: no_fixture/' models/unit_tests.yml
err "csv fixture not found" "models/unit_tests.yml:35:18: error: File not found for fixture 'no_fixture' in unit tests in models/unit_tests.yml
   35 |         fixture: no_fixture
      |                  ^"
python3 - <<'PY'
s = open('models/unit_tests.yml').read()
s = s.replace("""    overrides:
      macros:
        is_incremental: false
""", "", 1)
open('models/unit_tests.yml', 'w').write(s)
PY
err "is_incremental override required" "models/unit_tests.yml:79:11: error: Boolean override for 'is_incremental' must be provided for unit test 'test_events_full_refresh' in model 'events_incr'
   79 |   - name: test_events_full_refresh
      |           ^"
python3 - <<'PY'
s = open('models/unit_tests.yml').read()
s = s.replace("""      - input: this
        rows: [{id: 1, ts: 10}]
""", "", 1)
open('models/unit_tests.yml', 'w').write(s)
PY
err "this input required" "models/unit_tests.yml:90:11: error: Unit test 'test_events_incremental' for incremental model 'events_incr' must have a 'this' input
   90 |   - name: test_events_incremental
      |           ^"
sed -i '0,/    model: doubled/s//    model: doubled\n    versions: {include: [1]}/' models/unit_tests.yml
err "versions rejected" "models/unit_tests.yml:55:15: error: Unit test 'test_doubled_nulls': 'versions' is not supported by cdbt yet
   55 |     versions: {include: [1]}
      |               ^"

echo "unit_tests_parse: $pass passed, $fail failed"
[ $fail = 0 ]
