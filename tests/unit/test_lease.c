/* Unit tests of leases: the one liveness rule (owner_gone) against fake processes,
 * this process as an owner, the system's process probe, and lease_recover on a real
 * state database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lease.h"
#include "proc.h"
#include "store.h"
#include "unit.h"

enum { HOUR_MS = 3600 * 1000 };
static const int64_t NOW = 10000000000; /* unix ms, a fake clock */

/* Fake processes for owner_gone: a process is alive when its pid is listed and (start
 * > 0) with that start, as lease_process_alive_fn says. Every question is noted. */
struct fake_procs {
    struct {
        int pid;
        int64_t start;
    } live[4];
    bool any_start; /* a pid listed is alive whatever start is asked */
    int calls;      /* questions asked */
    int pid;        /* the last question's pid */
    int64_t start;  /* and start */
};

static bool fake_alive(int pid, int64_t start, void *ctx)
{
    struct fake_procs *f = ctx;
    f->calls++;
    f->pid = pid;
    f->start = start;
    for (size_t i = 0; i < 4; i++)
        if (f->live[i].pid && f->live[i].pid == pid &&
            (f->any_start || start <= 0 || f->live[i].start == start))
            return true;
    return false;
}

/* The stau judging: pid 100 on "here", started at 5000. */
static const struct owner self = {"here", 100, 5000, "100:5000"};

/* An unfinished run owned by host/pid/start, queued and last renewed at these times. */
static struct run_record owned(const char *host, int pid, int64_t start, int64_t queued_at,
                               int64_t heartbeat_at)
{
    return (struct run_record){.id = 1,
                               .job = (char *)"j",
                               .status = RUN_RUNNING,
                               .host = (char *)host,
                               .owner_pid = pid,
                               .owner_start = start,
                               .queued_at = queued_at,
                               .heartbeat_at = heartbeat_at};
}

UNIT_TEST(lease_a_live_owner_here_keeps_its_runs_however_old_its_heartbeat)
{
    struct fake_procs procs = {.live = {{200, 7000}}};
    struct lease_probe probe = {fake_alive, &procs};
    /* a stau stopped by Ctrl-Z for hours, a paused VM, a clock step */
    struct run_record r = owned("here", 200, 7000, NOW - 4 * HOUR_MS, NOW - 3 * HOUR_MS);
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.calls, 1);
    CHECK_INT(procs.pid, 200);
    CHECK_INT(procs.start, 7000);
    r.heartbeat_at = 0; /* never renewed: the same */
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    r.status = RUN_QUEUED;
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    CHECK(!owner_is_self(&self, &r));
}

UNIT_TEST(lease_a_dead_owner_here_is_gone_at_once)
{
    struct fake_procs procs = {.live = {{200, 7000}}};
    struct lease_probe probe = {fake_alive, &procs};
    struct run_record r = owned("here", 300, 7000, NOW, NOW);
    CHECK(owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.calls, 1);
    CHECK_INT(procs.pid, 300);
    r.heartbeat_at = NOW + HOUR_MS; /* even a heartbeat from the future (a clock step back) */
    CHECK(owner_gone(&self, &r, NOW, &probe));
}

UNIT_TEST(lease_an_unassigned_run_is_never_gone)
{
    struct fake_procs procs = {0};
    struct lease_probe probe = {fake_alive, &procs};
    /* enqueued by the leader an hour ago and not taken yet: it has no owner to lose */
    struct run_record r = owned(NULL, 0, 0, NOW - HOUR_MS, NOW - HOUR_MS);
    r.status = RUN_QUEUED;
    CHECK(run_unassigned(&r));
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.calls, 0);
    r.status = RUN_RUNNING; /* not as a stau records it: judged as any run */
    CHECK(!run_unassigned(&r));
    CHECK(owner_gone(&self, &r, NOW, &probe));
}

UNIT_TEST(lease_a_recycled_pid_is_the_probes_business)
{
    /* pid 200 is alive, but started at 7000: a run of pid 200 started at 8000 had an
       owner that is gone, and its pid was given to another process since */
    struct fake_procs procs = {.live = {{200, 7000}}};
    struct lease_probe probe = {fake_alive, &procs};
    struct run_record r = owned("here", 200, 8000, NOW, NOW);
    CHECK(owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.calls, 1);
    CHECK_INT(procs.pid, 200);
    CHECK_INT(procs.start, 8000); /* passed through for the probe to judge */
    procs.any_start = true;       /* a probe that cannot tell start times apart */
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.start, 8000);
    r.owner_start = 0; /* unknown start: passed as it is */
    procs.any_start = false;
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.start, 0);
}

UNIT_TEST(lease_an_owner_elsewhere_is_gone_when_its_lease_expires)
{
    /* pid 200 is alive here, which says nothing about pid 200 on another host */
    struct fake_procs procs = {.live = {{200, 7000}}};
    struct lease_probe probe = {fake_alive, &procs};
    struct run_record r = owned("there", 200, 7000, NOW - HOUR_MS, NOW - LEASE_MS);
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    r.heartbeat_at = NOW - LEASE_MS - 1;
    CHECK(owner_gone(&self, &r, NOW, &probe));
    r.heartbeat_at = NOW;
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    /* a dead pid elsewhere is not looked for here either */
    r = owned("there", 300, 7000, NOW - HOUR_MS, NOW - 1000);
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    /* no heartbeat: the lease started when it was queued */
    r = owned("there", 200, 7000, NOW - LEASE_MS, 0);
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    r.queued_at = NOW - LEASE_MS - 1;
    CHECK(owner_gone(&self, &r, NOW, &probe));
    r.heartbeat_at = NOW - 1000; /* a heartbeat outweighs an old queueing */
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    /* no host recorded: not here */
    r = owned(NULL, 200, 7000, NOW, NOW - LEASE_MS - 1);
    CHECK(owner_gone(&self, &r, NOW, &probe));
    r.heartbeat_at = NOW - LEASE_MS;
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    /* here, but no owner pid recorded (a run from before leases): the lease decides */
    r = owned("here", 0, 0, NOW - HOUR_MS, NOW - LEASE_MS);
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    r.heartbeat_at = NOW - LEASE_MS - 1;
    CHECK(owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.calls, 0);
}

UNIT_TEST(lease_an_owners_own_runs_are_never_gone)
{
    struct fake_procs procs = {0}; /* nothing alive, as far as the probe knows */
    struct lease_probe probe = {fake_alive, &procs};
    struct run_record r = owned("here", 100, 5000, NOW - 5 * HOUR_MS, NOW - 4 * HOUR_MS);
    CHECK(owner_is_self(&self, &r));
    CHECK(!owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.calls, 0);
    r.owner_start = 5001; /* the same pid, another process */
    CHECK(!owner_is_self(&self, &r));
    CHECK(owner_gone(&self, &r, NOW, &probe));
    CHECK_INT(procs.calls, 1);
    r = owned("there", 100, 5000, NOW, NOW);
    CHECK(!owner_is_self(&self, &r));
    r = owned(NULL, 100, 5000, NOW, NOW);
    CHECK(!owner_is_self(&self, &r));
    r = owned("here", 101, 5000, NOW, NOW);
    CHECK(!owner_is_self(&self, &r));
}

UNIT_TEST(lease_gone_judges_a_serving_stau_by_the_same_rule)
{
    struct fake_procs procs = {.live = {{200, 7000}}};
    struct lease_probe probe = {fake_alive, &procs};
    CHECK(!lease_gone(&self, "here", 200, 7000, NOW - HOUR_MS, NOW, &probe));
    CHECK(lease_gone(&self, "here", 300, 7000, NOW, NOW, &probe));
    CHECK(!lease_gone(&self, "here", 100, 5000, 0, NOW, &probe)); /* itself */
    CHECK_INT(procs.calls, 2);
    CHECK(!lease_gone(&self, "there", 300, 7000, NOW - LEASE_MS, NOW, &probe));
    CHECK(lease_gone(&self, "there", 200, 7000, NOW - LEASE_MS - 1, NOW, &probe));
    CHECK_INT(procs.calls, 2);
}

UNIT_TEST(lease_owner_self_is_this_process)
{
    struct owner me;
    owner_self(&me);
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
        snprintf(host, sizeof(host), "localhost");
    CHECK_STR(me.host, host);
    CHECK_INT(me.pid, getpid());
    int64_t start = proc_start_time_ms(getpid());
    CHECK_INT(me.start, start > 0 ? start : 0);
    CHECK(me.start > 0); /* Linux has /proc */
    char id[48];
    snprintf(id, sizeof(id), "%d:%lld", (int)getpid(), (long long)me.start);
    CHECK_STR(me.id, id);
    struct store_owner so = owner_store(&me);
    CHECK(so.host == me.host); /* borrowed */
    CHECK(so.pid == me.pid && so.start == me.start);
    owner_id_format(12, 345, id, sizeof(id));
    CHECK_STR(id, "12:345");
}

/* The pid of a process that existed and is gone (reaped). */
static int reaped_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int status;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    return (int)pid;
}

UNIT_TEST(lease_probe_system_asks_the_os)
{
    struct lease_probe probe = lease_probe_system();
    struct owner me;
    owner_self(&me);
    CHECK(probe.alive(me.pid, me.start, probe.ctx));
    CHECK(probe.alive(me.pid, 0, probe.ctx));                   /* start unknown */
    CHECK(!probe.alive(me.pid, me.start - HOUR_MS, probe.ctx)); /* another process */
    CHECK(!probe.alive(me.pid, me.start + HOUR_MS, probe.ctx));
    CHECK(!probe.alive(reaped_pid(), 0, probe.ctx));
    CHECK(!probe.alive(0, 0, probe.ctx));
    CHECK(!probe.alive(-1, 0, probe.ctx));
}

static int64_t queue(struct store *st, const char *host, int pid, int64_t start, int64_t at)
{
    struct run_record r = {
        .job = (char *)"j", .host = (char *)host, .owner_pid = pid, .owner_start = start};
    int64_t id = 0;
    if (!CHECK(store_begin_run(st, &r, at, &id) == 0))
        fprintf(stderr, "  %s\n", store_error(st));
    return id;
}

static const char *status_of(struct store *st, int64_t id, int64_t *finished_at)
{
    struct run_record r;
    const char *name = "?";
    if (CHECK(store_run(st, id, &r) == 1)) {
        name = run_status_name(r.status);
        *finished_at = r.finished_at;
    }
    run_record_release(&r);
    return name;
}

UNIT_TEST(lease_recover_marks_only_gone_owners_runs_lost)
{
    char *path = xprintf("%s/state.db", unit_tmpdir());
    struct store *st = unit_store_open(path);
    free(path);
    if (!st)
        return;
    struct owner me;
    owner_self(&me);
    int parent = (int)getppid();
    int64_t parent_start = proc_start_time_ms(parent);
    CHECK(parent_start > 0);
    const char *far = "elsewhere.invalid";

    int64_t dead_here = queue(st, me.host, reaped_pid(), 12345, NOW);
    int64_t mine = queue(st, me.host, me.pid, me.start, NOW - 5 * HOUR_MS);
    /* a stau on this host, alive, silent for hours (stopped, paused): kept */
    int64_t paused = queue(st, me.host, parent, parent_start, NOW - 3 * HOUR_MS);
    /* the same pid with another start: its process is gone, the pid reused */
    int64_t recycled = queue(st, me.host, parent, parent_start - HOUR_MS, NOW);
    int64_t far_fresh = queue(st, far, 4242, 1, NOW - 1000);
    int64_t far_old = queue(st, far, 4242, 1, NOW - LEASE_MS - 1);
    int64_t far_running = queue(st, far, 4343, 1, NOW - HOUR_MS);
    CHECK_INT(unit_start_run(st, far_running, 4444, NOW - LEASE_MS - 10), 0);
    int64_t far_edge = queue(st, far, 4242, 1, NOW - LEASE_MS);

    fprintf(stderr, "(warnings about 4 lost runs are expected)\n");
    CHECK_INT(lease_recover(st, &me, NOW, NULL), 4);
    int64_t at = 0;
    CHECK_STR(status_of(st, dead_here, &at), "lost");
    CHECK_INT(at, NOW);
    CHECK_STR(status_of(st, recycled, &at), "lost");
    CHECK_STR(status_of(st, far_old, &at), "lost");
    CHECK_STR(status_of(st, far_running, &at), "lost");
    CHECK_INT(at, NOW);
    CHECK_STR(status_of(st, mine, &at), "queued");
    CHECK_STR(status_of(st, paused, &at), "queued");
    CHECK_STR(status_of(st, far_fresh, &at), "queued");
    CHECK_STR(status_of(st, far_edge, &at), "queued");
    /* nothing more to recover */
    CHECK_INT(lease_recover(st, &me, NOW, NULL), 0);
    store_close(st);
}
