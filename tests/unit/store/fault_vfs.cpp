// fault_vfs.cpp - The fault-injecting SQLite VFS shim of fault_vfs.h: every method forwards to
// the real default VFS; for files opened under the watched directory the armed faults answer
// first, with the result codes the unix VFS gives for ENOSPC, EROFS and EIO. And the failing
// entries FailingFileCalls puts in platform's file syscall table.
#include "fault_vfs.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "platform/platform.h"

namespace outpost::store::test {
namespace {

std::atomic<unsigned> g_faults{0};
std::atomic<unsigned> g_failed{0};
std::mutex g_dir_mu;
std::string g_dir; // watched directory with a trailing '/'; empty: nothing watched
sqlite3_vfs* g_real = nullptr;

struct ShimFile {
    sqlite3_file base;
    bool watched;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

ShimFile* shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* real(sqlite3_file* f) { return shim(f)->real(); }

bool armed(sqlite3_file* f, DiskFault d) {
    return shim(f)->watched && (g_faults.load() & static_cast<unsigned>(d)) != 0;
}

int fail(int rc) {
    g_failed.fetch_add(1);
    return rc;
}

bool watched_path(const char* name) {
    if (!name) return false;
    std::lock_guard lk(g_dir_mu);
    return !g_dir.empty() && std::strncmp(name, g_dir.c_str(), g_dir.size()) == 0;
}

int x_close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) { return real(f)->pMethods->xRead(real(f), p, n, off); }

int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
    if (armed(f, DiskFault::eio_write)) return fail(SQLITE_IOERR_WRITE);
    if (armed(f, DiskFault::read_only)) return fail(SQLITE_READONLY);
    if (armed(f, DiskFault::full)) {
        sqlite3_int64 size = 0;
        int rc = real(f)->pMethods->xFileSize(real(f), &size);
        if (rc != SQLITE_OK) return rc;
        if (off + n > size) return fail(SQLITE_FULL);
    }
    return real(f)->pMethods->xWrite(real(f), p, n, off);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (armed(f, DiskFault::read_only)) return fail(SQLITE_READONLY);
    return real(f)->pMethods->xTruncate(real(f), size);
}

int x_sync(sqlite3_file* f, int flags) {
    if (armed(f, DiskFault::eio_sync)) return fail(SQLITE_IOERR_FSYNC);
    return real(f)->pMethods->xSync(real(f), flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* out) { return real(f)->pMethods->xFileSize(real(f), out); }
int x_lock(sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); }
int x_unlock(sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); }
int x_check_reserved(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
int x_file_control(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }
int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shm_map(sqlite3_file* f, int pg, int sz, int extend, void volatile** pp) {
    return real(f)->pMethods->xShmMap(real(f), pg, sz, extend, pp);
}
int x_shm_lock(sqlite3_file* f, int off, int n, int flags) { return real(f)->pMethods->xShmLock(real(f), off, n, flags); }
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); }
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** pp) { return real(f)->pMethods->xFetch(real(f), off, n, pp); }
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return real(f)->pMethods->xUnfetch(real(f), off, p); }

const sqlite3_io_methods kMethods = {
    3,           x_close,     x_read,     x_write,     x_truncate,    x_sync,    x_file_size,
    x_lock,      x_unlock,    x_check_reserved, x_file_control, x_sector_size, x_device,
    x_shm_map,   x_shm_lock,  x_shm_barrier, x_shm_unmap, x_fetch,    x_unfetch,
};

bool exists(const char* name) {
    struct stat st;
    return ::stat(name, &st) == 0;
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    ShimFile* s = shim(f);
    s->base.pMethods = nullptr;
    s->watched = watched_path(name);
    if (s->watched && (g_faults.load() & static_cast<unsigned>(DiskFault::read_only)) &&
        (flags & SQLITE_OPEN_READWRITE)) {
        // EROFS: the unix VFS retries read-only; a file that does not exist cannot be created.
        if (!exists(name)) return fail(SQLITE_CANTOPEN);
        flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
    }
    int rc = g_real->xOpen(g_real, name, s->real(), flags, out_flags);
    if (rc != SQLITE_OK) {
        if (s->real()->pMethods) s->real()->pMethods->xClose(s->real());
        return rc;
    }
    s->base.pMethods = &kMethods;
    return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    if (watched_path(name) && (g_faults.load() & static_cast<unsigned>(DiskFault::read_only)))
        return fail(SQLITE_IOERR_DELETE);
    return g_real->xDelete(g_real, name, sync_dir);
}

void install_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        static sqlite3_vfs vfs;
        g_real = sqlite3_vfs_find(nullptr);
        vfs = *g_real;
        vfs.zName = "outpost-faulty-disk";
        vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_real->szOsFile;
        vfs.pNext = nullptr;
        vfs.xOpen = x_open;
        vfs.xDelete = x_delete;
        sqlite3_vfs_register(&vfs, 1);
    });
}

} // namespace

FaultyDisk::FaultyDisk(std::string dir) {
    install_once();
    g_faults = 0;
    g_failed = 0;
    std::lock_guard lk(g_dir_mu);
    g_dir = dir.empty() || dir.back() == '/' ? dir : dir + "/";
}

FaultyDisk::~FaultyDisk() {
    g_faults = 0;
    std::lock_guard lk(g_dir_mu);
    g_dir.clear();
}

void FaultyDisk::arm(DiskFault f) { g_faults.fetch_or(static_cast<unsigned>(f)); }
void FaultyDisk::clear() { g_faults = 0; }
unsigned FaultyDisk::failed_calls() const { return g_failed.load(); }

namespace {
std::atomic<int> g_write_errno{0}, g_sync_errno{0};
long failing_write(int, const void*, size_t) {
    errno = g_write_errno.load();
    return -1;
}
int failing_sync(int) {
    errno = g_sync_errno.load();
    return -1;
}
} // namespace

FailingFileCalls::FailingFileCalls(int write_errno, int sync_errno) {
    g_write_errno = write_errno;
    g_sync_errno = sync_errno;
    if (write_errno) platform::file_syscalls().write = failing_write;
    if (sync_errno) platform::file_syscalls().sync = failing_sync;
}

FailingFileCalls::~FailingFileCalls() { platform::file_syscalls_reset(); }

} // namespace outpost::store::test
