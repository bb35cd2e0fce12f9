// schema.h - Opening the database file: integrity check and quarantine, pragmas, forward migrations.
// Owns: the schema (PRAGMA user_version + the ordered list of migration steps).
// Never: writes outside the database's directory, or downgrades a newer schema.
#pragma once

#include <string>

#include "store/done.h"
#include "store/sqlite_db.h"

namespace outpost::store {

// The schema version this build migrates to.
int schema_version_latest();

// Opens the writer connection at `path`: quick_check (quarantining a corrupt file as
// <path>.corrupt-<UTC>, with -wal/-shm beside it, then starting fresh), WAL, synchronous,
// busy_timeout and the SD-card friendly limits, then every pending migration.
Done open_writer(Db& db, const std::string& path, bool synchronous_full);

// Opens the loop thread's connection: same file, query_only, its own small cache.
Done open_reader(Db& db, const std::string& path);

// Renames path (+ -wal, -shm) to path.corrupt-<stamp>; returns the new main file name ("" on failure).
std::string quarantine(const std::string& path);

} // namespace outpost::store
