"""A large run or resume re-executes wfo once with glibc's huge-page tunable
(src/cli/huge_pages.hpp), and its tasks still get the user's environment.

A task reads its parent's /proc/PID/environ: the environment wfo was executed with, which
setenv(3) does not change. So it shows whether the wfo that runs the task is a re-executed
one, while the task's own environment shows what wfo passes on.
"""
import os
import unittest

from wfo_e2e import WfoTestCase


def thp_mode():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return f.read()
    except OSError:
        return ""


# Re-executed only where it helps: THP on request, and glibc's malloc (not a sanitizer's).
EXPECT_REEXEC = "[madvise]" in thp_mode() and not os.environ.get("WFO_SANITIZED")
MARKER = "WFO_SAVED_GLIBC_TUNABLES"
PAD = "# " + "x" * 1022 + "\n"  # 1 KiB of comment

FLOW = """\
version: 1
name: big
tasks:
  record:
    run: tr '\\0' '\\n' < /proc/$PPID/environ > parent.env; env > child.env
  after:
    needs: [record]
    run: test -f go && tr '\\0' '\\n' < /proc/$PPID/environ > after.env && echo done > after.txt
"""


def env_lines(path):
    with open(path) as f:
        return [line for line in f.read().splitlines() if line]


class HugePagesTest(WfoTestCase):
    def setUp(self):
        super().setUp()
        self.env.pop("GLIBC_TUNABLES", None)
        self.env.pop(MARKER, None)

    def write_flow(self, kib):
        self.write("flow.yaml", FLOW + PAD * kib)
        return os.path.getsize(os.path.join(self.dir, "flow.yaml"))

    def tunables(self, name):
        """(GLIBC_TUNABLES, the marker) in the environment file `name`; None when unset.
        In a parent's environ, the dynamic loader has cut GLIBC_TUNABLES after its first
        tunable (it parses the string in place), so the marker is what tells."""
        values = {}
        for line in env_lines(os.path.join(self.dir, name)):
            key, _, value = line.partition("=")
            if key in ("GLIBC_TUNABLES", MARKER):
                values[key] = value
        return values.get("GLIBC_TUNABLES"), values.get(MARKER)

    def test_a_large_run_gets_huge_pages_and_its_tasks_the_users_environment(self):
        self.assertGreaterEqual(self.write_flow(1024), 1 << 20)
        self.write("go", "")
        r = self.run_ok("run", "flow.yaml")
        rid = self.run_id_of(r)
        self.assertEqual(self.task_statuses(rid), {"record": "succeeded", "after": "succeeded"})
        self.assertEqual(self.read("after.txt"), "done\n")
        parent = self.tunables("parent.env")
        if EXPECT_REEXEC:  # the marker says GLIBC_TUNABLES was unset
            self.assertEqual(parent, ("glibc.malloc.hugetlb=1", "-"))
        else:
            self.assertEqual(parent, (None, None))
        self.assertEqual(self.tunables("child.env"), (None, None))

    def test_the_users_tunables_are_kept_and_passed_on(self):
        self.write_flow(1100)
        self.write("go", "")
        self.run_ok("run", "flow.yaml", env={"GLIBC_TUNABLES": "glibc.malloc.perturb=0"})
        parent = self.tunables("parent.env")
        if EXPECT_REEXEC:  # the marker holds the user's value, "=" first
            self.assertEqual(parent, ("glibc.malloc.perturb=0", "=glibc.malloc.perturb=0"))
        else:
            self.assertEqual(parent, ("glibc.malloc.perturb=0", None))
        self.assertEqual(self.tunables("child.env"), ("glibc.malloc.perturb=0", None))

    def test_hugetlb_0_turns_it_off(self):
        self.write_flow(1100)
        self.write("go", "")
        self.run_ok("run", "flow.yaml", env={"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})
        self.assertEqual(self.tunables("parent.env"), ("glibc.malloc.hugetlb=0", None))
        self.assertEqual(self.tunables("child.env"), ("glibc.malloc.hugetlb=0", None))

    def test_a_small_run_is_not_re_executed(self):
        self.assertLess(self.write_flow(1000), 1 << 20)
        self.write("go", "")
        self.run_ok("run", "flow.yaml")
        self.assertEqual(self.tunables("parent.env"), (None, None))

    def test_a_large_workflow_from_a_pipe_is_read_once_and_not_re_executed(self):
        # A re-executed wfo would find the pipe empty. Tasks run in the file's folder
        # (here /dev), so this one writes where the test looks.
        text = ("version: 1\nname: piped\ntasks:\n  record:\n"
                f"    run: tr '\\0' '\\n' < /proc/$PPID/environ > {self.dir}/parent.env\n")
        r = self.run_ok("run", "/dev/stdin", input=text + PAD * 1100)
        rid = self.run_id_of(r)
        self.assertEqual(self.task_statuses(rid), {"record": "succeeded"})
        self.assertEqual(self.tunables("parent.env"), (None, None))

    def test_a_large_resume_is_re_executed_and_goes_on_where_the_run_stopped(self):
        self.write_flow(1100)
        r = self.wfo("run", "flow.yaml")
        self.assertEqual(r.code, 1, r)  # `after` fails: no file `go` yet
        rid = self.run_id_of(r)
        self.assertEqual(self.task_statuses(rid), {"record": "succeeded", "after": "failed"})
        os.remove(os.path.join(self.dir, "parent.env"))
        self.write("go", "")
        r = self.run_ok("resume", rid)
        self.assertIn(f"wfo: run {rid} succeeded", r.err)
        self.assertEqual(self.task_statuses(rid), {"record": "succeeded", "after": "succeeded"})
        self.assertEqual([a["status"] for a in self.attempts(rid, "after")],
                         ["failed", "succeeded"])
        self.assertEqual(self.read("after.txt"), "done\n")
        self.assertEqual(self.tunables("after.env")[1], "-" if EXPECT_REEXEC else None)
        # `record` succeeded before the resume and did not run again.
        self.assertFalse(os.path.exists(os.path.join(self.dir, "parent.env")))
        self.assertEqual(len(self.attempts(rid, "record")), 1)


if __name__ == "__main__":
    unittest.main()
