/* lease.c: owners, the one liveness rule, and recovering the runs of gone owners. */
#include "lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc.h"

/* Two readings of one process's start time differ by less than this (/proc gives
 * clock ticks since boot, turned into unix ms against a boot time that drifts). */
enum { START_SLACK_MS = 1000 };

void owner_id_format(int pid, int64_t start, char *buf, size_t size)
{
    snprintf(buf, size, "%d:%lld", pid, (long long)start);
}

void owner_self(struct owner *out)
{
    memset(out, 0, sizeof(*out));
    if (gethostname(out->host, sizeof(out->host) - 1) < 0 || !out->host[0])
        snprintf(out->host, sizeof(out->host), "localhost");
    out->pid = (int)getpid();
    int64_t start = proc_start_time_ms(out->pid);
    out->start = start > 0 ? start : 0;
    owner_id_format(out->pid, out->start, out->id, sizeof(out->id));
}

struct store_owner owner_store(const struct owner *o)
{
    return (struct store_owner){.host = o->host, .pid = o->pid, .start = o->start};
}

static bool system_alive(int pid, int64_t start, void *ctx)
{
    (void)ctx;
    if (pid <= 0 || !proc_alive(pid))
        return false;
    if (start <= 0)
        return true;
    int64_t now_start = proc_start_time_ms(pid);
    /* Unknown (no /proc): the pid exists, which is all that can be told. */
    return now_start < 0 ||
           (now_start > start - START_SLACK_MS && now_start < start + START_SLACK_MS);
}

struct lease_probe lease_probe_system(void)
{
    return (struct lease_probe){.alive = system_alive, .ctx = NULL};
}

static bool same_host(const struct owner *self, const struct run_record *run)
{
    return run->host && strcmp(run->host, self->host) == 0;
}

bool lease_run_live(const struct run_record *active, void *judge)
{
    const struct lease_judge *j = judge;
    return !owner_gone(j->self, active, j->now, &j->probe);
}

bool lease_leader_live(const struct store_owner_row *leader, void *judge)
{
    const struct lease_judge *j = judge;
    return !lease_gone(j->self, leader->host, leader->pid, leader->start, leader->heartbeat_at,
                       j->now, &j->probe);
}

bool owner_is_self(const struct owner *self, const struct run_record *run)
{
    return same_host(self, run) && run->owner_pid == self->pid && run->owner_start == self->start;
}

bool lease_gone(const struct owner *self, const char *host, int pid, int64_t start, int64_t seen,
                int64_t now, const struct lease_probe *probe)
{
    bool here = host && strcmp(host, self->host) == 0;
    if (here && pid == self->pid && start == self->start)
        return false;
    if (here && pid > 0)
        return !probe->alive(pid, start, probe->ctx);
    return now - seen > LEASE_MS;
}

bool owner_gone(const struct owner *self, const struct run_record *run, int64_t now,
                const struct lease_probe *probe)
{
    if (run_unassigned(run))
        return false; /* nobody's: no lease to lose */
    return lease_gone(self, run->host, run->owner_pid, run->owner_start,
                      run->heartbeat_at ? run->heartbeat_at : run->queued_at, now, probe);
}

static void say_lost(const struct run_record *run)
{
    warn("run %lld of '%s' was left running by a stau that is gone (pid %d on %s); "
         "recorded as lost",
         (long long)run->id, run->job, run->owner_pid, run->host ? run->host : "?");
}

/* Runs of this host whose process was never recorded: look for their orphans by the
 * environment they were started with. Returns how many had none (never started). */
static size_t end_unrecorded_orphans(const struct run_record *const *runs, size_t count)
{
    int64_t *ids = xcalloc(count + 1, sizeof(int64_t));
    char **owners = xcalloc(count + 1, sizeof(char *));
    pid_t *killed = xcalloc(count + 1, sizeof(pid_t));
    for (size_t k = 0; k < count; k++) {
        ids[k] = runs[k]->id;
        owners[k] = xmalloc(48);
        owner_id_format(runs[k]->owner_pid, runs[k]->owner_start, owners[k], 48);
    }
    proc_kill_orphans_of_runs(ids, (const char *const *)owners, count, killed);
    size_t never_started = 0;
    for (size_t k = 0; k < count; k++) {
        if (!killed[k]) {
            never_started++;
            continue;
        }
        say_lost(runs[k]);
        warn("ended what was left of run %lld (process group %d)", (long long)runs[k]->id,
             (int)killed[k]);
    }
    for (size_t k = 0; k < count; k++)
        free(owners[k]);
    free(owners);
    free(ids);
    free(killed);
    return never_started;
}

int lease_recover(struct store *st, const struct owner *self, int64_t now,
                  struct run_list *unassigned)
{
    struct run_list active = {0};
    if (store_active_runs(st, NULL, &active) < 0)
        return error("%s", store_error(st));
    struct lease_probe probe = lease_probe_system();
    VEC(const struct run_record *) unrecorded = {0};
    size_t never_started = 0, lost = 0;
    int rc = 0;
    for (size_t i = 0; i < active.len && rc == 0; i++) {
        struct run_record *run = &active.items[i];
        if (unassigned && run_unassigned(run)) {
            VEC_PUSH(unassigned, *run);
            memset(run, 0, sizeof(*run));
            continue;
        }
        if (!owner_gone(self, run, now, &probe))
            continue;
        int marked = store_mark_lost(st, run->id, run->heartbeat_at, now);
        if (marked < 0) {
            rc = error("%s", store_error(st));
            break;
        }
        if (!marked) /* it moved on meanwhile: ended, renewed, or another stau marked it */
            continue;
        lost++;
        bool here = same_host(self, run);
        if (!run->pid) {
            /* Queued, or started just before its stau died, before the start was
             * recorded: its environment tells. */
            if (here)
                VEC_PUSH(&unrecorded, run);
            else
                never_started++;
            continue;
        }
        say_lost(run);
        /* Its job may still be running, orphaned: end it, or it would run twice. */
        if (here && proc_kill_orphan_group(run->pid, run->started_at))
            warn("ended what was left of run %lld (process group %d)", (long long)run->id,
                 run->pid);
    }
    if (rc == 0 && unrecorded.len)
        never_started += end_unrecorded_orphans(unrecorded.items, unrecorded.len);
    if (rc == 0 && never_started)
        warn("%zu %s queued by a stau that is gone never started; recorded as lost", never_started,
             never_started == 1 ? "run" : "runs");
    VEC_FREE(&unrecorded);
    run_list_release(&active);
    return rc < 0 ? rc : (int)lost;
}
