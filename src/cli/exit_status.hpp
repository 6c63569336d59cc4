#pragma once
// Exit codes, in one place (spec: Exit codes; ninja's exit_status.h).

#include "util/error.hpp"

namespace wfo {

enum ExitStatus : int {
  k_exit_succeeded = 0,
  k_exit_failed = 1,
  k_exit_usage = 2,  ///< bad usage or invalid workflow
  k_exit_waiting_approval = 3,
  k_exit_cancelled = 4,
  k_exit_state = 5,  ///< state database unusable, or the run is held by another live wfo
  k_exit_interrupted = 130,
};

/// The exit code for an error of `kind`.
inline int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage:
    case ErrorKind::invalid_workflow:
      return k_exit_usage;
    case ErrorKind::state:
    case ErrorKind::io:
      return k_exit_state;
    case ErrorKind::internal:
      return k_exit_failed;
    case ErrorKind::interrupted:
      return k_exit_interrupted;
  }
  return k_exit_failed;
}

}  // namespace wfo
