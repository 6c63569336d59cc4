"""End-to-end: after `wfo cancel` or the run's timeout, the tasks whose `if` still holds
(`always()`, `cancelled()`) run, as GitHub Actions re-evaluates `if` on cancellation; every
other task that had not ended is cancelled."""
import os
import signal
import unittest

from wfo_e2e import WfoTestCase, pids_with_env, wait_for


class CleanupTaskTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          build:
            run: touch build.started; sleep 30
          deploy: {needs: build, run: touch deploy.txt}
          notify:
            needs: deploy
            if: ${{ always() }}
            run: echo "deploy=${{ tasks.deploy.status }} build=${{ tasks.build.status }}" > notify.txt
          notify_after:
            needs: notify
            if: ${{ always() }}
            run: test -f notify.txt && echo "after notify" > notify_after.txt
          undo:
            needs: build
            if: ${{ cancelled() }}
            run: echo undo > undo.txt
          undo_fails:
            needs: build
            if: ${{ cancelled() }}
            run: exit 3
          on_failure:
            needs: build
            if: ${{ failure() }}
            run: touch on_failure.txt
          not_cancelled:
            needs: build
            if: ${{ !cancelled() }}
            run: touch not_cancelled.txt
          after:
            needs: notify
            run: touch after.txt
        """

    def test_cancel_runs_the_tasks_whose_if_holds(self):
        flow = self.write("flow.yaml", self.FLOW)
        with self.started("run", flow, "--run-id", "c-1") as p:
            self.assertTrue(wait_for(lambda: os.path.exists(os.path.join(self.dir, "build.started")),
                                     timeout=20))
            self.run_ok("cancel", "c-1")
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 4, err)
        self.assertTrue(err.endswith("wfo: run c-1 cancelled\n"), err)
        self.assertEqual(self.run_status("c-1"), "cancelled")
        self.assertEqual(self.task_statuses("c-1"), {
            "build": "cancelled", "deploy": "cancelled", "notify": "succeeded",
            "notify_after": "succeeded", "undo": "succeeded", "undo_fails": "failed",
            "on_failure": "skipped", "not_cancelled": "skipped", "after": "cancelled"})
        self.assertEqual(self.read("notify.txt"), "deploy=cancelled build=cancelled\n")
        self.assertEqual(self.read("notify_after.txt"), "after notify\n")
        self.assertEqual(self.read("undo.txt"), "undo\n")
        for absent in ("deploy.txt", "after.txt", "on_failure.txt", "not_cancelled.txt"):
            self.assertFalse(os.path.exists(os.path.join(self.dir, absent)), absent)
        self.assertEqual([a["status"] for a in self.attempts("c-1", "build")], ["cancelled"])
        self.assertEqual([(a["status"], a["exit_code"]) for a in self.attempts("c-1", "undo_fails")],
                         [("failed", 3)])
        doc = self.status_json("c-1")
        reasons = {t["id"]: t["reason"] for t in doc["tasks"]}
        self.assertEqual(reasons["after"], "cancelled")
        self.assertEqual(reasons["not_cancelled"], "if: ${{ !cancelled() }} was false")
        self.assertEqual(pids_with_env("WFO_RUN_ID=c-1"), [])

    def test_run_timeout_runs_them_with_cancelled_true(self):
        flow = self.write("flow.yaml", """
            version: 1
            timeout: 700ms
            tasks:
              slow: {run: sleep 30}
              report:
                needs: slow
                if: ${{ always() }}
                run: echo "slow=${{ tasks.slow.status }} cancelled=${{ cancelled() }}" > report.txt
              next: {needs: slow, run: touch next.txt}
            """)
        r = self.wfo("run", flow, "--run-id", "t-1")
        self.assertEqual(r.code, 1, repr(r))
        self.assertIn("wfo: run t-1 failed: run timed out after 700ms\n", r.err)
        self.assertEqual(self.task_statuses("t-1"),
                         {"slow": "failed", "report": "succeeded", "next": "cancelled"})
        self.assertEqual(self.read("report.txt"), "slow=failed cancelled=true\n")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "next.txt")))
        self.assertEqual(self.run_status("t-1"), "failed")

    def test_a_signal_stops_the_cleanup(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build: {run: touch build.started; sleep 30}
              undo:
                needs: build
                if: ${{ cancelled() }}
                run: touch undo.started; sleep 30; touch undo.ended
              later:
                needs: undo
                if: ${{ always() }}
                run: touch later.txt
            """)
        exists = lambda name: os.path.exists(os.path.join(self.dir, name))
        with self.started("run", flow, "--run-id", "s-1") as p:
            self.assertTrue(wait_for(lambda: exists("build.started"), timeout=20))
            self.run_ok("cancel", "s-1")
            self.assertTrue(wait_for(lambda: exists("undo.started"), timeout=20))
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 4, err)
        self.assertEqual(self.run_status("s-1"), "cancelled")
        self.assertEqual(self.task_statuses("s-1"),
                         {"build": "cancelled", "undo": "cancelled", "later": "cancelled"})
        self.assertEqual([(a["status"], a["reason"]) for a in self.attempts("s-1", "undo")],
                         [("cancelled", "wfo was interrupted while the run was being stopped")])
        self.assertFalse(exists("undo.ended"))
        self.assertFalse(exists("later.txt"))
        self.assertEqual(pids_with_env("WFO_RUN_ID=s-1"), [])


if __name__ == "__main__":
    unittest.main()
