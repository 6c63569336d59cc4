// SignalGuard and the pending-signal flag. Invariant while a guard lives: SIGINT, SIGTERM,
// SIGHUP and SIGCHLD are blocked everywhere except inside ProcessSet::wait's ppoll(2), so the
// handlers run only there and reading or clearing the flag elsewhere cannot race with them.

#include <pthread.h>
#include <signal.h>

#include "process/process.hpp"

namespace wfo::process {

namespace {

volatile sig_atomic_t g_pending_signal = 0;

// Order matters: the first four are blocked, the last is ignored (see SignalGuard).
constexpr int k_guarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE};

extern "C" void on_signal(int signal) {
  // SIGCHLD needs no flag: its only job is to interrupt ppoll so wait() looks for exits.
  if (signal != SIGCHLD) g_pending_signal = signal;
}

}  // namespace

SignalGuard::SignalGuard() {
  static_assert(std::size(k_guarded_signals) == k_signal_count);
  sigset_t blocked;
  sigemptyset(&blocked);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&blocked, signal);
  pthread_sigmask(SIG_BLOCK, &blocked, &m_old_mask);

  struct sigaction action = {};
  sigemptyset(&action.sa_mask);
  for (int i = 0; i < k_signal_count; ++i) {
    int signal = k_guarded_signals[i];
    action.sa_handler = signal == SIGPIPE ? SIG_IGN : on_signal;
    // Stopped children also raise SIGCHLD; they are not exits, so do not wake for them.
    action.sa_flags = signal == SIGCHLD ? SA_NOCLDSTOP : 0;
    sigaction(signal, &action, &m_old_actions[i]);
  }
}

SignalGuard::~SignalGuard() {
  // Handlers first: a signal still pending when the mask is restored then meets the old
  // disposition, as if this guard had never existed.
  for (int i = 0; i < k_signal_count; ++i) {
    sigaction(k_guarded_signals[i], &m_old_actions[i], nullptr);
  }
  pthread_sigmask(SIG_SETMASK, &m_old_mask, nullptr);
}

int take_pending_signal() {
  int signal = g_pending_signal;
  g_pending_signal = 0;
  return signal;
}

}  // namespace wfo::process
