#define _GNU_SOURCE
#include "CHearingShims.h"

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

int CHearingShims_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int CHearingShims_child_exited(int pid, int blocking) {
    siginfo_t info;
    info.si_pid = 0;
    int result;
    do {
        result = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | (blocking ? 0 : WNOHANG));
    } while (result != 0 && errno == EINTR);
    if (result != 0) return -1;
    return info.si_pid == pid ? 1 : 0;
}

/* Moves `fd` to `target` in the child; dup2 onto itself would keep close-on-exec. */
static int CHearingShims_install_fd(int fd, int target) {
    if (fd == target) {
        return fcntl(fd, F_SETFD, 0);
    }
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* The child's side, between fork and execve: async-signal-safe calls only. */
static void CHearingShims_confine_and_exec(
    const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, int stderr_fd,
    unsigned long long address_space_bytes, unsigned long long cpu_seconds, pid_t parent, int report) {
    int code;
    struct sigaction action;
    sigset_t none;
    struct rlimit limit;

    /* Handlers installed by the parent do not survive exec, but ignored signals would. */
    action.sa_handler = SIG_DFL;
    action.sa_flags = 0;
    sigemptyset(&action.sa_mask);
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        (void)sigaction(signal_number, &action, NULL);
    }
    if (setpgid(0, 0) != 0) goto fail;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
    /* The parent may have died between fork and prctl: then nobody would kill us. */
    if (getppid() != parent) _exit(127);

    /* Standard descriptors may be among the inputs: move them out of the way first. */
    int in = stdin_fd, out = stdout_fd, err = stderr_fd;
    if (in < 3 && in != 0) { in = fcntl(in, F_DUPFD_CLOEXEC, 3); if (in < 0) goto fail; }
    if (out < 3 && out != 1) { out = fcntl(out, F_DUPFD_CLOEXEC, 3); if (out < 0) goto fail; }
    if (err < 3 && err != 2) { err = fcntl(err, F_DUPFD_CLOEXEC, 3); if (err < 0) goto fail; }
    if (CHearingShims_install_fd(in, 0) != 0) goto fail;
    if (CHearingShims_install_fd(out, 1) != 0) goto fail;
    if (CHearingShims_install_fd(err, 2) != 0) goto fail;
    /* Everything else closes at exec; the report pipe stays open until then. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        struct rlimit files;
        rlim_t highest = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY ? files.rlim_cur : 65536;
        for (rlim_t fd = 3; fd < highest; fd++) {
            if ((int)fd != report) (void)close((int)fd);
        }
    }

    limit.rlim_cur = limit.rlim_max = (rlim_t)address_space_bytes;
    if (setrlimit(RLIMIT_AS, &limit) != 0) goto fail;
    limit.rlim_cur = (rlim_t)cpu_seconds;
    limit.rlim_max = (rlim_t)cpu_seconds + 5;
    if (setrlimit(RLIMIT_CPU, &limit) != 0) goto fail;
    limit.rlim_cur = limit.rlim_max = 0;
    if (setrlimit(RLIMIT_CORE, &limit) != 0) goto fail;

    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) goto fail;
    execve(path, argv, envp);
fail:
    code = errno;
    while (write(report, &code, sizeof code) < 0 && errno == EINTR) {}
    _exit(127);
}

int CHearingShims_spawn_confined(
    const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, int stderr_fd,
    unsigned long long address_space_bytes, unsigned long long cpu_seconds) {
    int report[2];
    sigset_t all, previous;
    pid_t parent = getpid();
    if (pipe2(report, O_CLOEXEC) != 0) return -1;

    /* No signal handler of ours may run in the child before its dispositions are reset. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        CHearingShims_confine_and_exec(
            path, argv, envp, stdin_fd, stdout_fd, stderr_fd, address_space_bytes, cpu_seconds, parent, report[1]);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        errno = fork_errno;
        return -1;
    }

    int child_errno = 0;
    ssize_t got;
    do {
        got = read(report[0], &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got > 0) {
        /* The child failed before or at execve and has exited: reap it. */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        errno = child_errno;
        return -1;
    }
    return pid;
}
#else
#include <errno.h>
int CHearingShims_malloc_trim(void) { return 0; }
int CHearingShims_renameat_noreplace(int a, const char *b, int c, const char *d) { errno = ENOSYS; return -1; }
int CHearingShims_eventfd(void) { errno = ENOSYS; return -1; }
int CHearingShims_open_directory_path(const char *a) { errno = ENOSYS; return -1; }
int CHearingShims_pipe_cloexec(int fds[2]) { errno = ENOSYS; return -1; }
int CHearingShims_child_exited(int pid, int blocking) { errno = ENOSYS; return -1; }
int CHearingShims_spawn_confined(
    const char *a, char *const b[], char *const c[], int d, int e, int f, unsigned long long g, unsigned long long h) {
    errno = ENOSYS;
    return -1;
}
#endif
