# The writer thread and its deflating helpers (included by npzwriter.pyx).

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
