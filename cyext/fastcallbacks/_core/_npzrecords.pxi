# Zip record encoders of the streaming .npz writer (included by npzwriter.pyx).

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
