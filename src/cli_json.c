/* cli_json.c: the object `stau why --json` and `stau status --json` print for each
 * job. Every key is in README.md's "JSON output", which tests/e2e/t_json.sh checks
 * these against. */
#include "cli_json.h"

#include <stdlib.h>
#include <string.h>
#include "plan.h"

/* "last_success":{"run":N,"finished":...,"finished_ms":...} or null, after a comma. */
static void last_success_json(const struct run_record *ok, struct strbuf *out)
{
    strbuf_addstr(out, ",\"last_success\":");
    if (!ok->id) {
        strbuf_addstr(out, "null");
        return;
    }
    strbuf_addf(out, "{\"run\":%lld", (long long)ok->id);
    json_field_time(out, "finished", ok->finished_at, ok->finished_at, NULL);
    json_field_raw(out, "kwargs_given", ok->kwargs_given_json);
    json_field_string(out, "git_commit", ok->git_commit);
    run_record_git_state_json(ok, out);
    strbuf_addch(out, '}');
}

/* "key":{"now":"...","last_success":"..."|null}, after a comma unless first */
static void fingerprint_json(struct strbuf *out, bool first, const char *key, const char *now,
                             const struct run_record *ok, const char *recorded)
{
    strbuf_addf(out, "%s\"%s\":{\"now\":", first ? "" : ",", key);
    json_quote(out, now, strlen(now));
    strbuf_addstr(out, ",\"last_success\":");
    if (ok->id && recorded)
        json_quote(out, recorded, strlen(recorded));
    else
        strbuf_addstr(out, "null");
    strbuf_addch(out, '}');
}

static void add_bool(struct strbuf *out, const char *key, bool value)
{
    strbuf_addf(out, ",\"%s\":%s", key, value ? "true" : "false");
}

static void add_name(struct strbuf *out, const char *key, const char *name)
{
    strbuf_addf(out, ",\"%s\":", key);
    json_quote(out, name, strlen(name));
}

void cli_why_json(const struct project *p, const struct plan *plan, size_t i, int64_t now,
                  struct strbuf *out)
{
    const struct plan_job *pj = &plan->jobs[i];
    const struct job *job = &p->graph.jobs.items[i];
    const struct run_record *ok = &pj->success;
    strbuf_addstr(out, "{\"job\":");
    json_quote(out, job->name, strlen(job->name));
    add_bool(out, "due", pj->due);
    add_name(out, "policy", policy_json_name(job_policy(job)));
    add_bool(out, "on_change", job_on_change(job));
    strbuf_addstr(out, ",\"reasons\":");
    reasons_to_json(&pj->why, out);
    strbuf_addstr(out, ",\"held_back\":");
    reasons_to_json(&pj->held_back, out);
    if (pj->pulled_by != SIZE_MAX)
        add_name(out, "needed_by", p->graph.jobs.items[pj->pulled_by].name);
    else
        strbuf_addstr(out, ",\"needed_by\":null");
    add_bool(out, "cutoff", pj->cutoff);
    strbuf_addstr(out, ",\"last_run\":");
    run_record_brief_json(&pj->last, out);
    last_success_json(ok, out);
    strbuf_addstr(out, ",\"fingerprints\":{");
    fingerprint_json(out, true, "code", pj->code_fp, ok, ok->code_fingerprint);
    fingerprint_json(out, false, "config", pj->config_fp, ok, ok->config_fingerprint);
    fingerprint_json(out, false, "inputs", pj->inputs_fp, ok, ok->inputs_fingerprint);
    fingerprint_json(out, false, "outputs", pj->outputs_fp, ok, ok->outputs_fingerprint);
    strbuf_addch(out, '}');
    size_t which = 0;
    int64_t tick = plan_job_next_tick(pj, now, &which);
    if (tick != CRON_NEVER) {
        strbuf_addstr(out, ",\"next_tick\":{\"at\":\"");
        json_time_format(tick, pj->zone, out);
        strbuf_addf(out, "\",\"at_ms\":%lld", (long long)tick);
        add_name(out, "schedule", pj->schedule_texts[which]);
        strbuf_addch(out, '}');
    } else {
        strbuf_addstr(out, ",\"next_tick\":null");
    }
    strbuf_addstr(out, ",\"dependencies\":[");
    for (size_t e = 0; e < job->deps.len; e++) {
        const struct edge *edge = &job->deps.items[e];
        const struct plan_job *dep = &plan->jobs[edge->to];
        strbuf_addstr(out, e ? ",{\"job\":" : "{\"job\":");
        const char *name = p->graph.jobs.items[edge->to].name;
        json_quote(out, name, strlen(name));
        last_success_json(&dep->success, out);
        json_field_number(out, "age_seconds", (now - dep->success.finished_at) / 1000,
                          dep->success.id);
        strbuf_addstr(out, ",\"max_lag_minutes\":");
        if (edge->dep->has_max_lag)
            strbuf_addf(out, "%g", edge->dep->max_lag);
        else
            strbuf_addstr(out, "null");
        add_bool(out, "due", dep->due);
        strbuf_addch(out, '}');
    }
    strbuf_addstr(out, "]}");
}

void cli_why_not_run_json(const struct project *p, size_t i, struct strbuf *out)
{
    struct strbuf reason = STRBUF_INIT;
    graph_blocked_reason(&p->graph, i, &reason);
    strbuf_addstr(out, "{\"job\":");
    const char *name = p->graph.jobs.items[i].name;
    json_quote(out, name, strlen(name));
    strbuf_addstr(out, ",\"due\":false,\"not_run\":");
    json_quote(out, reason.buf, reason.len);
    strbuf_addch(out, '}');
    strbuf_release(&reason);
}

/* A job not planned (invalid, or needing one that is): its state, its newest run as
 * the store has it, and why it does not run. */
static void status_not_run_json(const struct project *p, struct store *st, size_t i,
                                struct strbuf *out)
{
    const struct job *job = &p->graph.jobs.items[i];
    struct run_record last = {0};
    if (st && store_last_run(st, job->name, &last) < 0) {
        warn("%s", store_error(st));
        run_record_release(&last);
    }
    add_name(out, "state", job->invalid ? "invalid" : "blocked");
    add_bool(out, "due", false);
    if (job->broken)
        strbuf_addstr(out, ",\"policy\":null");
    else
        add_name(out, "policy", policy_json_name(job_policy(job)));
    strbuf_addstr(out, ",\"last_run\":");
    run_record_brief_json(&last, out);
    strbuf_addstr(out, ",\"next\":\"not-run\",\"next_at\":null,\"next_at_ms\":null"
                       ",\"reasons\":[],\"not_run\":");
    struct strbuf reason = STRBUF_INIT;
    graph_blocked_reason(&p->graph, i, &reason);
    json_quote(out, reason.buf, reason.len);
    strbuf_release(&reason);
    run_record_release(&last);
}

void cli_status_json(const struct project *p, const struct plan *plan, struct store *st, size_t i,
                     int64_t now, struct strbuf *out)
{
    const struct job *job = &p->graph.jobs.items[i];
    strbuf_addstr(out, "{\"job\":");
    json_quote(out, job->name, strlen(job->name));
    if (job->blocked) {
        status_not_run_json(p, st, i, out);
        strbuf_addch(out, '}');
        return;
    }
    const struct plan_job *pj = &plan->jobs[i];
    bool active = pj->last.id && !run_status_finished(pj->last.status);
    const char *state = active        ? run_status_name(pj->last.status)
                        : pj->due     ? "due"
                        : pj->last.id ? run_status_name(pj->last.status)
                                      : "never-run";
    add_name(out, "state", state);
    add_bool(out, "due", pj->due);
    add_name(out, "policy", policy_json_name(job_policy(job)));
    strbuf_addstr(out, ",\"last_run\":");
    run_record_brief_json(&pj->last, out);
    int64_t tick = CRON_NEVER;
    const char *next;
    if (active) {
        next = "when-run-ends";
    } else if (pj->due) {
        next = "now";
    } else if (pj->schedule_count) {
        tick = plan_job_next_tick(pj, now, NULL);
        next = tick != CRON_NEVER ? "tick" : "never";
    } else if (job_policy(job) == POLICY_ON_DEMAND) {
        next = "on-demand";
    } else {
        next = "on-change";
    }
    add_name(out, "next", next);
    if (tick != CRON_NEVER) {
        strbuf_addstr(out, ",\"next_at\":\"");
        json_time_format(tick, pj->zone, out);
        strbuf_addf(out, "\",\"next_at_ms\":%lld", (long long)tick);
    } else {
        strbuf_addstr(out, ",\"next_at\":null,\"next_at_ms\":null");
    }
    strbuf_addstr(out, ",\"reasons\":[");
    for (size_t r = 0; r < pj->why.len; r++) {
        const char *name = reason_name(pj->why.items[r].kind);
        if (r)
            strbuf_addch(out, ',');
        json_quote(out, name, strlen(name));
    }
    strbuf_addstr(out, "],\"not_run\":null}");
}
