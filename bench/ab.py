#!/usr/bin/env python3
"""Interleaved A/B runs of wfo binaries (and ninja, the floors) on one DAG (issue 7).

The benchmark suites compare one wfo with ninja; this compares two builds of wfo, say
before and after a change, run by run in turn, each `wfo run` with a new state folder (no
deletions between runs: see docs/benchmarks.md on recently deleted inodes).

Usage: ab.py SHAPE N J REPS NAME=CMD ...
  NAME=CMD: `old=/tmp/wfo-old`, `new=build/src/cli/wfo` (a wfo binary), or `ninja`,
  `floor=PATH` (spawn_floor), `durable=PATH` (durable_floor), `durable-full=PATH`.
  A name ending in `-full` runs wfo with `--durability full`.
Prints each tool's median (min-max) and, for each wfo, its paired ratio to ninja.
Example: bench/ab.py chain 1000 1 7 ninja old=/tmp/wfo-old new=build-bench/src/cli/wfo
"""
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    shape, n, j, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    tools = [a.split("=", 1) if "=" in a else [a, a] for a in sys.argv[5:]]
    out = os.path.join(HERE, "out", "ab")
    dag = os.path.join(out, f"{shape}-{n}")
    if not os.path.exists(dag):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), shape, str(n), dag],
                       check=True, stdout=subprocess.DEVNULL)
    jobs = "1" if shape == "chain" else str(j)

    def command(name, path):
        fresh = os.path.join(out, f"{name}-{random.randrange(1 << 40):x}")
        if name == "ninja":
            return ["ninja", "-j", str(j)]
        if name.startswith("durable"):
            return [path, str(n), jobs, fresh] + (["full"] if name.endswith("-full") else [])
        if name == "floor":
            return [path, str(n), jobs]
        full = ["--durability", "full"] if name.endswith("-full") else []
        return [path, "--state", os.path.join(fresh, "state.db"), "run", "flow.yaml", "-j",
                str(j)] + full

    times = {name: [] for name, _ in tools}
    for _ in range(reps):
        for name, path in tools:
            start = time.monotonic()
            r = subprocess.run(command(name, os.path.abspath(path) if path != "ninja" else path),
                               cwd=dag, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.monotonic() - start)
            if r.returncode != 0:
                sys.exit(f"{name} exited {r.returncode}")
    base = statistics.median(times["ninja"]) if "ninja" in times else None
    for name, _ in tools:
        t = times[name]
        ratio = f"  {statistics.median(t) / base:.2f}x ninja" if base else ""
        print(f"{name:14s} {statistics.median(t):.3f} s ({min(t):.3f}-{max(t):.3f}){ratio}")
        if base and name not in ("ninja", "floor") and not name.startswith("durable"):
            paired = sorted(a / b for a, b in zip(t, times["ninja"]))
            print(f"{'':14s} paired {statistics.median(paired):.2f}x "
                  f"({paired[0]:.2f}-{paired[-1]:.2f})")


if __name__ == "__main__":
    main()
