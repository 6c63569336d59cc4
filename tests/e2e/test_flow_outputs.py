"""End-to-end: outputs and handoffs (issue 5, point 1) and agent inputs (point 2) through the
real binary: the $WFO_OUTPUT format, its refusals, declared outputs, outputs across resume,
and `with:` reaching an agent as WFO_INPUT_<NAME>, $WFO_INPUTS and inputs.<name>."""
import json
import os
import stat
import unittest

from wfo_e2e import WfoTestCase


class OutputsTest(WfoTestCase):
    def test_key_value_and_heredoc_outputs_reach_later_tasks(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              produce:
                run: |
                  echo "plain=one two" >> "$WFO_OUTPUT"
                  echo "eq=a=b=c" >> "$WFO_OUTPUT"
                  printf 'multi<<EOT\\nline 1\\n  line 2\\n\\nEOT\\n' >> "$WFO_OUTPUT"
                  echo "plain=last wins" >> "$WFO_OUTPUT"
              consume:
                needs: produce
                run: |
                  printf '%s|%s|%s' "${{ tasks.produce.outputs.plain }}" \\
                    "${{ tasks.produce.outputs.eq }}" "${{ tasks.produce.outputs.multi }}" > got
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        self.assertEqual(self.read("got"), "last wins|a=b=c|line 1\n  line 2\n")
        outputs = json.loads(self.attempts(run_id, "produce")[0]["outputs"])
        self.assertEqual(outputs, {"plain": "last wins", "eq": "a=b=c",
                                   "multi": "line 1\n  line 2\n"})
        st = self.status_json(run_id)
        self.assertEqual(st["tasks"][0]["outputs"], outputs)

    def test_every_attempt_gets_a_fresh_output_file(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              t:
                retry: {max_attempts: 2}
                run: |
                  test -s "$WFO_OUTPUT" && exit 9
                  echo "attempt=$WFO_ATTEMPT" >> "$WFO_OUTPUT"
                  test "$WFO_ATTEMPT" = 2
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        attempts = self.attempts(run_id, "t")
        self.assertEqual([a["status"] for a in attempts], ["failed", "succeeded"])
        self.assertEqual(attempts[0]["reason"], "exit code 1")
        self.assertEqual(json.loads(attempts[1]["outputs"]), {"attempt": "2"})

    def test_output_files_are_one_per_attempt_running_at_once(self):
        # a and b run together, then c (after a) and d (after b and c). Each attempt writes
        # its own output; one that finds its file not empty fails.
        task = ('test -s "$WFO_OUTPUT" && exit 9\n'
                'echo "me=$WFO_TASK_ID" >> "$WFO_OUTPUT"; basename "$WFO_OUTPUT" > "$WFO_TASK_ID.file"')
        flow = self.write("flow.yaml", f"""
            version: 1
            tasks:
              a: {{run: {json.dumps(task)}}}
              b: {{run: {json.dumps("sleep 0.3; " + task)}}}
              c: {{needs: [a], run: {json.dumps(task)}}}
              d: {{needs: [b, c], run: {json.dumps(task)}}}
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, "-j2"))
        for t in "abcd":
            self.assertEqual(json.loads(self.attempts(run_id, t)[0]["outputs"]), {"me": t})
        files = {t: self.read(f"{t}.file").strip() for t in "abcd"}
        self.assertEqual(files, {"a": "output-slot-0", "b": "output-slot-1",
                                 "c": "output-slot-0", "d": "output-slot-0"})
        run_dir = os.path.join(self.dir, ".wfo", "runs", run_id)
        self.assertEqual(sorted(os.listdir(run_dir)), ["output-slot-0", "output-slot-1"])

    def test_a_replaced_output_file_is_not_followed_by_the_next_attempt(self):
        # first makes its $WFO_OUTPUT a symlink to a file of the user's; then makes it a hard
        # link to another. Neither file is emptied when the next attempt gets the slot.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              first:
                run: |
                  echo "kept=yes" > keep
                  ln -sf "$PWD/keep" "$WFO_OUTPUT"
              then:
                needs: [first]
                run: |
                  test -s "$WFO_OUTPUT" && exit 9
                  echo "kept=too" > other
                  rm "$WFO_OUTPUT"; ln other "$WFO_OUTPUT"
              last:
                needs: [then]
                run: test -s "$WFO_OUTPUT" && exit 9; echo "last=1" >> "$WFO_OUTPUT"
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        self.assertEqual(self.task_statuses(run_id),
                         {"first": "succeeded", "then": "succeeded", "last": "succeeded"})
        # The outputs are read through what the task left, as before.
        self.assertEqual(json.loads(self.attempts(run_id, "first")[0]["outputs"]),
                         {"kept": "yes"})
        self.assertEqual(json.loads(self.attempts(run_id, "last")[0]["outputs"]), {"last": "1"})
        self.assertEqual(self.read("keep"), "kept=yes\n")
        self.assertEqual(self.read("other"), "kept=too\n")

    def refusal(self, script):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  t:\n    run: |\n" +
                          "".join(f"      {line}\n" for line in script.splitlines()))
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        attempt = self.attempts(run_id, "t")[0]
        self.assertEqual(attempt["status"], "failed")
        self.assertEqual(attempt["exit_code"], 0)
        return attempt["reason"]

    def test_bad_output_files_fail_the_attempt_with_a_clear_reason(self):
        self.assertEqual(self.refusal(
            "head -c 1048577 /dev/zero | tr '\\0' x | sed 's/^/big=/' >> \"$WFO_OUTPUT\""),
            "output 'big' is larger than 1 MiB")
        self.assertEqual(self.refusal("echo 'ok=1' >> \"$WFO_OUTPUT\"\n"
                                      "echo 'no equals sign' >> \"$WFO_OUTPUT\""),
                         "malformed output line 2: expected key=value or key<<DELIMITER")
        self.assertEqual(self.refusal("printf 'k<<EOF\\nabc\\n' >> \"$WFO_OUTPUT\""),
                         "output 'k' at line 1 is never closed by 'EOF'")

    def test_declared_outputs_are_validated_and_a_failure_is_retried(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              design:
                retry: {max_attempts: 3}
                outputs:
                  spec: {required: true, pattern: '\\.ya?ml$'}
                  note: {required: false}
                run: |
                  case "$WFO_ATTEMPT" in
                    1) echo "other=x" >> "$WFO_OUTPUT" ;;
                    2) echo "spec=api.json" >> "$WFO_OUTPUT" ;;
                    *) echo "spec=api.yaml" >> "$WFO_OUTPUT" ;;
                  esac
            """)
        run_id = self.run_id_of(self.run_ok("run", flow))
        attempts = self.attempts(run_id, "design")
        self.assertEqual([a["reason"] for a in attempts], [
            "missing required output 'spec'",
            "output 'spec' does not match pattern '\\.ya?ml$'", ""])
        self.assertEqual([a["status"] for a in attempts], ["failed", "failed", "succeeded"])

    def test_an_output_that_is_not_utf8_fails_the_attempt(self):
        # It once ended the driver with an uncaught exception (exit 134), the attempt never
        # recorded, and every resume ran the task and ended the same way.
        self.assertEqual(self.refusal("printf 'x=\\377\\376bad\\n' >> \"$WFO_OUTPUT\""),
                         "output 'x' is not UTF-8 text")
        self.assertEqual(self.refusal("printf 'x<<E\\nok\\n\\377\\nE\\n' >> \"$WFO_OUTPUT\""),
                         "output 'x' is not UTF-8 text")

    def test_patterns_on_long_values_and_backtracking_patterns_end(self):
        # std::regex overflowed its stack on a 100 KB value (the driver died with SIGSEGV,
        # the run stuck "running") and backtracked for hours on ^(a+)+$, deaf to Ctrl-C.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              long:
                outputs: {v: {required: true, pattern: '^[a-z]+$'}}
                run: printf 'v=%s\\n' "$(head -c 100000 /dev/zero | tr '\\0' a)" >> "$WFO_OUTPUT"
              redos:
                retry: {max_attempts: 2, on_output: ['^(a+)+$']}
                run: echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab; exit 1
            """)
        r = self.wfo("run", flow, "--run-id", "p1", timeout=60)
        self.assertEqual(r.code, 1, repr(r))
        self.assertEqual(self.task_statuses("p1"), {"long": "succeeded", "redos": "failed"})
        self.assertEqual(len(self.status_json("p1")["tasks"][0]["outputs"]["v"]), 100000)
        # The line does not match, so the failure is not retried.
        self.assertEqual([a["status"] for a in self.attempts("p1", "redos")], ["failed"])

    def test_a_value_too_long_for_a_command_fails_with_the_way_out(self):
        # Linux takes at most 128 KiB in one argument or environment string; the attempt
        # failed with a bare "Argument list too long".
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              make:
                run: printf 'v=%s\\n' "$(head -c 200000 /dev/zero | tr '\\0' a)" >> "$WFO_OUTPUT"
              inline: {needs: make, run: 'echo "${{ tasks.make.outputs.v }}" > inline.txt'}
              envvar:
                needs: make
                env: {BIG: '${{ tasks.make.outputs.v }}'}
                run: echo "$BIG" > envvar.txt
            """)
        r = self.wfo("run", flow, "--run-id", "e1", "-j", "1")
        self.assertEqual(r.code, 1, repr(r))
        self.assertEqual(self.task_statuses("e1"),
                         {"make": "succeeded", "inline": "failed", "envvar": "failed"})
        limit = 32 * os.sysconf("SC_PAGESIZE")  # with the string's NUL, and an env entry's NAME=
        self.assertEqual(self.attempts("e1", "inline")[0]["reason"],
                         "cannot run '/bin/sh': Argument list too long: the value of a ${{ }} in "
                         f"the command is 200000 bytes, and Linux takes at most "
                         f"{limit - len('WFO_EXPR_1=') - 1} there; pass a large value in a file")
        self.assertEqual(self.attempts("e1", "envvar")[0]["reason"],
                         "cannot run '/bin/sh': Argument list too long: environment variable BIG "
                         f"is 200000 bytes, and Linux takes at most {limit - len('BIG=') - 1} "
                         "there; pass a large value in a file")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "inline.txt")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "envvar.txt")))

    def test_outputs_survive_resume(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              produce:
                run: echo x >> produced; echo "token=$WFO_RUN_ID-7" >> "$WFO_OUTPUT"
              consume:
                needs: produce
                run: test -e go && echo "${{ tasks.produce.outputs.token }}" > got
            """)
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        self.write("go", "")
        self.run_ok("resume", run_id)
        self.assertEqual(self.read("got"), f"{run_id}-7\n")
        self.assertEqual(self.read("produced"), "x\n")  # not run again


class AgentInputsTest(WfoTestCase):
    AGENT = """#!/bin/sh
        printf '%s\\n' "$@" > "argv.$WFO_TASK_ID"
        env | grep '^WFO_INPUT_' | sort > "env.$WFO_TASK_ID"
        cp "$WFO_INPUTS" "inputs.$WFO_TASK_ID.json"
        """

    def test_with_reaches_the_agent_three_ways(self):
        path = self.write("agent.sh", self.AGENT)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        flow = self.write("flow.yaml", """
            version: 1
            params:
              feature: {default: login}
            agents:
              designer:
                command: ["./agent.sh", "--feature", "${{ inputs.feature }}", "${{ inputs.spec-path }}"]
              shell:
                command: echo "${{ inputs.feature }} in a shell" > shell.out
            tasks:
              prepare:
                run: echo "path=specs/${{ params.feature }}.yaml" >> "$WFO_OUTPUT"
              design:
                needs: prepare
                agent: designer
                with:
                  feature: ${{ params.feature }}
                  spec-path: ${{ tasks.prepare.outputs.path }}
                  camelCase: "7"
              talk:
                agent: shell
                with: {feature: signup}
            """)
        self.run_ok("run", flow)
        self.assertEqual(self.read("argv.design"), "--feature\nlogin\nspecs/login.yaml\n")
        self.assertEqual(self.read("env.design"),
                         "WFO_INPUT_CAMELCASE=7\nWFO_INPUT_FEATURE=login\n"
                         "WFO_INPUT_SPEC_PATH=specs/login.yaml\n")
        self.assertEqual(json.loads(self.read("inputs.design.json")), {
            "feature": "login", "spec-path": "specs/login.yaml", "camelCase": "7"})
        self.assertEqual(self.read("shell.out"), "signup in a shell\n")

    def test_inputs_outside_an_agent_command_are_refused_at_load(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              t:
                run: echo "${{ inputs.feature }}"
            """)
        r = self.wfo("validate", flow)
        self.assertEqual(r.code, 2, repr(r))
        self.assertEqual(r.err, f"{flow}:4:20: error: 'inputs' is only available in an agent's "
                                "command\n"
                                "      run: echo \"${{ inputs.feature }}\"\n"
                                "                     ^\n"
                                "  pass values to an agent with 'with:'; elsewhere read params "
                                "or outputs\n")


if __name__ == "__main__":
    unittest.main()
