/* Checks fc_deflate.h outside Python, against zlib's inflate and crc32: raw
 * deflate of sizes around the piece size and of a tight output buffer (must
 * report 0), and fc_crc32 over pieces. With a small PIECE it exercises the
 * loops that feed ISA-L's and zlib's 32-bit counters (libdeflate takes size_t
 * and has none). Built and run by tests/native/test_native_deflate.py; by
 * hand, from the repository root, for one library:
 *
 *   cc -O2 -DFC_DEFLATE_ISAL -DPIECE=777 -Icyext/fastcallbacks/_core \
 *       tests/native/deflate_piece_check.c -lisal -lz && ./a.out
 *
 * (-DFC_DEFLATE_LIBDEFLATE ... -ldeflate -lz, or -DFC_DEFLATE_ZLIB ... -lz).
 * Prints one line per case; exit status 0 when every case matches. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#ifdef PIECE
#define FC_DEFLATE_PIECE ((size_t)(PIECE))
#endif
#include "fc_deflate.h"

int main(void)
{
    /* ReLU-like bytes: half the 4-byte words zero, the rest pseudo-random. */
    size_t M = (size_t)4 << 20, i, k;
    unsigned char *buf = malloc(M), *out = malloc(M + 4096), *back = malloc(M);
    fc_deflater *d = fc_deflater_new();
    size_t sizes[] = {0, 1, 776, 777, 778, 5000, 65535, 65536, 65537, (size_t)1 << 20, M};
    int bad = 0;
    unsigned seed = 1;

    if (buf == NULL || out == NULL || back == NULL || d == NULL) {
        printf("out of memory\n");
        return 2;
    }
    for (i = 0; i < M; i += 4) {
        seed = seed * 1103515245u + 12345u;
        int zero = (seed >> 16) & 1;
        for (k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[i + k] = zero ? 0 : (unsigned char)(seed >> 16);
        }
    }
    printf("%s\n", FC_DEFLATE_NAME);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], z, tight = 0, off, step;
        uint32_t crc = 0;
        z_stream s;
        int rc, ok;

        /* CRC-32 over pieces of varying length, against zlib in one go. */
        for (off = 0, step = 1; off < n; off += step, step = step * 3 + 1) {
            if (step > n - off)
                step = n - off;
            crc = fc_crc32(crc, buf + off, step);
        }
        ok = crc == (uint32_t)crc32(0, buf, (uInt)n) && fc_crc32(crc, buf, 0) == crc
            && fc_crc32(0, buf, n) == crc;

        z = fc_deflate(d, buf, n, out, n + 1024);
        if (z == 0) {
            printf("n=%zu no output\n", n);
            bad = 1;
            continue;
        }
        memset(&s, 0, sizeof s);
        inflateInit2(&s, -15);
        s.next_in = out;
        s.avail_in = (uInt)z;
        s.next_out = back;
        s.avail_out = (uInt)M;
        rc = inflate(&s, Z_FINISH);
        ok = ok && rc == Z_STREAM_END && s.total_out == n && s.avail_in == 0
            && memcmp(back, buf, n) == 0;
        inflateEnd(&s);
        /* One byte too small an output buffer: must report 0. */
        if (n > 100)
            tight = fc_deflate(d, buf, n, out, z - 1);
        printf("n=%zu z=%zu ok=%d tight=%zu\n", n, z, ok, tight);
        bad |= !ok || tight != 0;
    }
    fc_deflater_free(d);
    free(buf);
    free(out);
    free(back);
    return bad;
}
