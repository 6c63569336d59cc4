"""End-to-end: the man pages lint clean, document every command and flag the binary has, and
`cmake --install` puts the binary, man pages and completions in their standard places."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from wfo_e2e import WFO, SOURCE_DIR, WfoTestCase

MAN = os.path.join(SOURCE_DIR, "man")
PAGES = ["wfo.1", "wfo-workflow.5"]
BUILD_DIR = os.environ.get("WFO_BUILD_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(WFO)), "..", ".."))


def subcommands():
    """The subcommands `wfo --help` lists (hidden ones are not listed)."""
    out = subprocess.run([WFO, "--help"], capture_output=True, text=True, check=True).stdout
    section = out.split("Subcommands:", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  (\S+)\s", section, re.M)]


def flags(command):
    """The long and short flags `wfo COMMAND --help` lists."""
    out = subprocess.run([WFO, command, "--help"], capture_output=True, text=True,
                         check=True).stdout
    found = set()
    for line in out.splitlines():
        m = re.match(r"^\s+((?:-\w|--[\w-]+)(?:,(?:-\w|--[\w-]+))*)", line)
        if m:
            found.update(m.group(1).split(","))
    found -= {"-h", "--help"}
    return found


class LintTest(unittest.TestCase):
    def test_mandoc_lint_is_clean(self):
        if not shutil.which("mandoc"):
            self.skipTest("mandoc is not installed (Debian package mandoc)")
        for page in PAGES:
            p = subprocess.run(["mandoc", "-T", "lint", os.path.join(MAN, page)],
                               capture_output=True, text=True)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""), page)

    def test_groff_prints_no_warning(self):
        if not shutil.which("groff"):
            self.skipTest("groff is not installed (Debian package groff)")
        for page in PAGES:
            p = subprocess.run(["groff", "-man", "-ww", "-z", os.path.join(MAN, page)],
                               capture_output=True, text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)


class CompletenessTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(MAN, "wfo.1")) as f:
            self.page = f.read()

    def test_every_command_has_a_section(self):
        commands = subcommands()
        self.assertIn("run", commands)
        for c in commands:
            self.assertTrue(re.search(r"(?m)^\.SS wfo (.*, wfo )?" + re.escape(c) + r"\b",
                                      self.page), f"wfo.1 has no section for '{c}'")

    def test_every_flag_is_documented(self):
        for c in subcommands():
            for flag in flags(c):
                escaped = flag.replace("-", "\\-")
                # The whole flag: \-j must not count as found inside \-\-jobs or \-\-json.
                self.assertRegex(self.page, re.escape(escaped) + r"(?![A-Za-z0-9_]|\\-[A-Za-z])",
                                 f"wfo.1 does not document {c} {flag}")

    def test_sections_a_user_looks_for(self):
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "ENVIRONMENT",
                        "FILES", "EXAMPLES", "SEE ALSO"]:
            self.assertTrue(re.search(r"(?m)^\.SH \"?" + section + r"\"?$", self.page), section)
        for code in ["0", "1", "2", "3", "4", "5", "130"]:
            self.assertIn("\n.TP\n.B " + code + "\n", self.page, f"exit status {code}")

    def test_format_page_covers_every_task_key(self):
        with open(os.path.join(MAN, "wfo-workflow.5")) as f:
            page = f.read()
        keys = ["needs", "if", "run", "agent", "uses", "with", "env", "workdir", "timeout",
                "retry", "outputs", "continue_on_error", "fallback", "compensate", "approval",
                "matrix", "max_parallel", "fail_fast", "for_each", "repeat", "priority",
                "max_attempts", "backoff", "jitter", "on_exit_codes", "on_output", "on_timeout",
                "approvers", "min_approvals", "prevent_self_approval", "circuit_breaker"]
        for key in keys:
            self.assertTrue(re.search(r"(?m)^\.(B|BR) " + key + r"\b", page),
                            f"wfo-workflow.5 does not describe '{key}'")
        for section in ["DURATIONS", "RETRY AND BACKOFF", "APPROVAL GATES", "OUTPUTS",
                        "EXPRESSIONS", "THE INJECTION RULE"]:
            self.assertIn("\n.SH " + section + "\n", page)


class InstallTest(WfoTestCase):
    def test_cmake_install_puts_everything_in_place(self):
        if not os.path.exists(os.path.join(BUILD_DIR, "CMakeCache.txt")):
            self.skipTest(f"no CMake build folder at {BUILD_DIR} (set WFO_BUILD_DIR)")
        prefix = os.path.join(self.dir, "prefix")
        p = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        expected = {
            "bin/wfo": None,
            "share/man/man1/wfo.1": "wfo.1",
            "share/man/man5/wfo-workflow.5": "wfo-workflow.5",
            "share/bash-completion/completions/wfo": "../completions/wfo.bash",
            "share/zsh/vendor-completions/_wfo": "../completions/_wfo",
            "share/fish/vendor_completions.d/wfo.fish": "../completions/wfo.fish",
        }
        for rel, source in expected.items():
            path = os.path.join(prefix, rel)
            self.assertTrue(os.path.isfile(path), f"{rel} was not installed")
            if source:
                with open(path) as a, open(os.path.join(MAN, source)) as b:
                    self.assertEqual(a.read(), b.read(), rel)
        r = subprocess.run([os.path.join(prefix, "bin", "wfo"), "--version"],
                           capture_output=True, text=True)
        self.assertRegex(r.stdout, r"^wfo \d+\.\d+\.\d+ \(state schema \d+\)\n$")
        if shutil.which("man"):
            env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man"))
            for name, section in [("wfo", "1"), ("wfo-workflow", "5")]:
                found = subprocess.run(["man", "-w", section, name], env=env,
                                       capture_output=True, text=True)
                self.assertEqual(found.stdout.strip(), os.path.join(
                    prefix, "share", "man", "man" + section, f"{name}.{section}"))


if __name__ == "__main__":
    unittest.main()
