/* test_archiver.c: run archives: round trips, atomic writes, and restores that
 * refuse crafted archives without touching the target folder. */
#include "archiver.h"
#include "unit.h"
#include "util.h"
#include <archive.h>
#include <archive_entry.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char *path_in(const char *dir, const char *rel)
{
    return xprintf("%s/%s", dir, rel);
}

/* The whole file at path ("<missing>" when it cannot be read); *len gets its length. */
static char *slurp(const char *path, size_t *len)
{
    struct strbuf sb = STRBUF_INIT;
    FILE *f = fopen(path, "rb");
    if (!f)
        return xstrdup("<missing>");
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
        strbuf_add(&sb, buffer, n);
    fclose(f);
    if (len)
        *len = sb.len;
    return strbuf_detach(&sb);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A description of everything below dir (type, mode, content or link target), to
 * compare a folder before and after a restore. */
static void describe_tree(const char *dir, const char *prefix, struct strbuf *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    VEC(char *) names = {0};
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            VEC_PUSH(&names, xstrdup(e->d_name));
    closedir(d);
    if (names.len)
        qsort(names.items, names.len, sizeof(char *), compare_strings);
    for (size_t i = 0; i < names.len; i++) {
        char *path = path_in(dir, names.items[i]);
        struct stat st;
        lstat(path, &st);
        strbuf_addf(out, "%s%s %o ", prefix, names.items[i], (unsigned)st.st_mode);
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(path, target, sizeof(target) - 1);
            strbuf_addf(out, "-> %.*s\n", (int)(n > 0 ? n : 0), target);
        } else if (S_ISDIR(st.st_mode)) {
            strbuf_addstr(out, "/\n");
            char *sub = xprintf("%s%s/", prefix, names.items[i]);
            describe_tree(path, sub, out);
            free(sub);
        } else {
            size_t len = 0;
            char *content = slurp(path, &len);
            strbuf_addstr(out, "= ");
            for (size_t j = 0; j < len; j++)
                if (content[j] == '\n')
                    strbuf_addstr(out, "\\n");
                else
                    strbuf_addch(out, content[j] ? content[j] : '0');
            strbuf_addch(out, '\n');
            free(content);
        }
        free(path);
        free(names.items[i]);
    }
    VEC_FREE(&names);
}

static char *tree(const char *dir)
{
    struct strbuf sb = STRBUF_INIT;
    describe_tree(dir, "", &sb);
    return strbuf_detach(&sb);
}

/* Names in dir, space-separated and sorted. */
static char *names_in(const char *dir)
{
    struct strbuf sb = STRBUF_INIT;
    DIR *d = opendir(dir);
    VEC(char *) names = {0};
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            VEC_PUSH(&names, xstrdup(e->d_name));
    if (d)
        closedir(d);
    if (names.len)
        qsort(names.items, names.len, sizeof(char *), compare_strings);
    for (size_t i = 0; i < names.len; i++) {
        strbuf_addf(&sb, "%s%s", i ? " " : "", names.items[i]);
        free(names.items[i]);
    }
    VEC_FREE(&names);
    return strbuf_detach(&sb);
}

/* Write content to dir/rel, creating dir and the folders between. */
static void put(const char *dir, const char *rel, const char *content)
{
    mkdir(dir, 0755);
    unit_write(dir, rel, content);
}

static void write_binary(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len && fclose(f) == 0);
}

/* A member of a crafted archive. */
struct craft {
    const char *path;
    mode_t type;         /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO, AE_IFCHR, AE_IFBLK */
    const char *content; /* a file's content, or a link's target */
    bool hard;           /* content is a hard link's target */
};

/* Write members to path as a zstd pax tar, straight through libarchive, with the
 * permission bits perms gives (setuid and the like included; NULL: each 0644). */
static void craft_archive_perms(const char *path, const struct craft *members, size_t count,
                                const unsigned *perms)
{
    struct archive *a = archive_write_new();
    CHECK(archive_write_add_filter_zstd(a) == ARCHIVE_OK);
    CHECK(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
    CHECK(archive_write_open_filename(a, path) == ARCHIVE_OK);
    for (size_t i = 0; i < count; i++) {
        const struct craft *m = &members[i];
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m->path);
        archive_entry_set_filetype(e, (unsigned)m->type);
        archive_entry_set_perm(e, perms ? perms[i] : 0644);
        if (m->type == AE_IFCHR || m->type == AE_IFBLK)
            archive_entry_set_rdev(e, makedev(1, 3)); /* /dev/null's */
        archive_entry_set_mtime(e, 1700000000, 0);
        if (m->hard)
            archive_entry_set_hardlink(e, m->content);
        else if (m->type == AE_IFLNK)
            archive_entry_set_symlink(e, m->content);
        size_t len = m->type == AE_IFREG && !m->hard && m->content ? strlen(m->content) : 0;
        archive_entry_set_size(e, (la_int64_t)len);
        CHECK(archive_write_header(a, e) == ARCHIVE_OK);
        if (len)
            CHECK(archive_write_data(a, m->content, len) == (la_ssize_t)len);
        archive_entry_free(e);
    }
    CHECK(archive_write_close(a) == ARCHIVE_OK);
    CHECK(archive_write_free(a) == ARCHIVE_OK);
}

static void craft_archive(const char *path, const struct craft *members, size_t count)
{
    craft_archive_perms(path, members, count, NULL);
}

static const char binary[] = {'\0', '\1', '\xff', '\xfe', '\n', '\0', 'z', '\x80'};

UNIT_TEST(archive_round_trip)
{
    const char *tmp = unit_tmpdir();
    char *project = path_in(tmp, "project");
    put(project, "out/report.csv", "a,b\n1,2\n");
    put(project, "out/nested/deep/notes.txt", "deep\n");
    put(project, "out/empty.txt", "");
    put(project, "out/with space \xc3\xbc\xe2\x9c\x93.txt", "utf-8\n");
    put(project, "summary.json", "{}\n");
    put(project, "run.log", "line 1\nline 2\n");
    char *bin = path_in(project, "out/nested/blob.bin");
    write_binary(bin, binary, sizeof(binary));
    CHECK(chmod(bin, 0751) == 0);
    char *link = path_in(project, "out/nested/latest");
    CHECK(symlink("../report.csv", link) == 0);

    char *archive = path_in(tmp, "run-1.tar.zst");
    char *log = path_in(project, "run.log");
    const char *outputs[] = {"out", "./summary.json", "out/report.csv"};
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(archiver_write_run(archive, "{\"run\": 1}", log, project, outputs, 3, &err), 0);
    CHECK_STR(err.buf, NULL);

    struct archiver_members members = {0};
    CHECK_INT(archiver_list(archive, &members, &err), 0);
    struct strbuf listing = STRBUF_INIT;
    for (size_t i = 0; i < members.len; i++) {
        struct archiver_member *m = &members.items[i];
        strbuf_addf(&listing, "%s %d %lld %o%s%s\n", m->path, (int)m->type, (long long)m->size,
                    m->mode, m->link_target ? " -> " : "", m->link_target ? m->link_target : "");
    }
    CHECK_STR(listing.buf, "manifest.json 0 10 644\n"
                           "log.txt 0 14 644\n"
                           "outputs/out/ 1 0 755\n"
                           "outputs/out/empty.txt 0 0 644\n"
                           "outputs/out/nested/ 1 0 755\n"
                           "outputs/out/nested/blob.bin 0 8 751\n"
                           "outputs/out/nested/deep/ 1 0 755\n"
                           "outputs/out/nested/deep/notes.txt 0 5 644\n"
                           "outputs/out/nested/latest 2 0 777 -> ../report.csv\n"
                           "outputs/out/report.csv 0 8 644\n"
                           "outputs/out/with space \xc3\xbc\xe2\x9c\x93.txt 0 6 644\n"
                           "outputs/summary.json 0 3 644\n");
    archiver_members_release(&members);
    strbuf_release(&listing);

    struct strbuf manifest = STRBUF_INIT;
    CHECK_INT(archiver_read_manifest(archive, &manifest, &err), 0);
    CHECK_STR(manifest.buf, "{\"run\": 1}");
    strbuf_release(&manifest);

    char *log_copy = NULL;
    size_t log_len = 0;
    FILE *log_out = open_memstream(&log_copy, &log_len);
    CHECK_INT(archiver_read_log(archive, log_out, &err), 0);
    fclose(log_out);
    CHECK_STR(log_copy, "line 1\nline 2\n");
    free(log_copy);

    char *target = path_in(tmp, "restored");
    CHECK_INT(archiver_restore(archive, target, &err), 0);
    CHECK_STR(err.buf, NULL);
    char *project_out = path_in(project, "out");
    char *target_out = path_in(target, "out");
    char *want = tree(project_out), *got = tree(target_out);
    CHECK_STR(got, want);
    free(want);
    free(got);
    char *summary = path_in(target, "summary.json");
    char *content = slurp(summary, NULL);
    CHECK_STR(content, "{}\n");
    free(content);
    char *restored_bin = path_in(target, "out/nested/blob.bin");
    size_t len = 0;
    content = slurp(restored_bin, &len);
    CHECK(len == sizeof(binary) && memcmp(content, binary, len) == 0);
    free(content);
    struct stat original, restored;
    CHECK(stat(bin, &original) == 0 && stat(restored_bin, &restored) == 0);
    CHECK_INT(restored.st_mode & 07777, 0751);
    CHECK_INT(restored.st_mtim.tv_sec, original.st_mtim.tv_sec);
    CHECK_INT(restored.st_mtim.tv_nsec, 0); /* whole seconds, see archive.c */
    char *names = names_in(tmp);
    CHECK_STR(names, "project restored run-1.tar.zst");

    free(names);
    free(restored_bin);
    free(summary);
    free(project_out);
    free(target_out);
    free(target);
    free(archive);
    free(log);
    free(link);
    free(bin);
    free(project);
    strbuf_release(&err);
}

UNIT_TEST(archive_restore_replaces_without_following)
{
    /* Restoring over a previous copy replaces files, even a symbolic link standing
     * where a file goes (the link is replaced, its target left alone). */
    const char *tmp = unit_tmpdir();
    char *project = path_in(tmp, "project");
    put(project, "out/a.txt", "new\n");
    char *archive = path_in(tmp, "run.tar.zst");
    const char *outputs[] = {"out"};
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(archiver_write_run(archive, "{}", NULL, project, outputs, 1, &err), 0);
    char *target = path_in(tmp, "target");
    put(target, "out/keep.txt", "kept\n");
    char *outside = path_in(tmp, "outside.txt");
    unit_write(tmp, "outside.txt", "outside\n");
    char *a = path_in(target, "out/a.txt");
    CHECK(symlink(outside, a) == 0);
    CHECK_INT(archiver_restore(archive, target, &err), 0);
    CHECK_STR(err.buf, NULL);
    char *t = tree(target);
    CHECK_STR(t, "out 40755 /\nout/a.txt 100644 = new\\n\nout/keep.txt 100644 = kept\\n\n");
    char *content = slurp(outside, NULL);
    CHECK_STR(content, "outside\n");
    struct strbuf log = STRBUF_INIT;
    FILE *f = tmpfile();
    CHECK_INT(archiver_read_log(archive, f, &err), 0);
    CHECK_INT(ftell(f), 0);
    fclose(f);
    free(content);
    free(t);
    free(a);
    free(outside);
    free(target);
    free(archive);
    free(project);
    strbuf_release(&log);
    strbuf_release(&err);
}

UNIT_TEST(archive_write_errors)
{
    const char *tmp = unit_tmpdir();
    char *project = path_in(tmp, "project");
    put(project, "out/a.txt", "a\n");
    char *archive = path_in(tmp, "run.tar.zst");
    struct strbuf err = STRBUF_INIT;

    const char *missing[] = {"out/a.txt", "out/missing.csv"};
    CHECK_INT(archiver_write_run(archive, "{}", NULL, project, missing, 2, &err), -1);
    char *want =
        xprintf("output 'out/missing.csv' does not exist (no '%s/out/missing.csv')", project);
    CHECK_STR(err.buf, want);
    free(want);
    strbuf_reset(&err);

    const char *escaping[] = {"out/../../etc"};
    CHECK_INT(archiver_write_run(archive, "{}", NULL, project, escaping, 1, &err), -1);
    CHECK_STR(err.buf,
              "cannot archive output 'out/../../etc': it is not a path inside the project");
    strbuf_reset(&err);

    char *link = path_in(project, "out/etc");
    CHECK(symlink("/etc", link) == 0);
    const char *with_link[] = {"out"};
    CHECK_INT(archiver_write_run(archive, "{}", NULL, project, with_link, 1, &err), -1);
    CHECK_STR(err.buf, "cannot archive output 'out': the target '/etc' of the symbolic link "
                       "'out/etc' is an absolute path, so it could not be restored safely");
    strbuf_reset(&err);

    char *log = path_in(project, "no.log");
    CHECK_INT(archiver_write_run(archive, "{}", log, project, NULL, 0, &err), -1);
    want = xprintf("cannot open '%s': No such file or directory", log);
    CHECK_STR(err.buf, want);
    free(want);
    strbuf_reset(&err);

    char *names = names_in(tmp);
    CHECK_STR(names, "project");
    free(names);
    free(log);
    free(link);
    free(archive);
    free(project);
    strbuf_release(&err);
}

UNIT_TEST(archive_never_written_over)
{
    const char *tmp = unit_tmpdir();
    char *project = path_in(tmp, "project");
    put(project, "out/a.txt", "a\n");
    char *archive = path_in(tmp, "run.tar.zst");
    const char *outputs[] = {"out/a.txt"};
    struct strbuf err = STRBUF_INIT, manifest = STRBUF_INIT;
    CHECK_INT(archiver_write_run(archive, "{\"v\": 1}", NULL, project, outputs, 1, &err), 0);
    /* A stale temporary file of ours (same pid) is overwritten, never left. */
    char *stale = xprintf("%s.tmp.%ld", archive, (long)getpid());
    unit_write(tmp, strrchr(stale, '/') + 1, "stale");
    /* An archive under the name is another run's (ids restarted with a lost state
     * database): it is kept, and the new one refused, its temporary file gone. */
    CHECK_INT(archiver_write_run(archive, "{\"v\": 2}", NULL, project, outputs, 1, &err), -1);
    char *exists = xprintf("'%s' exists already, an archive of an earlier run with this id (was "
                           "the state database lost?): kept as it is",
                           archive);
    CHECK_STR(strbuf_str(&err), exists);
    free(exists);
    strbuf_reset(&err);
    CHECK_INT(archiver_read_manifest(archive, &manifest, &err), 0);
    CHECK_STR(manifest.buf, "{\"v\": 1}");
    strbuf_reset(&manifest);

    const char *missing[] = {"gone"};
    CHECK_INT(archiver_write_run(archive, "{\"v\": 3}", NULL, project, missing, 1, &err), -1);
    strbuf_reset(&err);
    CHECK_INT(archiver_read_manifest(archive, &manifest, &err), 0);
    CHECK_STR(manifest.buf, "{\"v\": 1}");
    CHECK_STR(strbuf_str(&err), "");
    char *names = names_in(tmp);
    CHECK_STR(names, "project run.tar.zst");

    /* A folder that cannot be written to: the message names the temporary file. */
    char *nowhere = path_in(tmp, "no/such/run.tar.zst");
    CHECK_INT(archiver_write_run(nowhere, "{}", NULL, project, NULL, 0, &err), -1);
    char *want =
        xprintf("cannot create '%s.tmp.%ld': No such file or directory", nowhere, (long)getpid());
    CHECK_STR(err.buf, want);
    free(want);
    free(nowhere);
    free(names);
    free(stale);
    free(archive);
    free(project);
    strbuf_release(&manifest);
    strbuf_release(&err);
}

UNIT_TEST(archive_staged_then_placed_together)
{
    /* Staged archives sit under their temporary names until placed; placing many
     * renames each that is still there and says why for each that is not. */
    const char *tmp = unit_tmpdir();
    char *project = path_in(tmp, "project");
    put(project, "out/a.txt", "a\n");
    char *folder = path_in(tmp, "archive");
    CHECK(mkdir(folder, 0755) == 0);
    const char *outputs[] = {"out/a.txt"};
    char *paths[3];
    struct strbuf err = STRBUF_INIT;
    for (int i = 0; i < 3; i++) {
        paths[i] = xprintf("%s/run%d.tar.zst", folder, i + 1);
        char *manifest = xprintf("{\"run\": %d}", i + 1);
        CHECK_INT(archiver_stage_run(paths[i], manifest, NULL, project, outputs, 1, &err), 0);
        free(manifest);
    }
    char *names = names_in(folder);
    char *want = xprintf("run1.tar.zst.tmp.%ld run2.tar.zst.tmp.%ld run3.tar.zst.tmp.%ld",
                         (long)getpid(), (long)getpid(), (long)getpid());
    CHECK_STR(names, want);
    free(names);
    free(want);
    char *gone = xprintf("%s.tmp.%ld", paths[1], (long)getpid());
    CHECK(unlink(gone) == 0);
    bool placed[3];
    struct strbuf errs[3] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
    CHECK_INT((int)archiver_place((const char *const *)paths, 3, placed, errs), 2);
    CHECK(placed[0] && !placed[1] && placed[2]);
    CHECK_STR(strbuf_str(&errs[0]), "");
    want = xprintf("cannot rename '%s' to '%s': No such file or directory", gone, paths[1]);
    CHECK_STR(errs[1].buf, want);
    free(want);
    names = names_in(folder);
    CHECK_STR(names, "run1.tar.zst run3.tar.zst");
    struct strbuf manifest = STRBUF_INIT;
    CHECK_INT(archiver_read_manifest(paths[2], &manifest, &err), 0);
    CHECK_STR(manifest.buf, "{\"run\": 3}");
    strbuf_release(&manifest);
    for (int i = 0; i < 3; i++) {
        strbuf_release(&errs[i]);
        free(paths[i]);
    }
    free(names);
    free(gone);
    free(folder);
    free(project);
    strbuf_release(&err);
}

/* Restore a crafted archive into a target holding one file; the restore must fail
 * with want (%1$s: the archive, %2$s: the target) and leave the target untouched. */
static void check_refused(const struct craft *members, size_t count, const char *want_format)
{
    const char *tmp = unit_tmpdir();
    char *archive = path_in(tmp, "evil.tar.zst");
    char *target = path_in(tmp, "target");
    char *outside = path_in(tmp, "outside");
    if (access(target, F_OK) != 0) {
        put(target, "existing.txt", "existing\n");
        CHECK(mkdir(outside, 0755) == 0);
    }
    craft_archive(archive, members, count);
    char *before = tree(tmp);
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(archiver_restore(archive, target, &err), -1);
    struct strbuf want = STRBUF_INIT;
    for (const char *p = want_format; *p; p++) {
        if (p[0] == '%' && p[1] == 'A')
            strbuf_addstr(&want, archive), p++;
        else if (p[0] == '%' && p[1] == 'T')
            strbuf_addstr(&want, target), p++;
        else
            strbuf_addch(&want, *p);
    }
    CHECK_STR(err.buf, want.buf);
    char *after = tree(tmp);
    CHECK_STR(after, before);
    free(after);
    free(before);
    strbuf_release(&want);
    strbuf_release(&err);
    free(outside);
    free(target);
    free(archive);
}

#define REFUSED(members, want) check_refused(members, sizeof(members) / sizeof(members[0]), want)

UNIT_TEST(archive_refuses_absolute_path)
{
    struct craft m[] = {{"manifest.json", AE_IFREG, "{}", false},
                        {"outputs/fine.txt", AE_IFREG, "fine", false},
                        {"/tmp/stau-evil.txt", AE_IFREG, "evil", false}};
    REFUSED(m, "refusing to restore '/tmp/stau-evil.txt' from '%A': the path is absolute");
    CHECK(access("/tmp/stau-evil.txt", F_OK) != 0);
}

UNIT_TEST(archive_refuses_dotdot)
{
    struct craft m[] = {{"outputs/fine.txt", AE_IFREG, "fine", false},
                        {"outputs/../../etc/passwd", AE_IFREG, "root::0:0::/:/bin/sh\n", false}};
    REFUSED(m, "refusing to restore 'outputs/../../etc/passwd' from '%A': the path leaves the "
               "target folder");
    struct craft inner[] = {{"outputs/a/../b.txt", AE_IFREG, "b", false}};
    REFUSED(inner, "refusing to restore 'outputs/a/../b.txt' from '%A': the path leaves the "
                   "target folder");
}

UNIT_TEST(archive_refuses_symlinks_out)
{
    const char *tmp = unit_tmpdir();
    char *outside = path_in(tmp, "outside");
    struct craft absolute[] = {{"outputs/escape", AE_IFLNK, outside, false},
                               {"outputs/escape/evil.txt", AE_IFREG, "evil", false}};
    char *want = xprintf("refusing to restore 'outputs/escape' from '%%A': the symbolic link "
                         "target '%s' is an absolute path",
                         outside);
    REFUSED(absolute, want);
    free(want);
    struct craft relative[] = {{"outputs/sub/escape", AE_IFLNK, "../../outside", false},
                               {"outputs/sub/escape/evil.txt", AE_IFREG, "evil", false}};
    REFUSED(relative, "refusing to restore 'outputs/sub/escape' from '%A': the symbolic link "
                      "target '../../outside' leaves the target folder");
    struct craft late_dotdot[] = {{"outputs/a", AE_IFLNK, "sub/../../outside", false}};
    REFUSED(late_dotdot, "refusing to restore 'outputs/a' from '%A': the symbolic link target "
                         "'sub/../../outside' has '..' after other components");
    /* A harmless link is fine, but nothing may be written through it. */
    struct craft through[] = {{"outputs/here", AE_IFLNK, ".", false},
                              {"outputs/here/evil.txt", AE_IFREG, "evil", false}};
    REFUSED(through, "refusing to restore 'outputs/here/evil.txt' from '%A': the path goes "
                     "through the symbolic link 'outputs/here'");
    struct craft replace_dir[] = {{"outputs/d/f.txt", AE_IFREG, "f", false},
                                  {"outputs/d", AE_IFLNK, ".", false}};
    REFUSED(replace_dir,
            "refusing to restore 'outputs/d' from '%A': the path clashes with an earlier entry");
    free(outside);
}

UNIT_TEST(archive_refuses_hard_links_out)
{
    struct craft passwd[] = {{"outputs/passwd", AE_IFREG, "/etc/passwd", true}};
    REFUSED(passwd, "refusing to restore 'outputs/passwd' from '%A': the hard link target "
                    "'/etc/passwd' is an absolute path");
    struct craft dotdot[] = {{"outputs/passwd", AE_IFREG, "outputs/../../etc/passwd", true}};
    REFUSED(dotdot, "refusing to restore 'outputs/passwd' from '%A': the hard link target "
                    "'outputs/../../etc/passwd' leaves the target folder");
    struct craft existing[] = {{"outputs/copy", AE_IFREG, "outputs/existing.txt", true}};
    REFUSED(existing, "refusing to restore 'outputs/copy' from '%A': the hard link target "
                      "'outputs/existing.txt' is not a file earlier in the archive");
}

UNIT_TEST(archive_refuses_fifo)
{
    struct craft m[] = {{"outputs/fine.txt", AE_IFREG, "fine", false},
                        {"outputs/pipe", AE_IFIFO, NULL, false}};
    REFUSED(m, "refusing to restore 'outputs/pipe' from '%A': the entry is a fifo; only files, "
               "folders and links are restored");
}

UNIT_TEST(archive_refuses_devices)
{
    struct craft chr[] = {{"outputs/fine.txt", AE_IFREG, "fine", false},
                          {"outputs/null", AE_IFCHR, NULL, false}};
    REFUSED(chr, "refusing to restore 'outputs/null' from '%A': the entry is a character "
                 "device; only files, folders and links are restored");
    struct craft blk[] = {{"outputs/disk", AE_IFBLK, NULL, false}};
    REFUSED(blk, "refusing to restore 'outputs/disk' from '%A': the entry is a block device; "
                 "only files, folders and links are restored");
}

/* setuid, setgid and sticky bits never come out of an archive: a restored file or
 * folder gets its permission bits only. */
UNIT_TEST(archive_restores_without_setuid_bits)
{
    const char *tmp = unit_tmpdir();
    char *archive = path_in(tmp, "run.tar.zst");
    char *target = path_in(tmp, "target");
    struct craft m[] = {{"manifest.json", AE_IFREG, "{}", false},
                        {"outputs/d", AE_IFDIR, NULL, false},
                        {"outputs/d/suid", AE_IFREG, "#!/bin/sh\n", false},
                        {"outputs/sgid", AE_IFREG, "x", false}};
    static const unsigned perms[] = {0644, 03775, 04755, 02711};
    craft_archive_perms(archive, m, sizeof(m) / sizeof(m[0]), perms);
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(archiver_restore(archive, target, &err), 0);
    CHECK_STR(strbuf_str(&err), "");
    struct stat st;
    char *suid = path_in(target, "d/suid"), *sgid = path_in(target, "sgid"),
         *dir = path_in(target, "d");
    CHECK(stat(suid, &st) == 0 && CHECK_INT(st.st_mode & 07777, 0755));
    CHECK(stat(sgid, &st) == 0 && CHECK_INT(st.st_mode & 07777, 0711));
    CHECK(stat(dir, &st) == 0 && CHECK_INT(st.st_mode & 07000, 0));
    free(dir);
    free(sgid);
    free(suid);
    free(target);
    free(archive);
    strbuf_release(&err);
}

UNIT_TEST(archive_refuses_existing_symlink_in_target)
{
    const char *tmp = unit_tmpdir();
    char *target = path_in(tmp, "target");
    char *outside = path_in(tmp, "outside");
    put(target, "existing.txt", "existing\n");
    CHECK(mkdir(outside, 0755) == 0);
    char *link = path_in(target, "out");
    CHECK(symlink(outside, link) == 0);
    struct craft m[] = {{"outputs/fine.txt", AE_IFREG, "fine", false},
                        {"outputs/out/evil.txt", AE_IFREG, "evil", false}};
    REFUSED(m, "refusing to restore 'outputs/out/evil.txt' from '%A': '%T/out' is a symbolic "
               "link");
    char *names = names_in(outside);
    CHECK_STR(names, "");
    struct craft as_folder[] = {{"outputs/out", AE_IFDIR, NULL, false}};
    REFUSED(as_folder, "refusing to restore 'outputs/out/' from '%A': '%T/out' is a symbolic link");
    struct craft over_folder[] = {{"outputs/fine", AE_IFDIR, NULL, false},
                                  {"outputs/fine/x", AE_IFREG, "x", false},
                                  {"outputs/existing.txt/x", AE_IFREG, "x", false}};
    REFUSED(over_folder, "refusing to restore 'outputs/existing.txt/x' from '%A': "
                         "'%T/existing.txt' is not a folder");
    free(names);
    free(link);
    free(outside);
    free(target);
}

UNIT_TEST(archive_restores_hard_links_inside)
{
    const char *tmp = unit_tmpdir();
    char *archive = path_in(tmp, "run.tar.zst");
    char *target = path_in(tmp, "target");
    struct craft m[] = {{"./manifest.json", AE_IFREG, "{}", false},
                        {"outputs/", AE_IFDIR, NULL, false},
                        {"outputs/d/a.txt", AE_IFREG, "a\n", false},
                        {"outputs/b.txt", AE_IFREG, "outputs/d/a.txt", true}};
    craft_archive(archive, m, 4);
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(archiver_restore(archive, target, &err), 0);
    CHECK_STR(err.buf, NULL);
    char *t = tree(target);
    CHECK_STR(t, "b.txt 100644 = a\\n\nd 40755 /\nd/a.txt 100644 = a\\n\n");
    struct strbuf manifest = STRBUF_INIT;
    CHECK_INT(archiver_read_manifest(archive, &manifest, &err), 0);
    CHECK_STR(manifest.buf, "{}");
    CHECK_INT(archiver_read_log(archive, stdout, &err), -1);
    char *want = xprintf("archive '%s' has no 'log.txt'", archive);
    CHECK_STR(err.buf, want);
    free(want);
    free(t);
    free(target);
    free(archive);
    strbuf_release(&manifest);
    strbuf_release(&err);
}

UNIT_TEST(archive_corrupt)
{
    const char *tmp = unit_tmpdir();
    char *project = path_in(tmp, "project");
    char *big = xcalloc(1, 300000);
    for (size_t i = 0; i < 299999; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    put(project, "out/big.txt", big);
    free(big);
    char *archive = path_in(tmp, "run.tar.zst");
    const char *outputs[] = {"out"};
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(archiver_write_run(archive, "{}", NULL, project, outputs, 1, &err), 0);
    struct stat st;
    CHECK(stat(archive, &st) == 0);
    CHECK(truncate(archive, st.st_size / 2) == 0);

    char *target = path_in(tmp, "target");
    CHECK_INT(archiver_restore(archive, target, &err), -1);
    char *prefix = xprintf("cannot read archive '%s': ", archive);
    CHECK(starts_with(strbuf_str(&err), prefix));
    CHECK(access(target, F_OK) != 0);
    strbuf_reset(&err);
    struct archiver_members members = {0};
    CHECK_INT(archiver_list(archive, &members, &err), -1);
    CHECK(starts_with(strbuf_str(&err), prefix));
    archiver_members_release(&members);
    strbuf_reset(&err);

    unit_write(tmp, "run.tar.zst", "this is not an archive, not even close to one\n");
    struct strbuf manifest = STRBUF_INIT;
    CHECK_INT(archiver_read_manifest(archive, &manifest, &err), -1);
    CHECK(starts_with(strbuf_str(&err), prefix));
    strbuf_reset(&err);

    char *missing = path_in(tmp, "missing.tar.zst");
    CHECK_INT(archiver_restore(missing, target, &err), -1);
    char *want = xprintf("cannot open archive '%s': No such file or directory", missing);
    CHECK_STR(err.buf, want);
    free(want);
    free(missing);
    free(prefix);
    free(target);
    free(archive);
    free(project);
    strbuf_release(&manifest);
    strbuf_release(&err);
}
