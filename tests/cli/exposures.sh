#!/usr/bin/env bash
# exposures.sh - dbt exposures without a database: parse, ls (default
# listing, --resource-type, exposure:/resource_type: selectors with
# wildcards and graph operators, --output name/path/json), manifest.json
# (`exposures`, parent/child maps, disabled), a disabled exposure, an
# exposure in a subdirectory's yml (fqn), located errors (exit 2), edits of
# an exposure seen by the next run, and run/build selecting nothing for an
# exposure alone.
set -u
CDBT=$(realpath "${1:?usage: exposures.sh path/to/cdbt}")
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/tests/fixtures/e2e/exposures" "$W/p"
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
grep -q "Found 4 models, 2 seeds, 1 data test, 1 source, 3 exposures, 0 macros" p.out
expect "found line counts exposures" 0 $?

ALL="exposure:ex.events_app exposure:ex.finance_notebook exposure:ex.weekly_kpis ex.marts.fct_orders ex.stg_events ex.stg_orders ex.unrelated ex.raw_orders ex.raw_other source:ex.app.events ex.not_null_fct_orders_id"
expect "ls lists exposures by default" "$ALL" "$(L)"
expect "ls --resource-type exposure" "exposure:ex.events_app exposure:ex.finance_notebook exposure:ex.weekly_kpis" "$(L --resource-type exposure)"
expect "ls resource_type:exposure" "exposure:ex.events_app exposure:ex.finance_notebook exposure:ex.weekly_kpis" "$(L -s resource_type:exposure)"
expect "ls exposure:*" "exposure:ex.events_app exposure:ex.finance_notebook exposure:ex.weekly_kpis" "$(L -s 'exposure:*')"
expect "ls exposure:name" "exposure:ex.weekly_kpis" "$(L -s exposure:weekly_kpis)"
expect "ls exposure:pkg.name" "exposure:ex.weekly_kpis" "$(L -s exposure:ex.weekly_kpis)"
expect "ls exposure: wildcard" "exposure:ex.events_app" "$(L -s 'exposure:ev*')"
expect "ls exposure: other package" "" "$(L -s exposure:other.weekly_kpis)"
expect "ls +exposure:x" "exposure:ex.weekly_kpis ex.marts.fct_orders ex.stg_orders ex.raw_orders ex.not_null_fct_orders_id" "$(L -s +exposure:weekly_kpis)"
# a test whose parents are all selected comes along (eager indirect selection)
expect "ls 1+exposure:x" "exposure:ex.weekly_kpis ex.marts.fct_orders ex.not_null_fct_orders_id" "$(L -s 1+exposure:weekly_kpis)"
expect "ls 1+exposure:x, indirect empty" "exposure:ex.weekly_kpis ex.marts.fct_orders" "$(L -s 1+exposure:weekly_kpis --indirect-selection empty)"
expect "ls +exposure:x --resource-type model" "ex.marts.fct_orders ex.stg_orders" "$(L -s +exposure:weekly_kpis --resource-type model)"
expect "ls +exposure (source and package ref)" "exposure:ex.events_app ex.unrelated ex.raw_other source:ex.app.events" "$(L -s +exposure:events_app)"
expect "ls model+ reaches exposures" "exposure:ex.finance_notebook exposure:ex.weekly_kpis ex.marts.fct_orders ex.not_null_fct_orders_id" "$(L -s fct_orders+)"
expect "ls exclude exposures" "ex.unrelated" "$(L -s unrelated+ --exclude resource_type:exposure)"
expect "ls tag: (entry tags)" "exposure:ex.weekly_kpis" "$(L -s tag:kpi)"
expect "ls tag: (config tags)" "exposure:ex.events_app" "$(L -s tag:apps)"
expect "ls a bare name is not an exposure (fqn)" "" "$(L -s weekly_kpis)"
expect "ls path: a subdirectory's yml" "exposure:ex.finance_notebook ex.marts.fct_orders ex.not_null_fct_orders_id" "$(L -s path:models/marts)"
expect "ls --output name" "weekly_kpis" "$(L -s exposure:weekly_kpis --output name)"
expect "ls --output path" "models/marts/marts.yml" "$(L -s exposure:finance_notebook --output path)"
expect "ls --output json" '{"name": "weekly_kpis", "resource_type": "exposure", "package_name": "ex", "original_file_path": "models/schema.yml", "unique_id": "exposure.ex.weekly_kpis", "tags": ["kpi"], "config": {"enabled": true, "tags": [], "meta": {}}, "depends_on": {"macros": [], "nodes": ["model.ex.fct_orders"]}}' "$(L -s exposure:weekly_kpis --output json)"
expect "ls --output json --output-keys" '{"name": "finance_notebook", "unique_id": "exposure.ex.finance_notebook"}' "$(L -s exposure:finance_notebook --output json --output-keys 'name unique_id')"
expect "ls bad exposure selector" "1" "$(C ls -q -s exposure:a.b.c > /dev/null 2>&1; [ $? -ne 0 ] && echo 1)"

# the exposures: tree of dbt_project.yml (config along the fqn, under the entry's config;
# unrendered_config is a plain update, as dbt's UnrenderedConfigGenerator)
cp dbt_project.yml dbt_project.yml.orig
cat >> dbt_project.yml <<'YML'
exposures:
  ex:
    +tags: [from_project]
    +meta: {team: bi}
    marts:
      +enabled: false
YML
expect "exposures tree: +enabled: false on a directory" "exposure:ex.events_app exposure:ex.weekly_kpis" "$(L --resource-type exposure)"
expect "exposures tree: +tags selects" "exposure:ex.events_app exposure:ex.weekly_kpis" "$(L -s tag:from_project)"
expect "exposures tree: config and unrendered_config" "{'enabled': True, 'tags': ['from_project', 'apps'], 'meta': {'team': 'bi'}} {'tags': ['apps'], 'meta': {'team': 'bi'}}" \
    "$(python3 -c "import json; e=json.load(open('target/manifest.json'))['exposures']['exposure.ex.events_app']; print(e['config'], e['unrendered_config'])")"
mv dbt_project.yml.orig dbt_project.yml
expect "exposures tree removed" "exposure:ex.events_app exposure:ex.finance_notebook exposure:ex.weekly_kpis" "$(L --resource-type exposure)"

# manifest.json
check_manifest=$(python3 - <<'PY'
import json
m = json.load(open('target/manifest.json'))
e = m['exposures']
out = [' '.join(sorted(e))]
w = e['exposure.ex.weekly_kpis']
out.append(','.join(w.keys()))
out.append(' '.join([w['resource_type'], w['package_name'], w['path'], w['original_file_path'], w['type'], w['label'], w['maturity'], w['url'], w['description']]))
out.append('.'.join(w['fqn']) + ' ' + '.'.join(e['exposure.ex.finance_notebook']['fqn']))
out.append(json.dumps(w['owner']) + ' ' + json.dumps(e['exposure.ex.events_app']['owner']))
out.append(json.dumps(w['meta']) + ' ' + json.dumps(w['tags']) + ' ' + json.dumps(w['config']) + ' ' + json.dumps(w['unrendered_config']))
a = e['exposure.ex.events_app']
out.append(json.dumps(a['depends_on']) + ' ' + json.dumps(a['refs']) + ' ' + json.dumps(a['sources']) + ' ' + json.dumps(a['metrics']))
out.append(json.dumps(a['config']) + ' ' + json.dumps(a['unrendered_config']) + ' ' + str(a['label']) + ' ' + str(a['maturity']) + ' ' + str(a['url']))
out.append(str(isinstance(w['created_at'], float)))
out.append(str(any(k.startswith('exposure.') for k in m['nodes'])))
out.append(json.dumps(m['parent_map']['exposure.ex.finance_notebook']))
out.append(json.dumps(m['child_map']['model.ex.fct_orders']))
out.append(json.dumps(m['child_map']['exposure.ex.weekly_kpis']))
out.append(json.dumps(m['child_map']['source.ex.app.events']))
out.append(' '.join(sorted(k for k in m['disabled'])))
out.append(m['disabled']['exposure.ex.retired'][0]['resource_type'])
print('\n'.join(out))
PY
)
expect "manifest exposures" 'exposure.ex.events_app exposure.ex.finance_notebook exposure.ex.weekly_kpis
name,resource_type,package_name,path,original_file_path,unique_id,fqn,type,owner,description,label,maturity,meta,tags,config,unrendered_config,url,depends_on,refs,sources,metrics,created_at
exposure ex schema.yml models/schema.yml dashboard Weekly KPIs high https://bi.example.com/dashboards/1 The weekly numbers
ex.weekly_kpis ex.marts.finance_notebook
{"email": "claire@example.com", "name": "Claire"} {"email": "apps@example.com", "name": null}
{"team": "finance"} ["kpi"] {"enabled": true, "tags": [], "meta": {}} {}
{"macros": [], "nodes": ["model.ex.unrelated", "source.ex.app.events"]} [{"name": "unrelated", "package": "ex", "version": null}] [["app", "events"]] []
{"enabled": true, "tags": ["apps"], "meta": {}} {"tags": ["apps"]} None None None
True
False
["model.ex.fct_orders", "model.ex.stg_orders"]
["exposure.ex.finance_notebook", "exposure.ex.weekly_kpis", "test.ex.not_null_fct_orders_id.600c7b2b67"]
[]
["exposure.ex.events_app", "model.ex.stg_events"]
exposure.ex.retired model.ex.off
exposure' "$check_manifest"

# compile writes nothing for exposures
C compile -q > /dev/null 2>&1
expect "compile exit code" 0 $?
expect "no compiled file for exposures" "" "$(find target/compiled -name '*kpis*' -o -name '*notebook*' -o -name '*events_app*' -o -name 'marts.yml' | head -1)"
# run/build of an exposure alone: nothing to do (no database needed)
C run -s exposure:weekly_kpis > r.out 2>&1
expect "run -s exposure:x exit code" 0 $?
expect "run -s exposure:x does nothing" 1 "$(grep -c 'Nothing to do' r.out)"
C build -s exposure:weekly_kpis > r.out 2>&1
expect "build -s exposure:x does nothing" 1 "$(grep -c 'Nothing to do' r.out)"

# edits of an exposure are seen by the next run (fast paths, cache)
L > /dev/null; L > /dev/null
sleep 0.2
sed -i 's/name: finance_notebook/name: finance_nb/' models/marts/marts.yml
expect "renamed exposure seen by ls" "exposure:ex.finance_nb" "$(L -s 'exposure:finance*')"
expect "renamed exposure in the manifest" "True False" "$(python3 -c "import json; e=json.load(open('target/manifest.json'))['exposures']; print('exposure.ex.finance_nb' in e, 'exposure.ex.finance_notebook' in e)")"
sleep 0.2
sed -i "s/      - ref('stg_orders')//" models/marts/marts.yml
expect "edited depends_on seen by ls" "exposure:ex.finance_nb ex.marts.fct_orders ex.stg_orders ex.raw_orders ex.not_null_fct_orders_id" "$(L -s +exposure:finance_nb)"
expect "edited depends_on seen by ls (again)" "exposure:ex.finance_nb ex.marts.fct_orders" "$(L -s 1+exposure:finance_nb --indirect-selection empty)"
cp "$SRC/tests/fixtures/e2e/exposures/models/marts/marts.yml" models/marts/marts.yml
sleep 0.2
sed -i 's/      enabled: false/      enabled: true/' models/schema.yml
sed -i "s/depends_on: \[ref('off')\]/depends_on: [ref('unrelated')]/" models/schema.yml
expect "enabled exposure appears" "exposure:ex.retired" "$(L -s exposure:retired)"
cp "$SRC/tests/fixtures/e2e/exposures/models/schema.yml" models/schema.yml
expect "disabled again" "" "$(L -s exposure:retired)"

# state:modified compares exposures as dbt does (owner, type, url, label,
# maturity, description, depends_on nodes, config)
C parse -q > /dev/null 2>&1
rm -rf st; cp -r target st
expect "state:modified, nothing changed" "" "$(L -s state:modified --state st)"
expect "state:unmodified includes exposures" "exposure:ex.events_app exposure:ex.finance_notebook exposure:ex.weekly_kpis" "$(L -s state:unmodified --state st --resource-type exposure)"
sed -i 's/maturity: high/maturity: low/' models/schema.yml
expect "state:modified, maturity edited" "exposure:ex.weekly_kpis" "$(L -s state:modified --state st)"
cp "$SRC/tests/fixtures/e2e/exposures/models/schema.yml" models/schema.yml
sed -i "s/      - ref('stg_orders')//" models/marts/marts.yml
sed -i "s/      tags: \[apps\]/      tags: [apps, more]/" models/schema.yml
expect "state:modified, depends_on and config edited" "exposure:ex.events_app exposure:ex.finance_notebook" "$(L -s state:modified --state st)"
expect "state:modified.configs" "exposure:ex.events_app" "$(L -s state:modified.configs --state st)"
sed -i "s/name: finance_notebook/name: finance_new/" models/marts/marts.yml
expect "state:new" "exposure:ex.finance_new" "$(L -s state:new --state st)"
cp "$SRC/tests/fixtures/e2e/exposures/models/schema.yml" models/schema.yml
cp "$SRC/tests/fixtures/e2e/exposures/models/marts/marts.yml" models/marts/marts.yml

# errors: file:line:col, the line, a caret; exit 2
cp models/schema.yml s.orig
err() {  # err <what> <expected stderr> : runs parse on the current models/schema.yml
    C parse -q > e.out 2>&1
    local rc=$?
    expect "$1 exit code" 2 $rc
    expect "$1 message" "$2" "$(grep -v 'Running with' e.out)"
    cp s.orig models/schema.yml
}
sed -i 's/type: dashboard/type: dashbord/' models/schema.yml
err "invalid type" "models/schema.yml:15:11: error: Invalid exposures config given in models/schema.yml @ exposures: 'dashbord' is not one of ['dashboard', 'notebook', 'analysis', 'ml', 'application']
   15 |     type: dashbord
      |           ^"
sed -i '0,/    type: dashboard/s///' models/schema.yml
err "missing type" "models/schema.yml:13:5: error: Invalid exposures config given in models/schema.yml @ exposures: 'type' is a required property
   13 |   - name: weekly_kpis
      |     ^"
python3 - <<'PY'
s = open('models/schema.yml').read()
s = s.replace("    owner:\n      name: Claire\n      email: claire@example.com\n", "", 1)
open('models/schema.yml', 'w').write(s)
PY
err "missing owner" "models/schema.yml:13:5: error: Invalid exposures config given in models/schema.yml @ exposures: 'owner' is a required property
   13 |   - name: weekly_kpis
      |     ^"
sed -i 's/      name: Claire/      team: x/; s/      email: claire@example.com/      slack: y/' models/schema.yml
err "owner without name or email" "models/schema.yml:22:7: error: Invalid exposures config given in models/schema.yml @ exposures: Exposure owner must have at least one of 'name' or 'email'.
   22 |       team: x
      |       ^"
sed -i 's/maturity: high/maturity: great/' models/schema.yml
err "unknown maturity" "models/schema.yml:16:15: error: Invalid exposures config given in models/schema.yml @ exposures: 'great' is not one of ['low', 'medium', 'high']
   16 |     maturity: great
      |               ^"
sed -i "s/      - ref('fct_orders')/      - fct_orders/" models/schema.yml
err "depends_on not a call" "models/schema.yml:20:9: error: Exposure 'weekly_kpis': a depends_on entry must be a ref(), source() or metric() call. Got: 'fct_orders'.
   20 |       - fct_orders
      |         ^"
sed -i "s/      - ref('fct_orders')/      - ref('nope')/" models/schema.yml
err "ref to a missing node" "models/schema.yml:20:9: error: Exposure 'exposure.ex.weekly_kpis' (models/schema.yml) depends on a node named 'nope' which was not found
   20 |       - ref('nope')
      |         ^"
sed -i "s/      - ref('fct_orders')/      - ref('off')/" models/schema.yml
err "ref to a disabled node" "models/schema.yml:20:9: error: Exposure 'exposure.ex.weekly_kpis' (models/schema.yml) depends on a node named 'off' which is disabled
   20 |       - ref('off')
      |         ^"
sed -i "s/      - source('app', 'events')/      - source('app', 'nope')/" models/schema.yml
err "missing source" "models/schema.yml:31:9: error: Exposure 'exposure.ex.events_app' (models/schema.yml) depends on a source named 'app.nope' which was not found
   31 |       - source('app', 'nope')
      |         ^"
sed -i "s/      - ref('fct_orders')/      - metric('revenue')/" models/schema.yml
err "missing metric" "models/schema.yml:20:9: error: Exposure 'exposure.ex.weekly_kpis' (models/schema.yml) depends on a metric named 'revenue' which was not found
   20 |       - metric('revenue')
      |         ^"
sed -i "s/    url: /    urll: /" models/schema.yml
err "unknown key" "models/schema.yml:17:5: error: Invalid exposures config given in models/schema.yml @ exposures: Additional properties are not allowed ('urll' was unexpected)
   17 |     urll: https://bi.example.com/dashboards/1
      |     ^"
sed -i "s/name: finance_notebook/name: weekly_kpis/" models/marts/marts.yml
C parse -q > e.out 2>&1
expect "duplicate exposure exit code" 2 $?
expect "duplicate exposure message" 'dbt found two exposures with the name "weekly_kpis" (models/marts/marts.yml and models/schema.yml)' "$(grep -v 'Running with' e.out | sed 's/^error: //')"

echo "exposures: $pass passed, $fail failed"
[ $fail = 0 ]
