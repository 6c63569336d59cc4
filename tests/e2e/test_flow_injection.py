"""End-to-end: the injection corpus (issue 5, point 4). Values full of shell syntax travel
through params, outputs, matrix values and agent inputs into `run:`, string commands and argv
commands. No injected command may run (no `pwned-*` file appears), and every value must arrive
byte for byte."""
import json
import os
import stat
import unittest

from wfo_e2e import WfoTestCase

CORPUS = [
    "'; touch pwned-1; echo '",
    '"; touch pwned-2; echo "',
    "$(touch pwned-3)",
    "`touch pwned-4`",
    "a\ntouch pwned-5\nb\n",
    "*",
    "./* ../*",
    "-n",
    "--help",
    "${HOME} $WFO_RUN_ID $0",
    "x; touch pwned-6 && touch pwned-7 | touch pwned-8 > pwned-9 & touch pwned-10",
    "${{ 'an expression in a value stays text' }}",
    "\\'\\\"\\\\ \\n",
    "ümlaut ✓ \t tab\r carriage return",
    "",
    ("0123456789abcdef" * 6250) + "$(touch pwned-11)",
]

FLOW = """
    version: 1
    params:
      v: {default: ""}
    agents:
      argv-agent:
        command: ["./agent.sh", "${{ inputs.v }}"]
      shell-agent:
        command: 'printf "%s" "${{ inputs.v }}" > got-agent-shell'
    tasks:
      param:
        run: printf '%s' "${{ params.v }}" > got-param
      unquoted:
        run: printf '[%s]' ${{ params.v }} > /dev/null
      produce:
        run: |
          { printf 'v<<WFO_END_OF_VALUE\\n'; cat value.bin; printf '\\nWFO_END_OF_VALUE\\n'; } >> "$WFO_OUTPUT"
      consume:
        needs: produce
        run: printf '%s' "${{ tasks.produce.outputs.v }}" > got-output
      consume-argv:
        needs: produce
        agent: argv-agent
        with: {v: "${{ tasks.produce.outputs.v }}"}
      agent-argv:
        agent: argv-agent
        with: {v: "${{ params.v }}"}
      agent-shell:
        agent: shell-agent
        with: {v: "${{ params.v }}"}
      condition:
        if: ${{ params.v != 'never' && !contains(params.v, 'never') }}
        run: printf '%s' "${{ format('{0}', params.v) }}" > got-format
    """

AGENT = """#!/bin/sh
printf '%s' "$1" > "got-$WFO_TASK_ID-argv"
printf '%s' "$WFO_INPUT_V" > "got-$WFO_TASK_ID-env"
cp "$WFO_INPUTS" "got-$WFO_TASK_ID-inputs.json"
"""


class InjectionTest(WfoTestCase):
    def assert_nothing_injected(self):
        found = [os.path.join(root, f) for root, _, files in os.walk(self.dir)
                 for f in files if f.startswith("pwned")]
        self.assertEqual(found, [])

    def assert_file(self, name, value, label):
        with open(os.path.join(self.dir, name), "rb") as f:
            got = f.read()
        self.assertEqual(got, value.encode(), f"{label}: {name}")

    def write_agent(self):
        path = self.write("agent.sh", AGENT)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)

    def test_params_outputs_and_agent_inputs_arrive_exactly_and_never_run(self):
        flow = self.write("flow.yaml", FLOW)
        self.write_agent()
        for n, value in enumerate(CORPUS):
            label = f"corpus[{n}] {value[:40]!r}"
            with open(os.path.join(self.dir, "value.bin"), "wb") as f:
                f.write(value.encode())
            r = self.wfo("run", flow, "-p", f"v={value}")
            self.assertEqual(r.code, 0, f"{label}\n{r!r}")
            self.assert_nothing_injected()
            self.assert_file("got-param", value, label)
            self.assert_file("got-output", value, label)
            self.assert_file("got-format", value, label)
            self.assert_file("got-agent-shell", value, label)
            for task in ("agent-argv", "consume-argv"):
                self.assert_file(f"got-{task}-argv", value, label)
                self.assert_file(f"got-{task}-env", value, label)
                with open(os.path.join(self.dir, f"got-{task}-inputs.json"), "rb") as f:
                    self.assertEqual(json.loads(f.read()), {"v": value}, label)
            run_id = self.run_id_of(r)
            self.assertEqual(json.loads(self.query(
                "SELECT params FROM runs WHERE id=?", run_id)[0]["params"]), {"v": value})

    def test_matrix_values_arrive_exactly_and_never_run(self):
        include = ", ".join("{k: %s, v: %s}" % (json.dumps(str(n)), json.dumps(v, ensure_ascii=False))
                            for n, v in enumerate(CORPUS))
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              t:
                matrix:
                  include: [%s]
                run: printf '%%s' "${{ matrix.v }}" > "got-matrix-${{ matrix.k }}"
              all:
                needs: t
                run: printf '%%s' "${{ toJSON(tasks.t.status) }}" > /dev/null
            """ % include.replace("%", "%%"))
        run_id = self.run_id_of(self.run_ok("run", flow, "-j4"))
        self.assert_nothing_injected()
        for n, value in enumerate(CORPUS):
            self.assert_file(f"got-matrix-{n}", value, f"corpus[{n}]")
        # Values that would not make a readable id give the instance its index.
        ids = [r["task_id"] for r in self.query(
            "SELECT task_id FROM tasks WHERE run_id=? ORDER BY position", run_id)]
        self.assertEqual(ids[:3], ["t[0]", "t[1]", "t[2]"])
        self.assertEqual(ids[7], "t[k=7,v=-n]")
        self.assertEqual(ids[8], "t[k=8,v=--help]")


if __name__ == "__main__":
    unittest.main()
