/* malloc_count.c - An LD_PRELOAD hook for tools/bench: counts the server's heap allocations.
 * Owns: one counter of malloc, calloc, realloc and posix_memalign calls (all threads).
 * SIGUSR1 sets it to zero; SIGUSR2 writes it to $MALLOC_COUNT_FILE. Used for "heap allocations per
 * echoed message" in steady state; glibc only (it forwards to __libc_malloc and friends), which is
 * fine for a benchmark tool and is why it is not in src/. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static atomic_ulong g_count;

void* malloc(size_t n) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    void* p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

static void on_reset(int sig) {
    (void)sig;
    atomic_store(&g_count, 0);
}
static void on_dump(int sig) {
    (void)sig;
    const char* path = getenv("MALLOC_COUNT_FILE");
    if (!path) return;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lu\n", (unsigned long)atomic_load(&g_count));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (write(fd, buf, (size_t)len) < 0) { /* nothing to do */ }
    close(fd);
}

__attribute__((constructor)) static void install(void) {
    signal(SIGUSR1, on_reset);
    signal(SIGUSR2, on_dump);
}
