"""Durability modes (issue 7, docs/reliability.md "Durability modes"): `--durability full` on
`run` and `resume`, or `durability: full` in the workflow (the flag wins), syncs every
commit to disk (synchronous=FULL), where the default syncs only approvals, rejections,
cancellations and a run's final state. What a test can see from outside is the number of
syncs: wfo's SQLite VFS (src/store/vfs.hpp) fails the N-th one, so the smallest N a run
succeeds with is one more than the syncs it made up to its final state; and
the group-commit writer thread full mode commits through (/proc/<pid>/task). Crashes in
full mode are covered by test_torture.
"""
import contextlib
import os
import sys
import unittest

from wfo_e2e import WfoTestCase, wait_for

FLOW = """
    version: 1
    {durability}
    tasks:
      a: {{run: 'echo "a $WFO_ATTEMPT" >> "$LEDGER"'}}
      b: {{needs: a, run: 'echo "b $WFO_ATTEMPT" >> "$LEDGER"'}}
      c: {{needs: b, run: 'echo "c $WFO_ATTEMPT" >> "$LEDGER"'}}
    """
TASKS = 3
# A task that waits for the file $GO, after touching $GO.started.
WAIT = 'touch "$GO.started"; while [ ! -e "$GO" ]; do sleep 0.02; done'


class DurabilityModeTest(WfoTestCase):
    def setUp(self):
        super().setUp()
        self.plain = self.write("plain.yaml", FLOW.format(durability=""))
        self.full = self.write("full.yaml", FLOW.format(durability="durability: full"))

    def syncs(self, flow, *flags):
        """How many times `wfo run flow flags` syncs the state database: runs it, each time
        in a fresh database, with the N-th sync failing, N = 1, 2, ..., until a run succeeds.
        Each run before that must stop with exit 5."""
        for n in range(1, 200):
            state = os.path.join(self.dir, f"s{flags}{os.path.basename(flow)}{n}", "state.db")
            ledger = os.path.join(os.path.dirname(state), "ledger")
            log = os.path.join(os.path.dirname(state), "faults")
            r = self.wfo("run", flow, "-j1", *flags, env={
                "WFO_STATE": state, "LEDGER": ledger, "WFO_FAULT_SYNC": str(n),
                "WFO_FAULT_LOG": log})
            if r.code == 0:  # a fault past the final state (the checkpoint at close) is harmless
                with open(ledger) as f:
                    self.assertEqual(sorted(f.read().split("\n")), ["", "a 1", "b 1", "c 1"])
                return n - 1
            self.assertEqual(r.code, 5, f"WFO_FAULT_SYNC={n}: {r!r}")
        self.fail("a run that never ends its syncs")

    def test_full_syncs_every_commit_and_the_flag_wins(self):
        normal = self.syncs(self.plain)
        flag = self.syncs(self.plain, "--durability", "full")
        in_file = self.syncs(self.full)
        # Each task's success at least, on top of what the default syncs: in a chain each
        # success is on disk before the next task starts, so no two share a sync
        # (independent tasks' may). A start record goes with the attempt's end when the
        # attempt ends within 10 ms (8-9 syncs here); a slower attempt's start is synced
        # alone (docs/reliability.md).
        self.assertGreaterEqual(flag, normal + TASKS, f"default {normal}, full {flag}")
        self.assertGreaterEqual(in_file, normal + TASKS, "durability: full in the workflow")
        self.assertEqual(self.syncs(self.full, "--durability", "normal"), normal,
                         "the flag wins over the workflow")
        print(f"\ndurability: syncs of a {TASKS}-task run: default {normal}, full {flag} and "
              f"{in_file}", file=sys.stderr)

    @contextlib.contextmanager
    def while_waiting(self, flow, *flags):
        """Starts `wfo run flow flags` and yields its process once the task running WAIT has
        started; then lets that task end and checks that the run succeeded. $GO is set to a
        file of the test's folder, removed first with its `.started` marker."""
        go = os.path.join(self.dir, "go")
        self.env["GO"] = go
        for path in (go, go + ".started"):
            if os.path.exists(path):
                os.remove(path)
        with self.started("run", flow, *flags) as p:
            self.assertTrue(wait_for(lambda: os.path.exists(go + ".started"), timeout=20))
            yield p
            open(go, "w").close()
            out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)

    def threads_while_running(self, *flags):
        """wfo's thread count (/proc/<pid>/task) while its one task waits for a file."""
        flow = self.write("wait.yaml", """
            version: 1
            tasks:
              a: {run: '""" + WAIT + """'}
            """)
        with self.while_waiting(flow, *flags) as p:
            # A start record no other commit takes along is written 10 ms after the start,
            # in either mode (in full, the writer is woken for it): the database shows the
            # long attempt running.
            self.assertTrue(wait_for(lambda: self.query(
                "SELECT t.status FROM tasks t JOIN runs r ON r.id = t.run_id "
                "WHERE r.status = 'running'") == [{"status": "running"}], timeout=20))
            return len(os.listdir(f"/proc/{p.pid}/task"))

    def test_a_success_nothing_starts_on_is_written_while_others_run(self):
        # In the default mode a success that no task starts on yet is held for the next
        # commit, as a start is, and written at the latest 10 ms later (docs/reliability.md):
        # `quick` shows succeeded, and `slow` running, while `slow` still runs.
        flow = self.write("beside.yaml", """
            version: 1
            tasks:
              quick: {run: 'echo quick >> "$GO.ledger"'}
              slow: {run: '""" + WAIT + """'}
              last: {needs: slow, run: 'echo last >> "$GO.ledger"'}
            """)
        with self.while_waiting(flow, "-j2"):
            want = [{"task_id": "last", "status": "pending"},
                    {"task_id": "quick", "status": "succeeded"},
                    {"task_id": "slow", "status": "running"}]
            self.assertTrue(wait_for(lambda: self.query(
                "SELECT task_id, status FROM tasks ORDER BY task_id") == want, timeout=20),
                self.query("SELECT task_id, status FROM tasks ORDER BY task_id"))
        with open(self.env["GO"] + ".ledger") as f:
            self.assertEqual(f.read(), "quick\nlast\n")
        self.assertEqual(self.query("SELECT task_id, status FROM tasks ORDER BY task_id"),
                         [{"task_id": t, "status": "succeeded"} for t in ("last", "quick", "slow")])

    def test_full_mode_commits_through_the_group_commit_writer(self):
        normal = self.threads_while_running()
        full = self.threads_while_running("--durability", "full")
        if os.environ.get("WFO_SANITIZED"):
            self.assertGreater(full, normal)  # TSan starts a thread of its own beside wfo's
        else:
            self.assertEqual(full, normal + 1)

    def test_full_mode_across_a_gate_and_resume(self):
        flow = self.write("gated.yaml", """
            version: 1
            durability: full
            tasks:
              build: {run: 'echo "value=7" >> "$WFO_OUTPUT"; echo build >> "$LEDGER"'}
              review: {needs: build, approval: {message: 'ship?'}}
              ship:
                needs: [build, review]
                run: 'echo "ship ${{ tasks.build.outputs.value }}" >> "$LEDGER"'
            """)
        self.env["LEDGER"] = os.path.join(self.dir, "ledger")
        self.run_ok("run", flow, "--run-id", "g", code=3)
        self.assertEqual(self.task_statuses("g"), {"build": "succeeded",
                                                   "review": "waiting_approval",
                                                   "ship": "pending"})
        self.run_ok("approve", "g", "--task", "review")
        self.run_ok("resume", "g", "--durability", "full")
        self.assertEqual(self.run_status("g"), "succeeded")
        self.assertEqual(self.read("ledger"), "build\nship 7\n")
        self.assertEqual(self.query("SELECT status FROM gates WHERE run_id='g'"),
                         [{"status": "approved"}])

    def test_a_mode_that_does_not_exist(self):
        r = self.wfo("run", self.plain, "--durability", "fast")
        self.assertEqual(r.code, 2, repr(r))
        self.assertEqual(r.err, "wfo: error: --durability: fast not in {normal,full}\n"
                                "  run 'wfo --help' for usage\n")
        flow = self.write("fast.yaml", FLOW.format(durability="durability: fast"))
        r = self.wfo("run", flow)
        self.assertEqual(r.code, 2, repr(r))
        self.assertEqual(r.err.splitlines()[0],
                         f"{flow}:2:13: error: invalid durability 'fast': use normal or full")
        self.assertFalse(os.path.exists(self.state) and self.query("SELECT id FROM runs"))


if __name__ == "__main__":
    unittest.main()
