"""End-to-end: expressions (issue 5, point 3) and `if:` with status functions and the skip
rule (point 5), through the real binary: values as GitHub Actions computes them, load-time
refusals at file:line:col with exit 2, and evaluation errors failing the task."""
import unittest

from wfo_e2e import WfoTestCase

# expression -> the text the task receives (GitHub Actions' rules for types and coercion).
CASES = [
    ("1 == 1.0", "true"),
    ("'1' == 1", "true"),
    ("'abc' == 'ABC'", "true"),
    ("null == 0", "true"),
    ("'' == false", "true"),
    ("1 < 2 && 'b' > 'a'", "true"),
    ("!0 && !''", "true"),
    ("false || 'fallback'", "fallback"),
    ("'' && 'never'", ""),
    ("(1 == 2) || (2 == 2 && 3 == 3)", "true"),
    ("!(1 == 1) == false", "true"),
    ("contains('Hello World', 'world')", "true"),
    ("contains(fromJSON('[\"a\",\"b\"]'), 'B')", "true"),
    ("startsWith('release/1.2', 'RELEASE/')", "true"),
    ("endsWith('api.yaml', '.YAML')", "true"),
    ("format('{0}-{1}-{0} {{literal}}', 'a', 2)", "a-2-a {literal}"),
    ("join(fromJSON('[1, \"x\", true]'), '+')", "1+x+true"),
    ("toJSON(fromJSON('{\"a\": [1, null]}'))", '{\n  "a": [\n    1,\n    null\n  ]\n}'),
    ("fromJSON('3.50') == 3.5", "true"),
    ("params.n > 9", "true"),
    ("params.missing == ''", "true"),
    ("run.id == env.RUN_NOT_SET", "false"),
    ("tasks.first.outputs.n", "10"),
    ("tasks.first.status", "succeeded"),
    ("tasks.first.exit_code", "0"),
    ("tasks.first.outputs.absent", ""),
]


class ExpressionValuesTest(WfoTestCase):
    def test_values_follow_github_actions_rules(self):
        cases = CASES
        lines = "".join(f"      printf '%s\\n' \"${{{{ {expr} }}}}\" >> got\n"
                        for expr, _ in cases)
        flow = self.write("flow.yaml", "version: 1\nparams:\n  n: {default: '10'}\n"
                          "  missing: {default: ''}\ntasks:\n  first:\n"
                          "    run: echo n=10 >> \"$WFO_OUTPUT\"\n"
                          "  t:\n    needs: first\n    run: |\n" + lines)
        self.run_ok("run", flow)
        got = self.read("got").split("\n")
        values = self.split_values(got, cases)
        self.assertEqual(len(values), len(cases))
        for (expr, expected), value in zip(cases, values):
            self.assertEqual(value, expected, expr)
        self.assertEqual(got[-1], "")  # nothing after the last value

    @staticmethod
    def split_values(lines, cases):
        # Each value ends with one newline; a value may hold newlines itself.
        out, i = [], 0
        for expr, expected in cases:
            n = expected.count("\n") + 1
            out.append("\n".join(lines[i:i + n]))
            i += n
        return out


class ExpressionErrorsTest(WfoTestCase):
    def refused(self, expr, line=6):
        flow = self.write("flow.yaml", "version: 1\nparams:\n  feature: {default: x}\ntasks:\n"
                          f"  t:\n    run: echo ${{{{ {expr} }}}}\n"
                          "  other:\n    run: 'true'\n")
        r = self.wfo("validate", flow)
        self.assertEqual(r.code, 2, repr(r))
        return r.err.replace(flow, "flow.yaml")

    def test_load_time_refusals_name_the_place(self):
        self.assertEqual(self.refused("1 +"), "flow.yaml:6:21: error: unexpected '+' in expression\n"
                                              "      run: echo ${{ 1 + }}\n"
                                              "                      ^\n")
        self.assertEqual(self.refused("foo.bar").splitlines()[0],
                         "flow.yaml:6:19: error: unknown context 'foo'")
        self.assertEqual(self.refused("nope(1)").splitlines()[0],
                         "flow.yaml:6:19: error: unknown function 'nope'")
        self.assertEqual(self.refused("contains(1)").splitlines()[0],
                         "flow.yaml:6:19: error: function 'contains' takes 2 arguments, got 1")
        self.assertEqual(self.refused("params.featur"),
                         "flow.yaml:6:19: error: unknown param 'featur' (did you mean 'feature'?)\n"
                         "      run: echo ${{ params.featur }}\n"
                         "                    ^\n"
                         "  declare it under 'params:' or fix the name\n")
        self.assertEqual(self.refused("tasks.othr.outputs.x").splitlines()[0],
                         "flow.yaml:6:19: error: unknown task 'othr' in expression "
                         "(did you mean 'other'?)")
        self.assertEqual(self.refused("tasks.other.outputs.x").splitlines()[0],
                         "flow.yaml:6:19: error: task 't' reads task 'other', which it does not "
                         "need")
        self.assertEqual(self.refused("'open").splitlines()[0],
                         "flow.yaml:6:15: error: unterminated '${{' (close it with '}}')")

    def test_an_evaluation_error_fails_the_task_with_the_expression_and_reason(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              produce:
                run: echo "list=not json" >> "$WFO_OUTPUT"
              use:
                needs: produce
                run: echo "${{ fromJSON(tasks.produce.outputs.list) }}"
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        attempt = self.attempts(run_id, "use")[0]
        self.assertEqual(attempt["status"], "failed")
        self.assertTrue(attempt["reason"].startswith(
            "cannot evaluate 'fromJSON(tasks.produce.outputs.list)': fromJSON: invalid JSON"),
            attempt["reason"])
        self.assertEqual(self.task_statuses(run_id)["use"], "failed")


class ConditionsTest(WfoTestCase):
    def test_status_functions_and_the_skip_rule(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              broken:
                run: exit 4
              tolerated:
                run: exit 5
                continue_on_error: true
              after-broken:
                needs: broken
                run: touch after-broken
              after-skipped:
                needs: after-broken
                run: touch after-skipped
              on-failure:
                needs: broken
                if: failure()
                run: echo "${{ tasks.broken.status }} ${{ tasks.broken.exit_code }}" > on-failure
              always:
                needs: after-broken
                if: ${{ always() }}
                run: echo "${{ tasks.after-broken.status }}" > always
              on-success:
                needs: tolerated
                run: echo "${{ tasks.tolerated.status }} ${{ success() }}" > on-success
              skip-by-if:
                needs: tolerated
                if: ${{ tasks.tolerated.exit_code == 0 }}
                run: touch skip-by-if
              false-skips-dependents:
                needs: skip-by-if
                run: touch false-skips-dependents
              blanks-around:  # blanks around the one expression: it is still evaluated
                if: "  ${{ false }} "
                run: touch blanks-around
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        self.assertEqual(self.task_statuses(run_id), {
            "broken": "failed", "tolerated": "failed", "after-broken": "skipped",
            "after-skipped": "skipped", "on-failure": "succeeded", "always": "succeeded",
            "on-success": "succeeded", "skip-by-if": "skipped",
            "false-skips-dependents": "skipped", "blanks-around": "skipped"})
        self.assertEqual(self.read("on-failure"), "failed 4\n")
        self.assertEqual(self.read("always"), "skipped\n")
        self.assertEqual(self.read("on-success"), "succeeded true\n")
        reasons = {r["task_id"]: r["reason"] for r in self.query(
            "SELECT task_id, reason FROM tasks WHERE run_id=?", run_id)}
        self.assertEqual(reasons["after-broken"], "need 'broken' failed")
        self.assertEqual(reasons["after-skipped"], "need 'after-broken' was skipped")
        self.assertEqual(reasons["skip-by-if"],
                         "if: ${{ tasks.tolerated.exit_code == 0 }} was false")
        self.assertEqual(reasons["false-skips-dependents"], "need 'skip-by-if' was skipped")
        for name in ("after-broken", "after-skipped", "skip-by-if", "false-skips-dependents",
                     "blanks-around"):
            self.assertFalse(self.exists(name), name)


if __name__ == "__main__":
    unittest.main()
