"""Driver exclusion (issue 8): rounds of 8 concurrent `wfo resume` of one run. Exactly one
drives; the others exit 5 at once naming it; kill -9 the driver and the next round takes
over. The takeover time is printed as a figure, never asserted."""
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import unittest

from wfo_e2e import WfoTestCase, pids_with_env, wait_for


class ExclusionTest(WfoTestCase):
    ROUNDS = int(os.environ.get("WFO_EXCLUSION_ROUNDS", "100"))

    def test_one_driver_per_run(self):
        self.rid = "ex-" + os.path.basename(self.dir)[-8:]
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              long: {run: sleep 600}
            """)
        p = self.start("run", flow, "--run-id", self.rid)
        self.assertTrue(wait_for(lambda: pids_with_env(f"WFO_RUN_ID={self.rid}") != [], 20))
        # The attempt is committed just after its process is spawned: wait for the row too,
        # so that the run holds one attempt before the rounds add theirs.
        self.assertTrue(wait_for(lambda: len(self.attempts(self.rid, "long")) == 1, 20))
        p.kill()
        p.communicate()
        # The killed run's attempt still reads `running` until a resume recovers it: each
        # round must see a new attempt, not that one (a slow start, as under ASan, showed it).
        self._last_n = len(self.attempts(self.rid, "long"))
        takeovers = []
        for round_no in range(self.ROUNDS):
            t0 = time.monotonic()
            procs = [self.start("resume", self.rid) for _ in range(8)]
            refused, driver = [], None
            deadline = time.monotonic() + 60
            while len(refused) < 7 and time.monotonic() < deadline:
                for q in procs:
                    if q.poll() is not None and q not in refused:
                        refused.append(q)
                time.sleep(0.005)
            self.assertEqual(len(refused), 7, f"round {round_no}: {len(refused)} exited")
            driver = [q for q in procs if q not in refused][0]
            if driver.poll() is not None:
                self.fail(f"round {round_no}: no driver: {driver.communicate()[1]}")
            for q in refused:
                out, err = q.communicate()
                self.assertEqual(q.returncode, 5, err)
                self.assertRegex(err, r"^wfo: error: run %s is being driven by pid %d on host \S+\n"
                                      % (self.rid, driver.pid))
            # The driver really drives: its attempt of `long` starts.
            self.assertTrue(wait_for(lambda: self.running_attempt_by(driver.pid), 30),
                            f"round {round_no}: the driver started no attempt")
            takeovers.append(time.monotonic() - t0)
            driver.send_signal(signal.SIGKILL)
            driver.communicate()
        attempts = self.attempts(self.rid, "long")
        self.assertEqual(len(attempts), self.ROUNDS + 1)
        self.assertEqual({a["status"] for a in attempts[:-1]}, {"interrupted"})
        # Only the last attempt's process may still live; stop it through a final resume's recovery.
        r = self.wfo("cancel", self.rid)
        self.assertEqual(r.code, 0, repr(r))
        # Cancelling a run whose driver died stops what it left running.
        self.assertEqual(pids_with_env(f"WFO_RUN_ID={self.rid}"), [])
        self.assertEqual(self.attempts(self.rid, "long")[-1]["status"], "cancelled")
        print(f"\nexclusion: {self.ROUNDS} rounds of 8 resumes, 7 refused each; takeover "
              f"median {statistics.median(takeovers):.3f}s max {max(takeovers):.3f}s", file=sys.stderr)

    def running_attempt_by(self, pid):
        try:
            rows = self.query("SELECT status FROM attempts WHERE run_id=? ORDER BY number DESC LIMIT 1", self.rid)
            events = self.query("SELECT COUNT(*) AS n FROM attempts WHERE run_id=?", self.rid)
        except Exception:
            return False
        return rows and rows[0]["status"] == "running" and events[0]["n"] >= 1 and \
            self.driver_attempts_grew()

    def driver_attempts_grew(self):
        n = self.query("SELECT COUNT(*) AS n FROM attempts WHERE run_id=?", self.rid)[0]["n"]
        grew = n > getattr(self, "_last_n", 0)
        if grew:
            self._last_n = n
        return grew


if __name__ == "__main__":
    unittest.main()
