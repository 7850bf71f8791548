/* lease.h: who owns a run, whether that owner is gone, and what happens to the runs
 * of an owner that is (SPEC §6). Every rule about an owner's liveness is here.
 *
 * An owner is one stau process: its host, pid and the start time the OS reports for
 * it (so a recycled pid is not taken for the same process). It renews the lease of
 * its queued and running runs every HEARTBEAT_MS.
 *
 * The one rule, owner_gone:
 * - On the owner's own host, a process with the recorded pid and start time is alive,
 *   whatever its heartbeat: a stau stopped by Ctrl-Z, a paused VM or a clock step
 *   keeps its runs. Only the process being gone makes them lost.
 * - From another host the process cannot be seen, so the lease decides: gone when its
 *   last heartbeat is more than LEASE_MS old.
 *
 * The process checks go through a probe, so the rule can be tested with fake owners.
 */
#ifndef STAU_LEASE_H
#define STAU_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

enum {
    LEASE_MS = 60000, /* a run whose owner is silent this long (seen from another host) is lost */
    HEARTBEAT_MS = 10000 /* how often an owner renews its leases */
};

/* One stau process, as its runs record it. */
struct owner {
    char host[256]; /* host name ("localhost" when it has none) */
    int pid;        /* process id of stau */
    int64_t start;  /* its start time, unix ms as the OS reports it (0: unknown) */
    char id[48];    /* as STAU_OWNER tells its jobs: "pid:start" */
};

/* This process as an owner, built once per process. */
void owner_self(struct owner *out);
/* The owner as the store takes it (borrowing out's host). */
struct store_owner owner_store(const struct owner *o);
/* STAU_OWNER's value for an owner with this pid and start time, into buf. */
void owner_id_format(int pid, int64_t start, char *buf, size_t size);

/* How an owner's process is asked after: whether a process with this pid exists and
 * (start > 0) started at that time. */
typedef bool lease_process_alive_fn(int pid, int64_t start, void *ctx);

/* What owner_gone asks of the system; lease_probe_system() is the real one. */
struct lease_probe {
    lease_process_alive_fn *alive;
    void *ctx;
};
struct lease_probe lease_probe_system(void);

/* Whether the owner of an unfinished run is gone (see the rule above), judged by
 * self at now (unix ms). A run of self's own is never gone, nor an unassigned one
 * (run_unassigned: it has no owner). */
bool owner_gone(const struct owner *self, const struct run_record *run, int64_t now,
                const struct lease_probe *probe);
/* The same rule for an owner known by its identity and when it was last seen alive
 * (unix ms), e.g. a row of store_owners. */
bool lease_gone(const struct owner *self, const char *host, int pid, int64_t start, int64_t seen,
                int64_t now, const struct lease_probe *probe);
/* The store's liveness questions (store_holder_live_fn, store_leader_live_fn) asked
 * of the rule above, as self judges at now: pass a struct lease_judge as ctx. */
struct lease_judge {
    const struct owner *self;
    int64_t now;
    struct lease_probe probe;
};
bool lease_run_live(const struct run_record *active, void *judge);
bool lease_leader_live(const struct store_owner_row *leader, void *judge);

/* Whether the run is self's own. */
bool owner_is_self(const struct owner *self, const struct run_record *run);

/* Record as lost every queued or running run whose owner is gone, say so on stderr,
 * and end what is left of such runs' processes on this host (by their process group,
 * or for a run whose start was never recorded, by the STAU_RUN_ID and STAU_OWNER it
 * was started with). Returns how many it recorded lost, or -1 after a message.
 * unassigned (or NULL) gets the unassigned runs it read (run_unassigned), which
 * have no owner to lose. */
int lease_recover(struct store *st, const struct owner *self, int64_t now,
                  struct run_list *unassigned);

#endif
