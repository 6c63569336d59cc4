"""Subprocess hazards (issue 8, part 6), through the built binary: grandchildren that keep the
output open, tasks that ignore SIGTERM, a task writing 1 GiB, descriptors leaking into tasks,
and 1,000 tasks for zombies and descriptor growth. Figures are printed as `processes:` lines
on stderr for docs/reliability.md.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

from wfo_e2e import WFO, WfoTestCase, pids_with_env, wait_for

SANITIZED = bool(os.environ.get("WFO_SANITIZED"))


def figure(line):
    print(f"processes: {line}", file=sys.stderr)


def alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def children(pid):
    """(pid, state) of the live children of `pid`, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append((int(entry), fields[0]))
    return out


def fd_count(pid):
    """(descriptors other than pipes, pipes) that `pid` holds, or None once it is gone. wfo
    holds both ends of one pipe per running attempt (its output, drained into the log; the
    write end so that the exit is no end of file)."""
    try:
        other, pipes = 0, 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:  # closed meanwhile
                continue
            if target.startswith("pipe:"):
                pipes += 1
            else:
                other += 1
        return other, pipes
    except OSError:
        return None


class HazardTest(WfoTestCase):
    def run_measured(self, *args, env=None, timeout=300, pass_fds=()):
        """Runs wfo and waits for it with wait4(2): returns (exit code, stderr, peak RSS in
        KiB of wfo and of the children it reaped, wall seconds)."""
        e = dict(self.env)
        if env:
            e.update(env)
        err_path = os.path.join(self.dir, "wfo.err")
        t0 = time.monotonic()
        with open(err_path, "w") as err:
            p = subprocess.Popen([WFO, *args], cwd=self.dir, env=e, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err, pass_fds=pass_fds)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                self.fail(f"wfo {args} still running after {timeout} s")
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        with open(err_path) as f:
            err_text = f.read()
        return p.returncode, err_text, usage.ru_maxrss, time.monotonic() - t0

    def test_grandchild_holding_output_after_timeout(self):
        """The attempt times out while a grandchild in its group, and one that left the
        group with setsid, keep the log open: wfo ends the attempt on time, kills its group,
        and does not wait for the escaped one (attempt output goes to a file, not a pipe)."""
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              hold:
                timeout: 300ms
                run: |
                  sleep 60 &
                  echo $! > ingroup.pid
                  setsid sh -c 'echo $$ > escaped.pid; exec sleep 60' &
                  echo started
                  sleep 60
              next:
                needs: hold
                if: always()
                run: echo next ran
            """)
        t0 = time.monotonic()
        r = self.wfo("run", flow, "--run-id", "gc", timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(r.code, 1, repr(r))
        a = self.attempts("gc", "hold")[0]
        self.assertEqual((a["status"], a["reason"]), ("timed_out", "timed out after 300ms"))
        self.assertEqual(self.task_statuses("gc")["next"], "succeeded")
        ingroup = int(self.read("ingroup.pid"))
        escaped = int(self.read("escaped.pid"))
        try:
            self.assertFalse(alive(ingroup), "the grandchild in the attempt's group survived")
            # Not held for the escaped grandchild: it still sleeps its 60 s.
            self.assertTrue(alive(escaped), "wfo returned only after the escaped grandchild")
            figure(f"timeout with grandchildren holding the log: wfo done in {took:.2f} s")
        finally:
            if alive(escaped):
                os.kill(escaped, signal.SIGKILL)

    def test_task_ignoring_sigterm_is_killed_when_wfo_is_interrupted(self):
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              stubborn:
                run: |
                  trap '' TERM
                  echo $$ > stubborn.pid
                  sh -c 'trap "" TERM; echo $$ > child.pid; while :; do sleep 1; done' &
                  while :; do sleep 1; done
            """)
        p = self.start("run", flow, "--run-id", "st")
        self.assertTrue(wait_for(lambda: os.path.exists(os.path.join(self.dir, "child.pid")),
                                 timeout=20))
        time.sleep(0.1)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 130, err)
        for name in ("stubborn.pid", "child.pid"):
            pid = int(self.read(name))
            self.assertFalse(alive(pid), f"{name}: a process that ignores SIGTERM survived")
        self.assertEqual(pids_with_env("WFO_RUN_ID=st"), [])
        a = self.attempts("st", "stubborn")[0]
        self.assertEqual((a["status"], a["signal"]), ("interrupted", 9))
        self.assertGreater(took, 4.5)  # SIGTERM first, SIGKILL after the 5 s grace
        figure(f"tasks ignoring SIGTERM: killed {took:.1f} s after wfo's SIGTERM (grace 5 s)")

    @unittest.skipIf(SANITIZED, "ASan's shadow memory makes the RSS figure meaningless")
    def test_one_gib_of_output_keeps_wfo_small(self):
        """A task writes 1 GiB, holding a secret at its end, and fails: wfo streams the log
        to the file, masks the secret in it and prints its tail, all in bounded memory."""
        flow = self.write("flow.yaml", """
            version: 1
            params:
              token: {secret: true}
            tasks:
              big:
                run: |
                  yes 'a line of output that goes on and on, 0123456789' | head -c 1073741824
                  echo "the secret: $WFO_SECRET_TOKEN"
                  exit 3
            """)
        code, err, max_rss_kb, took = self.run_measured(
            "run", flow, "--run-id", "big", env={"WFO_SECRET_TOKEN": "hush-4242"})
        self.assertEqual(code, 1, err)
        log = self.attempts("big", "big")[0]["log_path"]
        self.assertGreater(os.path.getsize(log), 1 << 30)
        with open(log, "rb") as f:
            f.seek(-200, os.SEEK_END)
            tail = f.read()
        self.assertIn(b"the secret: ***\n", tail)
        self.assertNotIn(b"hush-4242", tail)
        self.assertIn("the secret: ***", err)  # the tail wfo shows for the failure
        os.remove(log)
        self.assertLess(max_rss_kb, 64 * 1024, f"peak RSS {max_rss_kb} KiB")
        figure(f"1 GiB of task output: peak RSS of wfo (and the task) {max_rss_kb / 1024:.1f} "
               f"MiB, run took {took:.1f} s")

    def test_tasks_see_only_0_1_2(self):
        """Each task lists /proc/self/fd: only 0, 1, 2 and the listing's own descriptor, even
        with tasks running side by side, an agent command, a hook, and a descriptor wfo
        itself inherited without close-on-exec."""
        listing = "ls -l /proc/self/fd > fds.$WFO_TASK_ID.$WFO_ATTEMPT; sleep 0.2"
        flow = self.write("flow.yaml", f"""
            version: 1
            agents:
              lister: {{command: ["/bin/sh", "-c", "{listing}"]}}
            hooks:
              on_exit: "ls -l /proc/self/fd > fds.hook.1"
            tasks:
              a: {{run: "{listing}"}}
              b: {{run: "{listing}"}}
              c: {{run: "{listing}"}}
              d: {{agent: lister}}
              e:
                needs: [a, b, c, d]
                retry: {{max_attempts: 2, delay: 10ms}}
                run: "{listing}; [ $WFO_ATTEMPT -gt 1 ]"
            """)
        leaked = os.open(os.path.join(self.dir, "flow.yaml"), os.O_RDONLY)  # inheritable
        try:
            code, err, _, _ = self.run_measured("run", flow, "-j4", "--run-id", "fd",
                                                pass_fds=(leaked,))
        finally:
            os.close(leaked)
        self.assertEqual(code, 0, err)
        names = sorted(n for n in os.listdir(self.dir) if n.startswith("fds."))
        self.assertEqual(names, ["fds.a.1", "fds.b.1", "fds.c.1", "fds.d.1", "fds.e.1",
                                 "fds.e.2", "fds.hook.1"])
        for name in names:
            fds = {}
            for line in self.read(name).splitlines()[1:]:  # after "total N"
                parts = line.split()
                fds[int(parts[8])] = parts[10] if len(parts) > 10 else ""
            extra = {fd: target for fd, target in fds.items() if fd > 2}
            # ls's own descriptor is the directory it lists.
            self.assertEqual(len(extra), 1, f"{name}: {fds}")
            self.assertRegex(next(iter(extra.values())), r"^/proc/\d+/fd$", f"{name}: {fds}")
            self.assertEqual(sorted(fds)[:3], [0, 1, 2], f"{name}: {fds}")
        figure(f"descriptors: {len(names)} listings (parallel tasks, agent, retry, hook), "
               f"each 0, 1, 2 and its own")

    def test_wfo_asks_for_a_short_slice_and_its_tasks_keep_theirs(self):
        """wfo's event loop runs with a 100 µs time slice (Linux 6.12+), so that it gets a CPU
        soon after a task's exit; the tasks keep the kernel's default slice, and a nice
        value given to wfo reaches them unchanged (`nice -n 5 wfo run`)."""
        release = tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])
        with open("/proc/self/sched") as f:
            own = f.read()
        if release < (6, 12) or "se.slice" not in own:
            self.skipTest("no custom time slices (Linux 6.12) or no se.slice in /proc/PID/sched")
        default = own.split("se.slice")[1].split(":")[1].split()[0]
        flow = self.write("flow.yaml", """
            version: 1
            tasks:
              probe:
                run: |
                  grep '^se.slice' /proc/$PPID/sched | tr -s ' ' | cut -d' ' -f3 > wfo.slice
                  grep '^se.slice' /proc/$$/sched | tr -s ' ' | cut -d' ' -f3 > task.slice
                  cut -d' ' -f19 /proc/$PPID/stat > wfo.nice
                  cut -d' ' -f19 /proc/$$/stat > task.nice
            """)
        p = subprocess.run(["nice", "-n", "5", WFO, "run", flow, "--run-id", "slice"],
                           cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.read("wfo.slice").strip(), "100000")
        self.assertEqual(self.read("task.slice").strip(), default)
        self.assertEqual(self.read("wfo.nice").strip(), "5")
        self.assertEqual(self.read("task.nice").strip(), "5")
        figure(f"time slice: wfo 100000 ns, its task {default} ns (the default), nice 5 kept")

    def test_thousand_tasks_no_zombie_steady_descriptors(self):
        n = 1000
        lines = ["version: 1", "tasks:", "  first: {run: 'sleep 0.5'}"]
        for i in range(n):
            lines.append(f"  t{i}: {{needs: first, run: 'exit 0'}}")
        lines.append(f"  last: {{needs: [{', '.join(f't{i}' for i in range(n))}], "
                     "run: 'sleep 1'}")
        flow = self.write("flow.yaml", "\n".join(lines) + "\n")
        p = self.start("run", flow, "-j8", "--run-id", "many",
                       output=os.path.join(self.dir, "wfo.out"))
        samples, pipe_peak, zombies_seen, early, late = [], 0, 0, None, None
        def running():
            try:
                return [r["task_id"] for r in self.query(
                    "SELECT task_id FROM attempts WHERE run_id='many' AND status='running'")]
            except sqlite3.Error:  # not created yet
                return []

        while p.poll() is None:
            # The phase is read before and after the sample, and the sample counts only when
            # both agree: a sample taken as wfo starts (before it opened every file) and
            # read with a phase that began just after it was an 8 for a 10 in CI.
            before = running()
            counts = fd_count(p.pid)
            count = counts[0] if counts else None
            kids = children(p.pid)
            zombies = [k for k, state in kids if state == "Z"]
            if count is not None:
                if early is not None:  # steady state: after wfo opened its files
                    samples.append(count)
                    pipe_peak = max(pipe_peak, counts[1])
                zombies_seen = max(zombies_seen, len(zombies))
                ids = running()
                if ids != before:
                    ids = None
                # The fewest descriptors seen in each phase: a single sample may fall in
                # the instant wfo holds a file open (a commit, an attempt's log at spawn).
                if ids == ["first"]:
                    early = (min(count, early[0]) if early else count, len(kids))
                if ids == ["last"]:
                    # Children and zombies from the phase's first sample: 'last' sleeps 1 s,
                    # and a later sample may catch 'last' itself between its exit and its
                    # reaping, a zombie that is not a leak.
                    late = ((min(count, late[0]), late[1], late[2]) if late
                            else (count, len(kids), len(zombies)))
            time.sleep(0.01)
        self.assertEqual(p.returncode, 0, self.read("wfo.out")[-2000:])
        self.assertEqual(self.query("SELECT COUNT(*) AS n FROM tasks WHERE run_id='many' AND "
                                    "status='succeeded'")[0]["n"], n + 2)
        self.assertIsNotNone(early, "never saw only 'first' running")
        self.assertIsNotNone(late, "never saw only 'last' running")
        # With only 'last' running, after 1,000 attempts: the same descriptors as with only
        # 'first' running, one child, no zombie.
        self.assertEqual(late[0], early[0], f"descriptors: {early[0]} early, {late[0]} late")
        self.assertEqual(late[1:], (1, 0), f"children, zombies with only 'last' running: {late}")
        self.assertLessEqual(max(samples), early[0] + 8, f"descriptor peak {max(samples)}")
        # Both ends of one pipe per running attempt (-j8), of the pipe made ahead for the
        # next spawn, and of those of the attempts the last wait reaped (closed when wfo
        # next waits, after the spawns their exits allowed): a leaked pipe would add up
        # over 1,000 tasks.
        self.assertLessEqual(pipe_peak, 2 * 8 + 2 + 2 * 8, "pipe ends held at once")
        self.assertEqual(pids_with_env("WFO_RUN_ID=many"), [])
        figure(f"{n} tasks: wfo's descriptors other than pipes {min(samples)}..{max(samples)} "
               f"(and at most {pipe_peak} pipe ends: two per running or just reaped attempt, "
               f"two spare) over "
               f"{len(samples)} samples ({early[0]} with the first task running, {late[0]} "
               f"with the last), zombies at the end 0 (at most {zombies_seen} seen between "
               f"an exit and its reaping)")


if __name__ == "__main__":
    unittest.main()
