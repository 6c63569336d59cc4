#!/usr/bin/env python3
"""Interleaved A/B runs of wfo builds by their own CPU time (issue 7).

Wall time on this VM varies by 10% from run to run; the CPU time of wfo's own process
(user + system, all its threads, none of its tasks) varies less, and it is what wfo's code
decides. Each run gets a new state folder; the library bench/self_rusage.c (built into
bench/out/ on first use) reports the process's getrusage(RUSAGE_SELF) when it exits.

Usage: cpu_ab.py SHAPE N J REPS NAME=WFO[:VAR=VALUE...] ...
  VAR=VALUE pairs go into that build's environment.
Prints each build's median wall time and median CPU time (min-max).
Example: bench/cpu_ab.py chain 1000 1 31 old=/tmp/wfo-old new=build-bench/src/cli/wfo
"""
import os
import random
import statistics
import subprocess
import sys
import time

from builds import parse_builds

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    shape, n, j, reps = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    out = os.path.join(HERE, "out", "cpu_ab")
    os.makedirs(out, exist_ok=True)
    lib = os.path.join(HERE, "out", "self_rusage.so")
    if not os.path.exists(lib):
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", lib,
                        os.path.join(HERE, "self_rusage.c")], check=True)
    dag = os.path.join(HERE, "out", "ab", f"{shape}-{n}")
    if not os.path.exists(dag):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), shape, str(n), dag],
                       check=True, stdout=subprocess.DEVNULL)
    builds = parse_builds(sys.argv[5:], dict(os.environ, LD_PRELOAD=lib))
    wall = {name: [] for name, _, _ in builds}
    cpu = {name: [] for name, _, _ in builds}
    report = os.path.join(out, "rusage")
    for _ in range(reps):
        for name, path, env in builds:
            state = os.path.join(out, f"{name}-{random.randrange(1 << 40):x}", "state.db")
            if os.path.exists(report):
                os.unlink(report)
            env["WFO_RUSAGE_OUT"] = report
            start = time.monotonic()
            # exec in the child keeps the pid, so the library knows wfo's process by it.
            argv = [path, "--state", state, "run", "flow.yaml", "-j", j]
            p = subprocess.Popen(["sh", "-c", 'export WFO_RUSAGE_PID=$$; exec "$@"', "sh", *argv],
                                 cwd=dag, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            rc = p.wait()
            wall[name].append(time.monotonic() - start)
            if rc != 0:
                sys.exit(f"{name} exited {rc}")
            user, system = (int(x) for x in open(report).read().split())
            cpu[name].append((user + system) / 1000)
    for name, _, _ in builds:
        c = cpu[name]
        print(f"{name:14s} wall {statistics.median(wall[name]):.3f} s  cpu "
              f"{statistics.median(c):.1f} ms ({min(c):.1f}-{max(c):.1f})")


if __name__ == "__main__":
    main()
