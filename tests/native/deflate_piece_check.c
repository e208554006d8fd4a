/* Checks fc_deflate.h's ISA-L path with tiny input/output pieces (the loop
 * that feeds ISA-L's 32-bit counters) against zlib's inflate. Not collected by
 * pytest. Build ISA-L (see setup.py: make -f Makefile.unx units=igzip
 * bin/isa-l.a in a copy of cyext/third_party/isa-l), then from the repo root:
 *   gcc -O2 -DPIECE=777 tests/native/deflate_piece_check.c -Icyext/fastcallbacks/_core \
 *       -Icyext/third_party/isa-l/include ISA-L-COPY/bin/isa-l.a -lz && ./a.out
 * with PIECE 777, 65536 and 1073741824; exit status 0 when every case matches. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#define FC_DEFLATE_ISAL 1
#define FC_ISAL_PIECE ((size_t)PIECE)
#include "fc_deflate.h"
int main(){
  /* ReLU-like bytes: half the 4-byte words zero, the rest pseudo-random. */
  size_t M=4<<20; unsigned char*buf=malloc(M);
  srand(1);
  for(size_t i=0;i<M;i+=4){ int z=rand()&1; for(int k=0;k<4;k++) buf[i+k]=z?0:(unsigned char)rand(); }
  unsigned char*out=malloc(M+4096), *back=malloc(M); fc_deflater*d=fc_deflater_new(); int bad=0;
  size_t sizes[]={0,1,776,777,778,5000,65536,1<<20,M};
  for(int i=0;i<9;i++){ size_t n=sizes[i];
    size_t z=fc_deflate(d,buf,n,out,n+1024);
    if(n && !z){printf("n=%zu no output\n",n);bad=1;continue;}
    z_stream s; memset(&s,0,sizeof s); inflateInit2(&s,-15); s.next_in=out; s.avail_in=z; s.next_out=back; s.avail_out=M; int rc=inflate(&s,Z_FINISH);
    int ok = rc==Z_STREAM_END && s.total_out==n && !memcmp(back,buf,n); inflateEnd(&s);
    /* too small a cap: must report 0 */
    size_t z2 = n>100 ? fc_deflate(d,buf,n,out,z-1) : 0;
    printf("n=%zu z=%zu ok=%d tight=%zu\n",n,z,ok,z2); bad|=!ok||z2!=0;
  }
  fc_deflater_free(d);
  return bad;
}
