/* hash.h: stau's content hashes and checksums (XXH3), one-shot and incremental; the
 * only place that knows the hash library. The values end up in the graph cache, the
 * settled mark and state databases, so what a function hashes must never change. */
#ifndef STAU_HASH_H
#define STAU_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A 128-bit content hash (XXH3); equal hashes mean equal content for stau's purposes. */
struct hash128 {
    uint64_t low, high;
};
/* The 128-bit hash (XXH3-128) of len bytes at data. */
struct hash128 hash_bytes(const void *data, size_t len);
bool hash_equal(struct hash128 a, struct hash128 b);
/* The 64-bit hash (XXH3-64) of len bytes at data: checksums of stau's own files. */
uint64_t hash64_bytes(const void *data, size_t len);
/* A fast 64-bit hash for in-memory tables (the same as hash64_bytes). */
uint64_t hash_string(const char *s, size_t len);

/* A 128-bit hash taken piece by piece: equal to hash_bytes of the pieces joined. */
struct hash_stream;
/* A new, empty stream; never NULL (out of memory is fatal). */
struct hash_stream *hash_stream_new(void);
/* Add len bytes at data. */
void hash_stream_add(struct hash_stream *s, const void *data, size_t len);
/* Add the string str with its NUL, so that "ab" then "c" differs from "a" then "bc". */
void hash_stream_add_str(struct hash_stream *s, const char *str);
/* The hash of everything added; frees s. */
struct hash128 hash_stream_finish(struct hash_stream *s);

/* A 64-bit hash taken piece by piece: equal to hash64_bytes of the pieces joined. */
struct hash64_stream;
/* A new, empty stream; never NULL (out of memory is fatal). */
struct hash64_stream *hash64_stream_new(void);
/* Add len bytes at data. */
void hash64_stream_add(struct hash64_stream *s, const void *data, size_t len);
/* The hash of everything added; frees s. */
uint64_t hash64_stream_finish(struct hash64_stream *s);

#endif
