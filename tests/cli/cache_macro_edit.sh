#!/usr/bin/env bash
# cache_macro_edit.sh - a compile after an edit of macro files alone keeps
# the tests' compiled code when the macros are the same by name, no test's
# last compile called a macro of the edited files, and this run's parse
# called none either or left every relation as it was (cmd_compile;
# src/cache: the snapshot lists edited macro files and keeps the tests'
# code).  Whatever it decides, the manifest and the compiled files are
# those of a cold compile.  On the jaffle fixture, no database:
#   - the text of a macro only models print: tests kept;
#   - an edit inside that macro's tags (the parse runs it again): tests
#     kept, the relations being the same; the parse cache restores every
#     node but the one model that runs the macro, before and after undoing
#     it;
#   - a macro nothing calls given another argument: tests kept;
#   - the text of a custom generic test's macro: tests compiled again;
#   - the text of generate_schema_name (the parse calls it for every node's
#     schema): compiled again, the tests' relations follow;
#   - a macro added to a file: compiled again;
#   - a macro edit with a model edit, and an unchanged project afterwards;
#   - a macro edit with a test's properties edit: compiled again.
set -u
CDBT=$(realpath "${1:?usage: cache_macro_edit.sh path/to/cdbt}")
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/tests/fixtures/projects/jaffle" "$W/p"
rm -rf "$W/p/target"
cd "$W/p"
export PGHOST=/nonexistent PGPORT=5432 PGUSER=x PGDATABASE=x
pass=0; fail=0
expect() {  # expect <what> <expected> <actual>
    if [ "$2" = "$3" ]; then pass=$((pass+1)); else echo "FAIL: $1"; printf '  expected: %s\n  actual:   %s\n' "$2" "$3"; fail=$((fail+1)); fi
}
C() { "$CDBT" "$@" --project-dir . --profiles-dir .; }
settle() { sleep 0.15; }     # past the racy margin: the run stores its snapshot
# the line a --debug compile prints about the tests (or "none")
run() { out=$(C compile -q --debug 2>&1); echo "$out" | grep -E "tests' compiled code kept|tests compiled again" || echo none; }
# target/ against a cold compile (its own target directory and cache)
same_as_cold() {
    rm -rf cold
    C compile -q --no-partial-parse --target-path cold > /dev/null 2>&1
    python3 - <<'PY'
import json, sys
a = json.load(open('target/manifest.json')); b = json.load(open('cold/manifest.json'))
def norm(m):
    out = {}
    for k, n in m['nodes'].items():
        n = dict(n); n.pop('created_at', None)
        if n.get('compiled_path'): n['compiled_path'] = n['compiled_path'].split('/compiled/', 1)[1]
        out[k] = n
    return out
na, nb = norm(a), norm(b)
bad = sorted(k for k in set(na) | set(nb) if na.get(k) != nb.get(k))
print('same' if not bad else 'differ: ' + ' '.join(bad[:5]))
PY
    diff -r target/compiled cold/compiled > /dev/null && echo "files same" || echo "files differ"
}

# expect target/ to be a cold compile's
as_cold() { expect "$1: as cold" "same
files same" "$(same_as_cold)"; }

settle; C compile -q --debug > /dev/null 2>&1; settle   # (files copied just now are racy: settle first)
ntests=$(python3 -c "import json; print(sum(1 for k in json.load(open('target/manifest.json'))['nodes'] if k.startswith('test.')))")

# ---- 1. a macro only models print
sed -i 's|/ 100)|/ 1000)|' macros/cents_to_dollars.sql; settle
expect "models' macro: tests kept" "cdbt cache: only macros the tests do not call changed: $ntests tests' compiled code kept" "$(run)"
as_cold "models' macro"
grep -q '/ 1000)' target/compiled/jaffle/models/staging/stg_payments.sql
expect "the model that prints it recompiled" 0 $?
settle
sed -i 's|/ 1000)|/ 10)|' macros/cents_to_dollars.sql; settle
expect "again: tests kept (their code came from the last snapshot)" \
    "cdbt cache: only macros the tests do not call changed: $ntests tests' compiled code kept" "$(run)"
as_cold "again"

# ---- 2. inside the macro's tags: the models that call it are parsed again
settle
sed -i 's|{{ scale }})|{{ scale \| int }})|' macros/cents_to_dollars.sql; settle
grep -q 'scale | int' macros/cents_to_dollars.sql
expect "tags edit applied" 0 $?
expect "tags edit, relations unchanged: tests kept" \
    "cdbt cache: only macros the tests do not call changed: $ntests tests' compiled code kept" "$(run)"
as_cold "tags edit"
# the parse cache: a node's entry holds while the macros its render ran are
# unchanged, so only stg_payments (the one model that runs cents_to_dollars)
# is parsed again; the others are restored (each is checked against a cold
# compile).  The undo parses it again too: its entry is the last edit's.
nrender=$(python3 -c "import json; m=json.load(open('target/manifest.json'))['nodes']; print(sum(1 for k,n in m.items() if not (k.startswith('test.') and n.get('test_metadata',{}).get('name') in ('unique','not_null')) and n['resource_type'] in ('model','test','snapshot','analysis')))")
settle
sed -i 's/{{ scale | int }})/{{ scale | int | int }})/' macros/cents_to_dollars.sql; settle
out=$(C compile -q --debug 2>&1)
expect "tags edit: only the model that runs the macro parsed again" \
    "cdbt cache: $((nrender - 1)) nodes restored, 1 parsed (0 not cacheable)" "$(echo "$out" | grep -E 'nodes restored')"
expect "tags edit: --debug says why" "cdbt cache: why parsed: 1: macro.jaffle.cents_to_dollars changed inside its tags" \
    "$(echo "$out" | grep -E 'why parsed')"
as_cold "tags edit 2"
settle
sed -i 's/{{ scale | int | int }})/{{ scale }})/' macros/cents_to_dollars.sql; settle
out=$(C compile -q --debug 2>&1)
expect "tags edit undone: only that model parsed again" \
    "cdbt cache: $((nrender - 1)) nodes restored, 1 parsed (0 not cacheable)" "$(echo "$out" | grep -E 'nodes restored')"
echo "$out" | grep -q "tests' compiled code kept"
expect "tags edit undone: tests kept" 0 $?
as_cold "tags edit undone"

# ---- 3. a macro nothing calls given another argument
settle
sed -i 's|dollars_to_cents(column_name)|dollars_to_cents(column_name, unused=none)|' macros/cents_to_dollars.sql; settle
expect "signature of an unused macro: tests kept" \
    "cdbt cache: only macros the tests do not call changed: $ntests tests' compiled code kept" "$(run)"
as_cold "signature"

# ---- 4. a custom generic test's macro
settle
sed -i 's|where {{ column_name }} < 0|where {{ column_name }} < 0 and true|' tests/generic/test_is_positive.sql; settle
expect "test macro: tests compiled again" \
    "cdbt cache: macros changed; tests compiled again (the tests call a macro of a changed file)" "$(run)"
as_cold "test macro"
grep -rq 'and true' target/compiled/jaffle/models/marts/_marts.yml/
expect "the is_positive tests have the new text" 0 $?

# ---- 5. a macro the parse calls (generate_schema_name: every node's schema)
settle
sed -i 's|{{ target.schema }}_{{ custom_schema_name \| trim }}|{{ target.schema }}__{{ custom_schema_name \| trim }}|' macros/generate_schema_name.sql; settle
expect "parse macro, relations changed: tests compiled again" \
    "cdbt cache: macros changed; tests compiled again (the parse called a macro of a changed file and a relation changed)" "$(run)"
as_cold "parse macro"

# ---- 6. a macro added to an existing file
settle
printf '{%% macro one_more() %%}1{%% endmacro %%}\n' >> macros/cents_to_dollars.sql; settle
expect "macro added: tests compiled again" \
    "cdbt cache: macros changed; tests compiled again (a macro was added, removed or renamed)" "$(run)"
as_cold "macro added"

# ---- 7. a macro and a model edited together; then nothing
settle
sed -i 's|/ 10)|/ 100)|' macros/cents_to_dollars.sql
echo "-- edited" >> models/staging/stg_orders.sql; settle
expect "macro and model: a full compile" \
    "cdbt cache: macros changed; tests compiled again (a file other than macros changed)" "$(run)"
as_cold "macro and model"
settle
out=$(C compile -q --debug 2>&1 | grep -c 'outputs reused')
expect "nothing changed: outputs reused" 1 "$out"

# ---- 8. a macro and a test's properties edited together: the lookup stops
# at the macro file; the properties file, as the load read it, differs from
# the snapshot's, so the tests are compiled again (one of them has new SQL)
settle
sed -i 's|/ 100)|/ 1000)|' macros/cents_to_dollars.sql
sed -i 's|where: "customer_lifetime_value is not null"|where: "customer_lifetime_value > 0"|' models/marts/_marts.yml; settle
grep -q 'customer_lifetime_value > 0' models/marts/_marts.yml
expect "properties edit applied" 0 $?
expect "macro and properties: tests compiled again" \
    "cdbt cache: macros changed; tests compiled again (a file other than macros changed)" "$(run)"
as_cold "macro and properties"
grep -rq 'customer_lifetime_value > 0' target/compiled/jaffle/models/marts/_marts.yml/
expect "the test has its new where" 0 $?

# ---- 9. a macro every model runs, in a project of its own: after an edit
# inside its tags no parse-cache entry can match, and parse and compile
# leave the entries alone (the snapshot lists macro files for both); going
# back finds them all
mkdir -p "$W/q/models" "$W/q/macros"
cd "$W/q"
printf 'name: q\nversion: "1"\nconfig-version: 2\nprofile: q\n' > dbt_project.yml
printf 'q:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: h\n      user: u\n      password: p\n      port: 5432\n      dbname: d\n      schema: s\n' > profiles.yml
printf '{%% macro m(x) %%}({{ x }}){%% endmacro %%}\n' > macros/m.sql
for i in 1 2 3; do printf 'select {{ m(%d) }} as x\n' $i > models/q$i.sql; done
for cmd in parse compile; do
    # (--debug every time: it is part of the command line a snapshot is for)
    settle; C $cmd -q --debug > /dev/null 2>&1; settle; C $cmd -q --debug > /dev/null 2>&1
    printf '{%% macro m(x) %%}({{ x + 10 }}){%% endmacro %%}\n' > macros/m.sql; settle
    out=$(C $cmd -q --debug 2>&1)
    expect "$cmd, a macro every model runs edited: entries left alone" \
        "cdbt cache: 3 nodes parsed; macros changed since every entry was stored, which are left as they are" \
        "$(echo "$out" | grep -E 'nodes parsed|nodes restored')"
    grep -q '(11)' target/compiled/q/models/q1.sql 2>/dev/null || [ $cmd = parse ]
    expect "$cmd: the new macro in the compiled model" 0 $?
    printf '{%% macro m(x) %%}({{ x }}){%% endmacro %%}\n' > macros/m.sql; settle
    out=$(C $cmd -q --debug 2>&1)
    expect "$cmd, the macro back: every entry restored" "cdbt cache: 3 nodes restored, 0 parsed (0 not cacheable)" \
        "$(echo "$out" | grep -E 'nodes parsed|nodes restored')"
done
cd "$W/p"

echo "cache_macro_edit: $pass passed, $fail failed"
[ $fail = 0 ]
