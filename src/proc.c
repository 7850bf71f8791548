/* proc.c: spawning, process groups, signals, reaping, timeouts (see proc.h). */
#include "proc.h"
#include "log_pump.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

/* The self-pipe of the active proc_set: [0] is read by proc_wait_any, [1] is written
 * by the signal handler. This is the only file-static mutable state in stau's
 * process code, and it has to be: a signal handler gets nothing but the signal
 * number, so the descriptor it writes to must live in a global. */
static int signal_pipe[2] = {-1, -1};

/* The signals proc_set_init handles, in the order of proc_set.saved. */
static const int handled_signals[PROC_SIGNALS] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};

/* What went wrong in the child before execve succeeded, sent through the
 * close-on-exec pipe. */
enum child_stage {
    STAGE_SETPGID,
    STAGE_CHDIR,
    STAGE_STDIO,
    STAGE_SIGNALS,
    STAGE_FDS,
    STAGE_EXEC,
};
struct child_failure {
    int stage; /* an enum child_stage */
    int errnum;
};

int64_t proc_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        fatal("cannot read the monotonic clock:");
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Put a message into err, or print it when err is NULL; returns -1. */
__attribute__((format(printf, 2, 3))) static int fail(struct strbuf *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err) {
        strbuf_vaddf(err, fmt, ap);
    } else {
        struct strbuf sb = STRBUF_INIT;
        strbuf_vaddf(&sb, fmt, ap);
        error("%s", strbuf_str(&sb));
        strbuf_release(&sb);
    }
    va_end(ap);
    return -1;
}

static void close_quietly(int fd)
{
    int saved = errno;
    if (fd >= 0)
        (void)close(fd); /* nothing useful to do if closing fails on an error path */
    errno = saved;
}

/* The lowest descriptor the parent hands the child: the child's dup2 onto 0, 1, 2
 * and PROC_INPUT_FD can then never clobber one it still needs (stau may run with
 * 0-2 closed). */
enum { FIRST_FREE_FD = PROC_INPUT_FD + 1 };

/* fd as a close-on-exec descriptor numbered FIRST_FREE_FD or above (fd itself when
 * it already is); -1 with errno set, fd closed, on failure. */
static int raise_fd(int fd)
{
    if (fd < 0 || fd >= FIRST_FREE_FD)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, FIRST_FREE_FD);
    close_quietly(fd);
    return high;
}

/* Open path as a close-on-exec descriptor numbered FIRST_FREE_FD or above. */
static int open_high(const char *path, int flags, mode_t mode)
{
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return raise_fd(fd);
}

/* A close-on-exec descriptor reading the len bytes of data from their start: an
 * unlinked in-memory file, so neither a pipe's size nor a child that never reads
 * can block stau, and no other user can read it. -1 with errno set on failure. */
static int input_fd_of(const char *data, size_t len)
{
    int fd = memfd_create("stau-input", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    fd = raise_fd(fd);
    if (fd < 0)
        return -1;
    if (fd_write_all(fd, data, len) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
        close_quietly(fd);
        return -1;
    }
    return fd;
}

/* Whether path is a regular file we may execute; errno says why not. */
static bool is_executable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (!S_ISREG(st.st_mode)) {
        errno = EACCES;
        return false;
    }
    return access(path, X_OK) == 0;
}

/* The file execve should run for name: name itself when it holds a '/', otherwise
 * the first executable match in PATH (as execvp would find it). The lookup happens
 * in the parent because the child may only make async-signal-safe calls. NULL with
 * errno set when there is none. */
static char *locate_program(const char *name)
{
    if (!*name) {
        errno = ENOENT;
        return NULL;
    }
    if (strchr(name, '/'))
        return xstrdup(name);
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int found_errno = ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *candidate = len ? xprintf("%.*s/%s", (int)len, p, name) : xstrdup(name);
        if (is_executable(candidate))
            return candidate;
        if (errno == EACCES)
            found_errno = EACCES;
        free(candidate);
        if (!end)
            break;
        p = end;
    }
    errno = found_errno;
    return NULL;
}

/* The length of the key of an environment entry "KEY=VALUE" (or a bare "KEY"). */
static size_t env_key_length(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* Whether entry's key is that of one of the entries of list (count of them). */
static bool env_has_key(const char *const *list, size_t count, const char *entry)
{
    size_t len = env_key_length(entry);
    for (size_t j = 0; j < count; j++)
        if (env_key_length(list[j]) == len && memcmp(list[j], entry, len) == 0)
            return true;
    return false;
}

/* The child's environment: stau's own minus the keys in extra, then extra's
 * "KEY=VALUE" entries, then the defaults of a key neither has. The strings are
 * borrowed; free only the array. */
static char **build_environment(const char *const *extra, const char *const *defaults)
{
    size_t inherited = 0, extras = 0, more = 0;
    while (environ && environ[inherited])
        inherited++;
    while (extra && extra[extras])
        extras++;
    while (defaults && defaults[more])
        more++;
    char **env = xcalloc(inherited + extras + more + 1, sizeof(*env));
    size_t n = 0;
    for (size_t i = 0; i < inherited; i++)
        if (!env_has_key(extra, extras, environ[i]))
            env[n++] = environ[i];
    for (size_t j = 0; j < extras; j++)
        if (strchr(extra[j], '='))
            env[n++] = (char *)extra[j];
    for (size_t j = 0; j < more; j++)
        if (strchr(defaults[j], '=') && !env_has_key(extra, extras, defaults[j]) &&
            !env_has_key((const char *const *)environ, inherited, defaults[j]))
            env[n++] = (char *)defaults[j];
    env[n] = NULL;
    return env;
}

/* In the child: report what failed through the close-on-exec pipe and exit. */
static _Noreturn void child_fail(int report_fd, enum child_stage stage)
{
    struct child_failure failure = {stage, errno};
    const char *p = (const char *)&failure;
    size_t left = sizeof(failure);
    while (left > 0) {
        ssize_t n = write(report_fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the parent then sees a short report and says so */
        p += n;
        left -= (size_t)n;
    }
    _exit(127);
}

/* In the child: make fd become target (dup2 clears close-on-exec on target). */
static int move_fd(int fd, int target)
{
    int r;
    do
        r = dup2(fd, target);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

/* In the child between fork and execve; only async-signal-safe calls from here. */
static _Noreturn void child_exec(const char *program, const char *const *argv, char **env,
                                 const char *cwd, int null_fd, int log_fd, int input_fd,
                                 int report_fd)
{
    if (setpgid(0, 0) != 0)
        child_fail(report_fd, STAGE_SETPGID);
    if (cwd && chdir(cwd) != 0)
        child_fail(report_fd, STAGE_CHDIR);
    if (move_fd(null_fd, 0) || move_fd(log_fd, 1) || move_fd(log_fd, 2) ||
        (input_fd >= 0 && move_fd(input_fd, PROC_INPUT_FD)))
        child_fail(report_fd, STAGE_STDIO);
    /* Default dispositions before unblocking: a signal arriving now must not run
     * stau's handler, which would write to stau's self-pipe. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    if (sigemptyset(&dfl.sa_mask) != 0)
        child_fail(report_fd, STAGE_SIGNALS);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        /* EINVAL: a number the C library reserves for itself (glibc's 32 and 33). */
        if (sigaction(sig, &dfl, NULL) != 0 && errno != EINVAL)
            child_fail(report_fd, STAGE_SIGNALS);
    }
    sigset_t none;
    if (sigemptyset(&none) != 0 || sigprocmask(SIG_SETMASK, &none, NULL) != 0)
        child_fail(report_fd, STAGE_SIGNALS);
    /* Descriptors stau inherited or a library opened without O_CLOEXEC must not
     * leak into the job; report_fd itself is closed only by a successful execve. */
    unsigned first = input_fd >= 0 ? PROC_INPUT_FD + 1 : 3;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
#endif
    {
        struct rlimit limit;
        int max = 65536;
        if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)max)
            max = (int)limit.rlim_cur;
        for (int fd = (int)first; fd < max; fd++)
            if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 && errno != EBADF)
                child_fail(report_fd, STAGE_FDS);
    }
    execve(program, (char *const *)argv, env);
    child_fail(report_fd, STAGE_EXEC);
}

/* Read the child's failure report: 0 when execve succeeded (end of file), 1 with
 * *failure filled when it did not, -1 on a read error. */
static int read_failure(int fd, struct child_failure *failure)
{
    char *p = (char *)failure;
    size_t got = 0;
    while (got < sizeof(*failure)) {
        ssize_t n = read(fd, p + got, sizeof(*failure) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got == 0)
        return 0;
    if (got < sizeof(*failure))
        *failure = (struct child_failure){STAGE_EXEC, EIO};
    return 1;
}

/* Wait for pid to end, retrying on EINTR; -1 on error. */
static int reap(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, 0);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

static const char *stage_name(int stage)
{
    switch (stage) {
    case STAGE_SETPGID:
        return "make a process group";
    case STAGE_STDIO:
        return "redirect stdin, stdout, stderr and its input";
    case STAGE_SIGNALS:
        return "reset signals";
    case STAGE_FDS:
        return "close file descriptors";
    default:
        return "start";
    }
}

/* Fork and exec with everything prepared; the parent half of proc_start. */
static int spawn(const struct proc_spec *spec, const char *program, char **env, int null_fd,
                 int log_fd, int input_fd, struct proc *out, struct strbuf *err)
{
    const char *name = spec->argv[0];
    /* Block every signal across fork so the child cannot run stau's handlers before
     * it has reset them; the parent gets its mask back right after. */
    sigset_t all, old;
    if (sigfillset(&all) != 0)
        return fail(err, "cannot run '%s': cannot fill a signal set", name);
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        return fail(err, "cannot run '%s': cannot make a pipe: %s", name, strerror(errno));
    report[0] = raise_fd(report[0]);
    report[1] = raise_fd(report[1]);
    if (report[0] < 0 || report[1] < 0) {
        int saved = errno;
        close_quietly(report[0]);
        close_quietly(report[1]);
        return fail(err, "cannot run '%s': cannot make a pipe: %s", name, strerror(saved));
    }
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc != 0) {
        close_quietly(report[0]);
        close_quietly(report[1]);
        return fail(err, "cannot run '%s': cannot block signals: %s", name, strerror(rc));
    }
    int64_t start = proc_now_ms();
    /* vfork: the child only makes system calls and then execs or _exits (reporting
     * through the pipe), so it need not copy stau's page tables, which a fork per
     * job would do hundreds of times a minute. Every signal is blocked meanwhile,
     * and the child resets handlers before unblocking, so none runs in it. */
    pid_t pid = vfork();
    if (pid == 0)
        child_exec(program, spec->argv, env, spec->cwd, null_fd, log_fd, input_fd, report[1]);
    int fork_errno = errno;
    rc = pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        fatal("cannot restore the signal mask: %s", strerror(rc));
    close_quietly(report[1]);
    if (pid < 0) {
        close_quietly(report[0]);
        return fail(err, "cannot run '%s': cannot fork: %s", name, strerror(fork_errno));
    }
    /* Also from the parent, so the group exists before proc_start returns whoever
     * runs first. EACCES: the child has already exec'd (and so made its group);
     * ESRCH: it has already failed, which the report pipe tells below. */
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH)
        warn("cannot put process %d of '%s' in its own process group:", (int)pid, name);

    struct child_failure failure;
    int got = read_failure(report[0], &failure);
    int read_errno = errno;
    close_quietly(report[0]);
    if (got != 0) {
        int status;
        if (got < 0 && kill(pid, SIGKILL) != 0) /* unknown state: do not leave it running */
            warn("cannot kill process %d of '%s':", (int)pid, name);
        if (reap(pid, &status) != 0)
            warn("cannot reap process %d of '%s':", (int)pid, name);
        if (got < 0)
            return fail(err, "cannot run '%s': cannot read from the child: %s", name,
                        strerror(read_errno));
        if (failure.stage == STAGE_EXEC)
            return fail(err, "cannot run '%s': %s", name, strerror(failure.errnum));
        if (failure.stage == STAGE_CHDIR)
            return fail(err, "cannot run '%s' in '%s': %s", name, spec->cwd,
                        strerror(failure.errnum));
        return fail(err, "cannot run '%s': cannot %s: %s", name, stage_name(failure.stage),
                    strerror(failure.errnum));
    }
    *out = (struct proc){
        .pid = pid,
        .start_ms = start,
        .timeout_at_ms = spec->timeout_ms > 0 ? start + spec->timeout_ms : -1,
        .grace_ms = spec->grace_ms,
        .kill_at_ms = -1,
        .log_fd = -1,
        .leftovers_kill_at_ms = -1,
    };
    return 0;
}

int proc_start(const struct proc_spec *spec, struct proc *out, struct strbuf *err)
{
    if (!spec->argv || !spec->argv[0])
        return fail(err, "cannot run an empty command");
    const char *name = spec->argv[0];
    char *program = locate_program(name);
    if (!program)
        return fail(err, "cannot run '%s': %s", name, strerror(errno));
    /* (Readable too: note_leftovers looks at its last byte.) */
    int log_fd = open_high(spec->log_path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, 0600);
    if (log_fd < 0) {
        int saved = errno;
        free(program);
        return fail(err, "cannot open log '%s': %s", spec->log_path, strerror(saved));
    }
    int null_fd = open_high("/dev/null", O_RDONLY, 0);
    if (null_fd < 0) {
        int saved = errno;
        free(program);
        close_quietly(log_fd);
        return fail(err, "cannot open '/dev/null': %s", strerror(saved));
    }
    /* With a cap, the job writes into a pipe that a thread copies into the log. */
    int output_fd = log_fd;
    struct log_pump *pump = NULL;
    if (spec->log_limit) {
        pump = log_pump_start(log_fd, spec->log_path, spec->log_limit, &output_fd, err);
        if (!pump) {
            free(program);
            close_quietly(log_fd);
            close_quietly(null_fd);
            return -1;
        }
    }
    int input_fd = -1;
    if (spec->input && (input_fd = input_fd_of(spec->input, spec->input_len)) < 0) {
        int saved = errno;
        free(program);
        if (pump) {
            close_quietly(output_fd);
            log_pump_finish(pump, 0);
        }
        close_quietly(log_fd);
        close_quietly(null_fd);
        return fail(err, "cannot run '%s': cannot pass its input: %s", name, strerror(saved));
    }
    char **env = build_environment(spec->env_extra, spec->env_defaults);
    int rc = spawn(spec, program, env, null_fd, output_fd, input_fd, out, err);
    free(env);
    free(program);
    close_quietly(null_fd);
    close_quietly(input_fd);
    if (pump)
        close_quietly(output_fd); /* the job has it: its end means the job's output ended */
    if (rc == 0) {
        out->log_fd = log_fd; /* kept to note what is left behind (reap_one) */
        out->pump = pump;
    } else {
        log_pump_finish(pump, 0);
        close_quietly(log_fd);
    }
    return rc;
}

/* Signal the process group of proc; -1 with a message unless it is gone already. */
static int signal_group(struct proc *proc, int sig)
{
    if (proc->pid <= 0)
        return 0;
    if (kill(-proc->pid, sig) != 0 && errno != ESRCH)
        return error("cannot send %s to process group %d:", strsignal(sig), (int)proc->pid);
    return 0;
}

int proc_terminate(struct proc *proc, int64_t grace_ms)
{
    if (proc->pid <= 0)
        return 0;
    proc->terminated = true;
    if (grace_ms <= 0) {
        proc->kill_at_ms = -1;
        return signal_group(proc, SIGKILL);
    }
    int64_t kill_at = proc_now_ms() + grace_ms;
    if (proc->kill_at_ms < 0 || kill_at < proc->kill_at_ms)
        proc->kill_at_ms = kill_at;
    return signal_group(proc, SIGTERM);
}

/* The handler for every signal of handled_signals: async-signal-safe by doing
 * nothing but writing the signal number to the self-pipe. */
static void on_signal(int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    /* A failure can only be EAGAIN, a full pipe, which poll sees as readable anyway. */
    ssize_t n = write(signal_pipe[1], &byte, 1);
    (void)n;
    errno = saved;
}

int proc_set_init(struct proc_set *set)
{
    if (signal_pipe[0] >= 0)
        return error("cannot wait for processes: another process set is active");
    *set = (struct proc_set)PROC_SET_INIT;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    if (sigemptyset(&action.sa_mask) != 0)
        return error("cannot make a signal set");
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        signal_pipe[0] = signal_pipe[1] = -1;
        return error("cannot make the signal pipe:");
    }
    size_t installed = 0;
    for (; installed < PROC_SIGNALS; installed++) {
        int sig = handled_signals[installed];
        struct sigaction *saved = &set->saved[installed];
        if (sigaction(sig, NULL, saved) != 0)
            break;
        /* Started with SIGINT, SIGTERM or SIGHUP ignored (e.g. `stau &` in a script,
         * nohup): keep ignoring it, as shells and git do. */
        if (sig != SIGCHLD && saved->sa_handler == SIG_IGN)
            continue;
        action.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
        if (sigaction(sig, &action, NULL) != 0)
            break;
    }
    if (installed < PROC_SIGNALS) {
        int saved_errno = errno;
        while (installed-- > 0)
            (void)sigaction(handled_signals[installed], &set->saved[installed], NULL);
        close_quietly(signal_pipe[0]);
        close_quietly(signal_pipe[1]);
        signal_pipe[0] = signal_pipe[1] = -1;
        errno = saved_errno;
        return error("cannot install signal handlers:");
    }
    set->active = true;
    return 0;
}

void proc_set_add(struct proc_set *set, struct proc *proc)
{
    VEC_PUSH(&set->procs, proc);
}

/* Empty the self-pipe, counting the interrupts in it. */
static int drain_signals(struct proc_set *set)
{
    unsigned char bytes[64];
    for (;;) {
        ssize_t n = read(signal_pipe[0], bytes, sizeof(bytes));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0)
            return error("cannot read the signal pipe:");
        if (n == 0)
            return error("the signal pipe was closed");
        for (ssize_t i = 0; i < n; i++) {
            if (bytes[i] == SIGHUP && set->hangup_reloads) {
                set->reloads++;
            } else if (bytes[i] == SIGINT || bytes[i] == SIGTERM || bytes[i] == SIGHUP) {
                set->interrupts++;
                set->last_interrupt_signal = bytes[i];
            }
        }
    }
}

static void remove_proc(struct proc_set *set, size_t i)
{
    set->procs.items[i] = set->procs.items[--set->procs.len];
}

/* Whether process pid is a zombie (or gone): ended, only not reaped yet by whoever
 * is its parent now. */
static bool is_ended(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close_quietly(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the state follows the command name */
    return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

/* Count the live processes of proc's group but proc itself, and add those not yet
 * known to its leftovers. */
static size_t find_leftovers(struct proc *proc)
{
    DIR *d = opendir("/proc");
    if (!d) {
        /* Cannot look: assume the worst, so the group still gets its signals. */
        return 1;
    }
    size_t alive = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        if (pid == proc->pid || getpgid(pid) != proc->pid || is_ended(pid))
            continue;
        alive++;
        bool known = false;
        size_t named =
            proc->leftovers < PROC_LEFTOVERS_NAMED ? proc->leftovers : PROC_LEFTOVERS_NAMED;
        for (size_t i = 0; i < named && !known; i++)
            known = proc->leftover_pids[i] == pid;
        if (known)
            continue;
        if (proc->leftovers < PROC_LEFTOVERS_NAMED)
            proc->leftover_pids[proc->leftovers] = pid;
        proc->leftovers++;
    }
    closedir(d);
    return alive;
}

static int by_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* How long the rest of a job's output may take to reach its log once the job and its
 * group have ended (a process that left the group may hold the pipe open for ever). */
enum { PROC_LOG_DRAIN_MS = 1000 };

/* The job's group has ended: let its output reach the log, kept end included. */
static void finish_log(struct proc *proc)
{
    log_pump_finish(proc->pump, PROC_LOG_DRAIN_MS);
    proc->pump = NULL;
}

/* Note in proc's log what was left of its group and ended: one line, on a line of
 * its own, written at once. */
static void note_leftovers(struct proc *proc, bool killed)
{
    if (proc->log_fd < 0 || !proc->leftovers)
        return;
    size_t named = proc->leftovers < PROC_LEFTOVERS_NAMED ? proc->leftovers : PROC_LEFTOVERS_NAMED;
    qsort(proc->leftover_pids, named, sizeof(*proc->leftover_pids), by_pid);
    struct strbuf line = STRBUF_INIT;
    struct stat st;
    char last = '\n';
    if (fstat(proc->log_fd, &st) == 0 && st.st_size > 0 &&
        pread(proc->log_fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
        strbuf_addch(&line, '\n');
    strbuf_addf(&line, "stau: ended %zu %s left behind by the job", proc->leftovers,
                proc->leftovers == 1 ? "process" : "processes");
    if (killed)
        strbuf_addf(&line, " (SIGKILL after %d s)", PROC_LEFTOVER_GRACE_MS / 1000);
    strbuf_addf(&line, ": %s ", proc->leftovers == 1 ? "PID" : "PIDs");
    for (size_t i = 0; i < named; i++)
        strbuf_addf(&line, "%s%d", i ? ", " : "", (int)proc->leftover_pids[i]);
    if (named < proc->leftovers)
        strbuf_addf(&line, " and %zu more", proc->leftovers - named);
    strbuf_addch(&line, '\n');
    if (write(proc->log_fd, line.buf, line.len) != (ssize_t)line.len)
        warn("cannot write to the log of process %d:", (int)proc->pid);
    strbuf_release(&line);
}

/* proc has ended: whether what is left of its group has ended too, sending it
 * SIGTERM the first time and SIGKILL once the grace has passed. */
static bool leftovers_ended(struct proc *proc, int64_t now)
{
    if (find_leftovers(proc) == 0) {
        finish_log(proc);
        note_leftovers(proc, false);
        return true;
    }
    if (proc->leftovers_kill_at_ms < 0) {
        proc->leftovers_kill_at_ms = now + PROC_LEFTOVER_GRACE_MS;
        (void)signal_group(proc, SIGTERM);
        return false;
    }
    if (now < proc->leftovers_kill_at_ms)
        return false;
    (void)signal_group(proc, SIGKILL);
    finish_log(proc);
    note_leftovers(proc, true);
    return true;
}

/* Reap one child of the set that has ended, if any: 1 with ev filled, 0 if all are
 * still running, -1 on error. */
static int reap_one(struct proc_set *set, struct proc_event *ev)
{
    for (size_t i = 0; i < set->procs.len; i++) {
        struct proc *proc = set->procs.items[i];
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        /* Look without reaping first: while the zombie holds its pid, the group id
         * cannot be reused, so the SIGKILL below reaches only the job's leftovers. */
        if (waitid(P_PID, (id_t)proc->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
            if (errno == EINTR) {
                i--; /* look at the same child again */
                continue;
            }
            int saved = errno;
            pid_t pid = proc->pid;
            remove_proc(set, i);
            proc->pid = 0;
            errno = saved;
            return error("cannot wait for process %d:", (int)pid);
        }
        if (info.si_pid == 0)
            continue;
        /* A job we terminated may have children that ignored the SIGTERM and outlive
         * it: take the whole group down with it. One that ended by itself may have
         * left a daemon running: end what is left of its group first (while the
         * unreaped job holds its pid, the group id cannot be reused). */
        if (proc->terminated) {
            if (signal_group(proc, SIGKILL) != 0)
                return -1;
            finish_log(proc);
            note_leftovers(proc, proc->leftovers_kill_at_ms >= 0);
        } else if (!leftovers_ended(proc, proc_now_ms())) {
            continue;
        }
        close_quietly(proc->log_fd);
        proc->log_fd = -1;
        int status;
        if (reap(proc->pid, &status) != 0)
            return error("cannot reap process %d:", (int)proc->pid);
        *ev = (struct proc_event){
            .kind = PROC_EVENT_EXIT,
            .proc = proc,
            .status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
            .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
            .wall_ms = proc_now_ms() - proc->start_ms,
            .timed_out = proc->timed_out,
        };
        proc->pid = 0;
        proc->kill_at_ms = -1;
        remove_proc(set, i);
        return 1;
    }
    return 0;
}

/* Fire the timeouts and grace periods that are due; returns the earliest pending
 * one (or -1 for none) through *next. */
static int enforce_timers(struct proc_set *set, int64_t now, int64_t *next)
{
    int rc = 0;
    *next = -1;
    for (size_t i = 0; i < set->procs.len; i++) {
        struct proc *proc = set->procs.items[i];
        if (proc->leftovers_kill_at_ms >= 0 && !proc->terminated) {
            /* Ended, with its leftovers being ended: look again soon (they are no
             * children of stau's, so no SIGCHLD says when they are gone). */
            int64_t look =
                now + 20 < proc->leftovers_kill_at_ms ? now + 20 : proc->leftovers_kill_at_ms;
            if (*next < 0 || look < *next)
                *next = look;
            continue;
        }
        if (proc->timeout_at_ms >= 0 && !proc->terminated && now >= proc->timeout_at_ms) {
            proc->timed_out = true;
            rc |= proc_terminate(proc, proc->grace_ms);
        }
        if (proc->kill_at_ms >= 0 && now >= proc->kill_at_ms) {
            proc->kill_at_ms = -1;
            rc |= signal_group(proc, SIGKILL);
        }
        int64_t due = proc->terminated ? proc->kill_at_ms : proc->timeout_at_ms;
        if (due >= 0 && (*next < 0 || due < *next))
            *next = due;
    }
    return rc ? -1 : 0;
}

int proc_wait_any(struct proc_set *set, int64_t deadline_ms, struct proc_event *ev)
{
    if (!set->active)
        return error("cannot wait for processes: the process set is not initialised");
    memset(ev, 0, sizeof(*ev));
    /* Drain, then look, then sleep: a SIGCHLD after the look leaves a byte in the
     * pipe, so poll cannot sleep through it. */
    for (;;) {
        if (drain_signals(set) != 0)
            return -1;
        if (set->interrupts_reported < set->interrupts) {
            ev->kind = PROC_EVENT_INTERRUPT;
            ev->interrupts = ++set->interrupts_reported;
            ev->interrupt_signal = set->last_interrupt_signal;
            return 0;
        }
        if (set->reloads) {
            set->reloads = 0;
            ev->kind = PROC_EVENT_RELOAD;
            return 0;
        }
        int got = reap_one(set, ev);
        if (got != 0)
            return got < 0 ? -1 : 0;
        int64_t now = proc_now_ms(), next;
        if (enforce_timers(set, now, &next) != 0)
            return -1;
        if (deadline_ms >= 0 && now >= deadline_ms) {
            ev->kind = PROC_EVENT_DEADLINE;
            return 0;
        }
        if (set->procs.len == 0 && deadline_ms < 0) {
            ev->kind = PROC_EVENT_IDLE;
            return 0;
        }
        if (deadline_ms >= 0 && (next < 0 || deadline_ms < next))
            next = deadline_ms;
        int timeout = -1;
        if (next >= 0)
            timeout = next - now > INT_MAX ? INT_MAX : (int)(next - now);
        /* a negative fd is skipped by poll() */
        struct pollfd pfd[3] = {{.fd = signal_pipe[0], .events = POLLIN},
                                {.fd = set->watch_fd, .events = POLLIN},
                                {.fd = set->wake_fd, .events = POLLIN}};
        int ready = poll(pfd, 3, timeout);
        if (ready < 0 && errno != EINTR)
            return error("cannot wait for processes:");
        for (int k = 1; k < 3 && ready > 0; k++) {
            if (pfd[k].fd >= 0 && (pfd[k].revents & (POLLIN | POLLERR | POLLHUP))) {
                ev->kind = PROC_EVENT_READABLE;
                return 0;
            }
        }
    }
}

int proc_terminate_all(struct proc_set *set, int64_t grace_ms)
{
    int rc = 0;
    for (size_t i = 0; i < set->procs.len; i++)
        rc |= proc_terminate(set->procs.items[i], grace_ms);
    return rc ? -1 : 0;
}

int proc_kill_all(struct proc_set *set)
{
    return proc_terminate_all(set, 0);
}

void proc_set_release(struct proc_set *set)
{
    for (size_t i = 0; i < set->procs.len; i++) {
        struct proc *proc = set->procs.items[i];
        int status;
        (void)signal_group(proc, SIGKILL);
        if (proc->pid > 0 && reap(proc->pid, &status) != 0)
            warn("cannot reap process %d:", (int)proc->pid);
        proc->pid = 0;
        finish_log(proc);
        close_quietly(proc->log_fd);
        proc->log_fd = -1;
    }
    VEC_FREE(&set->procs);
    if (set->active) {
        for (size_t i = 0; i < PROC_SIGNALS; i++)
            if (sigaction(handled_signals[i], &set->saved[i], NULL) != 0)
                warn("cannot restore the handler of %s:", strsignal(handled_signals[i]));
        close_quietly(signal_pipe[0]);
        close_quietly(signal_pipe[1]);
        signal_pipe[0] = signal_pipe[1] = -1;
        set->active = false;
    }
}

bool proc_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int proc_capture(const char *const *argv, struct strbuf *out, struct strbuf *err)
{
    char path[] = "/tmp/stau-capture-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        if (err)
            strbuf_addf(err, "cannot make a temporary file: %s", strerror(errno));
        return -1;
    }
    close(fd);
    struct proc_spec spec = {.argv = argv, .log_path = path};
    struct proc proc;
    int status = -1;
    if (proc_start(&spec, &proc, err) == 0) {
        close_quietly(proc.log_fd);
        int wstatus;
        pid_t got;
        while ((got = waitpid(proc.pid, &wstatus, 0)) < 0 && errno == EINTR)
            ;
        if (got == proc.pid)
            status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        else if (err)
            strbuf_addf(err, "cannot wait for '%s': %s", argv[0], strerror(errno));
        FILE *f = fopen(path, "r");
        char buf[4096];
        size_t n;
        while (f && out && (n = fread(buf, 1, sizeof(buf), f)) > 0)
            strbuf_add(out, buf, n);
        if (f)
            fclose(f);
    }
    unlink(path);
    return status;
}

int64_t proc_start_time_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 22 (starttime, clock ticks after boot) follows the ")" ending field 2. */
    char *p = strrchr(buf, ')');
    unsigned long long ticks = 0;
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
        return -1;
    FILE *s = fopen("/proc/stat", "r");
    char line[256];
    long long boot = -1;
    while (s && fgets(line, sizeof(line), s))
        if (sscanf(line, "btime %lld", &boot) == 1)
            break;
    if (s)
        fclose(s);
    long hz = sysconf(_SC_CLK_TCK);
    if (boot < 0 || hz <= 0)
        return -1;
    return boot * 1000 + (int64_t)(ticks * 1000 / (unsigned long long)hz);
}

int proc_kill_orphan_group(pid_t pid, int64_t started_ms)
{
    if (pid <= 0 || getpgid(pid) != pid)
        return 0;
    int64_t start = proc_start_time_ms(pid);
    if (start < 0 || start < started_ms - 5000 || start > started_ms + 5000)
        return 0;
    return kill(-pid, SIGKILL) == 0 ? 1 : 0;
}

/* STAU_RUN_ID and STAU_OWNER from process pid's starting environment into *id
 * and owner; false when it has not both. */
static bool run_of(const char *pid, int64_t *id, char *owner, size_t owner_size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%s/environ", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    static const char id_key[] = "STAU_RUN_ID=", owner_key[] = "STAU_OWNER=";
    *id = 0;
    owner[0] = '\0';
    for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
        if (strncmp(p, id_key, sizeof(id_key) - 1) == 0)
            *id = strtoll(p + sizeof(id_key) - 1, NULL, 10);
        else if (strncmp(p, owner_key, sizeof(owner_key) - 1) == 0)
            snprintf(owner, owner_size, "%s", p + sizeof(owner_key) - 1);
    }
    return *id && owner[0];
}

size_t proc_kill_orphans_of_runs(const int64_t *run_ids, const char *const *owners, size_t count,
                                 pid_t *killed)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        /* Only a group leader: the job itself (its children share its environment). */
        if (pid == getpid() || getpgid(pid) != pid)
            continue;
        int64_t id;
        char owner[128];
        if (!run_of(e->d_name, &id, owner, sizeof(owner)))
            continue;
        for (size_t i = 0; i < count; i++) {
            if (run_ids[i] == id && strcmp(owners[i], owner) == 0 && kill(-pid, SIGKILL) == 0) {
                if (killed)
                    killed[i] = pid;
                n++;
                break;
            }
        }
    }
    closedir(d);
    return n;
}
