"""End-to-end crash torture: kill -9 wfo at random moments, resume until done, then check.

Every task appends `task start|end attempt pid time` to a ledger and holds a lock directory
while it runs (an overlap check that needs no clock: a second live attempt of a task finds
the lock held by a live pid and records OVERLAP).
"""
import os
import random
import signal
import subprocess
import time
import unittest

from wfo_e2e import LEDGER_END, LEDGER_START, WfoTestCase, pids_with_env

TASK = LEDGER_START + LEDGER_END


def crash_flow(width=4, depth=4):
    lines = ["version: 1", "name: crash", "tasks:"]
    ids = []
    for d in range(depth):
        for w in range(width):
            tid = f"t{d}_{w}"
            needs = [f"t{d-1}_{(w + k) % width}" for k in (0, 1)] if d else []
            ids.append((tid, sorted(set(needs))))
            lines.append(f"  {tid}:")
            if needs:
                lines.append(f"    needs: [{', '.join(sorted(set(needs)))}]")
            lines.append("    run: |")
            lines.extend(TASK.replace("\n\n", "\n").strip("\n").splitlines())
    return "\n".join(lines) + "\n", ids


class CrashResumeTest(WfoTestCase):
    KILLS = int(os.environ.get("WFO_CRASH_KILLS", "20"))

    def test_kill9_resume_loop(self):
        text, ids = crash_flow()
        flow = self.write("crash.yaml", text)
        ledger = os.path.join(self.dir, "ledger")
        locks = os.path.join(self.dir, "locks")
        os.makedirs(locks)
        env = {"LEDGER": ledger, "LOCKS": locks}
        rng = random.Random(int(os.environ.get("WFO_CRASH_SEED", "7")))
        run_id = "crash-1"
        kills = 0
        args = ["run", flow, "--run-id", run_id, "-j3"]
        for round_no in range(self.KILLS * 3):
            # A kill before `wfo run` created the run leaves nothing to resume: start again.
            if args[0] == "resume" and not self.run_exists(run_id):
                args = ["run", flow, "--run-id", run_id, "-j3"]
            p = self.start(*args, env=env, output=os.path.join(self.dir, "wfo.out"))
            args = ["resume", run_id]
            delay = rng.uniform(0.0, 0.35)
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
                if os.path.exists(self.state):
                    self.check_integrity()

            if p.returncode == 0:
                if kills >= self.KILLS:
                    break
                # Finished before we reached the kill count: start a fresh run.
                self.check_run(run_id, ids, ledger)
                run_id = f"crash-{round_no + 2}"
                args = ["run", flow, "--run-id", run_id, "-j3"]
                os.remove(ledger)
                continue
            self.assertIn(p.returncode, (0, -9), self.read("wfo.out")[-3000:])
        # Drive the last run to the end; the last kill may have come before `wfo run` created
        # it (a slow start, as under ASan), and then there is nothing to resume.
        if not self.run_exists(run_id):
            self.run_ok("run", flow, "--run-id", run_id, "-j3", env=env)
        elif self.run_status(run_id) != "succeeded":
            self.run_ok("resume", run_id, env=env)
        self.assertGreaterEqual(kills, self.KILLS)
        self.check_run(run_id, ids, ledger)

    def run_exists(self, run_id):
        try:
            return bool(self.query("SELECT 1 FROM runs WHERE id=?", run_id))
        except Exception:
            return False

    def check_integrity(self):
        con = self.db()
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            con.close()

    def check_run(self, run_id, ids, ledger):
        self.assertEqual(self.run_status(run_id), "succeeded")
        statuses = self.task_statuses(run_id)
        self.assertEqual(set(statuses.values()), {"succeeded"}, statuses)
        for tid, _ in ids:
            ok = [a for a in self.attempts(run_id, tid) if a["status"] == "succeeded"]
            self.assertEqual(len(ok), 1, tid)
        with open(ledger) as f:
            events = [line.split() for line in f.read().splitlines()]
        self.assertNotIn("OVERLAP", [e[0] for e in events])
        ends = {}
        starts = {}
        for e in events:
            tid, what, attempt, pid, t = e[0], e[1], int(e[2]), e[3], int(e[4])
            if what == "end":
                ends.setdefault(tid, []).append(t)
            else:
                starts.setdefault(tid, []).append(t)
        for tid, needs in ids:
            self.assertIn(tid, ends, f"{tid} never ended in the ledger")
            # No attempt of a task started before every need had ended successfully once.
            for need in needs:
                self.assertLess(min(ends[need]), min(starts[tid]), f"{tid} started before {need}")
        self.assertEqual(pids_with_env(f"WFO_RUN_ID={run_id}"), [])



class RunIdScopeTest(WfoTestCase):
    """`--run-id` is the user's choice, so two state databases may hold one run id. A resume
    stops what a dead driver left running, found by run id and database (WFO_STATE), and must
    leave the other database's run alone."""

    def test_resume_in_one_database_leaves_the_same_run_id_in_another_alone(self):
        flow_a = self.write("a.yaml", """
            version: 1
            name: a
            tasks:
              long:
                run: |
                  echo "$WFO_STATE" > started
                  i=0
                  while [ ! -e release ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
                  [ -e release ] && echo done > long.out
            """)
        flow_b = self.write("b.yaml", """
            version: 1
            name: b
            tasks:
              review:
                approval: {message: "go?"}
              after:
                needs: review
                run: echo "$WFO_STATE" > b.out
            """)
        other = os.path.join(self.dir, "other", "state.db")
        with self.started("run", flow_a, "--run-id", "same") as a:
            deadline = time.monotonic() + 20
            while not os.path.exists(os.path.join(self.dir, "started")):
                self.assertLess(time.monotonic(), deadline, "task `long` never started")
                time.sleep(0.02)
            # Every process learns its database: a `wfo` command in a task finds its run.
            self.assertEqual(self.read("started"), self.state + "\n")
            self.run_ok("run", flow_b, "--run-id", "same", "--state", other, code=3)
            # A resume recovers first. It must not stop `long`, which is run `same` too, but
            # in the other database, with its driver alive.
            self.run_ok("resume", "same", "--state", other, code=3)
            self.run_ok("approve", "same", "--task", "review", "--state", other)
            self.run_ok("resume", "same", "--state", other)
            self.assertEqual(self.read("b.out"), other + "\n")
            with open(os.path.join(self.dir, "release"), "w"):
                pass
            out, err = a.communicate(timeout=60)
        self.assertEqual(a.returncode, 0, out + err)
        self.assertEqual(self.read("long.out"), "done\n")
        self.assertEqual(self.task_statuses("same"), {"long": "succeeded"})
        self.assertEqual(self.query("SELECT count(*) AS n FROM attempts WHERE run_id='same'")[0]["n"], 1)


if __name__ == "__main__":
    unittest.main()
