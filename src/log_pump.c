/* log_pump.c: the capped log of log_pump.h. */
#include "log_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "state_file.h"

struct log_pump {
    int read_fd;      /* the pipe the job writes into */
    int stop[2];      /* a byte written to stop[1] ends the copying */
    int log_fd;       /* the log (the caller's) */
    int ring_fd;      /* the last part, once the first is full; -1 before */
    char *log_path;   /* for messages and the ring's name */
    uint64_t limit;   /* the cap */
    uint64_t head;    /* bytes kept from the start */
    uint64_t ring;    /* bytes kept from the end */
    uint64_t total;   /* bytes the job wrote */
    char last;        /* the last byte written to the log */
    int write_errno;  /* the first failed write's error; 0: none */
    pthread_t thread; /* the copying thread */
    pthread_mutex_t lock;
    pthread_cond_t finished; /* signalled when the thread is done */
    bool done;               /* the thread has written everything */
};

static int write_all_at(int fd, const char *p, size_t n, off_t at, bool append)
{
    while (n) {
        ssize_t w = append ? write(fd, p, n) : pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

static void note_error(struct log_pump *p)
{
    if (!p->write_errno)
        p->write_errno = errno ? errno : EIO;
}

/* The ring: an unlinked file beside the log, so nothing is left if stau dies. */
static int open_ring(struct log_pump *p)
{
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        char *name = xprintf("%s.tail.%ld.%u", p->log_path, (long)getpid(), attempt);
        int fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            (void)unlink(name);
        free(name);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Take n bytes the job wrote: into the log while the head has room, then into the ring. */
static void take(struct log_pump *p, const char *buf, size_t n)
{
    if (p->total < p->head) {
        size_t room = p->head - p->total < n ? (size_t)(p->head - p->total) : n;
        if (!p->write_errno && write_all_at(p->log_fd, buf, room, 0, true) != 0)
            note_error(p);
        if (room)
            p->last = buf[room - 1];
        p->total += room;
        buf += room;
        n -= room;
    }
    if (!n)
        return;
    if (p->ring_fd < 0 && !p->write_errno && (p->ring_fd = open_ring(p)) < 0)
        note_error(p);
    while (n && p->ring_fd >= 0 && !p->write_errno) {
        uint64_t at = (p->total - p->head) % p->ring;
        size_t piece = p->ring - at < n ? (size_t)(p->ring - at) : n;
        if (write_all_at(p->ring_fd, buf, piece, (off_t)at, false) != 0)
            note_error(p);
        p->total += piece;
        buf += piece;
        n -= piece;
    }
    p->total += n; /* after a failure: counted, not kept */
}

/* Copy [from, to) of the ring to the end of the log. */
static void copy_ring(struct log_pump *p, uint64_t from, uint64_t to)
{
    char buf[65536];
    while (from < to && !p->write_errno) {
        size_t want = to - from < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
        ssize_t got = pread(p->ring_fd, buf, want, (off_t)from);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            note_error(p);
            return;
        }
        if (write_all_at(p->log_fd, buf, (size_t)got, 0, true) != 0)
            note_error(p);
        p->last = buf[got - 1];
        from += (uint64_t)got;
    }
}

/* The job is done: the line on what was dropped, then the kept end in order. */
static void write_end(struct log_pump *p)
{
    if (p->total <= p->head || p->ring_fd < 0)
        return;
    uint64_t beyond = p->total - p->head;
    if (beyond > p->ring) {
        /* The kept end starts after the first line end in it, if one comes soon. */
        uint64_t start = beyond % p->ring, skip = 0;
        char buf[4096];
        size_t want = p->ring - start < sizeof(buf) ? (size_t)(p->ring - start) : sizeof(buf);
        ssize_t got = pread(p->ring_fd, buf, want, (off_t)start);
        const char *nl = got > 0 ? memchr(buf, '\n', (size_t)got) : NULL;
        if (nl && (uint64_t)(nl - buf) + 1 < p->ring)
            skip = (uint64_t)(nl - buf) + 1;
        struct strbuf line = STRBUF_INIT;
        if (p->last != '\n')
            strbuf_addch(&line, '\n');
        strbuf_addf(&line, "... %llu bytes dropped (log_limit ",
                    (unsigned long long)(beyond - p->ring + skip));
        state_file_add_size(&line, p->limit);
        strbuf_addstr(&line, " keeps the first ");
        state_file_add_size(&line, p->head);
        strbuf_addstr(&line, " and the last ");
        state_file_add_size(&line, p->ring);
        strbuf_addstr(&line, ") ...\n");
        if (!p->write_errno && write_all_at(p->log_fd, line.buf, line.len, 0, true) != 0)
            note_error(p);
        strbuf_release(&line);
        copy_ring(p, start + skip, p->ring);
        copy_ring(p, 0, start);
    } else {
        copy_ring(p, 0, beyond);
    }
}

static void *pump_main(void *arg)
{
    struct log_pump *p = arg;
    char buf[65536];
    for (;;) {
        struct pollfd fds[2] = {{.fd = p->read_fd, .events = POLLIN},
                                {.fd = p->stop[0], .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        ssize_t n = read(p->read_fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break; /* every writer is gone */
        take(p, buf, (size_t)n);
    }
    write_end(p);
    pthread_mutex_lock(&p->lock);
    p->done = true;
    pthread_cond_signal(&p->finished);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct log_pump *log_pump_start(int log_fd, const char *log_path, uint64_t limit, int *child_fd,
                                struct strbuf *err)
{
    struct log_pump *p = xcalloc(1, sizeof(*p));
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        strbuf_addf(err, "cannot make a pipe for the log '%s': %s", log_path, strerror(errno));
        free(p);
        return NULL;
    }
    if (pipe2(p->stop, O_CLOEXEC) != 0) {
        strbuf_addf(err, "cannot make a pipe for the log '%s': %s", log_path, strerror(errno));
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        free(p);
        return NULL;
    }
    p->read_fd = pipe_fds[0];
    p->log_fd = log_fd;
    p->ring_fd = -1;
    p->log_path = xstrdup(log_path);
    p->limit = limit;
    p->head = limit - limit / 2;
    p->ring = limit / 2 ? limit / 2 : 1;
    p->last = '\n';
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->finished, NULL);
    int rc = pthread_create(&p->thread, NULL, pump_main, p);
    if (rc != 0) {
        strbuf_addf(err, "cannot start the copier of the log '%s': %s", log_path, strerror(rc));
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        close(p->stop[0]);
        close(p->stop[1]);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->finished);
        free(p->log_path);
        free(p);
        return NULL;
    }
    *child_fd = pipe_fds[1];
    return p;
}

void log_pump_finish(struct log_pump *p, int64_t wait_ms)
{
    if (!p)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (!p->done && pthread_cond_timedwait(&p->finished, &p->lock, &until) == 0)
        ;
    bool done = p->done;
    pthread_mutex_unlock(&p->lock);
    if (!done) {
        /* A writer outlives the job (it left the job's process group): stop here. */
        char byte = 1;
        if (write(p->stop[1], &byte, 1) != 1)
            warn("cannot stop copying the log '%s':", p->log_path);
    }
    pthread_join(p->thread, NULL);
    if (p->write_errno)
        warn("cannot write the log '%s': %s", p->log_path, strerror(p->write_errno));
    close(p->read_fd);
    close(p->stop[0]);
    close(p->stop[1]);
    if (p->ring_fd >= 0)
        close(p->ring_fd);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->finished);
    free(p->log_path);
    free(p);
}
