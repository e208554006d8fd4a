/* Exercises the Windows branch of cyext/fastcallbacks/_core/npz_platform.h
 * (threads, condition variables, positional writes from a thread,
 * preallocation, data sync, truncation, large blocks) outside Python.
 * Not collected by pytest. Cross-compiled and run here with:
 *
 *   apt-get install gcc-mingw-w64-x86-64-posix wine64
 *   x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -O2 \
 *       -I cyext/fastcallbacks/_core tests/native/win_platform_check.c -o /tmp/check.exe
 *   (cd /tmp && /usr/lib/wine/wine64 ./check.exe)   # prints "ok", exit code 0
 *
 * It also builds and runs natively (the POSIX branch) with
 *   cc -std=c11 -D_GNU_SOURCE -I cyext/fastcallbacks/_core tests/native/win_platform_check.c -lpthread
 */
#include "npz_platform.h"
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <unistd.h>
#define _open open
#define _close close
#define _read read
#define _lseeki64 lseek
#define _O_RDWR O_RDWR
#define _O_CREAT O_CREAT
#define _O_TRUNC O_TRUNC
#define _O_BINARY 0
#define _S_IREAD 0400
#define _S_IWRITE 0200
#define _stat64 stat
#endif
static fc_mutex_t mu; static fc_cond_t cv; static int state = 0;
static void worker(void *arg) {
    int fd = *(int *)arg;
    const char msg[] = "hello from the writer thread";
    int rc = fc_pwrite_all(fd, msg, sizeof msg - 1, 4096);
    fc_mutex_lock(&mu); state = rc ? -rc : 1; fc_cond_broadcast(&cv); fc_mutex_unlock(&mu);
}
int main(void) {
    fc_mutex_init(&mu); fc_cond_init(&cv);
    int fd = _open("t.bin", _O_RDWR | _O_CREAT | _O_TRUNC | _O_BINARY, _S_IREAD | _S_IWRITE);
    if (fd < 0) { perror("open"); return 1; }
    fc_thread_t th;
    if (fc_thread_start(&th, worker, &fd)) { puts("thread start failed"); return 1; }
    fc_mutex_lock(&mu); while (!state) fc_cond_wait(&cv, &mu); fc_mutex_unlock(&mu);
    fc_thread_join(th);
    if (state != 1) { printf("pwrite failed %d\n", state); return 1; }
    if (fc_pwrite_all(fd, "head", 4, 0)) { puts("pwrite 0 failed"); return 1; }
    fc_preallocate(fd, 0, 1 << 20);
    if (fc_datasync(fd)) { puts("datasync failed"); return 1; }
    if (fc_truncate(fd, 4096 + 5)) { puts("truncate failed"); return 1; }
    size_t mapped; char *p = fc_big_alloc(5u << 20, &mapped); memset(p, 1, 5u << 20); fc_big_free(p, mapped);
    char buf[8] = {0}; _lseeki64(fd, 4096, SEEK_SET); _read(fd, buf, 5);
    _close(fd);
    struct _stat64 st; _stat64("t.bin", &st);
    printf("size %lld, read back '%s': %s\n", (long long)st.st_size, buf,
           st.st_size == 4101 && memcmp(buf, "hello", 5) == 0 ? "ok" : "WRONG");
    fc_cond_destroy(&cv); fc_mutex_destroy(&mu);
    return !(st.st_size == 4101 && memcmp(buf, "hello", 5) == 0);
}
