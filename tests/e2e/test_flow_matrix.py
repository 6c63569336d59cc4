"""End-to-end: matrix fan-out and fan-in, and for_each over a list produced at run time
(issue 5, point 6), through the real binary."""
import json
import os
import sqlite3
import unittest

from wfo_e2e import WfoTestCase


def max_overlap(ledger):
    """The most `start` lines not yet matched by an `end` line, in file order."""
    now = most = 0
    for line in ledger.splitlines():
        now += 1 if line.startswith("start") else -1
        most = max(most, now)
    return most


class MatrixTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          test:
            matrix:
              os: [linux, mac]
              suite: [unit, e2e]
              exclude: [{os: mac, suite: e2e}]
              include: [{os: linux, suite: unit, cc: gcc}, {os: bsd, suite: unit}]
            run: |
              echo "$WFO_TASK_ID ${{ matrix.os }} ${{ matrix.suite }} [${{ matrix.cc }}]" > "out.${{ matrix.os }}.${{ matrix.suite }}"
              echo "r=${{ matrix.os }}-${{ matrix.suite }}" >> "$WFO_OUTPUT"
          report:
            needs: test
            run: |
              ls out.* | wc -l | tr -d ' ' > seen
              printf '%s\\n' "${{ tasks.test.outputs.r }}" "${{ tasks.test.status }}" > report
        """
    IDS = ["test[os=linux,suite=unit,cc=gcc]", "test[os=linux,suite=e2e]",
           "test[os=mac,suite=unit]", "test[os=bsd,suite=unit]"]

    def test_one_instance_per_combination_and_a_dependent_waits_for_all(self):
        flow = self.write("m.yaml", self.FLOW)
        run_id = self.run_id_of(self.run_ok("run", flow))
        rows = self.query("SELECT task_id, status FROM tasks WHERE run_id=? ORDER BY position",
                          run_id)
        self.assertEqual([r["task_id"] for r in rows], self.IDS + ["report"])
        self.assertEqual({r["status"] for r in rows}, {"succeeded"})
        self.assertEqual(self.read("out.linux.unit"),
                         "test[os=linux,suite=unit,cc=gcc] linux unit [gcc]\n")
        self.assertEqual(self.read("out.mac.unit"), "test[os=mac,suite=unit] mac unit []\n")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out.mac.e2e")))
        # The dependent started after every instance had written its file.
        self.assertEqual(self.read("seen"), "4\n")
        # Outputs of the group: one array in matrix order, no instance overwriting another.
        self.assertEqual(self.read("report"),
                         '["linux-unit","linux-e2e","mac-unit","bsd-unit"]\nsucceeded\n')

    def test_ids_are_shown_by_status_and_logs(self):
        flow = self.write("m.yaml", self.FLOW)
        run_id = self.run_id_of(self.run_ok("run", flow))
        out = self.run_ok("status", run_id).out
        for task_id in self.IDS:
            self.assertIn(task_id, out)
        logs = self.run_ok("logs", run_id, "test[os=mac,suite=unit]")
        self.assertEqual(logs.out, "")  # the command wrote to a file, not to its log
        st = self.status_json(run_id)
        self.assertEqual([t["id"] for t in st["tasks"]], self.IDS + ["report"])
        self.assertEqual(st["tasks"][2]["outputs"], {"r": "mac-unit"})

    def test_max_parallel_bounds_the_instances_running_at_once(self):
        flow = self.write("m.yaml", """
            version: 1
            tasks:
              test:
                matrix: {n: [1, 2, 3, 4, 5]}
                max_parallel: 2
                run: echo start >> ledger; sleep 0.3; echo end >> ledger
            """)
        self.run_ok("run", flow, "-j8")
        ledger = self.read("ledger")
        self.assertEqual(ledger.count("start"), 5)
        self.assertEqual(max_overlap(ledger), 2)

    def test_fail_fast_cancels_the_instances_not_started(self):
        flow = self.write("m.yaml", """
            version: 1
            tasks:
              test:
                matrix: {suite: [a, b, c]}
                max_parallel: 1
                run: touch "ran.${{ matrix.suite }}"; test "${{ matrix.suite }}" != a
              after:
                needs: test
                run: touch after
            """)
        r = self.run_ok("run", flow, code=1)
        run_id = self.run_id_of(r)
        self.assertEqual(self.task_statuses(run_id), {
            "test[suite=a]": "failed", "test[suite=b]": "cancelled",
            "test[suite=c]": "cancelled", "after": "skipped"})
        reason = self.query("SELECT reason FROM tasks WHERE run_id=? AND task_id=?",
                            run_id, "test[suite=c]")[0]["reason"]
        self.assertEqual(reason, "fail_fast: 'test[suite=a]' failed")
        self.assertEqual(sorted(f for f in os.listdir(self.dir) if f.startswith("ran.")),
                         ["ran.a"])
        self.assertEqual(self.attempts(run_id, "test[suite=b]"), [])
        self.assertIn("task failed: test[suite=a]", r.err)

    def test_without_fail_fast_every_instance_runs(self):
        flow = self.write("m.yaml", """
            version: 1
            tasks:
              test:
                matrix: {suite: [a, b, c]}
                max_parallel: 1
                fail_fast: false
                run: touch "ran.${{ matrix.suite }}"; test "${{ matrix.suite }}" != a
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        self.assertEqual(self.task_statuses(run_id), {
            "test[suite=a]": "failed", "test[suite=b]": "succeeded",
            "test[suite=c]": "succeeded"})
        self.assertEqual(sorted(f for f in os.listdir(self.dir) if f.startswith("ran.")),
                         ["ran.a", "ran.b", "ran.c"])

    def test_instances_whose_ids_differ_only_in_punctuation_keep_their_files_apart(self):
        flow = self.write("m.yaml", """
            version: 1
            tasks:
              t:
                matrix: {v: ["1.2", "1_2", "1/2"]}
                run: |
                  echo "log of ${{ matrix.v }}"
                  sleep 0.2
                  echo "r=${{ matrix.v }}" >> "$WFO_OUTPUT"
              all:
                needs: t
                run: printf '%s\\n' "${{ tasks.t.outputs.r }}" > all
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, "-j3"))
        self.assertEqual(self.read("all"), '["1.2","1_2","1/2"]\n')
        for v in ("1.2", "1_2", "1/2"):
            self.assertEqual(self.run_ok("logs", run_id, f"t[v={v}]").out, f"log of {v}\n")
        logs = {a["log_path"] for t in ("t[v=1.2]", "t[v=1_2]", "t[v=1/2]")
                for a in self.attempts(run_id, t)}
        self.assertEqual(len(logs), 3)

    def test_matrix_read_where_it_does_not_exist_is_refused_at_load(self):
        flow = self.write("m.yaml", """
            version: 1
            tasks:
              test:
                matrix: {suite: [unit]}
                run: echo ${{ matrix.suit }}
              other:
                run: echo ${{ matrix.suite }}
            """)
        r = self.wfo("validate", flow)
        self.assertEqual(r.code, 2, repr(r))
        self.assertEqual(r.err, f"{flow}:5:19: error: unknown matrix axis 'suit' "
                                "(did you mean 'suite'?)\n"
                                "      run: echo ${{ matrix.suit }}\n"
                                "                    ^\n")


class ForEachTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          list:
            run: echo 'items=[{"name":"alpha","n":1},{"name":"beta","n":2},{"name":"gamma","n":3}]' >> "$WFO_OUTPUT"
          each:
            needs: list
            for_each: ${{ fromJSON(tasks.list.outputs.items) }}
            run: |
              echo "$WFO_TASK_ID" >> "ran.${{ item.name }}"
              test -e "fail.${{ item.name }}" && exit 3
              echo "double=$(( ${{ item.n }} * 2 ))" >> "$WFO_OUTPUT"
          sum:
            needs: each
            run: printf '%s\\n' "${{ tasks.each.outputs.double }}" "${{ tasks.each.status }}" > sum
        """

    def test_fans_out_over_a_list_produced_at_run_time(self):
        flow = self.write("f.yaml", self.FLOW)
        run_id = self.run_id_of(self.run_ok("run", flow))
        rows = self.query("SELECT task_id, status, item FROM tasks WHERE run_id=? "
                          "ORDER BY position", run_id)
        self.assertEqual([(r["task_id"], r["status"]) for r in rows], [
            ("list", "succeeded"), ("each", "succeeded"), ("sum", "succeeded"),
            ("each[0]", "succeeded"), ("each[1]", "succeeded"), ("each[2]", "succeeded")])
        self.assertEqual(json.loads(rows[4]["item"]), {"name": "beta", "n": 2})
        self.assertIsNone(rows[0]["item"])
        for name, index in (("alpha", 0), ("beta", 1), ("gamma", 2)):
            self.assertEqual(self.read(f"ran.{name}"), f"each[{index}]\n")
        self.assertEqual(self.read("sum"), '["2","4","6"]\nsucceeded\n')
        # The collector holds the gathered outputs in one summary attempt.
        summary = self.attempts(run_id, "each")
        self.assertEqual(len(summary), 1)
        self.assertEqual(json.loads(summary[0]["outputs"]), {"double": ["2", "4", "6"]})
        self.assertEqual(self.run_ok("logs", run_id, "each").out,
                         "each[0] succeeded\neach[1] succeeded\neach[2] succeeded\n")

    def test_a_resumed_run_rebuilds_its_instances_from_the_record(self):
        flow = self.write("f.yaml", self.FLOW)
        self.write("fail.beta", "")
        r = self.run_ok("run", flow, "-j1", code=1)
        run_id = self.run_id_of(r)
        self.assertEqual(self.task_statuses(run_id)["each[1]"], "failed")
        self.assertEqual(self.task_statuses(run_id)["each[2]"], "cancelled")  # fail_fast
        os.remove(os.path.join(self.dir, "fail.beta"))
        # The record, not the list, says what each instance holds.
        con = sqlite3.connect(self.state)
        con.execute("UPDATE tasks SET item=? WHERE run_id=? AND task_id='each[1]'",
                    (json.dumps({"name": "delta", "n": 5}), run_id))
        con.commit()
        con.close()
        self.run_ok("resume", run_id)
        self.assertEqual(self.read("ran.alpha"), "each[0]\n")  # kept, not run again
        self.assertEqual(self.read("ran.delta"), "each[1]\n")
        self.assertEqual(self.read("ran.gamma"), "each[2]\n")
        self.assertEqual(self.read("sum"), '["2","10","6"]\nsucceeded\n')
        self.assertEqual(len(self.attempts(run_id, "list")), 1)

    def test_a_failed_instance_leaves_the_others_outputs_readable(self):
        # They read as null: the collector keeps outputs only when it succeeded, while a
        # matrix group gathered them from its instances (["a", null, "c"]).
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              fe:
                for_each: ${{ fromJSON('["a","b","c"]') }}
                fail_fast: false
                run: echo "v=${{ item }}" >> "$WFO_OUTPUT"; test "${{ item }}" != b
              read:
                needs: fe
                if: always()
                run: echo "${{ toJSON(tasks.fe.outputs.v) }} ${{ tasks.fe.status }}" | tr -d ' \\n' > got
            """)
        self.assertEqual(self.wfo("run", flow).code, 1)
        self.assertEqual(self.read("got"), '["a",null,"c"]failed')

    def test_an_empty_list_reads_its_declared_outputs_as_empty_arrays(self):
        # They read as null (no instance named them); `[]` is what a list of no values is.
        # A key no instance set and the task does not declare still reads null.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              fe:
                for_each: ${{ fromJSON('[]') }}
                outputs: {v: {required: true}}
                run: echo "v=${{ item }}" >> "$WFO_OUTPUT"
              never:
                if: "false"
                for_each: ${{ fromJSON('[1]') }}
                outputs: {v: {required: true}}
                run: echo "v=${{ item }}" >> "$WFO_OUTPUT"
              read:
                needs: [fe, never]
                if: always()
                run: echo "${{ toJSON(tasks.fe.outputs.v) }} ${{ toJSON(tasks.fe.outputs.w) }} ${{ tasks.fe.status }} ${{ toJSON(tasks.never.outputs.v) }}" > got
            """)
        self.run_ok("run", flow, "--run-id", "empty")
        # A for_each that made no list (skipped here) has no outputs: not [].
        self.assertEqual(self.read("got"), "[] null succeeded null\n")
        self.assertEqual(self.task_statuses("empty"),
                         {"fe": "succeeded", "never": "skipped", "read": "succeeded"})

    def test_a_value_that_is_not_a_list_fails_the_task(self):
        flow = self.write("f.yaml", """
            version: 1
            tasks:
              list:
                run: echo 'items=a,b' >> "$WFO_OUTPUT"
              each:
                needs: list
                for_each: ${{ tasks.list.outputs.items }}
                run: echo ${{ item }}
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        reason = self.query("SELECT reason FROM tasks WHERE run_id=? AND task_id='each'",
                            run_id)[0]["reason"]
        self.assertEqual(reason, "for_each: ${{ tasks.list.outputs.items }} is not a list: "
                                 "a,b (read a JSON text with fromJSON(...))")

    def test_item_outside_a_for_each_task_is_refused_at_load(self):
        flow = self.write("f.yaml", """
            version: 1
            tasks:
              a:
                run: echo ${{ item }}
            """)
        r = self.wfo("validate", flow)
        self.assertEqual(r.code, 2, repr(r))
        self.assertTrue(r.err.startswith(
            f"{flow}:4:19: error: 'item' is only available in a task with for_each\n"), r.err)


class SharedDefinitionTest(WfoTestCase):
    """The instances of a matrix or for_each task share their task's definition and its
    compiled templates (util/box.hpp), and a file used twice as a sub-workflow its tasks'; each
    instance still gets its own values."""

    def test_each_instance_gets_its_own_values_from_the_shared_definition(self):
        names = 300
        env = "".join(f"                  E{k}: v{k}\n" for k in range(names - 2))
        self.write("sub.yaml", """
            version: 1
            params:
              tag: {required: true}
            tasks:
              leaf:
                env:
                  TAG: ${{ params.tag }}
                run: echo "$TAG" > "leaf.$TAG"
            """)
        flow = self.write("f.yaml", f"""
            version: 1
            params:
              p: {{default: pv}}
            env:
              TOP: top
            agents:
              bot:
                command: echo "${{{{ inputs.n }}}} $LEVEL $ROLE $FIRST $LAST" > "bot.${{{{ inputs.n }}}}"
                env:
                  LEVEL: agent
                  ROLE: bot
            tasks:
              m:
                matrix:
                  n: [{", ".join(str(n) for n in range(1, 41))}]
                agent: bot
                with:
                  n: m${{{{ matrix.n }}}}
                env:
                  LEVEL: m${{{{ matrix.n }}}}-${{{{ params.p }}}}
                  FIRST: v0
{env}                  LAST: ${{{{ env.TOP }}}}
              plain:
                agent: bot
                with:
                  n: plain
              each:
                for_each: ${{{{ fromJSON('["a", "b", "c"]') }}}}
                env:
                  ITEM: ${{{{ item }}}}
                  P: ${{{{ params.p }}}}
                run: echo "$ITEM $P $WFO_TASK_ID" > "each.$ITEM"
              one:
                uses: sub.yaml
                with: {{tag: one}}
              two:
                uses: sub.yaml
                with: {{tag: two}}
            """)
        run_id = self.run_id_of(self.run_ok("run", "-j2", flow))
        rows = self.query("SELECT status, count(*) AS n FROM tasks WHERE run_id=? GROUP BY status",
                          run_id)
        self.assertEqual([(r["status"], r["n"]) for r in rows], [("succeeded", 49)])
        for n in (1, 2, 40):
            self.assertEqual(self.read(f"bot.m{n}"), f"m{n} m{n}-pv bot v0 top\n")
        self.assertEqual(self.read("bot.plain"), "plain agent bot  \n")
        for index, item in enumerate("abc"):
            self.assertEqual(self.read(f"each.{item}"), f"{item} pv each[{index}]\n")
        self.assertEqual(self.read("leaf.one"), "one\n")
        self.assertEqual(self.read("leaf.two"), "two\n")


if __name__ == "__main__":
    unittest.main()
