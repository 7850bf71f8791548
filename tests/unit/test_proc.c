/* test_proc.c: proc.c with real children (/bin/sh scripts). Every test goes through
 * a proc_set and releases it, which SIGKILLs and reaps whatever a failed check left
 * running. */
#include "proc.h"
#include "unit.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A file below the test's temporary directory; free the result. */
static char *temp_path(const char *name)
{
    return xprintf("%s/%s", unit_tmpdir(), name);
}

/* The whole content of path ("" when unreadable); free the result. */
static char *slurp(const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    FILE *f = fopen(path, "rb");
    if (f) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
            strbuf_add(&sb, buf, n);
        fclose(f);
    }
    strbuf_addstr(&sb, "");
    return strbuf_detach(&sb);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Start `/bin/sh -c script` into set with the given log and timeouts. */
static bool start_sh(struct proc_set *set, struct proc *proc, const char *script, const char *log,
                     int64_t timeout_ms, int64_t grace_ms)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    struct proc_spec spec = {
        .argv = argv, .log_path = log, .timeout_ms = timeout_ms, .grace_ms = grace_ms};
    struct strbuf err = STRBUF_INIT;
    int rc = proc_start(&spec, proc, &err);
    CHECK_STR(strbuf_str(&err), "");
    strbuf_release(&err);
    if (!CHECK_INT(rc, 0))
        return false;
    proc_set_add(set, proc);
    return true;
}

/* Wait for the next event other than a deadline, giving up after 5 s. */
static bool wait_event(struct proc_set *set, struct proc_event *ev)
{
    int rc = proc_wait_any(set, proc_now_ms() + 5000, ev);
    return CHECK_INT(rc, 0) && CHECK(ev->kind != PROC_EVENT_DEADLINE);
}

/* Run one script to its end; *ev is its EXIT event. */
static bool run_sh(const char *script, const char *log, int64_t timeout_ms, int64_t grace_ms,
                   struct proc_event *ev)
{
    struct proc_set set;
    struct proc proc;
    bool ok = false;
    if (!CHECK_INT(proc_set_init(&set), 0))
        return false;
    if (start_sh(&set, &proc, script, log, timeout_ms, grace_ms) && wait_event(&set, ev))
        ok = CHECK_INT(ev->kind, PROC_EVENT_EXIT) && CHECK(ev->proc == &proc) &&
             CHECK_INT(proc.pid, 0);
    proc_set_release(&set);
    return ok;
}

/* Whether we have no child at all, not even a zombie. */
static bool no_children(void)
{
    int status;
    return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

UNIT_TEST(proc_exit_codes)
{
    char *log = temp_path("log");
    struct proc_event ev;
    if (run_sh("exit 0", log, 0, 0, &ev)) {
        CHECK_INT(ev.status, 0);
        CHECK_INT(ev.signal, 0);
        CHECK(!ev.timed_out);
        CHECK(ev.wall_ms >= 0 && ev.wall_ms < 5000);
    }
    if (run_sh("exit 3", log, 0, 0, &ev)) {
        CHECK_INT(ev.status, 3);
        CHECK_INT(ev.signal, 0);
    }
    if (run_sh("sleep 0.1; exit 0", log, 0, 0, &ev))
        CHECK(ev.wall_ms >= 100);
    CHECK(no_children());
    free(log);
}

UNIT_TEST(proc_killed_by_signal)
{
    char *log = temp_path("log");
    struct proc_event ev;
    if (run_sh("kill -KILL $$", log, 0, 0, &ev)) {
        CHECK_INT(ev.status, 128 + SIGKILL);
        CHECK_INT(ev.signal, SIGKILL);
        CHECK(!ev.timed_out);
    }
    if (run_sh("kill -USR1 $$", log, 0, 0, &ev)) {
        CHECK_INT(ev.status, 128 + SIGUSR1);
        CHECK_INT(ev.signal, SIGUSR1);
    }
    free(log);
}

UNIT_TEST(proc_log_gets_stdout_and_stderr_appended)
{
    char *log = temp_path("run.log");
    unit_write(unit_tmpdir(), "run.log", "before\n");
    struct proc_event ev;
    run_sh("echo out; echo err >&2; echo out2", log, 0, 0, &ev);
    run_sh("echo again >&2", log, 0, 0, &ev);
    char *text = slurp(log);
    CHECK_STR(text, "before\nout\nerr\nout2\nagain\n");
    free(text);

    char *fresh = temp_path("fresh.log");
    run_sh("echo new", fresh, 0, 0, &ev);
    text = slurp(fresh);
    CHECK_STR(text, "new\n");
    /* Private whatever the umask: a log may show the job's kwargs. */
    mode_t mask = umask(0);
    char *open_mask = temp_path("open-mask.log");
    run_sh("echo new", open_mask, 0, 0, &ev);
    umask(mask);
    struct stat st;
    if (CHECK_INT(stat(fresh, &st), 0))
        CHECK_INT(st.st_mode & 0777, 0600 & ~mask);
    if (CHECK_INT(stat(open_mask, &st), 0))
        CHECK_INT(st.st_mode & 0777, 0600);
    free(open_mask);
    free(text);
    free(fresh);
    free(log);
}

UNIT_TEST(proc_stdin_is_dev_null_and_fds_do_not_leak)
{
    char *log = temp_path("log");
    /* A descriptor opened without O_CLOEXEC must still not reach the child. */
    int leaky = open("/dev/null", O_RDONLY);
    CHECK(leaky >= 3);
    char *script = xprintf("cat; echo \"cat $?\"; test -e /proc/$$/fd/%d && echo leaked; "
                           "test -e /proc/$$/fd/0 && echo stdin",
                           leaky);
    struct proc_event ev;
    if (run_sh(script, log, 3000, 0, &ev)) {
        CHECK(!ev.timed_out);
        CHECK_INT(ev.status, 0);
    }
    char *text = slurp(log);
    CHECK_STR(text, "cat 0\nstdin\n");
    free(text);
    free(script);
    if (leaky >= 0)
        close(leaky);
    free(log);
}

UNIT_TEST(proc_environment_and_cwd)
{
    char *log = temp_path("log");
    char *dir = temp_path("work dir");
    CHECK_INT(mkdir(dir, 0755), 0);
    CHECK_INT(setenv("STAU_PROC_TEST_GONE", "still here", 1), 0);
    CHECK_INT(setenv("STAU_PROC_TEST_KEEP", "kept", 1), 0);
    CHECK_INT(setenv("STAU_JOB", "old", 1), 0);
    const char *argv[] = {"sh", "-c",
                          "echo \"$STAU_JOB|$STAU_KWARGS|${STAU_PROC_TEST_GONE-unset}|"
                          "$STAU_PROC_TEST_KEEP\"; pwd -P",
                          NULL};
    const char *env[] = {"STAU_JOB=sales.report", "STAU_KWARGS={\"a\": 1}", "STAU_PROC_TEST_GONE",
                         NULL};
    struct proc_spec spec = {.argv = argv, .env_extra = env, .cwd = dir, .log_path = log};
    struct proc_set set;
    struct proc proc;
    struct proc_event ev;
    struct strbuf err = STRBUF_INIT;
    if (CHECK_INT(proc_set_init(&set), 0)) {
        if (CHECK_INT(proc_start(&spec, &proc, &err), 0)) {
            proc_set_add(&set, &proc);
            if (wait_event(&set, &ev))
                CHECK_INT(ev.status, 0);
        }
        proc_set_release(&set);
    }
    CHECK_STR(strbuf_str(&err), "");
    char *real = realpath(dir, NULL);
    char *want = xprintf("sales.report|{\"a\": 1}|unset|kept\n%s\n", real ? real : dir);
    char *text = slurp(log);
    CHECK_STR(text, want);
    unsetenv("STAU_PROC_TEST_GONE");
    unsetenv("STAU_PROC_TEST_KEEP");
    unsetenv("STAU_JOB");
    free(text);
    free(want);
    free(real);
    strbuf_release(&err);
    free(dir);
    free(log);
}

/* proc_start(argv, cwd) must fail with exactly message, leaving no child. */
static void check_start_fails(const char *const *argv, const char *cwd, const char *log,
                              const char *message)
{
    struct proc_spec spec = {.argv = argv, .cwd = cwd, .log_path = log};
    struct proc proc = {0};
    struct strbuf err = STRBUF_INIT;
    if (!CHECK_INT(proc_start(&spec, &proc, &err), -1) && proc.pid > 0) {
        kill(-proc.pid, SIGKILL);
        waitpid(proc.pid, NULL, 0);
    }
    CHECK_STR(strbuf_str(&err), message);
    CHECK(no_children());
    strbuf_release(&err);
}

UNIT_TEST(proc_exec_failure_is_reported)
{
    char *log = temp_path("log");
    const char *python9[] = {"python9", "-c", "pass", NULL};
    check_start_fails(python9, NULL, log, "cannot run 'python9': No such file or directory");
    const char *absent[] = {"/nonexistent/python9", NULL};
    check_start_fails(absent, NULL, log,
                      "cannot run '/nonexistent/python9': No such file or directory");
    const char *script = unit_write(unit_tmpdir(), "not-executable", "#!/bin/sh\n");
    const char *noexec[] = {script, NULL};
    char *want = xprintf("cannot run '%s': Permission denied", script);
    check_start_fails(noexec, NULL, log, want);
    free(want);
    const char *sh[] = {"sh", "-c", "exit 0", NULL};
    check_start_fails(sh, "/nonexistent", log,
                      "cannot run 'sh' in '/nonexistent': No such file or directory");
    check_start_fails(sh, NULL, "/nonexistent/log",
                      "cannot open log '/nonexistent/log': No such file or directory");
    free(log);
}

UNIT_TEST(proc_timeout_terminates_the_group)
{
    char *log = temp_path("log");
    struct proc_event ev;
    if (run_sh("exec sleep 30", log, 200, 3000, &ev)) {
        CHECK(ev.timed_out);
        CHECK_INT(ev.signal, SIGTERM);
        CHECK_INT(ev.status, 128 + SIGTERM);
        CHECK(ev.wall_ms >= 200 && ev.wall_ms < 2000);
    }
    /* Ignoring SIGTERM only buys the grace period. */
    if (run_sh("trap '' TERM; echo ready; exec sleep 30", log, 200, 300, &ev)) {
        CHECK(ev.timed_out);
        CHECK_INT(ev.signal, SIGKILL);
        CHECK_INT(ev.status, 128 + SIGKILL);
        CHECK(ev.wall_ms >= 500 && ev.wall_ms < 3000);
    }
    /* A job that ends in time is not marked. */
    if (run_sh("exit 4", log, 5000, 100, &ev)) {
        CHECK(!ev.timed_out);
        CHECK_INT(ev.status, 4);
    }
    free(log);
}

/* Whether process group pgid has emptied within 2 s. We are a subreaper during the
 * test (the container's init may not reap orphans), so reap what comes back to us. */
static bool group_gone(pid_t pgid)
{
    for (int i = 0; i < 200; i++) {
        int status;
        while (waitpid(-1, &status, WNOHANG) > 0)
            ;
        if (kill(-pgid, 0) != 0 && errno == ESRCH)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* Run script with a timeout; it writes the pid of a grandchild to pidfile; check
 * that the whole group is gone once the child has been reaped. */
static void check_group_dies(const char *script, int64_t grace_ms)
{
    char *log = temp_path("log");
    char *pidfile = temp_path("pid");
    struct proc_set set;
    struct proc proc;
    struct proc_event ev;
    pid_t pgid = 0;
    CHECK_INT(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    if (CHECK_INT(proc_set_init(&set), 0)) {
        char *cmd = xprintf("cd '%s' || exit 1; %s", unit_tmpdir(), script);
        if (start_sh(&set, &proc, cmd, log, 300, grace_ms)) {
            pgid = proc.pid;
            if (wait_event(&set, &ev)) {
                CHECK_INT(ev.kind, PROC_EVENT_EXIT);
                CHECK(ev.timed_out);
                CHECK(ev.wall_ms < grace_ms);
            }
        }
        free(cmd);
        proc_set_release(&set);
    }
    char *text = slurp(pidfile);
    pid_t grandchild = (pid_t)atoi(text);
    CHECK(grandchild > 0);
    if (pgid > 0 && !CHECK(group_gone(pgid)))
        kill(-pgid, SIGKILL);
    if (grandchild > 0)
        CHECK(kill(grandchild, 0) != 0 && errno == ESRCH);
    CHECK_INT(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    free(text);
    free(pidfile);
    free(log);
}

UNIT_TEST(proc_grandchildren_die_with_the_group)
{
    check_group_dies("sleep 30 & echo $! > pid; wait", 3000);
    /* A grandchild that ignores SIGTERM goes when its parent goes, not after the grace. */
    check_group_dies("(trap '' TERM; exec sleep 30) & echo $! > pid; wait", 3000);
}

UNIT_TEST(proc_many_children_all_reaped)
{
    enum { COUNT = 20 };
    char *log = temp_path("log");
    struct proc_set set;
    struct proc procs[COUNT];
    bool seen[COUNT] = {false};
    if (!CHECK_INT(proc_set_init(&set), 0)) {
        free(log);
        return;
    }
    size_t started = 0;
    for (int i = 0; i < COUNT; i++) {
        char *script = xprintf("sleep 0.0%d; exit %d", i % 10, i);
        if (start_sh(&set, &procs[i], script, log, 0, 0))
            started++;
        free(script);
    }
    for (size_t n = 0; n < started; n++) {
        struct proc_event ev;
        if (!wait_event(&set, &ev) || !CHECK_INT(ev.kind, PROC_EVENT_EXIT))
            break;
        long i = ev.proc - procs;
        if (CHECK(i >= 0 && i < COUNT) && CHECK(!seen[i])) {
            seen[i] = true;
            CHECK_INT(ev.status, i);
        }
    }
    CHECK_INT(set.procs.len, 0);
    struct proc_event ev;
    if (CHECK_INT(proc_wait_any(&set, -1, &ev), 0))
        CHECK_INT(ev.kind, PROC_EVENT_IDLE);
    proc_set_release(&set);
    CHECK(no_children());
    free(log);
}

/* The SIGINT disposition right now. */
static void (*sigint_handler(void))(int)
{
    struct sigaction now;
    if (sigaction(SIGINT, NULL, &now) != 0)
        return NULL;
    return now.sa_handler;
}

UNIT_TEST(proc_interrupts_become_events)
{
    /* Run as a background job of a shell, we start with SIGINT ignored, which
     * proc_set_init would keep: make it the default for this test. */
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (!CHECK_INT(sigaction(SIGINT, &dfl, &old), 0))
        return;
    char *log = temp_path("log");
    struct proc_set set;
    struct proc child, stubborn;
    struct proc_event ev;
    if (!CHECK_INT(proc_set_init(&set), 0)) {
        CHECK_INT(sigaction(SIGINT, &old, NULL), 0);
        free(log);
        return;
    }
    /* One child ignores SIGTERM (wait until its trap is set), then another one
     * interrupts us while we sleep in proc_wait_any. */
    char *ready = temp_path("ready");
    char *stubborn_script = xprintf("trap '' TERM; : > '%s'; exec sleep 30", ready);
    bool started = start_sh(&set, &stubborn, stubborn_script, log, 0, 0);
    for (int i = 0; started && i < 200 && access(ready, F_OK) != 0; i++)
        sleep_ms(10);
    CHECK_INT(access(ready, F_OK), 0);
    free(stubborn_script);
    free(ready);
    if (started && start_sh(&set, &child, "kill -INT $PPID; exec sleep 30", log, 0, 0) &&
        wait_event(&set, &ev) && CHECK_INT(ev.kind, PROC_EVENT_INTERRUPT)) {
        CHECK_INT(ev.interrupts, 1);
        CHECK_INT(ev.interrupt_signal, SIGINT);
        /* First interrupt: terminate everything with a long grace period. */
        CHECK_INT(proc_terminate_all(&set, 5000), 0);
        if (wait_event(&set, &ev) && CHECK_INT(ev.kind, PROC_EVENT_EXIT)) {
            CHECK(ev.proc == &child);
            CHECK_INT(ev.status, 128 + SIGTERM);
            CHECK(!ev.timed_out);
        }
        /* Second interrupt: kill at once. */
        CHECK_INT(raise(SIGINT), 0);
        if (wait_event(&set, &ev) && CHECK_INT(ev.kind, PROC_EVENT_INTERRUPT))
            CHECK_INT(ev.interrupts, 2);
        CHECK_INT(proc_kill_all(&set), 0);
        if (wait_event(&set, &ev) && CHECK_INT(ev.kind, PROC_EVENT_EXIT)) {
            CHECK(ev.proc == &stubborn);
            CHECK_INT(ev.status, 128 + SIGKILL);
            CHECK(ev.wall_ms < 4000);
        }
        CHECK_INT(raise(SIGTERM), 0);
        if (wait_event(&set, &ev) && CHECK_INT(ev.kind, PROC_EVENT_INTERRUPT)) {
            CHECK_INT(ev.interrupts, 3);
            CHECK_INT(ev.interrupt_signal, SIGTERM);
        }
    }
    proc_set_release(&set);
    CHECK(sigint_handler() == SIG_DFL);
    CHECK_INT(sigaction(SIGINT, &old, NULL), 0);
    CHECK(no_children());
    free(log);
}

UNIT_TEST(proc_ignored_sigint_stays_ignored)
{
    struct sigaction ignore, old;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (!CHECK_INT(sigaction(SIGINT, &ignore, &old), 0))
        return;
    struct proc_set set;
    struct proc_event ev;
    if (CHECK_INT(proc_set_init(&set), 0)) {
        CHECK_INT(raise(SIGINT), 0);
        int64_t start = proc_now_ms();
        if (CHECK_INT(proc_wait_any(&set, start + 50, &ev), 0))
            CHECK_INT(ev.kind, PROC_EVENT_DEADLINE);
        CHECK(proc_now_ms() - start >= 50);
        proc_set_release(&set);
    }
    CHECK(sigint_handler() == SIG_IGN);
    CHECK_INT(sigaction(SIGINT, &old, NULL), 0);
}

UNIT_TEST(proc_deadline_while_children_run)
{
    char *log = temp_path("log");
    struct proc_set set;
    struct proc proc;
    struct proc_event ev;
    if (!CHECK_INT(proc_set_init(&set), 0)) {
        free(log);
        return;
    }
    if (start_sh(&set, &proc, "exec sleep 30", log, 0, 0)) {
        int64_t start = proc_now_ms();
        if (CHECK_INT(proc_wait_any(&set, start + 100, &ev), 0))
            CHECK_INT(ev.kind, PROC_EVENT_DEADLINE);
        int64_t waited = proc_now_ms() - start;
        CHECK(waited >= 100 && waited < 1000);
        CHECK_INT(set.procs.len, 1);
    }
    /* Release kills and reaps what is still running. */
    proc_set_release(&set);
    CHECK(no_children());
    free(log);
}
