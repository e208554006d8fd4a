# Portable threads, locks and file I/O of the fastcallbacks core
# (npz_platform.h: POSIX or Win32), shared by npzwriter.pyx and snapshot.pyx.
from libc.stdint cimport int64_t


cdef extern from "npz_platform.h" nogil:
    ctypedef struct fc_mutex_t:
        pass
    ctypedef struct fc_cond_t:
        pass
    ctypedef struct fc_thread_t:
        pass
    ctypedef void (*fc_thread_fn)(void*) noexcept nogil
    void fc_mutex_init(fc_mutex_t*)
    void fc_mutex_destroy(fc_mutex_t*)
    void fc_mutex_lock(fc_mutex_t*)
    void fc_mutex_unlock(fc_mutex_t*)
    void fc_cond_init(fc_cond_t*)
    void fc_cond_destroy(fc_cond_t*)
    void fc_cond_wait(fc_cond_t*, fc_mutex_t*)
    void fc_cond_broadcast(fc_cond_t*)
    int fc_thread_start(fc_thread_t*, fc_thread_fn, void*)
    void fc_thread_join(fc_thread_t)
    int fc_pwrite_all(int fd, const void* buf, size_t n, int64_t off)
    int fc_truncate(int fd, int64_t size)
    int fc_datasync(int fd)
    void fc_preallocate(int fd, int64_t off, int64_t length)
    void* fc_big_alloc(size_t n, size_t* mapped)
    void fc_big_free(void* p, size_t mapped)
