/* hash.c: stau's content hashes and checksums over XXH3 (see hash.h). */
#include "hash.h"

#include <string.h>
#include <xxhash.h>
#include "util.h"

/* The streams are the library's own states, handed out under stau's names. */
static XXH3_state_t *new_state(void)
{
    XXH3_state_t *state = XXH3_createState();
    if (!state)
        fatal("out of memory for a hash state");
    return state;
}

struct hash128 hash_bytes(const void *data, size_t len)
{
    XXH128_hash_t h = XXH3_128bits(data, len);
    return (struct hash128){h.low64, h.high64};
}

bool hash_equal(struct hash128 a, struct hash128 b)
{
    return a.low == b.low && a.high == b.high;
}

uint64_t hash64_bytes(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

uint64_t hash_string(const char *s, size_t len)
{
    return XXH3_64bits(s, len);
}

struct hash_stream *hash_stream_new(void)
{
    XXH3_state_t *state = new_state();
    XXH3_128bits_reset(state);
    return (struct hash_stream *)state;
}

void hash_stream_add(struct hash_stream *s, const void *data, size_t len)
{
    XXH3_128bits_update((XXH3_state_t *)s, data, len);
}

void hash_stream_add_str(struct hash_stream *s, const char *str)
{
    hash_stream_add(s, str, strlen(str) + 1);
}

struct hash128 hash_stream_finish(struct hash_stream *s)
{
    XXH128_hash_t h = XXH3_128bits_digest((XXH3_state_t *)s);
    XXH3_freeState((XXH3_state_t *)s);
    return (struct hash128){h.low64, h.high64};
}

struct hash64_stream *hash64_stream_new(void)
{
    XXH3_state_t *state = new_state();
    XXH3_64bits_reset(state);
    return (struct hash64_stream *)state;
}

void hash64_stream_add(struct hash64_stream *s, const void *data, size_t len)
{
    XXH3_64bits_update((XXH3_state_t *)s, data, len);
}

uint64_t hash64_stream_finish(struct hash64_stream *s)
{
    uint64_t h = XXH3_64bits_digest((XXH3_state_t *)s);
    XXH3_freeState((XXH3_state_t *)s);
    return h;
}
