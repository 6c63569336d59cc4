"""End-to-end: progress without a terminal (CI logs, pipes): plain timestamped lines, no escape
codes, -v streaming task output live, -q printing only errors and the result, and the tail of
a failed attempt's log."""
import os
import re
import subprocess
import unittest

from wfo_e2e import WFO, WfoTestCase

CLOCK = r"\d\d:\d\d:\d\d"


def untimed(text):
    """`text` with every leading HH:MM:SS replaced by `T`."""
    return re.sub(r"(?m)^" + CLOCK + " ", "T ", text)


class PlainTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          build:
            run: echo compiling
          flaky:
            needs: build
            run: echo "try $WFO_ATTEMPT"; test "$WFO_ATTEMPT" -ge 2
            retry: {max_attempts: 2, delay: 100ms}
          ship:
            needs: flaky
            run: "true"
        """

    def test_one_timestamped_line_per_event(self):
        flow = self.write("flow.yaml", self.FLOW)
        r = self.run_ok("run", flow, "--run-id", "p1")
        self.assertEqual(r.out, "p1\n")
        for line in r.err.splitlines()[:-1]:
            self.assertRegex(line, "^" + CLOCK + " ")
        self.assertRegex(untimed(r.err),
                         r"^T build started \(attempt 1\)\n"
                         r"T build succeeded in \d+ms\n"
                         r"T flaky started \(attempt 1\)\n"
                         r"T flaky attempt 1 failed: exit code 1\n"
                         r"T flaky retrying in 100ms \(attempt 2/2\): exit code 1\n"
                         r"T flaky started \(attempt 2 after 100ms \(exit code 1\)\)\n"
                         r"T flaky succeeded in \d+ms\n"
                         r"T ship started \(attempt 1\)\n"
                         r"T ship succeeded in \d+ms\n"
                         r"wfo: run p1 succeeded\n$")

    def test_no_escape_codes_without_a_terminal(self):
        flow = self.write("flow.yaml", self.FLOW + """
          broken:
            needs: build
            run: printf 'no\\n'; exit 4
        """)
        for env in [{"TERM": "xterm-256color"}, {"TERM": "dumb"}, {"NO_COLOR": "1"}]:
            r = self.wfo("run", flow, env=env)
            self.assertEqual(r.code, 1, repr(r))
            self.assertNotIn("\x1b", r.out + r.err, env)
            self.assertIn(" broken failed: exit code 4\n", r.err)

    def test_quiet_prints_only_errors_and_the_result(self):
        flow = self.write("flow.yaml", self.FLOW + """
          broken:
            needs: build
            run: echo first; echo second; exit 4
        """)
        r = self.wfo("run", "-q", flow, "--run-id", "q1")
        self.assertEqual(r.code, 1, repr(r))
        log = os.path.join(self.dir, ".wfo", "runs", "q1", "broken.1.log")
        self.assertEqual(untimed(r.err),
                         "T broken failed: exit code 4\n"
                         f"  last 20 lines of {log}:\n"
                         "  | first\n"
                         "  | second\n"
                         "wfo: run q1 failed: task failed: broken\n"
                         "  inspect: wfo status q1; fix, then: wfo resume q1\n")
        ok = self.write("ok.yaml", self.FLOW)
        r = self.run_ok("run", "--quiet", ok, "--run-id", "q2")
        self.assertEqual((r.out, r.err), ("q2\n", "wfo: run q2 succeeded\n"))

    def test_verbose_and_quiet_exclude_each_other(self):
        flow = self.write("flow.yaml", self.FLOW)
        r = self.wfo("run", "-v", "-q", flow)
        self.assertEqual(r.code, 2)
        self.assertRegex(r.err, r"^wfo: error: .*excludes.*\n  run 'wfo --help' for usage\n$")


class FailureTailTest(WfoTestCase):
    def test_last_20_lines_and_the_log_path(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              bad:
                run: for i in $(seq 1 30); do echo "line $i"; done; exit 3
                retry: {max_attempts: 2}
            """)
        r = self.wfo("run", flow, "--run-id", "t1")
        self.assertEqual(r.code, 1, repr(r))
        log = os.path.join(self.dir, ".wfo", "runs", "t1", "bad.2.log")
        expected = "".join(f"  | line {i}\n" for i in range(11, 31))
        self.assertIn(f" bad failed: exit code 3 (attempt 2/2)\n  last 20 lines of {log}:\n"
                      + expected + "wfo: run t1 failed", r.err)
        with open(log) as f:
            self.assertEqual(f.read(), self.run_ok("logs", "t1", "bad").out)

    def test_a_last_line_longer_than_64_kib_is_shown_cut(self):
        # The tail is read from the log's last 64 KiB; a last line longer than that was
        # dropped as a cut line, and the report called a 70 KB log "(empty)".
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              long: {run: "seq 1 100; head -c 70000 /dev/zero | tr '\\\\0' z; exit 1"}
            """)
        r = self.wfo("run", flow, "--run-id", "t3")
        self.assertEqual(r.code, 1, repr(r))
        log = os.path.join(self.dir, ".wfo", "runs", "t3", "long.1.log")
        self.assertEqual(os.path.getsize(log), 292 + 70000)
        self.assertIn(f" long failed: exit code 1\n  last 20 lines of {log}:\n"
                      f"  | {'z' * 1024}\u2026 (64512 more bytes)\nwfo: run t3 failed", r.err)

    def test_empty_log_is_named(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              silent: {run: exit 9}
            """)
        r = self.wfo("run", flow, "--run-id", "t2")
        log = os.path.join(self.dir, ".wfo", "runs", "t2", "silent.1.log")
        self.assertIn(f" silent failed: exit code 9\n  log: {log} (empty)\nwfo: run t2 failed", r.err)


class VerboseTest(WfoTestCase):
    def test_output_is_streamed_while_the_task_runs(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              slow:
                run: |
                  echo ready
                  printf 'no newline yet'
                  while [ ! -e go ]; do sleep 0.05; done
                  echo; echo done
              after:
                needs: slow
                run: printf 'a\\nb'
            """)
        p = subprocess.Popen([WFO, "run", "-v", flow, "--run-id", "v1"], cwd=self.dir,
                             env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
        try:
            seen = []
            # The line must arrive while the task still waits for `go`: it is streamed.
            while True:
                line = p.stderr.readline()
                self.assertNotEqual(line, "", "wfo ended before streaming: " + "".join(seen))
                seen.append(line)
                if line == "[slow] ready\n":
                    break
            self.assertFalse(os.path.exists(os.path.join(self.dir, "go")))
            open(os.path.join(self.dir, "go"), "w").close()
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0)
        rest = untimed(err)
        self.assertEqual(untimed("".join(seen)), "T slow started (attempt 1)\n[slow] ready\n")
        self.assertRegex(rest, r"^\[slow\] no newline yet\n\[slow\] done\n"
                               r"T slow succeeded in \S+\n"
                               r"T after started \(attempt 1\)\n"
                               r"\[after\] a\n\[after\] b\n"
                               r"T after succeeded in \S+\n"
                               r"wfo: run v1 succeeded\n$")

    def test_verbose_failure_names_the_log_without_repeating_it(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              bad: {run: echo boom; exit 2}
            """)
        r = self.wfo("run", "--verbose", flow, "--run-id", "v2")
        log = os.path.join(self.dir, ".wfo", "runs", "v2", "bad.1.log")
        self.assertRegex(untimed(r.err), r"^T bad started \(attempt 1\)\n\[bad\] boom\n"
                                         r"T bad attempt 1 failed: exit code 2\n"
                                         r"T bad failed: exit code 2\n"
                                         f"  log: {re.escape(log)}\n"
                                         r"wfo: run v2 failed")


if __name__ == "__main__":
    unittest.main()
