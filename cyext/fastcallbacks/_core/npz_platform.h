/* Portable threads, locks and positional file I/O for the npz writer.
 *
 * POSIX (pthreads, pwrite) and Windows (SRW locks, condition variables,
 * _lseeki64/_write). Every function returns 0 or an errno value and never
 * touches Python objects, so all of them may run without the GIL.
 */
#ifndef FASTCALLBACKS_NPZ_PLATFORM_H
#define FASTCALLBACKS_NPZ_PLATFORM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef void (*fc_thread_fn)(void *);

#ifdef _WIN32
#include <windows.h>
#include <io.h>
#include <stdio.h>

typedef SRWLOCK fc_mutex_t;
typedef CONDITION_VARIABLE fc_cond_t;
typedef HANDLE fc_thread_t;

static void fc_mutex_init(fc_mutex_t *m) { InitializeSRWLock(m); }
static void fc_mutex_destroy(fc_mutex_t *m) { (void)m; }
static void fc_mutex_lock(fc_mutex_t *m) { AcquireSRWLockExclusive(m); }
static void fc_mutex_unlock(fc_mutex_t *m) { ReleaseSRWLockExclusive(m); }
static void fc_cond_init(fc_cond_t *c) { InitializeConditionVariable(c); }
static void fc_cond_destroy(fc_cond_t *c) { (void)c; }
static void fc_cond_wait(fc_cond_t *c, fc_mutex_t *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
static void fc_cond_broadcast(fc_cond_t *c) { WakeAllConditionVariable(c); }

typedef struct { fc_thread_fn fn; void *arg; } fc_trampoline_t;

static DWORD WINAPI fc_trampoline(LPVOID p) {
    fc_trampoline_t t = *(fc_trampoline_t *)p;
    free(p);
    t.fn(t.arg);
    return 0;
}

static int fc_thread_start(fc_thread_t *th, fc_thread_fn fn, void *arg) {
    fc_trampoline_t *t = (fc_trampoline_t *)malloc(sizeof *t);
    if (t == NULL) return ENOMEM;
    t->fn = fn;
    t->arg = arg;
    *th = CreateThread(NULL, 0, fc_trampoline, t, 0, NULL);
    if (*th == NULL) { free(t); return EAGAIN; }
    return 0;
}

static void fc_thread_join(fc_thread_t th) {
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
}

static int fc_pwrite_all(int fd, const void *buf, size_t n, int64_t off) {
    const char *p = (const char *)buf;
    while (n > 0) {
        unsigned int k = n > (1u << 30) ? (1u << 30) : (unsigned int)n;
        int w;
        if (_lseeki64(fd, off, SEEK_SET) < 0) return errno ? errno : EIO;
        w = _write(fd, p, k);
        if (w < 0) return errno ? errno : EIO;
        if (w == 0) return ENOSPC;
        p += w; n -= (size_t)w; off += w;
    }
    return 0;
}

static int fc_truncate(int fd, int64_t size) { return _chsize_s(fd, size); }
static int fc_datasync(int fd) { return _commit(fd) == 0 ? 0 : (errno ? errno : EIO); }
static void fc_preallocate(int fd, int64_t off, int64_t len) { (void)fd; (void)off; (void)len; }

#else /* POSIX */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

typedef pthread_mutex_t fc_mutex_t;
typedef pthread_cond_t fc_cond_t;
typedef pthread_t fc_thread_t;

static void fc_mutex_init(fc_mutex_t *m) { pthread_mutex_init(m, NULL); }
static void fc_mutex_destroy(fc_mutex_t *m) { pthread_mutex_destroy(m); }
static void fc_mutex_lock(fc_mutex_t *m) { pthread_mutex_lock(m); }
static void fc_mutex_unlock(fc_mutex_t *m) { pthread_mutex_unlock(m); }
static void fc_cond_init(fc_cond_t *c) { pthread_cond_init(c, NULL); }
static void fc_cond_destroy(fc_cond_t *c) { pthread_cond_destroy(c); }
static void fc_cond_wait(fc_cond_t *c, fc_mutex_t *m) { pthread_cond_wait(c, m); }
static void fc_cond_broadcast(fc_cond_t *c) { pthread_cond_broadcast(c); }

typedef struct { fc_thread_fn fn; void *arg; } fc_trampoline_t;

static void *fc_trampoline(void *p) {
    fc_trampoline_t t = *(fc_trampoline_t *)p;
    free(p);
    t.fn(t.arg);
    return NULL;
}

static int fc_thread_start(fc_thread_t *th, fc_thread_fn fn, void *arg) {
    int rc;
    fc_trampoline_t *t = (fc_trampoline_t *)malloc(sizeof *t);
    if (t == NULL) return ENOMEM;
    t->fn = fn;
    t->arg = arg;
    rc = pthread_create(th, NULL, fc_trampoline, t);
    if (rc != 0) free(t);
    return rc;
}

static void fc_thread_join(fc_thread_t th) { pthread_join(th, NULL); }

static int fc_pwrite_all(int fd, const void *buf, size_t n, int64_t off) {
    const char *p = (const char *)buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno ? errno : EIO;
        }
        if (w == 0) return ENOSPC;
        p += w; n -= (size_t)w; off += w;
    }
    return 0;
}

static int fc_truncate(int fd, int64_t size) {
    return ftruncate(fd, (off_t)size) == 0 ? 0 : (errno ? errno : EIO);
}

static int fc_datasync(int fd) {
#if defined(__linux__)
    return fdatasync(fd) == 0 ? 0 : (errno ? errno : EIO);
#else
    return fsync(fd) == 0 ? 0 : (errno ? errno : EIO);
#endif
}

#if defined(__linux__)
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
/* Best effort: reserves blocks past EOF without moving it (ext4, xfs). */
static void fc_preallocate(int fd, int64_t off, int64_t len) {
    (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}
#else
static void fc_preallocate(int fd, int64_t off, int64_t len) { (void)fd; (void)off; (void)len; }
#endif

#endif /* _WIN32 */

/* Large blocks (queued copies of members). On Linux: an anonymous map whose
 * start is 2 MiB aligned, with transparent huge pages requested for its
 * whole 2 MiB units, so a fresh block faults in 2 MiB at a time: copying
 * 40 MB into fresh 4 KiB pages ran at a third of the speed of copying into
 * reused memory, into fresh huge pages at 0.7 of it. `*mapped` is the map's
 * length for fc_big_free (0: the block came from malloc). */
#define FC_BIG_MIN ((size_t)2 << 20)
#if defined(__linux__)
#include <sys/mman.h>
static void *fc_big_alloc(size_t n, size_t *mapped) {
    size_t unit = FC_BIG_MIN, len, span, head, tail;
    uintptr_t start;
    char *p;
    *mapped = 0;
    if (n < unit)
        return malloc(n);
    if (n > SIZE_MAX / 2)   /* no block that large: and the rounding below cannot wrap */
        return NULL;
    len = (n + 4095) & ~(size_t)4095;
    span = len + unit;
    p = (char *)mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == (char *)MAP_FAILED)
        return malloc(n);
    start = ((uintptr_t)p + unit - 1) & ~(uintptr_t)(unit - 1);
    head = (size_t)(start - (uintptr_t)p);
    tail = span - head - len;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((char *)start + len, tail);
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)start, len & ~(unit - 1), MADV_HUGEPAGE);
#endif
    *mapped = len;
    return (void *)start;
}
static void fc_big_free(void *p, size_t mapped) {
    if (mapped)
        munmap(p, mapped);
    else
        free(p);
}
#else
static void *fc_big_alloc(size_t n, size_t *mapped) { *mapped = 0; return malloc(n); }
static void fc_big_free(void *p, size_t mapped) { (void)mapped; free(p); }
#endif
#endif /* FASTCALLBACKS_NPZ_PLATFORM_H */
