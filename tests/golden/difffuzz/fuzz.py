#!/usr/bin/python3
"""Differential fuzzer: cdbt template engine (via ./harness) vs Jinja2 configured
as dbt does (environment from tests/golden/gen.py).
The harness is the build's tests/golden_harness: $CDBT_HARNESS, else
build/tests/golden_harness under the repository root.

Usage: /usr/bin/python3 fuzz.py [--seed S] [--n N] [--show] [--one I]
  Case i uses random.Random(seed * 1000003 + i), so `--one i` reproduces it.
Writes mismatches to out/mismatch_<seed>.jsonl and prints a summary."""

import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import gen  # noqa: E402

HARNESS = os.environ.get("CDBT_HARNESS") or os.path.join(HERE, "..", "..", "..", "build", "tests", "golden_harness")

CONTEXT = {
    "n": 7, "z": 0, "neg": -3, "big": 12345678901234, "f": 2.5, "nf": -0.75,
    "s": "Hello World", "e": "", "u": "héllo wörld ß", "q": "it's \"q\"",
    "l": [3, 1, 2], "ls": ["b", "A", "c", "a"], "lm": [1, "x", None, 2.5, True],
    "d": {"b": 2, "a": 1, "c": None}, "nul": None, "t": True, "fa": False,
    "people": [{"name": "bob", "age": 30, "dept": "x"},
               {"name": "Alice", "age": 25, "dept": "y"},
               {"name": "carl", "age": 30, "dept": "x", "extra": None}],
    "nested": [[1, 2], [3], []],
}


BIGINTS = ["9223372036854775807", "-9223372036854775808", "9223372036854775808", "100000000000000000000"]

# ---------------------------------------------------------------- generator
class G:
    def __init__(self, rng):
        self.r = rng
        self.depth = 0

    def ch(self, xs):
        x = self.r.choice(xs)
        return x.replace("`", '"') if isinstance(x, str) else x

    def p(self, prob):
        return self.r.random() < prob

    # -- literals
    def int_lit(self):
        return self.ch(["0", "1", "2", "3", "7", "10", "-1", "-7", "42", "100", "255",
                        "1000000", "-0", "5", "13"] + (BIGINTS if self.p(0.05) else []))

    def float_lit(self):
        return self.ch(["0.1", "0.2", "1.5", "2.5", "-2.5", "0.5", "3.0", "1e20", "1e16", "1e15",
                        "1e-7", "1e-5", "0.0001", "123456789.123", "0.0", "-0.0", "1.0e3", "2.675",
                        "1e300", "1.7976931348623157e308", "3.14159", "100.0", "1e22", "1e21",
                        "0.30000000000000004", "-1.5", "12.345", "1E5", "5e-324", ".5"
                        if False else "0.125"])

    def str_lit(self):
        raw = self.ch([
            "abc", "Hello World", "it's", 'say "hi"', "héllo", "ß", "ǅungla", "  padded  ",
            "a,b,,c", "", "x\\ny", "tab\\there", "back\\\\slash", "ÀÉÎ", "日本語", "😀 smile",
            "hello world foo", "CamelCase", "snake_case_name", "123", "-12", "3.5", "1e3",
            "a-b c_d", "o'neil's", "i\u0307", "ﬁne", "x%sy", "{0}-{1}", "{}", "%d items",
            "  ", "\\t x \\n", "ABC def", "don't stop", "a.b.c", "MiXeD", "Ǆ", "ĳssel", "²", "½",
            "\\u00e9", "\\x41", "\\'", "true", "None", "null", "ΣΑΣ", "σς", "İstanbul",
        ])
        q = self.ch(["'", '"'])
        if q == "'":
            raw = raw.replace("'", "\\'") if "\\'" not in raw else raw
        else:
            raw = raw.replace('"', '\\"')
        return q + raw + q

    def scalar_lit(self):
        k = self.r.randrange(6)
        return [self.int_lit, self.float_lit, self.str_lit, self.str_lit,
                lambda: self.ch(["none", "None", "true", "True", "false", "False"]),
                self.int_lit][k]()

    def var(self, kind=None):
        by = {
            "int": ["n", "z", "neg", "big"], "float": ["f", "nf"],
            "str": ["s", "e", "u", "q"], "list": ["l", "ls", "lm", "people", "nested"],
            "dict": ["d"], "none": ["nul"], "bool": ["t", "fa"],
        }
        if kind is None:
            kind = self.ch(list(by))
        return self.ch(by[kind])

    # -- typed expressions
    def num(self):
        self.depth += 1
        try:
            if self.depth > 3:
                return self.ch([self.int_lit, self.float_lit, lambda: self.var("int"),
                                lambda: self.var("float")])()
            k = self.r.randrange(18)
            if k < 3:
                return self.int_lit()
            if k < 5:
                return self.float_lit()
            if k < 7:
                return self.var(self.ch(["int", "float"]))
            if k < 11:
                op = self.ch(["+", "-", "*", "/", "//", "%", "**", "+", "-", "*"])
                a, b = self.num(), self.num()
                if op == "**":
                    b = self.ch(["2", "3", "0", "-1", "0.5", "-2", "10", "63", "64"])
                return f"({a} {op} {b})"
            if k == 11:
                return f"-{self.num()}"
            if k == 12:
                return f"({self.num()} | {self.ch(['abs', 'int', 'float', 'round', 'string | float', 'string | int'])})"
            if k == 13:
                return (f"({self.num()} | round({self.ch(['0', '1', '2', '-1', '3'])}"
                        f"{self.ch(['', ', `floor`', ', `ceil`', ', `common`'])}))")
            if k == 14:
                return f"({self.any()} | length)" if self.p(0.3) else f"({self.lst()} | length)"
            if k == 15:
                return f"({self.lst_num()} | {self.ch(['sum', 'min', 'max', 'sum(start=10)', 'first', 'last'])})"
            if k == 16:
                return f"({self.str_e()} | {self.ch(['int', 'float', 'int(-1)', 'float(0.5)', 'int(base=16)', 'int(0, 2)', 'wordcount', 'length'])})"
            return f"({self.str_e()}.{self.ch(['find', 'count', 'rfind'])}({self.str_lit()}))"
        finally:
            self.depth -= 1

    def lst_num(self):
        return self.ch([
            "[1, 2, 3]", "[3.5, -1, 2]", "l", "[]", "[0.1, 0.2, 0.3]", "range(5)", "range(10, 0, -3)",
            "[1e20, 1, -1e20]", "[True, 2]", "(4, 5)", f"[{self.num()}, {self.num()}]",
            "[-0.0, 0]", "[2, 2.0, 1]",
        ])

    def str_e(self):
        self.depth += 1
        try:
            if self.depth > 3:
                return self.ch([self.str_lit, lambda: self.var("str")])()
            k = self.r.randrange(16)
            if k < 3:
                return self.str_lit()
            if k < 5:
                return self.var("str")
            if k == 5:
                return f"({self.str_e()} ~ {self.any()})"
            if k == 6:
                return f"({self.str_e()} | {self.str_filter()})"
            if k == 7:
                return f"{self.str_e()}.{self.str_method()}"
            if k == 8:
                return f"({self.str_e()} * {self.ch(['0', '2', '3', '-1', 'True'])})"
            if k == 9:
                return f"{self.str_e()}{self.slice_()}"
            if k == 10:
                return f"({self.any()} | {self.ch(['string', 'tojson', 'pprint', 'lower', 'upper', 'title', 'capitalize', 'trim', 'e', 'urlencode', 'striptags', 'filesizeformat'])})"
            if k == 11:
                fmt = self.ch(["'%s'", "'%d'", "'%5.2f'", "'%r'", "'%s-%s'", "'%x'", "'%05d'",
                               "'%-5s|'", "'%.3s'", "'%e'", "'%g'", "'%%'", "'%c'", "'%i'", "'%+d'",
                               "'%o'", "'%.2g'", "'%10.4f'", "'%X'", "'%(a)s'"])
                if fmt.count("%s") == 2:
                    arg = f"({self.any()}, {self.any()})"
                elif "(a)" in fmt:
                    arg = "{'a': " + self.any() + "}"
                else:
                    arg = self.ch([self.num(), self.any(), f"({self.any()},)"])
                return f"({fmt} % {arg})" if self.p(0.6) else f"({fmt} | format({arg}))"
            if k == 12:
                fmt = self.ch(["'{}'", "'{0}'", "'{:>8}'", "'{:.2f}'", "'{!r}'", "'{:05d}'",
                               "'{:,}'", "'{:^9}'", "'{:x}'", "'{0} {0}'", "'{:e}'", "'{:%}'",
                               "'{:g}'", "'{:<4}|'", "'{:*^7}'", "'{:+}'", "'{:b}'", "'{!s}'", "'{:.3}'",
                               "'{:_}'", "'{:#x}'", "'{a}'", "'{0[0]}'"])
                if "{a}" in fmt:
                    return f"{fmt}.format(a={self.any()})"
                return f"{fmt}.format({self.any()})"
            if k == 13:
                return f"({self.lst()} | join({self.ch(['', repr(', '), repr('-'), '1'])}))"
            if k == 14:
                return f"({self.ch([repr(','), repr(' '), repr('')])}.join({self.lst_str()}))"
            return f"({self.cond()} and {self.str_e()} or {self.str_e()})"
        finally:
            self.depth -= 1

    def lst_str(self):
        return self.ch(["ls", "['a', 'b']", "s.split()", "['x']", "[]", "('p', 'q')",
                        "s", "d", "d.keys()", "u.split(' ')"])

    def str_filter(self):
        return self.ch([
            "lower", "upper", "title", "capitalize", "trim", "trim('x')", "trim(' H')",
            "replace('l', 'L')", "replace('', '-')", "replace('o', '0', 1)", "reverse", "length",
            "center(15)", "center(4)", "indent(2)", "indent(2, true)", "indent(4, first=true, blank=true)",
            "truncate(5)", "truncate(9, true)", "truncate(3, false, '..', 0)", "truncate(8, killwords=true, leeway=0)",
            "wordcount", "string", "list", "first", "last", "sort", "unique", "unique(case_sensitive=true)",
            "default('dflt')", "default('dflt', true)", "d('x', boolean=true)", "tojson", "wordwrap(5)",
            "striptags", "urlencode", "e", "count", "int", "float", "join('|')", "batch(2) | list",
            "slice(2) | list", "map('upper') | list", "select | list", "min", "max", "sort(reverse=true) | join",
            "sort(case_sensitive=true) | join",
        ])

    def str_method(self):
        return self.ch([
            "split()", "split(',')", "split(' ', 1)", "rsplit(' ', 1)", "rsplit()", "split('l')",
            "split(maxsplit=1)", "rsplit(None, 1)", "split('')", "strip()", "strip('H d')",
            "lstrip()", "rstrip('d')", "lstrip('eH')", "startswith('He')", "endswith(('d', 'x'))",
            "startswith('')", "replace('o', '0')", "replace('l', '', 2)", "upper()", "lower()",
            "title()", "capitalize()", "swapcase()", "casefold()", "find('o')", "find('o', 5)",
            "rfind('o')", "count('l')", "count('')", "index('l')", "zfill(8)", "zfill(2)",
            "ljust(12, '*')", "rjust(10)", "center(11, '-')", "partition(' ')", "rpartition('o')",
            "partition('zz')", "isdigit()", "isalpha()", "isalnum()", "isspace()", "islower()",
            "isupper()", "isnumeric()", "isdecimal()", "splitlines()", "splitlines(true)",
            "format()", "join('ab')", "encode()", "expandtabs()", "istitle()", "removeprefix('He')",
            "removesuffix('ld')", "strip(None)", "split(None)", "startswith('l', 2)", "endswith('l', 0, 4)",
            "count('l', 3)", "index('zz')", "__len__()", "upper", "title()[::-1]",
        ])

    def slice_(self):
        def b():
            return self.ch(["", "0", "1", "2", "-1", "-2", "10", "-10", "3", "None"])
        k = self.r.randrange(4)
        if k == 0:
            return f"[{self.ch(['0', '1', '-1', '5', '-5', '2'])}]"
        if k == 1:
            return f"[{b()}:{b()}]"
        return f"[{b()}:{b()}:{self.ch(['1', '-1', '2', '-2', '3', '', '0', 'None'])}]"

    def lst(self):
        self.depth += 1
        try:
            if self.depth > 3:
                return self.ch(["l", "ls", "[1, 2]", "[]", "['a', 'b', 'a']", "people"])
            k = self.r.randrange(16)
            if k < 2:
                n = self.r.randrange(0, 4)
                return "[" + ", ".join(self.any() for _ in range(n)) + "]"
            if k == 2:
                n = self.r.randrange(0, 3)
                return "(" + ", ".join(self.any() for _ in range(n)) + ("," if n == 1 else "") + ")"
            if k < 5:
                return self.var("list")
            if k == 5:
                return f"{self.lst()}{self.slice_() if self.p(0.7) else '[1:]'}"
            if k == 6:
                return f"({self.lst()} + {self.lst()})"
            if k == 7:
                return f"({self.lst()} | {self.lst_filter()})"
            if k == 8:
                return f"range({self.ch(['3', '0', '-2', '1, 10, 3', '5, 0, -1', '10, 0, -3', '2, 2'])})"
            if k == 9:
                return f"{self.str_e()}.{self.ch(['split()', 'split(`l`)', 'rsplit(` `, 1)', 'partition(` `)', 'splitlines()'])}"
            if k == 10:
                return f"({self.dct()} | {self.ch(['dictsort', 'dictsort(true)', 'dictsort(by=`value`)', 'dictsort(reverse=true)', 'items | list', 'list', 'sort', 'map(`upper`) | list'])})"
            if k == 11:
                return f"({self.dct()}.{self.ch(['items()', 'keys()', 'values()'])} | list)"
            if k == 12:
                return f"(people | {self.ch(['map(attribute=`name`)', 'map(attribute=`extra`, default=0)', 'selectattr(`age`, `gt`, 26)', 'rejectattr(`dept`, `eq`, `x`)', 'selectattr(`extra`)', 'sort(attribute=`age`)', 'sort(attribute=`age,name`)', 'sort(attribute=`name`, case_sensitive=true)', 'groupby(`age`)', 'groupby(`dept`)', 'unique(attribute=`age`)', 'map(attribute=`name`) | map(`upper`)', 'sum(attribute=`age`)', 'min(attribute=`age`)', 'max(attribute=`name`)', 'map(attribute=`missing`)', 'selectattr(`name`, `in`, [`bob`])', 'groupby(`dept`) | map(attribute=`grouper`)', 'groupby(`age`) | map(`list`)'])} | list)"
            if k == 13:
                return f"({self.lst()} * {self.ch(['2', '0'])})"
            if k == 14:
                return f"[{self.ch(['x', 'x * 2'])} for x in l]"  # not jinja: error both
            return f"({self.lst_num()} | {self.ch(['select(`odd`)', 'reject(`even`)', 'select(`gt`, 1)', 'select(`divisibleby`, 2)', 'map(`abs`)', 'map(`round`, 1)', 'map(`string`)', 'select', 'reject', 'map(`float`)', 'select(`lessthan`, 2)', 'select(`in`, [1, 2])', 'select(`number`)', 'map(`int`)', 'batch(2, `x`)', 'slice(2, 0)'])} | list)"
        finally:
            self.depth -= 1

    def lst_filter(self):
        return self.ch([
            "sort", "sort(reverse=true)", "sort(case_sensitive=true)", "unique", "reverse | list", "list",
            "length", "first", "last", "join", "join(', ')", "batch(2) | list", "batch(3, 0) | list",
            "slice(2) | list", "slice(3, 'f') | list", "map('string') | list", "map('lower') | list",
            "select | list", "reject | list", "select('string') | list", "reject('none') | list",
            "select('defined') | list", "sum", "min", "max", "min(case_sensitive=true)", "tojson", "string", "pprint",
            "default([9])", "unique | list", "map('length') | list", "select('sequence') | list",
            "select('mapping') | list", "select('number') | list", "select('integer') | list",
            "select('float') | list", "select('boolean') | list", "select('true') | list",
            "select('false') | list", "select('iterable') | list", "select('callable') | list",
            "map('tojson') | list", "map('trim') | list", "map('default', 'D') | list", "items",
        ])

    def dct(self):
        self.depth += 1
        try:
            if self.depth > 3:
                return self.ch(["d", "{}", "{'x': 1}"])
            k = self.r.randrange(6)
            if k < 2:
                return "d"
            if k < 4:
                n = self.r.randrange(0, 4)
                keys = self.r.sample(["'a'", "'b'", "'Z'", "1", "'k'", "2.5", "none", "true", "(1, 2)", "'é'", "'B'"], n)
                return "{" + ", ".join(f"{kk}: {self.any()}" for kk in keys) + "}"
            if k == 4:
                return f"dict({self.ch(['a=1, b=2', '', 'x=none', 'b=[1], a=`s`', 'd', 'd, z=1'])})"
            return "{'b': 1, 'a': 2, 'B': 0, 'A': 3}"
        finally:
            self.depth -= 1

    def cond(self):
        self.depth += 1
        try:
            if self.depth > 3:
                return self.ch(["true", "false", "t", "fa", "n > 3"])
            k = self.r.randrange(10)
            if k < 3:
                op = self.ch(["==", "!=", "<", ">", "<=", ">="])
                if self.p(0.5):
                    return f"({self.num()} {op} {self.num()})"
                return f"({self.any()} {op} {self.any()})"
            if k == 3:
                return f"({self.any()} {self.ch(['in', 'not in'])} {self.ch([self.lst(), self.str_e(), self.dct()])})"
            if k == 4:
                return f"({self.any()} is {self.test()})"
            if k == 5:
                return f"({self.any()} is not {self.test()})"
            if k == 6:
                return f"({self.cond()} {self.ch(['and', 'or'])} {self.cond()})"
            if k == 7:
                return f"(not {self.any()})"
            if k == 8:
                return f"({self.num()} < {self.num()} < {self.num()})"
            return f"({self.any()} {self.ch(['and', 'or'])} {self.any()})"
        finally:
            self.depth -= 1

    def test(self):
        return self.ch([
            "defined", "undefined", "none", "string", "number", "integer", "float", "boolean",
            "mapping", "sequence", "iterable", "callable", "odd", "even", "divisibleby 3",
            "divisibleby(2)", "in [1, 'a', none]", "in 'abc'", "sameas none", "sameas true", "sameas 1",
            "eq 1", "ne 'a'", "lt 3", "gt 2.5", "le 0", "ge -1", "lessthan 10", "greaterthan 0",
            "equalto 7", "true", "false", "lower", "upper", "escaped", "filter", "test",
            "==(2)", "in d", "divisibleby 0", "divisibleby 2.5",
        ])

    def any(self):
        if self.depth > 4:
            return self.scalar_lit()
        k = self.r.randrange(14)
        if k < 3:
            return self.scalar_lit()
        if k < 5:
            return self.var()
        if k < 7:
            return self.num()
        if k < 9:
            return self.str_e()
        if k == 9:
            return self.lst()
        if k == 10:
            return self.dct()
        if k == 11:
            return self.cond()
        if k == 12:
            return f"({self.any()} if {self.cond()}{' else ' + self.any() if self.p(0.7) else ''})"
        return self.ch([
            f"{self.dct()}.get({self.ch(['`a`', '`zz`', '1', 'none'])}{self.ch(['', ', 0', ', `dflt`'])})",
            f"{self.dct()}[{self.ch(['`a`', '`b`', '`zz`', '1', 'none'])}]",
            f"{self.dct()}.{self.ch(['a', 'b', 'zz', 'items', 'keys'])}",
            f"{self.lst()}.{self.ch(['index(1)', 'count(1)', 'count(`a`)', 'index(`b`)'])}",
            f"({self.lst()} | {self.lst_filter()})",
            f"({self.var()} | default({self.any()}))",
            f"(undefined_var | default({self.any()}))",
            f"(nul | default({self.any()}, true))",
            f"(undefined_var ~ {self.str_e()})",
            f"{self.var('list')}[{self.num()}]",
            f"(e or {self.any()})",
            f"({self.any()} ~ {self.any()})",
            f"namespace(a={self.any()}).a",
            f"({self.dct()} | {self.ch(['items | list', 'dictsort', 'length', 'list', 'tojson', 'string', 'first', 'sort', 'sum', 'max', 'unique | list', 'join(`,`)'])})",
        ])

    # -- filter-argument fuzz over a pool of values
    POOL = ["'0x1A'", "'1_000'", "' 12 '", "'1e3'", "'nan'", "'inf'", "'-inf'", "'1_0.5'", "'0b101'", "'0o17'",
            "'3.99'", "'-3.99'", "'  -7  '", "'+5'", "'١٢'", "'12abc'", "''", "'a\\nb\\n\\nc'", "'line1\\r\\nline2'",
            "'\\n lead'", "'trail \\n'", "'a b  c\\td'", "'word ' * 12", "'x' * 30", "'Hello, World! foo-bar baz_qux'",
            "'<b>bold</b> &amp; <i>it</i>'", "'a&b<c>\"d\"'", "'ünïcödé ẞtraße'", "'123'", "'007'", "'1.5e2'",
            "3.7", "-3.5", "2.5", "0.5", "1.5", "-0.5", "2.675", "1234.5678", "7", "-7", "0", "True", "None", "1e100",
            "[3, 1, 2]", "['b', 'B', 'a', 'A']", "[1, 'a']", "[[1, 2], [3]]", "{'b': 1, 'A': 2, 'a': 3}", "[]", "{}", "'ab'",
            "[1.5, 2, True]", "['x', none, '']", "(1, 2, 3, 4, 5)", "range(7)", "'a' ~ none", "undefined_var"]
    FARGS = {
        "int": ["", "(5)", "(0, 16)", "(base=2)", "(0, 8)", "(-1, 0)", "(base=36)"],
        "float": ["", "(1.5)", "(default=-1)"],
        "round": ["", "(1)", "(2)", "(0, 'floor')", "(1, 'ceil')", "(-1)", "(-2, 'common')", "(3, 'bogus')", "(1.5)"],
        "indent": ["", "(2)", "(0)", "(2, true)", "(3, first=true, blank=true)", "('> ')", "(blank=true)", "(-1)"],
        "center": ["", "(10)", "(3)", "(0)", "(81)"],
        "truncate": ["", "(5)", "(10, true)", "(7, false, '…')", "(6, leeway=0)", "(9, true, '', 2)", "(3)", "(0)", "(20, end='>>')"],
        "wordwrap": ["(10)", "(5, false)", "(8, true, '|')", "(6, break_on_hyphens=false)", "(1)"],
        "wordcount": [""], "capitalize": [""], "title": [""], "upper": [""], "lower": [""], "trim": ["", "('a')", "(none)"],
        "striptags": [""], "escape": [""], "urlencode": [""], "filesizeformat": ["", "(true)"],
        "string": [""], "tojson": ["", "(indent=2)", "(2)"], "length": [""], "list": [""], "sort": ["", "(true)", "(false, true)"],
        "first": [""], "last": [""], "min": ["", "(true)"], "max": [""], "sum": ["", "(start=0.5)"], "abs": [""],
        "join": ["", "(',')", "(none)"], "default": ["", "('D')", "('D', true)"], "replace": ["('a', 'X')", "('', '_')", "(' ', '', 1)", "('a', 'X', 0)", "('a', 'X', -1)"],
        "reverse": [""], "unique": ["", "(true)"], "batch": ["(2)", "(3, '-')", "(1)"], "slice": ["(2)", "(3, 0)", "(4)"],
        "format": ["", "(1)", "('x', 2)"], "pprint": [""], "dictsort": ["", "(true)", "(false, 'value')"], "items": [""],
        "map": ["('upper')", "('int')", "('string')", "('round')", "('default', 'Z')"], "select": ["", "('odd')", "('string')", "('none')"],
        "count": [""], "attr": ["('a')", "('real')", "('imag')"], "e": [""], "forceescape": [""], "d": ["(1)"], "safe": [""],
    }
    def filter_case(self):
        v = self.ch(self.POOL)
        chain = []
        for _ in range(self.r.choice([1, 1, 1, 2, 2, 3])):
            f = self.ch(list(self.FARGS))
            chain.append(f + self.ch(self.FARGS[f]))
            if f in ("map", "select", "batch", "slice", "unique", "reverse", "items") and self.p(0.8):
                chain.append("list")
        return "{{ " + v + " | " + " | ".join(chain) + " }}"

    def macro_case(self):
        k = self.r.randrange(6)
        if k == 0:
            return (f"{{% macro m(a, b={self.any()}, c=none) -%}} {{{{ a }}}}|{{{{ b }}}}|{{{{ c }}}}|{{{{ varargs }}}}|{{{{ kwargs }}}} {{%- endmacro %}}"
                    f"{{{{ m({', '.join(self.any() for _ in range(self.r.randrange(1, 5)))}{self.ch(['', ', x=1', ', c=2', ', b=3, z=none'])}) }}}}")
        if k == 1:
            return (f"{{% macro m(x) %}}[{{{{ caller(x) }}}}]{{% endmacro %}}{{% call(v) m({self.any()}) %}}{{{{ v {self.ch(['| string', '~ 1', '| tojson', 'is string'])} }}}}{{% endcall %}}")
        if k == 2:
            return (f"{{% macro m(x) %}}{{% if x is number %}}{{{{ return(x + 1) }}}}{{% elif x is string %}}{{{{ return([x]) }}}}{{% endif %}}{{{{ x }}}}{{% endmacro %}}"
                    f"{{% set r = m({self.any()}) %}}{{{{ r }}}}|{{{{ r is string }}}}|{{{{ m(n) + 1 }}}}")
        if k == 3:
            return (f"{{% for x in {self.lst()} %}}{{% for y in {self.ch(['l', 'ls', '[1, 2]', 'x if x is iterable else [x]', '[]'])} %}}"
                    f"{{{{ loop.depth }}}}{{{{ loop.index }}}}{{{{ x }}}}{{{{ y }}}}{{% if loop.last %}};{{% endif %}}{{% else %}}E{{% endfor %}}{{% endfor %}}")
        if k == 4:
            return (f"{{% set c = cycler({self.any()}, {self.any()}) %}}{{% set j = joiner({self.ch(['', '`, `', '1'])}) %}}"
                    f"{{% for x in l %}}{{{{ j() }}}}{{{{ c.next() }}}}{{% endfor %}}{{{{ c.current }}}}")
        return (f"{{% set ns = namespace(a={self.any()}) %}}{{% for x in {self.lst()} %}}{{% set ns.a = {self.ch(['ns.a ~ x', 'x', '[ns.a, x]', 'ns.a'])} %}}{{% endfor %}}{{{{ ns.a }}}}")

    # -- whole templates
    def template(self):
        k = self.r.randrange(26)
        if k >= 23:
            return self.filter_case()
        if k >= 20:
            return self.macro_case()
        if k < 8:
            return "{{ " + self.any() + " }}"
        if k == 8:
            return "{{ " + self.any() + " }}|{{ " + self.any() + " }}"
        if k == 9:
            it = self.ch(["l", "ls", "people", "d", "d.items()", "s", "range(4)", "nested", "[]",
                          "'ab'", "lm", self.lst(), "(l | sort)", "d | dictsort"])
            tgt = self.ch(["x", "x", "x", "k, v", "(a, b)", "a, b"])
            filt = self.ch(["", "", f" if {self.cond().replace('n ', 'x ')}", " if x", " if loop.index > 1"])
            body = self.ch([
                "{{ x }}", "{{ loop.index }}:{{ x }}", "{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}",
                "{% if loop.first %}[{% endif %}{{ x }}{% if not loop.last %},{% else %}]{% endif %}",
                "{{ loop.length }}{{ loop.cycle('a', 'b', 'c') }}", "{{ loop.previtem }}>{{ loop.nextitem }} ",
                "{{ loop.depth }}{{ loop.depth0 }}", "{{ k }}={{ v }};", "{{ a }}/{{ b }} ",
                "{% if loop.index is even %}{% continue %}{% endif %}{{ x }}",
                "{% if loop.index > 2 %}{% break %}{% endif %}{{ x }}",
                "{{ loop.changed(x) }}", "{{ x | string | upper }} ", "{{ loop }}",
                "{%- if x %} {{ x }} {% endif -%}",
            ])
            els = self.ch(["", "", "{% else %}EMPTY"])
            return f"{{% for {tgt} in {it}{filt} %}}{body}{els}{{% endfor %}}"
        if k == 10:
            return (f"{{% set x = {self.any()} %}}{{% set y = {self.any()} %}}"
                    f"{{{{ x }}}}|{{{{ y }}}}|{{{{ {self.ch(['x ~ y', 'x + y', 'x ~ y | upper', '(x, y)', '[x, y]', '{`k`: x}'])} }}}}")
        if k == 11:
            return (f"{{% set ns = namespace(acc=[], c=0) %}}{{% for i in {self.lst()} %}}"
                    f"{{% do ns.acc.append(i) %}}{{% set ns.c = ns.c + 1 %}}{{% endfor %}}{{{{ ns.acc }}}}{{{{ ns.c }}}}")
        if k == 12:
            ws = lambda: self.ch(["", "-"])  # noqa: E731
            return (f"a  \n {{%{ws()} if {self.cond()} {ws()}%}}\n  yes \n {{%{ws()} else {ws()}%}} no\n"
                    f"{{%{ws()} endif {ws()}%}}  \n b {{{{{ws()} {self.any()} {ws()}}}}} \n c")
        if k == 13:
            return (f"{{% set m = {{'a': 1}} %}}{{% do m.update({self.dct()}) %}}{{{{ m }}}}"
                    f"{{% set p = m.pop('a', 'none') %}}{{{{ p }}}}{{{{ m.setdefault('q', {self.any()}) }}}}{{{{ m }}}}")
        if k == 14:
            return (f"{{% set x = {self.lst()} %}}{{% set x = x | list %}}{{% do x.append({self.any()}) %}}"
                    f"{{% do x.{self.ch(['pop()', 'pop(0)', 'reverse()', 'sort()', 'insert(1, 9)', 'extend([1])', 'remove(1)', 'clear()', 'pop(-5)'])} %}}{{{{ x }}}}")
        if k == 15:
            return (f"{{% macro f(a, b=2) %}}{{{{ a }}}}-{{{{ b }}}}{{% if a is number %}}{{{{ return(a * b) }}}}{{% endif %}}{{% endmacro %}}"
                    f"{{{{ f({self.any()}) }}}}|{{{{ f({self.any()}, b={self.any()}) }}}}")
        if k == 16:
            return f"{{% filter {self.ch(['upper', 'trim', 'title', 'indent(2)', 'replace(`a`, `b`)', 'center(20)'])} %}} {self.ch(['abc', 'x y', 'ab@cd']).replace('@', chr(10))} {{{{ {self.any()} }}}} {{% endfilter %}}"
        if k == 17:
            return f"{{% set x %}} {self.any()} {{{{ {self.any()} }}}} {{% endset %}}[{{{{ x }}}}]{{{{ x | length }}}}"
        if k == 18:
            return "{{ " + self.any() + " }}"
        return f"{{% with a = {self.any()}, b = {self.any()} %}}{{{{ a }}}}{{{{ b }}}}{{% endwith %}}"


# ---------------------------------------------------------------- runners
class Harness:
    def __init__(self):
        self.start()

    def start(self):
        self.p = subprocess.Popen([HARNESS], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def _read(self, n, timeout):
        buf = b""
        fd = self.p.stdout.fileno()
        while len(buf) < n:
            r, _, _ = select.select([fd], [], [], timeout)
            if not r:
                raise TimeoutError
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _readline(self, timeout):
        buf = b""
        while not buf.endswith(b"\n"):
            buf += self._read(1, timeout)
        return buf

    def run(self, mode, tpl, ctx):
        c = json.dumps(ctx, ensure_ascii=False).encode()
        t = tpl.encode()
        try:
            self.p.stdin.write(f"{mode} {len(c)} {len(t)}\n".encode() + c + t)
            self.p.stdin.flush()
            head = self._readline(10).decode().split()
            body = self._read(int(head[1]), 10)
            return ("ERR" if head[0] == "ERR" else "OK", body.decode("utf-8", "replace"))
        except TimeoutError:
            self.p.kill(); self.p.wait(); self.start()
            return ("HANG", "")
        except (EOFError, BrokenPipeError):
            self.p.wait(); rc = self.p.returncode; self.start()
            return ("CRASH", f"rc={rc}")


class Timeout(Exception):
    pass


def _alarm(*_):
    raise Timeout


def jinja(mode, tpl, ctx):
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:
        return ("OK", gen.render(mode, tpl, ctx))
    except Timeout:
        return ("HANG", "")
    except Exception as e:  # noqa: BLE001
        return ("ERR", f"{type(e).__name__}: {e}")
    finally:
        signal.alarm(0)


def make_case(seed, i):
    rng = random.Random(seed * 1000003 + i)
    g = G(rng)
    tpl = g.template()
    mode = "native" if rng.random() < 0.15 else "text"
    return mode, tpl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--one", type=int)
    ap.add_argument("--show", action="store_true")
    a = ap.parse_args()
    h = Harness()
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    rng_idx = [a.one] if a.one is not None else range(a.n)
    agree = dis = both_err = 0
    outf = open(os.path.join(HERE, "out", f"mismatch_{a.seed}.jsonl"), "w")
    for i in rng_idx:
        mode, tpl = make_case(a.seed, i)
        j = jinja(mode, tpl, CONTEXT)
        c = h.run(mode, tpl, CONTEXT)
        if j[0] == "HANG":
            continue
        same = (j[0] == c[0] == "ERR") or (j[0] == c[0] == "OK" and j[1] == c[1])
        if j[0] == c[0] == "ERR":
            both_err += 1
        if same:
            agree += 1
        else:
            dis += 1
            rec = {"seed": a.seed, "i": i, "mode": mode, "tpl": tpl, "jinja": j, "cdbt": c}
            outf.write(json.dumps(rec, ensure_ascii=False) + "\n")
        if a.show or (a.one is not None):
            print(json.dumps({"i": i, "mode": mode, "tpl": tpl, "jinja": j, "cdbt": c}, ensure_ascii=False, indent=1))
    print(f"seed {a.seed}: {agree + dis} cases, {agree} agree ({both_err} both error), {dis} differ")


if __name__ == "__main__":
    main()
