/* fuzz_settled.c: the settled-mark reader (settled.c's settled_holds) on a file
 * of arbitrary bytes.
 *
 * Each input is read twice: as it is, against a fixed key; and with its last
 * eight bytes set to the right checksum and the key (generation, sources hash,
 * context) and the time taken from its own header, so that mutations get past
 * the checks to the witnessed entries, which are then looked at on disk below
 * the scratch folder (a few files there: "data/in.csv", "data/out/").
 *
 * Oracles besides the sanitizers: none beyond not crashing, hanging or leaking;
 * a mark that cannot be true (a damaged one) must simply not hold.
 *
 * Seeds: marks written by stau for the fixtures and by settled_write for a few
 * witnesses (corpus/settled). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "hash.h"
#include "settled.h"

static char *mark_path;
static const char *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    root = fuzz_scratch();
    mark_path = fuzz_path("settled");
    char *data = fuzz_path("data");
    mkdir(data, 0700);
    free(data);
    char *out = fuzz_path("data/out");
    mkdir(out, 0700);
    free(out);
    char *in = fuzz_path("data/in.csv");
    fuzz_write(in, "a,b\n1,2\n", 8);
    free(in);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(mark_path, data, size);
    struct settled_key fixed = {{1, 2}, 3, "fuzz"};
    settled_holds(mark_path, root, &fixed, 0);
    if (size < 16 + 8 + 8 + 8 + 16 + 4 + 8)
        return 0;
    uint8_t *b = malloc(size);
    memcpy(b, data, size);
    uint64_t check = hash64_bytes(b, size - 8);
    memcpy(b + size - 8, &check, 8);
    int64_t valid_until, generation;
    struct hash128 sources;
    uint32_t context_len;
    memcpy(&valid_until, b + 24, 8);
    memcpy(&generation, b + 32, 8);
    memcpy(&sources.low, b + 40, 8);
    memcpy(&sources.high, b + 48, 8);
    memcpy(&context_len, b + 56, 4);
    if (context_len <= size - 60) {
        char *context = strndup((const char *)b + 60, context_len);
        struct settled_key key = {sources, generation, context};
        fuzz_write(mark_path, b, size);
        settled_holds(mark_path, root, &key, valid_until == INT64_MIN ? 0 : valid_until - 1);
        free(context);
    }
    free(b);
    return 0;
}
