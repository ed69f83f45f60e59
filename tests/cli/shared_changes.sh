#!/usr/bin/env bash
# shared_changes.sh - renders that change a var, a global or a config value
# in place (`{% do var('lst').append(x) %}`): later renders see the change,
# as in dbt; what the change stores outlives the render that made it (it
# used to point into that render's arena: a crash or garbage); the parse
# cache never reuses a render whose change other renders see (a restored
# node would not make its change), and a project snapshot stores no node
# table for single-model recompiles.  A render's own object (a relation, a
# namespace) cannot be stored in such a value: a clear error.
#   tests/cli/shared_changes.sh build/cdbt
set -u
CDBT=$(realpath "${1:?usage: shared_changes.sh path/to/cdbt}")
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi; }
C() { "$CDBT" "$@" --project-dir . --profiles-dir .; }

mkdir -p "$W/p/models"
cd "$W/p"
cat > dbt_project.yml <<'EOF'
name: sc
version: '1.0.0'
config-version: 2
profile: sc
vars:
  lst: ['a', 'b']
  dct: {k: 1}
EOF
cat > profiles.yml <<'EOF'
sc:
  target: dev
  outputs:
    dev: {type: postgres, host: localhost, port: 5432, user: u, password: p, dbname: d, schema: s, threads: 1}
EOF
# 240 models (enough for the parse's second thread); each prints what it sees
for i in $(seq -w 1 240); do
    printf "select '{{ var(\"lst\") | join(\",\") }}' as l, '{{ var(\"dct\") | tojson }}' as d -- %s\n" "$i" > "models/m$i.sql"
done

# 1. a cache filled before any change is made
C compile -q >/dev/null 2>&1 || bad "first compile"

# 2. a model now appends a string it builds (in its render's memory) and
#    updates a dict with a nested dict and list
cat > models/m007.sql <<'EOF'
{% do var('lst').append('se' ~ 'ven' * 3) %}
{% do var('dct').update({'n': {'deep': ['x' ~ 'y', 2]}}) %}
select 1 as x
EOF
out=$(C compile --debug 2>&1); rc=$?
expect "compile with shared changes exits 0" 0 $rc
case $out in *"a render changed a value other renders see; parsing again without the "*" restored nodes"*) ok ;;
    *) bad "restored renders are parsed again: $(echo "$out" | grep 'cdbt cache')" ;; esac
cp -r target/compiled cached
C compile -q --no-partial-parse --target-path cold || bad "cold compile"
diff -r cached cold/compiled >/dev/null && ok || bad "compile after the change equals a cold one"
grep -q "sevenvenven" cached/sc/models/m240.sql && ok || bad "a later model sees the appended value: $(cat cached/sc/models/m240.sql)"
grep -q '"deep": \["xy", 2\]' cached/sc/models/m240.sql && ok || bad "a later model sees the updated dict: $(cat cached/sc/models/m240.sql)"

# 3. one thread and two give the same
for t in 1 2 helper; do
    CDBT_PARSE_THREADS=$t C compile -q --no-partial-parse --target-path "t$t" || bad "compile, $t thread(s)"
    diff -r cold/compiled "t$t/compiled" >/dev/null && ok || bad "CDBT_PARSE_THREADS=$t gives what a cold compile gives"
done

# 4. nothing of the parse cache is used while a model makes such a change:
#    another model edited, the next compile parses every node and equals cold
echo "-- edited" >> models/m100.sql
out=$(C compile --debug 2>&1); rc=$?
expect "compile after an edit exits 0" 0 $rc
case $out in *"cdbt cache: 0 nodes restored"*) ok ;; *) bad "no node restored: $(echo "$out" | grep 'cdbt cache')" ;; esac
case $out in *"recompiled alone"*) bad "no single-model recompile: $out" ;; *) ok ;; esac
C compile -q --no-partial-parse --target-path cold2 || bad "cold compile 2"
diff -r target/compiled cold2/compiled >/dev/null && ok || bad "compile after an edit equals a cold one"

# 5. the change removed: the cache works again (restores on the run after)
printf "select 1 as x\n" > models/m007.sql
C compile -q || bad "compile without the change"
echo "-- edited again" >> models/m100.sql
out=$(C compile --debug 2>&1)
case $out in *"cdbt cache: 23"[0-9]" nodes restored"*|*"recompiled alone"*) ok ;;
    *) bad "the cache is used again: $(echo "$out" | grep 'cdbt cache')" ;; esac

# 6. a render's own objects cannot be kept in a shared value
printf "{%% do var('lst').append(ref('m001')) %%}\nselect 1 as x\n" > models/m007.sql
out=$(C compile -q --no-partial-parse 2>&1); rc=$?
expect "a relation stored in a var exits 2" 2 $rc
case $out in *"cannot store "*" in a value other renders see (a var, a global or a config value changed in place)"*) ok ;;
    *) bad "relation in a var: $out" ;; esac
printf "{%% set ns = namespace(x=1) %%}{%% do var('dct').update({'ns': ns}) %%}\nselect 1 as x\n" > models/m007.sql
out=$(C compile -q --no-partial-parse 2>&1); rc=$?
expect "a namespace stored in a var exits 2" 2 $rc
case $out in *"models/m007.sql:1:"*"cannot store Namespace in a value other renders see"*) ok ;;
    *) bad "namespace in a var: $out" ;; esac

# 7. a change made while compiling shows in every entry that shares the
#    value: manifest.json is written after the last node compiled, as dbt
#    does (entries written beside the compile are dropped then)
mkdir -p "$W/q/models"
cd "$W/q"
sed -e 's/^name: sc/name: race/' -e 's/^profile: sc/profile: race/' "$W/p/dbt_project.yml" > dbt_project.yml
printf 'models:\n  race:\n    +meta: {shared: {k: 1}}\n' >> dbt_project.yml
sed 's/^sc:/race:/' "$W/p/profiles.yml" > profiles.yml
for i in $(seq -w 1 1200); do echo "select $i as x" > "models/m$i.sql"; done
printf "{%% if execute %%}{%% do config.get('meta')['shared'].update({'x': 'y'}) %%}{%% endif %%}\nselect 1 as x\n" > models/m0600.sql
for r in 1 2 3; do
    C compile -q --target-path "r$r" || bad "compile $r of the meta project"
    expect "run $r: every model's meta and config.meta show the change" 2400 \
        "$(grep -o '"shared":{"k":1,"x":"y"}' "r$r/manifest.json" | wc -l)"
done

echo "shared_changes: $pass passed, $fail failed"
[ $fail = 0 ]
