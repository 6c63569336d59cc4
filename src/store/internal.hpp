#pragma once
// Private to the store: what sqlite_run_store.cpp and commit.cpp share.

#include <string>

#include "util/error.hpp"

namespace wfo::store {

/// The error every SQLite failure becomes: `state database 'PATH': WHAT`, exit code 5, with
/// the way out that fits `what` (sqlite3_errstr's text of the error code).
inline Error state_error(const std::string& path, const std::string& what) {
  std::string hint = "check the file, or point --state / WFO_STATE at another database";
  if (what == "database is locked")
    hint = "another process holds a write lock on it; try again when it is done";
  else if (what == "attempt to write a readonly database")
    hint = "make the file and its folder writable, or point --state / WFO_STATE at another one";
  else if (what == "unable to open database file")
    hint =
        "make the file and its folder writable (SQLite keeps its -wal and -shm files "
        "beside it), or point --state / WFO_STATE at another database";
  else if (what == "disk I/O error")
    hint = "fix the disk (space, errors), then resume the run: what was committed is kept";
  return Error{ErrorKind::state, "state database '" + path + "': " + what, {}, 0, 0,
               std::move(hint)};
}

}  // namespace wfo::store
