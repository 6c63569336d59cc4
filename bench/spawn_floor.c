// The spawn floor: the wall time of running `sh -c true` N times, at most J at once, with
// posix_spawn and waitpid and nothing else. A runner's per-task overhead is its wall time
// minus this, divided by N, at the same concurrency (issue 7).
//
// Usage: spawn_floor N J    prints "N J seconds"
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char** environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: spawn_floor N J\n");
    return 2;
  }
  long n = atol(argv[1]);
  long j = atol(argv[2]);
  if (n < 1 || j < 1) return 2;
  char* child[] = {"/bin/sh", "-c", "true", NULL};
  double start = now();
  long started = 0, running = 0;
  while (started < n || running > 0) {
    while (started < n && running < j) {
      pid_t pid;
      if (posix_spawn(&pid, "/bin/sh", NULL, NULL, child, environ) != 0) {
        perror("posix_spawn");
        return 1;
      }
      ++started;
      ++running;
    }
    int status;
    if (waitpid(-1, &status, 0) > 0) --running;
  }
  printf("%ld %ld %.6f\n", n, j, now() - start);
  return 0;
}
