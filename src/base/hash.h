/* hash.h - digests: SHA-256, MD5 and SHA-1, as lowercase hex. */
#ifndef CDBT_HASH_H
#define CDBT_HASH_H
#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
void sha256_hex(const void *data, size_t len, char out[65]);   /* NUL-terminated */
void md5(const void *data, size_t len, uint8_t out[16]);
void md5_hex(const void *data, size_t len, char out[33]);
void sha1(const void *data, size_t len, uint8_t out[20]);     /* sha1.c: package-lock.yml's sha1_hash only */
void sha1_hex(const void *data, size_t len, char out[41]);
/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hash_hex(const uint8_t *d, size_t n, char *out);
#endif
