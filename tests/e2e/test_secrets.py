"""End-to-end: secret params (issue 8). A secret comes from WFO_SECRET_<NAME> or
--secret-file, reaches tasks only through their environment, is stored only as a hash, and
every place wfo writes shows *** instead: logs, outputs, reasons, events, JSON, JUnit, hooks."""
import hashlib
import json
import os
import time
import unittest

from wfo_e2e import WfoTestCase

SECRET = "s3cr3t-Value-9f2c"


class SecretTest(WfoTestCase):
    FLOW = """
        version: 1
        params:
          token: {secret: true, required: true}
          who: {default: world}
        hooks:
          on_failure: echo "hook sees $WFO_SECRET_TOKEN"
        tasks:
          use:
            run: |
              [ "$(printf %%s "$WFO_SECRET_TOKEN" | sha256sum | cut -c1-64)" = "%s" ] && echo ok > got
              echo "stdout $WFO_SECRET_TOKEN"
              echo "stderr $WFO_SECRET_TOKEN" >&2
              echo "leak=$WFO_SECRET_TOKEN" >> "$WFO_OUTPUT"
          fail:
            needs: use
            run: echo "failing with $WFO_SECRET_TOKEN"; exit 3
        """ % hashlib.sha256(SECRET.encode()).hexdigest()

    def everything_wfo_wrote(self, *streams):
        blobs = list(streams)
        for root, _, files in os.walk(self.dir):
            for name in files:
                if name in ("got", "secrets.env"):  # the task's and the user's files, not wfo's
                    continue
                with open(os.path.join(root, name), "rb") as f:
                    blobs.append(f.read().decode("latin-1"))
        return blobs

    def test_secret_never_written_anywhere(self):
        flow = self.write("flow.yaml", self.FLOW)
        junit = os.path.join(self.dir, "report.xml")
        r = self.wfo("run", flow, "--run-id", "sec", "--json", "--junit", junit,
                     env={"WFO_SECRET_TOKEN": SECRET})
        self.assertEqual(r.code, 1, repr(r))
        self.assertEqual(self.read("got"), "ok\n")  # the task got the value
        status = self.wfo("status", "sec", "--json").out
        logs = self.wfo("logs", "sec").out
        events = json.dumps(self.query("SELECT * FROM events"))
        blobs = self.everything_wfo_wrote(r.out, r.err, status, logs, events)
        hits = [b for b in blobs if SECRET in b]
        self.assertEqual(hits, [])
        self.assertIn("stdout ***", self.wfo("logs", "sec", "use").out)
        doc = json.loads(status)
        self.assertEqual(doc["tasks"][0]["outputs"], {"leak": "***"})
        self.assertEqual(doc["params"]["token"],
                         "sha256:" + hashlib.sha256(SECRET.encode()).hexdigest())
        with open(os.path.join(os.path.dirname(self.state), "runs", "sec", "hook-on_failure.log")) as f:
            self.assertEqual(f.read(), "hook sees ***\n")

    def test_secret_never_in_a_log_while_the_task_runs(self):
        # wfo masks a task's output on its way to the log, so not even a running task's log
        # (what `wfo logs -f` and `-v` show) ever holds the value; a value cut across two
        # writes is masked whole.
        flow = self.write("flow.yaml", """
            version: 1
            params:
              token: {secret: true}
            tasks:
              slow:
                run: |
                  echo "early $WFO_SECRET_TOKEN"
                  printf 'cut %s' "$(printf %s "$WFO_SECRET_TOKEN" | cut -c1-5)"
                  sleep 0.2
                  printf '%s end\\n' "$(printf %s "$WFO_SECRET_TOKEN" | cut -c6-)"
                  touch printed
                  i=0
                  while [ ! -e release ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
            """)
        with self.started("run", flow, "--run-id", "live", env={"WFO_SECRET_TOKEN": SECRET}) as p:
            log = os.path.join(os.path.dirname(self.state), "runs", "live", "slow.1.log")
            seen = []
            deadline = time.monotonic() + 20
            while not os.path.exists(os.path.join(self.dir, "printed")):
                self.assertLess(time.monotonic(), deadline, "the task never printed")
                if os.path.exists(log):
                    with open(log) as f:
                        seen.append(f.read())
                time.sleep(0.01)
            # The task is still running: its log is as wfo wrote it so far.
            deadline = time.monotonic() + 20
            while "end" not in (seen[-1] if seen else ""):
                self.assertLess(time.monotonic(), deadline, f"log incomplete: {seen[-1:]}")
                with open(log) as f:
                    seen.append(f.read())
                time.sleep(0.01)
            self.assertIsNone(p.poll())
            self.assertEqual(seen[-1], "early ***\ncut *** end\n")
            self.assertEqual([s for s in seen if SECRET in s or SECRET[:5] in s], [])
            with open(os.path.join(self.dir, "release"), "w"):
                pass
            out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out + err)
        self.assertEqual(self.wfo("logs", "live", "slow").out, "early ***\ncut *** end\n")

    def test_secret_file_and_resume_checks_the_value(self):
        flow = self.write("flow.yaml", self.FLOW)
        secrets = self.write("secrets.env", f"# team secrets\ntoken={SECRET}\n")
        r = self.wfo("run", flow, "--run-id", "sf", "--secret-file", secrets)
        self.assertEqual(r.code, 1, repr(r))
        self.assertEqual(self.read("got"), "ok\n")
        r = self.wfo("resume", "sf")
        self.assertEqual((r.code, r.err), (2, "wfo: error: missing secret param 'token'\n"
                                              "  set WFO_SECRET_TOKEN or pass --secret-file with a line token=VALUE\n"))
        r = self.wfo("resume", "sf", env={"WFO_SECRET_TOKEN": "another-value"})
        self.assertEqual((r.code, r.err), (2, "wfo: error: secret param 'token' differs from the one run sf started with\n"
                                              "  give the same value as the run started with\n"))
        self.assertEqual(len(self.attempts("sf", "fail")), 1)  # the refused resumes ran nothing
        r = self.wfo("resume", "sf", "--secret-file", secrets)
        self.assertEqual(r.code, 1, repr(r))  # `fail` still fails, but the resume ran it
        self.assertEqual([a["exit_code"] for a in self.attempts("sf", "fail")], [3, 3])

    def test_a_nul_byte_in_the_secret_file_is_refused(self):
        # The task got the value cut short at the NUL, and the run went on.
        flow = self.write("flow.yaml", self.FLOW)
        secrets = os.path.join(self.dir, "nul.env")
        with open(secrets, "wb") as f:
            f.write(b"# team secrets\ntoken=abcd\0efgh\n")
        r = self.wfo("run", flow, "--secret-file", secrets)
        self.assertEqual((r.code, r.out, r.err), (2, "", (
            f"wfo: error: {secrets}:2: a NUL byte in the line (the value is not shown)\n"
            "  an environment variable cannot hold one; remove it from the file\n")))
        self.assertFalse(os.path.exists(self.state))

    def test_secret_refused_from_command_line_file_and_templates(self):
        flow = self.write("flow.yaml", self.FLOW)
        r = self.wfo("run", flow, "-p", f"token={SECRET}")
        self.assertEqual((r.code, r.err), (2, "wfo: error: param 'token' is secret and never comes from the command line\n"
                                              "  set WFO_SECRET_TOKEN or pass --secret-file\n"))
        self.write("default.yaml", """
            version: 1
            params:
              token: {secret: true, default: hunter22}
            tasks:
              a: {run: "true"}
            """)
        r = self.wfo("validate", "default.yaml")
        self.assertEqual((r.code, r.err), (2, "default.yaml:3:3: error: secret param 'token' has a default\n"
                                              "    token: {secret: true, default: hunter22}\n    ^\n"
                                              "  a secret never lives in the workflow file: remove the default and set WFO_SECRET_TOKEN\n"))
        self.write("template.yaml", """
            version: 1
            params:
              token: {secret: true}
            tasks:
              a: {run: "echo ${{ params.token }}"}
            """)
        r = self.wfo("validate", "template.yaml")
        self.assertEqual((r.code, r.err), (2, "template.yaml:5:21: error: param 'token' is secret\n"
                                              "    a: {run: \"echo ${{ params.token }}\"}\n                      ^\n"
                                              "  read it from $WFO_SECRET_TOKEN in the task instead\n"))


if __name__ == "__main__":
    unittest.main()
