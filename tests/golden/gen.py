#!/usr/bin/python3
"""gen.py - produce the golden template corpus's expected outputs with real Jinja2.

Reads every tests/golden/src/<group>.cases file (hand-written; format in
README.md), renders each case with Jinja2 configured as dbt configures it,
and writes tests/golden/template/<group>.golden, the only files the C runner
(tests/unit/test_golden.c) reads.  Error cases carry OUR expected diagnostic
(hand-written "line:col: message" plus notes); this script checks that Jinja2
also fails on them, records Jinja2's message for reference, and renders our
diagnostic in the exact layout of src/base/diag.h.

Run with Debian's interpreter (it has python3-jinja2):
    /usr/bin/python3 tests/golden/gen.py          # regenerate everything
    /usr/bin/python3 tests/golden/gen.py --check  # exit 1 if a .golden is stale

Jinja2 setup (dbt's clients/jinja.py, as behaviour):
  * text mode: SandboxedEnvironment(extensions=[do, loopcontrols]), default
    Undefined, default whitespace options, filters as_text/as_bool/as_number/
    as_native that are identities (dbt's TEXT_FILTERS);
  * native mode: the same sandbox with Jinja2's NativeCodeGenerator; the root
    output is joined by dbt's "quoted native concat" (one node -> the raw
    value, marker strings literal_eval'd, several nodes -> str-joined), and the
    four filters wrap their input into marker str subclasses (NATIVE_FILTERS);
  * a global `return(v)` raising an exception that the macro call boundary
    turns into the call's value (dbt's MacroReturn / MacroGenerator).
This file only drives Jinja2; it implements no part of the C engine."""

import ast
import json
import os
import sys
from itertools import chain, islice

import jinja2
import jinja2.nativetypes
import jinja2.runtime
import jinja2.sandbox

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
OUT = os.path.join(HERE, "template")


# ---------------------------------------------------------------- dbt emulation
class MacroReturn(Exception):
    def __init__(self, value):
        super().__init__("return")
        self.value = value


def dbt_return(value=None):
    raise MacroReturn(value)


_orig_invoke = jinja2.runtime.Macro._invoke


def _invoke_catching_return(self, arguments, autoescape):
    try:
        return _orig_invoke(self, arguments, autoescape)
    except MacroReturn as e:
        return e.value


jinja2.runtime.Macro._invoke = _invoke_catching_return


class TextMarker(str):
    pass


class NativeMarker(str):
    pass


class BoolMarker(NativeMarker):
    pass


class NumberMarker(NativeMarker):
    pass


class RenderError(Exception):
    pass


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def quoted_native_concat(nodes):
    head = list(islice(nodes, 2))
    if not head:
        return ""
    if len(head) == 1:
        raw = head[0]
        if isinstance(raw, TextMarker):
            return str(raw)
        if not isinstance(raw, NativeMarker):
            return raw
    else:
        return "".join([str(v) for v in chain(head, nodes)])
    try:
        result = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError):
        result = raw
    if isinstance(raw, BoolMarker) and not isinstance(result, bool):
        raise RenderError(f"Could not convert value '{raw!s}' into type 'bool'")
    if isinstance(raw, NumberMarker) and not _is_number(result):
        raise RenderError(f"Could not convert value '{raw!s}' into type 'number'")
    return result


class NativeSandboxTemplate(jinja2.nativetypes.NativeTemplate):
    def render(self, *args, **kwargs):
        ctx = self.new_context(dict(*args, **kwargs))
        try:
            return quoted_native_concat(self.root_render_func(ctx))
        except Exception:
            return self.environment.handle_exception()


class NativeSandboxEnvironment(jinja2.sandbox.SandboxedEnvironment):
    code_generator_class = jinja2.nativetypes.NativeCodeGenerator
    template_class = NativeSandboxTemplate


EXTENSIONS = ["jinja2.ext.do", "jinja2.ext.loopcontrols"]


def make_env(native):
    if native:
        env = NativeSandboxEnvironment(extensions=EXTENSIONS)
        env.filters.update({
            "as_text": TextMarker,
            "as_bool": BoolMarker,
            "as_native": NativeMarker,
            "as_number": NumberMarker,
        })
    else:
        env = jinja2.sandbox.SandboxedEnvironment(extensions=EXTENSIONS)
        ident = lambda v: v  # noqa: E731
        env.filters.update({"as_text": ident, "as_bool": ident,
                            "as_native": ident, "as_number": ident})
    env.globals["return"] = dbt_return
    return env


ENVS = {"text": make_env(False), "native": make_env(True)}


# ---------------------------------------------------------------- .cases reader
class CaseError(Exception):
    pass


def unescape(s):
    """Escapes of `--- template(escaped)`: \\n \\r \\t \\\\ \\s (space) \\xNN."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = s[i + 1:i + 2]
        if n in ("n", "r", "t", "\\"):
            out.append({"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}[n])
            i += 2
        elif n == "s":
            out.append(" ")
            i += 2
        elif n == "x":
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        else:
            raise CaseError(f"bad escape \\{n}")
    return "".join(out)


def read_cases(path):
    """Return a list of dicts {name, line, sections: {key: (flags, text)}}."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    cases, cur, sec = [], None, None
    buf = []

    def close_section():
        if cur is not None and sec is not None:
            body = list(buf)
            while body and body[-1] == "":   # blank lines between cases
                body.pop()
            cur["sections"][sec[0]] = (sec[1], "\n".join(body))

    for no, line in enumerate(lines, 1):
        if line.startswith("=== "):
            close_section()
            cur = {"name": line[4:].strip(), "line": no, "sections": {}}
            cases.append(cur)
            sec, buf = None, []
        elif line.startswith("--- ") and cur is not None:
            close_section()
            head = line[4:].strip()
            value = None
            if ":" in head:
                head, value = head.split(":", 1)
                value = value.strip()
            flags = set()
            if "(" in head:
                head, fl = head.split("(", 1)
                flags = {x.strip() for x in fl.rstrip(")").split(",")}
            head = head.strip()
            if value is not None:
                cur["sections"][head] = (flags, value)
                sec, buf = None, []
            else:
                sec, buf = (head, flags), []
        elif sec is not None:
            buf.append(line)
        elif cur is not None and line.strip():
            raise CaseError(f"{path}:{no}: text outside a section")
    close_section()
    return cases


def section_text(case, key):
    if key not in case["sections"]:
        return None
    flags, text = case["sections"][key]
    if "keep-newline" in flags:
        text = text + "\n"
    if "escaped" in flags:
        text = unescape(text)
    return text


# ---------------------------------------------------------------- rendering
def type_name(v):
    for t in (bool, int, float, str, list, tuple, dict):
        if isinstance(v, t):
            return t.__name__
    return type(v).__name__


def plain(v):
    """Strip marker subclasses so repr() is that of the builtin."""
    if isinstance(v, str):
        return str(v)
    return v


def render(mode, template, context):
    env = ENVS[mode]
    tpl = env.from_string(template)
    res = tpl.render(context)
    if mode == "native":
        return f"{type_name(res)}: {plain(res)!r}"
    return res


def diag_text(fname, template, spec):
    """Our diagnostic in diag_format()'s layout (src/base/diag.h): the first
    spec line is "LINE:COL: message", "LINE: message" or "0: message" (no
    location); further lines are note lines, copied verbatim."""
    lines = spec.split("\n")
    pos, msg = lines[0].split(": ", 1)
    parts = [int(x) for x in pos.split(":")]
    ln, col = parts[0], (parts[1] if len(parts) > 1 else 0)
    norm = template.replace("\r\n", "\n").replace("\r", "\n")
    src_lines = norm.split("\n")
    if ln == 0:
        out = [f"{fname}: error: {msg}"]
    else:
        src = src_lines[ln - 1] if ln <= len(src_lines) else ""
        width = max(5, len(str(ln)))
        out = [f"{fname}:{ln}:{col}: error: {msg}" if col else f"{fname}:{ln}: error: {msg}",
               f"{ln:>{width}} | {src}"]
        if col:
            pad = "".join("\t" if i < len(src) and src[i] == "\t" else " "
                          for i in range(col - 1))
            out.append(f"{'':>{width}} | {pad}^")
    out += [x for x in lines[1:] if x != ""]
    return "\n".join(out) + "\n"


def section(key, text):
    data = text.encode("utf-8")
    return f"{key} {len(data)}\n".encode() + data + b"\n"


def build_group(path):
    group = os.path.splitext(os.path.basename(path))[0]
    cases = read_cases(path)
    out = [f"# generated by tests/golden/gen.py from src/{group}.cases "
           f"(Jinja2 {jinja2.__version__}) -- do not edit\n".encode()]
    seen = set()
    problems = []
    for c in cases:
        name = c["name"]
        where = f"{path}:{c['line']}: case {name}"
        if name in seen:
            problems.append(f"{where}: duplicate name")
            continue
        seen.add(name)
        mode = section_text(c, "mode") or "text"
        if mode not in ENVS:
            problems.append(f"{where}: bad mode {mode}")
            continue
        ctx_text = section_text(c, "context")
        ctx_text = ctx_text.strip() if ctx_text and ctx_text.strip() else "{}"
        try:
            context = json.loads(ctx_text)
        except ValueError as e:
            problems.append(f"{where}: bad context JSON: {e}")
            continue
        template = section_text(c, "template")
        if template is None:
            problems.append(f"{where}: no template")
            continue
        fname = f"golden/{group}/{name}"
        err_spec = section_text(c, "error")
        try:
            result, exc = render(mode, template, context), None
        except Exception as e:  # noqa: BLE001 - any Jinja2 failure
            result, exc = None, e
        rec = [f"=== {name}\n".encode(), f"mode {mode}\n".encode(),
               f"file {fname}\n".encode(),
               section("context", json.dumps(context, ensure_ascii=False)),
               section("template", template)]
        if err_spec is not None:
            if exc is None:
                problems.append(f"{where}: expected an error but Jinja2 rendered {result!r}")
                continue
            jmsg = f"{type(exc).__name__}: {exc}"
            if getattr(exc, "lineno", None):
                jmsg += f" (line {exc.lineno})"
            rec.append(section("jinja2", jmsg))
            rec.append(section("error", diag_text(fname, template, err_spec.strip("\n"))))
        else:
            if exc is not None:
                problems.append(f"{where}: Jinja2 raised {type(exc).__name__}: {exc}")
                continue
            rec.append(section("output", result))
        out.append(b"".join(rec))
    return group, b"".join(out), len(cases), problems


def main():
    check = "--check" in sys.argv
    total, stale, problems = 0, [], []
    os.makedirs(OUT, exist_ok=True)
    for fn in sorted(os.listdir(SRC)):
        if not fn.endswith(".cases"):
            continue
        group, data, n, probs = build_group(os.path.join(SRC, fn))
        total += n
        problems += probs
        dest = os.path.join(OUT, group + ".golden")
        old = open(dest, "rb").read() if os.path.exists(dest) else None
        if old != data:
            stale.append(dest)
            if not check:
                with open(dest, "wb") as f:
                    f.write(data)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"gen.py: {total} cases, {len(problems)} problems, "
          f"{len(stale)} file(s) {'stale' if check else 'written'}", file=sys.stderr)
    return 1 if problems or (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
