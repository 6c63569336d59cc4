"""End-to-end: SIGINT/SIGTERM interrupt (exit 130) and resume; one driver per run; cancel."""
import json
import os
import signal
import sqlite3
import unittest

from wfo_e2e import WfoTestCase, pids_with_env, wait_for


def caught(pid, sig):
    """True when process `pid` has a handler for `sig` (/proc/PID/status, SigCgt)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


class SignalTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          first:
            run: echo first >> ledger
          slow:
            needs: first
            run: |
              echo "slow-start $WFO_ATTEMPT" >> ledger
              sleep 2
              echo "slow-end $WFO_ATTEMPT" >> ledger
          last:
            needs: slow
            run: echo last >> ledger
        """

    def start_and_wait_for_slow(self, *extra):
        flow = self.write("flow.yaml", self.FLOW)
        p = self.start("run", flow, "--run-id", "sig-1", *extra)
        self.assertTrue(wait_for(lambda: "slow-start" in self.read_ledger(), timeout=20))
        # The start record follows within 10 ms (docs/reliability.md); a kill before it
        # would leave no attempt to recover, which is not what these tests are about.
        self.assertTrue(wait_for(self.slow_recorded, timeout=20))
        return p

    def slow_recorded(self):
        try:
            return [a["status"] for a in self.attempts("sig-1", "slow")] == ["running"]
        except sqlite3.Error:  # the database may not be there yet
            return False

    def read_ledger(self):
        try:
            return self.read("ledger")
        except FileNotFoundError:
            return ""

    def check_interrupt(self, sig):
        p = self.start_and_wait_for_slow()
        p.send_signal(sig)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("wfo: run sig-1 interrupted; continue with: wfo resume sig-1", err)
        self.assertEqual(self.run_status("sig-1"), "interrupted")
        a = self.attempts("sig-1", "slow")
        self.assertEqual(a[0]["status"], "interrupted")
        self.assertEqual(pids_with_env("WFO_RUN_ID=sig-1"), [])
        r = self.run_ok("resume", "sig-1")
        self.assertEqual(self.run_status("sig-1"), "succeeded")
        # The interrupted attempt did not use up the budget (max_attempts 1): attempt 2 ran.
        self.assertEqual([x["status"] for x in self.attempts("sig-1", "slow")],
                         ["interrupted", "succeeded"])
        ledger = self.read("ledger").split("\n")
        self.assertEqual(ledger.count("first"), 1)
        self.assertIn("slow-end 2", ledger)
        self.assertNotIn("slow-end 1", ledger)

    def test_sigint(self):
        self.check_interrupt(signal.SIGINT)

    def test_sigterm(self):
        self.check_interrupt(signal.SIGTERM)

    def test_ctrl_c_leaves_for_each_and_sub_workflow_tasks_pending(self):
        # They stayed running inside an interrupted run, as if something still ran them.
        self.write("child.yaml", "version: 1\ntasks:\n  c: {run: 'touch c-started; sleep 30'}\n")
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              fe: {for_each: "${{ fromJSON('[1]') }}", run: 'touch fe-started; sleep 30'}
              s: {uses: child.yaml}
            """)
        p = self.start("run", flow, "--run-id", "sig-2")
        started = lambda: all(os.path.exists(os.path.join(self.dir, f))
                              for f in ("fe-started", "c-started"))
        self.assertTrue(wait_for(lambda: started() and all(
            [a["status"] for a in self.attempts("sig-2", t)] == ["running"]
            for t in ("fe[0]", "s/c")), timeout=20))
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 130, err)
        self.assertEqual(self.task_statuses("sig-2"),
                         {"fe": "pending", "fe[0]": "pending", "s": "pending", "s/c": "pending"})

    def test_ctrl_c_ends_a_wait_for_a_pipe_that_never_ends(self):
        # SIGINT and SIGTERM are blocked outside the drive's waits (SignalGuard), so a workflow
        # or secret file read from a pipe whose writer never finished ignored Ctrl-C.
        flow = self.write("flow.yaml", """
            version: 1
            params:
              token: {secret: true}
            tasks:
              a: {run: 'true'}
            """)
        fifo = os.path.join(self.dir, "secrets.fifo")
        os.mkfifo(fifo)
        for args, path in ((["validate", "/dev/stdin"], "/dev/stdin"),
                           (["run", "/dev/stdin"], "/dev/stdin"),
                           (["run", flow, "--secret-file", fifo], fifo)):
            for sig in (signal.SIGINT, signal.SIGTERM):
                r, w = os.pipe()
                writer = os.open(fifo, os.O_RDWR)  # the FIFO's writer, which never writes
                try:
                    p = self.start(*args, stdin=r)
                    os.write(w, b"version: 1\n")  # a start, then the writer stalls
                    # Once wfo's handlers are in (SigCgt), the signal ends the wait whenever
                    # it comes: blocked until then, it is let through in the wait.
                    self.assertTrue(wait_for(lambda: caught(p.pid, signal.SIGINT)), args)
                    p.send_signal(sig)
                    out, err = p.communicate(timeout=20)
                finally:
                    os.close(r)
                    os.close(w)
                    os.close(writer)
                self.assertEqual((p.returncode, out, err),
                                 (130, "", f"wfo: error: interrupted while reading '{path}'\n"),
                                 (args, sig))
        self.assertFalse(os.path.exists(self.state))

    def test_second_driver_refused_then_takeover_after_kill(self):
        p = self.start_and_wait_for_slow()
        r = self.wfo("resume", "sig-1")
        self.assertEqual(r.code, 5, repr(r))
        self.assertRegex(r.err, r"^wfo: error: run sig-1 is being driven by pid %d on host \S+\n" % p.pid)
        p.kill()
        p.communicate()
        # The dead driver's lock is gone with it; a resume takes over, and first stops the
        # attempt the dead driver left running (its `sleep` would end it with slow-end 1).
        r = self.run_ok("resume", "sig-1")
        self.assertEqual(self.run_status("sig-1"), "succeeded")
        statuses = [x["status"] for x in self.attempts("sig-1", "slow")]
        self.assertEqual(statuses, ["interrupted", "succeeded"])
        ledger = self.read("ledger").split("\n")
        self.assertNotIn("slow-end 1", ledger)
        self.assertEqual(ledger.count("slow-end 2"), 1)
        self.assertEqual(pids_with_env("WFO_RUN_ID=sig-1"), [])

    def test_status_and_list_show_a_run_without_driver_as_interrupted(self):
        # After kill -9 the record says running until a resume; status and list said so for
        # ever. (Apart from the takeover test, and nothing before the kill: these commands
        # take time under a sanitizer, and the 2 s attempt may end meanwhile.)
        p = self.start_and_wait_for_slow()
        listed = lambda *a: [x["id"] for x in json.loads(self.run_ok("list", "--json", *a).out)]
        p.kill()
        p.communicate()
        self.assertEqual(self.run_status("sig-1"), "running")
        doc = self.status_json("sig-1")
        self.assertEqual((doc["status"], doc["reason"]), ("interrupted", "its driver stopped"))
        self.assertEqual(listed("--status", "interrupted"), ["sig-1"])
        self.assertEqual(listed("--status", "running"), [])
        self.run_ok("resume", "sig-1")  # stops what the dead driver left, and finishes
        self.assertEqual(self.run_status("sig-1"), "succeeded")

    def test_cancel_from_another_process(self):
        p = self.start_and_wait_for_slow()
        r = self.run_ok("cancel", "sig-1")
        self.assertIn("asked the driver of run sig-1 to cancel it", r.err)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 4, err)
        self.assertEqual(self.run_status("sig-1"), "cancelled")
        st = self.task_statuses("sig-1")
        self.assertEqual((st["first"], st["slow"], st["last"]), ("succeeded", "cancelled", "cancelled"))
        self.assertEqual(self.attempts("sig-1", "slow")[0]["status"], "cancelled")
        self.assertEqual(pids_with_env("WFO_RUN_ID=sig-1"), [])


if __name__ == "__main__":
    unittest.main()
