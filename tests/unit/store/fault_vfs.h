// fault_vfs.h - Storage faults for the store tests without root: a SQLite VFS shim over the
// default (unix) VFS that, for files under one directory, fails the way a full, read-only or
// failing disk does; and, for the files the store writes itself (the acked-seq marks), failing
// entries in platform's file syscall table. Owns: the shim's registration (once, as the default
// VFS) and the armed faults. Never: touches files outside the watched directory, or changes what
// a clean run does (with nothing armed every call goes straight to the real VFS / system call).
#pragma once

#include <string>

namespace outpost::store::test {

enum class DiskFault : unsigned {
    none = 0,
    full = 1,       // a write that grows a file fails SQLITE_FULL (ENOSPC); rewrites in place succeed
    read_only = 2,  // opens for writing fall back to read-only as on EROFS (SQLite then answers
                    // SQLITE_READONLY), a new file cannot be created, writes fail SQLITE_READONLY
    eio_write = 4,  // every write fails SQLITE_IOERR_WRITE (EIO)
    eio_sync = 8,   // every fsync fails SQLITE_IOERR_FSYNC (EIO)
};

// Arms `faults` (DiskFault bits) for files under `dir` while alive; none armed on destruction.
// One at a time. Open the Store after constructing it (which file is watched is decided at open).
class FaultyDisk {
public:
    explicit FaultyDisk(std::string dir);
    ~FaultyDisk();
    FaultyDisk(const FaultyDisk&) = delete;
    FaultyDisk& operator=(const FaultyDisk&) = delete;

    void arm(DiskFault f);   // adds a fault
    void clear();            // the disk is healthy again
    unsigned failed_calls() const; // calls the shim failed since construction
};

// While alive, platform's file writes (write_file_atomic, append_write: the marks file) fail:
// write() with `write_errno` when non-zero, fsync with `sync_errno` when non-zero.
class FailingFileCalls {
public:
    FailingFileCalls(int write_errno, int sync_errno);
    ~FailingFileCalls(); // the real calls again
    FailingFileCalls(const FailingFileCalls&) = delete;
    FailingFileCalls& operator=(const FailingFileCalls&) = delete;
};

} // namespace outpost::store::test
