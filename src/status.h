/* status.h: what a person reads while a one-off stau runs (an engine reporter): on a
 * terminal one status line redrawn in the manner of ninja, else plain lines; one
 * line per finished run; and at the end the counts, with the end of each failed
 * run's log. NO_COLOR is honoured. */
#ifndef STAU_STATUS_H
#define STAU_STATUS_H

#include "engine.h"

struct status;

/* A reporter writing to stdout; tty: stdout is a terminal (a status line, colour). */
struct status *status_new(bool tty);
/* The engine reporter that writes through s. */
struct engine_reporter status_reporter(struct status *s);
/* Say that stau was interrupted (times: 1 the first time, 2 the second, ...). */
void status_interrupted(struct status *s, int times);
/* Print the summary: counts, and the end of each failed run's log; ms: the run time. */
void status_summary(struct status *s, const struct engine_totals *totals, int64_t ms);
/* Free s. */
void status_free(struct status *s);

#endif
