"""End-to-end: the commands people read: `wfo logs -f`, `wfo list` with relative times,
`wfo status` as a tree, `--help` of every command, `--version`, and usage errors."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import unittest

from wfo_e2e import WFO, WfoTestCase, pids_with_env, wait_for


class FollowTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          slow:
            run: |
              echo "one $WFO_ATTEMPT"
              while [ ! -e go ]; do sleep 0.05; done
              echo "two $WFO_ATTEMPT"
              test "$WFO_ATTEMPT" -ge 2
            retry: {max_attempts: 2, delay: 100ms}
          other:
            run: while [ ! -e end ]; do sleep 0.05; done
        """

    def attempt_started(self, run_id, task):
        try:
            return bool(self.attempts(run_id, task))
        except Exception:
            return False

    def test_follows_every_attempt_until_the_task_ends(self):
        flow = self.write("flow.yaml", self.FLOW)
        run = self.start("run", flow, "--run-id", "f1", output=os.path.join(self.dir, "run.out"))
        try:
            self.assertTrue(wait_for(lambda: self.attempt_started("f1", "slow"), timeout=20))
            follow = self.start("logs", "f1", "slow", "-f")
            self.assertEqual(follow.stdout.readline(), "one 1\n")  # streamed before `go`
            open(os.path.join(self.dir, "go"), "w").close()
            out, err = follow.communicate(timeout=60)
            # It ended with the task, while `other` still runs.
            self.assertEqual(self.task_statuses("f1")["other"], "running")
        finally:
            open(os.path.join(self.dir, "end"), "w").close()
            run.wait(timeout=60)
        self.assertEqual((follow.returncode, out, err),
                         (0, "two 1\none 2\ntwo 2\n", "wfo: attempt 2 of task 'slow' started\n"))
        self.assertEqual(run.returncode, 0)

    def test_stops_when_no_process_drives_the_run(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              hang: {run: echo started; exec sleep 300}
            """)
        run = self.start("run", flow, "--run-id", "f2")
        try:
            self.assertTrue(wait_for(lambda: self.attempt_started("f2", "hang"), timeout=20))
            self.assertTrue(wait_for(lambda: "started" in self.run_ok("logs", "f2", "hang").out))
            run.send_signal(signal.SIGKILL)
            run.communicate()
            # The store still says `running`; the dead driver's lock says otherwise.
            self.assertEqual(self.attempts("f2", "hang")[0]["status"], "running")
            r = self.run_ok("logs", "f2", "hang", "--follow", timeout=30)
            self.assertEqual(r.out, "started\n")
        finally:
            for pid in pids_with_env("WFO_RUN_ID=f2"):
                os.kill(pid, signal.SIGKILL)

    def test_follow_needs_a_task(self):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: 'true'}\n")
        self.run_ok("run", flow, "--run-id", "f3")
        r = self.wfo("logs", "f3", "-f")
        self.assertEqual((r.code, r.err), (2, "wfo: error: -f follows one task\n"
                                              "  name it: wfo logs f3 TASK -f\n"))
        r = self.wfo("logs", "f3", "nope", "-f")
        self.assertEqual(r.code, 2)
        self.assertEqual(r.err, "wfo: error: run f3 has no task 'nope'\n"
                                "  see its tasks with 'wfo status f3'\n")
        self.assertEqual(self.run_ok("logs", "f3", "a", "-f").out, "")


class PrintedCommandsTest(WfoTestCase):
    def test_printed_commands_carry_an_explicit_state(self):
        # A command wfo prints for the user to paste names the database --state named (in
        # the current folder there is none): after a failure, an approval and a busy run.
        env = {"WFO_STATE": ""}
        state = os.path.join(self.dir, "elsewhere", "s.db")
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              review: {approval: {message: go?}}
              ship: {needs: review, run: 'exit 1'}
            """)
        r = self.wfo("run", flow, "--state", state, "--run-id", "r1", env=env)
        self.assertEqual(r.code, 3, repr(r))
        r = self.wfo("approve", "r1", "--task", "review", "--state", state, env=env)
        self.assertEqual((r.code, r.err.splitlines()[-1]),
                         (0, f"  continue with: wfo resume r1 --state {state}"))
        r = self.wfo("resume", "r1", "--state", state, env=env)
        self.assertEqual((r.code, r.err.splitlines()[-1]), (
            1, f"  inspect: wfo status r1 --state {state}; fix, then: wfo resume r1 --state {state}"))
        # The printed command works as printed.
        r = self.wfo(*f"resume r1 --state {state}".split(), env=env)
        self.assertEqual(r.code, 1, repr(r))
        self.assertEqual(self.run_status_at(state, "r1"), "failed")
        self.assertFalse(os.path.exists(self.state), "the default database was made")

    def run_status_at(self, state, run_id):
        with sqlite3.connect(state) as con:
            return con.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()[0]


class ListTest(WfoTestCase):
    def test_table_with_relative_times_and_durations(self):
        ok = self.write("ok.yaml", "version: 1\nname: nightly\ntasks:\n  a: {run: 'true'}\n")
        bad = self.write("bad.yaml", "version: 1\ntasks:\n  b: {run: exit 1}\n")
        self.run_ok("run", ok, "--run-id", "first-run")
        self.run_ok("run", bad, "--run-id", "r2", code=1)
        out = self.run_ok("list").out.splitlines()
        self.assertEqual(out[0], "ID         STATUS            STARTED    DURATION  WORKFLOW")
        self.assertRegex(out[1], r"^r2         failed            \d+s ago +\d+ms +bad$")
        self.assertEqual(out[2], "           task failed: b")
        self.assertRegex(out[3], r"^first-run  succeeded         \d+s ago +\d+ms +nightly$")
        self.assertEqual(len(out), 4)
        only = self.run_ok("list", "--status", "succeeded").out.splitlines()
        self.assertEqual([l.split()[0] for l in only], ["ID", "first-run"])


class StatusTreeTest(WfoTestCase):
    def test_tasks_as_a_tree_in_dependency_order(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              bottom: {needs: [left, right], run: "true"}
              left: {needs: top, run: "true"}
              top: {run: "true"}
              right:
                needs: top
                run: test "$WFO_ATTEMPT" -ge 2
                retry: {max_attempts: 2, delay: 100ms}
              alone: {run: exit 3}
              after: {needs: alone, run: "true"}
            """)
        self.run_ok("run", flow, "--run-id", "t1", code=1)
        out = re.sub(r"in \d+ms", "in Dms", self.run_ok("status", "t1").out)
        self.assertRegex(out, r"^run t1 \(flow\) failed\n  started \S+ by \S+, ended \S+\n"
                              r"  reason: task failed: alone\n")
        tree = out.split("reason: task failed: alone\n", 1)[1]
        self.assertEqual(tree,
                         "  ✓ top succeeded\n"
                         "  │     attempt 1 succeeded in Dms\n"
                         "  ├─ ✓ left succeeded\n"
                         "  │        attempt 1 succeeded in Dms\n"
                         "  └─ ✓ right succeeded\n"
                         "     │     attempt 1 failed in Dms: exit code 1\n"
                         "     │     attempt 2 succeeded in Dms, after 100ms (exit code 1)\n"
                         "     └─ ✓ bottom succeeded (also needs left)\n"
                         "              attempt 1 succeeded in Dms\n"
                         "  ✗ alone failed: exit code 3\n"
                         "  │     attempt 1 failed in Dms: exit code 3\n"
                         "  └─ ⊘ after skipped: need 'alone' failed\n")
        # The tree comes from the task graph stored with the run: tasks in topological
        # order, each with the positions of its needs.
        graph = json.loads(self.query("SELECT dag FROM run_texts WHERE run_id='t1'")[0]["dag"])
        ids = [entry[0] for entry in graph]
        self.assertEqual(sorted(ids), ["after", "alone", "bottom", "left", "right", "top"])
        for k, (_, needs) in enumerate(graph):
            self.assertTrue(all(n < k for n in needs), graph)
        self.assertEqual({task: sorted(ids[n] for n in needs) for task, needs in graph},
                         {"top": [], "left": ["top"], "right": ["top"], "bottom": ["left", "right"],
                          "alone": [], "after": ["alone"]})
        # Status reads the graph, not the workflow: with the stored text spoilt, the same tree.
        stored = self.query("SELECT dag, workflow_text FROM run_texts WHERE run_id='t1'")[0]
        with sqlite3.connect(self.state) as con:
            con.execute("UPDATE run_texts SET workflow_text='tasks: [' WHERE run_id='t1'")
        self.assertEqual(re.sub(r"in \d+ms", "in Dms", self.run_ok("status", "t1").out), out)
        with sqlite3.connect(self.state) as con:
            con.execute("UPDATE run_texts SET workflow_text=? WHERE run_id='t1'",
                        (stored["workflow_text"],))
        # A run made before schema version 2 has no graph, and a hand-edited one may be
        # unreadable: status draws the same tree from the workflow text stored with the run.
        for dag in ("", "{not json", '[["top",[5]]]'):
            with sqlite3.connect(self.state) as con:
                con.execute("UPDATE run_texts SET dag=? WHERE run_id='t1'", (dag,))
            again = re.sub(r"in \d+ms", "in Dms", self.run_ok("status", "t1").out)
            self.assertEqual(again, out, f"dag={dag!r}")


class HelpTest(WfoTestCase):
    def test_every_command_has_complete_help(self):
        top = self.run_ok("--help").out
        self.assertTrue(top.startswith("wfo: run workflows of tasks as a DAG"), top)
        commands = re.findall(r"(?m)^  (\w+) {2,}\S", top.split("Subcommands:", 1)[1])
        self.assertEqual(set(commands), {"run", "resume", "approve", "reject", "approvals",
                                         "status", "list", "logs", "stats", "cancel",
                                         "validate", "graph"})
        self.assertNotIn("__complete", top)
        for c in commands:
            out = self.run_ok(c, "--help").out
            self.assertIn(f"Usage: wfo {c} ", out)
            lines = out.splitlines() + [""]
            for line, after in zip(lines, lines[1:]):
                # flags, then type names (TEXT, INT:POSITIVE, TEXT:{dot,mermaid}, ...)
                m = re.match(r"^  (-\S+)((?: (?:[A-Z]+\S*|\.\.\.))*)(?: +(\S.*))?$", line)
                if m:  # an option: its description follows, on its line or the next
                    self.assertTrue(m.group(3) or re.match(r"^ {20,}\S", after),
                                    f"{c}: undocumented {line!r}")

    def test_version_names_the_schema(self):
        self.assertRegex(self.run_ok("--version").out, r"^wfo \d+\.\d+\.\d+ \(state schema \d+\)\n$")

    def test_usage_errors_are_one_line_and_a_hint(self):
        for args in [["bogus"], ["run"], ["list", "--limit", "0"], ["run", "-j"]]:
            r = self.wfo(*args)
            self.assertEqual(r.code, 2, args)
            lines = r.err.splitlines()
            self.assertEqual(len(lines), 2, r.err)
            self.assertTrue(lines[0].startswith("wfo: error: "), r.err)
            self.assertTrue(lines[1].startswith("  "), r.err)


if __name__ == "__main__":
    unittest.main()
