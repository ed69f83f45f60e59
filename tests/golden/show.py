#!/usr/bin/python3
"""show.py GROUP - print each case of template/GROUP.golden as name -> expected (for review)."""
import sys


def records(path):
    data = open(path, "rb").read()
    i, cur, out = 0, None, []
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl].decode()
        i = nl + 1
        if line.startswith("#") or not line:
            continue
        if line.startswith("=== "):
            cur = {"name": line[4:]}
            out.append(cur)
            continue
        key, val = line.split(" ", 1)
        if key in ("mode", "file"):
            cur[key] = val
            continue
        n = int(val)
        cur[key] = data[i:i + n].decode()
        i += n + 1
    return out


for g in sys.argv[1:]:
    for r in records(f"{sys.path[0]}/template/{g}.golden"):
        if "error" in r:
            print(f"{r['name']}: ERROR\n{r['error']}   jinja2: {r['jinja2']}")
        else:
            print(f"{r['name']}: {r['output']!r}")
