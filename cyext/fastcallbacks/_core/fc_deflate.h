/* CRC-32 and raw deflate (RFC 1951) for the npz writer, from the system
 * library setup.py found and linked (exactly one of these is defined):
 *
 *   FC_DEFLATE_ISAL:       Intel ISA-L (igzip level 1, crc32_gzip_refl);
 *   FC_DEFLATE_LIBDEFLATE: libdeflate (level 1, libdeflate_crc32);
 *   FC_DEFLATE_ZLIB:       zlib (level 1, crc32).
 *
 * fc_crc32(crc, buf, n) continues a zip/gzip CRC-32 like zlib's crc32 (start
 * from 0), for any n. fc_deflate() writes at most `cap` bytes and returns the
 * deflated size, or 0 when the result would not fit or the library failed
 * (the caller then stores the data). Each deflater is used by one thread at a
 * time; nothing here touches Python. FC_DEFLATE_NAME is "<library> <version>".
 */
#ifndef FC_DEFLATE_H
#define FC_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define FC_STR_(x) #x
#define FC_STR(x) FC_STR_(x)

/* ISA-L and zlib count input and output in 32 bits: both are fed in pieces
 * of at most this many bytes (smaller only to test the piecing). */
#ifndef FC_DEFLATE_PIECE
#define FC_DEFLATE_PIECE ((size_t)1 << 30)
#endif

#if defined(FC_DEFLATE_ISAL) + defined(FC_DEFLATE_LIBDEFLATE) + defined(FC_DEFLATE_ZLIB) != 1
#error "define exactly one of FC_DEFLATE_ISAL, FC_DEFLATE_LIBDEFLATE, FC_DEFLATE_ZLIB (setup.py does)"
#endif

#if defined(FC_DEFLATE_ISAL)

#include <isa-l.h>

#if defined(ISAL_MAJOR_VERSION) && defined(ISAL_MINOR_VERSION) && defined(ISAL_PATCH_VERSION)
#define FC_DEFLATE_NAME "isa-l " FC_STR(ISAL_MAJOR_VERSION) "." \
    FC_STR(ISAL_MINOR_VERSION) "." FC_STR(ISAL_PATCH_VERSION)
#elif defined(FC_DEFLATE_VERSION)      /* from pkg-config, via setup.py */
#define FC_DEFLATE_NAME "isa-l " FC_DEFLATE_VERSION
#else
#define FC_DEFLATE_NAME "isa-l unknown"
#endif

static uint32_t fc_crc32(uint32_t crc, const void *buf, size_t n)
{
    return n == 0 ? crc : crc32_gzip_refl(crc, (const unsigned char *)buf, (uint64_t)n);
}

typedef struct {
    struct isal_zstream s;
    uint8_t *level_buf;
} fc_deflater;

static fc_deflater *fc_deflater_new(void)
{
    fc_deflater *d = (fc_deflater *)calloc(1, sizeof(fc_deflater));
    if (d == NULL)
        return NULL;
    d->level_buf = (uint8_t *)malloc(ISAL_DEF_LVL1_DEFAULT);
    if (d->level_buf == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

static void fc_deflater_free(fc_deflater *d)
{
    if (d != NULL) {
        free(d->level_buf);
        free(d);
    }
}

static size_t fc_deflate(fc_deflater *d, const void *src, size_t n, void *out, size_t cap)
{
    struct isal_zstream *s = &d->s;
    const uint8_t *in = (const uint8_t *)src;
    uint8_t *dst = (uint8_t *)out;
    size_t in_left = n, out_left = cap, piece, produced = 0;
    uint32_t given;

    isal_deflate_init(s);
    s->level = 1;
    s->level_buf = d->level_buf;
    s->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    s->gzip_flag = IGZIP_DEFLATE;
    s->flush = NO_FLUSH;
    s->avail_in = 0;
    s->avail_out = 0;
    for (;;) {
        if (s->avail_in == 0 && !s->end_of_stream) {
            piece = in_left < FC_DEFLATE_PIECE ? in_left : FC_DEFLATE_PIECE;
            s->next_in = (uint8_t *)in;
            s->avail_in = (uint32_t)piece;
            in += piece;
            in_left -= piece;
            s->end_of_stream = in_left == 0;
        }
        if (s->avail_out == 0) {
            if (out_left == 0)
                return 0;            /* does not fit */
            piece = out_left < FC_DEFLATE_PIECE ? out_left : FC_DEFLATE_PIECE;
            s->next_out = dst + produced;
            s->avail_out = (uint32_t)piece;
            out_left -= piece;
        }
        given = s->avail_out;
        if (isal_deflate(s) != COMP_OK)
            return 0;
        produced += given - s->avail_out;
        if (s->internal_state.state == ZSTATE_END)
            return produced;
    }
}

#elif defined(FC_DEFLATE_LIBDEFLATE)

#include <libdeflate.h>

#define FC_DEFLATE_NAME "libdeflate " LIBDEFLATE_VERSION_STRING

static uint32_t fc_crc32(uint32_t crc, const void *buf, size_t n)
{
    return n == 0 ? crc : libdeflate_crc32(crc, buf, n);
}

typedef struct libdeflate_compressor fc_deflater;

static fc_deflater *fc_deflater_new(void)
{
    return libdeflate_alloc_compressor(1);
}

static void fc_deflater_free(fc_deflater *d)
{
    if (d != NULL)
        libdeflate_free_compressor(d);
}

static size_t fc_deflate(fc_deflater *d, const void *src, size_t n, void *out, size_t cap)
{
    return libdeflate_deflate_compress(d, src, n, out, cap);
}

#else  /* FC_DEFLATE_ZLIB */

#include <zlib.h>

/* The version of the zlib loaded at run time (it may be newer than the
 * headers). */
#define FC_DEFLATE_NAME fc_zlib_name()

static const char *fc_zlib_name(void)
{
    static char name[48];
    if (name[0] == '\0') {
        const char *v = zlibVersion();
        size_t i = 0, k = 0;
        const char prefix[] = "zlib ";
        for (; prefix[k] != '\0'; k++)
            name[i++] = prefix[k];
        for (k = 0; v[k] != '\0' && i < sizeof(name) - 1; k++)
            name[i++] = v[k];
        name[i] = '\0';
    }
    return name;
}

static uint32_t fc_crc32(uint32_t crc, const void *buf, size_t n)
{
    /* zlib's crc32 takes a uInt length (and returns 0 for a NULL buffer). */
    const unsigned char *p = (const unsigned char *)buf;
    uLong c = crc;
    size_t piece;
    while (n > 0) {
        piece = n < FC_DEFLATE_PIECE ? n : FC_DEFLATE_PIECE;
        c = crc32(c, p, (uInt)piece);
        p += piece;
        n -= piece;
    }
    return (uint32_t)c;
}

typedef struct {
    z_stream s;
} fc_deflater;

static fc_deflater *fc_deflater_new(void)
{
    fc_deflater *d = (fc_deflater *)calloc(1, sizeof(fc_deflater));
    if (d == NULL)
        return NULL;
    /* Level 1, raw deflate (negative window bits), zlib's default memory. */
    if (deflateInit2(&d->s, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(d);
        return NULL;
    }
    return d;
}

static void fc_deflater_free(fc_deflater *d)
{
    if (d != NULL) {
        deflateEnd(&d->s);
        free(d);
    }
}

static size_t fc_deflate(fc_deflater *d, const void *src, size_t n, void *out, size_t cap)
{
    z_stream *s = &d->s;
    const unsigned char *in = (const unsigned char *)src;
    unsigned char *dst = (unsigned char *)out;
    size_t in_left = n, out_left = cap, piece, produced = 0;
    uInt given;
    int rc;

    if (deflateReset(s) != Z_OK)
        return 0;
    s->avail_in = 0;
    s->avail_out = 0;
    for (;;) {
        if (s->avail_in == 0 && in_left > 0) {
            piece = in_left < FC_DEFLATE_PIECE ? in_left : FC_DEFLATE_PIECE;
            s->next_in = (unsigned char *)in;
            s->avail_in = (uInt)piece;
            in += piece;
            in_left -= piece;
        }
        if (s->avail_out == 0) {
            if (out_left == 0)
                return 0;            /* does not fit */
            piece = out_left < FC_DEFLATE_PIECE ? out_left : FC_DEFLATE_PIECE;
            s->next_out = dst + produced;
            s->avail_out = (uInt)piece;
            out_left -= piece;
        }
        given = s->avail_out;
        /* Z_FINISH once the last piece of input is given, and from then on. */
        rc = deflate(s, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
        produced += given - s->avail_out;
        if (rc == Z_STREAM_END)
            return produced;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return 0;
    }
}

#endif

#endif
