"""End-to-end: the shell completions in completions/, loaded in the real shells: bash (the
registered function called with COMP_WORDS/COMP_CWORD, and bash-completion's loader finding
the installed file), zsh (compinit under a pseudo-terminal through zpty) and fish
(`complete -C`, autoloaded with `wfo` on PATH)."""
import os
import re
import shutil
import subprocess
import time
import unittest

from wfo_e2e import WFO, SOURCE_DIR, WfoTestCase

COMPLETIONS = os.path.join(SOURCE_DIR, "completions")
COMMANDS = ["approvals", "approve", "cancel", "graph", "list", "logs", "reject", "resume",
            "run", "stats", "status", "validate"]

# Records every match zsh's completion adds (after filtering by the word being completed),
# then prints a marker once the completion widget is done. As zsh-capture-completion does.
ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='' ; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; (( $#__hits )) && print -rl -- ${(@)__hits/#/<<}; builtin compadd "$@"; }'
zpty -w z '_test_tab() { zle complete-word; print -r -- "COMPLETION"-DONE; }; zle -N _test_tab; bindkey "^I" _test_tab'
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; LISTMAX=10000"
zpty -n -w z "$2"$'\t'
out=""
while zpty -r z line; do
  out+="$line"
  [[ $line == *COMPLETION-DONE* ]] && break
done
zpty -d z
print -r -- "$out"
"""


class CompletionCase(WfoTestCase):
    """A folder with workflow files, other files, and a state with three runs."""

    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin)
        os.symlink(os.path.abspath(WFO), os.path.join(self.bin, "wfo"))
        self.env["PATH"] = self.bin + os.pathsep + self.env["PATH"]
        self.write("ci.yaml", """
            version: 1
            tasks:
              build: {run: "true"}
              review: {needs: build, approval: {message: "go?"}}
              ship: {needs: review, run: "true"}
            """)
        self.write("nightly.yml", "version: 1\ntasks:\n  a: {run: 'true'}\n")
        self.write("notes.txt", "not a workflow\n")
        os.makedirs(os.path.join(self.dir, "flows"))
        self.run_ok("run", "nightly.yml", "--run-id", "r-ok")
        self.run_ok("run", "ci.yaml", "--run-id", "r-gate", code=3)


class BashTest(CompletionCase):
    def complete(self, *words, preload=False):
        script = ""
        if preload:
            script += "source /usr/share/bash-completion/bash_completion\n"
        script += f"source {COMPLETIONS}/wfo.bash\n"
        script += ('COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; '
                   'COMP_POINT=${#COMP_LINE}; _wfo; printf "%s\\n" "${COMPREPLY[@]}"\n')
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", *words],
                           cwd=self.dir, env=self.env, capture_output=True, text=True)
        self.assertEqual(p.stderr, "")
        return [w for w in p.stdout.splitlines() if w]

    def test_subcommands_and_flags(self):
        self.assertEqual(sorted(self.complete("wfo", "")), COMMANDS)
        self.assertEqual(self.complete("wfo", "re"), ["resume", "reject"])
        self.assertEqual(self.complete("wfo", "--"), ["--state", "--help", "--version"])
        self.assertEqual(self.complete("wfo", "run", "--j"), ["--jobs", "--json", "--junit"])
        self.assertEqual(self.complete("wfo", "logs", "--"), ["--attempt", "--follow", "--help"])
        self.assertEqual(self.complete("wfo", "graph", "--format", ""), ["dot", "mermaid"])
        self.assertEqual(self.complete("wfo", "run", "--durability", "f"), ["full"])

    def test_workflow_files(self):
        for cmd in ["run", "validate", "graph"]:
            self.assertEqual(sorted(self.complete("wfo", cmd, "")),
                             ["bin", "ci.yaml", "flows", "nightly.yml"], cmd)
        self.assertEqual(self.complete("wfo", "run", "-j", "2", "c"), ["ci.yaml"])
        self.assertEqual(self.complete("wfo", "run", "ci.yaml", ""), [])
        self.assertEqual(self.complete("wfo", "run", ".w"), [".wfo"])

    def test_run_and_task_ids_from_the_state(self):
        self.assertEqual(self.complete("wfo", "status", ""), ["r-gate", "r-ok"])
        self.assertEqual(self.complete("wfo", "logs", "r-g"), ["r-gate"])
        self.assertEqual(self.complete("wfo", "logs", "r-gate", ""), ["build", "review", "ship"])
        self.assertEqual(self.complete("wfo", "approve", ""), ["r-gate"])
        self.assertEqual(self.complete("wfo", "approve", "r-gate", "--task", ""), ["review"])
        self.assertEqual(self.complete("wfo", "resume", ""), ["r-gate"])
        other = os.path.join(self.dir, "other.db")
        self.assertEqual(self.complete("wfo", "--state", other, "status", ""), [])

    def test_a_gate_past_its_deadline_is_not_offered(self):
        # Its timeout decides it (`wfo approve` applies it first): a cancelled run's gate
        # stays waiting in the database until the resume, and was offered.
        self.write("timed.yaml", """
            version: 1
            tasks:
              soon: {approval: {timeout: 300ms}}
              later: {approval: {timeout: 1h}}
            """)
        self.run_ok("run", "timed.yaml", "--run-id", "r-timed", code=3)
        self.run_ok("cancel", "r-timed")
        time.sleep(0.5)
        self.assertEqual(self.run_ok("__complete", "gates", "r-timed").out, "later\n")
        self.assertEqual(self.complete("wfo", "approve", "r-timed", "--task", ""), ["later"])

    def test_bash_completion_loads_the_installed_file(self):
        if not os.path.exists("/usr/share/bash-completion/bash_completion"):
            self.skipTest("bash-completion is not installed (Debian package bash-completion)")
        share = os.path.join(self.dir, "prefix", "share")
        os.makedirs(os.path.join(share, "bash-completion", "completions"))
        shutil.copy(os.path.join(COMPLETIONS, "wfo.bash"),
                    os.path.join(share, "bash-completion", "completions", "wfo"))
        script = ("source /usr/share/bash-completion/bash_completion\n"
                  "__load_completion wfo && complete -p wfo\n"
                  'COMP_WORDS=(wfo st); COMP_CWORD=1; _wfo; printf "%s\\n" "${COMPREPLY[@]}"\n')
        env = dict(self.env, XDG_DATA_DIRS=share)
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=self.dir, env=env,
                           capture_output=True, text=True)
        self.assertEqual(p.stdout, "complete -F _wfo wfo\nstatus\nstats\n", p.stderr)
        self.assertEqual(self.complete("wfo", "sta", preload=True), ["status", "stats"])


class ZshTest(CompletionCase):
    def complete(self, line):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed (Debian package zsh)")
        driver = self.write("driver.zsh", ZSH_DRIVER)
        p = subprocess.run(["zsh", "-f", driver, COMPLETIONS, line], cwd=self.dir, env=self.env,
                           capture_output=True, text=True, timeout=30)
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", p.stdout).replace("\r", "")
        hits = set()
        for l in text.split("\n"):
            if "<<" in l and "compadd" not in l:
                hits.add(l.split("<<", 1)[1])
        self.assertIn("COMPLETION-DONE", text)
        return sorted(hits)

    def test_subcommands(self):
        self.assertEqual(self.complete("wfo re"), ["reject", "resume"])
        self.assertEqual(self.complete("wfo "), COMMANDS)

    def test_flags_files_runs_and_tasks(self):
        self.assertEqual(self.complete("wfo graph --format "), ["dot", "mermaid"])
        self.assertEqual(self.complete("wfo logs --"), ["--attempt", "--follow"])
        self.assertEqual(self.complete("wfo run --ju"), ["--junit"])
        self.assertEqual(self.complete("wfo validate "), ["bin", "ci.yaml", "flows", "nightly.yml"])
        self.assertEqual(self.complete("wfo status "), ["r-gate", "r-ok"])
        self.assertEqual(self.complete("wfo logs r-gate "), ["build", "review", "ship"])
        self.assertEqual(self.complete("wfo approve r-gate --task "), ["review"])


class FishTest(CompletionCase):
    def complete(self, line):
        if not shutil.which("fish"):
            self.skipTest("fish is not installed (Debian package fish)")
        # As from vendor_completions.d: fish autoloads wfo.fish because `wfo` is on PATH.
        script = f"set fish_complete_path {COMPLETIONS} $fish_complete_path; complete -C'{line}'"
        p = subprocess.run(["fish", "--no-config", "-c", script], cwd=self.dir, env=self.env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.stderr, "")
        return [l.split("\t")[0] for l in p.stdout.splitlines()]

    def test_subcommands_with_descriptions(self):
        self.assertEqual(self.complete("wfo re"), ["reject", "resume"])
        self.assertEqual(sorted(self.complete("wfo ")), COMMANDS)
        p = subprocess.run(["fish", "--no-config", "-c",
                            f"set fish_complete_path {COMPLETIONS} $fish_complete_path; "
                            "complete -C'wfo sta'"], env=self.env, cwd=self.dir,
                           capture_output=True, text=True)
        self.assertIn("status\tShow a run's tasks, attempts and gates\n", p.stdout)

    def test_flags_files_runs_and_tasks(self):
        self.assertEqual(self.complete("wfo graph --format "), ["dot", "mermaid"])
        self.assertEqual(self.complete("wfo logs --"), ["--attempt", "--follow", "--help"])
        self.assertEqual(self.complete("wfo run "), ["bin/", "ci.yaml", "flows/", "nightly.yml"])
        self.assertEqual(self.complete("wfo status "), ["r-gate", "r-ok"])
        self.assertEqual(self.complete("wfo logs r-gate "), ["build", "review", "ship"])
        self.assertEqual(self.complete("wfo approve r-gate --task "), ["review"])
        self.assertEqual(self.complete("wfo approve "), ["r-gate"])


class FlagsMatchHelpTest(unittest.TestCase):
    """Every long flag `wfo CMD --help` lists is completed by each shell's script."""

    def test_every_flag_is_in_every_script(self):
        scripts = {}
        for name in ["wfo.bash", "_wfo", "wfo.fish"]:
            with open(os.path.join(COMPLETIONS, name)) as f:
                scripts[name] = f.read()
        for cmd in COMMANDS:
            out = subprocess.run([WFO, cmd, "--help"], capture_output=True, text=True).stdout
            for flag in set(re.findall(r"(?m)^\s+(?:-\w,)?--([\w-]+)", out)) - {"help"}:
                self.assertIn("--" + flag, scripts["wfo.bash"], f"wfo.bash: {cmd} --{flag}")
                self.assertIn("--" + flag, scripts["_wfo"], f"_wfo: {cmd} --{flag}")
                self.assertIn("-l " + flag, scripts["wfo.fish"], f"wfo.fish: {cmd} --{flag}")


if __name__ == "__main__":
    unittest.main()
