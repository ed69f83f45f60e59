import re
def _j(r): return r["jinja"]
def _c(r): return r["cdbt"]
EXTRA = [
    ("MARKUP_REPR", lambda r: "Markup(" in _j(r)[1]),
    ("MISSING_STR_METHOD", lambda r: re.search(r"has no attribute '(removeprefix|removesuffix|istitle|expandtabs)'", _c(r)[1]) is not None),
    ("TRUNCATE_NONSTR", lambda r: "truncate" in r["tpl"] and "has no len()" in _j(r)[1]),
    ("FOLD_NATIVE", lambda r: r["mode"] == "native" and _j(r)[0] == _c(r)[0] == "OK" and (_j(r)[1].startswith("str:") != _c(r)[1].startswith("str:"))),
    ("COMPLEX_POW", lambda r: "j)" in _j(r)[1] and "nan" in _c(r)[1]),
    ("JINJA_INF_BUG", lambda r: "name 'inf' is not defined" in _j(r)[1]),
    ("NATIVE_LAZY_STR", lambda r: r["mode"] == "native" and "{{ loop }}" in r["tpl"]),
]
EXTRA += [
    ("GENERATOR", lambda r: any(k in _j(r)[1] for k in ["generator", "reverseiterator"])),
    ("PPRINT", lambda r: "pprint" in r["tpl"]),
    ("UNDEF_TO_NUM", lambda r: _j(r)[0] == "ERR" and "Undefined" in _j(r)[1] and _c(r)[0] == "OK"),
    ("FORMAT_SPEC_STR", lambda r: "Cannot specify" in _j(r)[1] or "Undefined.__format__" in _j(r)[1]),
    ("TEST_UNHASHABLE", lambda r: "unhashable" in _j(r)[1] and re.search(r"is (not )?(test|filter)", r["tpl"])),
    ("BYTES", lambda r: "b'" in _j(r)[1] or "bytes" in _j(r)[1] or "byte string" in _j(r)[1]),
    ("NEG_ZERO_ROUND", lambda r: _j(r)[1].replace("-0.0", "0.0") == _c(r)[1].replace("-0.0", "0.0")),
    ("UNICODE_CASE", lambda r: any(ch in r["tpl"] for ch in "ßﬁǅǄĳİΣσ") and _j(r)[0] == _c(r)[0] == "OK"),
    ("UNICODE_CASE", lambda r: any(ch in str(r) for ch in "ßﬁǅǄĳİΣσ") and _j(r)[0] == _c(r)[0] == "OK"),
]
EXTRA += [
    ("CRASH", lambda r: _c(r)[0] in ("CRASH", "HANG")),
    ("WORDWRAP_NONSTR", lambda r: "splitlines" in _j(r)[1]),
    ("FOR_CONDEXPR", lambda r: "got 'else'" in _j(r)[1]),
    ("URLENCODE", lambda r: "urlencode" in r["tpl"] and _j(r)[0] == "OK" and _c(r)[0] == "ERR"),
    ("ATTR_FILTER", lambda r: "attr(" in r["tpl"]),
    ("PCT_C", lambda r: "%c requires" in _c(r)[1]),
]
EXTRA += [
    ("WORDWRAP_LONG", lambda r: "wordwrap" in r["tpl"]),
    ("FALSY_SELECT_MAP", lambda r: _j(r)[0] == "OK" and "is not iterable" in _c(r)[1]),
    ("UNIQUE_GEN", lambda r: "unique" in r["tpl"] and _c(r)[1].count("'") > 4 and "[" in _c(r)[1]),
]
