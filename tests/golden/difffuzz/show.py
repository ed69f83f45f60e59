#!/usr/bin/python3
"""show.py [--all] [--bucket NAME] files... : bucket mismatches by known root cause; print unknown ones."""
import json, sys, collections

def bucket(r):
    j, c, t = r["jinja"], r["cdbt"], r["tpl"]
    if "integer literal too large" in c[1] or "integer overflow" in c[1]:
        return "BIGINT"
    if "at 0x" in j[1]:
        return "ADDR"
    if "range(" in j[1] or "'range'" in j[1] or '"range"' in j[1]:
        return "RANGE"
    if r["mode"] == "native" and j[0] == "ERR" and "sequence item" in j[1]:
        return "NATIVE_CONCAT"
    if "OverflowError" in j[1]:
        return "FLOAT_OVERFLOW"
    if "urlencode" in t and "is not iterable" in c[1]:
        return "URLENCODE_INT"
    if r["mode"] == "native" and "setdefault" in t and j[0] == c[0] == "OK":
        return "NATIVE_LAZY_STR"
    for k in EXTRA:
        if k[1](r):
            return k[0]
    return None

EXTRA = []
try:
    from buckets import EXTRA  # noqa
except ImportError:
    pass

args = sys.argv[1:]
show_all = "--all" in args
want = None
if "--bucket" in args:
    want = args[args.index("--bucket") + 1]
files = [a for a in args if a.endswith(".jsonl")]
cnt = collections.Counter()
for fn in files:
    for line in open(fn):
        r = json.loads(line)
        b = bucket(r)
        cnt[b] += 1
        if (want and b == want) or (not want and (b is None or show_all)):
            print(f"--- {r['seed']}/{r['i']} [{r['mode']}] {b} {r['tpl']!r}")
            print(f"  J {r['jinja'][0]}: {r['jinja'][1][:300]!r}")
            cc = r['cdbt'][1].splitlines()[0] if r['cdbt'][0] == 'ERR' and r['cdbt'][1] else r['cdbt'][1][:300]
            print(f"  C {r['cdbt'][0]}: {cc!r}")
print(dict(cnt), file=sys.stderr)
