#!/usr/bin/env python3
"""Writes the workflows of docs/benchmarks.md's "Midday on 2026-12-07": tasks whose matrix or
for_each instances each held a copy of a large task definition (issue 7: no step that grows
with a product of sizes).

usage: python3 bench/instances.py DIR

  foreach-env.yaml     a for_each of 1,000 items, its task with 4,000 env names   (wfo run)
  matrix-env.yaml      a matrix of 256 instances, its task with 4,000 env names   (validate)
  matrix-exclude.yaml  a matrix of 256 instances with 16,000 exclude entries      (validate)
  matrix-reads.yaml    a matrix of 256 instances, 1,000 env names reading matrix.n (validate)
"""
import os
import sys


def env(names, value=lambda k: f"v{k}"):
    return "".join(f"      E{k}: {value(k)}\n" for k in range(names))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    axis = "[" + ",".join(str(i) for i in range(256)) + "]"
    items = "[" + ",".join(str(i) for i in range(1000)) + "]"
    files = {
        "foreach-env.yaml": "version: 1\ntasks:\n  each:\n"
                            f"    for_each: ${{{{ fromJSON('{items}') }}}}\n"
                            "    run: \"true\"\n    env:\n" + env(4000),
        "matrix-env.yaml": f"version: 1\ntasks:\n  m:\n    matrix:\n      n: {axis}\n"
                           "    run: \"true\"\n    env:\n" + env(4000),
        "matrix-exclude.yaml": f"version: 1\ntasks:\n  m:\n    matrix:\n      n: {axis}\n"
                               "      exclude:\n"
                               + "".join(f"        - n: x{k}\n" for k in range(16000))
                               + "    run: \"true\"\n",
        "matrix-reads.yaml": f"version: 1\ntasks:\n  m:\n    matrix:\n      n: {axis}\n"
                             "    run: \"true\"\n    env:\n"
                             + env(1000, lambda k: "${{ matrix.n }}"),
    }
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
