/* state_file.c: the safe opening of state files of state_file.h. */
#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *state_file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

void state_file_add_size(struct strbuf *out, uint64_t bytes)
{
    if (bytes < 1024)
        strbuf_addf(out, "%llu bytes", (unsigned long long)bytes);
    else if (bytes < (uint64_t)1 << 20)
        strbuf_addf(out, "%.1f KB", (double)bytes / 1024);
    else if (bytes < (uint64_t)1 << 30)
        strbuf_addf(out, "%.1f MB", (double)bytes / (1 << 20));
    else
        strbuf_addf(out, "%.1f GB", (double)bytes / (1 << 30));
}

/* Say what the link at path leads to, as "it is a symbolic link (to TARGET)". */
static void describe_link(const char *path, struct strbuf *why)
{
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    strbuf_addstr(why, "it is a symbolic link");
    if (n > 0) {
        strbuf_addstr(why, " (to ");
        strbuf_add_printable(why, target, (size_t)n);
        strbuf_addch(why, ')');
    }
    strbuf_addstr(why, ", which stau does not follow in its state folder");
}

int state_file_open(const char *path, uint64_t limit, struct stat *st, struct strbuf *why)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        struct stat ls;
        if (saved == ENOENT)
            return -1;
        if ((saved == ELOOP || saved == EMLINK) && lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode))
            describe_link(path, why);
        else
            strbuf_addf(why, "cannot read it: %s", strerror(saved));
        errno = saved;
        return -1;
    }
    struct stat own;
    struct stat *s = st ? st : &own;
    int problem = 0;
    if (fstat(fd, s) < 0) {
        problem = errno;
        strbuf_addf(why, "cannot read it: %s", strerror(problem));
    } else if (!S_ISREG(s->st_mode)) {
        problem = EINVAL;
        strbuf_addf(why, "it is %s, not a regular file", state_file_kind(s->st_mode));
    } else if (limit && (uint64_t)s->st_size > limit) {
        problem = EFBIG;
        strbuf_addstr(why, "it is ");
        state_file_add_size(why, (uint64_t)s->st_size);
        strbuf_addstr(why, ", over the ");
        state_file_add_size(why, limit);
        strbuf_addstr(why, " stau reads of it");
    }
    if (problem) {
        close(fd);
        errno = problem;
        return -1;
    }
    /* Reads of a regular file never block; clear the flag all the same. */
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

int state_file_read(const char *path, uint64_t limit, struct strbuf *out, struct strbuf *why)
{
    struct stat st;
    int fd = state_file_open(path, limit, &st, why);
    if (fd < 0)
        return -1;
    size_t start = out->len;
    int problem = 0;
    for (;;) {
        strbuf_grow(out, 65536);
        size_t room = out->cap - out->len - 1;
        ssize_t n = read(fd, out->buf + out->len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            problem = errno;
            strbuf_addf(why, "cannot read it: %s", strerror(problem));
            break;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        if (limit && out->len - start > limit) {
            problem = EFBIG;
            strbuf_addstr(why, "it grew past the ");
            state_file_add_size(why, limit);
            strbuf_addstr(why, " stau reads of it while read");
            break;
        }
    }
    close(fd);
    if (out->buf)
        out->buf[out->len] = '\0';
    if (problem) {
        out->len = start;
        out->buf[start] = '\0';
        errno = problem;
        return -1;
    }
    return 0;
}

int state_file_create(const char *path, int flags)
{
    return open(path, O_WRONLY | flags | O_NOFOLLOW | O_CLOEXEC, 0600);
}
