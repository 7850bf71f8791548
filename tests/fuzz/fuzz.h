/* fuzz.h: what the harnesses in tests/fuzz share: a scratch folder of their own
 * (removed at exit), writing the input to a file there for the readers that take
 * a path, and failing an oracle loudly. See driver.c for how harnesses run. */
#ifndef STAU_FUZZ_H
#define STAU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The harness's scratch folder ($TMPDIR/stau-fuzz.XXXXXX), made on first use and
 * removed with everything in it when the process exits. */
const char *fuzz_scratch(void);
/* scratch/name, newly allocated. */
char *fuzz_path(const char *name);
/* Write size bytes to path (replacing it); aborts when it cannot. */
void fuzz_write(const char *path, const void *data, size_t size);
/* An open /dev/null to print into. */
FILE *fuzz_devnull(void);
/* An oracle found stau wrong: print what and abort (the driver saves the input). */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
