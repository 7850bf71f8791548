/* log_pump.h: a run's log with a cap. The job writes into a pipe; a thread of
 * stau's copies what arrives into the log file, keeping the first half of the cap
 * as it comes and the last half in a ring (an unlinked file beside the log). When
 * the job is done, the kept end follows a line saying what was dropped between:
 *
 *   ... 123456789 bytes dropped (log_limit 64.0 MB keeps the first and the last 32.0 MB) ...
 *
 * so a job printing a gigabyte leaves a log of at most the cap. While the run
 * goes on the log shows the first half only; the end comes when the run ends. */
#ifndef STAU_LOG_PUMP_H
#define STAU_LOG_PUMP_H

#include <stdint.h>
#include "util.h"

struct log_pump;

/* Start copying into log_fd (open for appending; stays the caller's) with a cap of
 * limit bytes (> 0); log_path names the log in messages and places the ring file.
 * *child_fd gets the pipe's write end for the job's stdout and stderr
 * (close-on-exec; the caller closes it once the job has it). NULL with a message
 * in err when it cannot start. */
struct log_pump *log_pump_start(int log_fd, const char *log_path, uint64_t limit, int *child_fd,
                                struct strbuf *err);
/* Wait until every writer has closed the pipe (at most wait_ms: a process that
 * left the job's group may hold it), write the kept end, and free the pump. A
 * failed write of the log is warned about. */
void log_pump_finish(struct log_pump *pump, int64_t wait_ms);

#endif
