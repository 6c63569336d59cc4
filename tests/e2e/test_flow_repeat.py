"""End-to-end: `repeat: {until, max, interval}` (issue 5, point 7) through the real binary:
each run is an attempt in the record, the condition reads the task's own latest outputs."""
import json
import unittest

from wfo_e2e import WfoTestCase


class RepeatTest(WfoTestCase):
    def test_runs_again_until_its_latest_outputs_satisfy_the_condition(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              poll:
                repeat:
                  until: ${{ tasks.poll.outputs.state == 'ready' }}
                  max: 5
                  interval: 50ms
                run: |
                  echo x >> polls
                  n=$(wc -l < polls | tr -d ' ')
                  if [ "$n" -ge 3 ]; then echo state=ready; else echo state=wait; fi >> "$WFO_OUTPUT"
                  echo "n=$n" >> "$WFO_OUTPUT"
              next:
                needs: poll
                run: echo "${{ tasks.poll.outputs.state }} after ${{ tasks.poll.outputs.n }}" > next
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        attempts = self.attempts(run_id, "poll")
        self.assertEqual([a["number"] for a in attempts], [1, 2, 3])
        self.assertEqual({a["status"] for a in attempts}, {"succeeded"})
        self.assertEqual([json.loads(a["outputs"]) for a in attempts], [
            {"state": "wait", "n": "1"}, {"state": "wait", "n": "2"},
            {"state": "ready", "n": "3"}])
        self.assertEqual([a["delay_ms"] for a in attempts], [0, 50, 50])
        self.assertEqual(attempts[1]["delay_reason"],
                         "repeat: until ${{ tasks.poll.outputs.state == 'ready' }} was false")
        self.assertEqual(self.read("next"), "ready after 3\n")
        events = [e["kind"] for e in self.query(
            "SELECT kind FROM events WHERE run_id=? AND task_id='poll' ORDER BY id", run_id)]
        self.assertEqual(events.count("task_repeating"), 2)

    def test_each_matrix_instance_repeats_on_its_own_outputs(self):
        # `tasks.poll` in an instance's own condition is that instance, not its group.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              poll:
                matrix: {n: ["2", "3"]}
                repeat: {until: "tasks.poll.outputs.count == matrix.n", max: 5}
                run: |
                  echo x >> polls-${{ matrix.n }}
                  echo "count=$(wc -l < polls-${{ matrix.n }} | tr -d ' ')" >> "$WFO_OUTPUT"
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        self.assertEqual(len(self.attempts(run_id, "poll[n=2]")), 2)
        self.assertEqual(len(self.attempts(run_id, "poll[n=3]")), 3)
        self.assertEqual(self.read("polls-3"), "x\nx\nx\n")

    def test_a_condition_still_false_after_max_runs_fails_the_task(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              poll:
                repeat: {until: "tasks.poll.outputs.done == 'yes'", max: 2}
                run: echo x >> polls; echo done=no >> "$WFO_OUTPUT"
            """)
        r = self.run_ok("run", flow, code=1)
        run_id = self.run_id_of(r)
        self.assertEqual(self.read("polls"), "x\nx\n")
        self.assertEqual(self.task_statuses(run_id), {"poll": "failed"})
        reason = self.query("SELECT reason FROM tasks WHERE run_id=? AND task_id='poll'",
                            run_id)[0]["reason"]
        self.assertEqual(reason, "repeat: until ${{ tasks.poll.outputs.done == 'yes' }} "
                                 "still false after 2 runs")
        # A resume gives it a fresh set of runs, which end the same way.
        self.write("flow.yaml", "unused: the run resumes from its stored text\n")
        self.run_ok("resume", run_id, code=1)
        self.assertEqual(self.read("polls"), "x\nx\nx\nx\n")
        self.assertEqual(len(self.attempts(run_id, "poll")), 4)

    def test_a_failed_run_goes_through_the_retry_policy(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              poll:
                repeat: {until: "${{ tasks.poll.outputs.n == '2' }}", max: 3}
                retry: {max_attempts: 2}
                run: |
                  echo x >> polls
                  n=$(wc -l < polls | tr -d ' ')
                  [ "$n" = 2 ] && exit 75
                  echo "n=$(( n > 2 ? n - 1 : n ))" >> "$WFO_OUTPUT"
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        attempts = self.attempts(run_id, "poll")
        self.assertEqual([a["status"] for a in attempts], ["succeeded", "failed", "succeeded"])
        self.assertEqual(attempts[1]["reason"], "exit code 75")


if __name__ == "__main__":
    unittest.main()
