"""Streaming `.npz` writer: a native background thread writes the members.

Same file layout, byte for byte, as the reference
`fastcallbacks._reference.npzwriter` (read its module docstring for the
layout and why a kill at any moment leaves a loadable file). Here the
writer thread is a plain OS thread that never takes the GIL: it only sees
memory this module allocated, or the caller's array while the caller is
blocked in `add(copy=False)`.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset

cimport cython
cimport numpy as cnp
import os

import numpy as np

from .. import _forks
from .. import _npzformat as fmt

cnp.import_array()

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

cdef extern from "fc_deflate.h" nogil:
    uint32_t fc_crc32(uint32_t crc, const void* buf, size_t n)
    ctypedef struct fc_deflater:
        pass
    fc_deflater* fc_deflater_new()
    void fc_deflater_free(fc_deflater*)
    size_t fc_deflate(fc_deflater*, const void* src, size_t n, void* out, size_t cap)
    const char* FC_DEFLATE_NAME

DEFLATE_LEVEL = 1
# "<library> <version>": the deflate and CRC-32 library this module was
# built with (ISA-L, libdeflate or zlib: see setup.py).
DEFLATE_LIBRARY = FC_DEFLATE_NAME.decode()

# Same constants as the reference (see fastcallbacks._npzformat).
cdef enum:
    ALIGN = 64
    PAGE = 4096
    END_MAX = 98             # zip64 end record + locator + end record
    CHUNK = 1 << 20          # CRC each chunk just before writing it (L2-hot)
    COPY_CHUNK = 64 << 10    # copy, then CRC, this much at a time (L1/L2-hot)
    GIL_COPY = 16 << 20      # copies up to this size keep the GIL (see _add)
    STREAM_MIN = 2 << 20     # stored copies this large are written while copied
    PROBE = 64 << 10         # deflate this much first to see if it pays

cdef int64_t ZIP64_LIMIT = 0x7FFFFFFF
cdef int64_t COUNT_LIMIT = 0xFFFF
cdef int64_t PREALLOC_STEP = 64 << 20

cdef enum:
    JOB_MEMBER = 0
    JOB_SYNC = 1
    JOB_CLOSE = 2

# Compression state of a member job (compress=True): two native threads (the
# writer and a helper) deflate queued members, claiming them in queue order;
# the writer writes them in queue order.
cdef enum:
    Z_PENDING = 0
    Z_BUSY = 1
    Z_DONE = 2
    MAX_AHEAD = 4            # members claimed but not yet written
    MAX_HELPERS = 4          # deflating threads besides the writer
    ZCACHE = 6               # deflate output buffers kept for reuse


cdef struct job_t:
    job_t* next
    int kind
    char* name               # UTF-8 member name (in this job's block)
    size_t name_len
    char* header             # .npy header, followed by the data when copied
    size_t header_len
    const char* data         # the array's bytes (copied, or the caller's)
    size_t data_len
    int64_t cost             # bytes counted against the queue limit
    size_t cap               # bytes of the block after this struct
    size_t mapped            # the block's map length (0: from malloc)
    bint own_copy            # data is this job's copy (the caller takes the CRC)
    bint crc_ready           # crc holds the CRC-32 of header + data
    uint32_t crc
    bint streaming           # the caller is still copying data (guarded by mu)
    size_t copied            # data bytes copied so far while streaming (mu)
    int zstate               # Z_PENDING / Z_BUSY / Z_DONE (compress=True)
    uint8_t* zbuf            # deflate output buffer (from the writer's cache)
    size_t zcap
    size_t zmapped           # zbuf's map length (0: from malloc)
    size_t zsize             # deflated size (0: store the member)
    uint32_t zcrc            # CRC-32 of header + data when deflated


cdef struct writer_t:
    int fd
    bint compress, durable, force
    # Layout (owned by the writer thread once it runs).
    int64_t data_end, tail, file_size, count, prealloc_end
    int64_t end_at, max_size # end records' offset; RLIMIT_FSIZE (_npzlayout.pxi)
    uint8_t* cd              # the live CD, at the end of this buffer
    size_t cd_len, cd_cap
    uint8_t* buf             # scratch for tails
    size_t buf_cap
    uint8_t* hbuf            # local header + .npy header of the member in flight
    size_t hbuf_cap
    fc_deflater* comp                # the writer thread's
    fc_deflater* hcomp[MAX_HELPERS]  # the helper threads'
    const uint8_t* comment
    size_t comment_len
    # Queue (guarded by mu).
    fc_mutex_t mu
    fc_cond_t work           # signalled when a job is queued
    fc_cond_t progress       # signalled when a job is done
    fc_cond_t zdone          # signalled when a member is deflated
    fc_cond_t copied         # signalled as a streaming copy progresses
    job_t* next_pending      # no member before it is still Z_PENDING
    int64_t ahead, ahead_bytes   # claimed members not yet written
    bint closing
    int nhelpers             # helper threads running
    int helper_ids           # ids handed out to starting helpers
    uint8_t* zcache[ZCACHE]  # spare output buffers (their pages are mapped)
    size_t zcache_cap[ZCACHE]
    size_t zcache_mapped[ZCACHE]
    fc_thread_t helpers[MAX_HELPERS]
    job_t* head
    job_t* last
    int64_t queued, limit
    uint64_t submitted, completed
    int64_t members_done     # member jobs finished (written, or dropped after an error)
    int err
    bint running
    fc_thread_t thread
    job_t* close_job         # allocated up front so that close cannot fail
    job_t* pool              # finished copy blocks kept for reuse (no page faults)
    int64_t pool_bytes


# ---------------------------------------------------------------------------
# Zip records (little endian). Kernels: never raise, never touch Python.

cdef inline void put16(uint8_t* p, uint64_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF


cdef inline void put32(uint8_t* p, uint64_t v) noexcept nogil:
    put16(p, v)
    put16(p + 2, v >> 16)


cdef inline void put64(uint8_t* p, uint64_t v) noexcept nogil:
    put32(p, v)
    put32(p + 4, v >> 32)


cdef inline int64_t round_up(int64_t x, int64_t m) noexcept nogil:
    return (x + m - 1) // m * m


cdef inline int name_flags(const char* name, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        if <uint8_t>name[i] >= 0x80:
            return 0x800     # UTF-8 name
    return 0


cdef size_t local_header(uint8_t* p, const job_t* job, int method, uint32_t crc,
                         int64_t csize, int64_t usize, int64_t offset,
                         bint force) noexcept nogil:
    # Needs 30 + name_len + 20 + 6 + 63 bytes.
    cdef bint zip64 = force or csize > ZIP64_LIMIT or usize > ZIP64_LIMIT
    cdef size_t n = job.name_len, extra = 0, pad
    cdef uint8_t* e = p + 30 + n
    if zip64:
        put16(e, 1)
        put16(e + 2, 16)
        put64(e + 4, usize)
        put64(e + 12, csize)
        extra = 20
    if method == 0:
        pad = <size_t>((ALIGN - (offset + 30 + n + extra + 6) % ALIGN) % ALIGN)
        put16(e + extra, 0xA11E)
        put16(e + extra + 2, 2 + pad)
        put16(e + extra + 4, ALIGN)
        memset(e + extra + 6, 0, pad)
        extra += 6 + pad
    put32(p, 0x04034B50)
    put16(p + 4, 45 if zip64 else 20)
    put16(p + 6, name_flags(job.name, n))
    put16(p + 8, method)
    put16(p + 10, 0)                 # 00:00
    put16(p + 12, (1 << 5) | 1)      # 1980-01-01
    put32(p + 14, crc)
    put32(p + 18, 0xFFFFFFFF if zip64 else csize)
    put32(p + 22, 0xFFFFFFFF if zip64 else usize)
    put16(p + 26, n)
    put16(p + 28, extra)
    memcpy(p + 30, job.name, n)
    return 30 + n + extra


cdef size_t central_entry(uint8_t* p, const job_t* job, int method, uint32_t crc,
                          int64_t csize, int64_t usize, int64_t offset,
                          bint force) noexcept nogil:
    # Needs 46 + name_len + 28 bytes.
    cdef bint big_u = force or usize > ZIP64_LIMIT
    cdef bint big_c = force or csize > ZIP64_LIMIT
    cdef bint big_o = force or offset > ZIP64_LIMIT
    cdef size_t n = job.name_len, extra = 0
    cdef uint8_t* e = p + 46 + n
    cdef int version
    if big_u or big_c or big_o:
        put16(e, 1)
        extra = 4
        if big_u:
            put64(e + extra, usize)
            extra += 8
        if big_c:
            put64(e + extra, csize)
            extra += 8
        if big_o:
            put64(e + extra, offset)
            extra += 8
        put16(e + 2, extra - 4)
    version = 45 if extra else 20
    put32(p, 0x02014B50)
    put16(p + 4, (3 << 8) | version)
    put16(p + 6, version)
    put16(p + 8, name_flags(job.name, n))
    put16(p + 10, method)
    put16(p + 12, 0)
    put16(p + 14, (1 << 5) | 1)
    put32(p + 16, crc)
    put32(p + 20, 0xFFFFFFFF if big_c else csize)
    put32(p + 24, 0xFFFFFFFF if big_u else usize)
    put16(p + 28, n)
    put16(p + 30, extra)
    put16(p + 32, 0)                 # comment
    put16(p + 34, 0)                 # disk
    put16(p + 36, 0)                 # internal attributes
    put32(p + 38, <uint64_t>0o100600 << 16)
    put32(p + 42, 0xFFFFFFFF if big_o else offset)
    memcpy(p + 46, job.name, n)
    return 46 + n + extra


cdef size_t end_records(uint8_t* p, int64_t count, int64_t cd_size, int64_t cd_offset,
                        const uint8_t* comment, size_t comment_len,
                        bint force) noexcept nogil:
    # Needs END_MAX + comment_len bytes.
    cdef bint zip64 = (force or count >= COUNT_LIMIT or cd_size > ZIP64_LIMIT
                       or cd_offset > ZIP64_LIMIT)
    cdef uint8_t* q = p
    if zip64:
        put32(q, 0x06064B50)
        put64(q + 4, 44)
        put16(q + 12, 45)
        put16(q + 14, 45)
        put32(q + 16, 0)
        put32(q + 20, 0)
        put64(q + 24, count)
        put64(q + 32, count)
        put64(q + 40, cd_size)
        put64(q + 48, cd_offset)
        q += 56
        put32(q, 0x07064B50)
        put32(q + 4, 0)
        put64(q + 8, cd_offset + cd_size)
        put32(q + 16, 1)
        q += 20
    put32(q, 0x06054B50)
    put16(q + 4, 0)
    put16(q + 6, 0)
    put16(q + 8, 0xFFFF if zip64 else count)
    put16(q + 10, 0xFFFF if zip64 else count)
    put32(q + 12, 0xFFFFFFFF if zip64 else cd_size)
    put32(q + 16, 0xFFFFFFFF if zip64 else cd_offset)
    put16(q + 20, comment_len)
    if comment_len:
        memcpy(q + 22, comment, comment_len)
    return <size_t>(q - p) + 22 + comment_len


# ---------------------------------------------------------------------------
# Writer thread side. Every function returns 0 or an errno value.

cdef int grow(uint8_t** buf, size_t* cap, size_t n) noexcept nogil:
    cdef uint8_t* p
    if n <= cap[0]:
        return 0
    p = <uint8_t*>realloc(buf[0], n)
    if p == NULL:
        return 12   # ENOMEM
    buf[0] = p
    cap[0] = n
    return 0


cdef inline int reserve_buf(writer_t* w, size_t n) noexcept nogil:
    return grow(&w.buf, &w.buf_cap, n)


cdef inline int zero_fill(writer_t* w, int64_t start, int64_t end) noexcept nogil:
    cdef int rc = reserve_buf(w, <size_t>(end - start))
    if rc:
        return rc
    memset(w.buf, 0, <size_t>(end - start))
    return fc_pwrite_all(w.fd, w.buf, <size_t>(end - start), start)


include "_npzlayout.pxi"


cdef void preallocate(writer_t* w, int64_t end) noexcept nogil:
    cdef int64_t n
    if end > w.prealloc_end:
        n = end - w.prealloc_end
        if n < PREALLOC_STEP:
            n = PREALLOC_STEP
        fc_preallocate(w.fd, w.prealloc_end, n)
        w.prealloc_end += n


cdef void compress_job(fc_deflater* comp, job_t* job) noexcept nogil:
    # Deflates header + data (contiguous when compressing) into job.zbuf, with
    # the CRC. Leaves zsize 0 (store the member) when deflating does not save
    # at least 1/8, or when there is no buffer.
    cdef size_t usize = job.header_len + job.data_len, n, avail
    job.zsize = 0
    avail = usize * 7 // 8
    if comp == NULL or avail == 0 or job.zcap < avail:
        return
    if usize > 4 * PROBE:
        # Only members much larger than the probe: it is deflated twice.
        if fc_deflate(comp, job.header, PROBE, job.zbuf, PROBE * 7 // 8) == 0:
            return
    n = fc_deflate(comp, job.header, usize, job.zbuf, avail)
    if n == 0:
        return
    job.zcrc = job.crc if job.crc_ready else fc_crc32(0, job.header, usize)
    job.zsize = n


cdef void take_zbuf(writer_t* w, job_t* job) noexcept nogil:
    # With mu held: an output buffer for the job, reused when one fits.
    cdef size_t avail = (job.header_len + job.data_len) * 7 // 8
    cdef int i
    job.zbuf = NULL
    job.zcap = 0
    if avail == 0:
        return
    for i in range(ZCACHE):
        if w.zcache[i] != NULL and w.zcache_cap[i] >= avail \
                and w.zcache_cap[i] <= 2 * avail + 65536:
            job.zbuf = w.zcache[i]
            job.zcap = w.zcache_cap[i]
            job.zmapped = w.zcache_mapped[i]
            w.zcache[i] = NULL
            return
    job.zbuf = <uint8_t*>fc_big_alloc(avail, &job.zmapped)
    if job.zbuf != NULL:
        job.zcap = avail


cdef void give_zbuf(writer_t* w, job_t* job) noexcept nogil:
    # With mu held: keeps the job's buffer for reuse (or frees it).
    cdef int i, slot = -1
    cdef size_t total = 0
    if job.zbuf == NULL:
        return
    for i in range(ZCACHE):
        if w.zcache[i] == NULL:
            slot = i
        else:
            total += w.zcache_cap[i]
    if slot >= 0 and <int64_t>(total + job.zcap) <= w.limit:
        w.zcache[slot] = job.zbuf
        w.zcache_cap[slot] = job.zcap
        w.zcache_mapped[slot] = job.zmapped
    else:
        fc_big_free(job.zbuf, job.zmapped)
    job.zbuf = NULL
    job.zcap = 0
    job.zmapped = 0


cdef int write_member(writer_t* w, job_t* job) noexcept nogil:
    cdef int64_t usize = job.header_len + job.data_len, csize = usize
    cdef int64_t start = w.data_end, size, pos, end
    cdef size_t zsize = 0, local_len, entry_len, k
    cdef int method = 0, rc
    cdef uint32_t crc
    cdef const char* p
    cdef uint8_t* entry
    if job.zsize:
        zsize = job.zsize
        method = 8
        csize = zsize
    # Sizes are known up front, so are both headers (CRC patched in later).
    rc = grow(&w.hbuf, &w.hbuf_cap, job.name_len + 200 + job.header_len)
    if rc:
        return rc
    local_len = local_header(w.hbuf, job, method, 0, csize, usize, start, w.force)
    size = local_len + csize
    entry = <uint8_t*>malloc(job.name_len + 80)
    if entry == NULL:
        return 12
    entry_len = central_entry(entry, job, method, 0, csize, usize, start, w.force)
    preallocate(w, start + size)
    if start + size + <int64_t>entry_len > w.tail:
        rc = relocate(w, start + size, entry_len)
        if rc:
            free(entry)
            return rc
    if method == 8:
        crc = job.zcrc
        rc = fc_pwrite_all(w.fd, job.zbuf, zsize, start + local_len)
    elif job.own_copy:
        rc = write_copied(w, job, start + local_len + job.header_len)
        crc = job.crc
    else:
        # Data first, CRC of each chunk just before it is written (still in
        # cache); then the local header with the final CRC, plus the .npy
        # header, in one write.
        crc = fc_crc32(0, job.header, job.header_len)
        pos = start + local_len + job.header_len
        p = job.data
        end = job.data_len
        rc = 0
        while end > 0 and rc == 0:
            k = CHUNK if end > CHUNK else <size_t>end
            crc = fc_crc32(crc, p, k)
            rc = fc_pwrite_all(w.fd, p, k, pos)
            p += k
            pos += k
            end -= k
    if rc == 0:
        put32(w.hbuf + 14, crc)
        if method == 0:
            memcpy(w.hbuf + local_len, job.header, job.header_len)
            rc = fc_pwrite_all(w.fd, w.hbuf, local_len + job.header_len, start)
        else:
            rc = fc_pwrite_all(w.fd, w.hbuf, local_len, start)
    if rc == 0:
        w.data_end = start + size
        put32(entry + 16, crc)
        rc = commit_entry(w, entry, entry_len)
    free(entry)
    return rc


cdef int write_copied(writer_t* w, job_t* job, int64_t pos) noexcept nogil:
    # Writes a copied member's data, as much as the caller has copied so far
    # at a time (a streaming copy), until all of it is written. The CRC is
    # in job.crc once the copy is complete.
    cdef size_t done = 0, avail
    cdef bint more = True
    cdef int rc = 0
    while more and rc == 0:
        fc_mutex_lock(&w.mu)
        while job.streaming and job.copied == done:
            fc_cond_wait(&w.copied, &w.mu)
        more = job.streaming
        avail = job.copied if more else job.data_len
        fc_mutex_unlock(&w.mu)
        if avail > done:
            rc = fc_pwrite_all(w.fd, job.data + done, avail - done, pos + <int64_t>done)
            done = avail
    return rc


cdef int run_job(writer_t* w, job_t* job) noexcept nogil:
    if job.kind == JOB_MEMBER:
        return write_member(w, job)
    if job.kind == JOB_SYNC:
        return fc_datasync(w.fd) if w.durable else 0
    return finish(w)


cdef job_t* claim_next(writer_t* w, bint ahead) noexcept nogil:
    # With mu held: the first member still Z_PENDING, now Z_BUSY (members are
    # claimed in queue order). `ahead`: only within the look-ahead limits.
    cdef job_t* job = w.next_pending
    cdef int64_t usize
    while job != NULL and job.kind != JOB_MEMBER:
        job = job.next
    w.next_pending = job
    if job == NULL:
        return NULL
    usize = job.header_len + job.data_len
    if ahead and w.ahead > 0 and (w.ahead >= MAX_AHEAD
                                   or w.ahead_bytes + usize > w.limit // 2):
        return NULL
    w.next_pending = job.next
    job.zstate = Z_BUSY
    w.ahead += 1
    w.ahead_bytes += usize
    return job


cdef void deflate_claimed(writer_t* w, fc_deflater* comp,
                          job_t* job) noexcept nogil:
    # Called with mu held; releases it while deflating.
    take_zbuf(w, job)
    fc_mutex_unlock(&w.mu)
    compress_job(comp, job)
    fc_mutex_lock(&w.mu)
    job.zstate = Z_DONE
    fc_cond_broadcast(&w.zdone)


cdef void helper_main(void* arg) noexcept nogil:
    # Deflates queued members, in queue order, ahead of the writer thread.
    cdef writer_t* w = <writer_t*>arg
    cdef job_t* job
    cdef fc_deflater* comp
    fc_mutex_lock(&w.mu)
    comp = w.hcomp[w.helper_ids]
    w.helper_ids += 1
    while True:
        job = claim_next(w, True) if w.err == 0 else NULL
        if job != NULL:
            deflate_claimed(w, comp, job)
        elif w.closing:
            break
        else:
            fc_cond_wait(&w.work, &w.mu)
    fc_mutex_unlock(&w.mu)


cdef void writer_main(void* arg) noexcept nogil:
    cdef writer_t* w = <writer_t*>arg
    cdef job_t* job
    cdef job_t* other
    cdef int rc, err
    fc_mutex_lock(&w.mu)
    while True:
        while w.head == NULL:
            fc_cond_wait(&w.work, &w.mu)
        job = w.head
        if w.compress and job.kind == JOB_MEMBER and w.nhelpers >= 2 and w.err == 0 \
                and job.zstate != Z_DONE:
            # Two or more helpers deflate (one per core); the writer only
            # writes, in queue order.
            fc_cond_broadcast(&w.work)
            fc_cond_wait(&w.zdone, &w.mu)
            continue
        if w.compress and job.kind == JOB_MEMBER:
            if job.zstate == Z_BUSY:
                # The helper deflates it: deflate a later member meanwhile.
                other = claim_next(w, True) if w.err == 0 else NULL
                if other != NULL:
                    deflate_claimed(w, w.comp, other)
                else:
                    fc_cond_wait(&w.zdone, &w.mu)
                continue
            if job.zstate == Z_PENDING and w.err == 0:
                other = claim_next(w, False)     # the head itself
                deflate_claimed(w, w.comp, other)
                continue
        w.head = job.next
        if w.head == NULL:
            w.last = NULL
        if w.next_pending == job:
            w.next_pending = job.next
        if job.zstate != Z_PENDING:
            w.ahead -= 1
            w.ahead_bytes -= job.header_len + job.data_len
            fc_cond_broadcast(&w.work)       # the helper may look ahead again
        err = w.err
        fc_mutex_unlock(&w.mu)
        # After an error, later jobs are dropped: the file keeps every member
        # committed before it. Closing still finishes the file (safe: the
        # layout state holds only what is in the file).
        rc = run_job(w, job) if err == 0 or job.kind == JOB_CLOSE else 0
        fc_mutex_lock(&w.mu)
        while job.streaming:
            # Dropped or failed mid-copy: the caller still writes into it.
            fc_cond_wait(&w.copied, &w.mu)
        give_zbuf(w, job)
        if rc and w.err == 0:
            w.err = rc
        w.queued -= job.cost
        w.completed += 1
        if job.kind == JOB_MEMBER:
            w.members_done += 1
        if job.kind == JOB_CLOSE:
            free_job(job)
            w.closing = True
            fc_cond_broadcast(&w.work)
            fc_cond_broadcast(&w.progress)
            break
        if job.cost > 0 and w.pool_bytes + <int64_t>job.cap <= w.limit // 2:
            # Keep the block: its pages are already mapped.
            job.next = w.pool
            w.pool = job
            w.pool_bytes += job.cap
        else:
            free_job(job)
        fc_cond_broadcast(&w.progress)
    fc_mutex_unlock(&w.mu)


# ---------------------------------------------------------------------------
# Caller side (no GIL needed; the caller serializes these per writer).

cdef void wait_for_room(writer_t* w, int64_t cost) noexcept nogil:
    # Backpressure: wait until the job fits in the queue (a job larger than
    # the whole queue waits for an empty queue).
    fc_mutex_lock(&w.mu)
    while w.err == 0 and w.queued > 0 and w.queued + cost > w.limit:
        fc_cond_wait(&w.progress, &w.mu)
    w.queued += cost
    fc_mutex_unlock(&w.mu)


cdef uint64_t submit(writer_t* w, job_t* job) noexcept nogil:
    cdef uint64_t seq
    job.next = NULL
    fc_mutex_lock(&w.mu)
    if w.last == NULL:
        w.head = job
    else:
        w.last.next = job
    w.last = job
    if w.next_pending == NULL:
        w.next_pending = job
    w.submitted += 1
    seq = w.submitted
    fc_cond_broadcast(&w.work)
    fc_mutex_unlock(&w.mu)
    return seq


cdef int wait_done(writer_t* w, uint64_t seq) noexcept nogil:
    cdef int err
    fc_mutex_lock(&w.mu)
    while w.completed < seq:
        fc_cond_wait(&w.progress, &w.mu)
    err = w.err
    fc_mutex_unlock(&w.mu)
    return err


cdef int current_error(writer_t* w) noexcept nogil:
    cdef int err
    fc_mutex_lock(&w.mu)
    err = w.err
    fc_mutex_unlock(&w.mu)
    return err


cdef job_t* new_job(int kind, size_t extra) noexcept nogil:
    cdef size_t mapped
    cdef job_t* job = <job_t*>fc_big_alloc(sizeof(job_t) + extra, &mapped)
    if job != NULL:
        memset(job, 0, sizeof(job_t))
        job.kind = kind
        job.cap = extra
        job.mapped = mapped
    return job


cdef inline void free_job(job_t* job) noexcept nogil:
    if job != NULL:
        fc_big_free(job, job.mapped)


cdef job_t* pooled_job(writer_t* w, size_t extra) noexcept nogil:
    # A recycled block that fits (and is not more than twice too big), else
    # a new one.
    cdef job_t* job
    cdef job_t** link
    cdef size_t mapped
    fc_mutex_lock(&w.mu)
    link = &w.pool
    while link[0] != NULL:
        job = link[0]
        if job.cap >= extra and job.cap <= 2 * extra + 4096:
            link[0] = job.next
            w.pool_bytes -= job.cap
            fc_mutex_unlock(&w.mu)
            extra = job.cap
            mapped = job.mapped
            memset(job, 0, sizeof(job_t))
            job.kind = JOB_MEMBER
            job.cap = extra
            job.mapped = mapped
            return job
        link = &job.next
    fc_mutex_unlock(&w.mu)
    return new_job(JOB_MEMBER, extra)


cdef bint try_room(writer_t* w, int64_t cost) noexcept nogil:
    # Reserves queue room if there is some now (never blocks).
    cdef bint ok
    fc_mutex_lock(&w.mu)
    ok = w.err != 0 or w.queued == 0 or w.queued + cost <= w.limit
    if ok:
        w.queued += cost
    fc_mutex_unlock(&w.mu)
    return ok


cdef uint32_t copy_with_crc(char* dst, const char* src, size_t n, uint32_t crc) noexcept nogil:
    # Copies in small pieces, each CRC'd right after it is copied (still in
    # cache), so the writer thread only writes. Returns the continued CRC.
    cdef size_t done = 0, k
    while done < n:
        k = n - done
        if k > COPY_CHUNK:
            k = COPY_CHUNK
        memcpy(dst + done, src + done, k)
        crc = fc_crc32(crc, dst + done, k)
        done += k
    return crc


cdef job_t* fill_job(writer_t* w, size_t extra, int64_t cost, const char* name,
                     size_t name_len, const char* header, size_t header_len,
                     const char* src, size_t data_len, bint copy,
                     bint stream) noexcept nogil:
    # `stream`: copy nothing yet; `stream_copy` copies after the job is
    # queued, while the writer thread writes what is already copied.
    cdef job_t* job = pooled_job(w, extra) if copy else new_job(JOB_MEMBER, extra)
    if job == NULL:
        return NULL
    job.cost = cost
    job.name = <char*>(job + 1)
    job.name_len = name_len
    memcpy(job.name, name, name_len)
    job.header = job.name + name_len
    job.header_len = header_len
    memcpy(job.header, header, header_len)
    job.data_len = data_len
    if copy:
        # Copy and CRC in small pieces: the CRC reads what was just copied
        # from cache, so the writer thread only writes.
        job.data = job.header + header_len
        job.own_copy = True
        job.crc = fc_crc32(0, job.header, header_len)
        if stream:
            job.streaming = True
            return job
        job.crc = copy_with_crc(<char*>job.data, src, data_len, job.crc)
        job.crc_ready = True
    else:
        job.data = src
    return job


cdef void stream_copy(writer_t* w, job_t* job, const char* src) noexcept nogil:
    # Copies a queued job's data (fill_job with `stream`) and its CRC,
    # publishing progress every CHUNK so that the writer thread writes
    # behind the copy instead of after it.
    cdef size_t done = 0, k, n = job.data_len
    cdef char* dst = <char*>job.data
    cdef uint32_t crc = job.crc
    while done < n:
        k = n - done
        if k > CHUNK:
            k = CHUNK
        crc = copy_with_crc(dst + done, src + done, k, crc)
        done += k
        fc_mutex_lock(&w.mu)
        job.copied = done
        if done == n:
            job.crc = crc
            job.crc_ready = True
            job.streaming = False
        fc_cond_broadcast(&w.copied)
        fc_mutex_unlock(&w.mu)


cdef int stop_writer(writer_t* w) noexcept nogil:
    # Queues the final tail, waits for the thread to exit. Returns the error.
    if not w.running:
        return w.err
    submit(w, w.close_job)
    w.close_job = NULL       # freed by the writer thread
    fc_thread_join(w.thread)
    cdef int i
    for i in range(w.nhelpers):
        fc_thread_join(w.helpers[i])     # exits once the writer set `closing`
    w.nhelpers = 0
    w.running = False
    return w.err


cdef void free_writer(writer_t* w) noexcept nogil:
    if w == NULL:
        return
    if w.comp != NULL:
        fc_deflater_free(w.comp)
    cdef int k
    for k in range(MAX_HELPERS):
        if w.hcomp[k] != NULL:
            fc_deflater_free(w.hcomp[k])
    free(w.cd)
    free(w.buf)
    free(w.hbuf)
    cdef int i
    for i in range(ZCACHE):
        if w.zcache[i] != NULL:
            fc_big_free(w.zcache[i], w.zcache_mapped[i])
    free_job(w.close_job)
    cdef job_t* job
    while w.pool != NULL:
        job = w.pool
        w.pool = job.next
        free_job(job)
    fc_cond_destroy(&w.work)
    fc_cond_destroy(&w.progress)
    fc_cond_destroy(&w.zdone)
    fc_cond_destroy(&w.copied)
    fc_mutex_destroy(&w.mu)
    free(w)


_CLOSED_COMMENT = fmt.CLOSED_COMMENT

# fork: the writer thread does not exist in a child. A writer created before
# the fork counts as another process's: every call raises RuntimeError there
# (never waiting for that thread or writing into the parent's file), and
# freeing it only closes the child's copy of the descriptor.
cdef unsigned long _forks_seen = 0


def _count_fork():
    global _forks_seen
    _forks_seen += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_fork)


cdef class NpzWriter:
    """Writes numpy arrays into a `.npz` file from a native background thread.

    The file is a standard zip of `.npy` members that `np.load` and
    `zipfile` read; `np.load(path)[name]` returns what `add(name, array)`
    wrote. `add()` validates and returns; a native thread (not a Python
    thread: it never takes the GIL) writes the member, computing its CRC-32
    (with the library in `DEFLATE_LIBRARY`) chunk by chunk. Every member is
    committed, that is listed in the file's directory, as soon as it is
    written, so a kill at any moment leaves a file that `np.load` opens
    with every complete member.
    Stored members are 64-byte aligned for `fastcallbacks.npz.load(path,
    mmap=True)`.

    While open, the file is sparse with its directory far out (its apparent
    size is up to the file system's size) and `np.load` lists its members
    newest first; `close()` moves the directory after the last member (add
    order) and truncates the file to its real size.

    Args:
        path: file to create (an existing file is replaced).
        compress: deflate members at level 1 (with the library the build
            linked: ISA-L, libdeflate or zlib, see `DEFLATE_LIBRARY`),
            keeping a member stored when that does not save at least 1/8
            of its size.
        durable: `commit()` and `close()` also flush the file to the storage
            device (fdatasync), so committed members survive a power loss
            (possibly needing `fastcallbacks.npz.recover`).
        queue_bytes: copied bytes the writer may hold; `add()` waits
            (GIL released) while the queue is full.
        force_zip64: use zip64 records even where they are not needed.

    Errors of the background writes are raised as `OSError(errno, strerror,
    path)` by the next `add()`/`commit()`, or by `close()`.

    Example:

    ```python
    with NpzWriter("acts.npz") as w:
        w.add("dense/epoch_0000", np.zeros((32, 10), "float32"))
    np.load("acts.npz")["dense/epoch_0000"].shape   # (32, 10)
    ```
    """

    cdef writer_t* _w
    cdef object _path
    cdef set _names
    cdef list _members
    cdef bint _closed, _reported
    cdef bint _compress, _durable
    cdef Py_ssize_t _queue_bytes
    cdef int _threads
    cdef bytes _comment
    cdef cython.pymutex _lock
    cdef unsigned long _born     # _forks_seen when created

    def __cinit__(self):
        self._w = NULL
        self._closed = True
        self._born = _forks_seen

    def __init__(self, path, *, compress=False, durable=False,
                 queue_bytes=fmt.DEFAULT_QUEUE_BYTES, force_zip64=False, threads=None):
        if self._w != NULL:
            raise RuntimeError("NpzWriter.__init__ called twice")
        path, queue_bytes = fmt.check_options(path, compress, durable, queue_bytes,
                                              force_zip64)
        self._threads = fmt.check_threads(threads)
        self._path = path
        self._compress = bool(compress)
        self._durable = bool(durable)
        self._queue_bytes = queue_bytes
        self._names = set()
        self._members = []
        self._reported = False
        self._comment = _CLOSED_COMMENT
        cdef writer_t* w = <writer_t*>malloc(sizeof(writer_t))
        cdef int k, nhelpers = 0
        if w == NULL:
            raise MemoryError()
        memset(w, 0, sizeof(writer_t))
        fc_mutex_init(&w.mu)
        fc_cond_init(&w.work)
        fc_cond_init(&w.progress)
        fc_cond_init(&w.zdone)
        fc_cond_init(&w.copied)
        w.fd = -1
        w.compress = self._compress
        w.durable = self._durable
        w.force = bool(force_zip64)
        w.limit = queue_bytes
        w.comment = <const uint8_t*><char*>self._comment
        w.comment_len = len(self._comment)
        if w.compress:
            w.comp = fc_deflater_new()
            if w.comp == NULL:
                free_writer(w)
                raise MemoryError()
            # `threads` deflate: the writer alone, or that many helpers
            # while the writer only writes.
            nhelpers = self._threads if self._threads > 1 else 0
            for k in range(nhelpers):
                w.hcomp[k] = fc_deflater_new()
                if w.hcomp[k] == NULL:
                    free_writer(w)
                    raise MemoryError()
        w.close_job = new_job(JOB_CLOSE, 0)
        if w.close_job == NULL:
            free_writer(w)
            raise MemoryError()
        self._w = w
        cdef int rc
        # The empty zip (placeholder, end records far beyond), created
        # atomically so that a kill never leaves an empty or torn file behind.
        end_at, w.max_size = fmt.tail_reserve(path)
        force = w.force
        try:
            w.fd, end_at = fmt.create_empty(path, lambda at: _empty_tail(at, force),
                                            end_at, self._durable)
        except OSError as e:
            raise OSError(e.errno, e.strerror, path) from None
        w.end_at = w.tail = end_at
        w.file_size = page_end(end_at)
        with nogil:
            rc = fc_thread_start(&w.thread, writer_main, w)
        if rc:
            os.close(w.fd)
            w.fd = -1
            raise OSError(rc, os.strerror(rc), path)
        w.running = True
        if w.compress:
            # Helpers deflate queued members ahead of the writer. With two or
            # more running the writer only writes; otherwise (threads=1, or
            # threads that failed to start) it deflates too.
            for k in range(nhelpers):
                with nogil:
                    rc = fc_thread_start(&w.helpers[k], helper_main, w)
                if rc:
                    break
                w.nhelpers += 1
        self._closed = False

    def __dealloc__(self):
        cdef writer_t* w = self._w
        if w == NULL:
            return
        if self._born != _forks_seen:
            # A copy in a forked child: no writer thread to stop, and its
            # locks may be held for good; the memory is left as it is.
            self._w = NULL
            if w.fd >= 0:
                try:
                    os.close(w.fd)
                except OSError:
                    pass
            return
        # Not closed by the caller: finish the file (errors are lost here;
        # the file still holds every member written).
        stop_writer(w)
        if w.fd >= 0:
            try:
                os.close(w.fd)
            except OSError:
                pass
        self._w = NULL
        free_writer(w)

    # -- properties ----------------------------------------------------------
    @property
    def path(self):
        """The file being written."""
        return self._path

    @property
    def closed(self):
        """True once `close()` has run."""
        return self._closed

    @property
    def compress(self):
        return self._compress

    @property
    def durable(self):
        return self._durable

    @property
    def queue_bytes(self):
        return self._queue_bytes

    @property
    def members(self):
        """Names passed to `add()` so far, in order."""
        return tuple(self._members)

    @property
    def threads(self):
        """Threads that deflate when `compress=True`: 1 is the writer thread
        itself; with more, that many helpers deflate queued members in
        parallel and the writer only writes (default: one per core, at
        most 4)."""
        return self._threads

    @property
    def pending(self):
        """Members added but not yet written (never blocks; 0 once closed)."""
        cdef int64_t done
        self._check_process()
        if self._closed:
            return 0
        fc_mutex_lock(&self._w.mu)
        done = self._w.members_done
        fc_mutex_unlock(&self._w.mu)
        return max(len(self._members) - done, 0)

    # -- public API ----------------------------------------------------------
    def add(self, name, array, *, copy=True):
        """Queues `array` as member `name + ".npy"` (read back as `name`).

        Args:
            name: non-empty str, unique in the file; may contain `/`.
            array: anything `np.asarray` turns into a non-object array.
                Non-contiguous arrays are copied to C order first.
            copy: True copies the array's bytes (GIL released) before
                returning, so the caller may change the array at once, and
                the write overlaps the caller's work; False copies nothing
                and returns only once the member has been written (GIL
                released while waiting). Either way, changing the array after
                `add()` returns cannot alter the member.

        Raises:
            TypeError / ValueError: for a bad name or array (nothing queued).
            OSError: if writing an earlier member failed (with the path).
            RuntimeError: in a child forked after the writer was created.
        """
        self._check_process()
        with self._lock:
            self._add(name, array, copy)

    cdef _add(self, name, array, copy):
        self._check_open()
        if not isinstance(copy, (bool, np.bool_)):
            raise TypeError(f"NpzWriter.add: `copy` must be a bool, got {copy!r}")
        cdef bytes encoded = fmt.member_name(name, self._names)
        a, fortran = fmt.member_array(array)
        cdef bytes header = fmt.npy_header(a, fortran)
        self._raise_error()
        cdef cnp.ndarray arr = <cnp.ndarray>a
        cdef writer_t* w = self._w
        cdef size_t name_len = len(encoded), header_len = len(header)
        cdef size_t data_len = <size_t>cnp.PyArray_NBYTES(arr)
        cdef const char* src = <const char*>cnp.PyArray_DATA(arr)
        cdef const char* name_p = encoded
        cdef const char* header_p = header
        # Deflate needs header + data contiguous, so compressing copies too.
        cdef bint do_copy = bool(copy) or self._compress
        cdef int64_t cost = data_len if do_copy else 0
        cdef size_t extra = name_len + header_len + (data_len if do_copy else 0)
        cdef job_t* job
        cdef uint64_t seq
        cdef int err = 0
        # The GIL is released only where this call may block or copy a lot:
        # a thread that gives it up waits up to the switch interval (5 ms) to
        # get it back whenever another thread runs Python code, which would
        # cost far more than copying a few MiB with it held.
        cdef bint hold = do_copy and data_len <= GIL_COPY
        # Large stored copies are queued first and written while copied.
        cdef bint stream = do_copy and not self._compress and data_len >= STREAM_MIN
        self._names.add(name)
        self._members.append(name)
        if cost and not (hold and try_room(w, cost)):
            with nogil:
                wait_for_room(w, cost)
        if hold or not do_copy:
            job = fill_job(w, extra, cost, name_p, name_len, header_p, header_len,
                           src, data_len, do_copy, stream)
        else:
            with nogil:
                job = fill_job(w, extra, cost, name_p, name_len, header_p, header_len,
                               src, data_len, do_copy, stream)
        if job != NULL:
            seq = submit(w, job)
            if stream:
                if hold:
                    stream_copy(w, job, src)
                else:
                    with nogil:
                        stream_copy(w, job, src)
            if not do_copy:
                # The caller's buffer is read by the writer thread: wait.
                with nogil:
                    err = wait_done(w, seq)
        else:
            fc_mutex_lock(&w.mu)
            w.queued -= cost
            fc_mutex_unlock(&w.mu)
        if job == NULL:
            self._names.discard(name)
            self._members.pop()
            raise MemoryError(f"NpzWriter.add: cannot allocate {extra} bytes")
        if err:
            self._raise_error()

    def commit(self):
        """Waits until every added member is written and listed in the file.

        With `durable=True` the file is also flushed to the device.
        """
        self._check_process()
        with self._lock:
            self._check_open()
            self._raise_error()
            self._wait(JOB_SYNC)
            self._raise_error()

    cdef _wait(self, int kind):
        cdef writer_t* w = self._w
        cdef job_t* job = new_job(kind, 0)
        if job == NULL:
            raise MemoryError()
        with nogil:
            wait_done(w, submit(w, job))

    def close(self):
        """Writes the final directory and closes the file (idempotent).

        Raises OSError (with the path) if a write failed and no earlier call
        has reported it.
        """
        cdef writer_t* w
        cdef int fd
        self._check_process()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            w = self._w
            with nogil:
                stop_writer(w)
            fd = w.fd
            w.fd = -1
            os.close(fd)
            if w.err and not self._reported:
                self._raise_error()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self._closed else "open"
        return f"<NpzWriter {self._path!r} {state}, {len(self._members)} members>"

    def __reduce__(self):
        raise TypeError("NpzWriter cannot be pickled (it owns an open file)")

    # -- internals -----------------------------------------------------------
    cdef _check_process(self):
        # Before any lock: a lock of a forked copy may be held for good.
        if self._born != _forks_seen:
            raise _forks.created_elsewhere(f"NpzWriter({self._path!r})")

    cdef _check_open(self):
        if self._closed:
            raise ValueError(f"NpzWriter: {self._path!r} is closed")

    cdef _raise_error(self):
        cdef int err = current_error(self._w)
        if err:
            self._reported = True
            raise OSError(err, os.strerror(err), self._path)


def crc32(data, unsigned int value=0):
    """CRC-32 (zip/gzip polynomial) of a bytes-like object, continuing `value`.

    Runs the CRC-32 of the deflate library the module was built with (see
    `DEFLATE_LIBRARY`) with the GIL released.
    """
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    cdef uint32_t crc = value
    if n == 0:
        return value
    with nogil:
        crc = fc_crc32(crc, &view[0], n)
    return crc
