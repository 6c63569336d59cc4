"""End-to-end: every kind of bad input is refused with exit 2, a message naming
file:line:col with the offending line, a caret and the way out, and nothing written to the
state database. Pathological files get the same clean refusal (the subprocess timeout only
guards against a hang; there is no timing assertion)."""
import json
import os
import random
import sqlite3
import subprocess
import unittest

from wfo_e2e import WfoTestCase

r = random.Random(1)
# (name, subcommand, file contents)
CASES = [
 ("yaml_syntax", "validate", "version: 1\ntasks:\n  a: {run: [echo}\n"),
 ("unknown_key", "validate", "version: 1\ntasks:\n  a:\n    run: echo\n    retires: 3\n"),
 ("wrong_type", "validate", "version: 1\ntasks:\n  a:\n    run: echo\n    retry: {max_attempts: many}\n"),
 ("duplicate_key", "validate", "version: 1\ntasks:\n  a: {run: echo}\n  a: {run: echo}\n"),
 ("bad_duration", "validate", "version: 1\ntasks:\n  a:\n    run: echo\n    timeout: 5 minutes\n"),
 ("bad_pattern", "validate", "version: 1\ntasks:\n  a:\n    run: echo\n    retry: {max_attempts: 2, on_output: [ok, '(a)\\1']}\n"),
 ("long_task_id", "validate", "version: 1\ntasks:\n  " + "a" * 201 + ": {run: x}\n"),
 ("mixed_condition", "run", "version: 1\ntasks:\n  deploy:\n    if: '${{ false }} && ${{ false }}'\n    run: touch deployed\n"),
 ("cycle", "validate", "version: 1\ntasks:\n  a: {needs: c, run: x}\n  b: {needs: a, run: y}\n  c: {needs: b, run: z}\n"),
 ("needs_itself", "validate", "version: 1\ntasks:\n  a: {needs: a, run: x}\n"),
 ("unknown_need", "validate", "version: 1\ntasks:\n  test: {run: x}\n  deploy: {needs: tset, run: y}\n"),
 ("unknown_agent", "validate", "version: 1\nagents:\n  coders: {command: x}\ntasks:\n  a: {agent: coder}\n"),
 ("run_and_agent", "validate", "version: 1\nagents:\n  c: {command: x}\ntasks:\n  a: {run: x, agent: c}\n"),
 ("bad_task_id", "validate", "version: 1\ntasks:\n  \"build app\": {run: x}\n"),
 ("missing_version", "validate", "tasks:\n  a: {run: x}\n"),
 ("unsupported_version", "validate", "version: 2\ntasks:\n  a: {run: x}\n"),
 ("negative_number", "validate", "version: 1\ntasks:\n  a:\n    run: x\n    retry: {max_attempts: -1}\n"),
 ("absurd_number", "validate", "version: 1\nmax_parallel: 100000000\ntasks:\n  a: {run: x}\n"),
 ("missing_required_param", "run", "version: 1\nparams:\n  ticket: {required: true}\ntasks:\n  a: {run: echo}\n"),
 ("expression_syntax", "validate", "version: 1\ntasks:\n  a: {run: \"echo ${{ contains( }}\"}\n"),
 ("expression_unknown_param", "validate", "version: 1\nparams:\n  feature: {default: x}\ntasks:\n  a: {run: \"echo ${{ params.featur }}\"}\n"),
 ("expression_in_indented_block", "validate", "version: 1\ntasks:\n  a:\n    run: |2\n        echo one\n        echo ${{ nope( }}\n"),
 ("empty_folded_block", "validate", "version: 1\ntasks:\n  t:\n    run: >\n  u:\n    run: echo\n"),
 ("anchored_folded_block", "validate", "version: 1\nenv:\n  X: &9 >\n    echo a\n    echo ${{ params.zz }}\ntasks:\n  t: {run: echo}\n"),
 ("condition_in_folded_block", "validate", "version: 1\ntasks:\n  a:\n    if: >\n      true &&\n      params.nope\n    run: x\n"),
 ("expression_in_folded_block", "validate", "version: 1\nparams:\n  feature: {default: x}\ntasks:\n  a:\n    run: echo\n    env:\n      X: >\n        echo ${{ params.feature }}\n\n        then\n          ${{ 1 }} and ${{ params.featur }}\n"),
 ("expression_in_block", "validate", "version: 1\nparams:\n  feature: {default: x}\ntasks:\n  a:\n    run: |\n      echo ${{ params.feature }}\n\n      echo ${{ 1 }} and ${{ params.featur }}\n"),
 ("top_level_list", "validate", "- a\n- b\n"),
 ("empty_file", "validate", ""),
 ("no_tasks", "validate", "version: 1\ntasks: {}\n"),
 ("deep_nesting", "validate", "[" * 20000 + "\n"),
 ("bracket_colon", "validate", "[:"),
 ("recursive_alias", "validate", "a: &x [*x]\n"),
 ("binary_garbage", "validate", bytes(r.randrange(256) for _ in range(5000))),
]

# (name, subcommand, the exact stderr)
EXPECTED = [
    ('yaml_syntax', 'validate',
     b"flow.yaml:3:17: error: yaml syntax: did not find expected ',' or ']' (while parsing a "
     b"flow sequence at line 3, column 12)\n    a: {run: [echo}\n                  ^\n"),
    ('unknown_key', 'validate',
     b"flow.yaml:5:5: error: unknown key 'retires' in task 'a' (did you mean 'retry'?)\n      retires: 3\n      ^\n"),
    ('wrong_type', 'validate',
     b"flow.yaml:5:27: error: 'max_attempts' must be an integer\n      retry: {max_attempts: many}\n                            ^\n"),
    ('duplicate_key', 'validate',
     b"flow.yaml:4:3: error: duplicate key 'a' (first defined at line 3)\n    a: {run: echo}\n    ^\n  remove one of them or merge them\n"),
    ('bad_duration', 'validate',
     b"flow.yaml:5:14: error: invalid duration '5 minutes' for 'timeout'\n      timeout: 5 minutes\n               ^\n  write durations like 500ms, 30s, 5m or 1h30m\n"),
    ('bad_pattern', 'validate',
     b"flow.yaml:5:46: error: invalid regular expression '(a)\\1' for 'on_output': invalid escape sequence: \\1\n"
     b"      retry: {max_attempts: 2, on_output: [ok, '(a)\\1']}\n                                               ^\n"
     b"  write it in RE2 syntax (Perl's without backreferences and lookaround): https://github.com/google/re2/wiki/Syntax\n"),
    ('long_task_id', 'validate',
     b"flow.yaml:3:3: error: task id 'aaaaaaaaaaaaaaaaaaaa'... is 201 characters long; the limit is 200\n"
     b"    " + b"a" * 70 + b"\n    ^\n  shorten it: its attempts' log files are named after it\n"),
    ('mixed_condition', 'run',
     b"flow.yaml:4:9: error: a condition must be a single expression (write '${{ a && b }}', not "
     b"'${{ a }} && ${{ b }}')\n      if: '${{ false }} && ${{ false }}'\n          ^\n"),
    ('cycle', 'validate',
     b'flow.yaml:3:3: error: dependency cycle: a -> c -> b -> a\n    a: {needs: c, run: x}\n    ^\n  remove one of these needs to break the cycle\n'),
    ('needs_itself', 'validate',
     b"flow.yaml:3:14: error: task 'a' needs itself\n    a: {needs: a, run: x}\n               ^\n  remove 'a' from its needs\n"),
    ('unknown_need', 'validate',
     b"flow.yaml:4:19: error: task 'deploy' needs unknown task 'tset' (did you mean 'test'?)\n    deploy: {needs: tset, run: y}\n                    ^\n"),
    ('unknown_agent', 'validate',
     b"flow.yaml:5:14: error: task 'a' uses unknown agent 'coder' (did you mean 'coders'?)\n    a: {agent: coder}\n               ^\n"),
    ('run_and_agent', 'validate',
     b"flow.yaml:5:15: error: task 'a' has both 'run' and 'agent': a task runs exactly one of run, agent or uses\n    a: {run: x, agent: c}\n                ^\n"),
    ('bad_task_id', 'validate',
     b'flow.yaml:3:3: error: invalid task id \'build app\': use letters, digits, \'_\' and \'-\'\n    "build app": {run: x}\n    ^\n'),
    ('missing_version', 'validate',
     b"flow.yaml:1:1: error: missing required key 'version'\n  tasks:\n  ^\n  add 'version: 1' at the top\n"),
    ('unsupported_version', 'validate',
     b'flow.yaml:1:10: error: unsupported version 2 (this wfo reads version 1)\n  version: 2\n           ^\n'),
    ('negative_number', 'validate',
     b"flow.yaml:5:27: error: 'max_attempts' must be between 1 and 100, got -1\n      retry: {max_attempts: -1}\n                            ^\n"),
    ('absurd_number', 'validate',
     b"flow.yaml:2:15: error: 'max_parallel' must be between 1 and 10000, got 100000000\n  max_parallel: 100000000\n                ^\n"),
    ('missing_required_param', 'run',
     b"flow.yaml:3:3: error: missing required param 'ticket'\n    ticket: {required: true}\n    ^\n  pass it with -p ticket=VALUE\n"),
    ('expression_syntax', 'validate',
     b'flow.yaml:3:31: error: expected \')\' to close \'(\' in expression\n    a: {run: "echo ${{ contains( }}"}\n                                ^\n'),
    ('expression_unknown_param', 'validate',
     b'flow.yaml:5:21: error: unknown param \'featur\' (did you mean \'feature\'?)\n    a: {run: "echo ${{ params.featur }}"}\n                      ^\n  declare it under \'params:\' or fix the name\n'),
    # The third line of a `run: |` block: its line and column in the file.
    ('expression_in_block', 'validate',
     b"flow.yaml:9:29: error: unknown param 'featur' (did you mean 'feature'?)\n        echo ${{ 1 }} and ${{ params.featur }}\n                              ^\n  declare it under 'params:' or fix the name\n"),
    # A `>` block joins its lines (a blank line is a line break, a deeper one is kept as
    # written): the error is on the file's line and column, not past the `>`'s line.
    # An empty block: at its `>`, not at the next key (a line not deeper than the `>`'s).
    ('empty_folded_block', 'validate',
     b"flow.yaml:4:10: error: 'run' must not be empty\n      run: >\n           ^\n"),
    # An anchor whose name is a digit is not the block's indentation indicator.
    ('anchored_folded_block', 'validate',
     b"flow.yaml:5:14: error: unknown param 'zz'\n      echo ${{ params.zz }}\n               ^\n  declare it under 'params:' or fix the name\n"),
    # An `if:` without ${{ }} (wrapped in them by wfo) over two lines of a `>` block.
    ('condition_in_folded_block', 'validate',
     b"flow.yaml:6:7: error: unknown param 'nope'\n        params.nope\n        ^\n  declare it under 'params:' or fix the name\n"),
    ('expression_in_folded_block', 'validate',
     b"flow.yaml:12:28: error: unknown param 'featur' (did you mean 'feature'?)\n            ${{ 1 }} and ${{ params.featur }}\n                             ^\n  declare it under 'params:' or fix the name\n"),
    # `|2`: the block's indentation is the line's plus 2, its text's lines start 2 deeper.
    ('expression_in_indented_block', 'validate',
     b"flow.yaml:6:18: error: unknown function 'nope'\n          echo ${{ nope( }}\n                   ^\n"),
    ('top_level_list', 'validate',
     b"flow.yaml:1:1: error: the top level must be a mapping\n  - a\n  ^\n  start with 'version: 1' and a 'tasks:' map\n"),
    ('empty_file', 'validate',
     b"flow.yaml: error: empty workflow\n  start with 'version: 1' and a 'tasks:' map\n"),
    ('no_tasks', 'validate',
     b"flow.yaml:2:1: error: the workflow has no tasks\n  tasks: {}\n  ^\n  add a 'tasks:' map with at least one task, e.g. tasks: {build: {run: make}}\n"),
    ('deep_nesting', 'validate',
     b'flow.yaml:1:65: error: nesting deeper than 64 levels\n  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n                                                                  ^\n  flatten the structure; a workflow needs only a few levels\n'),
    ('bracket_colon', 'validate',
     b'flow.yaml:1:2: error: yaml syntax: did not find expected node content (while parsing a '
     b'flow node)\n  [:\n   ^\n'),
    ('recursive_alias', 'validate',
     b"flow.yaml:1:8: error: recursive alias '*x'\n  a: &x [*x]\n         ^\n  an alias cannot refer to a node that contains it\n"),
    ('binary_garbage', 'validate',
     b'flow.yaml:1:3: error: file is not UTF-8 text\n  D ?<????k0? ?? ??u4?    ?n? q??w?vp?? ?3_?=??a???? ?|??X??,?7S??? ? ??WV\n    ^\n  found a byte sequence that is not UTF-8; save the file as UTF-8\n'),
]


class BadInputTest(WfoTestCase):
    def test_every_case_exact_message_exit_2_nothing_recorded(self):
        expected = {name: err for name, _, err in EXPECTED}
        self.assertEqual(len(CASES), len(EXPECTED))
        for name, cmd, text in CASES:
            with self.subTest(name):
                data = text if isinstance(text, bytes) else text.encode()
                with open(os.path.join(self.dir, "flow.yaml"), "wb") as f:
                    f.write(data)
                r = self.wfo(cmd, "flow.yaml", timeout=20)
                self.assertEqual(r.code, 2, repr(r))
                self.assertEqual(r.out, "")
                self.assertEqual(r.err.encode("utf-8", "surrogateescape"), expected[name])
                self.assertNotIn("terminate called", r.err)
                self.assertFalse(os.path.exists(self.state), "a refused workflow created state")

    def test_bad_input_leaves_existing_runs_untouched(self):
        good = self.write("good.yaml", "version: 1\ntasks:\n  a: {run: 'true'}\n")
        run_id = self.run_id_of(self.run_ok("run", good))
        before = self.query("SELECT COUNT(*) AS n FROM events")[0]["n"]
        self.write("bad.yaml", "version: 1\ntasks:\n  a: {needs: a, run: x}\n")
        self.assertEqual(self.wfo("run", "bad.yaml").code, 2)
        self.assertEqual(self.query("SELECT id FROM runs"), [{"id": run_id}])
        self.assertEqual(self.query("SELECT COUNT(*) AS n FROM events")[0]["n"], before)

    def test_resume_of_a_run_whose_stored_workflow_no_longer_loads(self):
        # The spec: a run resumes from the workflow text it started with, not the file. When
        # that copy is damaged, the error is at the copy's line and column, says that the
        # file on disk was not read (here it is fixed, and still refused), and the run is
        # left as it was.
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: 'exit 1'}\n"
                                       "  b: {needs: a, run: 'true'}\n")
        run_id = self.run_id_of(self.run_ok("run", flow, code=1))
        with sqlite3.connect(self.state) as con:
            con.execute("UPDATE run_texts SET workflow_text="
                        "replace(workflow_text, 'needs: a', 'needs: [a')")
        self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: 'true'}\n"
                                "  b: {needs: a, run: 'true'}\n")
        before = self.query("SELECT * FROM events ORDER BY id")
        r = self.wfo("resume", run_id)
        self.assertEqual((r.code, r.out), (2, ""), repr(r))
        self.assertEqual(r.err,
                         f"{flow}:4:29: error: yaml syntax: did not find expected ',' or ']' "
                         "(while parsing a flow sequence at line 4, column 14)\n"
                         "    b: {needs: [a, run: 'true'}\n"
                         "                              ^\n"
                         f"  resume loads the copy of the workflow stored with run {run_id}, not "
                         "the file on disk, and that copy no longer loads; start a new run: "
                         f"wfo run {flow}\n")
        self.assertEqual(self.query("SELECT * FROM events ORDER BY id"), before)
        self.assertEqual(self.task_statuses(run_id), {"a": "failed", "b": "skipped"})
        self.assertEqual(self.run_status(run_id), "failed")

    def test_values_that_are_not_utf8_are_refused(self):
        # JSON text is UTF-8 (RFC 8259): a param or gate input that is not once ended wfo
        # with an uncaught exception (exit 134), the run half recorded.
        flow = self.write("flow.yaml", """
            version: 1
            params:
              msg: {default: hi}
            tasks:
              g:
                approval: {inputs: {note: {required: true}}}
              a: {needs: g, run: 'echo "${{ params.msg }}"'}
            """)
        bad = os.fsdecode(b"\xff\xfe")
        r = self.wfo("run", flow, "-p", f"msg={bad}")
        self.assertEqual((r.code, r.out, r.err), (2, "", (
            "wfo: error: param 'msg' is not UTF-8 text\n"
            "  pass text in the UTF-8 encoding; for bytes, pass a file's path or base64\n")))
        self.assertFalse(os.path.exists(self.state), "a refused run created state")
        r = self.wfo("run", flow, "--run-id", "u1")
        self.assertEqual(r.code, 3, repr(r))
        r = self.wfo("approve", "u1", "--input", f"note={bad}")
        self.assertEqual((r.code, r.err), (2, "wfo: error: input 'note' is not UTF-8 text\n"
                                              "  give text in the UTF-8 encoding\n"))
        self.assertEqual(self.query("SELECT status FROM gates"), [{"status": "waiting"}])
        self.assertEqual(self.query("SELECT COUNT(*) AS n FROM decisions")[0]["n"], 0)
        self.run_ok("approve", "u1", "--input", "note=fine")
        self.assertEqual(self.run_ok("resume", "u1").code, 0)

    def test_usage_errors(self):
        cases = [
            (["frobnicate"], "wfo: error: unknown command 'frobnicate'\n  run 'wfo --help' for usage\n"),
            (["staus"], "wfo: error: unknown command 'staus' (did you mean 'status'?)\n  run 'wfo --help' for usage\n"),
            (["run", "missing.yaml"], "wfo: error: cannot read 'missing.yaml': No such file or directory\n"
                                      "  check the path of the workflow file\n"),
            (["run"], "wfo: error: file is required\n  run 'wfo --help' for usage\n"),
            (["list", "--limit", "0"],
             "wfo: error: --limit: must be a whole number from 1 to 1000000000, got '0'\n"
             "  run 'wfo --help' for usage\n"),
            (["logs", "r1", "--attempt", "-2"],
             "wfo: error: --attempt: must be a whole number from 1 to 1000000000, got '-2'\n"
             "  run 'wfo --help' for usage\n"),
            (["resume", "r1", "-j", "0"],
             "wfo: error: --jobs: must be a whole number from 1 to 10000, got '0'\n"
             "  run 'wfo --help' for usage\n"),
            # A command's option before the command: CLI11 said "not expected: 4 -j".
            (["--state", "s.db", "-j", "4", "run", "f.yaml", "--run-id", "x y"],
             "wfo: error: option '-j' belongs to 'wfo run': put it after the command\n"
             "  as in: wfo --state s.db run f.yaml --run-id 'x y' -j 4\n"),
            (["--json", "list"],
             "wfo: error: option '--json' belongs to 'wfo list': put it after the command\n"
             "  as in: wfo list --json\n"),
            (["--jobs=3", "resume", "r1"],
             "wfo: error: option '--jobs' belongs to 'wfo resume': put it after the command\n"
             "  as in: wfo resume r1 --jobs=3\n"),
            # The value of an option is no command; a `--` stays last.
            (["--run-id", "list", "run", "f.yaml"],
             "wfo: error: option '--run-id' belongs to 'wfo run': put it after the command\n"
             "  as in: wfo run f.yaml --run-id list\n"),
            (["-j", "4", "run", "--", "f.yaml"],
             "wfo: error: option '-j' belongs to 'wfo run': put it after the command\n"
             "  as in: wfo run -j 4 -- f.yaml\n"),
            (["-j", "4", "list"],
             "wfo: error: option '-j' belongs to a command (wfo run, wfo resume), not before one\n"
             "  run 'wfo --help' for usage\n"),
            # CLI11 said "a subcommand is required".
            (["--bogus", "list"],
             "wfo: error: unknown option '--bogus' before the command\n"
             "  only --state, --help and --version go there; run 'wfo --help' for usage\n"),
        ]
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: 'true'}\n")
        # A number too large for an int gets the same answer as any other out of range.
        for jobs in ["99999999999", "10001", "-1", "2x"]:
            cases.append((["run", flow, "-j", jobs],
                          f"wfo: error: --jobs: must be a whole number from 1 to 10000, got '{jobs}'\n"
                          "  run 'wfo --help' for usage\n"))
        # An empty --state or --run-id (an unset variable, say) is refused, not the default.
        cases.append((["--state", "", "run", flow],
                      "wfo: error: --state: must not be empty; leave --state out for $WFO_STATE, "
                      "else .wfo/state.db\n  run 'wfo --help' for usage\n"))
        cases.append((["run", flow, "--run-id", ""],
                      "wfo: error: --run-id: must not be empty; leave --run-id out for a new id\n"
                      "  run 'wfo --help' for usage\n"))
        for command in ("status", "stats"):
            cases.append(([command, ""], "wfo: error: id: must not be empty; leave the id out for "
                                         "the newest run\n  run 'wfo --help' for usage\n"))
        # --name= too: CLI11 took the next word as the value (a database named 'run').
        cases.append((["--state=", "run", flow],
                      "wfo: error: --state: must not be empty; leave --state out for $WFO_STATE, "
                      "else .wfo/state.db\n  run 'wfo --help' for usage\n"))
        cases.append((["run", "--run-id=", flow],
                      "wfo: error: --run-id: must not be empty; leave --run-id out for a new id\n"
                      "  run 'wfo --help' for usage\n"))
        cases.append((["run", flow, "--run-id", "r" * 129],
                      f"wfo: error: invalid run id '{'r' * 129}'\n  use at most 128 letters, digits, "
                      "'_', '.' and '-', not starting with '.' or '-' nor ending in '.lock' (a "
                      "run's lock file is named so, as git's refs)\n"))
        # A run's lock file is runs/ID.lock: the run 'a.lock' clashed with the run 'a'.
        cases.append((["run", flow, "--run-id", "a.lock"],
                      "wfo: error: invalid run id 'a.lock'\n  use at most 128 letters, digits, "
                      "'_', '.' and '-', not starting with '.' or '-' nor ending in '.lock' (a "
                      "run's lock file is named so, as git's refs)\n"))
        # An empty value was taken as the option left out (approve chose the only gate).
        for args, err in ((["approve", "r-1", "--task", ""],
                           "--task: must not be empty; leave --task out when one gate waits"),
                          (["list", "--status", ""],
                           "--status: must not be empty; leave --status out for runs of every "
                           "status"),
                          (["logs", "r-1", ""],
                           "task: must not be empty; leave the task out for every task that ran")):
            cases.append((args, f"wfo: error: {err}\n  run 'wfo --help' for usage\n"))
        for args, err in cases:
            r = self.wfo(*args)
            self.assertEqual((r.code, r.err), (2, err))
        self.assertFalse(os.path.exists(self.state))
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".wfo")))

    def test_numbers_with_leading_zeros_are_decimal(self):
        # CLI11 converts with strtoll's base 0, where 010 is octal 8.
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              a:
                retry: {max_attempts: 10, delay: 1ms}
                run: echo "attempt $WFO_ATTEMPT"; exit 1
              after: {needs: a, run: 'true'}
            """)
        self.run_ok("run", flow, "--run-id", "z1", code=1)
        self.assertEqual(self.run_ok("logs", "z1", "a", "--attempt", "010").out, "attempt 10\n")
        self.assertEqual(self.run_ok("logs", "z1", "a", "--attempt", "09").out, "attempt 9\n")
        # An attempt the task never had, with or without -f (which printed nothing, exit 0).
        for follow in ([], ["-f"]):
            r = self.wfo("logs", "z1", "a", "--attempt", "11", *follow)
            self.assertEqual((r.code, r.out, r.err), (2, "", "wfo: error: task 'a' has no attempt "
                                                             "11\n  it has 10 attempt(s)\n"))
        # A task that never ran has no attempt either (without -f: nothing printed, exit 0).
        for follow in ([], ["-f"]):
            r = self.wfo("logs", "z1", "after", "--attempt", "1", *follow)
            self.assertEqual((r.code, r.out, r.err), (2, "", "wfo: error: task 'after' has no "
                                                             "attempt 1\n  it has 0 attempt(s)\n"))
        self.run_ok("run", self.write("ok.yaml", "version: 1\ntasks:\n  b: {run: 'true'}\n"))
        self.assertEqual(len(json.loads(self.run_ok("list", "--limit", "01", "--json").out)), 1)

    def test_a_device_a_fifo_or_a_huge_file_ends_at_once(self):
        # /dev/zero was read until memory ran out, and a FIFO nobody writes to blocked for
        # ever (with Ctrl-C blocked); both now end at once with exit 2.
        r = self.wfo("validate", "/dev/zero", timeout=20)
        self.assertEqual((r.code, r.err), (2, "wfo: error: cannot read '/dev/zero': not a file or "
                                              "a pipe\n  check the path of the workflow file\n"))
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        r = self.wfo("run", fifo, timeout=20)
        self.assertEqual((r.code, r.err.splitlines()[0]), (2, f"{fifo}: error: empty workflow"))
        big = os.path.join(self.dir, "big.yaml")
        with open(big, "wb") as f:
            f.truncate((64 << 20) + 1)
        r = self.wfo("validate", big, timeout=20)
        self.assertEqual((r.code, r.err), (2, f"wfo: error: cannot read '{big}': larger than 64 "
                                              "MiB\n  check the path of the workflow file\n"))
        self.assertFalse(os.path.exists(self.state))
        # A pipe is still read (process substitution, /dev/stdin).
        r = self.wfo("validate", "/dev/stdin", input="version: 1\ntasks:\n  a: {run: x}\n")
        self.assertEqual((r.code, r.err), (0, "/dev/stdin: ok (1 task)\n"))

    def test_unknown_param_and_enum(self):
        self.write("flow.yaml", """
            version: 1
            params:
              env: {default: staging, enum: [staging, prod]}
            tasks:
              a: {run: echo}
            """)
        r = self.wfo("run", "flow.yaml", "-p", "evn=prod")
        self.assertEqual((r.code, r.err), (2, "wfo: error: unknown param 'evn' (did you mean 'env'?)\n"
                                              "  its params are: env\n"))
        r = self.wfo("run", "flow.yaml", "-p", "env=qa")
        self.assertEqual((r.code, r.err), (2, "flow.yaml:3:3: error: param 'env' is 'qa', not one of staging, prod\n"
                                              "    env: {default: staging, enum: [staging, prod]}\n"
                                              "    ^\n  pass -p env=staging\n"))

    def test_state_database_problems_exit_5(self):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: 'true'}\n")
        os.makedirs(os.path.dirname(self.state))
        with open(self.state, "wb") as f:
            f.write(b"this is not a database" * 100)
        r = self.wfo("run", flow)
        self.assertEqual(r.code, 5, repr(r))
        self.assertEqual(r.err, f"wfo: error: state database '{self.state}': file is not a database\n"
                                "  check the file, or point --state / WFO_STATE at another database\n")
        os.remove(self.state)
        self.run_ok("run", flow)
        con = sqlite3.connect(self.state)
        con.execute("PRAGMA user_version=7")
        con.commit()
        con.close()
        r = self.wfo("list")
        self.assertEqual(r.code, 5)
        self.assertEqual(r.err, f"wfo: error: state database '{self.state}' has schema version 7; "
                                "this wfo reads version 4\n  upgrade wfo, or point --state at another database\n")

    def test_a_state_path_that_is_not_a_file_is_refused(self):
        # SQLite opened a pipe or a device and wrote its journal beside it (/dev/null-journal).
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        for path, err in ((fifo, "not a file but a device or a pipe\n  point --state / "
                                 "WFO_STATE at a file\n"),
                          (self.dir, f"not a file but a folder\n  name a file in it, e.g. "
                                     f"--state {self.dir}/state.db\n")):
            for args in (["list"], ["run", self.write("flow.yaml", "version: 1\ntasks:\n"
                                                                   "  a: {run: touch ran}\n")]):
                r = self.wfo("--state", path, *args, timeout=20)
                self.assertEqual((r.code, r.err), (5, f"wfo: error: state database '{path}' is "
                                                      + err), args)
        self.assertEqual(sorted(os.listdir(self.dir)), ["fifo", "flow.yaml"])

    def test_a_runs_folder_that_is_a_file_names_the_way_out(self):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: touch ran}\n")
        runs = os.path.join(os.path.dirname(self.state), "runs")
        os.makedirs(os.path.dirname(self.state))
        self.write(runs, "")
        r = self.wfo("run", flow, "--run-id", "l1")
        self.assertEqual((r.code, r.err), (5, (
            f"wfo: error: cannot open lock '{runs}/l1.lock': Not a directory\n"
            f"  wfo keeps each run's lock and files in '{runs}': make it a folder this user can "
            "write to\n")))
        self.assertFalse(self.exists("ran"))
        # A run named l2.lock (an id older wfo allowed) has its folder where l2's lock goes.
        os.remove(runs)
        os.makedirs(os.path.join(runs, "l2.lock"))
        r = self.wfo("run", flow, "--run-id", "l2")
        self.assertEqual((r.code, r.err), (5, (
            f"wfo: error: cannot open lock '{runs}/l2.lock': Is a directory\n"
            "  run l2.lock keeps its files there; choose another --run-id\n")))

    def test_a_state_folder_that_cannot_be_written_names_the_way_out(self):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: 'true'}\n")
        self.run_ok("run", flow)
        folder = os.path.dirname(self.state)
        # Root ignores permission bits: the folder is made immutable, where the file system
        # lets it be.
        if subprocess.run(["chattr", "+i", folder], capture_output=True).returncode != 0:
            self.skipTest("chattr +i is not available here")
        try:
            r = self.wfo("list")
        finally:
            subprocess.run(["chattr", "-i", folder], check=True)
        self.assertEqual((r.code, r.err), (5, (
            f"wfo: error: state database '{self.state}': unable to open database file\n"
            "  make the file and its folder writable (SQLite keeps its -wal and -shm files "
            "beside it), or point --state / WFO_STATE at another database\n")))

    def test_approvals_on_a_damaged_database_is_an_error(self):
        # A damaged runs table read as "no gate is waiting" (exit 0).
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  review: {approval: {}}\n")
        self.run_ok("run", flow, "--run-id", "g1", code=3)
        self.assertIn("g1 review", self.run_ok("approvals").out)
        with open(self.state, "r+b") as f:  # page 2 of 2 KiB: the runs table's root
            f.seek(2048)
            f.write(b"\xff" * 2048)
        for args in (["approvals"], ["approvals", "--json"]):
            r = self.wfo(*args)
            self.assertEqual((r.code, r.out, r.err), (5, "", (
                f"wfo: error: state database '{self.state}': database disk image is malformed\n"
                "  check the file, or point --state / WFO_STATE at another database\n")))

    def test_another_programs_database_is_left_untouched(self):
        # A mistyped --state once turned another program's database to WAL mode and added
        # wfo's tables to it, even for `wfo list`.
        app = os.path.join(self.dir, "app.db")
        con = sqlite3.connect(app)
        con.execute("CREATE TABLE customers(name TEXT)")
        con.execute("INSERT INTO customers VALUES ('ada')")
        con.commit()
        con.close()
        with open(app, "rb") as f:
            before = f.read()
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: 'true'}\n")
        for args in (["list"], ["status", "r1"], ["run", flow]):
            r = self.wfo("--state", app, *args)
            self.assertEqual((r.code, r.err), (5, f"wfo: error: '{app}' is an SQLite database, but not "
                                                  "wfo's\n  point --state / WFO_STATE at wfo's state "
                                                  "database\n"), args)
        with open(app, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertFalse(os.path.exists(app + "-wal"))


if __name__ == "__main__":
    unittest.main()
