#!/usr/bin/env python3
"""The step from a task's exit to the next spawn, per wfo build, interleaved (issue 7).

On a chain, wfo's work between a task's exit and the spawn of the task that needs it is on
the critical path; ninja's is too. This runs `wfo run -j1` on a chain under
`perf trace --no-inherit -e waitid,vfork` (tracepoints, not ptrace: the calls in between
run at their own speed) and takes, per run, the median time from the end of the last
`waitid` before each `vfork` (the probe that found the exit) to the start of that `vfork`.
Each run gets a new state database. (Before 2026-12-06 it measured from the reap's `wait4`,
which wfo now makes after the next spawn.)

Usage: step.py N REPS NAME=WFO[:VAR=VALUE...] ...
  N: the chain's length (bench/gen.py writes it under bench/out/step/chain-N).
  VAR=VALUE pairs go into that build's environment (say GITHUB_ACTIONS=true).
Prints, per build, each run's median step in µs and the median of them.
Example: bench/step.py 1000 7 old=/tmp/wfo-old new=build-bench/src/cli/wfo
Needs perf (bench/setup.sh installs it) and the right to trace (root, or
kernel.perf_event_paranoid at most 1).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys

from builds import parse_builds

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"^\s*([\d.]+) \(\s*([\d.]+) ms\): (\w+)\(")


def steps_of(trace):
    """Microseconds from the end of the last waitid before each vfork to that vfork's start."""
    steps, found = [], None
    with open(trace) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            start, took, call = float(m.group(1)), float(m.group(2)), m.group(3)
            if call == "waitid":
                found = start + took
            elif call == "vfork" and found is not None:
                steps.append((start - found) * 1000)
                found = None
    return steps


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    n, reps = int(sys.argv[1]), int(sys.argv[2])
    out = os.path.join(HERE, "out", "step")
    dag = os.path.join(out, f"chain-{n}")
    if not os.path.exists(dag):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "chain", str(n), dag],
                       check=True, stdout=subprocess.DEVNULL)
    builds = parse_builds(sys.argv[3:])
    medians = {name: [] for name, _, _ in builds}
    for _ in range(reps):
        for name, wfo, env in builds:
            state = os.path.join(out, "state")
            shutil.rmtree(state, ignore_errors=True)
            trace = os.path.join(out, "trace.txt")
            cmd = ["perf", "trace", "--no-inherit", "-e", "waitid,vfork", "-o", trace, wfo,
                   "--state", os.path.join(state, "state.db"), "run", "flow.yaml", "-j1"]
            r = subprocess.run(cmd, cwd=dag, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            steps = steps_of(trace)
            # perf trace may lose an event now and then: a few steps short is no failure.
            if r.returncode != 0 or len(steps) < 0.9 * (n - 1):
                sys.exit(f"step.py: {name}: exit {r.returncode}, {len(steps)} steps traced")
            medians[name].append(statistics.median(steps))
    for name, xs in medians.items():
        runs = " ".join(f"{x:.0f}" for x in xs)
        print(f"{name:12} {statistics.median(xs):6.0f} µs (runs: {runs})")


if __name__ == "__main__":
    main()
