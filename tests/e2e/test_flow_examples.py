"""End-to-end: the example workflows of issue 5 (point 9) run as their comments say: the
price-change alert (a conditional branch), a fan-out/fan-in over a list computed at run time,
and a sub-workflow used twice. (The handoff pipeline, feature-delivery.yaml, runs in
test_gates.py.)"""
import json
import os
import unittest

from wfo_e2e import WfoTestCase, WORKFLOWS


class ExamplesTest(WfoTestCase):
    def test_price_alert_notifies_only_when_the_price_changed(self):
        flow = os.path.join(WORKFLOWS, "price-alert.yaml")
        state = os.path.join(self.dir, "state")
        first = self.run_id_of(self.run_ok("run", flow, "-p", "price=101", "-p", f"state={state}"))
        second = self.run_id_of(self.run_ok("run", flow, "-p", "price=101", "-p", f"state={state}"))
        third = self.run_id_of(self.run_ok("run", flow, "-p", "price=99", "-p", f"state={state}"))
        self.assertEqual(self.task_statuses(first)["notify"], "succeeded")
        self.assertEqual(self.task_statuses(second),
                         {"check": "succeeded", "notify": "skipped", "record": "succeeded"})
        self.assertEqual(self.task_statuses(third)["notify"], "succeeded")
        with open(os.path.join(state, "alerts")) as f:
            self.assertEqual(f.read(), "price changed from none to 101\n"
                                       "price changed from 101 to 99\n")
        with open(os.path.join(state, "history")) as f:
            self.assertEqual(f.read(), "101 notify=succeeded\n101 notify=skipped\n"
                                       "99 notify=succeeded\n")

    def test_fanout_aggregate_over_a_list_known_at_run_time(self):
        flow = os.path.join(WORKFLOWS, "fanout-aggregate.yaml")
        out = os.path.join(self.dir, "out")
        run_id = self.run_id_of(self.run_ok(
            "run", flow, "-p", f"out={out}", "-p", 'items=["a","bb","ccc","dddd","eeeee"]'))
        statuses = self.task_statuses(run_id)
        self.assertEqual(sorted(statuses), ["aggregate", "discover", "measure", "measure[0]",
                                            "measure[1]", "measure[2]", "measure[3]",
                                            "measure[4]"])
        self.assertEqual(set(statuses.values()), {"succeeded"})
        with open(os.path.join(out, "total")) as f:
            self.assertEqual(f.read(), "a+bb+ccc+dddd+eeeee=15\n")
        with open(os.path.join(out, "measure[3].size")) as f:
            self.assertEqual(f.read(), "4\n")
        total = json.loads(self.attempts(run_id, "aggregate")[0]["outputs"])
        self.assertEqual(total, {"total": "15"})

    def test_subflow_release_runs_the_deploy_steps_twice(self):
        flow = os.path.join(WORKFLOWS, "subflow-release.yaml")
        out = os.path.join(self.dir, "out")
        run_id = self.run_id_of(self.run_ok("run", flow, "-p", f"out={out}", "-p", "version=2.0"))
        rows = self.query("SELECT task_id, status FROM tasks WHERE run_id=? ORDER BY position",
                          run_id)
        self.assertEqual([r["task_id"] for r in rows], [
            "build", "deploy-staging", "deploy-staging/migrate", "deploy-staging/rollout",
            "deploy-prod", "deploy-prod/migrate", "deploy-prod/rollout", "announce"])
        self.assertEqual({r["status"] for r in rows}, {"succeeded"})
        self.assertEqual(self.run_ok("logs", run_id, "announce").out,
                         "staging at https://staging.example.com/v42, "
                         "prod at https://prod.example.com/v42\n")
        for env in ("staging", "prod"):
            with open(os.path.join(out, env)) as f:
                self.assertEqual(f.read(), "app-2.0.tar schema 42\n")


if __name__ == "__main__":
    unittest.main()
