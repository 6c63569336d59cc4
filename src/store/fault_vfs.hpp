#pragma once
// Fault injection for the reliability tests (docs/reliability.md, "Fault injection"): an
// SQLite VFS that wraps the default one and fails chosen writes or syncs, as SQLite's own
// I/O-error tests do. It is registered only when the environment asks for it, so a normal
// run opens the database through the default VFS and pays nothing.
//
//   WFO_FAULT_WRITE=N    the N-th xWrite (counting from 1, over every file of the database:
//                        main file, WAL, journal) fails with SQLITE_IOERR_WRITE; later ones
//                        succeed (a one-off fault)
//   WFO_FAULT_WRITE=N+   the N-th and every later xWrite fails (a permanent fault)
//   WFO_FAULT_SYNC=N[+]  the same for xSync (SQLITE_IOERR_FSYNC)
//   WFO_FAULT_LOG=FILE   each injected failure appends `write N` or `sync N` to FILE
//
// Other values are ignored. Counts are per process.

namespace wfo::store {

/// Returns the name of the fault-injecting VFS, registering it on the first call, when
/// WFO_FAULT_WRITE or WFO_FAULT_SYNC holds a valid value; nullptr otherwise (use the
/// default VFS). Thread-safe. Errors: none (a VFS that cannot be registered gives nullptr).
const char* fault_vfs_from_env();

}  // namespace wfo::store
