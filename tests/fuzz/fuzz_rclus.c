/* fuzz_rclus.c — fuzz target over the Redis Cluster parsers (rclus.h):
 * the input is read as RESP by hiredis's reader and, when it makes a
 * reply, walked as a CLUSTER SLOTS answer (every reported range must lie
 * in 0..16383 with first <= last and a port in 1..65535); it is also
 * parsed as a MOVED/ASK error text and split at NUL bytes into a command
 * whose first key index must be -1 or inside the argv. Any violation
 * aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "rclus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one range of the walk. */
static void on_range(void *ud, int first, int last, const char *host, int port)
{
    (void)host;
    ++*(int *)ud;
    if (first < 0 || last >= RCLUS_SLOTS || last < first || port < 1 || port > 65535)
        abort();
}

/* Whether the input declares an array of more than 65536 elements:
 * hiredis 0.14's reader allocates the element table up front (the daemon
 * reads only Redis's own replies), which is not what is fuzzed here. */
static bool huge_array(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] != '*')
            continue;
        unsigned long v = 0;
        for (size_t k = i + 1; k < size && data[k] >= '0' && data[k] <= '9' && v <= 65536; k++)
            v = v * 10 + (data[k] - '0');
        if (v > 65536)
            return true;
    }
    return false;
}

/* The walker over whatever RESP the input holds. */
static void check_walk(const uint8_t *data, size_t size)
{
    if (huge_array(data, size))
        return;
    redisReader *r = redisReaderCreate();
    void *reply = NULL;
    if (!r)
        return;
    if (redisReaderFeed(r, (const char *)data, size) == REDIS_OK &&
        redisReaderGetReply(r, &reply) == REDIS_OK && reply) {
        int n = 0;
        int got = rclus_slots_walk(reply, on_range, &n);
        if (got >= 0 && got != n)
            abort();
        freeReplyObject(reply);
    }
    redisReaderFree(r);
}

/* The redirect parser and the key finder over the raw bytes. */
static void check_text(const uint8_t *data, size_t size)
{
    char host[64];
    int slot = -1, port = -1;
    int kind = rclus_redirect_parse((const char *)data, size, &slot, host, sizeof host, &port);
    if (kind && (slot < 0 || slot >= RCLUS_SLOTS || port < 1 || port > 65535 ||
                 strlen(host) == 0 || strlen(host) >= sizeof host))
        abort();
    const char *argv[16];
    size_t lens[16];
    int argc = 0;
    size_t at = 0;
    while (at <= size && argc < 16) {
        const uint8_t *nul = memchr(data + at, 0, size - at);
        size_t end = nul ? (size_t)(nul - data) : size;
        argv[argc] = (const char *)data + at;
        lens[argc++] = end - at;
        at = end + 1;
    }
    int k = rclus_cmd_key(argc, argv, lens);
    if (k < -1 || k >= argc || k == 0)
        abort();
    if (k > 0 && (rclus_slot(argv[k], lens[k]) < 0 || rclus_slot(argv[k], lens[k]) >= RCLUS_SLOTS))
        abort();
}

/* libFuzzer entry. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_walk(data, size);
    check_text(data, size);
    return 0;
}
