"""Fault injection (issue 8, part 3): I/O errors in the state database, a full log folder, a
read-only, corrupt or locked database. Each must end in a clear error (exit 5 for the
database), a database that passes `PRAGMA integrity_check`, nothing recorded that did not
happen, and a state from which a later `wfo resume` (without the fault) finishes the run.

Database faults come from wfo's SQLite VFS (src/store/vfs.hpp): WFO_FAULT_WRITE=N fails
the N-th write that reaches a file (a commit's WAL frames are gathered into one), `N+` that
one and every later one; WFO_FAULT_SYNC the same for fsync; WFO_FAULT_LOG names a file
where each injected failure is noted. The loops try N = 1, 2, ... until a run completes
without reaching the N-th call.
Figures (how many faults were injected) are printed as `faults:` lines on stderr.
"""
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import unittest

from wfo_e2e import WFO, WfoTestCase, pids_with_env, wait_for

# Four tasks, a diamond with an output handed down two levels. Each appends
# `task start|end attempt` to $LEDGER, so the database can be checked against what ran.
FLOW = r"""
version: 1
name: faults
tasks:
  a:
    run: |
      set -e
      echo "a start $WFO_ATTEMPT" >> "$LEDGER"
      [ -z "$FAIL_A" ] || exit 1
      echo "v=41" >> "$WFO_OUTPUT"
      echo "a end $WFO_ATTEMPT" >> "$LEDGER"
  b:
    needs: a
    run: |
      echo "b start $WFO_ATTEMPT" >> "$LEDGER"
      echo "v=$(( ${{ tasks.a.outputs.v }} + 1 ))" >> "$WFO_OUTPUT"
      echo "b end $WFO_ATTEMPT" >> "$LEDGER"
  c:
    needs: a
    run: |
      echo "c start $WFO_ATTEMPT" >> "$LEDGER"
      echo "c end $WFO_ATTEMPT" >> "$LEDGER"
  d:
    needs: [b, c]
    run: |
      echo "d start $WFO_ATTEMPT" >> "$LEDGER"
      echo "${{ tasks.b.outputs.v }}" > "$RESULT"
      echo "d end $WFO_ATTEMPT" >> "$LEDGER"
"""
NEEDS = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
STATE_ERROR = "wfo: error: state database '"


def faults_figure(line):
    print(f"faults: {line}", file=sys.stderr)


class FaultCase(WfoTestCase):
    """Helpers shared by the fault tests: one sub-folder (state, ledger) per attempt of a loop."""

    def use_folder(self, name):
        folder = os.path.join(self.dir, name)
        os.makedirs(folder)
        self.state = os.path.join(folder, "state.db")
        self.env["WFO_STATE"] = self.state
        self.ledger = os.path.join(folder, "ledger")
        self.result = os.path.join(folder, "result")
        self.env["LEDGER"] = self.ledger
        self.env["RESULT"] = self.result
        return folder

    def integrity(self):
        con = sqlite3.connect(self.state, timeout=10)
        try:
            return con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()

    def ledger_lines(self):
        try:
            with open(self.ledger) as f:
                return [line.split() for line in f.read().splitlines()]
        except FileNotFoundError:
            return []

    def run_exists(self, run_id):
        if not os.path.exists(self.state):
            return False
        try:
            return bool(self.query("SELECT 1 FROM runs WHERE id=?", run_id))
        except sqlite3.DatabaseError:
            return False

    def check_recorded_happened(self, run_id, where):
        """Every attempt the database calls succeeded ran to its end in the ledger."""
        if not self.run_exists(run_id):
            return
        ended = {(t, int(n)) for t, what, n in self.ledger_lines() if what == "end"}
        for row in self.query("SELECT task_id, number, status FROM attempts WHERE run_id=?",
                              run_id):
            if row["status"] == "succeeded":
                self.assertIn((row["task_id"], row["number"]), ended,
                              f"{where}: recorded a success that did not happen: {row}")
        for task, status in self.task_statuses(run_id).items():
            if status == "succeeded":
                self.assertTrue(any(t == task for t, _ in ended),
                                f"{where}: task {task} succeeded without running")

    def check_complete(self, run_id, where):
        """The run succeeded exactly as a clean run does."""
        self.assertEqual(self.run_status(run_id), "succeeded", where)
        self.assertEqual(set(self.task_statuses(run_id).values()), {"succeeded"}, where)
        for task in NEEDS:
            ok = [a for a in self.attempts(run_id, task) if a["status"] == "succeeded"]
            self.assertEqual(len(ok), 1, f"{where}: task {task} succeeded {len(ok)} times")
        with open(self.result) as f:
            self.assertEqual(f.read(), "42\n", where)
        # No start before the successful end of every need (ledger order is time order).
        lines = self.ledger_lines()
        for i, (task, what, _) in enumerate(lines):
            if what != "start":
                continue
            for need in NEEDS[task]:
                self.assertIn([need, "end"], [l[:2] for l in lines[:i]],
                              f"{where}: {task} started before {need} ended")
        self.assertEqual(pids_with_env(f"WFO_RUN_ID={run_id}"), [], where)


class DatabaseFaultTest(FaultCase):
    def fault_loop(self, variable, permanent, limit=400):
        """Runs the flow with the N-th `variable` call failing, N = 1, 2, ... until a run
        completes without the fault firing; after each fault: exit 5 and a clear message,
        integrity_check ok, nothing recorded that did not happen, and a plain resume (or a
        new run, when the fault came before the run was created) finishes the run."""
        flow = self.write("flow.yaml", FLOW)
        fired = 0
        for n in range(1, limit + 1):
            where = f"{variable}={n}{'+' if permanent else ''}"
            self.use_folder(f"n{n}")
            log = os.path.join(self.dir, f"n{n}", "faults")
            env = {variable: f"{n}{'+' if permanent else ''}", "WFO_FAULT_LOG": log}
            r = self.wfo("run", flow, "--run-id", "f", env=env, timeout=60)
            hit = os.path.exists(log)
            if not hit:
                self.assertEqual(r.code, 0, f"{where}: {r!r}")
                self.check_complete("f", where)
                faults_figure(f"{where}: {fired} runs with an injected fault, each resumed "
                              f"to the clean result")
                return fired
            fired += 1
            # A fault may land where SQLite ignores it (a checkpoint when the database
            # closes, after the run's end was committed): then the run is complete.
            if r.code == 0:
                self.check_complete("f", where)
            else:
                self.assertEqual(r.code, 5, f"{where}: {r!r}")
                self.assertEqual(r.err.splitlines()[-2:], [
                    f"{STATE_ERROR}{self.state}': disk I/O error",
                    "  fix the disk (space, errors), then resume the run: what was committed "
                    "is kept"], f"{where}: {r!r}")
                self.assertEqual(r.err.count("wfo: error:"), 1, f"{where}: {r!r}")
            self.assertEqual(self.integrity(), [("ok",)], where)
            self.check_recorded_happened("f", where)
            self.assertEqual(pids_with_env("WFO_RUN_ID=f"), [], where)
            if r.code == 0:
                continue
            if self.run_exists("f"):
                again = self.wfo("resume", "f", timeout=60)
            else:
                again = self.wfo("run", flow, "--run-id", "f", timeout=60)
            self.assertEqual(again.code, 0, f"{where}, then resume: {again!r}")
            self.assertEqual(self.integrity(), [("ok",)], where)
            self.check_complete("f", f"{where}, then resume")
        self.fail(f"{variable}: the run still reached call {limit}")

    def test_write_fault_once(self):
        self.assertGreater(self.fault_loop("WFO_FAULT_WRITE", permanent=False), 20)

    def test_write_fault_permanent(self):
        self.assertGreater(self.fault_loop("WFO_FAULT_WRITE", permanent=True), 20)

    def test_sync_fault_once(self):
        self.assertGreater(self.fault_loop("WFO_FAULT_SYNC", permanent=False), 0)

    def test_sync_fault_permanent(self):
        self.assertGreater(self.fault_loop("WFO_FAULT_SYNC", permanent=True), 0)

    def test_approve_faults_record_all_or_nothing(self):
        """A decision is synced: a failed write or sync while approving records nothing,
        says so (exit 5), and the same approval then goes through."""
        flow = self.write("gate.yaml", """
            version: 1
            tasks:
              review: {approval: {message: 'go?'}}
              after: {needs: review, run: 'echo ran >> "$LEDGER"'}
            """)
        fired = 0
        for variable in ("WFO_FAULT_WRITE", "WFO_FAULT_SYNC"):
            for n in range(1, 100):
                where = f"approve with {variable}={n}"
                self.use_folder(f"{variable}-{n}")
                self.run_ok("run", flow, "--run-id", "g", code=3)
                log = os.path.join(os.path.dirname(self.state), "faults")
                r = self.wfo("approve", "g", "--task", "review",
                             env={variable: str(n), "WFO_FAULT_LOG": log})
                self.assertEqual(self.integrity(), [("ok",)], where)
                decisions = self.query("SELECT * FROM decisions WHERE run_id='g'")
                if not os.path.exists(log):
                    self.assertEqual(r.code, 0, f"{where}: {r!r}")
                    break
                fired += 1
                if r.code != 0:
                    self.assertEqual(r.code, 5, f"{where}: {r!r}")
                    self.assertIn(f"{STATE_ERROR}{self.state}': disk I/O error\n", r.err,
                                  f"{where}: {r!r}")
                    self.assertEqual(decisions, [], f"{where}: a failed approval was recorded")
                    self.run_ok("approve", "g", "--task", "review")
                self.assertEqual(len(self.query("SELECT * FROM decisions WHERE run_id='g'")), 1)
                self.run_ok("resume", "g")
                self.assertEqual(self.run_status("g"), "succeeded", where)
        faults_figure(f"approve: {fired} approvals with an injected fault, none half-recorded")
        self.assertGreater(fired, 1)


class LogFolderFullTest(FaultCase):
    """The attempt logs and $WFO_OUTPUT files live in runs/<id>/ beside the database; here
    that folder is a tiny tmpfs, filled up. A log or output that cannot be written fails
    the attempt, never the engine; the run resumes once there is room."""

    def setUp(self):
        super().setUp()
        self.mount = None
        folder = self.use_folder("full")
        self.runs = os.path.join(folder, "runs")
        os.makedirs(self.runs)
        if os.geteuid() != 0 or not shutil.which("mount"):
            self.skipTest("needs root to mount a small tmpfs (skipped: not root)")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,nr_inodes=64,mode=0700",
                            "wfo-full", self.runs], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        self.mount = self.runs

    def tearDown(self):
        if self.mount:
            subprocess.run(["umount", "-l", self.mount], capture_output=True)
        super().tearDown()

    def fill(self, keep_inodes):
        """Fills the tmpfs: no byte free; with `keep_inodes` False, no inode free either."""
        filler = os.path.join(self.runs, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError:
            pass
        finally:
            os.close(fd)
        if not keep_inodes:
            for i in range(1000):
                try:
                    open(os.path.join(self.runs, f"inode{i}"), "w").close()
                except OSError:
                    break

    def free(self):
        for name in os.listdir(self.runs):
            if name == "filler" or name.startswith("inode"):
                os.remove(os.path.join(self.runs, name))

    def check_full(self, keep_inodes, expect_reason):
        flow = self.write("flow.yaml", FLOW)
        # The run's folder and lock file exist (a resumed run's do): only attempt files
        # are new.
        os.makedirs(os.path.join(self.runs, "f"), exist_ok=True)
        open(os.path.join(self.runs, "f.lock"), "w").close()
        self.fill(keep_inodes)
        r = self.wfo("run", flow, "--run-id", "f", timeout=60)
        self.assertEqual(r.code, 1, repr(r))  # the run failed; the engine did not
        self.assertNotIn("wfo: error:", r.err, repr(r))
        self.assertIn("wfo: run f failed", r.err, repr(r))
        a = self.attempts("f", "a")
        self.assertEqual(len(a), 1, a)
        self.assertEqual(a[0]["status"], "failed")
        self.assertIn(expect_reason, a[0]["reason"])
        self.assertEqual(self.task_statuses("f"),
                         {"a": "failed", "b": "skipped", "c": "skipped", "d": "skipped"})
        self.assertEqual(self.integrity(), [("ok",)])
        self.assertEqual(pids_with_env("WFO_RUN_ID=f"), [])
        self.free()
        self.run_ok("resume", "f")
        self.check_complete("f", "after freeing space")

    def test_no_space_for_output_fails_the_attempt(self):
        # The log file opens, but the task cannot write its output: `echo` fails, and so does
        # the attempt (set -e).
        self.check_full(keep_inodes=True, expect_reason="exit code 1")

    def test_no_inode_for_the_log_fails_the_attempt(self):
        self.check_full(keep_inodes=False, expect_reason="No space left on device")


class DatabaseStateTest(FaultCase):
    def setUp(self):
        super().setUp()
        self.flow = self.write("flow.yaml", FLOW)
        self.use_folder("db")

    def test_read_only_state_file(self):
        self.run_ok("run", self.flow, "--run-id", "failed", code=1, env={"FAIL_A": "1"})
        con = sqlite3.connect(self.state)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        preexec = None
        if os.geteuid() == 0:
            # Root writes through file modes: run wfo as nobody, in a folder nobody owns,
            # so that only the state file itself (root's, 0444) is read-only to it.
            def preexec():
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            os.chmod(self.dir, 0o755)
            for root, dirs, files in os.walk(os.path.dirname(self.state)):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.chown(name, 65534, 65534)
            os.chown(self.state, 0, 0)
            os.chmod(self.flow, 0o644)
        os.chmod(self.state, 0o444)
        for args in (["run", self.flow, "--run-id", "ro"], ["resume", "failed"]):
            p = subprocess.run([WFO, *args], cwd=self.dir, env=self.env, capture_output=True,
                               text=True, timeout=60, stdin=subprocess.DEVNULL,
                               preexec_fn=preexec)
            self.assertEqual(p.returncode, 5, f"{args}: {p.stdout}{p.stderr}")
            self.assertEqual(p.stderr.splitlines()[-2:], [
                f"{STATE_ERROR}{self.state}': attempt to write a readonly database",
                "  make the file and its folder writable, or point --state / WFO_STATE at "
                "another one"], f"{args}: {p.stderr}")
            self.assertEqual(p.stderr.count("wfo: error:"), 1, p.stderr)
        self.assertEqual(self.integrity(), [("ok",)])
        self.assertEqual([r["id"] for r in self.query("SELECT id FROM runs")], ["failed"])
        os.chmod(self.state, 0o600)
        self.run_ok("resume", "failed")
        self.check_complete("failed", "once writable")

    def park_at_gate(self):
        flow = self.write("gate.yaml", """
            version: 1
            tasks:
              first: {run: 'echo first >> "$LEDGER"'}
              review: {needs: first, approval: {message: 'go?'}}
              after: {needs: review, run: 'echo after >> "$LEDGER"'}
            """)
        self.run_ok("run", flow, "--run-id", "g", code=3)
        con = sqlite3.connect(self.state)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        with open(self.state, "rb") as f:
            return f.read()

    def every_command(self):
        """Results of the read and write commands on the (damaged) database."""
        out = []
        for args in (["status", "g"], ["list"], ["resume", "g"], ["approve", "g"],
                     ["logs", "g", "first"], ["run", self.flow, "--run-id", "new"]):
            r = self.wfo(*args, timeout=60)
            out.append((args, r))
            self.assertGreaterEqual(r.code, 0, f"{args} crashed: {r!r}")
            self.assertNotIn("Sanitizer", r.err, f"{args}: {r!r}")
            self.assertNotIn("terminate called", r.err, f"{args}: {r!r}")
        return out

    def test_truncated_database(self):
        good = self.park_at_gate()
        for size in (len(good) // 2, 4096 + 100, 100, 0):
            if size == 0:
                continue  # an empty file is a new database: nothing to refuse
            with open(self.state, "wb") as f:
                f.write(good[:size])
            for args, r in self.every_command():
                if args[0] in ("list",) and r.code == 0:
                    continue  # the runs table may still be readable
                self.assertEqual(r.code, 5, f"size {size}, {args}: {r!r}")
                self.assertIn(STATE_ERROR, r.err, f"size {size}, {args}: {r!r}")
                self.assertEqual(r.err.count("wfo: error:"), 1, f"{args}: {r!r}")
        faults_figure("truncated database: 3 sizes x 6 commands, each exit 5 with the "
                      "state database named (or a readable list), 0 crashes")
        # A good copy put back resumes.
        with open(self.state, "wb") as f:
            f.write(good)
        self.run_ok("approve", "g")
        self.run_ok("resume", "g")
        self.assertEqual(self.run_status("g"), "succeeded")

    def test_flipped_bytes(self):
        good = self.park_at_gate()
        rng = random.Random(8)
        page = 4096
        exit5 = 0
        cases = 0
        # Headers of the file and of every page (where SQLite notices damage), then random
        # bytes anywhere (where it may not: then wfo reads odd values, but must not crash).
        targets = [("file header", 18), ("file header", 28), ("file header", 56)]
        targets += [(f"page {p + 1} header", p * page + (100 if p == 0 else 0))
                    for p in range(len(good) // page)]
        targets += [("random byte", rng.randrange(len(good))) for _ in range(12)]
        for what, offset in targets:
            bad = bytearray(good)
            bad[offset] ^= 0xFF if what != "random byte" else (1 << rng.randrange(8))
            with open(self.state, "wb") as f:
                f.write(bytes(bad))
            for path in (self.state + "-wal", self.state + "-shm"):
                if os.path.exists(path):
                    os.remove(path)
            for args, r in self.every_command():
                cases += 1
                where = f"{what} at {offset}, {args}"
                self.assertIn(r.code, (0, 1, 2, 3, 5), f"{where}: {r!r}")
                if r.code == 5:
                    exit5 += 1
                    self.assertTrue(STATE_ERROR in r.err or "is being driven" in r.err,
                                    f"{where}: {r!r}")
                if r.code not in (0, 3):
                    # One error: wfo's own, or (a byte of the stored workflow text flipped)
                    # the loader's, at the file, line and column the text now has wrong.
                    errors = [line for line in r.err.splitlines()
                              if line.startswith("wfo: error:")
                              or re.match(r"\S+:\d+:\d+: error: ", line)]
                    self.assertEqual(len(errors), 1, f"{where}: {r!r}")
        # Damaged headers are what SQLite checks: some command must refuse them with exit 5.
        self.assertGreater(exit5, 0, "no damaged copy was refused")
        faults_figure(f"flipped bytes: {len(targets)} damaged copies x 6 commands = {cases} "
                      f"runs, {exit5} refused with exit 5, 0 crashes")

    def test_database_locked_longer_than_busy_timeout(self):
        """Another process holds BEGIN IMMEDIATE while the driver must commit: after the 5 s
        busy timeout wfo stops with exit 5 and a clear message, and resumes later."""
        flow = self.write("wait.yaml", """
            version: 1
            tasks:
              a:
                run: |
                  echo "a start $WFO_ATTEMPT" >> "$LEDGER"
                  while [ ! -e "$GO" ]; do sleep 0.02; done
                  echo "a end $WFO_ATTEMPT" >> "$LEDGER"
              b: {needs: a, run: 'echo "b end $WFO_ATTEMPT" >> "$LEDGER"'}
            """)
        go = os.path.join(self.dir, "go")
        self.env["GO"] = go
        p = self.start("run", flow, "--run-id", "lk")
        self.assertTrue(wait_for(lambda: any(l[:2] == ["a", "start"] for l in self.ledger_lines()),
                                 timeout=20))
        # The driver takes the write lock for a moment at each commit (the attempt's start
        # may still be committing); wait for that, then hold the lock for good.
        holder = sqlite3.connect(self.state, timeout=10, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        t0 = time.monotonic()
        open(go, "w").close()
        try:
            out, err = p.communicate(timeout=30)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        waited = time.monotonic() - t0
        self.assertEqual(p.returncode, 5, err)
        self.assertEqual(err.splitlines()[-2:], [
            f"wfo: error: state database '{self.state}': database is locked",
            "  another process holds a write lock on it; try again when it is done"], err)
        self.assertGreaterEqual(waited, 4.5)  # the busy timeout was waited out, not skipped
        faults_figure(f"database locked by another process: exit 5 after {waited:.1f} s")
        self.assertEqual(self.integrity(), [("ok",)])
        self.check_recorded_happened("lk", "locked")
        self.assertEqual(pids_with_env("WFO_RUN_ID=lk"), [])
        self.run_ok("resume", "lk")
        self.assertEqual(self.task_statuses("lk"), {"a": "succeeded", "b": "succeeded"})


if __name__ == "__main__":
    unittest.main()
