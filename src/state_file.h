/* state_file.h: opening the files stau keeps in .stau/ (and reads back) safely:
 * never through a symbolic link, only a regular file, and never more than a bound.
 * A state file replaced by a link to /dev/zero, a FIFO or a folder is refused at
 * once with a sentence saying what it is, instead of hanging or reading forever. */
#ifndef STAU_STATE_FILE_H
#define STAU_STATE_FILE_H

#include <stdint.h>
#include <sys/types.h>
#include "util.h"

struct stat;

/* Open path to read: O_NOFOLLOW, a regular file, at most limit bytes (0: no bound).
 * The descriptor (close-on-exec), or -1 with errno set: ENOENT when there is no
 * file (why untouched); else why gets what is wrong, as a clause to follow
 * "'PATH': " ("it is a symbolic link (to /dev/zero), which stau does not follow
 * in its state folder"). st, when not NULL, gets the file's stat data. */
int state_file_open(const char *path, uint64_t limit, struct stat *st, struct strbuf *why);
/* The whole of path (state_file_open's rules) appended to out: 0, or -1 as there;
 * a file that grows past limit while read is refused too. */
int state_file_read(const char *path, uint64_t limit, struct strbuf *out, struct strbuf *why);
/* Open path to write (O_WRONLY | flags | O_NOFOLLOW | O_CLOEXEC, mode 0600 when
 * made): a link in its place is refused (ELOOP) rather than written through. */
int state_file_create(const char *path, int flags);
/* What kind of file a mode is, for messages: "a folder", "a FIFO", ... */
const char *state_file_kind(mode_t mode);
/* A byte count for people: "512 bytes", "3.2 MB", "1.5 GB". */
void state_file_add_size(struct strbuf *out, uint64_t bytes);

#endif
