#pragma once
// The SQLite VFS wfo opens its state database through: a thin layer over the default VFS
// ("unix") that does two things.
//
// Gathers each transaction's WAL frames into one write (issue 7). SQLite writes a frame as
// two pwrite calls, its 24-byte header and then its page (walWriteOneFrame in SQLite's
// wal.c), so a task's commit of three frames made six system calls on the path from a
// task's exit to the next spawn. The layer keeps writes to the WAL that continue one
// another in a buffer and writes them at once when the page of the commit frame comes (the
// frame whose header has a non-zero "size of the database after the commit", bytes 4-7:
// SQLite's file format, "WAL Frame Format"). So the whole transaction is in the file before
// SQLite publishes the commit in the WAL index, and a failure of that write is the commit
// frame's own: SQLite rolls the transaction back, as it did for a failed pwrite. Anything
// gathered is also written before any other use of the WAL (a read, a sync, its size, a
// truncation, its close) and of the database's shared memory (the WAL index's locks and
// barriers), so no reader, checkpoint or sync can see the file without it.
//
// Fails chosen writes or syncs, for the reliability tests (docs/reliability.md, "Faults"),
// as SQLite's own I/O-error tests do:
//
//   WFO_FAULT_WRITE=N    the N-th write that reaches a file (counting from 1, over every
//                        file of the database: main file, WAL, journal; a gathered WAL write
//                        counts once) fails with SQLITE_IOERR_WRITE; later ones succeed (a
//                        one-off fault)
//   WFO_FAULT_WRITE=N+   the N-th and every later write fails (a permanent fault)
//   WFO_FAULT_SYNC=N[+]  the same for xSync (SQLITE_IOERR_FSYNC)
//   WFO_FAULT_LOG=FILE   each injected failure appends `write N` or `sync N` to FILE
//
// Other values are ignored. Counts are per process.

namespace wfo::store {

/// Returns the name of wfo's VFS ("wfo"), registering it over the default VFS on the first
/// call, which also reads WFO_FAULT_* from the environment. Thread-safe. Errors: none; when
/// the VFS cannot be registered, returns nullptr (SQLite's default VFS: no gathering and no
/// faults).
const char* state_vfs();

}  // namespace wfo::store
