# Commit layout of the streaming writer (included by npzwriter.pyx): where
# the central directory (CD) and the end records go, and the one write that
# commits a member. Byte for byte the layout of the reference
# `fastcallbacks._reference.npzwriter`, whose module docstring states the
# invariant; in short:
#
#     [placeholder|members][hole][CD, newest entry first][end records][zeros]
#                                 ^ w.tail                ^ w.end_at   ^ page end = EOF
#
# The end records stay at `w.end_at` (far beyond the members where holes are
# cheap: see `_npzformat.tail_reserve`). A member is committed by writing its
# CD entry right below the CD (unreferenced until then) and then rewriting
# the end records in place: at most 98 bytes within one page that is already
# in the file, so a kill cannot tear it, it never extends the file (EFBIG)
# and needs no new block (ENOSPC). Every earlier write only touches bytes
# that no committed state refers to.
#
# `w.cd` holds the CD as it is in the file (newest entry first) at the END of
# its buffer: the live bytes are [w.cd + w.cd_cap - w.cd_len, w.cd + w.cd_cap).

from libc.errno cimport EFBIG

cdef enum:
    END_ROOM = 122           # END_MAX + the closed comment: fits the end page
    RELOCATE_MIN = 64 << 20  # a relocation leaves at least this much room


cdef inline int64_t page_end(int64_t x) noexcept nogil:
    return x // PAGE * PAGE + PAGE


cdef inline size_t get16(const uint8_t* p) noexcept nogil:
    return <size_t>p[0] | (<size_t>p[1] << 8)


cdef inline uint8_t* live_cd(writer_t* w) noexcept nogil:
    return w.cd + w.cd_cap - w.cd_len


cdef inline bint live_zip64(writer_t* w, int64_t end_at) noexcept nogil:
    # zip64 end records whenever `end_at` needs them, so that records
    # rewritten in place never shrink (a shorter record would leave the
    # longer one's signature after it).
    return w.force or end_at > ZIP64_LIMIT


cdef int cd_room(writer_t* w, size_t n) noexcept nogil:
    # Makes room for n more bytes below the live CD in w.cd.
    cdef size_t cap
    cdef uint8_t* p
    if w.cd_len + n <= w.cd_cap:
        return 0
    cap = 2 * w.cd_cap + n + 4096
    p = <uint8_t*>malloc(cap)
    if p == NULL:
        return 12   # ENOMEM
    if w.cd_len:
        memcpy(p + cap - w.cd_len, live_cd(w), w.cd_len)
    free(w.cd)
    w.cd = p
    w.cd_cap = cap
    return 0


cdef int commit_entry(writer_t* w, const uint8_t* entry, size_t n) noexcept nogil:
    cdef int64_t at = w.tail - <int64_t>n
    cdef size_t end_len
    cdef int rc = cd_room(w, n)
    if rc == 0:
        rc = reserve_buf(w, END_MAX)
    if rc:
        return rc
    # The entry below the CD: not referenced yet.
    rc = fc_pwrite_all(w.fd, entry, n, at)
    if rc:
        return rc
    # The commit point: the end records, in place.
    end_len = end_records(w.buf, w.count + 1, w.cd_len + n, at, NULL, 0,
                          live_zip64(w, w.end_at))
    rc = fc_pwrite_all(w.fd, w.buf, end_len, w.end_at)
    if rc:
        return rc
    memcpy(live_cd(w) - n, entry, n)
    w.cd_len += n
    w.count += 1
    w.tail = at
    return 0


cdef int relocate(writer_t* w, int64_t member_end, size_t entry_len) noexcept nogil:
    # The member would reach the CD: copy the CD and end records beyond the
    # end of file, leaving room for more members. With a CD of at most a
    # page minus the end records this is one write within one page.
    cdef int64_t size = w.cd_len, base, end_at, eof, reserve
    cdef size_t end_len, n
    cdef int rc
    reserve = member_end // 2
    if reserve < RELOCATE_MIN:
        reserve = RELOCATE_MIN
    base = member_end + <int64_t>entry_len + reserve
    if base < w.file_size:
        base = w.file_size
    base = round_up(base, PAGE)
    if size + END_ROOM <= PAGE:
        end_at = base + size
    else:
        end_at = round_up(base + size, PAGE)
    eof = page_end(end_at)
    if eof > w.max_size:
        return EFBIG    # past the file-size limit: write nothing
    n = <size_t>(eof - end_at + size)
    rc = reserve_buf(w, n)
    if rc:
        return rc
    if size:
        memcpy(w.buf, live_cd(w), <size_t>size)
    end_len = end_records(w.buf + size, w.count, size, end_at - size, NULL, 0,
                          live_zip64(w, end_at))
    memset(w.buf + size + end_len, 0, n - <size_t>size - end_len)
    rc = fc_pwrite_all(w.fd, w.buf, n, end_at - size)
    if rc:
        fc_truncate(w.fd, w.file_size)   # drop the partial copy: the old tail is intact
        return rc
    w.end_at = end_at
    w.tail = end_at - size
    w.file_size = eof
    return 0


cdef void forward_cd(writer_t* w, uint8_t* out) noexcept nogil:
    # The CD entries in add order (the live CD has them newest first).
    cdef const uint8_t* p = live_cd(w)
    cdef size_t off = 0, k
    while off < w.cd_len:
        k = 46 + get16(p + off + 28) + get16(p + off + 30) + get16(p + off + 32)
        memcpy(out + w.cd_len - off - k, p + off, k)
        off += k


cdef int finish(writer_t* w) noexcept nogil:
    # The final CD (add order) and end records right after the last member,
    # then one ftruncate makes them the file's end; in place when the hole
    # is too small.
    cdef int64_t cd_len = w.cd_len, size, pos = w.data_end
    cdef size_t n
    cdef int rc = reserve_buf(w, cd_len + END_MAX + w.comment_len)
    if rc:
        return rc
    if w.count == 0 and w.force:
        pos = 22     # after the placeholder: the file still starts with a zip signature
    forward_cd(w, w.buf)
    n = cd_len + end_records(w.buf + cd_len, w.count, cd_len, pos,
                             w.comment, w.comment_len, w.force)
    if pos + <int64_t>n <= w.tail:
        rc = fc_pwrite_all(w.fd, w.buf, n, pos)
        size = pos + n
    else:
        n = end_records(w.buf, w.count, cd_len, w.tail, w.comment, w.comment_len,
                        live_zip64(w, w.end_at))
        rc = fc_pwrite_all(w.fd, w.buf, n, w.end_at)
        size = w.end_at + n
    if rc == 0:
        rc = fc_truncate(w.fd, size)
    if rc == 0 and w.durable:
        rc = fc_datasync(w.fd)
    return rc


def _empty_tail(int64_t end_at, bint force):
    """The empty archive's end records at `end_at`, and zeros up to the
    page end (see `_npzformat.create_empty`)."""
    cdef writer_t w
    w.force = force
    cdef bytearray out = bytearray(<Py_ssize_t>(page_end(end_at) - end_at))
    end_records(<uint8_t*><char*>out, 0, 0, end_at, NULL, 0, live_zip64(&w, end_at))
    return bytes(out)
