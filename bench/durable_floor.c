// The durable floor: the spawn floor (spawn_floor.c) plus what wfo's contract adds to every
// task, and nothing else: before each task starts, an empty file for its outputs (the spec's
// $WFO_OUTPUT; one per task running at once, emptied in place for the next, as wfo does
// since 754ae52, or a new file per task with `fresh-files`), and after it ends the file is
// opened again to read it;
// its end is committed to SQLite (WAL, synchronous=NORMAL) in one transaction that upserts
// a task row and an attempt row and inserts two event rows, as wfo's default durability
// commits a task's attempt. A chain (J=1) commits each end before the next start, as the
// spec's "a dependent never starts before its need's success is recorded" requires.
// Comparing a runner with this floor separates the contract's cost from the runner's own.
//
// Usage: durable_floor N J DIR [no-file] [fresh-files] [no-commit] [full]
//   DIR gets floor.db and the output files (DIR must not exist yet).
//   `full` commits with synchronous=FULL, an fsync per commit, as `--durability full`.
//   Prints "N J seconds".
#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sqlite3* db;

static void check(int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "durable_floor: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

static sqlite3_stmt* prepare(const char* sql) {
  sqlite3_stmt* st = NULL;
  check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL), sql);
  return st;
}

static void run(sqlite3_stmt* st) {
  check(sqlite3_step(st), sqlite3_sql(st));
  sqlite3_reset(st);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: durable_floor N J DIR [no-file] [fresh-files] [no-commit] [full]\n");
    return 2;
  }
  long n = atol(argv[1]);
  long j = atol(argv[2]);
  const char* dir = argv[3];
  int files = 1, fresh = 0, commits = 1, full = 0;
  for (int a = 4; a < argc; ++a) {
    if (strcmp(argv[a], "no-file") == 0) files = 0;
    if (strcmp(argv[a], "fresh-files") == 0) fresh = 1;
    if (strcmp(argv[a], "no-commit") == 0) commits = 0;
    if (strcmp(argv[a], "full") == 0) full = 1;
  }
  if (n < 1 || j < 1 || mkdir(dir, 0700) != 0) {
    perror(dir);
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/floor.db", dir);
  if (sqlite3_open(path, &db) != SQLITE_OK) return 1;
  check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE tasks(run_id TEXT, id TEXT, status TEXT, updated_at INTEGER,"
                     " PRIMARY KEY(run_id, id));"
                     "CREATE TABLE attempts(run_id TEXT, task_id TEXT, number INTEGER,"
                     " status TEXT, started_at INTEGER, ended_at INTEGER, exit_code INTEGER,"
                     " PRIMARY KEY(run_id, task_id, number));"
                     "CREATE TABLE events(id INTEGER PRIMARY KEY, run_id TEXT, at INTEGER,"
                     " task_id TEXT, attempt INTEGER, kind TEXT, detail TEXT);",
                     NULL, NULL, NULL),
        "schema");
  if (full) check(sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL), "full");
  sqlite3_stmt* begin = prepare("BEGIN IMMEDIATE");
  sqlite3_stmt* commit = prepare("COMMIT");
  sqlite3_stmt* task = prepare(
      "INSERT INTO tasks VALUES('r', ?1, 'succeeded', ?2) ON CONFLICT(run_id, id) DO UPDATE"
      " SET status=excluded.status, updated_at=excluded.updated_at");
  sqlite3_stmt* attempt = prepare(
      "INSERT INTO attempts VALUES('r', ?1, 1, 'succeeded', ?2, ?2, 0) ON CONFLICT(run_id,"
      " task_id, number) DO UPDATE SET status=excluded.status, ended_at=excluded.ended_at");
  sqlite3_stmt* event =
      prepare("INSERT INTO events(run_id, at, task_id, attempt, kind) VALUES('r', ?2, ?1, 1, ?3)");

  char* child[] = {"/bin/sh", "-c", "true", NULL};
  pid_t* pids = calloc((size_t)n, sizeof(pid_t));
  long* slot_of = calloc((size_t)n, sizeof(long));  // task -> its output slot
  char* busy = calloc((size_t)j, 1);                // slot -> held by a running task
  double start = now();
  long started = 0, running = 0;
  while (started < n || running > 0) {
    while (started < n && running < j) {
      if (files && fresh) {
        snprintf(path, sizeof path, "%s/t%ld.1.out", dir, started);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
          perror(path);
          return 1;
        }
        close(fd);
      } else if (files) {
        // The lowest free slot's file, emptied in place: what wfo's reset_empty_file does.
        long slot = 0;
        while (busy[slot]) ++slot;
        busy[slot] = 1;
        slot_of[started] = slot;
        snprintf(path, sizeof path, "%s/output-slot-%ld", dir, slot);
        int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
          perror(path);
          return 1;
        }
        if (st.st_size > 0 && ftruncate(fd, 0) != 0) {
          perror(path);
          return 1;
        }
        close(fd);
      }
      if (posix_spawn(&pids[started], "/bin/sh", NULL, NULL, child, environ) != 0) {
        perror("posix_spawn");
        return 1;
      }
      ++started;
      ++running;
    }
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid <= 0) continue;
    --running;
    // From the newest back: the reaped task is among the last J started, so the floor
    // pays no scan that grows with N (a search from 0 was O(N) a task).
    long t = started - 1;
    while (t > 0 && pids[t] != pid) --t;
    char id[32];
    snprintf(id, sizeof id, "t%ld", t);
    if (files) {
      if (fresh)
        snprintf(path, sizeof path, "%s/t%ld.1.out", dir, t);
      else
        snprintf(path, sizeof path, "%s/output-slot-%ld", dir, slot_of[t]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      struct stat st;
      if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        return 1;
      }
      close(fd);
      if (!fresh) busy[slot_of[t]] = 0;
    }
    if (commits) {
      sqlite3_int64 at = (sqlite3_int64)(now() * 1000);
      run(begin);
      sqlite3_bind_text(task, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(task, 2, at);
      run(task);
      sqlite3_bind_text(attempt, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(attempt, 2, at);
      run(attempt);
      for (int k = 0; k < 2; ++k) {
        sqlite3_bind_text(event, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(event, 2, at);
        sqlite3_bind_text(event, 3, k == 0 ? "attempt_succeeded" : "task_succeeded", -1,
                          SQLITE_STATIC);
        run(event);
      }
      run(commit);
    }
  }
  printf("%ld %ld %.6f\n", n, j, now() - start);
  free(pids);
  free(slot_of);
  free(busy);
  return 0;
}
