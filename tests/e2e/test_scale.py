"""End-to-end: shapes that once cost more than linear time or stack, run through the binary.
Each asserts what the run recorded; none times anything (docs/benchmarks.md has the times).
"""
import unittest

from wfo_e2e import WfoTestCase


def chain(n, first):
    """A chain t0 <- t1 <- ... of n tasks; t0 runs `first`, the others `true`."""
    lines = ["version: 1", "tasks:", f"  t0: {{run: '{first}'}}"]
    lines += [f"  t{i}: {{run: 'true', needs: [t{i - 1}]}}" for i in range(1, n)]
    return "\n".join(lines) + "\n"


class ScaleTest(WfoTestCase):
    def test_a_failure_skips_a_chain_of_20000_without_recursing(self):
        # Each skip resolved the next task from inside its own resolve: the stack overflowed
        # about 3,370 tasks down and the run was left interrupted.
        flow = self.write("flow.yaml", chain(20000, "exit 1"))
        r = self.wfo("run", flow, "--run-id", "c-1")
        self.assertEqual(r.code, 1, r.err[-2000:])
        self.assertIn("wfo: run c-1 failed", r.err)
        self.assertEqual(self.run_status("c-1"), "failed")
        counts = {row["status"]: row["n"] for row in self.query(
            "SELECT status, COUNT(*) AS n FROM tasks WHERE run_id='c-1' GROUP BY status")}
        self.assertEqual(counts, {"failed": 1, "skipped": 19999})
        last = self.query("SELECT reason FROM tasks WHERE run_id='c-1' AND task_id='t19999'")
        self.assertEqual(last[0]["reason"], "need 't19998' was skipped")
        # The status tree indents 20 levels at most: the text was quadratic in a chain's
        # length (96 MB for 8,000 tasks), now a line a task.
        status = self.run_ok("status", "c-1").out.splitlines()
        self.assertEqual(len(status), 3 + 20000 + 1)  # the run, the tasks, t0's attempt
        self.assertEqual(status[3], "  ✗ t0 failed: exit code 1")
        self.assertTrue(status[4].startswith("  │     attempt 1 failed in "), status[4])
        self.assertEqual(status[5], "  └─ ⊘ t1 skipped: need 't0' failed")
        deepest = "  " + "   " * 20 + "└─ ⊘ t{} skipped: need 't{}' was skipped"
        self.assertEqual(status[25], deepest.format(21, 20))
        self.assertEqual(status[-1], deepest.format(19999, 19998))


if __name__ == "__main__":
    unittest.main()
