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

    def test_2000_gates_time_out_together(self):
        # Each due gate was its own transaction that read every gate again: 2,000 gates
        # timing out took 29 s of a `run --wait`. Half approve by timeout, half reject.
        n = 2000
        lines = ["version: 1", "tasks:"]
        for i in range(n):
            verdict = "approve" if i % 2 == 0 else "reject"
            lines.append(f"  g{i}: {{approval: {{timeout: 300ms, on_timeout: {verdict}}}}}")
        lines.append(f"  after: {{run: 'true', needs: [g0, g2]}}")
        flow = self.write("flow.yaml", "\n".join(lines) + "\n")
        r = self.wfo("run", flow, "--run-id", "g-1", "--wait")
        self.assertEqual(r.code, 1, r.err[-2000:])  # the rejected gates fail their tasks
        gates = {row["status"]: row["n"] for row in self.query(
            "SELECT status, COUNT(*) AS n FROM gates WHERE run_id='g-1' AND decided_by='timeout' "
            "GROUP BY status")}
        self.assertEqual(gates, {"approved": n // 2, "rejected": n // 2})
        decisions = self.query(
            "SELECT COUNT(*) AS n FROM decisions WHERE run_id='g-1' AND user='timeout'")
        self.assertEqual(decisions[0]["n"], n)
        statuses = self.task_statuses("g-1")
        self.assertEqual((statuses["g0"], statuses["g1"], statuses["after"]),
                         ("succeeded", "failed", "succeeded"))
        # `wfo status --json` gives each task its own gate (a scan of the gates per task).
        doc = self.status_json("g-1")
        by_id = {t["id"]: t for t in doc["tasks"]}
        self.assertEqual(by_id["g1999"]["gate"]["status"], "rejected")
        self.assertEqual(by_id["g1998"]["gate"]["decided_by"], "timeout")
        self.assertNotIn("gate", by_id["after"])

    def test_20000_env_names_and_params_layered(self):
        # The task's env over the workflow's was layered by a search per name, and each
        # `params.x` found by a search of the params: 40,000 of each took 11.8 s to validate.
        n = 20000
        lines = ["version: 1", "env:"]
        lines += [f"  E{i}: wf{i}" for i in range(n)]
        lines.append("params:")
        lines += [f"  p{i}: {{default: p{i}}}" for i in range(n)]
        lines += ["tasks:", "  t:", "    run: 'echo \"$E0 $E1 $E19998 $E19999\" > out'", "    env:"]
        lines += [f"      E{i}: '${{{{ params.p{i} }}}}'" for i in range(0, n, 2)]
        flow = self.write("flow.yaml", "\n".join(lines) + "\n")
        self.assertEqual(self.run_ok("validate", flow).err, f"{flow}: ok (1 task)\n")
        self.run_ok("run", flow, "--run-id", "e-1", "-p", "p19998=given")
        self.assertEqual(self.read("out"), "p0 wf1 given wf19999\n")

    def test_4000_params_and_env_names_read_by_4000_tasks(self):
        # Each task's expression context copied every param and env name of the file: 4,000
        # of each read by 4,000 tasks took 3 s. Now it holds the names the task's templates
        # read, and the whole only for a template that reads it whole, by a computed key, or
        # by a name not written as declared (found case-insensitively, as GitHub Actions does).
        n = 4000
        lines = ["version: 1", "env:"] + [f"  E{i}: v{i}" for i in range(n)]
        lines += ["params:"] + [f"  p{i}: {{default: d{i}}}" for i in range(n)]
        lines.append("tasks:")
        # Each `if` is false when both names read as declared: the task is skipped unrun.
        given = {17: "given", 3999: "last"}
        lines += [f"  t{i}: {{run: 'exit 1', if: \"params.p{i} != '{given.get(i, f'd{i}')}'"
                  f" || env.E{i} != 'v{i}'\"}}" for i in range(n)]
        lines.append("  reads: {run: 'echo \"${{ params.p7 }} ${{ fromJSON(toJSON(params)).p3999 }}"
                     " ${{ params[format(''p{0}'', 17)] }} ${{ env.e5 }} ${{ env.E6 }}\" > out'}")
        flow = self.write("flow.yaml", "\n".join(lines) + "\n")
        self.run_ok("run", flow, "--run-id", "p-1", "-p", "p17=given", "-p", "p3999=last")
        statuses = self.task_statuses("p-1")
        self.assertEqual(sorted(set(statuses[f"t{i}"] for i in range(n))), ["skipped"])
        reason = self.query("SELECT reason FROM tasks WHERE run_id='p-1' AND task_id='t3999'")
        self.assertEqual(reason[0]["reason"],
                         "if: ${{ params.p3999 != 'last' || env.E3999 != 'v3999' }} was false")
        self.assertEqual(self.read("out"), "d7 last given v5 v6\n")

    def test_2000_outputs_read_by_2000_tasks_and_groups_read_by_name(self):
        # Each reader's context copied all of a producer's outputs: 2,000 keys read one each
        # by 2,000 tasks took 0.95 s. Now a reader holds the keys it reads, the whole only
        # where a key is read in another case than set or declared (found case-insensitively).
        n = 2000
        lines = ["version: 1", "tasks:",
                 f"  p: {{run: 'for i in $(seq 0 {n - 1}); do echo \"k$i=v$i\"; done > \"$WFO_OUTPUT\"'}}",
                 "  m:",
                 "    matrix: {n: [a, b]}",
                 "    outputs: {declared: {}}",
                 "    run: 'echo \"v=${{ matrix.n }}\" > \"$WFO_OUTPUT\"; [ ${{ matrix.n }} = a ]"
                 " || echo \"only=b\" >> \"$WFO_OUTPUT\"'"]
        lines += [f"  t{i}: {{run: 'exit 1', needs: [p], if: \"tasks.p.outputs.k{i} != 'v{i}'\"}}"
                  for i in range(n)]
        lines.append("  reads: {needs: [p, m], run: 'echo \"${{ tasks.p.outputs.K5 }}"
                     " ${{ tasks.p.outputs.k1999 }} ${{ join(tasks.m.outputs.v, ''+'') }}"
                     " ${{ join(tasks.m.outputs.only, ''+'') }} ${{ join(tasks.m.outputs.declared, ''+'') }}"
                     " ${{ join(tasks.m.outputs.V, ''+'') }} ${{ join(tasks.m.outputs.DECLARED, ''+'') }}"
                     " ${{ tasks.m.status }}\" > out'}")
        # A declared key read only in another case: the group's whole outputs are gathered.
        lines.append("  reads2: {needs: [m], run: 'echo \"${{ join(tasks.m.outputs.DECLARED, ''+'') }}\""
                     " > out2'}")
        flow = self.write("flow.yaml", "\n".join(lines) + "\n")
        self.run_ok("run", flow, "--run-id", "o-1")
        statuses = self.task_statuses("o-1")
        self.assertEqual(sorted(set(statuses[f"t{i}"] for i in range(n))), ["skipped"])
        self.assertEqual(statuses["reads"], "succeeded")
        self.assertEqual(
            self.read("out"),
            "v5 v1999 a+b +b + a+b + succeeded\n")
        self.assertEqual(self.read("out2"), "+\n")

    def test_a_matrix_of_8000_axes_and_an_include_of_8000_keys(self):
        # Each axis copied every partial combination again, and each include key was looked
        # for along the whole combination: 16,000 axes took 8 s to validate, 64,000 keys 3.8 s.
        n = 8000
        lines = ["version: 1", "tasks:", "  t:", "    matrix:"]
        # A value with a blank names the instance by its index, t[0]: named by its values,
        # its id would be too long for its attempt's environment (WFO_IDEMPOTENCY_KEY).
        lines += ["      a0: ['v 0']"] + [f"      a{i}: [v{i}]" for i in range(1, n)]
        lines.append("      include:")
        lines.append("        - {" + ", ".join([f"k{i}: w{i}" for i in range(n)] + ["a7: v7"]) + "}")
        lines.append("    run: 'echo \"${{ matrix.a0 }} ${{ matrix.a7999 }} ${{ matrix.k0 }}"
                     " ${{ matrix.k7999 }}\" > out'")
        flow = self.write("flow.yaml", "\n".join(lines) + "\n")
        r = self.wfo("run", flow, "--run-id", "m-1")
        self.assertEqual(r.code, 0, r.err[-2000:])
        self.assertEqual(self.read("out"), "v 0 v7999 w0 w7999\n")
        self.assertEqual(self.task_statuses("m-1"), {"t[0]": "succeeded"})

    def validate_tree(self, depth, first_task):
        """Writes files w0..w(depth-1), each with `first_task` as its task `a` and using the
        next file twice (b, c); validates w0, which must be refused at its first `uses`."""
        for i in reversed(range(depth)):
            text = f"version: 1\ntasks:\n  a: {first_task}\n"
            if i < depth - 1:
                text += f"  b: {{uses: w{i + 1}.yaml}}\n  c: {{uses: w{i + 1}.yaml}}\n"
            root = self.write(f"w{i}.yaml", text)
        r = self.wfo("validate", root)
        self.assertEqual(r.code, 2, r.err[-2000:])
        self.assertEqual(r.err.splitlines()[0], root + ":4:13: error: the "
                         "workflow expands to more than 1000000 tasks through its sub-workflows")
        return r

    def test_a_tree_of_sub_workflows_past_a_million_tasks_is_refused_before_it_is_made(self):
        # Each file uses the next twice: 20 six-line files made 2,097,149 tasks (25 s and
        # 3.8 GB to validate). The size of the tree is counted per file first.
        r = self.validate_tree(20, "{if: 'false', run: 'true'}")
        self.assertIn("use each sub-workflow fewer times, or split the work into several runs",
                      r.err)

    def test_a_tree_of_files_with_matrices_is_counted_with_their_instances(self):
        # With each matrix task counted once, 14 files each with a matrix of 200 instances and
        # using the next twice passed the count of the tree (49,000 tasks) and were refused
        # at a `uses` deep in the tree, once about a million tasks were made (34 s). The
        # root's first `uses` alone makes 1,650,000.
        values = ", ".join(str(v) for v in range(200))
        self.validate_tree(14, f"{{matrix: {{n: [{values}]}}, run: 'true'}}")


if __name__ == "__main__":
    unittest.main()
