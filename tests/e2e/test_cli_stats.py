"""End-to-end: `wfo stats` (durations, attempts, CPU, peak RSS, critical path, waits) and the
Prometheus text exposition of `--metrics`, checked by promtool and by what promtool misses."""
import json
import sqlite3
import os
import re
import shutil
import subprocess
import unittest

from wfo_e2e import WfoTestCase

FLOW = """
    version: 1
    tasks:
      top: {run: "true"}
      hog:
        needs: top
        run: python3 -c 'x = [0] * 10**7; sum(range(3 * 10**6))'
      nap: {needs: top, run: sleep 0.3}
      flaky:
        needs: top
        run: test "$WFO_ATTEMPT" -ge 2
        retry: {max_attempts: 2, delay: 300ms}
      bottom: {needs: [hog, nap, flaky], run: "true"}
    """
NEEDS = {"top": [], "hog": ["top"], "nap": ["top"], "flaky": ["top"],
         "bottom": ["hog", "nap", "flaky"]}


def longest_path(tasks):
    """The heaviest path through NEEDS by busy_ms, as wfo should find it."""
    busy = {t["id"]: t["busy_ms"] for t in tasks}
    best, prev = {}, {}
    for tid in ["top", "hog", "nap", "flaky", "bottom"]:
        before = max(NEEDS[tid], key=lambda n: best[n], default=None)
        best[tid] = busy[tid] + (best[before] if before else 0)
        prev[tid] = before
    # On a tie the later task ends the path, as in wfo (a `bottom` of 0 ms still ends it).
    last = max(reversed(list(best)), key=lambda t: best[t])
    path = []
    while last:
        path.append(last)
        last = prev[last]
    return path[::-1], max(best.values())


def parse_exposition(text):
    """[(kind, name, labels, value)] for every line of a text exposition."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^# (HELP|TYPE) (\w+) (.+)$", line)
        if m:
            out.append((m.group(1), m.group(2), None, m.group(3)))
            continue
        m = re.match(r'^(\w+)\{([^}]*)\} (\S+)$', line)
        if not m:
            raise AssertionError(f"unparsable line: {line!r}")
        out.append(("SAMPLE", m.group(1), m.group(2), m.group(3)))
    return out


class StatsTest(WfoTestCase):
    def setUp(self):
        super().setUp()
        flow = self.write("flow.yaml", FLOW)
        self.metrics = os.path.join(self.dir, "run.prom")
        self.run_ok("run", flow, "--run-id", "s1", "-j4", "--metrics", self.metrics)

    def test_json_figures(self):
        doc = json.loads(self.run_ok("stats", "s1", "--json").out)
        self.assertEqual((doc["run_id"], doc["workflow"], doc["status"]), ("s1", "flow", "succeeded"))
        tasks = {t["id"]: t for t in doc["tasks"]}
        self.assertEqual(list(tasks), ["top", "hog", "nap", "flaky", "bottom"])
        self.assertEqual({k: tasks["flaky"][k] for k in ["attempts", "retries", "failures",
                                                         "backoff_ms"]},
                         {"attempts": 2, "retries": 1, "failures": 1, "backoff_ms": 300})
        self.assertEqual(doc["backoff_wait_ms"], 300)
        self.assertEqual(doc["gate_wait_ms"], 0)
        for t in tasks.values():
            self.assertEqual(t["status"], "succeeded")
            self.assertGreater(t["max_rss_kb"], 0)
            # The span from the first start to the last end holds every attempt (flaky's two).
            self.assertGreaterEqual(t["duration_ms"], t["busy_ms"] - 1)
        # A list of 10**7 references is 80 MB: the peak RSS comes from wait4's rusage.
        self.assertGreater(tasks["hog"]["max_rss_kb"], 60_000)
        self.assertGreater(tasks["hog"]["cpu_user_ms"] + tasks["hog"]["cpu_system_ms"], 0)
        # The critical path is the heaviest path by the time attempts ran.
        path, length = longest_path(doc["tasks"])
        self.assertEqual(doc["critical_path"], {"tasks": path, "length_ms": length})
        self.assertEqual([t["id"] for t in doc["tasks"] if t["critical"]], path)
        self.assertLessEqual(length, doc["wall_ms"])
        status = self.status_json("s1")
        hog = [a for t in status["tasks"] if t["id"] == "hog" for a in t["attempts"]][0]
        self.assertEqual((tasks["hog"]["cpu_user_ms"], tasks["hog"]["busy_ms"]),
                         (hog["cpu_user_ms"], hog["duration_ms"]))

    def test_text_figures(self):
        out = self.run_ok("stats", "s1").out
        doc = json.loads(self.run_ok("stats", "s1", "--json").out)
        self.assertRegex(out, r"^run s1 \(flow\) succeeded in \S+\n\n"
                              r"  TASK +STATUS +DURATION ATTEMPTS +CPU USER +CPU SYS PEAK RSS\n")
        for t in doc["tasks"]:
            mark = r"\*" if t["critical"] else " "
            self.assertRegex(out, f"(?m)^{mark} {t['id']} +succeeded +\\S+ +{t['attempts']} ")
        self.assertIn("critical path (*): " + " -> ".join(doc["critical_path"]["tasks"]) + "\n",
                      out)
        self.assertRegex(out, r"\n  length \S+ of \S+ wall time \(\d+%\)\n"
                              r"waiting: 300ms on retry backoff, 0ms on approval gates\n$")
        self.assertEqual(self.run_ok("stats").out, out)  # the newest run by default

    def test_unknown_run(self):
        r = self.wfo("stats", "nope")
        self.assertEqual(r.code, 2)
        self.assertTrue(r.err.startswith("wfo: error: "), r.err)
        self.assertIn("nope", r.err)

    def test_metrics_pass_promtool_and_have_no_duplicates(self):
        with open(self.metrics) as f:
            text = f.read()
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
        else:
            print("promtool is not installed (Debian package prometheus): own checks only")
        lines = parse_exposition(text)
        series, families, current = set(), [], None
        for kind, name, labels, value in lines:
            if kind in ("HELP", "TYPE"):
                if kind == "HELP":
                    self.assertNotIn(name, families, f"{name} described twice")
                    families.append(name)
                current = name
                continue
            self.assertEqual(name, current, f"sample of {name} outside its family")
            self.assertNotIn((name, labels), series, f"duplicate series {name}{{{labels}}}")
            series.add((name, labels))
            float(value)
        self.assertIn("wfo_task_attempts_total", families)
        doc = json.loads(self.run_ok("stats", "s1", "--json").out)
        samples = {(n, l): float(v) for k, n, l, v in lines if k == "SAMPLE"}
        base = 'workflow="flow",run_id="s1"'
        for t in doc["tasks"]:
            task = base + f',task="{t["id"]}"'
            self.assertEqual(samples[("wfo_task_attempts_total", task)], t["attempts"])
            self.assertEqual(samples[("wfo_task_retries_total", task)], t["retries"])
            self.assertEqual(samples[("wfo_task_failures_total", task)], t["failures"])
            self.assertEqual(samples[("wfo_task_cpu_seconds_total", task + ',mode="user"')],
                             t["cpu_user_ms"] / 1000)
            self.assertEqual(samples[("wfo_task_max_rss_bytes", task)], t["max_rss_kb"] * 1024)
        self.assertEqual(samples[("wfo_run_status", base + ',status="succeeded"')], 1)
        self.assertEqual(samples[("wfo_run_backoff_wait_seconds", base)], 0.3)

    def test_stats_metrics_match_the_run_metrics(self):
        again = os.path.join(self.dir, "stats.prom")
        self.run_ok("stats", "s1", "--metrics", again)
        missing = os.path.join(self.dir, "missing", "m.prom")
        r = self.wfo("stats", "s1", "--metrics", missing)
        folder = os.path.dirname(missing)
        self.assertEqual((r.code, r.err), (2, f"wfo: error: --metrics: no folder '{folder}' to write "
                                              f"'{missing}' in; create it first\n"
                                              "  run 'wfo --help' for usage\n"))
        with open(self.metrics) as a, open(again) as b:
            self.assertEqual(a.read(), b.read())


class InstancesTest(WfoTestCase):
    def test_matrix_instances_stand_for_their_task(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build: {run: "true"}
              test:
                needs: build
                matrix: {suite: [unit, e2e]}
                run: "true"
              ship: {needs: test, run: "true"}
            """)
        self.run_ok("run", flow, "--run-id", "m1")
        doc = json.loads(self.run_ok("stats", "m1", "--json").out)
        ids = [t["id"] for t in doc["tasks"]]
        self.assertEqual(sorted(ids), ["build", "ship", "test[suite=e2e]", "test[suite=unit]"])
        # The path's times are pinned (a run of `true` tasks takes 0 or 1 ms each, so the
        # path would depend on the clock): the slower instance stands for `test`, and `ship`,
        # which took 0 ms, still ends the path (a tie once stopped it at its need).
        times = {"build": ("00.000", "00.005"), "test[suite=unit]": ("01.000", "01.003"),
                 "test[suite=e2e]": ("01.000", "01.007"), "ship": ("02.000", "02.000")}
        with sqlite3.connect(self.state) as con:
            for task, (start, end) in times.items():
                con.execute("UPDATE attempts SET started_at=?, ended_at=? "
                            "WHERE run_id='m1' AND task_id=?",
                            (f"2026-01-01T00:00:{start}Z", f"2026-01-01T00:00:{end}Z", task))
        doc = json.loads(self.run_ok("stats", "m1", "--json").out)
        self.assertEqual(doc["critical_path"],
                         {"tasks": ["build", "test[suite=e2e]", "ship"], "length_ms": 12})
        self.assertEqual({t["id"]: t["critical"] for t in doc["tasks"]},
                         {"build": True, "test[suite=unit]": False, "test[suite=e2e]": True,
                          "ship": True})


class GateWaitTest(WfoTestCase):
    def test_time_at_a_gate_is_counted(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build: {run: "true"}
              review: {needs: build, approval: {message: "ok?"}}
              ship: {needs: review, run: "true"}
            """)
        self.run_ok("run", flow, "--run-id", "g1", code=3)
        self.run_ok("approve", "g1")
        self.run_ok("resume", "g1")
        doc = json.loads(self.run_ok("stats", "g1", "--json").out)
        review = [t for t in doc["tasks"] if t["id"] == "review"][0]
        self.assertGreater(review["gate_wait_ms"], 0)
        self.assertEqual(doc["gate_wait_ms"], review["gate_wait_ms"])
        self.assertEqual(review["attempts"], 0)
        self.assertRegex(self.run_ok("stats", "g1").out,
                         r"waiting: 0ms on retry backoff, \S+ on approval gates\n$")


if __name__ == "__main__":
    unittest.main()
