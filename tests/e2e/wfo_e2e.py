"""Shared helpers for wfo's end-to-end tests: they drive the built binary as a user would.

Each test gets a fresh folder (kept only on failure, as ccache's testdir) with its own state
database, runs `wfo` there, and asserts on exit codes, stdout/stderr text, files the tasks
wrote, and the state database read with sqlite3.
"""
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import textwrap
import time
import unittest

WFO = os.environ.get("WFO_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "src", "cli", "wfo")
SOURCE_DIR = os.environ.get("WFO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
WORKFLOWS = os.path.join(SOURCE_DIR, "workflows")


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


class WfoTestCase(unittest.TestCase):
    """A test case with its own folder and state database."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=f"wfo-{self.id().split('.')[-1]}-")
        self.state = os.path.join(self.dir, ".wfo", "state.db")
        self.env = dict(os.environ)
        self.env["WFO_STATE"] = self.state
        self.env.pop("GITHUB_ACTIONS", None)
        self.env.pop("NO_COLOR", None)

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = False
        if outcome is not None:
            result = getattr(outcome, "result", None)
            if result is not None:
                failed = any(t is self for t, _ in result.failures + result.errors)
        if not failed:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"kept test folder {self.dir}")

    # -- running wfo -------------------------------------------------------------------
    def wfo(self, *args, timeout=120, env=None, cwd=None, input=None):
        e = dict(self.env)
        if env:
            e.update(env)
        p = subprocess.run([WFO, *args], cwd=cwd or self.dir, env=e, capture_output=True,
                           text=True, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        return Result(p.returncode, p.stdout, p.stderr)

    def start(self, *args, env=None, cwd=None, output=None, stdin=subprocess.DEVNULL):
        """Starts wfo in the background; returns the Popen. Its stdout and stderr are piped,
        or appended to the file `output` (for long or many runs: a pipe nobody reads fills).
        `stdin`: as subprocess.Popen takes it (a descriptor, say); nothing by default."""
        e = dict(self.env)
        if env:
            e.update(env)
        if output is None:
            return subprocess.Popen([WFO, *args], cwd=cwd or self.dir, env=e, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=stdin)
        with open(output, "a") as f:
            return subprocess.Popen([WFO, *args], cwd=cwd or self.dir, env=e, text=True,
                                    stdout=f, stderr=f, stdin=subprocess.DEVNULL)

    @contextlib.contextmanager
    def started(self, *args, env=None):
        """`with self.started(...) as p:` starts wfo in the background (as start()) and, if it
        still runs when the block is left (a failed assertion), kills and reaps it."""
        p = self.start(*args, env=env)
        try:
            yield p
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return path

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def exists(self, name):
        """True when the test folder holds `name` (a file a task wrote, say)."""
        return os.path.exists(os.path.join(self.dir, name))

    def run_ok(self, *args, code=0, **kw):
        r = self.wfo(*args, **kw)
        self.assertEqual(r.code, code, repr(r))
        return r

    def run_id_of(self, result):
        lines = result.out.strip().splitlines()
        self.assertTrue(lines, repr(result))
        return lines[0].strip()

    # -- reading the state database ----------------------------------------------------
    def db(self):
        con = sqlite3.connect(f"file:{self.state}?mode=ro", uri=True, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    def query(self, sql, *params):
        con = self.db()
        try:
            return [dict(r) for r in con.execute(sql, params)]
        finally:
            con.close()

    def task_statuses(self, run_id):
        return {r["task_id"]: r["status"] for r in
                self.query("SELECT task_id, status FROM tasks WHERE run_id=?", run_id)}

    def run_status(self, run_id):
        return self.query("SELECT status FROM runs WHERE id=?", run_id)[0]["status"]

    def attempts(self, run_id, task):
        return self.query("SELECT * FROM attempts WHERE run_id=? AND task_id=? ORDER BY number",
                          run_id, task)

    def status_json(self, run_id):
        r = self.run_ok("status", run_id, "--json")
        return json.loads(r.out)


def pids_with_env(entry):
    """Pids of live processes whose environment holds `entry` (e.g. WFO_RUN_ID=r-1)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and entry.encode() in env:
            found.append(int(pid))
    return found


def wait_for(predicate, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# The body of a crash-test task: it takes a lock directory (recording OVERLAP when the
# previous holder is still alive, zombies excluded: a zombie is dead), appends
# `task start|end attempt pid time` to $LEDGER, and sleeps a little in between. Indented for
# a YAML block scalar; LEDGER_BODY goes between the two halves.
LEDGER_START = r"""
      set -e
      lock="$LOCKS/$WFO_TASK_ID"
      if ! mkdir "$lock" 2>/dev/null; then
        # Empty when the holder was killed between truncating the file and writing it.
        other=$(cat "$lock/pid" 2>/dev/null || true); other=${other:-0}
        state=$(sed 's/.*) //' "/proc/$other/stat" 2>/dev/null | cut -c1)
        if [ -n "$state" ] && [ "$state" != Z ]; then echo "OVERLAP $WFO_TASK_ID $other" >> "$LEDGER"; fi
      fi
      echo $$ > "$lock/pid"
      echo "$WFO_TASK_ID start $WFO_ATTEMPT $$ $(date +%s%N)" >> "$LEDGER"
      sleep 0.0$((RANDOM % 5 + 1))
"""
LEDGER_END = r"""
      echo "$WFO_TASK_ID end $WFO_ATTEMPT $$ $(date +%s%N)" >> "$LEDGER"
      rm -rf "$lock"
"""
