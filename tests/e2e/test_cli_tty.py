"""End-to-end: the live terminal view, under a pseudo-terminal: tmux for what the screen shows
while a run is in flight and after it, `script` for the raw bytes (colours on a terminal; no
escape codes with NO_COLOR or TERM=dumb)."""
import os
import re
import shlex
import shutil
import subprocess
import time
import unittest

from wfo_e2e import WFO, WfoTestCase, wait_for

FLOW = """
    version: 1
    tasks:
      build: {run: echo built}
      wait:
        needs: build
        run: while [ ! -e go ]; do sleep 0.05; done
      flaky:
        needs: build
        run: test "$WFO_ATTEMPT" -ge 2 || exit 1; while [ ! -e go ]; do sleep 0.05; done
        retry: {max_attempts: 2, delay: 8s}
      review: {needs: build, approval: {message: "ship it?"}}
      broken: {needs: build, run: echo "it broke"; exit 4}
    """


class TmuxScreenTest(WfoTestCase):
    def setUp(self):
        super().setUp()
        if not shutil.which("tmux"):
            self.skipTest("tmux is not installed (Debian package tmux)")
        self.session = f"wfo-test-{os.getpid()}"
        self.socket = os.path.join(self.dir, "tmux.sock")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True,
                              text=True, env=self.env)

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", self.session] + (["-e"] if escapes else [])
        return self.tmux(*args).stdout

    def tearDown(self):
        self.tmux("kill-server")
        super().tearDown()

    def test_live_view_then_the_finished_lines(self):
        flow = self.write("flow.yaml", FLOW)
        cmd = (f"cd {shlex.quote(self.dir)} && {shlex.quote(WFO)} run flow.yaml --run-id tty1; "
               "echo EXIT=$?; sleep 600")
        env = ["-e", f"WFO_STATE={self.state}", "-e", "TERM=xterm-256color"]
        r = self.tmux("new-session", "-d", "-s", self.session, "-x", "120", "-y", "40",
                      *env[:2], "sh", "-c", cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.tmux("set-option", "-t", self.session, "remain-on-exit", "on")
        # Stable while `wait` waits for `go`: the header, a running task, a gate.
        header = re.compile(r"(?m)^\[2/5\] 2 running, 1 waiting for approval, \d+:\d\d$")
        retry = re.compile(r"(?m)^  ↻ flaky retry in 0:0\d \(attempt 2/2\): exit code 1$")
        self.assertTrue(wait_for(lambda: retry.search(self.screen()), timeout=20), self.screen())
        self.assertTrue(wait_for(lambda: header.search(self.screen()), timeout=20), self.screen())
        screen = self.screen()
        lines = screen.splitlines()
        self.assertEqual(lines[0], "tty1")
        self.assertRegex(lines[1], r"^✓ build \d+ms$")
        log = os.path.join(self.dir, ".wfo", "runs", "tty1", "broken.1.log")
        self.assertIn("✗ broken", screen)
        self.assertIn(f"failed: exit code 4\n  │ it broke\n  log: {log}\n", screen)
        self.assertRegex(screen, r"(?m)^  ● wait \d+:\d\d$")
        self.assertRegex(screen, r"(?m)^  ● flaky \d+:\d\d$")
        self.assertRegex(screen, r"(?m)^  ⏸ review waiting for approval: ship it\?$")
        # Colours on a terminal: a green tick.
        self.assertIn("\x1b[32m✓", self.screen(escapes=True))
        open(os.path.join(self.dir, "go"), "w").close()
        self.assertTrue(wait_for(lambda: "EXIT=" in self.screen(), timeout=30), self.screen())
        final = self.screen()
        self.assertIn("wfo: run tty1 failed: task failed: broken\n"
                      "  inspect: wfo status tty1; fix, then: wfo resume tty1\nEXIT=1\n", final)
        self.assertNotRegex(final, r"(?m)^\[\d+/\d+\]")  # the live region is gone
        self.assertRegex(final, r"(?m)^✓ wait \S+$")
        self.assertRegex(final, r"(?m)^✓ flaky \S+$")
        self.assertRegex(final, r"(?m)^↻ flaky retrying in 8\.0s \(attempt 2/2\): exit code 1$")
        done = [l.split()[1] for l in final.splitlines() if l.startswith(("✓", "✗"))]
        self.assertEqual(sorted(done), ["broken", "build", "flaky", "wait"])


class ScriptBytesTest(WfoTestCase):
    FLOW = """
        version: 1
        tasks:
          a: {run: echo hello}
          b: {needs: a, run: exit 2}
        """

    def raw(self, env, *args):
        if not shutil.which("script"):
            self.skipTest("script is not installed (Debian package bsdutils)")
        flow = self.write("flow.yaml", self.FLOW)
        cmd = " ".join(shlex.quote(a) for a in [WFO, "run", flow, *args])
        e = dict(self.env, **env)
        p = subprocess.run(["script", "-qefc", cmd, "/dev/null"], cwd=self.dir, env=e,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout)
        return p.stdout.decode("utf-8")

    def test_colours_and_redraws_on_a_terminal(self):
        out = self.raw({"TERM": "xterm"}, "--run-id", "s1")
        self.assertIn("\x1b[1m[0/2] ", out)  # the header, in bold
        self.assertIn("\x1b[J", out)  # the region is redrawn in place
        self.assertIn("\x1b[31m✗\x1b[0m b ", out)
        self.assertTrue(out.endswith("wfo: run s1 failed: task failed: b\r\n"
                                     "  inspect: wfo status s1; fix, then: wfo resume s1\r\n"), out)

    def test_no_escape_codes_with_no_color_or_a_dumb_terminal(self):
        for env in [{"TERM": "xterm", "NO_COLOR": "1"}, {"TERM": "dumb"}]:
            out = self.raw(env)
            self.assertNotIn("\x1b", out, env)
            self.assertRegex(out, r"\d\d:\d\d:\d\d a started \(attempt 1\)\r\n")
            self.assertRegex(out, r"\d\d:\d\d:\d\d b failed: exit code 2\r\n")

    def test_quiet_on_a_terminal_is_plain(self):
        out = self.raw({"TERM": "xterm"}, "-q", "--run-id", "s3")
        self.assertNotIn("\x1b", out)
        self.assertNotIn(" a ", out)
        self.assertRegex(out, r"\d\d:\d\d:\d\d b failed: exit code 2\r\n")


if __name__ == "__main__":
    unittest.main()
