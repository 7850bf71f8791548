/* cli_json.h: the object `stau why --json` and `stau status --json` print for each
 * job (README, "JSON output", has every key). */
#ifndef STAU_CLI_JSON_H
#define STAU_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>

struct plan;
struct project;
struct store;
struct strbuf;

/* Append the `why --json` object of job i of the plan: its reasons and the evidence
 * for or against, as of now (unix ms). */
void cli_why_json(const struct project *p, const struct plan *plan, size_t i, int64_t now,
                  struct strbuf *out);
/* Append the `why --json` object of job i, which is not run (invalid or blocked). */
void cli_why_not_run_json(const struct project *p, size_t i, struct strbuf *out);
/* Append the `status --json` object of job i: its state, last run and when it is next
 * due. A job not run (not planned) has its last run read from st. */
void cli_status_json(const struct project *p, const struct plan *plan, struct store *st, size_t i,
                     int64_t now, struct strbuf *out);

#endif
