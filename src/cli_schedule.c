/* cli_schedule.c: `stau schedule` (the next ticks of every schedule) and
 * `stau status` (each job's state, last run and when it is next due). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cron.h"
#include "plan.h"
#include "stale.h"
#include "store.h"
#include "tz.h"

/* Parse an ISO 8601 time: "2026-11-27", "2026-11-27T15:00", "...:00", with "Z" or
 * "+01:00" (default: UTC). Unix ms into *out; -1 when it is not such a time. */
static int parse_time(const char *s, int64_t *out)
{
    int year, month, day, hour = 0, minute = 0, second = 0, used = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &year, &month, &day, &used) != 3)
        return -1;
    const char *p = s + used;
    if (*p == 'T' || *p == ' ') {
        int n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hour, &minute, &n) != 2)
            return -1;
        p += 1 + n;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &second, &n) != 1)
                return -1;
            p += 1 + n;
        }
    }
    int64_t offset = 0;
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -1;
        offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else if (*p == 'Z') {
        p++;
    }
    if (*p || month < 1 || month > 12 || day < 1 || day > tz_days_in_month(year, month) ||
        hour > 23 || minute > 59 || second > 59)
        return -1;
    int64_t days = tz_days_from_civil(year, month, day);
    *out = ((days * 86400 + hour * 3600 + minute * 60 + second) - offset) * 1000;
    return 0;
}

int cli_schedule(const struct cli *c)
{
    int64_t from = wall_clock_ms();
    if (c->from && parse_time(c->from, &from) < 0) {
        fprintf(stderr,
                "stau: error: --from '%s' is not a time\n"
                "  hint: write it in ISO 8601, e.g. 2026-11-27T15:00 or "
                "2026-11-27T15:00+01:00 (UTC unless an offset is given)\n",
                c->from);
        return EXIT_USAGE;
    }
    size_t count = c->count ? c->count : 5;
    struct project p;
    if (cli_load(c, &p) < 0) {
        project_release(&p);
        return EXIT_USAGE;
    }
    struct tz *utc = tz_utc();
    struct strbuf out = STRBUF_INIT, when = STRBUF_INIT;
    if (c->json)
        strbuf_addch(&out, '[');
    size_t shown = 0;
    int rc = EXIT_OK;
    for (size_t i = 0; i < p.graph.jobs.len; i++) {
        const struct job *job = &p.graph.jobs.items[i];
        struct plan_job s = {0};
        if (plan_load_schedules(&s, job) < 0) {
            rc = EXIT_USAGE;
            plan_job_release(&s);
            continue;
        }
        if (!s.schedule_count) {
            plan_job_release(&s);
            continue;
        }
        if (c->json) {
            strbuf_addstr(&out, shown ? ",\n{\"job\":" : "\n{\"job\":");
            json_quote(&out, job->name, strlen(job->name));
            strbuf_addstr(&out, ",\"timezone\":");
            json_quote(&out, tz_name(s.zone), strlen(tz_name(s.zone)));
            strbuf_addstr(&out, ",\"ticks\":[");
        } else {
            strbuf_addf(&out, "%s (%s):\n", job->name, tz_name(s.zone));
        }
        int64_t after = from;
        for (size_t k = 0; k < count; k++) {
            struct job_now now;
            plan_job_now(&s, &now);
            size_t which = 0;
            int64_t tick = stale_next_tick(&now, after, &which);
            if (tick == CRON_NEVER)
                break;
            strbuf_reset(&when);
            if (c->json) {
                strbuf_addstr(&out, k ? ",{\"at\":\"" : "{\"at\":\"");
                json_time_format(tick, s.zone, &out);
                strbuf_addf(&out, "\",\"at_ms\":%lld,\"schedule\":", (long long)tick);
                json_quote(&out, s.schedule_texts[which], strlen(s.schedule_texts[which]));
                strbuf_addch(&out, '}');
            } else {
                tz_format(s.zone, tick / 1000, &when);
                strbuf_addf(&out, "  %s  = ", when.buf);
                strbuf_reset(&when);
                tz_format(utc, tick / 1000, &when);
                strbuf_addf(&out, "%s UTC  (%s)\n", when.buf, s.schedule_texts[which]);
            }
            after = tick;
        }
        if (c->json)
            strbuf_addstr(&out, "]}");
        shown++;
        plan_job_release(&s);
    }
    if (c->json)
        strbuf_addstr(&out, shown ? "\n]\n" : "]\n");
    else if (!shown)
        strbuf_addstr(&out, "no job has a schedule\n");
    fwrite(out.buf, 1, out.len, stdout);
    strbuf_release(&out);
    strbuf_release(&when);
    tz_free(utc);
    project_release_at_exit(&p);
    return rc;
}
