#!/usr/bin/python3
"""gen_project.py - write a deterministic synthetic dbt project for compile benchmarks.

The project is a layered DAG: layer 0 models select from a declared source,
every later model ref()s 1-3 models of earlier layers (mostly the layer just
before).  Every model has a config() call, a {% set %} list walked by a
{% for %} loop, a macro call and an {% if is_incremental() %} block; every
layer has a properties file giving each model a description and `unique` +
`not_null` tests on `id`.  The same --models/--seed/--layers always produce
byte-identical files (own PRNG, no dependence on Python's `random`).

Usage: gen_project.py --models N --out DIR [--seed S] [--layers L]
Standard library only.
"""

import argparse
import json
import os
import shutil
import sys

MASK64 = (1 << 64) - 1


class SplitMix64:
    """Tiny deterministic PRNG (stable across Python versions)."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def choice(self, seq):
        return seq[self.below(len(seq))]


COLUMNS = ["amount_cents", "quantity", "status", "channel", "country_code", "updated_at"]
MATERIALIZATIONS = ["incremental", "table", "view"]
SOURCE_TABLES_MAX = 50


def model_name(i):
    return "model_%05d" % i


def layer_dir(l):
    return "layer_%02d" % l


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def plan_layers(n, layers):
    """Split model indices 1..n over the layers as evenly as possible."""
    out = []
    start = 1
    for l in range(layers):
        size = n // layers + (1 if l < n % layers else 0)
        out.append(list(range(start, start + size)))
        start += size
    return [l for l in out if l]


def pick_parents(rng, layer_models, l):
    """1-3 distinct parents from earlier layers; the first from layer l-1."""
    want = 1 + rng.below(3)
    parents = [rng.choice(layer_models[l - 1])]
    earlier = [m for ll in range(l) for m in layer_models[ll]] if want > 1 else []
    tries = 0
    while len(parents) < want and tries < 10:
        tries += 1
        p = rng.choice(earlier) if earlier else parents[0]
        if p not in parents:
            parents.append(p)
    return parents


def config_call(rng, mat):
    if mat == "incremental":
        return "{{ config(materialized='incremental', unique_key='id', on_schema_change='append_new_columns') }}"
    if mat == "table":
        return "{{ config(materialized='table', tags=['daily']) }}"
    return "{{ config(materialized='view') }}"


def pick_cols(rng):
    k = 2 + rng.below(3)
    start = rng.below(len(COLUMNS))
    return [COLUMNS[(start + j) % len(COLUMNS)] for j in range(k)]


def model_sql(rng, i, l, layer_models, n_sources):
    mat = rng.choice(MATERIALIZATIONS)
    cols = pick_cols(rng)
    cols_lit = ", ".join("'%s'" % c for c in cols)
    out = [config_call(rng, mat), "", "{%% set cols = [%s] %%}" % cols_lit, ""]
    if l == 0:
        table = "events_%03d" % ((i - 1) % n_sources)
        out += [
            "with source_rows as (",
            "",
            "    select * from {{ source('raw', '%s') }}" % table,
            "",
            "),",
            "",
            "renamed as (",
            "",
            "    select",
            "        id,",
            "        {% for c in cols %}",
            "        {{ c }}{% if not loop.last %},{% endif %}",
            "        {% endfor %},",
            "        {{ cents_to_dollars('amount_cents') }} as amount,",
            "        {{ audit_columns() }}",
            "    from source_rows",
            "",
            ")",
            "",
            "select * from renamed",
        ]
    else:
        parents = pick_parents(rng, layer_models, l)
        for k, p in enumerate(parents):
            out += [
                ("with up_%d as (" if k == 0 else "up_%d as (") % k,
                "",
                "    select * from {{ ref('%s') }}" % model_name(p),
                "",
                "),",
                "",
            ]
        out += [
            "joined as (",
            "",
            "    select",
            "        up_0.id,",
            "        {% for c in cols %}",
            "        up_0.{{ c }}{% if not loop.last %},{% endif %}",
            "        {% endfor %},",
            "        {{ cents_to_dollars('up_0.amount_cents') }} as amount,",
        ]
        for k in range(1, len(parents)):
            out.append("        up_%d.quantity as quantity_%d," % (k, k))
        out += ["        {{ audit_columns() }}", "    from up_0"]
        for k in range(1, len(parents)):
            out.append("    left join up_%d on up_%d.id = up_0.id" % (k, k))
        out += ["", ")", "", "select * from joined"]
    out += [
        "",
        "{% if is_incremental() %}",
        "where id > (select coalesce(max(id), 0) from {{ this }})",
        "{% endif %}",
        "",
    ]
    return "\n".join(out), mat


def schema_yml(models, l):
    out = ["version: 2", "", "models:"]
    for i in models:
        out += [
            "  - name: %s" % model_name(i),
            '    description: "Synthetic model %d of layer %d."' % (i, l),
            "    columns:",
            "      - name: id",
            '        description: "Primary key."',
            "        data_tests:",
            "          - unique",
            "          - not_null",
            "      - name: amount",
            '        description: "Amount in dollars."',
        ]
    out.append("")
    return "\n".join(out)


def sources_yml(n_sources):
    out = ["version: 2", "", "sources:", "  - name: raw", "    schema: raw",
           '    description: "Landing tables loaded by the ingestion job."', "    tables:"]
    for t in range(n_sources):
        out += ["      - name: events_%03d" % t]
    out.append("")
    return "\n".join(out)


def project_yml(n_layers):
    out = [
        "name: bench",
        "version: '1.0.0'",
        "config-version: 2",
        "profile: bench",
        "",
        "model-paths: ['models']",
        "macro-paths: ['macros']",
        "target-path: target",
        "clean-targets: ['target']",
        "",
        "models:",
        "  bench:",
        "    +materialized: view",
    ]
    for l in range(n_layers):
        out += [
            "    %s:" % layer_dir(l),
            "      +tags: ['%s']" % layer_dir(l),
            "      +schema: %s" % ("staging" if l == 0 else "marts"),
        ]
    out.append("")
    return "\n".join(out)


PROFILES_YML = """bench:
  target: dev
  outputs:
    dev:
      type: postgres
      host: localhost
      port: 5432
      user: bench
      password: bench
      dbname: bench
      schema: bench
      threads: 4
"""

MACROS = {
    "cents_to_dollars.sql": """{% macro cents_to_dollars(column_name, scale=2) -%}
    ({{ column_name }} / 100)::numeric(16, {{ scale }})
{%- endmacro %}
""",
    "audit_columns.sql": """{% macro audit_columns(prefix='_') -%}
    {%- set cols = ['loaded_at', 'batch'] -%}
    {%- for c in cols -%}
    {%- if c == 'loaded_at' -%}
    now() as {{ prefix }}{{ c }}
    {%- else -%}
    0 as {{ prefix }}{{ c }}
    {%- endif -%}
    {%- if not loop.last %}, {% endif -%}
    {%- endfor -%}
{%- endmacro %}
""",
}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--layers", type=int, default=0,
                    help="number of DAG layers (default: scales with --models, 2..10)")
    a = ap.parse_args(argv)
    if a.models < 1:
        ap.error("--models must be >= 1")
    n_layers = a.layers or max(2, min(10, a.models // 100))
    n_layers = max(1, min(n_layers, a.models))

    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)

    rng = SplitMix64(a.seed)
    layer_models = plan_layers(a.models, n_layers)
    n_layers = len(layer_models)
    n_sources = min(SOURCE_TABLES_MAX, len(layer_models[0]))
    mats = {m: 0 for m in MATERIALIZATIONS}
    for l, models in enumerate(layer_models):
        d = os.path.join(a.out, "models", layer_dir(l))
        for i in models:
            sql, mat = model_sql(rng, i, l, layer_models, n_sources)
            mats[mat] += 1
            write(os.path.join(d, model_name(i) + ".sql"), sql)
        write(os.path.join(d, "_schema.yml"), schema_yml(models, l))
    write(os.path.join(a.out, "models", layer_dir(0), "_sources.yml"), sources_yml(n_sources))
    for name, text in MACROS.items():
        write(os.path.join(a.out, "macros", name), text)
    write(os.path.join(a.out, "dbt_project.yml"), project_yml(n_layers))
    write(os.path.join(a.out, "profiles.yml"), PROFILES_YML)
    info = {"models": a.models, "tests": 2 * a.models, "sources": n_sources,
            "layers": n_layers, "seed": a.seed, "materializations": mats}
    write(os.path.join(a.out, "bench_info.json"), json.dumps(info, indent=2) + "\n")
    print("generated %d models, %d tests, %d layers in %s" % (a.models, 2 * a.models, n_layers, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
