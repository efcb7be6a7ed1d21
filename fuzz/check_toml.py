#!/usr/bin/env python3
"""fuzz/check_toml.py FILE: checks the pairs fuzz_toml wrote ("<json>\\t<toml>" per line).

For each pair, `x = <toml>` must parse with Python's tomllib into a document whose only key
is x, with a value equal to the JSON one. Exits 1 on the first failures (printed)."""
import json
import math
import sys
import tomllib


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b and not (a == 0 and math.copysign(1, a) != math.copysign(1, b) and isinstance(a, float) and isinstance(b, float))
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return False


def main(path):
    checked = failed = 0
    seen = set()
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n")
            if line in seen:
                continue
            seen.add(line)
            j, _, t = line.partition(b"\t")
            want = json.loads(j.decode("utf-8"))
            text = "x = " + t.decode("utf-8") + "\n"
            checked += 1
            why = None
            try:
                doc = tomllib.loads(text)
                if list(doc.keys()) != ["x"]:
                    why = "keys %r" % list(doc.keys())
                elif not same(doc["x"], want):
                    why = "value %r, want %r" % (doc["x"], want)
            except tomllib.TOMLDecodeError as e:
                why = "invalid TOML: %s" % e
            if why:
                failed += 1
                if failed <= 10:
                    print("check_toml: %s\n  toml: %r" % (why, text[:300]))
    print("check_toml: %d distinct values checked with tomllib, %d failed" % (checked, failed))
    return 1 if failed or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
