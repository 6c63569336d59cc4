// An LD_PRELOAD library for bench/cpu_ab.py (issue 7): when the process exits normally, it
// appends "user_us system_us" of getrusage(RUSAGE_SELF) to the file named by $WFO_RUSAGE_OUT.
// RUSAGE_SELF counts every thread of the process (wfo's checkpoint and group-commit threads
// too) and none of its children, which `perf stat --no-inherit` cannot do: it drops threads.
// Children that inherit the library and the variable write nothing: the variable names the
// process that cpu_ab.py started (by pid, $WFO_RUSAGE_PID).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

__attribute__((destructor)) static void report(void) {
  const char* out = getenv("WFO_RUSAGE_OUT");
  const char* pid = getenv("WFO_RUSAGE_PID");
  if (!out || !pid || atol(pid) != (long)getpid()) return;
  struct rusage r;
  if (getrusage(RUSAGE_SELF, &r) != 0) return;
  char line[96];
  int n = snprintf(line, sizeof line, "%ld %ld\n",
                   (long)(r.ru_utime.tv_sec * 1000000L + r.ru_utime.tv_usec),
                   (long)(r.ru_stime.tv_sec * 1000000L + r.ru_stime.tv_usec));
  int fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t written = write(fd, line, (size_t)n);  // a short write loses this run's figure
  (void)written;
  close(fd);
}
