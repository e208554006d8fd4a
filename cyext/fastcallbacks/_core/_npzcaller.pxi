# The caller side of the streaming .npz writer: queueing jobs, copies,
# stopping and freeing the writer (included by npzwriter.pyx).

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
