#!/usr/bin/env python3
"""The wfo benchmark (issue 7): wfo against ninja and make on the same DAGs, and wfo at scale.

Runs are interleaved (wfo, ninja, make, wfo, ...) so that load from other processes on the
machine spreads over all tools alike; every figure is a median with its min-max. Peak RSS
is wait4's ru_maxrss. Per-task overhead is (tool wall - spawn floor wall) / N, where the
spawn floor (spawn_floor.c) runs `sh -c true` N times at the same concurrency. The durable
floor (durable_floor.c) adds what wfo's contract costs per task and nothing else: a fresh
$WFO_OUTPUT file, read back, and one SQLite commit of the task's end (WAL, synchronous=NORMAL);
wfo's time over it is the cost of wfo's own code.

Usage: bench.py --wfo PATH --floor PATH [--durable-floor PATH] [--out DIR] [--reps N] [--only SUITE,...] [--quick]
                [--shapes chain,wide,lattice,diamond] [--lean]
Suites: compare, durable, scale, cli. Prints Markdown tables; --json FILE keeps raw numbers.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402


class Bench:
    def __init__(self, args):
        self.wfo = os.path.abspath(args.wfo)
        self.floor = os.path.abspath(args.floor)
        self.durable_floor = os.path.abspath(args.durable_floor) if args.durable_floor else None
        self.out = os.path.abspath(args.out)
        self.reps = args.reps
        self.quick = args.quick
        self.shapes = args.shapes.split(",")
        self.make = not args.lean
        self.results = {}
        self.counter = 0
        os.makedirs(self.out, exist_ok=True)
        # Spread new directories over the filesystem's inode groups (ext4's Orlov allocator
        # does so under a "top directory"): on an ext4 without journal, creating a file in
        # a group full of recently deleted inodes costs up to a millisecond.
        os.makedirs(os.path.join(self.out, "state"), exist_ok=True)
        for d in [self.out, os.path.join(self.out, "state")]:
            subprocess.run(["chattr", "+T", d], stderr=subprocess.DEVNULL, check=False)

    # -- measuring ------------------------------------------------------------------------
    def timed(self, argv, cwd=None, env=None, stdout=subprocess.DEVNULL, check=True):
        """Runs argv; returns (seconds, peak RSS in KiB, exit status)."""
        start = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        if check and p.returncode != 0:
            raise SystemExit(f"bench: {' '.join(argv)} exited {p.returncode} in {cwd}")
        return elapsed, usage.ru_maxrss, p.returncode

    def fresh_state(self):
        self.counter += 1
        d = os.path.join(self.out, "state", f"s{self.counter}")
        return os.path.join(d, "state.db")

    def dag(self, shape, n):
        d = os.path.join(self.out, "dags", f"{shape}-{n}")
        if not os.path.exists(os.path.join(d, "Makefile")):
            gen.write(shape, n, d)
        return d

    def run_wfo(self, d, jobs, extra=(), state=None):
        state = state or self.fresh_state()
        return self.timed([self.wfo, "--state", state, "run", "flow.yaml", "-j", str(jobs), *extra],
                          cwd=d)

    def run_ninja(self, d, jobs):
        return self.timed(["ninja", "-j", str(jobs)], cwd=d)

    def run_make(self, d, jobs):
        return self.timed(["make", "-s", "-j", str(jobs)], cwd=d)

    def run_floor(self, n, jobs):
        return self.timed([self.floor, str(n), str(jobs)])

    def run_durable_floor(self, n, jobs, extra=()):
        # A fresh folder each time, as wfo gets a fresh state folder (fresh_state).
        d = os.path.dirname(self.fresh_state())
        os.makedirs(os.path.dirname(d), exist_ok=True)
        return self.timed([self.durable_floor, str(n), str(jobs), d, *extra])

    # -- suites ---------------------------------------------------------------------------
    def compare(self, cases, tools, label):
        """cases: (shape, n, jobs); tools: names among wfo, wfo-full, ninja, make, floor."""
        rows = []
        for shape, n, jobs in cases:
            d = self.dag(shape, n)
            runners = {
                "wfo": lambda: self.run_wfo(d, jobs),
                "wfo-full": lambda: self.run_wfo(d, jobs, ["--durability", "full"]),
                "ninja": lambda: self.run_ninja(d, jobs),
                "make": lambda: self.run_make(d, jobs),
                # A chain runs one task at a time whatever -j says.
                "floor": lambda: self.run_floor(n, 1 if shape == "chain" else jobs),
                "durable-floor": lambda: self.run_durable_floor(n, 1 if shape == "chain" else jobs),
                # The same with an fsync per commit (synchronous=FULL), for `--durability full`.
                "durable-floor-full": lambda: self.run_durable_floor(
                    n, 1 if shape == "chain" else jobs, ["full"]),
            }
            reps = self.reps if n <= 1000 else max(3, self.reps // 2)
            samples = {t: [] for t in tools}
            rss = {t: [] for t in tools}
            self.run_ninja(d, jobs)  # warm the page cache and ninja's log
            for r in range(reps):
                order = tools[r % len(tools):] + tools[:r % len(tools)]
                for t in order:
                    secs, kb, _ = runners[t]()
                    samples[t].append(secs)
                    rss[t].append(kb)
            row = {"shape": shape, "n": n, "jobs": jobs, "reps": reps}
            for t in tools:
                row[t] = summary(samples[t])
                row[t + "_rss_kb"] = max(rss[t])
            rows.append(row)
            print(f"  {shape}-{n} -j{jobs}: " + ", ".join(
                f"{t} {row[t]['median']:.3f}s" for t in tools), file=sys.stderr)
        self.results[label] = rows
        return rows

    def suite_compare(self):
        sizes = [1000] if self.quick else [1000, 10000]
        cases = []
        for n in sizes:
            cases += [c for c in [("chain", n, 1), ("chain", n, 2), ("wide", n, 2),
                                  ("lattice", n, 2), ("diamond", n, 2)] if c[0] in self.shapes]
        tools = ["wfo", "ninja"] + (["make"] if self.make else []) + ["floor"]
        tools += ["durable-floor"] if self.durable_floor else []
        rows = self.compare(cases, tools, "compare")
        print("\n### wfo against ninja" + (" and make" if self.make else "") +
              " (default durability)\n")
        print(table(rows, tools, "wfo"))

    def suite_durable(self):
        n = 1000 if self.quick else 10000
        cases = [c for c in [("chain", n, 1), ("wide", n, 2)] if c[0] in self.shapes]
        tools = ["wfo-full", "wfo", "ninja", "floor"] if self.make else ["wfo-full", "ninja", "floor"]
        tools += ["durable-floor-full"] if self.durable_floor else []
        rows = self.compare(cases, tools, "durable")
        print("\n### `--durability full` against ninja\n")
        print(table(rows, tools, "wfo-full"))

    def suite_scale(self):
        big = 10000 if self.quick else 100000
        out = {}
        for n in [10000, big] if big != 10000 else [10000]:
            d = self.dag("lattice", n)
            secs, kbs = [], []
            for _ in range(self.reps):
                s, kb, _ = self.timed([self.wfo, "validate", "flow.yaml"], cwd=d)
                secs.append(s)
                kbs.append(kb)
            out[f"validate-{n}"] = {"time": summary(secs), "rss_kb": max(kbs)}
            print(f"  validate lattice-{n}: {statistics.median(secs):.3f}s "
                  f"{max(kbs) / 1024:.0f} MiB", file=sys.stderr)
        # The big run, once, against ninja once; then resume a copy with 1% of it undone.
        d = self.dag("lattice", big)
        state = self.fresh_state()
        s, kb, _ = self.run_wfo(d, 2, state=state)
        ns, nkb, _ = self.run_ninja(d, 2)
        db_bytes = sum(os.path.getsize(state + x) for x in ["", "-wal"]
                       if os.path.exists(state + x))
        out[f"run-{big}"] = {"wfo": s, "wfo_rss_kb": kb, "ninja": ns, "ninja_rss_kb": nkb,
                             "db_bytes": db_bytes}
        print(f"  run lattice-{big}: wfo {s:.2f}s {kb / 1024:.0f} MiB, ninja {ns:.2f}s, "
              f"db {db_bytes / 1e6:.1f} MB", file=sys.stderr)
        firsts = []
        for _ in range(self.reps):
            copy = self.fresh_state()
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            undo_tail(state, copy, big // 100)
            firsts.append(self.first_start(d, copy))
        out[f"resume-{big}"] = {"first_task": summary(firsts)}
        print(f"  resume lattice-{big} (1% left): first task after "
              f"{statistics.median(firsts):.3f}s", file=sys.stderr)
        self.results["scale"] = out
        print("\n### Scale\n")
        print("| measure | median | min-max | peak RSS |\n|---|---|---|---|")
        for k, v in out.items():
            if k.startswith("validate"):
                t = v["time"]
                print(f"| `wfo validate` {k[9:]}-task lattice | {ms(t['median'])} | "
                      f"{ms(t['min'])}-{ms(t['max'])} | {v['rss_kb'] / 1024:.0f} MiB |")
            elif k.startswith("run"):
                print(f"| `wfo run -j2` {k[4:]}-task lattice | {v['wfo']:.2f} s (ninja "
                      f"{v['ninja']:.2f} s, {v['wfo'] / v['ninja']:.2f}x; state "
                      f"{v['db_bytes'] / 1e6:.0f} MB) | - | {v['wfo_rss_kb'] / 1024:.0f} MiB |")
            else:
                t = v["first_task"]
                print(f"| `wfo resume`, {k[7:]} tasks, 99% done: first task started | "
                      f"{ms(t['median'])} | {ms(t['min'])}-{ms(t['max'])} | - |")

    def first_start(self, d, state):
        """Seconds from `wfo resume` until it reports its first started task."""
        run_id = sqlite3.connect(state).execute(
            "SELECT id FROM runs ORDER BY seq DESC LIMIT 1").fetchone()[0]
        start = time.perf_counter()
        p = subprocess.Popen([self.wfo, "--state", state, "resume", run_id, "-j", "2"], cwd=d,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        first = None
        for line in p.stderr:
            if first is None and " started" in line:
                first = time.perf_counter() - start
        p.wait()
        if p.returncode != 0 or first is None:
            raise SystemExit(f"bench: resume of {run_id} exited {p.returncode}")
        return first

    def suite_cli(self):
        n = 10000
        d = self.dag("lattice", n)
        state = self.fresh_state()
        self.run_wfo(d, 2, state=state)
        run_id = sqlite3.connect(state).execute("SELECT id FROM runs").fetchone()[0]
        out = {}
        for name, argv in [("status", ["status", run_id]),
                           ("status --json", ["status", run_id, "--json"])]:
            secs = [self.timed([self.wfo, "--state", state, *argv], cwd=d)[0]
                    for _ in range(self.reps)]
            out[f"{name} ({n}-task run)"] = summary(secs)
        # 10,000 runs: copies of one real run of a 10-task workflow, rows and all.
        small = self.dag("lattice", 10)
        many = self.fresh_state()
        self.run_wfo(small, 2, state=many)
        clone_runs(many, 10000)
        for name, argv in [("list", ["list"]), ("list --json", ["list", "--json"])]:
            secs = [self.timed([self.wfo, "--state", many, *argv])[0] for _ in range(self.reps)]
            out[f"{name} (10,000 runs)"] = summary(secs)
        self.results["cli"] = out
        print("\n### Commands on a big state database\n")
        print("| command | median | min-max |\n|---|---|---|")
        for k, t in out.items():
            print(f"| `wfo {k.split(' (')[0]}` ({k.split(' (')[1]} | {ms(t['median'])} | "
                  f"{ms(t['min'])}-{ms(t['max'])} |")


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "all": xs}


def ms(s):
    return f"{s * 1000:.0f} ms" if s >= 0.1 else f"{s * 1000:.1f} ms"


def durable_floor(tools):
    """The durable floor among `tools` (plain or full), or None."""
    return next((t for t in tools if t.startswith("durable-floor")), None)


def table(rows, tools, main):
    head = ["DAG", "-j"] + [f"{t} s (min-max)" for t in tools] + [
        f"{main}/ninja", f"{main}/ninja paired (min-max)", f"{main} µs/task over floor, paired",
        "ninja µs/task over floor, paired"] + (
        [f"{main} µs/task over {durable_floor(tools).replace('-', ' ')}"]
        if durable_floor(tools) else []) + [
        f"{main} RSS"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"{r['shape']}-{r['n']}", str(r["jobs"])]
        for t in tools:
            s = r[t]
            cells.append(f"{s['median']:.3f} ({s['min']:.3f}-{s['max']:.3f})")
        w, nj = r[main]["median"], r["ninja"]["median"]
        cells.append(f"{w / nj:.2f}x")
        # Each rep runs the tools back to back, so a rep's ratio shares its machine's mood:
        # on a noisy VM the median of these is steadier than the ratio of the medians.
        pairs = [a / b for a, b in zip(r[main]["all"], r["ninja"]["all"])]
        cells.append(f"{statistics.median(pairs):.2f}x ({min(pairs):.2f}-{max(pairs):.2f})")
        if "floor" in r:
            # Paired as the ratio is: the median of each rep's difference, with its range.
            for t in (main, "ninja"):
                over = [(a - b) / r["n"] * 1e6 for a, b in zip(r[t]["all"], r["floor"]["all"])]
                cells.append(f"{statistics.median(over):.0f} ({min(over):.0f} to {max(over):.0f})")
        else:
            cells += ["-", "-"]
        if durable_floor(tools):
            cells.append(f"{(w - r[durable_floor(tools)]['median']) / r['n'] * 1e6:.0f}")
        cells.append(f"{r[main + '_rss_kb'] / 1024:.1f} MiB")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def undo_tail(src, dst, count):
    """Copies the state database `src` to `dst` with the last `count` tasks (by position)
    of its newest run made pending again and their attempts removed: a run 99% done."""
    s = sqlite3.connect(src)
    s.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    shutil.copyfile(src, dst)
    db = sqlite3.connect(dst)
    run_id = db.execute("SELECT id FROM runs ORDER BY seq DESC LIMIT 1").fetchone()[0]
    total = db.execute("SELECT COUNT(*) FROM tasks WHERE run_id=?", (run_id,)).fetchone()[0]
    ids = [f"t{i}" for i in range(total - count, total)]
    db.executemany("UPDATE tasks SET status='pending', reason='', ended_at=NULL, finish_seq=0 "
                   "WHERE run_id=? AND task_id=?", [(run_id, t) for t in ids])
    db.executemany("DELETE FROM attempts WHERE run_id=? AND task_id=?", [(run_id, t) for t in ids])
    db.execute("UPDATE runs SET status='interrupted', ended_at=NULL WHERE id=?", (run_id,))
    db.commit()
    db.close()


def clone_runs(path, count):
    """Fills the state database at `path` with `count` runs, copies of its one run."""
    db = sqlite3.connect(path)
    (run_id,) = db.execute("SELECT id FROM runs").fetchone()
    cols = {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")]
            for t in ["runs", "run_texts", "tasks", "attempts", "events"]}
    for k in range(1, count):
        new = f"{run_id}-{k:05d}"
        for t, names in cols.items():
            key = "id" if t == "runs" else "run_id"
            sel = [("?" if c == key else ("seq + ?" if c == "seq" else c)) for c in names
                   if not (t == "events" and c == "id")]
            names_ = [c for c in names if not (t == "events" and c == "id")]
            params = [new] + ([k] if t == "runs" else [])
            db.execute(f"INSERT INTO {t}({', '.join(names_)}) SELECT {', '.join(sel)} FROM {t} "
                       f"WHERE {key}=?", params + [run_id])
    db.commit()
    db.close()


def machine():
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": os.uname().release,
        "ninja": cmd(["ninja", "--version"]),
        "make": cmd(["make", "--version"]).splitlines()[0] if cmd(["make", "--version"]) else "?",
        "sqlite": sqlite3.sqlite_version,
        "load": open("/proc/loadavg").read().split()[:3],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wfo", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--durable-floor")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--only", default="compare,durable,scale,cli")
    ap.add_argument("--quick", action="store_true", help="1,000 tasks only, fewer runs")
    ap.add_argument("--shapes", default="chain,wide,lattice,diamond",
                    help="DAG shapes of the compare and durable suites")
    ap.add_argument("--lean", action="store_true",
                    help="leave make out of compare, and plain wfo out of durable (a shorter run)")
    ap.add_argument("--json", help="write raw results here")
    ap.add_argument("--keep", action="store_true", help="keep the state databases")
    args = ap.parse_args()
    if args.quick:
        args.reps = min(args.reps, 3)
    b = Bench(args)
    m = machine()
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, ninja {m['ninja']}, "
          f"{m['make']}, SQLite {m['sqlite']}; load average before: {' '.join(m['load'])}; "
          f"{m['date']}")
    suites = {"compare": b.suite_compare, "durable": b.suite_durable, "scale": b.suite_scale,
              "cli": b.suite_cli}
    try:
        for name in args.only.split(","):
            suites[name]()
    finally:
        m["load_after"] = open("/proc/loadavg").read().split()[:3]
        print(f"\nload average after: {' '.join(m['load_after'])}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": m, "results": b.results}, f, indent=1)
        if not args.keep:
            shutil.rmtree(os.path.join(b.out, "state"), ignore_errors=True)


if __name__ == "__main__":
    main()
