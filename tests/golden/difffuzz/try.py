#!/usr/bin/python3
"""try.py [--native] 'tpl' ... : render each template with Jinja2 (dbt setup) and cdbt."""
import sys
from fuzz import Harness, jinja, CONTEXT
h = Harness()
mode = "text"
for t in sys.argv[1:]:
    if t == "--native":
        mode = "native"; continue
    j = jinja(mode, t, CONTEXT); c = h.run(mode, t, CONTEXT)
    mark = "SAME" if (j[0] == c[0] == "ERR") or j == c else "DIFF"
    print(f"{mark} [{mode}] {t}\n  J {j[0]}: {j[1][:400]!r}\n  C {c[0]}: {c[1][:400].splitlines()[0] if c[0]=='ERR' else c[1][:400]!r}")
