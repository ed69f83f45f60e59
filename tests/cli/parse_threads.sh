#!/usr/bin/env bash
# parse_threads.sh - the parse pass on two threads (src/dbt/dbt_parse.c)
# gives what one thread gives.  A generated project of 400 chained models,
# some of which print (log, print, exceptions.warn), read env vars, use
# namespaces/cyclers/loop.changed, and change shared values at parse time
# (a var dict updated, a var list popped: later nodes see the change) and
# all call a macro whose inline if asks for its line number (a shared
# SrcFile's line index: run this with a ThreadSanitizer build too), is
# compiled with CDBT_PARSE_THREADS=1, =2 and =helper (the helper thread tries
# every node first); stdout, stderr, exit code, manifest.json and compiled/
# must be the same.  Then again with one and with two failing nodes: the
# same first error, the same console lines before it.
#   tests/cli/parse_threads.sh build/cdbt
set -u
CDBT=$(realpath "${1:?usage: parse_threads.sh path/to/cdbt}")
PY=$(command -v /usr/bin/python3 || command -v python3)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fails=0

mkdir -p "$W/p/models" "$W/p/macros"
cd "$W/p"
cat > dbt_project.yml <<'EOF'
name: pt
version: '1.0.0'
config-version: 2
profile: pt
model-paths: ['models']
macro-paths: ['macros']
vars:
  lst: [1, 2]
  dct: {a: 1}
  txt: "{{ 'x' ~ 'y' }}"
models:
  pt:
    +materialized: view
    +meta: {shared: {k: 1}}
EOF
cat > profiles.yml <<'EOF'
pt:
  target: dev
  outputs:
    dev: {type: postgres, host: localhost, port: 5432, user: u, password: p, dbname: db, schema: sch, threads: 1}
EOF
cat > macros/m.sql <<'EOF'
{% macro m_inline(c) %}{{ 'x' if c }}{% endmacro %}
{% macro mk() %}{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ return(ns.n) }}{% endmacro %}
EOF
"$PY" - <<'PYEOF'
for i in range(400):
    k = i % 40
    L = ["{{ config(tags=['t%d'], meta={'m': %d}) }}" % (i % 3, i)]
    if i == 123: L.append("{% do var('dct').update({'a': 5}) %}")
    if i == 250: L.append("{% do var('lst').pop() %}")
    if k == 5: L.append("{{ log('parse log %d', info=True) }}" % i)
    if k == 6: L.append("{{ print('parse print %d') }}" % i)
    if k == 7: L.append("{{ config(meta={'env': env_var('PT_ENV', 'dflt')}) }}")
    if k == 8: L.append("{% do exceptions.warn('warned " + str(i) + "') %}")
    if k == 9: L.append("{{ config(meta={'a': var('dct').a, 'n': var('lst') | length}) }}")
    if k == 10: L.append("{{ config(meta={'mk': mk(), 'txt': var('txt')}) }}")
    if k == 12: L.append("{% set c = cycler('a','b') %}{{ config(alias='al_' ~ c.next() ~ c.next() ~ '" + str(i) + "') }}")
    L.append("{% for x in [1,2,2] %}{% if loop.changed(x) %}{% endif %}{% endfor %}")
    L.append("{{ m_inline(false) }}")
    L.append("select %d as id" % i)
    if i > 0:
        L.append(", (select 1 from {{ ref('m%03d') }})" % (i - 1))
    open("models/m%03d.sql" % i, "w").write("\n".join(L) + "\n")
PYEOF

# run MODE -> $W/out.MODE/{stdout,stderr,rc,manifest.json,compiled}
run() {
    local o="$W/out.$1"
    rm -rf "$o" "$W/t"
    mkdir -p "$o"
    CDBT_PARSE_THREADS=$1 PT_ENV=from_env "$CDBT" compile --project-dir . --profiles-dir . \
        --no-partial-parse --target-path "$W/t" >"$o/stdout" 2>"$o/stderr"
    echo $? >"$o/rc"
    sed -i -E 's/[0-9]{2}:[0-9]{2}:[0-9]{2}/HH:MM:SS/g; s/[0-9]+\.[0-9]+ ?s(econds)?/Ts/g' "$o/stdout" "$o/stderr"
    if [ -f "$W/t/manifest.json" ]; then
        sed -E 's/"(generated_at|invocation_id|started_at|completed_at)":"[^"]*"/"\1":"X"/g; s/"(created_at|elapsed_time|execution_time)":[0-9.e+-]+/"\1":0/g; s/\} +([],}])/}\1/g' \
            "$W/t/manifest.json" >"$o/manifest.json"
    fi
    [ -d "$W/t/compiled" ] && cp -r "$W/t/compiled" "$o/compiled"
}

check() {   # label
    run 1
    for m in 2 helper; do
        run $m
        if ! diff -rq "$W/out.1" "$W/out.$m" >"$W/diff" 2>&1; then
            echo "FAIL [$1]: CDBT_PARSE_THREADS=$m differs from one thread:"
            head -20 "$W/diff"
            fails=$((fails + 1))
        fi
    done
}

check ok
[ "$(cat "$W/out.1/rc")" = 0 ] || { echo "FAIL: the project does not compile"; cat "$W/out.1/stderr"; fails=$((fails + 1)); }
# the shared changes are seen by later nodes, in node order
"$PY" - "$W/out.1/manifest.json" <<'PYEOF' || fails=$((fails + 1))
import json, sys
n = json.load(open(sys.argv[1]))["nodes"]
got = [(n["model.pt.m%03d" % i]["config"]["meta"]["a"], n["model.pt.m%03d" % i]["config"]["meta"]["n"])
       for i in (89, 129, 289)]
if got != [(1, 2), (5, 2), (5, 1)]:
    print("FAIL: shared var changes seen as", got)
    sys.exit(1)
PYEOF
grep -q "parse log 365" "$W/out.1/stdout" || { echo "FAIL: no parse-time log line"; fails=$((fails + 1)); }

echo "{{ exceptions.raise_compiler_error('boom 390') }}" >>models/m390.sql
check one_error
grep -q "boom 390" "$W/out.1/stdout" "$W/out.1/stderr" || { echo "FAIL: error not reported"; fails=$((fails + 1)); }
echo "{% if %}" >>models/m300.sql
check two_errors
grep -q "m300" "$W/out.1/stdout" "$W/out.1/stderr" || { echo "FAIL: first error not reported"; fails=$((fails + 1)); }
echo "{{ exceptions.raise_compiler_error('boom 20') }}" >>models/m020.sql
check early_error

if [ $fails -ne 0 ]; then
    echo "parse_threads: $fails failure(s)"
    exit 1
fi
echo "parse_threads: ok"
