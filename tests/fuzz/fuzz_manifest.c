/* fuzz_manifest.c: reading a run archive and the manifest it holds, as `stau db
 * recover`, `stau show`, `stau log` and `stau gc` do (archiver.c's
 * archiver_read_manifest, archiver_list, archiver_read_log and archiver_verify;
 * cli_recover.c's cli_manifest_run).
 *
 * Each input is used twice: as an archive file (a tar stream, compressed with
 * zstd or not: libarchive reads both), and as the text of a manifest.json.
 *
 * Oracles besides the sanitizers: every failure comes with a message; a manifest
 * that is accepted records a finished run that run_record_impossible finds
 * nothing wrong with; listed members have a path.
 *
 * Seeds: archives stau wrote for fixture runs, uncompressed so that mutations
 * reach the tar headers and the manifest, and their manifests (corpus/manifest). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include "archiver.h"
#include "cli.h"
#include "store.h"

static char *archive_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    archive_path = fuzz_path("job.1.tar.zst");
    return 0;
}

static void check_manifest(const char *json)
{
    struct run_record r;
    struct strbuf why = STRBUF_INIT;
    if (cli_manifest_run(json, &r, &why)) {
        struct strbuf more = STRBUF_INIT;
        const char *bad = run_record_impossible(&r, &more);
        if (bad)
            fuzz_fail("an accepted manifest records an impossible run: %s", bad);
        if (!run_status_finished(r.status))
            fuzz_fail("an accepted manifest records an unfinished run");
        strbuf_release(&more);
    } else if (!why.len) {
        fuzz_fail("a manifest was refused without a reason");
    }
    run_record_release(&r);
    strbuf_release(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(archive_path, data, size);
    struct strbuf manifest = STRBUF_INIT, err = STRBUF_INIT;
    if (archiver_read_manifest(archive_path, &manifest, &err) == 0)
        check_manifest(strbuf_str(&manifest));
    else if (!err.len)
        fuzz_fail("archiver_read_manifest failed without a message");
    strbuf_reset(&err);
    struct archiver_members members = {0};
    if (archiver_list(archive_path, &members, &err) == 0) {
        for (size_t i = 0; i < members.len; i++)
            if (!members.items[i].path)
                fuzz_fail("member %zu has no path", i);
    } else if (!err.len) {
        fuzz_fail("archiver_list failed without a message");
    }
    archiver_members_release(&members);
    strbuf_reset(&err);
    if (archiver_read_log(archive_path, fuzz_devnull(), &err) < 0 && !err.len)
        fuzz_fail("archiver_read_log failed without a message");
    strbuf_reset(&err);
    if (archiver_verify(archive_path, &err) < 0 && !err.len)
        fuzz_fail("archiver_verify failed without a message");

    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    check_manifest(text);
    free(text);
    strbuf_release(&manifest);
    strbuf_release(&err);
    return 0;
}
