/* Raw deflate (RFC 1951) at the fastest level of the library chosen at build
 * time, for the npz writer's compress=True:
 *
 *   FC_DEFLATE_ISAL defined: Intel ISA-L's igzip, level 1 (assembly kernels
 *       picked at run time for the CPU, or its portable C code);
 *   otherwise: libdeflate, level 1.
 *
 * fc_deflate() writes at most `cap` bytes and returns the deflated size, or 0
 * when the result would not fit (the caller then stores the data). Each
 * deflater is used by one thread at a time; none of this touches Python.
 */
#ifndef FC_DEFLATE_H
#define FC_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef FC_DEFLATE_ISAL

#include "igzip_lib.h"
#include "isal_api.h"

/* FC_ISAL_KERNELS (from setup.py): which of ISA-L's code paths was built. */
#ifndef FC_ISAL_KERNELS
#define FC_ISAL_KERNELS "unknown"
#endif
#define FC_DEFLATE_NAME "isa-l " ISAL_VERSION_STR " (" FC_ISAL_KERNELS ")"

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

/* ISA-L counts input and output in 32 bits: feed both in pieces of at most
 * this many bytes (smaller only to test the piecing). */
#ifndef FC_ISAL_PIECE
#define FC_ISAL_PIECE ((size_t)1 << 30)
#endif

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
            piece = in_left < FC_ISAL_PIECE ? in_left : FC_ISAL_PIECE;
            s->next_in = (uint8_t *)in;
            s->avail_in = (uint32_t)piece;
            in += piece;
            in_left -= piece;
            s->end_of_stream = in_left == 0;
        }
        if (s->avail_out == 0) {
            if (out_left == 0)
                return 0;            /* does not fit */
            piece = out_left < FC_ISAL_PIECE ? out_left : FC_ISAL_PIECE;
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

#else  /* libdeflate */

#include "libdeflate.h"

#define FC_DEFLATE_NAME "libdeflate " LIBDEFLATE_VERSION_STRING

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

#endif

#endif
