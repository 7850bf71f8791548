/* proc.h: running jobs as child processes; every OS process call of stau is in proc.c.
 *
 * Each child runs in a process group of its own (so a signal to the group reaches
 * the job's own children and grandchildren, and Ctrl-C at the terminal reaches only
 * stau), with stdin from /dev/null, stdout and stderr appended to one log file, the
 * inherited environment plus extras, default signal dispositions and an empty
 * signal mask, and no file descriptor but 0, 1 and 2 (and PROC_INPUT_FD, reading the
 * spec's input, when it has one: data such as kwargs that must not be on the command
 * line, which every user can read with ps). A failure to start the program
 * (no such interpreter, no permission) comes back through a close-on-exec pipe and
 * makes proc_start fail with a message instead of a child exiting 127.
 *
 * Waiting: a proc_set holds the running children. Its signal handlers for SIGCHLD,
 * SIGINT, SIGTERM and SIGHUP only write a byte to a self-pipe, and proc_wait_any sleeps in
 * poll() on that pipe until a child ends, a timeout or the caller's deadline passes,
 * or stau is interrupted: no busy loop, no work in signal handlers. Timeouts follow
 * SPEC §3: SIGTERM to the group, SIGKILL to the group after a grace period.
 *
 * Times are milliseconds on the monotonic clock (proc_now_ms), -1 meaning "none".
 */
#ifndef STAU_PROC_H
#define STAU_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct log_pump;

/* The child's descriptor reading proc_spec.input. */
enum { PROC_INPUT_FD = 3 };

/* What to run; all pointers are borrowed for the duration of proc_start only. */
struct proc_spec {
    const char *const *argv;      /* program and arguments, NULL-terminated; argv[0]
                                     without a '/' is looked up in stau's own PATH */
    const char *const *env_extra; /* NULL-terminated "KEY=VALUE" entries added to (or
                                     replacing) the inherited environment; a bare "KEY"
                                     removes KEY; NULL for none */
    const char *cwd;              /* working directory of the child; NULL: stau's own */
    const char *log_path;         /* stdout and stderr are appended here; created 0600 */
    int64_t timeout_ms;           /* run time after which the group is terminated; 0: none */
    int64_t grace_ms;             /* SIGTERM-to-SIGKILL delay on timeout; 0: SIGKILL at once */
    const char *input;            /* bytes the child reads on PROC_INPUT_FD (from their start,
                                     in one go or not, at any time); NULL: no such fd */
    size_t input_len;             /* how many bytes of input */
    /* NULL-terminated "KEY=VALUE" entries added where neither env_extra nor the
     * inherited environment has the key (the project's env file); NULL for none */
    const char *const *env_defaults;
    uint64_t log_limit;           /* the most bytes the log keeps: its first and last halves,
                                     with a line on what was dropped (log_pump.h); 0: all */
};

/* How many processes left behind in a job's group its log names. */
enum { PROC_LEFTOVERS_NAMED = 16 };
/* How long what a job left in its group may take to end after SIGTERM. */
enum { PROC_LEFTOVER_GRACE_MS = 2000 };

/* A started child; owned by the caller, filled in by proc_start. When the child
 * itself ends while other processes of its group live on (a daemon it forked), the
 * set ends those first: SIGTERM, SIGKILL after PROC_LEFTOVER_GRACE_MS; the child is
 * reported as ended once they are, and its log gets one line naming them
 * ("stau: ended 1 process left behind by the job: PID 4242"). */
struct proc {
    pid_t pid;                    /* the child, which is also the id of its process group;
                                     0 once it has been reaped */
    int64_t start_ms;             /* monotonic clock when it was started */
    int64_t timeout_at_ms;        /* monotonic time its timeout fires; -1 for none */
    int64_t grace_ms;             /* the spec's grace_ms, used when the timeout fires */
    int64_t kill_at_ms;           /* when SIGKILL follows a SIGTERM we sent; -1 if none pending */
    bool terminated;              /* we sent its group SIGTERM or SIGKILL */
    bool timed_out;               /* ... because its timeout passed */
    int log_fd;                   /* its log, open until it is reaped, for proc.c's own note on
                                     what it ended (-1: none) */
    int64_t leftovers_kill_at_ms; /* it has ended and the rest of its group got
                                     SIGTERM: when SIGKILL follows; -1 otherwise */
    pid_t leftover_pids[PROC_LEFTOVERS_NAMED]; /* the first of those processes */
    size_t leftovers;                          /* how many there were */
    struct log_pump *pump; /* copies its output into the log under the spec's log_limit;
                              NULL: it writes into the log itself */
};

/* The kinds of things proc_wait_any reports. */
enum proc_event_kind {
    PROC_EVENT_EXIT,      /* a child ended and was reaped (and left the set) */
    PROC_EVENT_INTERRUPT, /* stau got SIGINT or SIGTERM (or SIGHUP, unless it reloads) */
    PROC_EVENT_RELOAD,    /* stau got SIGHUP, and the set has hangup_reloads */
    PROC_EVENT_READABLE,  /* the set's watch_fd or wake_fd has something to read */
    PROC_EVENT_DEADLINE,  /* the caller's deadline passed */
    PROC_EVENT_IDLE,      /* nothing to wait for: no children and no deadline */
};

/* One result of proc_wait_any; which fields are set depends on kind. */
struct proc_event {
    enum proc_event_kind kind;
    struct proc *proc;    /* EXIT: the child that ended; its pid is 0 now */
    int status;           /* EXIT: the exit code, or 128+signal when killed (as git reports) */
    int signal;           /* EXIT: the signal that killed it; 0 after a normal exit */
    int64_t wall_ms;      /* EXIT: run time from proc_start to the reaping */
    bool timed_out;       /* EXIT: it ended after we terminated it for its timeout */
    int interrupts;       /* INTERRUPT: 1 the first time, 2 the second, ... */
    int interrupt_signal; /* INTERRUPT: SIGINT, SIGTERM or SIGHUP */
};

enum { PROC_SIGNALS = 4 }; /* SIGCHLD, SIGINT, SIGTERM, SIGHUP */

/* The running children plus the signal handling that wakes proc_wait_any. Only one
 * set may be initialised at a time, because the signal handlers must find its
 * self-pipe in a file-static variable. */
struct proc_set {
    VEC(struct proc *) procs;             /* the children being waited for (borrowed) */
    int interrupts;                       /* SIGINT/SIGTERM received since proc_set_init */
    int interrupts_reported;              /* how many of them proc_wait_any has reported */
    int last_interrupt_signal;            /* the most recent of them */
    bool hangup_reloads;                  /* SIGHUP asks for a reload (stau serve) instead of
                                             interrupting, as it does a one-off stau (a closed terminal) */
    int reloads;                          /* SIGHUPs not reported yet (with hangup_reloads) */
    int watch_fd;                         /* a descriptor whose readability wakes proc_wait_any (an
                                             inotify one); -1: none. The caller reads it. */
    int wake_fd;                          /* another such (the state database's notifications) */
    struct sigaction saved[PROC_SIGNALS]; /* dispositions to restore, as handled_signals */
    bool active;                          /* between proc_set_init and proc_set_release */
};
#define PROC_SET_INIT                                                                              \
    {                                                                                              \
        .watch_fd = -1, .wake_fd = -1, .active = false                                             \
    }

/* The monotonic clock in milliseconds. */
int64_t proc_now_ms(void);

/* Start spec as a new child in its own process group and fill *out. On failure
 * return -1 with a message in err ("cannot run 'python9': No such file or
 * directory"), or printed with error() when err is NULL; no child is left over. */
int proc_start(const struct proc_spec *spec, struct proc *out, struct strbuf *err);

/* Create the self-pipe and install the SIGCHLD, SIGINT, SIGTERM and SIGHUP handlers
 * (a signal ignored when stau started stays ignored). -1 on error. Set hangup_reloads
 * and watch_fd afterwards. */
int proc_set_init(struct proc_set *set);
/* Wait for proc (started by proc_start) in the set; the set borrows the pointer until
 * the proc's EXIT event. */
void proc_set_add(struct proc_set *set, struct proc *proc);
/* Block until something happens and describe it in *ev: a child's exit (reported
 * first), an interrupt, a reload, watch_fd readable, or deadline_ms (monotonic; -1 for none)
 * passing. Meanwhile enforces the children's timeouts and grace periods. -1 on a system error. */
int proc_wait_any(struct proc_set *set, int64_t deadline_ms, struct proc_event *ev);
/* SIGTERM to every group in the set, SIGKILL grace_ms later (by proc_wait_any). */
int proc_terminate_all(struct proc_set *set, int64_t grace_ms);
/* SIGKILL to every group in the set at once (the second Ctrl-C). */
int proc_kill_all(struct proc_set *set);
/* SIGKILL and reap whatever is still in the set, restore the signal dispositions
 * and close the self-pipe; the set can be initialised again afterwards. */
void proc_set_release(struct proc_set *set);

/* Whether a process with this pid exists (it may belong to another user). */
bool proc_alive(pid_t pid);
/* When process pid started, in unix ms (from /proc, to 10 ms); -1 if unknown. */
int64_t proc_start_time_ms(pid_t pid);
/* End what is left of a job whose stau died: if pid still leads its own process
 * group and started within a few seconds of started_ms (unix ms; so a reused pid
 * is left alone), SIGKILL the whole group. Returns 1 if it did, 0 if not. */
int proc_kill_orphan_group(pid_t pid, int64_t started_ms);
/* End what is left of runs whose stau died before it recorded their process: every
 * process group whose leader was started with STAU_RUN_ID equal to run_ids[i] and
 * STAU_OWNER equal to owners[i] (the dead stau, as "pid:start ms") gets SIGKILL.
 * killed[i], when killed is not NULL, gets the group of run i (left alone where none
 * was found). Returns how many groups it killed. */
size_t proc_kill_orphans_of_runs(const int64_t *run_ids, const char *const *owners, size_t count,
                                 pid_t *killed);
/* Run argv to completion with stdout captured into out (stderr to err, both may
 * be NULL); returns its exit status (128+signal when killed), or -1 with a message
 * in err when it cannot start. For quick questions (which python is this?). */
int proc_capture(const char *const *argv, struct strbuf *out, struct strbuf *err);
/* SIGTERM to proc's whole group, and SIGKILL after grace_ms (0: SIGKILL now); the
 * SIGKILL is sent by proc_wait_any of the set holding proc. -1 on error. */
int proc_terminate(struct proc *proc, int64_t grace_ms);

#endif
