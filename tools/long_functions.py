#!/usr/bin/env python3
"""Lists C++ function bodies longer than a limit (default 80 lines).

    tools/long_functions.py [--limit N] [--check [--baseline FILE]] [FILES...]
                                             default: the product code

A function may be longer when the comment right above its definition says why, with a
line that starts "// Long:" (a kernel, a table, a flat dispatch). --check exits 1 when a
function over the limit has no such line, naming each one. With --baseline, functions
listed there ("path:name lines", the debt still to split) may stay as long as they are
listed, not longer: new long functions fail, and listed ones may only shrink.

Heuristic, not a parser: braces outside comments, strings and character literals are
matched; a block whose head (the text since the last ';', '{' or '}') has a ')' and does
not start with namespace/class/struct/union/enum is a function body, unless it is
inside one already (lambdas count as part of their function).
"""
import argparse
import os
import re
import subprocess
import sys

PRODUCT = (
    "core", "runtime", "retrieval", "engine", "server", "indexer", "models", "client", "lambda",
    "http",
)
CONTAINER = re.compile(r"^\s*(template\s*<.*>\s*)?(namespace|class|struct|union|enum|extern)\b")


def strip(text):
    """The text with comments, strings and char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c in "\"'":
            k = i
            while k > 0 and (text[k - 1].isalnum() or text[k - 1] in "'."):
                k -= 1
            if c == "'" and k < i and text[k].isdigit():  # a digit separator: 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """Yields (first line, last line, head) of every function body in the file."""
    raw = open(path, encoding="utf-8", errors="replace").read()
    text = strip(raw)
    stack, head_start, line = [], 0, 1
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c in ";":
            if not stack or stack[-1][0] != "func":
                head_start = i + 1
        elif c == "{":
            head = re.sub(r"(?m)^\s*#.*$", "", text[head_start:i])  # no preprocessor lines
            inside = any(kind == "func" for kind, _, _ in stack)
            if inside:
                kind = "other"
            elif CONTAINER.match(head.strip()) and "(" not in head.split("{")[0].split(":")[0]:
                kind = "container"
            elif ")" in head:
                kind = "func"
            else:
                kind = "other"
            stack.append((kind, line, " ".join(head.split())))
            head_start = i + 1
        elif c == "}":
            if stack:
                kind, start, head = stack.pop()
                if kind == "func":
                    yield start, line, head
            head_start = i + 1


def function_name(head):
    """The name before the parameter list: the identifier before the first '(' outside
    template brackets, without its class ("Collection::Open" -> "Open")."""
    depth = 0
    for i, c in enumerate(head):
        if c == "<":
            depth += 1
        elif c == ">":
            depth = max(0, depth - 1)
        elif c == "(" and depth == 0:
            m = re.search(r"([A-Za-z_~][A-Za-z0-9_:~]*)\s*$", head[:i])
            return m.group(1).split("::")[-1] if m else "?"
    return "?"


def reason_above(lines, start):
    """Whether the comment block above the function's head says "// Long:"."""
    i = start - 2  # 0-based index of the line above the opening brace
    # Walk up over the head (up to a blank line, a ';' or a '}') and then the comments.
    while i >= 0 and lines[i].strip() and not lines[i].lstrip().startswith("//") \
            and not lines[i].rstrip().endswith((";", "}")):
        i -= 1
    while i >= 0 and lines[i].lstrip().startswith("//"):
        if lines[i].lstrip().startswith("// Long:"):
            return True
        i -= 1
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--baseline")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = args.files or [
        f for f in subprocess.check_output(["git", "ls-files", "--", "*.cc", "*.h"], cwd=root,
                                           text=True).split()
        if f.split("/")[0] in PRODUCT]
    baseline = {}
    if args.baseline:
        for line in open(args.baseline, encoding="utf-8"):
            line = line.split("#")[0].strip()
            if line:
                key, lines = line.rsplit(None, 1)
                baseline[key] = int(lines)
    missing = 0
    for f in files:
        path = f if os.path.isabs(f) else os.path.join(root, f)
        lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
        for start, end, head in functions(path):
            length = end - start + 1
            if length <= args.limit:
                continue
            ok = reason_above(lines, start)
            key = "%s:%s" % (f, function_name(head))
            note = " (Long: given)" if ok else ""
            if not ok and key in baseline:
                ok = length <= baseline[key]
                note = " (baseline %d)" % baseline[key] if ok else " (grew past its baseline %d)" % baseline[key]
            missing += not ok
            print("%s:%d: %d lines%s  %s  [%s]" % (f, start, length, note, head[-70:], key))
    if args.check and missing:
        print("long_functions: %d function(s) over %d lines without a '// Long:' reason (or "
              "longer than their baseline); split them or say why" % (missing, args.limit),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
