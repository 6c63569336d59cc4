#!/usr/bin/env python3
"""Writes one DAG shape as a wfo workflow, a build.ninja and a Makefile (issue 7).

Every task runs `true`. Shapes, for N tasks:
  chain    t0 <- t1 <- ... <- t(N-1)
  wide     N-1 independent tasks and a join that needs them all
  lattice  layers of width w = round(sqrt(N)); each task of a later layer needs two tasks
           of the layer before (the one above it and the next, wrapping)
  diamond  one source, N-2 tasks that need it, one sink that needs them all

Usage: gen.py SHAPE N OUTDIR   (writes OUTDIR/flow.yaml, OUTDIR/build.ninja, OUTDIR/Makefile)
"""
import math
import os
import sys


def edges(shape, n):
    """Returns needs[i] (a list of task indices) for every task 0..n-1."""
    if n < 2:
        raise SystemExit("gen.py: N must be at least 2")
    if shape == "chain":
        return [[] if i == 0 else [i - 1] for i in range(n)]
    if shape == "wide":
        return [[] for _ in range(n - 1)] + [list(range(n - 1))]
    if shape == "diamond":
        return [[]] + [[0] for _ in range(n - 2)] + [list(range(1, n - 1))]
    if shape == "lattice":
        w = max(2, round(math.sqrt(n)))
        needs = []
        for i in range(n):
            layer, col = divmod(i, w)
            if layer == 0:
                needs.append([])
            else:
                base = (layer - 1) * w
                a, b = base + col, base + (col + 1) % w
                needs.append(sorted({a, b}))
        return needs
    raise SystemExit(f"gen.py: unknown shape '{shape}' (chain, wide, lattice, diamond)")


def write(shape, n, out):
    needs = edges(shape, n)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "flow.yaml"), "w") as f:
        f.write(f"version: 1\nname: {shape}-{n}\ntasks:\n")
        for i, ns in enumerate(needs):
            if ns:
                f.write(f"  t{i}: {{run: 'true', needs: [{', '.join(f't{k}' for k in ns)}]}}\n")
            else:
                f.write(f"  t{i}: {{run: 'true'}}\n")
    # ninja: every edge is rebuilt on each run because its output never exists.
    with open(os.path.join(out, "build.ninja"), "w") as f:
        f.write("rule true\n  command = true\n\n")
        for i, ns in enumerate(needs):
            deps = " ".join(f"t{k}" for k in ns)
            f.write(f"build t{i}: true{' | ' + deps if deps else ''}\n")
        f.write("default " + " ".join(f"t{i}" for i in sinks(needs)) + "\n")
    with open(os.path.join(out, "Makefile"), "w") as f:
        f.write(".PHONY: all " + " ".join(f"t{i}" for i in range(n)) + "\n")
        f.write("all: " + " ".join(f"t{i}" for i in sinks(needs)) + "\n")
        for i, ns in enumerate(needs):
            f.write(f"t{i}:{''.join(' t' + str(k) for k in ns)}\n\ttrue\n")


def sinks(needs):
    needed = set()
    for ns in needs:
        needed.update(ns)
    return [i for i in range(len(needs)) if i not in needed]


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    write(sys.argv[1], int(sys.argv[2]), sys.argv[3])
