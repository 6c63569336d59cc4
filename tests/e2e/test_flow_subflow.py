"""End-to-end: sub-workflows (`uses`, issue 5 point 8) through the real binary: tasks under
the parent's id, params from `with`, declared outputs handed back, gates and resume inside,
the run's stored texts, and a cycle of files refused at load time."""
import json
import os
import unittest

from wfo_e2e import WfoTestCase

SUB = """
    version: 1
    params:
      target: {required: true}
      mode: {default: fast, enum: [fast, safe]}
    outputs:
      url: https://${{ params.target }}/v${{ tasks.migrate.outputs.schema }}
      mode: {value: "${{ params.mode }}", description: how it ran}
    tasks:
      migrate:
        run: |
          echo "migrate ${{ params.target }} ${{ params.mode }} in $(basename "$PWD")" >> ../ledger
          echo "schema=7" >> "$WFO_OUTPUT"
      check:
        needs: migrate
        run: echo "check $WFO_TASK_ID" >> ../ledger
    """

PARENT = """
    version: 1
    params:
      host: {default: db1}
    tasks:
      build:
        run: echo "tag=b42" >> "$WFO_OUTPUT"
      deploy:
        needs: build
        uses: sub/deploy.yaml
        with:
          target: ${{ params.host }}-${{ tasks.build.outputs.tag }}
      after:
        needs: deploy
        run: echo "after ${{ tasks.deploy.outputs.url }} ${{ tasks.deploy.outputs.mode }} ${{ tasks.deploy.status }}" >> ledger
    """


class SubflowTest(WfoTestCase):
    def test_tasks_run_under_the_parent_id_with_params_and_hand_back_outputs(self):
        self.write("sub/deploy.yaml", SUB)
        flow = self.write("flow.yaml", PARENT)
        run_id = self.run_id_of(self.run_ok("run", flow))
        rows = self.query("SELECT task_id, status FROM tasks WHERE run_id=? ORDER BY position",
                          run_id)
        self.assertEqual([(r["task_id"], r["status"]) for r in rows], [
            ("build", "succeeded"), ("deploy", "succeeded"), ("deploy/migrate", "succeeded"),
            ("deploy/check", "succeeded"), ("after", "succeeded")])
        self.assertEqual(self.read("ledger"),
                         "migrate db1-b42 fast in sub\n"
                         "check deploy/check\n"
                         "after https://db1-b42/v7 fast succeeded\n")
        st = self.status_json(run_id)
        deploy = next(t for t in st["tasks"] if t["id"] == "deploy")
        self.assertEqual(deploy["outputs"], {"url": "https://db1-b42/v7", "mode": "fast"})
        self.assertEqual(self.run_ok("logs", run_id, "deploy").out,
                         "deploy/migrate succeeded\ndeploy/check succeeded\n")
        self.assertEqual(self.run_ok("logs", run_id, "deploy/check").out, "")
        stored = self.query("SELECT subflow_texts FROM run_texts WHERE run_id=?", run_id)[0]
        texts = json.loads(stored["subflow_texts"])
        self.assertEqual(list(texts), [os.path.join(self.dir, "sub", "deploy.yaml")])
        self.assertEqual(texts[os.path.join(self.dir, "sub", "deploy.yaml")],
                         self.read("sub/deploy.yaml"))

    def test_a_gate_inside_stops_the_run_and_resume_reads_the_stored_texts(self):
        self.write("sub/deploy.yaml", """
            version: 1
            tasks:
              approve:
                approval: {message: "ship it?"}
              ship:
                needs: approve
                run: echo "shipped v1" > ../shipped
            """)
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              deploy:
                uses: sub/deploy.yaml
            """)
        r = self.run_ok("run", flow, code=3)
        run_id = self.run_id_of(r)
        self.assertIn(f"wfo approve {run_id} --task deploy/approve", r.err)
        self.assertEqual(self.task_statuses(run_id), {
            "deploy": "running", "deploy/approve": "waiting_approval", "deploy/ship": "pending"})
        # Editing the file does not change the run: it resumes from the text it started with.
        self.write("sub/deploy.yaml", """
            version: 1
            tasks:
              approve:
                approval: {message: "ship it?"}
              ship:
                needs: approve
                run: echo "shipped v2" > ../shipped
            """)
        self.run_ok("approve", run_id, "--task", "deploy/approve")
        self.run_ok("resume", run_id)
        self.assertEqual(self.read("shipped"), "shipped v1\n")
        self.assertEqual(set(self.task_statuses(run_id).values()), {"succeeded"})

    def test_a_failed_task_fails_the_parent_and_resume_runs_what_failed(self):
        self.write("sub/deploy.yaml", SUB.replace(
            'echo "check $WFO_TASK_ID" >> ../ledger',
            'echo "check $WFO_TASK_ID" >> ../ledger; test -e ../fixed'))
        flow = self.write("flow.yaml", PARENT)
        r = self.run_ok("run", flow, code=1)
        run_id = self.run_id_of(r)
        self.assertEqual(self.task_statuses(run_id), {
            "build": "succeeded", "deploy": "failed", "deploy/migrate": "succeeded",
            "deploy/check": "failed", "after": "skipped"})
        reason = self.query("SELECT reason FROM tasks WHERE run_id=? AND task_id='deploy'",
                            run_id)[0]["reason"]
        self.assertEqual(reason, "task 'deploy/check' failed")
        self.write("fixed", "")
        self.run_ok("resume", run_id)
        self.assertEqual(self.read("ledger"),
                         "migrate db1-b42 fast in sub\n"
                         "check deploy/check\n"
                         "check deploy/check\n"
                         "after https://db1-b42/v7 fast succeeded\n")
        self.assertEqual(len(self.attempts(run_id, "deploy/migrate")), 1)
        self.assertEqual([a["status"] for a in self.attempts(run_id, "deploy")],
                         ["failed", "succeeded"])

    def test_continue_on_error_on_the_parent_keeps_the_run_going(self):
        # The inner task's failure failed the run although the `uses:` task continued.
        self.write("child.yaml", "version: 1\ntasks:\n  f: {run: exit 3}\n")
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              s: {uses: child.yaml, continue_on_error: true}
              after: {needs: s, run: 'echo "${{ tasks.s.status }}" > after'}
            """)
        r = self.wfo("run", flow, "--run-id", "coe")
        self.assertEqual(r.code, 0, repr(r))
        self.assertEqual(self.task_statuses("coe"),
                         {"s": "failed", "s/f": "failed", "after": "succeeded"})
        self.assertEqual(self.read("after"), "succeeded\n")  # as GitHub shows a continued job
        self.assertEqual(self.run_status("coe"), "succeeded")

    def test_a_skipped_parent_skips_its_tasks(self):
        self.write("sub/deploy.yaml", SUB)
        flow = self.write("flow.yaml", PARENT.replace(
            "uses: sub/deploy.yaml", "uses: sub/deploy.yaml\n        if: ${{ params.host == 'none' }}"))
        run_id = self.run_id_of(self.run_ok("run", flow))
        self.assertEqual(self.task_statuses(run_id), {
            "build": "succeeded", "deploy": "skipped", "deploy/migrate": "skipped",
            "deploy/check": "skipped", "after": "skipped"})
        self.assertFalse(os.path.exists(os.path.join(self.dir, "ledger")))

    def test_a_param_value_outside_its_enum_fails_the_parent(self):
        self.write("sub/deploy.yaml", SUB)
        flow = self.write("flow.yaml", PARENT.replace(
            "target: ${{ params.host }}-${{ tasks.build.outputs.tag }}",
            "target: x\n          mode: ${{ params.host }}"))
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        reason = self.query("SELECT reason FROM tasks WHERE run_id=? AND task_id='deploy'",
                            run_id)[0]["reason"]
        self.assertEqual(reason, f"sub-workflow {self.dir}/sub/deploy.yaml: param 'mode' is 'db1', "
                                 "not one of fast, safe")
        self.assertEqual(self.task_statuses(run_id)["deploy/migrate"], "skipped")


class SubflowLoadTest(WfoTestCase):
    def validate(self, flow):
        r = self.wfo("validate", flow)
        self.assertEqual(r.code, 2, repr(r))
        return r.err

    def test_a_cycle_of_files_is_refused_at_load_time(self):
        self.write("a.yaml", """
            version: 1
            tasks:
              one:
                uses: b.yaml
            """)
        self.write("b.yaml", """
            version: 1
            tasks:
              two:
                run: "true"
              three:
                uses: ./a.yaml
            """)
        a = os.path.join(self.dir, "a.yaml")
        self.assertEqual(self.validate(a),
                         f"{self.dir}/b.yaml:6:11: error: sub-workflow cycle: "
                         f"{a} -> {self.dir}/b.yaml -> {a}\n"
                         "      uses: ./a.yaml\n"
                         "            ^\n"
                         "  a workflow may not use itself, directly or through other files\n")
        self.write("self.yaml", """
            version: 1
            tasks:
              me:
                uses: self.yaml
            """)
        err = self.validate(self.write("self.yaml", "version: 1\ntasks:\n  me:\n    uses: self.yaml\n"))
        self.assertTrue(err.startswith(f"{self.dir}/self.yaml:4:11: error: sub-workflow cycle: "
                                       f"{self.dir}/self.yaml -> {self.dir}/self.yaml\n"), err)

    def test_errors_inside_a_used_file_point_into_it(self):
        self.write("sub/deploy.yaml", """
            version: 1
            tasks:
              migrate:
                run: echo ${{ tasks.nope.outputs.x }}
            """)
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  deploy:\n    uses: sub/deploy.yaml\n")
        self.assertEqual(self.validate(flow),
                         f"{self.dir}/sub/deploy.yaml:4:19: error: unknown task 'nope' in expression\n"
                         "      run: echo ${{ tasks.nope.outputs.x }}\n"
                         "                    ^\n")
        self.write("sub/deploy.yaml", "version: 1\ntasks:\n  migrate:\n    runn: x\n")
        err = self.validate(flow)
        self.assertTrue(err.startswith(f"{self.dir}/sub/deploy.yaml:4:5: error: unknown key 'runn' "
                                       "in task 'migrate' (did you mean 'run'?)\n"
                                       "      runn: x\n"
                                       "      ^\n"), err)

    def test_with_must_name_the_params_of_the_sub_workflow(self):
        self.write("sub.yaml", SUB)
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              deploy:
                uses: sub.yaml
                with: {targt: x}
            """)
        self.assertEqual(self.validate(flow),
                         f"{flow}:5:19: error: sub-workflow {self.dir}/sub.yaml has no param 'targt' "
                         "(did you mean 'target'?)\n"
                         "      with: {targt: x}\n"
                         "                    ^\n"
                         "  its params are: target, mode\n")
        self.write("flow.yaml", "version: 1\ntasks:\n  deploy:\n    uses: sub.yaml\n")
        self.assertEqual(self.validate(flow),
                         f"{flow}:4:11: error: sub-workflow {self.dir}/sub.yaml needs param 'target'\n"
                         "      uses: sub.yaml\n"
                         "            ^\n"
                         "  give it under 'with:', e.g. with: {target: value}\n")

    def test_a_missing_file_is_refused_with_its_path(self):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  deploy:\n    uses: nowhere.yaml\n")
        err = self.validate(flow)
        self.assertTrue(err.startswith(f"{flow}:4:11: error: cannot read sub-workflow "
                                       "'nowhere.yaml': "), err)


if __name__ == "__main__":
    unittest.main()
