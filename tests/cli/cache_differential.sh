#!/usr/bin/env bash
# cache_differential.sh - the parse cache (target/cdbt.db) never changes the
# result: on a copy of the jaffle fixture plus a few models that read
# env_var(), var(), a macro in config() and invocation_id, apply a seeded
# sequence of random edits (model bodies and configs, macros, project and
# --vars, env vars, properties files, added / deleted / renamed files, syntax
# errors and their fixes, an installed package's files, the package removed
# and added back) and after each one compare `cdbt parse` with the
# cache against `cdbt parse --no-partial-parse`: same exit code, same error
# text, and the same manifest.json once generated_at, invocation_id and
# created_at are blanked.  Also checks that the cache is really used (a
# second run restores every node), that volatile values are not cached, and
# that `cdbt ls`/`compile` agree.  A last phase does the same for the
# whole-project snapshot (a parse that reuses the previous run's outputs).
#   STEPS=200 SEED=7 tests/cli/cache_differential.sh build/cdbt
set -u
CDBT=$(realpath "${1:?usage: cache_differential.sh path/to/cdbt}")
SRC=${CDBT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=$(command -v /usr/bin/python3 || command -v python3)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/tests/fixtures/projects/jaffle" "$W/p"
rm -rf "$W/p/target"
export CDBT SEED=${SEED:-1} STEPS=${STEPS:-60}
cd "$W/p"
exec "$PY" - <<'PYEOF'
import json, os, random, re, shutil, subprocess, sys

CDBT = os.environ["CDBT"]
rng = random.Random(int(os.environ["SEED"]))
STEPS = int(os.environ["STEPS"])
fails = 0
checks = 0

def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

def read(path):
    with open(path) as f:
        return f.read()

# ---- extra inputs the cache must track
write("macros/pick.sql", "{% macro pick_mat() %}{{ return('view') }}{% endmacro %}\n")
write("models/extra/env_model.sql",
      "{{ config(materialized=env_var('CACHE_T_MAT', 'view'), tags=[var('tagv', 'tv0')]) }}\n"
      "select {{ cents_to_dollars('amount') }} as a from {{ ref('stg_orders') }}\n")
write("models/extra/macro_cfg.sql",
      "{{ config(materialized=pick_mat()) }}\nselect 1 as x\n")
# a macro a model runs only through another: config() from the inner one
write("macros/nest.sql",
      "{% macro nest_outer() %}{{ return(nest_inner()) }}{% endmacro %}\n"
      "{% macro nest_inner() %}{{ return('view') }}{% endmacro %}\n")
write("models/extra/nested_cfg.sql",
      "{{ config(materialized=nest_outer()) }}\nselect 1 as x\n")
write("models/extra/which.sql",
      "{{ config(tags=[flags.WHICH]) }}\nselect 1 as w\n")
write("models/extra/volatile.sql",
      "{{ config(meta={'inv': invocation_id}) }}\nselect 1 as v\n")
# macros whose text (between tags) is edited: models that only print it are
# keyed on the macros' skeletons, models that look at it on the whole text
write("macros/textm.sql",
      "{% macro tm() %}alpha{% endmacro %}\n"
      "{% macro tb() %}{% set x %}alpha{% endset %}{{ return(x) }}{% endmacro %}\n")
write("models/extra/text_direct.sql", "select '{{ tm() }}' as t from {{ ref('stg_orders') }}\n")
write("models/extra/text_branch.sql",
      "{% set t = tm() %}{% if 'beta' in t %}{{ config(materialized='table') }}"
      "select * from {{ ref('stg_orders') }}{% else %}select 1 as x{% endif %}\n")
write("models/extra/text_cfg.sql", "{{ config(tags=[tm() | trim]) }}\nselect 1 as c\n")
write("models/extra/text_block.sql",
      "{% set s %}{{ tm() }}{% endset %}{% if s == 'gamma' %}select * from {{ ref('stg_customers') }}"
      "{% else %}select 2 as b{% endif %}\n")
write("models/extra/text_own_block.sql",
      "{% if tb() == 'beta' %}select * from {{ ref('stg_orders') }}{% else %}select 3 as o{% endif %}\n")
write("models/extra/_extra.yml",
      "version: 2\nmodels:\n  - name: env_model\n    description: 'env driven'\n"
      "    columns:\n      - name: a\n        data_tests: [not_null]\n")
# exposures (never parsed, always loaded): edited by edit_exposure
EXPO = ("version: 2\nexposures:\n  - name: kpis\n    type: dashboard\n    maturity: high\n"
        "    owner: {name: Ann}\n    depends_on:\n      - ref('stg_orders')\n      - ref('env_model')\n"
        "  - name: nb\n    type: notebook\n    owner: {email: a@b.c}\n    depends_on: [ref('stg_customers')]\n")
write("models/extra/_expo.yml", EXPO)
# an installed package (dbt_packages/cpkg): its macros, model, properties
# and dbt_project.yml (vars, config tree) are inputs like the root's
write("dbt_packages/cpkg/dbt_project.yml",
      "name: cpkg\nconfig-version: 2\nvars:\n  cv: 1\nmodels:\n  cpkg:\n    +materialized: table\n")
write("dbt_packages/cpkg/macros/cm.sql",
      "{% macro cm() %}{{ return(adapter.dispatch('cm', 'cpkg')()) }}{% endmacro %}\n"
      "{% macro default__cm() %}'c0'{% endmacro %}\n")
write("dbt_packages/cpkg/models/cmodel.sql",
      "{{ config(tags=['ct']) }}\nselect {{ cm() }} as c, {{ var('cv') }} as v\n")
write("dbt_packages/cpkg/models/_c.yml",
      "version: 2\nmodels:\n  - name: cmodel\n    columns:\n      - name: c\n        data_tests: [not_null]\n")
write("models/extra/uses_pkg.sql",
      "{{ config(materialized=var('umat', 'view')) }}\nselect {{ cpkg.cm() }} as k from {{ ref('cpkg', 'cmodel') }}\n")
added = []          # models added by the edits
env = dict(os.environ)
env.pop("CACHE_T_MAT", None)
cli_vars = None

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

def norm(text):
    m = re.search(r'"invocation_id":"([^"]*)"', text)
    if m:
        text = text.replace(m.group(1), "<invocation>")
    text = re.sub(r'"generated_at":"[^"]*"', '"generated_at":""', text)
    text = re.sub(r'"invocation_id":"[^"]*"', '"invocation_id":""', text)
    text = re.sub(r'"created_at":[0-9.e+-]+', '"created_at":0', text)
    # models' slot padding (json.h) follows the length of created_at
    text = re.sub(r'\} +(?=[],}])', '}', text)
    return text

def run(*args, extra=()):
    cmd = [CDBT, *args, "--project-dir", ".", "--profiles-dir", ".", "-q", *extra]
    if cli_vars is not None:
        cmd += ["--vars", cli_vars]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    man = read("target/manifest.json") if p.returncode == 0 and os.path.exists("target/manifest.json") else None
    return p.returncode, p.stderr, man

def check(what, cond, detail=""):
    global fails, checks
    checks += 1
    if not cond:
        fails += 1
        print("FAIL:", what, detail[:2000])

def compare(step, desc):
    if os.path.exists("target/manifest.json"):
        os.remove("target/manifest.json")
    global last_err
    rc1, err1, m1 = run("parse", extra=["--debug"])
    last_err = err1
    stats = re.findall(r"cdbt cache: (\d+) nodes restored, (\d+) parsed", err1)
    err1 = "\n".join(l for l in err1.splitlines() if not l.startswith("cdbt cache:"))
    rc2, err2, m2 = run("parse", extra=["--no-partial-parse"])
    err2 = "\n".join(err2.splitlines())
    check(f"step {step} ({desc}): exit code cached {rc1} vs cold {rc2}", rc1 == rc2, err1 + err2)
    if rc1 != 0 or rc2 != 0:
        check(f"step {step} ({desc}): same error", err1 == err2, f"\ncached: {err1}\ncold:   {err2}")
        return
    if norm(m1) != norm(m2):
        a, b = json.loads(norm(m1)), json.loads(norm(m2))
        diff = [k for k in set(a["nodes"]) | set(b["nodes"]) if a["nodes"].get(k) != b["nodes"].get(k)]
        check(f"step {step} ({desc}): manifest equal", False, f"nodes differing: {sorted(diff)[:5]}")
    else:
        check(f"step {step} ({desc}): manifest equal", True)
    # the volatile model always carries this run's invocation_id
    mj = json.loads(m1)
    v = mj["nodes"].get("model.jaffle.volatile")
    if v:
        check(f"step {step}: invocation_id not cached", v["meta"].get("inv") == mj["metadata"]["invocation_id"])
    return stats

def models():
    out = []
    for d, _, fs in os.walk("models"):
        out += [os.path.join(d, f) for f in fs if f.endswith(".sql")]
    return sorted(out)

def edit_model_body():
    f = rng.choice(models())
    write(f, read(f) + f"\n-- edit {rng.randrange(10**6)}\n")
    return f"body {f}"

def edit_env():
    v = rng.choice([None, "table", "view", "ephemeral", "incremental"])
    if v is None:
        env.pop("CACHE_T_MAT", None)
    else:
        env["CACHE_T_MAT"] = v
    return f"env CACHE_T_MAT={v}"

def edit_cli_vars():
    global cli_vars
    cli_vars = rng.choice([None, "{tagv: tv1}", "{tagv: tv2}", "{other: 1}"])
    return f"--vars {cli_vars}"

def edit_project_vars():
    t = read("dbt_project.yml")
    t = re.sub(r'start_date: "[^"]*"', f'start_date: "20{rng.randrange(10, 30)}-01-01"', t)
    if "tagv:" in t:
        t = re.sub(r"  tagv: \S+\n", "", t)
    else:
        t = t.replace("vars:\n", f"vars:\n  tagv: ptv{rng.randrange(5)}\n")
    write("dbt_project.yml", t)
    return "project vars"

def edit_project_config():
    t = read("dbt_project.yml")
    t = re.sub(r"(staging:\n      \+materialized: )\w+", lambda m: m.group(1) + rng.choice(["view", "table"]), t)
    write("dbt_project.yml", t)
    return "project config"

def edit_macro():
    write("macros/pick.sql", "{%% macro pick_mat() %%}{{ return('%s') }}{%% endmacro %%}\n"
          % rng.choice(["view", "table", "ephemeral"]))
    return "macro pick_mat"

def edit_nested_macro():
    t = read("macros/nest.sql")
    t = re.sub(r"return\('\w+'\)", "return('%s')" % rng.choice(["view", "table", "ephemeral"]), t)
    write("macros/nest.sql", t)
    return "macro nest_inner"

def edit_text_macro():
    t = read("macros/textm.sql")
    which = rng.choice(["tm", "tb", "both", "structure"])
    w = rng.choice(["alpha", "beta", "gamma"])
    if which in ("tm", "both"):
        t = re.sub(r"(macro tm\(\) %\})(.*?)(\{% endmacro)", lambda m: m.group(1) + w + m.group(3), t)
    if which in ("tb", "both"):
        t = re.sub(r"(\{% set x %\})(.*?)(\{% endset)", lambda m: m.group(1) + w + m.group(3), t)
    if which == "structure":
        t = t.replace("{% endmacro %}", "{{ '' }}{% endmacro %}", 1) if "{{ '' }}" not in t \
            else t.replace("{{ '' }}", "", 1)
    write("macros/textm.sql", t)
    return f"macro text ({which} {w})"

def edit_schema_macro():
    t = read("macros/generate_schema_name.sql")
    if "env_var" in t:
        t = t.replace("{{ env_var('CACHE_T_SFX', '') }}", "")
    else:
        t = t.replace("{{ target.schema }}_{{ custom_schema_name | trim }}",
                      "{{ target.schema }}_{{ custom_schema_name | trim }}{{ env_var('CACHE_T_SFX', '') }}")
    write("macros/generate_schema_name.sql", t)
    env["CACHE_T_SFX"] = rng.choice(["", "_x", "_y"])
    return "generate_schema_name"

def edit_properties():
    f = "models/extra/_extra.yml"
    t = read(f)
    choice = rng.randrange(3)
    if choice == 0:
        t = re.sub(r"description: '[^']*'", f"description: 'env driven {rng.randrange(100)}'", t)
    elif choice == 1:
        if "config:" in t:
            t = re.sub(r"    config:\n      tags: \[\w+\]\n", "", t)
        else:
            t = t.replace("    description:", f"    config:\n      tags: [yt{rng.randrange(3)}]\n    description:")
    else:
        t = t.replace("[not_null]", "[unique]") if "[not_null]" in t else t.replace("[unique]", "[not_null]")
    write(f, t)
    return "properties"

def edit_exposure():
    f = "models/extra/_expo.yml"
    t = read(f)
    choice = rng.randrange(6)
    if choice == 0:
        t = t.replace("type: dashboard", "type: application") if "type: dashboard" in t else t.replace("type: application", "type: dashboard")
    elif choice == 1:
        t = t.replace("ref('stg_customers')", "ref('stg_payments')") if "stg_customers" in t else t.replace("ref('stg_payments')", "ref('stg_customers')")
    elif choice == 2:
        t = t.replace("  - name: nb\n", "  - name: nb\n    config: {enabled: false}\n") if "enabled: false" not in t else t.replace("    config: {enabled: false}\n", "")
    elif choice == 3:
        t = re.sub(r"name: kpis\w*", f"name: kpis{rng.randrange(100)}", t)
    elif choice == 4:
        pending.append((f, t))
        t = t.replace("ref('stg_orders')", "ref('no_such_model')")
    else:
        pending.append((f, t))
        t = t.replace("type: notebook", "type: slideshow")
    write(f, t)
    return "exposure yml"

def edit_marts_yml():
    f = "models/marts/_marts.yml"
    t = read(f)
    t = t.replace("tier: platinum", "tier: silver") if "platinum" in t else t.replace("tier: silver", "tier: platinum")
    write(f, t)
    return "marts yml"

def add_model():
    name = f"added_{rng.randrange(10**5)}"
    deps = [os.path.basename(m)[:-4] for m in models() if "/extra/" not in m and "/added/" not in m]
    body = f"{{{{ config(materialized='{rng.choice(['view', 'table'])}') }}}}\nselect * from {{{{ ref('{rng.choice(deps)}') }}}}\n"
    path = f"models/added/{name}.sql"
    write(path, body)
    added.append(path)
    return f"add {path}"

def delete_model():
    if not added:
        return add_model()
    path = added.pop(rng.randrange(len(added)))
    os.remove(path)
    return f"delete {path}"

def rename_model():
    if not added:
        return add_model()
    i = rng.randrange(len(added))
    new = f"models/added/renamed_{rng.randrange(10**5)}.sql"
    os.rename(added[i], new)
    added[i] = new
    return f"rename -> {new}"

pending = []        # (path, text) to put back before the next edit

def break_and_fix():
    f = rng.choice(models())
    pending.append((f, read(f)))
    write(f, read(f) + "{% if true %}\n")
    return f"syntax error in {f}"

def missing_ref():
    f = rng.choice(models())
    pending.append((f, read(f)))
    write(f, read(f) + "{{ ref('no_such') }}\n")
    return f"missing ref in {f}"

def disable_model():
    f = rng.choice(models())
    pending.append((f, read(f)))
    write(f, "{{ config(enabled=false) }}\n" + read(f))
    return f"enabled=false in {f}"

def hook_toggle():
    f = "models/extra/macro_cfg.sql"
    t = read(f)
    if "post_hook" in t:
        t = re.sub(r"\{\{ config\(post_hook=.*\) \}\}\n", "", t)
    else:
        t = "{{ config(post_hook=\"select * from {{ ref('stg_customers') }}\", tags=['h']) }}\n" + t
    write(f, t)
    return "post_hook with a ref"

def edit_pkg_macro():
    pkg_present()
    t = read("dbt_packages/cpkg/macros/cm.sql")
    t = re.sub(r"default__cm\(\) %\}'c\d+'", lambda m: f"default__cm() %}}'c{rng.randrange(9)}'", t)
    write("dbt_packages/cpkg/macros/cm.sql", t)
    return "package macro text"

def toggle_root_override():
    f = "macros/cm_override.sql"
    if os.path.exists(f):
        os.remove(f)
        return "root dispatch override removed"
    write(f, "{% macro default__cm() %}'root'{% endmacro %}\n")
    return "root dispatch override added"

def edit_pkg_project():
    pkg_present()
    t = read("dbt_packages/cpkg/dbt_project.yml")
    if rng.randrange(2):
        t = re.sub(r"cv: \d+", f"cv: {rng.randrange(5)}", t)
    else:
        t = re.sub(r"\+materialized: \w+", "+materialized: " + rng.choice(["view", "table"]), t)
    write("dbt_packages/cpkg/dbt_project.yml", t)
    return "package dbt_project.yml"

def edit_root_pkg_config():
    t = read("dbt_project.yml")
    if "\n  cpkg:\n" in t:
        t = re.sub(r"\n  cpkg:\n    \+tags: \w+\n", "\n", t)
    else:
        t = t.replace("\nmodels:\n", f"\nmodels:\n  cpkg:\n    +tags: rt{rng.randrange(3)}\n", 1)
    write("dbt_project.yml", t)
    return "root config tree for the package"

def edit_pkg_model():
    pkg_present()
    f = "dbt_packages/cpkg/models/cmodel.sql"
    write(f, read(f) + f"-- edit {rng.randrange(10**6)}\n")
    return "package model body"

def edit_pkg_yml():
    pkg_present()
    f = "dbt_packages/cpkg/models/_c.yml"
    t = read(f)
    t = t.replace("[not_null]", "[unique]") if "[not_null]" in t else t.replace("[unique]", "[not_null]")
    write(f, t)
    return "package properties"

def toggle_pkg():
    if os.path.exists("dbt_packages/cpkg"):
        os.rename("dbt_packages/cpkg", "../cpkg_off")
        return "package removed"
    os.rename("../cpkg_off", "dbt_packages/cpkg")
    return "package added"

def pkg_present():
    if not os.path.exists("dbt_packages/cpkg"):
        toggle_pkg()

edits = [edit_pkg_macro, toggle_root_override, edit_pkg_project, edit_root_pkg_config, edit_pkg_model, edit_pkg_yml, toggle_pkg,
         disable_model, hook_toggle, edit_model_body, edit_model_body, edit_env, edit_cli_vars, edit_project_vars, edit_project_config,
         edit_macro, edit_nested_macro, edit_text_macro, edit_text_macro, edit_schema_macro, edit_properties, edit_exposure, edit_exposure, edit_marts_yml, add_model, delete_model, rename_model,
         break_and_fix, missing_ref]

compare(0, "initial")
stats = compare(0, "unchanged")
check("an unchanged project restores nodes from the cache",
      bool(stats) and int(stats[0][0]) > 0 and int(stats[0][1]) <= 1, str(stats))
# a macro's text edited: only the models that look at it are parsed again;
# a change between its tags re-parses every model that calls it
orig = read("macros/textm.sql")
write("macros/textm.sql", orig.replace("macro tm() %}alpha", "macro tm() %}beta"))
text_stats = compare(0, "macro text only")
write("macros/textm.sql", orig.replace("macro tm() %}alpha", "macro tm() %}gamma"))
compare(0, "macro text only, again")
write("macros/textm.sql", orig.replace("macro tm() %}alpha", "macro tm() %}{{ 'beta' }}"))
struct_stats = compare(0, "macro structure")
write("macros/textm.sql", orig)
compare(0, "macro back")
check("a macro's text edit re-parses only the models that look at its text",
      # (+2: cmodel and uses_pkg print what a dispatched macro returns)
      bool(text_stats) and bool(struct_stats) and int(text_stats[0][1]) <= 6
      and int(text_stats[0][1]) < int(struct_stats[0][1]), f"{text_stats} vs {struct_stats}")
# a change inside the tags of a macro one model runs through another:
# that model alone is parsed again, with the config the new macro gives
t = read("macros/nest.sql")
write("macros/nest.sql", t.replace("return('view')", "return('table')"))
nest_stats = compare(0, "nested macro")
check("a macro's tags edited: only the model that runs it is parsed again",
      # (+1: the volatile model is parsed every time)
      bool(nest_stats) and int(nest_stats[0][1]) == int(stats[0][1]) + 1, f"{nest_stats} vs {stats}")
check("... and it has the new config",
      json.loads(run("parse")[2])["nodes"]["model.jaffle.nested_cfg"]["config"]["materialized"] == "table")
write("macros/nest.sql", t)
compare(0, "nested macro back")
# a var one model reads (env_model: tagv) given another value with --vars,
# and one no model reads: that model alone, then none, parsed again
cli_vars = "{tagv: tv9}"
var_stats = compare(0, "a var one model reads")
check("a var changed: only the model that reads it is parsed again",
      bool(var_stats) and int(var_stats[0][1]) == int(stats[0][1]) + 1, f"{var_stats} vs {stats}")
check("... and --debug says why", "1: var tagv changed" in last_err, last_err[-500:])
cli_vars = "{tagv: tv9, nobody_reads: 1}"
var_stats = compare(0, "a var no model reads")
check("a var no model reads: nothing parsed again",
      bool(var_stats) and int(var_stats[0][1]) == int(stats[0][1]), f"{var_stats} vs {stats}")
cli_vars = None
compare(0, "vars back")
for step in range(1, STEPS + 1):
    while pending:
        write(*pending.pop())
    desc = rng.choice(edits)()
    compare(step, desc)

# compile: the same manifest and compiled files with and without the cache
def tree(root):
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            out[os.path.relpath(os.path.join(d, f), root)] = read(os.path.join(d, f))
    return out

while pending:
    write(*pending.pop())
pkg_present()
results = []
for extra in ([], ["--no-partial-parse"]):
    subprocess.run(["rm", "-rf", "target/compiled"])
    p = subprocess.run([CDBT, "compile", "--project-dir", ".", "--profiles-dir", ".", "-q", *extra],
                       env=env, capture_output=True, text=True)
    results.append((p.returncode, norm(read("target/manifest.json")) if p.returncode == 0 else p.stderr,
                    tree("target/compiled")))
check("compile: same exit code", results[0][0] == results[1][0], str((results[0][0], results[1][0])))
check("compile: same manifest", results[0][1] == results[1][1])
check("compile: same compiled files", results[0][2] == results[1][2])
check("compile: compiled something", len(results[0][2]) > 10, str(len(results[0][2])) + " " + str(results[0][1])[:400])

# ls agrees with and without the cache
for cmd in (["ls", "--output", "json"],):
    os.makedirs("target", exist_ok=True)
    a = subprocess.run([CDBT, *cmd, "--project-dir", ".", "--profiles-dir", ".", "-q"], env=env, capture_output=True, text=True)
    b = subprocess.run([CDBT, *cmd, "--project-dir", ".", "--profiles-dir", ".", "-q", "--no-partial-parse"], env=env, capture_output=True, text=True)
    check(f"{cmd[0]} agrees with --no-partial-parse",
          (a.returncode, UUID.sub("<uuid>", a.stdout)) == (b.returncode, UUID.sub("<uuid>", b.stdout)),
          a.stdout[:300] + a.stderr[:300] + "\n---\n" + b.stdout[:300] + b.stderr[:300])

# The whole-project snapshot under random edits: without the volatile model
# a run may reuse the previous identical run's outputs.  After each edit (and
# a pause past the racy margin) the first run must see the edit (the
# previous step's snapshot is stale), the second one reuses the first one's
# outputs; both must give exactly what a cold run (into another target
# directory, so the snapshot's outputs stay untouched) gives: for parse the
# manifest (or the same error), for compile the manifest (compiled paths
# named relative to the target directory) and the compiled files.
import time
os.remove("models/extra/volatile.sql")

def run_in(cmd, target, extra):
    argv = [CDBT, cmd, "--project-dir", ".", "--profiles-dir", ".", "-q", "--target-path", target, *extra]
    if cli_vars is not None:
        argv += ["--vars", cli_vars]
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        return p.returncode, p.stderr, None, None
    man = norm(read(f"{target}/manifest.json")).replace(f'"{target}/', '"T/')
    return 0, p.stderr, man, tree(f"{target}/compiled") if cmd == "compile" else None

deltas = [0]

def snapshot_phase(cmd, steps):
    reused = 0
    for step in range(1, steps + 1):
        while pending:
            write(*pending.pop())
        desc = rng.choice(edits)()
        while pending:
            write(*pending.pop())
        time.sleep(0.12)
        shutil.rmtree("tcold", ignore_errors=True)
        rc2, err2, m2, t2 = run_in(cmd, "tcold", ["--no-partial-parse"])
        err2 = "\n".join(err2.splitlines())
        for attempt in ("after the edit", "again"):
            rc1, err1, m1, t1 = run_in(cmd, "target", ["--debug"])
            if attempt == "again" and "outputs reused" in err1:
                reused += 1
            if "recompiled alone" in err1:
                deltas[0] += 1
            err1 = "\n".join(l for l in err1.splitlines() if not l.startswith("cdbt cache:"))
            what = f"{cmd} snapshot step {step} ({desc}, {attempt})"
            check(f"{what}: exit code {rc1} vs cold {rc2}", rc1 == rc2, err1 + err2)
            if rc1 == 0 and rc2 == 0:
                check(f"{what}: manifest equal", m1 == m2)
                if t2 is not None:
                    # target/ may also hold files of nodes deleted earlier (dbt leaves them too)
                    bad = [k for k in t2 if t1.get(k) != t2[k]]
                    check(f"{what}: compiled files equal", not bad, str(bad[:5]))
            elif rc1 == rc2 and cmd == "parse":
                check(f"{what}: same error", err1 == err2, f"\nsnapshot: {err1}\ncold:     {err2}")
    check(f"the {cmd} snapshot was reused under random edits", reused > 0, str(reused))
    print(f"{cmd}: {reused} reused, {deltas[0]} models-only recompiles (delta.c) in {steps} edits")

snapshot_phase("parse", max(10, STEPS // 3))
snapshot_phase("compile", max(5, STEPS // 6))

print(f"cache_differential: {checks - fails}/{checks} checks passed")
sys.exit(1 if fails else 0)
PYEOF
