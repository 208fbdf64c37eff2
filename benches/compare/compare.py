#!/usr/bin/env python3
"""Checks that two outbound-metrics responses agree number for number.

Usage: python3 compare.py A.json B.json [--tolerance 1e-9] [--max-report 20] [--quiet]

Walks both JSON documents together: objects must have the same keys, lists the
same length, strings/booleans/nulls be equal, integers equal, and floats (the
SPEC-rounded rates, changes and averages) equal within the tolerance; an
integer and a float are compared as numbers (`1` and `1.0` agree). Key order
is not compared. Exit 0 when they agree, 1 with every difference (JSON path,
both values) on standard error otherwise, 2 on unreadable input.
Standard library only.
"""

import argparse
import json
import sys


def walk(a, b, path, out, tolerance):
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        if a is not b:
            out.append((path, a, b))
    elif isinstance(a, number) and isinstance(b, number):
        if isinstance(a, int) and isinstance(b, int):
            if a != b:
                out.append((path, a, b))
        elif abs(float(a) - float(b)) > tolerance:
            out.append((path, a, b))
    elif isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a:
                out.append(("%s.%s" % (path, key), "<absent>", b[key]))
            elif key not in b:
                out.append(("%s.%s" % (path, key), a[key], "<absent>"))
            else:
                walk(a[key], b[key], "%s.%s" % (path, key), out, tolerance)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(("%s.length" % path, len(a), len(b)))
        for index, (x, y) in enumerate(zip(a, b)):
            walk(x, y, "%s[%d]" % (path, index), out, tolerance)
    elif a != b or type(a) is not type(b):
        out.append((path, a, b))


def count_numbers(value):
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return 1
    if isinstance(value, dict):
        return sum(count_numbers(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_numbers(v) for v in value)
    return 0


def differences(a, b, tolerance=1e-9):
    out = []
    walk(a, b, "$", out, tolerance)
    return out


def short(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    parser.add_argument("--max-report", type=int, default=20)
    parser.add_argument("--quiet", action="store_true", help="only the exit status")
    args = parser.parse_args()
    try:
        with open(args.a, encoding="utf-8") as handle:
            a = json.load(handle)
        with open(args.b, encoding="utf-8") as handle:
            b = json.load(handle)
    except (OSError, ValueError) as error:
        print("compare: %s" % error, file=sys.stderr)
        return 2
    found = differences(a, b, args.tolerance)
    if not found:
        if not args.quiet:
            print("compare: %s and %s agree (%d numbers)" % (args.a, args.b, count_numbers(a)),
                  file=sys.stderr)
        return 0
    if not args.quiet:
        print("compare: %s and %s differ in %d places:" % (args.a, args.b, len(found)),
              file=sys.stderr)
        for path, x, y in found[: args.max_report]:
            print("  %s: %s != %s" % (path, short(x), short(y)), file=sys.stderr)
        if len(found) > args.max_report:
            print("  ... %d more" % (len(found) - args.max_report), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
