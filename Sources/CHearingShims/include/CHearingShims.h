#ifndef C_HEARING_SHIMS_H
#define C_HEARING_SHIMS_H

#include <stddef.h>

/// Returns unused heap memory to the kernel (glibc `malloc_trim(0)`).
/// Returns 1 if memory was released, 0 otherwise, and 0 where unsupported.
int CHearingShims_malloc_trim(void);

/// `renameat2(2)` with `RENAME_NOREPLACE`: fails with EEXIST instead of replacing the target.
int CHearingShims_renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/// `eventfd(2)` with `EFD_CLOEXEC | EFD_NONBLOCK`.
int CHearingShims_eventfd(void);

/// `open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)`: a directory descriptor for `*at` calls that
/// needs no read permission on the directory (O_PATH is a _GNU_SOURCE macro).
int CHearingShims_open_directory_path(const char *path);

#endif
