/* test_srv_calls.c — the contentType-110 WebRTC signal parser of the calls
 * module (NOTES §6.7, §7 rule 25): `data` as an object or as a JSON string
 * holding the object; anything else is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "calls_int.h"
#include "kk_err.h"

/* The four strings a parse gives back. */
typedef struct sig {
    char *type, *room, *sdp, *cand;
} sig;

/* Parses a NUL-terminated content. */
static int parse(const char *s, sig *out)
{
    return calls__parse_signal((const uint8_t *)s, strlen(s), &out->type, &out->room, &out->sdp,
                               &out->cand);
}

/* Frees what a parse returned. */
static void sig_free(sig *s)
{
    free(s->type);
    free(s->room);
    free(s->sdp);
    free(s->cand);
}

/* An offer with `data` as an object gives its type, room and SDP. */
static void test_offer_with_object_data_gives_sdp(void **state)
{
    (void)state;
    sig s;
    assert_int_equal(parse("{\"type\":\"webrtc_signal\",\"signalType\":\"offer\",\"roomID\":"
                           "\"room_1\",\"data\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}",
                           &s),
                     0);
    assert_string_equal(s.type, "offer");
    assert_string_equal(s.room, "room_1");
    assert_string_equal(s.sdp, "v=0\r\n");
    assert_null(s.cand);
    sig_free(&s);
}

/* `data` as a string holding the object is accepted the same way. */
static void test_offer_with_string_data_gives_sdp(void **state)
{
    (void)state;
    sig s;
    assert_int_equal(parse("{\"type\":\"webrtc_signal\",\"signalType\":\"offer\",\"roomID\":\"r\","
                           "\"data\":\"{\\\"type\\\":\\\"offer\\\",\\\"sdp\\\":\\\"v=0\\\"}\"}",
                           &s),
                     0);
    assert_string_equal(s.type, "offer");
    assert_string_equal(s.room, "r");
    assert_string_equal(s.sdp, "v=0");
    sig_free(&s);
}

/* A candidate gives the candidate line; an empty one stays "" (end). */
static void test_candidate_gives_line_and_empty_end(void **state)
{
    (void)state;
    sig s;
    assert_int_equal(parse("{\"type\":\"webrtc_signal\",\"signalType\":\"candidate\",\"roomID\":"
                           "\"r\",\"data\":{\"candidate\":\"candidate:1 1 udp 1 192.0.2.1 5 typ "
                           "host\",\"sdpMid\":null,\"sdpMLineIndex\":0}}",
                           &s),
                     0);
    assert_string_equal(s.type, "candidate");
    assert_string_equal(s.cand, "candidate:1 1 udp 1 192.0.2.1 5 typ host");
    assert_null(s.sdp);
    sig_free(&s);
    assert_int_equal(parse("{\"type\":\"webrtc_signal\",\"signalType\":\"candidate\",\"roomID\":"
                           "\"r\",\"data\":{\"candidate\":\"\"}}",
                           &s),
                     0);
    assert_string_equal(s.cand, "");
    sig_free(&s);
}

/* Not a webrtc_signal, no roomID, no signalType, data not an object, bad
 * JSON, duplicate keys: refused with every output NULL. */
static void test_malformed_signals_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"type\":\"other\",\"signalType\":\"offer\",\"roomID\":\"r\",\"data\":{}}",
        "{\"type\":\"webrtc_signal\",\"signalType\":\"offer\",\"data\":{}}",
        "{\"type\":\"webrtc_signal\",\"roomID\":\"r\",\"data\":{}}",
        "{\"type\":\"webrtc_signal\",\"signalType\":\"offer\",\"roomID\":\"r\",\"data\":5}",
        "{\"type\":\"webrtc_signal\",\"signalType\":\"offer\",\"roomID\":\"r\",\"data\":\"x\"}",
        "{\"type\":\"webrtc_signal\",\"signalType\":\"offer\",\"roomID\":\"r\"}",
        "{\"type\":\"webrtc_signal\",\"type\":\"webrtc_signal\",\"signalType\":\"o\","
        "\"roomID\":\"r\",\"data\":{}}",
        "{\"type\":\"webrtc_signal\"",
        "",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sig s = { (char *)1, (char *)1, (char *)1, (char *)1 };
        assert_int_equal(parse(bad[i], &s), KK_EPROTO);
        assert_null(s.type);
        assert_null(s.room);
        assert_null(s.sdp);
        assert_null(s.cand);
    }
}

/* Every prefix of a valid signal parses or is refused without a leak. */
static void test_every_prefix_is_safe(void **state)
{
    (void)state;
    const char *ok = "{\"type\":\"webrtc_signal\",\"signalType\":\"answer\",\"roomID\":\"r\","
                     "\"data\":{\"type\":\"answer\",\"sdp\":\"v=0\"}}";
    size_t n = strlen(ok);
    for (size_t i = 0; i < n; i++) {
        sig s;
        int rc = calls__parse_signal((const uint8_t *)ok, i, &s.type, &s.room, &s.sdp, &s.cand);
        assert_int_equal(rc, KK_EPROTO);
    }
    sig s;
    assert_int_equal(parse(ok, &s), 0);
    assert_string_equal(s.type, "answer");
    sig_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_with_object_data_gives_sdp),
        cmocka_unit_test(test_offer_with_string_data_gives_sdp),
        cmocka_unit_test(test_candidate_gives_line_and_empty_end),
        cmocka_unit_test(test_malformed_signals_are_refused),
        cmocka_unit_test(test_every_prefix_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
