/* fuzz_timetable.c: the original Stau's timetable (stau_schedule.py's
 * recurring_jobs) read statically: scan.c and eval.c into timetable.c's
 * timetable_build and timetable_cron, as project.c reads the file.
 *
 * Oracles besides the sanitizers: every entry kept names a job and a schedule,
 * the schedule parses (cron_parse), kwargs are a JSON object, and every
 * diagnostic prints with its source line.
 *
 * Seeds: fixtures/original's timetable and variations of it (corpus/timetable). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cron.h"
#include "scan.h"

static struct scanner *scanner;
static char *source_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    scanner = scanner_new();
    if (!scanner)
        abort();
    char *src = fuzz_path("src");
    mkdir(src, 0700);
    free(src);
    source_path = fuzz_path("src/" TIMETABLE_FILE);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size))
        return 0;
    char *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    for (size_t i = 0; i < size; i++)
        if (src[i] == '\r' && (i + 1 == size || src[i + 1] != '\n'))
            src[i] = '\n';
    fuzz_write(source_path, src, size);
    struct scan_result r = {0};
    scanner_scan_timetable(scanner, "src/" TIMETABLE_FILE, src, size, &r);
    struct diag_printer printer = {fuzz_scratch(), "", false};
    diag_print_all(fuzz_devnull(), &printer, &r.diags);
    for (size_t i = 0; r.is_timetable && i < r.timetable.len; i++) {
        const struct timetable_entry *e = &r.timetable.items[i];
        if (!e->id || !e->job || !e->schedule)
            fuzz_fail("timetable entry %zu lacks an id, a job or a schedule", i);
        struct cron c;
        struct strbuf err = STRBUF_INIT;
        size_t offset;
        if (cron_parse(e->schedule, &c, &err, &offset) < 0)
            fuzz_fail("timetable entry '%s' kept with schedule '%s', which does not parse: %s",
                      e->id, e->schedule, err.buf);
        strbuf_release(&err);
        if (e->kwargs_json && !json_valid(e->kwargs_json, '{'))
            fuzz_fail("timetable entry '%s' has kwargs that are no JSON object: %s", e->id,
                      e->kwargs_json);
    }
    scan_result_release(&r);
    free(src);
    return 0;
}
