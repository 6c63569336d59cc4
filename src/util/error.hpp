#pragma once
// The one error value that travels through wfo (STYLE.md: expected failures are values).

#include <expected>
#include <string>

namespace wfo {

/// What kind of failure an Error is; the CLI maps each to an exit code (cli/exit_status.hpp).
enum class ErrorKind {
  usage,             ///< bad command line or refused request (exit 2)
  invalid_workflow,  ///< the workflow file is invalid (exit 2)
  state,             ///< the state database is unusable, or a run is held (exit 5)
  io,                ///< a file or process operation failed (exit 5 when it concerns state)
  internal,          ///< a broken invariant; a bug in wfo (exit 1)
  interrupted,       ///< SIGINT, SIGTERM or SIGHUP ended a wait that had changed nothing (exit 130)
};

/// A failure with an optional place in a file. `line` and `column` are 1-based; 0 means unknown.
/// `message` is lower case without a full stop (STYLE.md); `hint` says the way out, may be empty.
struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  std::string file;
  int line = 0;
  int column = 0;
  std::string hint;
};

/// Shorthand for the result type used throughout wfo.
template <typename T>
using Result = std::expected<T, Error>;

/// Builds an unexpected Error of `kind` with `message` (no location).
inline std::unexpected<Error> fail(ErrorKind kind, std::string message, std::string hint = {}) {
  return std::unexpected(Error{kind, std::move(message), {}, 0, 0, std::move(hint)});
}

}  // namespace wfo
