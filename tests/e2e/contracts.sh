#!/usr/bin/env bash
# contracts.sh - model contracts (contract: {enforced: true}, dbt 1.5+): a
# table is created from the contract's columns, types and constraints and
# filled by insert (not null / primary key / check / unique / foreign key
# enforced by PostgreSQL, model-level constraints too), and rebuilt on the
# next run; a query whose columns do not match (type class, missing, extra)
# fails with dbt's mismatch table and leaves the old relation; a column
# without data_type, no columns at all; views assert only; incremental models
# need on_schema_change append_new_columns or fail and assert every run.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-contract-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
mkdir -p "$W/p/models"
cd "$W/p"
. "$HERE/assert.sh"
cp "$HERE/../fixtures/e2e/run_basic/profiles.yml" .
cat > dbt_project.yml <<'YML'
name: e2e_contracts
profile: e2e
models:
  e2e_contracts:
    +materialized: table
YML
echo "select 1 as id, 'a'::text as name" > models/parent.sql
printf '%s\n' "-- depends_on: {{ ref('parent') }}" "select 1 as id, 1 as parent_id, 10 as amount, 'x' as code" > models/child.sql
echo "{{ config(materialized='view') }} select 1 as id, 'v' as label" > models/v.sql
cat > models/schema.yml <<'YML'
version: 2
models:
  - name: parent
    config: {contract: {enforced: true}}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}, {type: primary_key}]
      - name: name
        data_type: text
        constraints: [{type: check, expression: "name <> ''"}]
  - name: child
    config: {contract: {enforced: true}}
    constraints:
      - type: unique
        name: child_code_amount
        columns: [code, amount]
    columns:
      - name: id
        data_type: int
      - name: parent_id
        data_type: integer
        constraints: [{type: foreign_key, expression: "analytics.parent (id)"}]
      - name: amount
        data_type: integer
        constraints: [{type: check, expression: "amount > 0"}]
      - name: code
        data_type: varchar(10)
  - name: v
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: integer}
      - {name: label, data_type: text}
YML
COLS="select string_agg(column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') || case when is_nullable = 'NO' then ' not null' else '' end, ', ' order by ordinal_position) from information_schema.columns where table_schema = 'analytics' and table_name ="
CONS="select string_agg(contype::text, '' order by contype) from pg_constraint where conrelid = 'analytics.%s'::regclass"

"$CDBT" run > r1.out 2>&1
check "first run exit code" 0 $?
check "parent columns from the contract" "id integer not null, name text" "$(q "$COLS 'parent'")"
check "parent constraints: check, primary key, not null" "cp" "$(q "$(printf "$CONS" parent)")"
check "child columns (varchar(10) kept)" "id integer, parent_id integer, amount integer, code character varying(10)" "$(q "$COLS 'child'")"
check "child constraints: check, foreign key, unique" "cfu" "$(q "$(printf "$CONS" child)")"
check "model-level constraint name" "child_code_amount" "$(q "select conname from pg_constraint where conrelid = 'analytics.child'::regclass and contype = 'u'")"
check "rows inserted" "1|a" "$(q "select * from analytics.parent")"
contains "insert from the query" "insert into \"postgres\".\"analytics\".\"parent__dbt_tmp\"" target/run/e2e_contracts/models/parent.sql
check "run_results message" "INSERT 0 1" "$(python3 -c "
import json
for r in json.load(open('target/run_results.json'))['results']:
    if r['unique_id'] == 'model.e2e_contracts.parent': print(r['message'])")"
check "manifest: model constraints" "unique child_code_amount" "$(python3 -c "
import json
n = json.load(open('target/manifest.json'))['nodes']['model.e2e_contracts.child']
print(n['constraints'][0]['type'], n['constraints'][0]['name'])")"

# ---- 2. rebuilt on the next run (constraint names of the swapped table do not collide)
"$CDBT" run -s parent > r2.out 2>&1
check "second run exit code" 0 $?
check "second run: primary key still there" "cp" "$(q "$(printf "$CONS" parent)")"
"$CDBT" run -s parent > r3.out 2>&1
check "third run exit code" 0 $?

# ---- 3. the database enforces the constraints
echo "select 1 as id, ''::text as name" > models/parent.sql
"$CDBT" run -s parent > r4.out 2>&1
check "check constraint violated: exit 1" 1 $?
contains "check violation reported" 'violates check constraint' r4.out
check "old parent kept" "1|a" "$(q "select * from analytics.parent")"
echo "select null::int as id, 'b'::text as name" > models/parent.sql
"$CDBT" run -s parent > r5.out 2>&1
check "not null violated: exit 1" 1 $?
echo "select 1 as id, 'a'::text as name" > models/parent.sql

# ---- 4. mismatches: dbt's table, nothing built
# (a named constraint would collide with itself when the table is rebuilt
# through __dbt_tmp, as in dbt: unnamed from here on)
sed -i '/name: child_code_amount/d' models/schema.yml
echo "select 1 as id, 1 as parent_id, 10::bigint as amount, 'x' as code, 5 as extra" > models/child.sql
"$CDBT" run -s child > r6.out 2>&1
check "mismatch exit code" 1 $?
contains "contract error" "This model has an enforced contract that failed." r6.out
contains "mismatch header" "| column_name | definition_type | contract_type | mismatch_reason     |" r6.out
contains "type class mismatch (int8 vs int4)" "| amount      | LONGINTEGER     | INTEGER       | data type mismatch  |" r6.out
contains "extra column" "| extra       | INTEGER         |               | missing in contract |" r6.out
echo "select 1 as id, 1 as parent_id, 10 as amount" > models/child.sql
"$CDBT" run -s child > r7.out 2>&1
check "missing column exit code" 1 $?
contains "missing in definition" "| code        |                 | STRING        | missing in definition |" r7.out
check "old child kept" "1|1|10|x" "$(q "select * from analytics.child")"
echo "select 2 as id, 1 as parent_id, 20 as amount, 'y'::varchar(3) as code" > models/child.sql
"$CDBT" run -s child > r8.out 2>&1
check "varchar(3) vs varchar(10) is the same class: exit 0" 0 $?

# ---- 5. views: assert only
echo "{{ config(materialized='view') }} select 1 as id, 2 as label" > models/v.sql
"$CDBT" run -s v > r9.out 2>&1
check "view mismatch exit code" 1 $?
contains "view mismatch" "| label       | INTEGER         | STRING        | data type mismatch |" r9.out

# ---- 6. missing data_type, no columns, incremental rules
cat > models/more.yml <<'YML'
version: 2
models:
  - name: no_type
    config: {contract: {enforced: true}}
    columns: [{name: id}]
  - name: no_cols
    config: {contract: {enforced: true}}
  - name: inc
    config: {contract: {enforced: true}, materialized: incremental}
    columns: [{name: id, data_type: integer}]
  - name: fk_ref
    config: {contract: {enforced: true}}
    columns: [{name: id, data_type: integer, constraints: [{type: foreign_key, to: "ref('parent')", to_columns: [id]}]}]
  - name: inc_ok
    config: {contract: {enforced: true}, materialized: incremental, on_schema_change: append_new_columns}
    columns: [{name: id, data_type: integer, constraints: [{type: not_null}]}]
YML
echo "select 1 as id" > models/no_type.sql
echo "select 1 as id" > models/no_cols.sql
echo "select 1 as id" > models/inc.sql
echo "select 1 as id" > models/fk_ref.sql
echo "select 1 as id {% if is_incremental() %} union all select 2 {% endif %}" > models/inc_ok.sql
"$CDBT" run -s no_type no_cols inc inc_ok fk_ref > r10.out 2>&1
check "bad contracts exit code" 1 $?
contains "missing data_type" "Please ensure the following columns have a data_type defined: ['id']" r10.out
contains "no columns" "This model has an enforced contract, and its 'columns' specification is missing" r10.out
contains "incremental on_schema_change" "Models materialized as incremental with contracts enabled must set on_schema_change to 'append_new_columns' or 'fail'" r10.out
# a foreign key `to: ref('parent')` (dbt 1.9): a dependency, and the relation at compile time
check "to: ref() built with its foreign key" "analytics.parent" \
    "$(q "select confrelid::regclass from pg_constraint where conrelid = 'analytics.fk_ref'::regclass and contype = 'f'")"
check "to: ref(): parent in depends_on and refs, to resolved in the manifest" \
    "['model.e2e_contracts.parent'] ['parent'] \"postgres\".\"analytics\".\"parent\"" \
    "$(python3 -c "
import json; n=json.load(open('target/manifest.json'))['nodes']['model.e2e_contracts.fk_ref']
print(n['depends_on']['nodes'], [r['name'] for r in n['refs']], n['columns']['id']['constraints'][0]['to'])")"
check "inc_ok built with not null" "id integer not null" "$(q "$COLS 'inc_ok'")"
"$CDBT" run -s inc_ok > r11.out 2>&1
check "incremental run exit code" 0 $?
check "incremental rows" "1,1,2" "$(q "select string_agg(id::text, ',' order by id) from analytics.inc_ok")"
echo "select 'x' as id" > models/inc_ok.sql
"$CDBT" run -s inc_ok > r12.out 2>&1
check "incremental mismatch exit code" 1 $?
contains "incremental asserts" "| id          | STRING          | INTEGER       | data type mismatch |" r12.out

# a `to` that is no ref()/source() call: dbt's parse error, exit 2
sed -i "s/to: \"ref('parent')\"/to: \"ref(parent\"/" models/more.yml
"$CDBT" parse > r13.out 2>&1
check "bad to: exit 2" 2 $?
contains "bad to: dbt's message" "Invalid 'ref' or 'source' syntax on foreign key constraint 'to' on model fk_ref: ref(parent." r13.out

[ $fails = 0 ] && echo "contracts: all checks passed"
[ $fails = 0 ]
