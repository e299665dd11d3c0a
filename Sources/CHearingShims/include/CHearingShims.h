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

/// `pipe2(2)` with `O_CLOEXEC` (a GNU extension Swift's Glibc module leaves out).
int CHearingShims_pipe_cloexec(int fds[2]);

/// Whether child `pid` has exited, without reaping it (`waitid` with `WNOWAIT`): 1 if it has,
/// 0 if not yet (only without `blocking`), -1 with `errno` on failure.
int CHearingShims_child_exited(int pid, int blocking);

/// Starts `path` with `argv` and `envp` (NULL-terminated) as a child that HearingAI does not
/// trust: in a process group of its own, with standard input, output and error on `stdin_fd`,
/// `stdout_fd` and `stderr_fd`, every other descriptor closed, default signal handling, an
/// address-space limit of `address_space_bytes`, a CPU-time limit of `cpu_seconds` (SIGXCPU,
/// then SIGKILL 5 s later), no core files, and SIGKILL when the calling thread exits.
///
/// `fork` is followed only by async-signal-safe calls up to `execve`. Returns the child's pid,
/// or -1 with `errno` set (also when `execve` itself failed: the child reports its errno
/// through a close-on-exec pipe and is reaped here).
int CHearingShims_spawn_confined(
    const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, int stderr_fd,
    unsigned long long address_space_bytes, unsigned long long cpu_seconds);

#endif
