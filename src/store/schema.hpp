#pragma once
// The state database's schema: version 1, then what each later version adds. Times are RFC 3339 UTC
// text with milliseconds (sortable as text); JSON columns hold objects or arrays as text.

namespace wfo::schema {

inline constexpr const char* k_v1 = R"sql(
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,            -- creation order, for 'newest first'
  workflow TEXT NOT NULL,
  workflow_file TEXT NOT NULL,
  source_dir TEXT NOT NULL,
  workflow_text TEXT NOT NULL,     -- empty since version 4: see run_texts (k_v4)
  workflow_hash TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  started_by TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  max_parallel INTEGER NOT NULL,
  deadline TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  subflow_texts TEXT NOT NULL DEFAULT '{}'  -- sub-workflow file texts by key (issue 5)
);
CREATE INDEX runs_by_seq ON runs(seq);
CREATE INDEX runs_by_status ON runs(status, seq);
CREATE TABLE tasks (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  status TEXT NOT NULL,
  budget_base INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  ended_at TEXT,
  next_attempt_at TEXT,
  finish_seq INTEGER NOT NULL DEFAULT 0,
  item TEXT,                       -- a for_each instance's element as JSON (issue 5)
  PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;
CREATE TABLE attempts (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  handle TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  exit_code INTEGER,
  signal INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  log_path TEXT NOT NULL DEFAULT '',
  delay_ms INTEGER NOT NULL DEFAULT 0,
  delay_reason TEXT NOT NULL DEFAULT '',
  cpu_user_ms INTEGER NOT NULL DEFAULT 0,
  cpu_system_ms INTEGER NOT NULL DEFAULT 0,
  max_rss_kb INTEGER NOT NULL DEFAULT 0,
  outputs TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, task_id, number)
) WITHOUT ROWID;
CREATE TABLE gates (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  gate_when TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  approvers TEXT NOT NULL DEFAULT '[]',
  min_approvals INTEGER NOT NULL DEFAULT 1,
  prevent_self INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  deadline TEXT,
  on_timeout TEXT NOT NULL DEFAULT 'reject',
  round INTEGER NOT NULL DEFAULT 1,
  decided_by TEXT,
  decided_at TEXT,
  comment TEXT NOT NULL DEFAULT '',
  inputs_spec TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;
CREATE TABLE breakers (
  run_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  open_until TEXT,
  PRIMARY KEY (run_id, agent)
) WITHOUT ROWID;
CREATE TABLE decisions (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  user TEXT NOT NULL,
  decision TEXT NOT NULL,
  at TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  inputs TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX decisions_by_gate ON decisions(run_id, task_id);
CREATE TABLE events (  -- without the index below since version 3 (k_v3)
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  at TEXT NOT NULL,
  task_id TEXT NOT NULL DEFAULT '',
  attempt INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_run ON events(run_id, id);
)sql";

/// Version 2 (issue 7): the run's task graph as `wfo status` draws it (cli/status_tree.hpp),
/// so that status need not parse the workflow again. Empty for runs made by version 1.
inline constexpr const char* k_v2 = "ALTER TABLE runs ADD COLUMN dag TEXT NOT NULL DEFAULT ''";

/// Version 3 (issue 7): no index on `events`. Every transition writes events, and the index
/// was a second B-tree, so a second page in each transaction (a quarter of what a task's
/// commit wrote, 8% of `wfo run`'s instructions) for a trail that no command reads. Reading
/// one run's events (`WHERE run_id=? ORDER BY id`) now scans the table, in id order.
inline constexpr const char* k_v3 = "DROP INDEX IF EXISTS events_by_run";

/// Version 4 (issue 7): a run's texts in their own table. SQLite writes a row whole whenever
/// any of its columns changes, overflow pages and all, so with the texts in `runs` every
/// change of a run's status (start, resume, a gate's wait, the end) rewrote the workflow
/// file, its sub-workflows and its DAG, and zeroed the pages they left (Debian's SQLite has
/// secure_delete on): about 10 MB through the WAL for the 100,000-task file (4.9 MB of text).
/// The columns stay in `runs`, empty.
inline constexpr const char* k_v4 = R"sql(
CREATE TABLE run_texts (
  run_id TEXT PRIMARY KEY,
  workflow_text TEXT NOT NULL,
  subflow_texts TEXT NOT NULL DEFAULT '{}',
  dag TEXT NOT NULL DEFAULT ''
);
INSERT INTO run_texts(run_id, workflow_text, subflow_texts, dag)
  SELECT id, workflow_text, subflow_texts, dag FROM runs;
UPDATE runs SET workflow_text='', subflow_texts='{}', dag='';
)sql";

}  // namespace wfo::schema
