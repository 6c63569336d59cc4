"""End-to-end: what CI servers read: GitHub Actions' log groups, error annotations and step
summary; JUnit XML checked against the schema Jenkins' xUnit plugin uses."""
import os
import re
import shutil
import subprocess
import unittest
import xml.etree.ElementTree as ET

from wfo_e2e import SOURCE_DIR, WfoTestCase

CLOCK = r"\d\d:\d\d:\d\d"
# Jenkins' xUnit plugin's JUnit schema (its source and MIT license are in the file).
SCHEMA = os.path.join(SOURCE_DIR, "tests", "e2e", "data", "junit.xsd")

FLOW = """
    version: 1
    tasks:
      build:
        run: echo compiling; echo linked
      flaky:
        needs: build
        run: echo "try $WFO_ATTEMPT"; test "$WFO_ATTEMPT" -ge 2
        retry: {max_attempts: 3}
      bad:
        needs: build
        run: echo 'x < y & "z"'; printf 'bell\\a\\n'; exit 3
      after:
        needs: bad
        run: echo never
    """


class GithubActionsTest(WfoTestCase):
    def test_groups_annotations_and_summary(self):
        flow = self.write("flow.yaml", FLOW)
        summary = os.path.join(self.dir, "summary.md")
        with open(summary, "w") as f:
            f.write("earlier step\n")
        r = self.wfo("run", flow, "--run-id", "gh1",
                     env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary})
        self.assertEqual(r.code, 1, repr(r))
        self.assertRegex(r.err, r"(?m)^::group::" + CLOCK + r" build succeeded in \d+ms\n"
                                r"compiling\nlinked\n::endgroup::\n")
        self.assertRegex(r.err, r"(?m)^::group::" + CLOCK + r" flaky succeeded in \d+ms\n"
                                r"try 2\n::endgroup::\n")
        log = os.path.join(self.dir, ".wfo", "runs", "gh1", "bad.1.log")
        self.assertRegex(r.err, r"(?m)^::group::" + CLOCK + r" bad failed: exit code 3\n"
                                r"x < y & \"z\"\nbell\nlog: " + re.escape(log) + r"\n"
                                r"::endgroup::\n"
                                r"::error title=wfo: task failed::bad failed: exit code 3"
                                r"%0Ax < y & \"z\"%0Abell\n")
        self.assertRegex(r.err, r"(?m)^" + CLOCK + r" after skipped: need 'bad' failed$")
        self.assertEqual(r.err.count("::group::"), r.err.count("::endgroup::"))
        with open(summary) as f:
            text = f.read()
        self.assertRegex(text, r"^earlier step\n### wfo run `gh1` \(flow\): failed\n\n"
                               r"task failed: bad\n\n"
                               r"\| Task \| Status \| Duration \| Attempts \|\n"
                               r"\|---\|---\|---:\|---:\|\n"
                               r"\| build \| ✅ succeeded \| \d+ms \| 1 \|\n"
                               r"\| flaky \| ✅ succeeded \| \d+ms \| 2 \|\n"
                               r"\| bad \| ❌ failed \| \d+ms \| 1 \|\n"
                               r"\| after \| ⏭️ skipped \| - \| 0 \|\n\n$")

    def test_outside_actions_there_are_no_workflow_commands(self):
        flow = self.write("flow.yaml", FLOW)
        summary = os.path.join(self.dir, "summary.md")
        r = self.wfo("run", flow, env={"GITHUB_ACTIONS": "false", "GITHUB_STEP_SUMMARY": summary})
        self.assertEqual(r.code, 1)
        self.assertNotIn("::", r.err)
        self.assertFalse(os.path.exists(summary))


class JunitTest(WfoTestCase):
    def validate(self, path):
        # Never skipped: scripts/common.sh installs xmllint, and the schema is in the repo.
        self.assertIsNotNone(shutil.which("xmllint"), "xmllint (Debian libxml2-utils) is missing")
        p = subprocess.run(["xmllint", "--noout", "--schema", SCHEMA, path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, f"{path} validates\n")

    def test_report_of_a_failed_run_then_of_its_resume(self):
        flow = self.write("flow.yaml", FLOW)
        report = os.path.join(self.dir, "out", "junit.xml")
        os.makedirs(os.path.dirname(report))
        r = self.wfo("run", flow, "--run-id", "j1", "--junit", report)
        self.assertEqual(r.code, 1, repr(r))
        self.validate(report)
        suites = ET.parse(report).getroot()
        self.assertEqual(suites.tag, "testsuites")
        (suite,) = suites.findall("testsuite")
        self.assertEqual({k: suite.get(k) for k in ["name", "tests", "failures", "errors",
                                                    "skipped", "id"]},
                         {"name": "flow", "tests": "4", "failures": "1", "errors": "0",
                          "skipped": "1", "id": "j1"})
        cases = {c.get("name"): c for c in suite.findall("testcase")}
        self.assertEqual(list(cases), ["build", "flaky", "bad", "after"])
        for c in cases.values():
            self.assertRegex(c.get("time"), r"^\d+\.\d{3}$")
        self.assertEqual(len(cases["build"]), 0)
        failure = cases["bad"].find("failure")
        self.assertEqual(failure.get("message"), "exit code 3")
        log = os.path.join(self.dir, ".wfo", "runs", "j1", "bad.1.log")
        self.assertEqual(failure.text, f"exit code 3\nattempt 1: exit code 3\nlog: {log}\n"
                                       "x < y & \"z\"\nbell\n")
        self.assertEqual(cases["after"].find("skipped").get("message"), "need 'bad' failed")

        # Resumed, `bad` runs again (and fails again): the report is rewritten.
        r = self.wfo("resume", "j1", "--junit", report)
        self.assertEqual(r.code, 1)
        self.validate(report)
        suite = ET.parse(report).getroot().find("testsuite")
        cases = {c.get("name"): c for c in suite.findall("testcase")}
        self.assertIsNone(cases["build"].find("failure"))
        self.assertIn("attempt 2: exit code 3", cases["bad"].find("failure").text)

    def test_report_of_a_succeeded_run(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              a: {run: "true"}
              b: {needs: a, run: "true"}
            """)
        report = os.path.join(self.dir, "ok.xml")
        self.run_ok("run", flow, "--junit", report, "--run-id", "j2")
        self.validate(report)
        # Resuming a run that already succeeded still writes the report it is asked for.
        again = os.path.join(self.dir, "again.xml")
        self.run_ok("resume", "j2", "--junit", again)
        with open(report) as a, open(again) as b:
            self.assertEqual(re.sub(r'hostname="[^"]*"', "", a.read()),
                             re.sub(r'hostname="[^"]*"', "", b.read()))
        suite = ET.parse(report).getroot().find("testsuite")
        self.assertEqual((suite.get("tests"), suite.get("failures"), suite.get("skipped")),
                         ("2", "0", "0"))
        self.assertEqual([c.get("name") for c in suite.iter("testcase")], ["a", "b"])

    def test_a_report_path_that_cannot_be_written_is_refused_before_the_run(self):
        # Before, the run went on and the report was found unwritable at its end (exit 0).
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: touch ran}\n")
        missing = os.path.join(self.dir, "missing")
        for option in ("--junit", "--metrics"):
            r = self.wfo("run", flow, option, os.path.join(missing, "r.xml"))
            self.assertEqual((r.code, r.err), (2, (
                f"wfo: error: {option}: no folder '{missing}' to write '{missing}/r.xml' in; "
                "create it first\n  run 'wfo --help' for usage\n")))
            r = self.wfo("run", flow, option, self.dir)
            self.assertEqual((r.code, r.err), (2, (
                f"wfo: error: {option}: '{self.dir}' is a folder; name a file in it, e.g. "
                f"'{self.dir}/report'\n  run 'wfo --help' for usage\n")))
        self.assertFalse(self.exists("ran"))
        self.assertFalse(os.path.exists(self.state))

    def test_a_report_that_cannot_be_written_at_the_end_is_an_error_but_the_run_stands(self):
        flow = self.write("flow.yaml", "version: 1\ntasks:\n  a: {run: rmdir out}\n")
        os.mkdir(os.path.join(self.dir, "out"))
        r = self.wfo("run", flow, "--junit", os.path.join(self.dir, "out", "r.xml"))
        self.assertEqual(r.code, 0, repr(r))
        self.assertRegex(r.err, r"wfo: error: .*out/r\.xml")


if __name__ == "__main__":
    unittest.main()
