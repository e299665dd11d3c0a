#define _GNU_SOURCE
#include "CHearingShims.h"

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/eventfd.h>

int CHearingShims_malloc_trim(void) {
    return malloc_trim(0);
}

int CHearingShims_renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

int CHearingShims_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int CHearingShims_open_directory_path(const char *path) {
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}
#else
#include <errno.h>
int CHearingShims_malloc_trim(void) { return 0; }
int CHearingShims_renameat_noreplace(int a, const char *b, int c, const char *d) { errno = ENOSYS; return -1; }
int CHearingShims_eventfd(void) { errno = ENOSYS; return -1; }
int CHearingShims_open_directory_path(const char *a) { errno = ENOSYS; return -1; }
#endif
