"""End-to-end: approval gates park the run (exit 3), decisions are recorded, resume goes on."""
import json
import os
import pwd
import shutil
import subprocess
import time
import unittest

from wfo_e2e import WFO, WfoTestCase, WORKFLOWS, wait_for

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
        self.assertEqual(r.code, 3, repr(r))
        run_id = self.run_id_of(r)
        self.run_ok("reject", run_id, "--task", "review", "--comment", "not yet")
        r = self.wfo("resume", run_id)
        self.assertEqual(r.code, 1, repr(r))
        st = self.task_statuses(run_id)
        self.assertEqual((st["review"], st["ship"]), ("failed", "skipped"))
        reason = self.query("SELECT reason FROM tasks WHERE run_id=? AND task_id='review'", run_id)
        self.assertEqual(reason[0]["reason"], f"gate rejected by {ME}: not yet")
        final = (f"wfo: run {run_id} failed: task failed: review\n"
                 "  the gate of task 'review' was rejected, and a decision is final: a resume "
                 f"fails it again; start a new run: wfo run {self.flow()}\n")
        self.assertTrue(r.err.endswith(final), r.err)
        # The decision stays final however often the run is resumed: once failed and reset
        # to pending by a resume, the task was once left pending and the run "succeeded".
        for _ in range(2):
            r = self.wfo("resume", run_id)
            self.assertEqual(r.code, 1, repr(r))
            self.assertTrue(r.err.endswith(final), r.err)
            st = self.task_statuses(run_id)
            self.assertEqual((st["review"], st["ship"]), ("failed", "skipped"))
            self.assertEqual(self.run_status(run_id), "failed")
        self.assertEqual(self.attempts(run_id, "ship"), [])

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
        self.assertEqual((r.code, r.err), (2, f"wfo: error: user '{ME}' started run {run_id} and "
                                              "may not approve it (prevent_self_approval)\n"
                                              "  ask another approver\n"))
        self.assertEqual(self.query("SELECT COUNT(*) AS n FROM decisions")[0]["n"], 0)
        self.assertEqual(self.query("SELECT status FROM gates")[0]["status"], "waiting")

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
        with open(os.path.join(work, run_id, "qa-report.txt")) as f:
            self.assertEqual(f.read(), "handled /login\n")
        self.run_ok("approve", run_id, "--task", "deploy")
        r = self.run_ok("resume", run_id)
        self.assertTrue(os.path.exists(os.path.join(work, run_id, "deployed-staging", "handlers.sh")))
        self.assertEqual(self.run_ok("logs", run_id, "notify").out, "deploy of login ended as succeeded\n")
        self.assertEqual(set(self.task_statuses(run_id).values()), {"succeeded"})


class GateKindsTest(WfoTestCase):
    def test_after_gate_holds_dependents_until_decided(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              build:
                run: echo artifact=app.tar >> "$WFO_OUTPUT"
                approval: {when: after, message: "publish ${{ tasks.build.status }}?"}
              publish:
                needs: build
                run: echo "${{ tasks.build.outputs.artifact }}" > published
            """)
        r = self.wfo("run", flow, "--run-id", "after")
        self.assertEqual(r.code, 3, repr(r))
        self.assertEqual([a["status"] for a in self.attempts("after", "build")], ["succeeded"])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "published")))
        self.run_ok("approve", "after")
        self.run_ok("resume", "after")
        self.assertEqual(self.read("published"), "app.tar\n")
        self.assertEqual(len(self.attempts("after", "build")), 1)

    def test_on_failure_gate_approve_retries_once_reject_fails(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              flaky:
                retry: {max_attempts: 2, delay: 10ms}
                approval: {when: on_failure, message: "retry flaky?"}
                run: test -f ok
            """)
        r = self.wfo("run", flow, "--run-id", "onf")
        self.assertEqual(r.code, 3, repr(r))
        self.assertEqual(len(self.attempts("onf", "flaky")), 2)
        self.run_ok("approve", "onf")
        r = self.wfo("resume", "onf")  # fails again: the gate opens again
        self.assertEqual(r.code, 3, repr(r))
        self.assertEqual(len(self.attempts("onf", "flaky")), 3)
        gate = self.query("SELECT status, round FROM gates WHERE run_id='onf'")[0]
        self.assertEqual((gate["status"], gate["round"]), ("waiting", 2))
        self.write("ok", "")
        self.run_ok("approve", "onf")
        self.run_ok("resume", "onf")
        self.assertEqual([a["status"] for a in self.attempts("onf", "flaky")],
                         ["failed", "failed", "failed", "succeeded"])

    def test_on_failure_gate_reject(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              flaky:
                approval: {when: on_failure}
                run: exit 1
            """)
        self.assertEqual(self.wfo("run", flow, "--run-id", "rj").code, 3)
        self.run_ok("reject", "rj", "--comment", "give up")
        r = self.wfo("resume", "rj")
        self.assertEqual(r.code, 1, repr(r))
        self.assertEqual(self.task_statuses("rj")["flaky"], "failed")


class GateTimeoutTest(WfoTestCase):
    def check(self, on_timeout, want_status, want_task):
        flow = self.write("flow.yaml", f"""
            version: 1
            tasks:
              gate:
                approval: {{timeout: 500ms, on_timeout: {on_timeout}}}
              after:
                needs: gate
                run: touch after
            """)
        r = self.wfo("run", flow, "--run-id", "to")
        self.assertEqual(r.code, 3, repr(r))
        time.sleep(0.7)
        # Nothing runs now; looking at the parked run decides the gate by its timeout.
        doc = self.status_json("to")
        gate = doc["tasks"][0]["gate"]
        self.assertEqual((gate["status"], gate["decided_by"]), (want_status, "timeout"))
        r = self.wfo("resume", "to")
        self.assertEqual(r.code, 0 if want_task == "succeeded" else 1, repr(r))
        self.assertEqual(self.task_statuses("to")["after"], want_task)

    def test_timeout_decided_while_other_tasks_run(self):
        # The driver wakes at the gate's deadline (the earliest of its waiting gates), not
        # only when an attempt ends: `after` starts while `slow` still runs.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              slow: {run: sleep 2}
              later: {approval: {timeout: 1h}}
              gate: {approval: {timeout: 300ms, on_timeout: approve}}
              after: {needs: gate, run: touch after}
            """)
        r = self.wfo("run", flow, "--run-id", "tw")
        self.assertEqual(r.code, 3, repr(r))  # `later` still waits
        statuses = self.task_statuses("tw")
        self.assertEqual((statuses["slow"], statuses["after"], statuses["later"]),
                         ("succeeded", "succeeded", "waiting_approval"))
        after = self.attempts("tw", "after")[0]
        slow = self.attempts("tw", "slow")[0]
        self.assertLess(after["ended_at"], slow["ended_at"])
        gate = self.query("SELECT decided_by FROM gates WHERE run_id='tw' AND task_id='gate'")
        self.assertEqual(gate[0]["decided_by"], "timeout")

    def cancel_past_deadline(self, run_id, on_timeout):
        """Runs a gate with a 300 ms timeout and a task after it, cancels the parked run and
        waits past the deadline."""
        flow = self.write("flow.yaml", f"""
            version: 1
            tasks:
              gate: {{approval: {{timeout: 300ms, on_timeout: {on_timeout}}}}}
              after: {{needs: gate, run: touch after}}
            """)
        self.assertEqual(self.wfo("run", flow, "--run-id", run_id).code, 3)
        self.run_ok("cancel", run_id)
        time.sleep(0.5)

    def decided(self, run_id):
        gate = self.query("SELECT status, decided_by FROM gates WHERE run_id=?", run_id)[0]
        return gate["status"], gate["decided_by"]

    def test_a_cancelled_runs_gate_is_decided_by_its_resume_not_by_a_look(self):
        # `wfo status` of a cancelled run recorded a past-due gate "approved by timeout" on
        # a task already cancelled; the run was stopped on purpose, so its gates wait for
        # the resume that continues it, which decides them then.
        self.cancel_past_deadline("tc", "approve")
        doc = self.status_json("tc")
        self.assertEqual(doc["status"], "cancelled")
        self.assertEqual(doc["tasks"][0]["gate"]["status"], "waiting")
        self.assertEqual(self.query("SELECT COUNT(*) AS n FROM decisions WHERE run_id='tc'")[0]["n"], 0)
        self.run_ok("resume", "tc")
        self.assertEqual(self.decided("tc"), ("approved", "timeout"))
        self.assertEqual(self.task_statuses("tc"), {"gate": "succeeded", "after": "succeeded"})

    def test_a_cancelled_runs_gate_past_its_deadline_is_its_timeouts(self):
        # No person decides a gate after its deadline: `wfo approve` applies the timeout
        # first, as for a parked run, and `wfo approvals` does not list it.
        self.cancel_past_deadline("tr", "reject")
        self.assertEqual(self.run_ok("approvals").out, "no gate is waiting for a decision\n")
        r = self.wfo("approve", "tr")
        self.assertEqual(r.code, 2, repr(r))
        # It says why: the timeout decided the gate just now.
        self.assertRegex(r.err, "run tr was cancelled; nothing waits for a decision "
                                r"\(the gate of task 'gate' was rejected by timeout: no decision "
                                r"by \d{4}-\d\d-\d\dT[0-9:.]+Z\)")
        self.assertEqual(self.decided("tr"), ("rejected", "timeout"))
        self.assertEqual(self.wfo("resume", "tr").code, 1)
        self.assertEqual(self.task_statuses("tr"), {"gate": "failed", "after": "skipped"})

    def test_timeout_reject(self):
        self.check("reject", "rejected", "skipped")

    def test_timeout_approve(self):
        self.check("approve", "approved", "succeeded")


class GateWaitInputsTest(WfoTestCase):
    def test_wait_released_by_approve_from_another_process(self):
        flow = self.write("flow.yaml", """
            version: 1
            hooks:
              on_waiting: 'echo "$WFO_GATE_TASK|$WFO_GATE_MESSAGE|$WFO_APPROVE_COMMAND" > waiting'
            tasks:
              gate: {approval: {message: "go?"}}
              after: {needs: gate, run: touch after}
            """)
        p = self.start("run", flow, "--run-id", "w", "--wait")
        self.assertTrue(wait_for(lambda: os.path.exists(os.path.join(self.dir, "waiting")), 20))
        self.assertEqual(self.read("waiting"), "gate|go?|wfo approve w --task gate\n")
        self.assertEqual(self.run_status("w"), "waiting_approval")
        # Not "continue with: wfo resume w": that would be refused while the run is driven.
        self.assertEqual(self.run_ok("approve", "w").err.splitlines()[1:],
                         ["  the process driving the run goes on with it"])
        out, err = p.communicate(timeout=60)  # released by the approval, not by a timeout
        self.assertEqual(p.returncode, 0, err)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "after")))
        self.assertEqual(self.run_status("w"), "succeeded")

    def test_approvals_prints_a_command_that_works_as_pasted(self):
        # A matrix instance's id has brackets: unquoted, zsh refused the command ("no
        # matches found"); and without --state it reached another database.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              m: {matrix: {k: [a]}, approval: {message: "go?"}, run: touch done}
            """)
        state = os.path.join(self.dir, "elsewhere", "st.db")
        r = self.wfo("run", flow, "--run-id", "mq", "--state", state)
        self.assertEqual(r.code, 3, repr(r))
        out = self.run_ok("approvals", "--state", state).out
        command = f"wfo approve mq --task 'm[k=a]' --state {state}"
        self.assertEqual(out.splitlines()[-1], "    " + command)
        pasted = subprocess.run(["sh", "-c", command.replace("wfo", WFO, 1)], cwd=self.dir,
                                env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(pasted.returncode, 0, pasted.stderr)
        self.run_ok("resume", "mq", "--state", state)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "done")))

    def test_ctrl_c_while_waiting_leaves_the_run_parked(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              gate: {approval: {message: "go?"}}
            """)
        p = self.start("run", flow, "--run-id", "wc", "--wait")
        self.assertTrue(wait_for(lambda: os.path.exists(self.state) and self.safe_status("wc") == "waiting_approval", 20))
        p.send_signal(2)
        p.communicate(timeout=20)
        self.assertEqual(p.returncode, 130)
        self.assertEqual(self.run_status("wc"), "waiting_approval")

    def safe_status(self, run_id):
        try:
            return self.run_status(run_id)
        except Exception:
            return None

    def test_inputs_validated_and_visible_downstream(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              release:
                approval:
                  inputs:
                    version: {required: true, pattern: '^\\d+\\.\\d+\\.\\d+$'}
                    channel: {enum: [stable, beta]}
              tag:
                needs: release
                run: echo "${{ tasks.release.outputs.version }} ${{ tasks.release.outputs.channel }}" > tag
            """)
        self.assertEqual(self.wfo("run", flow, "--run-id", "in").code, 3)
        cases = [
            ([], "wfo: error: missing required input 'version'\n  give it with --input version=VALUE\n"),
            (["--input", "version=1.2"], "wfo: error: input 'version' does not match pattern '^\\d+\\.\\d+\\.\\d+$'\n"),
            (["--input", "version=1.2.3", "--input", "channel=nightly"],
             "wfo: error: input 'channel' must be one of stable, beta\n"),
            (["--input", "versoin=1.2.3"],
             "wfo: error: unknown input 'versoin' (did you mean 'version'?)\n  its inputs are: channel, version\n"),
        ]
        for args, err in cases:
            r = self.wfo("approve", "in", *args)
            self.assertEqual((r.code, r.err), (2, err))
        self.assertEqual(self.query("SELECT COUNT(*) AS n FROM decisions")[0]["n"], 0)
        self.run_ok("approve", "in", "--input", "version=1.2.3", "--input", "channel=beta")
        self.run_ok("resume", "in")
        self.assertEqual(self.read("tag"), "1.2.3 beta\n")
        doc = self.status_json("in")
        self.assertEqual(doc["tasks"][0]["outputs"], {"version": "1.2.3", "channel": "beta"})
        self.assertEqual(doc["tasks"][0]["gate"]["approvals"][0]["inputs"],
                         {"version": "1.2.3", "channel": "beta"})

    def test_approvals_lists_waiting_gates(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              one: {approval: {message: "first?", approvers: [alice, bob], timeout: 1h}}
              two: {approval: {message: "second?"}}
            """)
        self.assertEqual(self.wfo("run", flow, "--run-id", "ap").code, 3)
        gates = json.loads(self.run_ok("approvals", "--json").out)
        self.assertEqual([(g["run"], g["task"], g["message"]) for g in gates],
                         [("ap", "one", "first?"), ("ap", "two", "second?")])
        self.assertEqual(gates[0]["approvers"], ["alice", "bob"])
        self.assertIsNotNone(gates[0]["deadline"])
        self.assertIsNone(gates[1]["deadline"])
        r = self.wfo("approve", "ap")
        self.assertEqual(r.code, 2)
        self.assertEqual(r.err, "wfo: error: several gates of run ap wait: one, two\n"
                                "  name one with --task, e.g. 'wfo approve ap --task one'\n")

    def test_approvals_decides_due_gates_of_each_run_first(self):
        # Two due gates of one run are decided together, the run's other gate and the other
        # run's are listed.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              a: {approval: {timeout: 200ms, on_timeout: approve}}
              b: {approval: {timeout: 200ms}}
              c: {approval: {message: "later?", timeout: 1h}}
            """)
        self.assertEqual(self.wfo("run", flow, "--run-id", "due").code, 3)
        other = self.write("other.yaml", """
            version: 1
            tasks:
              d: {approval: {message: "other?"}}
            """)
        self.assertEqual(self.wfo("run", other, "--run-id", "keep").code, 3)
        time.sleep(0.4)
        gates = json.loads(self.run_ok("approvals", "--json").out)
        self.assertEqual(sorted((g["run"], g["task"]) for g in gates),
                         [("due", "c"), ("keep", "d")])
        rows = self.query("SELECT task_id, status, decided_by FROM gates WHERE run_id='due' "
                          "ORDER BY task_id")
        self.assertEqual([(r["task_id"], r["status"], r["decided_by"]) for r in rows],
                         [("a", "approved", "timeout"), ("b", "rejected", "timeout"),
                          ("c", "waiting", None)])
        kinds = [r["kind"] for r in self.query(
            "SELECT kind FROM events WHERE run_id='due' AND kind LIKE 'gate_%ed' ORDER BY id")]
        self.assertEqual(kinds, ["gate_approved", "gate_rejected"])


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd") and shutil.which("runuser"),
                     "needs root with useradd and runuser to act as a second OS user")
class TwoApproversTest(WfoTestCase):
    USER = "wfo-approver2"

    def setUp(self):
        super().setUp()
        if subprocess.run(["id", self.USER], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--no-create-home", self.USER], check=True, capture_output=True)

    def test_min_approvals_two_distinct_os_users(self):
        flow = self.write("flow.yaml", f"""
            version: 1
            tasks:
              gate: {{approval: {{min_approvals: 2, approvers: [{ME}, {self.USER}]}}}}
              after: {{needs: gate, run: touch after}}
            """)
        self.assertEqual(self.wfo("run", flow, "--run-id", "two").code, 3)
        r = self.run_ok("approve", "two")
        self.assertIn(f"recorded {ME}'s approval of task 'gate' (1 of 2 needed)", r.err)
        r = self.wfo("approve", "two")
        self.assertEqual(r.err, f"wfo: error: user '{ME}' has already decided the gate of task 'gate'\n")
        self.assertEqual(self.query("SELECT status FROM gates")[0]["status"], "waiting")
        # Let the second user write the state database, as a shared team folder would.
        for root, dirs, files in os.walk(self.dir):
            os.chmod(root, 0o777)
            for f in files:
                os.chmod(os.path.join(root, f), 0o666)
        os.chmod(self.dir, 0o777)
        p = subprocess.run(["runuser", "-u", self.USER, "--", WFO, "approve", "two"],
                           env={**self.env, "USER": ME}, capture_output=True, text=True,
                           cwd="/", timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        gate = self.query("SELECT status, decided_by FROM gates")[0]
        self.assertEqual((gate["status"], gate["decided_by"]), ("approved", self.USER))
        users = [d["user"] for d in self.query("SELECT user FROM decisions ORDER BY id")]
        self.assertEqual(users, [ME, self.USER])
        self.run_ok("resume", "two")
        self.assertTrue(os.path.exists(os.path.join(self.dir, "after")))


if __name__ == "__main__":
    unittest.main()
