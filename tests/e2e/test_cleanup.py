"""End-to-end: after `wfo cancel` or the run's timeout, the tasks whose `if` still holds
(`always()`, `cancelled()`) run, as GitHub Actions re-evaluates `if` on cancellation; every
other task that had not ended is cancelled."""
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
            self.assertTrue(wait_for(lambda: self.exists("build.started"), timeout=20))
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
            self.assertFalse(self.exists(absent), absent)
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
        self.assertFalse(self.exists("next.txt"))
        self.assertEqual(self.run_status("t-1"), "failed")

    # undo runs after a cancel until it is stopped; later would run after it.
    UNDO_FLOW = """
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
        """

    def test_a_signal_stops_the_cleanup(self):
        flow = self.write("flow.yaml", self.UNDO_FLOW)
        with self.started("run", flow, "--run-id", "s-1") as p:
            self.assertTrue(wait_for(lambda: self.exists("build.started"), timeout=20))
            self.run_ok("cancel", "s-1")
            self.assertTrue(wait_for(lambda: self.exists("undo.started"), timeout=20))
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 4, err)
        self.assertEqual(self.run_status("s-1"), "cancelled")
        self.assertEqual(self.task_statuses("s-1"),
                         {"build": "cancelled", "undo": "cancelled", "later": "cancelled"})
        self.assertEqual([(a["status"], a["reason"]) for a in self.attempts("s-1", "undo")],
                         [("cancelled", "wfo was interrupted while the run was being stopped")])
        self.assertFalse(self.exists("undo.ended"))
        self.assertFalse(self.exists("later.txt"))
        self.assertEqual(pids_with_env("WFO_RUN_ID=s-1"), [])

    def test_a_second_cancel_stops_the_cleanup(self):
        flow = self.write("flow.yaml", self.UNDO_FLOW)
        with self.started("run", flow, "--run-id", "s-2") as p:
            self.assertTrue(wait_for(lambda: self.exists("build.started"), timeout=20))
            first = self.wfo("cancel", "s-2")
            self.assertTrue(wait_for(lambda: self.exists("undo.started"), timeout=20))
            second = self.wfo("cancel", "s-2")
            out, err = p.communicate(timeout=30)
        self.assertEqual((first.code, first.err), (0, "wfo: asked the driver of run s-2 to cancel it\n"))
        self.assertEqual((second.code, second.err), (
            0, "wfo: asked the driver of run s-2 again: the tasks that run after a cancel "
               "(always(), cancelled()) are stopped too\n"))
        self.assertEqual(p.returncode, 4, err)
        self.assertTrue(err.endswith("wfo: run s-2 cancelled\n"), err)
        self.assertEqual(self.run_status("s-2"), "cancelled")
        self.assertEqual(self.task_statuses("s-2"),
                         {"build": "cancelled", "undo": "cancelled", "later": "cancelled"})
        self.assertEqual([(a["status"], a["reason"]) for a in self.attempts("s-2", "undo")],
                         [("cancelled", "cancelled again while the run was being stopped")])
        self.assertFalse(self.exists("undo.ended"))
        self.assertFalse(self.exists("later.txt"))
        self.assertEqual(pids_with_env("WFO_RUN_ID=s-2"), [])
        third = self.wfo("cancel", "s-2")
        self.assertEqual((third.code, third.err),
                         (2, "wfo: error: run s-2 has already cancelled\n"))

    def test_what_waited_in_a_pool_does_not_start_after_a_cancel(self):
        # b and c, queued behind a's pool slot, started and ran after the cancel; of k1 and
        # k2 (always()), k2 was cancelled unstarted or, with room in the pool, started twice.
        flow = self.write("flow.yaml", """
            version: 1
            agents:
              pool:
                command: 'echo "$WFO_TASK_ID $WFO_ATTEMPT" >> starts; test "$WFO_TASK_ID" != a || sleep 30'
                max_parallel: 1
            tasks:
              a: {agent: pool}
              b: {agent: pool}
              c: {agent: pool}
              k1: {agent: pool, if: "${{ always() }}"}
              k2: {agent: pool, if: "${{ always() }}"}
            """)
        with self.started("run", flow, "-j8", "--run-id", "p-1") as p:
            self.assertTrue(wait_for(lambda: self.exists("starts"), timeout=20))
            self.run_ok("cancel", "p-1")
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 4, err)
        starts = self.read("starts").split("\n")
        self.assertEqual(starts[0], "a 1")
        self.assertEqual(sorted(starts[1:]), ["", "k1 1", "k2 1"])
        self.assertEqual(self.task_statuses("p-1"), {
            "a": "cancelled", "b": "cancelled", "c": "cancelled", "k1": "succeeded",
            "k2": "succeeded"})

    def kill_in_the_cancel(self, flow, run_id, started, stopping):
        """Runs `flow`; once the file `started` exists, cancels the run, and once `stopping`
        exists, kills wfo (SIGKILL), leaving the stop half done for a resume."""
        with self.started("run", flow, "--run-id", run_id) as p:
            self.assertTrue(wait_for(lambda: self.exists(started), timeout=20))
            self.run_ok("cancel", run_id)
            self.assertTrue(wait_for(lambda: self.exists(stopping), timeout=20))
            p.kill()
            p.communicate()

    def test_resume_after_the_driver_died_in_the_cleanup_finishes_the_cancel(self):
        # The resume forgot the cancel: it kept the cancelled tasks and said "succeeded".
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build: {run: touch build.started; sleep 30}
              deploy: {needs: build, run: touch deploy.txt}
              notify:
                needs: build
                if: ${{ always() }}
                run: |
                  if [ -e notify.txt ]; then echo "again ${{ tasks.build.status }}" >> notify.txt
                  else echo "notify ${{ tasks.build.status }}" > notify.txt; sleep 30; fi
            """)
        self.kill_in_the_cancel(flow, "k-1", "build.started", "notify.txt")
        r = self.wfo("resume", "k-1", timeout=120)
        self.assertEqual(r.code, 4, repr(r))
        self.assertTrue(r.err.endswith("wfo: run k-1 cancelled\n"), r.err)
        self.assertEqual(self.run_status("k-1"), "cancelled")
        st = self.task_statuses("k-1")
        self.assertEqual((st["build"], st["deploy"]), ("cancelled", "cancelled"))
        self.assertFalse(self.exists("deploy.txt"))
        # The cleanup task cut by the kill ran again, to its end.
        self.assertEqual(self.read("notify.txt"), "notify cancelled\nagain cancelled\n")
        self.assertEqual(st["notify"], "succeeded")
        self.assertEqual(pids_with_env("WFO_RUN_ID=k-1"), [])

    def test_resume_after_the_driver_died_in_the_timeout_s_cleanup_runs_it_again(self):
        # The resume resolved the task before it stopped for the deadline, with cancelled()
        # false, and skipped it.
        flow = self.write("flow.yaml", """
            version: 1
            timeout: 1s
            tasks:
              build: {run: sleep 30}
              deploy: {needs: build, run: touch deploy.txt}
              notify:
                needs: build
                if: ${{ cancelled() }}
                run: |
                  if [ -e notify.txt ]; then echo again >> notify.txt
                  else echo first > notify.txt; sleep 30; fi
            """)
        with self.started("run", flow, "--run-id", "d-1") as p:
            self.assertTrue(wait_for(lambda: self.exists("notify.txt"), timeout=20))
            p.kill()
            p.communicate()
        r = self.wfo("resume", "d-1", timeout=120)
        self.assertEqual(r.code, 1, repr(r))
        self.assertEqual(self.read("notify.txt"), "first\nagain\n")
        self.assertEqual(self.task_statuses("d-1"),
                         {"build": "failed", "deploy": "cancelled", "notify": "succeeded"})
        self.assertFalse(self.exists("deploy.txt"))

    def test_resume_after_the_driver_died_in_a_cleanup_retry_wait_retries_it(self):
        # A cleanup task that failed in the cleanup and waited for its retry when the driver
        # died was cancelled by the resume (read as a task that failed before the stop); the
        # cleanup the man page promises runs to its end. For a cancel and for a timeout.
        for how in ("cancel", "timeout"):
            with self.subTest(how=how):
                run_id = "w-" + how
                flow = self.write(f"{how}.yaml", f"""
                    version: 1
                    {"timeout: 1s" if how == "timeout" else ""}
                    tasks:
                      build: {{run: touch {how}.started; sleep 30}}
                      notify:
                        needs: build
                        if: ${{{{ always() }}}}
                        retry: {{max_attempts: 2, backoff: fixed, delay: 30s}}
                        run: echo ${{{{ tasks.build.status }}}} >> {how}.notify; test -e {how}.fixed
                    """)
                with self.started("run", flow, "--run-id", run_id) as p:
                    self.assertTrue(wait_for(lambda: self.exists(how + ".started"), timeout=20))
                    if how == "cancel":
                        self.run_ok("cancel", run_id)
                    self.assertTrue(wait_for(
                        lambda: self.task_statuses(run_id)["notify"] == "retrying", timeout=20))
                    p.kill()
                    p.communicate()
                self.write(how + ".fixed", "")
                r = self.wfo("resume", run_id, timeout=120)
                self.assertEqual(r.code, 4 if how == "cancel" else 1, repr(r))
                build = "cancelled" if how == "cancel" else "failed"
                self.assertEqual(self.task_statuses(run_id), {"build": build, "notify": "succeeded"})
                self.assertEqual(self.read(how + ".notify"), f"{build}\n{build}\n")
                self.assertEqual([(a["number"], a["status"]) for a in self.attempts(run_id, "notify")],
                                 [(1, "failed"), (2, "succeeded")])

    def test_a_task_the_stop_was_stopping_when_the_driver_died_is_not_run_again(self):
        # c (always()) was running at the cancel, which stops every running attempt; the
        # driver died while c's group took its time to end. The resume kept c as a task that
        # had not started (its attempt read interrupted) and ran it again (from a review).
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              c:
                if: ${{ always() }}
                run: "trap 'touch term' TERM; echo run >> ledger; sleep 1; sleep 1; sleep 1; sleep 1; sleep 1"
            """)
        self.kill_in_the_cancel(flow, "st", "ledger", "term")
        r = self.wfo("resume", "st", timeout=120)
        self.assertEqual(r.code, 4, repr(r))
        self.assertEqual(self.read("ledger"), "run\n")
        self.assertEqual(self.task_statuses("st"), {"c": "cancelled"})
        self.assertEqual([a["status"] for a in self.attempts("st", "c")], ["interrupted"])
        self.assertEqual(pids_with_env("WFO_RUN_ID=st"), [])

    def test_a_cancel_that_comes_while_a_signal_stops_the_run_is_kept_for_the_resume(self):
        # finish_stopped wrote the run with the flag cleared: the resume ran deploy.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build: {run: "trap '' TERM; touch build.started; sleep 30"}
              deploy: {needs: build, run: touch deploy.txt}
            """)
        with self.started("run", flow, "--run-id", "i-1") as p:
            self.assertTrue(wait_for(lambda: self.exists("build.started"), timeout=20))
            p.send_signal(signal.SIGINT)  # build ignores SIGTERM: 5 s until SIGKILL
            self.run_ok("cancel", "i-1")
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 130, err)
        self.assertEqual(self.run_status("i-1"), "interrupted")
        r = self.wfo("resume", "i-1", timeout=120)
        self.assertEqual(r.code, 4, repr(r))
        self.assertEqual(self.task_statuses("i-1"), {"build": "cancelled", "deploy": "cancelled"})
        self.assertFalse(self.exists("deploy.txt"))


if __name__ == "__main__":
    unittest.main()
