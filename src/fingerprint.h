/* fingerprint.h: what a job's code is, as a hash that a change to comments or
 * blank lines leaves alone. */
#ifndef STAU_FINGERPRINT_H
#define STAU_FINGERPRINT_H

#include <stddef.h>
#include "util.h"

/* Hash of src without its comments (each starts at one of the sorted offsets in
 * comments and runs to the end of its line), trailing blanks and blank lines. */
struct hash128 fingerprint_code(const char *src, size_t len, const size_t *comments, size_t count);
/* Combine per-file code hashes, in the order given (callers sort by path), into
 * one; path names are part of it, so moving code between files counts. */
struct hash128 fingerprint_combine(const char *const *paths, const struct hash128 *hashes,
                                   size_t count);
/* The hash as 32 lower-case hex digits into out (33 bytes with the NUL). */
void fingerprint_hex(struct hash128 h, char out[33]);

/* Append to out the paths the glob pattern (relative to root, or absolute) matches,
 * sorted, relative to root when the pattern is (newly allocated). */
void fingerprint_glob(const char *root, const char *pattern, struct strlist *out);

#endif
