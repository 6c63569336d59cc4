"""End-to-end: approval gates park the run (exit 3), decisions are recorded, resume goes on."""
import getpass
import json
import os
import pwd
import unittest

from wfo_e2e import WfoTestCase, WORKFLOWS

ME = pwd.getpwuid(os.geteuid()).pw_name


class GateTest(WfoTestCase):
    def flow(self, approvers="[]", extra=""):
        return self.write("flow.yaml", f"""
            version: 1
            tasks:
              build:
                run: echo built > build.out
              review:
                needs: build
                approval: {{message: "ship ${{{{ tasks.build.status }}}}?", approvers: {approvers}{extra}}}
              ship:
                needs: review
                run: echo shipped > ship.out
              side:
                run: sleep 0.3; echo side > side.out
            """)

    def test_park_approve_resume(self):
        r = self.wfo("run", self.flow())
        self.assertEqual(r.code, 3, repr(r))
        run_id = self.run_id_of(r)
        # The independent branch finished while the gate waited.
        self.assertEqual(self.read("side.out"), "side\n")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "ship.out")))
        self.assertEqual(self.run_status(run_id), "waiting_approval")
        self.assertEqual(self.task_statuses(run_id)["review"], "waiting_approval")
        self.assertIn(f"wfo: run {run_id} is waiting for approval of task 'review': ship succeeded?", r.err)
        self.assertIn(f"  approve: wfo approve {run_id} --task review\n", r.err)
        r = self.run_ok("approve", run_id, "--comment", "looks good")
        self.assertIn(f"task 'review' of run {run_id} approved by {ME}", r.err)
        gate = self.query("SELECT * FROM gates WHERE run_id=?", run_id)[0]
        self.assertEqual((gate["status"], gate["decided_by"], gate["comment"]),
                         ("approved", ME, "looks good"))
        dec = self.query("SELECT user, decision, comment FROM decisions WHERE run_id=?", run_id)
        self.assertEqual(dec, [{"user": ME, "decision": "approve", "comment": "looks good"}])
        self.run_ok("resume", run_id)
        self.assertEqual(self.read("ship.out"), "shipped\n")
        self.assertEqual(self.run_status(run_id), "succeeded")
        doc = self.status_json(run_id)
        review = [t for t in doc["tasks"] if t["id"] == "review"][0]
        self.assertEqual(review["gate"]["status"], "approved")
        self.assertEqual(review["gate"]["decided_by"], ME)
        self.assertEqual(review["gate"]["comment"], "looks good")
        kinds = [e["kind"] for e in self.query("SELECT kind FROM events WHERE run_id=? ORDER BY id", run_id)]
        self.assertIn("gate_waiting", kinds)
        self.assertIn("gate_approved", kinds)
        # A decision is final.
        r = self.wfo("approve", run_id, "--task", "review")
        self.assertEqual(r.code, 2)
        self.assertEqual(r.err, f"wfo: error: the gate of task 'review' was already approved by {ME}\n")

    def test_reject_fails_the_task(self):
        r = self.wfo("run", self.flow())
        run_id = self.run_id_of(r)
        self.run_ok("reject", run_id, "--task", "review", "--comment", "not yet")
        r = self.wfo("resume", run_id)
        self.assertEqual(r.code, 1, repr(r))
        st = self.task_statuses(run_id)
        self.assertEqual((st["review"], st["ship"]), ("failed", "skipped"))
        reason = self.query("SELECT reason FROM tasks WHERE run_id=? AND task_id='review'", run_id)
        self.assertEqual(reason[0]["reason"], f"gate rejected by {ME}: not yet")

    def test_unlisted_approver_refused_even_with_user_env(self):
        other = "alice" if ME != "alice" else "bob"
        r = self.wfo("run", self.flow(approvers=f"[{other}]"))
        run_id = self.run_id_of(r)
        for env in (None, {"USER": other, "LOGNAME": other}):
            r = self.wfo("approve", run_id, env=env)
            self.assertEqual(r.code, 2, repr(r))
            self.assertEqual(r.err, f"wfo: error: user '{ME}' may not decide the gate of task 'review'\n"
                                    f"  its approvers are: {other}\n")
        self.assertEqual(self.query("SELECT COUNT(*) AS n FROM decisions")[0]["n"], 0)
        self.assertEqual(self.query("SELECT status FROM gates")[0]["status"], "waiting")

    def test_self_approval_prevented(self):
        r = self.wfo("run", self.flow(extra=", prevent_self_approval: true"))
        run_id = self.run_id_of(r)
        r = self.wfo("approve", run_id)
        self.assertEqual(r.code, 2)
        self.assertIn(f"user '{ME}' started run {run_id} and may not approve it", r.err)

    def test_feature_delivery_end_to_end(self):
        flow = os.path.join(WORKFLOWS, "feature-delivery.yaml")
        work = os.path.join(self.dir, "work")
        r = self.wfo("run", flow, "-p", "feature=login", "-p", f"work={work}")
        self.assertEqual(r.code, 3, repr(r))
        run_id = self.run_id_of(r)
        spec = os.path.join(work, run_id, "api-login.yaml")
        with open(spec) as f:
            self.assertIn("/login:", f.read())
        self.assertIn(f"Approve the API spec {spec}?", r.err)
        self.run_ok("approve", run_id, "--task", "review")
        r = self.wfo("resume", run_id)
        self.assertEqual(r.code, 3, repr(r))
        dev = self.attempts(run_id, "develop")
        self.assertEqual([a["status"] for a in dev], ["failed", "succeeded"])
        self.assertEqual(dev[0]["exit_code"], 75)
        self.assertEqual(dev[1]["delay_reason"], "exit code 75")
        self.assertEqual(open(os.path.join(work, run_id, "qa-report.txt")).read(), "handled /login\n")
        self.run_ok("approve", run_id, "--task", "deploy")
        r = self.run_ok("resume", run_id)
        self.assertTrue(os.path.exists(os.path.join(work, run_id, "deployed-staging", "handlers.sh")))
        self.assertEqual(self.run_ok("logs", run_id, "notify").out, "deploy of login ended as succeeded\n")
        self.assertEqual(set(self.task_statuses(run_id).values()), {"succeeded"})


if __name__ == "__main__":
    unittest.main()
