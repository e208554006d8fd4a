# Declarations of the streaming .npz writer: the deflate library, constants,
# the job and writer structs (included by npzwriter.pyx).

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
    ZCACHE = 6               # deflate output buffers kept for reuse

# Deflating threads besides the writer, at most: also the module attribute
# that bounds `threads` (read by fastcallbacks._npzformat.max_threads).
cpdef enum:
    MAX_HELPERS = 4


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
