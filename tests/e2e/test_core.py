"""End-to-end: run, status, list, logs, failure and resume, through the real binary."""
import json
import os
import unittest

from wfo_e2e import WfoTestCase, WORKFLOWS


class HelloTest(WfoTestCase):
    def test_hello_runs_and_hands_output_downstream(self):
        r = self.run_ok("run", os.path.join(WORKFLOWS, "hello.yaml"))
        run_id = self.run_id_of(r)
        self.assertRegex(run_id, r"^r-\d{8}-\d{6}-[0-9a-f]{4}$")
        self.assertEqual(self.task_statuses(run_id), {"greet": "succeeded", "answer": "succeeded"})
        self.assertEqual(self.run_status(run_id), "succeeded")
        logs = self.run_ok("logs", run_id, "answer").out
        self.assertEqual(logs, "greet said 'hello, world'\n")
        out = json.loads(self.run_ok("status", run_id, "--json").out)
        self.assertEqual(out["tasks"][0]["outputs"], {"greeting": "hello, world"})
        self.assertIn(f"hello from greet (run {run_id})", self.run_ok("logs", run_id, "greet").out)


class DiamondTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          top:
            run: echo "top $(date +%s.%N)" >> ledger
          left:
            needs: top
            run: |
              echo "left-start $(date +%s.%N)" >> ledger
              sleep 0.6
              echo "left-end $(date +%s.%N)" >> ledger
          right:
            needs: top
            run: |
              echo "right-start $(date +%s.%N)" >> ledger
              sleep 0.6
              echo "right-end $(date +%s.%N)" >> ledger
          bottom:
            needs: [left, right]
            run: echo "bottom $(date +%s.%N)" >> ledger
        """

    def ledger(self):
        out = {}
        for line in self.read("ledger").splitlines():
            k, v = line.split()
            out[k] = float(v)
        return out

    def test_middle_tasks_overlap_with_j2(self):
        flow = self.write("diamond.yaml", self.FLOW)
        run_id = self.run_id_of(self.run_ok("run", flow, "-j2"))
        t = self.ledger()
        # Both middle tasks started before either ended: they ran at the same time.
        self.assertLess(t["left-start"], t["right-end"])
        self.assertLess(t["right-start"], t["left-end"])
        self.assertLess(t["top"], min(t["left-start"], t["right-start"]))
        self.assertGreater(t["bottom"], max(t["left-end"], t["right-end"]))
        self.assertEqual(set(self.task_statuses(run_id).values()), {"succeeded"})

    def test_j1_serialises(self):
        flow = self.write("diamond.yaml", self.FLOW)
        self.run_ok("run", flow, "-j1")
        t = self.ledger()
        first, second = sorted(["left", "right"], key=lambda k: t[k + "-start"])
        self.assertLessEqual(t[first + "-end"], t[second + "-start"])


class FailureResumeTest(WfoTestCase):
    def test_failure_skips_dependents_then_fix_and_resume(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build:
                run: echo built > build.out
              check:
                needs: build
                run: test -f fixed
              ship:
                needs: check
                run: echo shipped > ship.out
              docs:
                run: echo docs > docs.out
            """)
        r = self.wfo("run", flow)
        self.assertEqual(r.code, 1, repr(r))
        run_id = self.run_id_of(r)
        self.assertIn(f"wfo: run {run_id} failed: task failed: check", r.err)
        self.assertEqual(self.task_statuses(run_id),
                         {"build": "succeeded", "check": "failed", "ship": "skipped",
                          "docs": "succeeded"})
        self.assertEqual(self.run_status(run_id), "failed")
        self.assertEqual(self.attempts(run_id, "check")[0]["reason"], "exit code 1")
        failed = json.loads(self.run_ok("list", "--status", "failed", "--json").out)
        self.assertEqual([x["id"] for x in failed], [run_id])
        # Fix what failed, then resume: build and docs are not run again.
        self.write("fixed", "")
        os.remove(os.path.join(self.dir, "build.out"))
        r = self.run_ok("resume", run_id)
        self.assertEqual(set(self.task_statuses(run_id).values()), {"succeeded"})
        self.assertFalse(os.path.exists(os.path.join(self.dir, "build.out")))
        self.assertEqual(self.read("ship.out"), "shipped\n")
        self.assertEqual(len(self.attempts(run_id, "build")), 1)
        self.assertEqual([a["status"] for a in self.attempts(run_id, "check")], ["failed", "succeeded"])
        self.assertEqual(self.run_status(run_id), "succeeded")

    def test_retry_with_fixed_backoff_records_delays(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              flaky:
                retry: {max_attempts: 3, backoff: fixed, delay: 300ms}
                run: |
                  date +%s.%N >> times
                  [ "$WFO_ATTEMPT" = 3 ]
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        attempts = self.attempts(run_id, "flaky")
        self.assertEqual([a["status"] for a in attempts], ["failed", "failed", "succeeded"])
        self.assertEqual([a["delay_ms"] for a in attempts], [0, 300, 300])
        self.assertEqual(attempts[1]["delay_reason"], "exit code 1")
        times = [float(x) for x in self.read("times").split()]
        self.assertGreaterEqual(times[1] - times[0], 0.29)
        self.assertGreaterEqual(times[2] - times[1], 0.29)

    def test_timeout_kills_the_attempt(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              slow:
                timeout: 300ms
                run: sleep 30
            """)
        r = self.wfo("run", flow)
        self.assertEqual(r.code, 1, repr(r))
        run_id = self.run_id_of(r)
        a = self.attempts(run_id, "slow")[0]
        self.assertEqual(a["status"], "timed_out")
        self.assertEqual(a["reason"], "timed out after 300ms")


class ObserveTest(WfoTestCase):
    def test_status_list_logs_json_shapes(self):
        flow = self.write("flow.yaml", """
            version: 1
            name: shapes
            params:
              who: {default: world}
            tasks:
              a:
                run: echo "hi ${{ params.who }}"; echo "x=1" >> "$WFO_OUTPUT"
              b:
                needs: a
                run: echo bye >&2
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, "-p", "who=you"))
        doc = self.status_json(run_id)
        self.assertEqual(doc["id"], run_id)
        self.assertEqual(doc["workflow"], "shapes")
        self.assertEqual(doc["status"], "succeeded")
        self.assertEqual(doc["params"], {"who": "you"})
        self.assertRegex(doc["started_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertRegex(doc["ended_at"], r"Z$")
        a = doc["tasks"][0]
        self.assertEqual((a["id"], a["status"], a["outputs"]), ("a", "succeeded", {"x": "1"}))
        att = a["attempts"][0]
        self.assertEqual((att["number"], att["status"], att["exit_code"], att["delay_ms"]),
                         (1, "succeeded", 0, 0))
        self.assertIsInstance(att["duration_ms"], int)
        runs = json.loads(self.run_ok("list", "--json").out)
        self.assertEqual(len(runs), 1)
        self.assertNotIn("tasks", runs[0])
        self.assertEqual(self.run_ok("logs", run_id, "a").out, "hi you\n")
        self.assertEqual(self.run_ok("logs", run_id, "b").out, "bye\n")
        # `status` without an id shows the newest run.
        self.assertIn(f"run {run_id} (shapes) succeeded", self.run_ok("status").out)
        r = self.wfo("logs", run_id, "nope")
        self.assertEqual(r.code, 2)
        self.assertEqual(r.err, f"wfo: error: run {run_id} has no task 'nope'\n"
                                f"  see its tasks with 'wfo status {run_id}'\n")

    def test_run_json_is_the_only_stdout(self):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: echo hi}\n")
        r = self.run_ok("run", flow, "--json", "--run-id", "ci-42")
        doc = json.loads(r.out)
        self.assertEqual(doc["id"], "ci-42")
        self.assertEqual(doc["tasks"][0]["status"], "succeeded")
        r = self.wfo("run", flow, "--run-id", "ci-42")
        self.assertEqual(r.code, 2)
        self.assertIn("a run with id 'ci-42' already exists", r.err)

    def test_dry_run_prints_plan_and_runs_nothing(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              b: {needs: a, run: touch b}
              a: {run: touch a}
            """)
        r = self.run_ok("run", flow, "--dry-run")
        self.assertEqual(r.out, "workflow flow: 2 tasks\n  a\n  b (needs a)\n")
        # With --json, stdout is one JSON document and nothing else.
        r = self.run_ok("run", flow, "--dry-run", "--json")
        self.assertEqual(json.loads(r.out), {"workflow": "flow", "tasks": [
            {"id": "a", "needs": [], "approval": False},
            {"id": "b", "needs": ["a"], "approval": False}]})
        self.assertFalse(os.path.exists(os.path.join(self.dir, "a")))
        self.assertFalse(os.path.exists(self.state))
        one = self.write("one.yaml", "version: 1\ntasks:\n  a: {run: touch a}\n")
        self.assertEqual(self.run_ok("run", one, "--dry-run").out, "workflow one: 1 task\n  a\n")

    def test_graph_dot_renders(self):
        import shutil, subprocess
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build-app: {run: "true"}
              test-app: {needs: build-app, run: "true"}
            """)
        dot = self.run_ok("graph", flow).out
        self.assertIn('"build-app" -> "test-app";', dot)
        if shutil.which("dot"):
            p = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("<svg", p.stdout)
        mer = self.run_ok("graph", flow, "--format", "mermaid").out
        self.assertEqual(mer, 'flowchart LR\n  t0["build-app"]\n  t1["test-app"]\n  t0 --> t1\n')

    def test_graph_groups_a_sub_workflow_s_tasks(self):
        # They were drawn loose, with no edge to the task that runs them. Now in a group of
        # their own (nested as the files are), started by a dashed edge; a for_each is one
        # node, marked.
        import shutil, subprocess
        self.write("inner.yaml", """
            version: 1
            tasks:
              one: {run: "true"}
              two: {needs: one, uses: leaf.yaml}
            """)
        self.write("leaf.yaml", "version: 1\ntasks:\n  x: {run: 'true'}\n")
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              a: {run: "true"}
              s: {needs: a, uses: inner.yaml}
              fe: {needs: s, for_each: "${{ fromJSON('[1]') }}", run: "true"}
            """)
        mer = self.run_ok("graph", flow, "--format", "mermaid").out
        self.assertEqual(mer, "\n".join([
            "flowchart LR", '  t0["a"]', '  t1["s"]', '  subgraph s1 ["s: inner.yaml"]',
            '    t2["s/one"]', '    t3["s/two"]', '    subgraph s3 ["s/two: leaf.yaml"]',
            '      t4["s/two/x"]', "    end", "  end", '  t5["fe (for_each)"]',
            "  t0 --> t1", "  t1 -.-> t2", "  t2 --> t3", "  t3 -.-> t4", "  t1 --> t5", ""]))
        dot = self.run_ok("graph", flow).out
        self.assertIn('  subgraph "cluster_s" {\n    label="s: inner.yaml";\n', dot)
        self.assertIn('    subgraph "cluster_s/two" {\n      label="s/two: leaf.yaml";\n', dot)
        self.assertIn('  "s/two" -> "s/two/x" [style=dashed];\n', dot)
        self.assertIn('  "fe" [shape=box3d];\n', dot)
        if shutil.which("dot"):
            p = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
