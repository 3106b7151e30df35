/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "guest-proto.h"
#include "macro.h"

#define PARSE(s, ret) hdha_guest_parse_request((s), strlen(s), (ret))

static void test_string_tables(void **state) {
        for (int i = 0; i < _HDHA_GUEST_VERB_MAX; i++)
                assert_int_equal(hdha_guest_verb_from_string(hdha_guest_verb_to_string(i)), i);
        for (int i = 0; i < _HDHA_GUEST_REFUSAL_MAX; i++)
                assert_int_equal(hdha_guest_refusal_from_string(hdha_guest_refusal_to_string(i)), i);
        for (int i = 0; i < _HDHA_GUEST_LINE_RESULT_MAX; i++)
                assert_int_equal(hdha_guest_line_result_from_string(hdha_guest_line_result_to_string(i)), i);
        for (int i = 0; i < _HDHA_GUEST_REPLY_KIND_MAX; i++)
                assert_int_equal(hdha_guest_reply_kind_from_string(hdha_guest_reply_kind_to_string(i)), i);
        assert_int_equal(hdha_guest_verb_from_string("HEARTBEAT"), -EINVAL);
        assert_int_equal(hdha_guest_verb_from_string(NULL), -EINVAL);
        assert_null(hdha_guest_verb_to_string(_HDHA_GUEST_VERB_MAX));
        assert_null(hdha_guest_verb_to_string(-1));
}

static void test_requests(void **state) {
        HdhaGuestRequest req = {};

        assert_int_equal(PARSE("heartbeat", &req), HDHA_GUEST_LINE_OK);
        assert_int_equal(req.verb, HDHA_GUEST_HEARTBEAT);
        assert_int_equal(PARSE("failed", &req), HDHA_GUEST_LINE_OK);
        assert_int_equal(req.verb, HDHA_GUEST_FAILED);
        assert_int_equal(PARSE("status", &req), HDHA_GUEST_LINE_OK);
        assert_int_equal(req.verb, HDHA_GUEST_STATUS);
        assert_int_equal(PARSE("release", &req), HDHA_GUEST_LINE_OK);
        assert_int_equal(req.verb, HDHA_GUEST_RELEASE);
        assert_int_equal(PARSE("takeover", &req), HDHA_GUEST_LINE_OK);
        assert_int_equal(req.verb, HDHA_GUEST_TAKEOVER);
        assert_int_equal(PARSE("hello 1", &req), HDHA_GUEST_LINE_OK);
        assert_int_equal(req.verb, HDHA_GUEST_HELLO);
        assert_int_equal(req.version, 1);
        assert_int_equal(PARSE("hello 999", &req), HDHA_GUEST_LINE_OK);
        assert_int_equal(req.version, 999);
}

static void test_bad_requests(void **state) {
        HdhaGuestRequest req = { .verb = HDHA_GUEST_STATUS, .version = 7 };
        char long_line[HDHA_GUEST_LINE_MAX + 1];

        assert_int_equal(PARSE("", &req), HDHA_GUEST_LINE_EMPTY);
        assert_int_equal(PARSE("heartbeat\r", &req), HDHA_GUEST_LINE_NOT_TEXT);
        assert_int_equal(PARSE("heart\tbeat", &req), HDHA_GUEST_LINE_NOT_TEXT);
        assert_int_equal(PARSE("heartbeat\x7f", &req), HDHA_GUEST_LINE_NOT_TEXT);
        assert_int_equal(PARSE("h\xc3\xa9llo", &req), HDHA_GUEST_LINE_NOT_TEXT);
        assert_int_equal(hdha_guest_parse_request("heartbeat\0x", 11, &req), HDHA_GUEST_LINE_NOT_TEXT);
        assert_int_equal(PARSE(" heartbeat", &req), HDHA_GUEST_LINE_BAD_SPACING);
        assert_int_equal(PARSE("heartbeat ", &req), HDHA_GUEST_LINE_BAD_SPACING);
        assert_int_equal(PARSE("hello  1", &req), HDHA_GUEST_LINE_BAD_SPACING);
        assert_int_equal(PARSE(" ", &req), HDHA_GUEST_LINE_BAD_SPACING);
        assert_int_equal(PARSE("Heartbeat", &req), HDHA_GUEST_LINE_UNKNOWN_VERB);
        assert_int_equal(PARSE("reboot now please a b c d", &req), HDHA_GUEST_LINE_UNKNOWN_VERB);
        assert_int_equal(PARSE("hello", &req), HDHA_GUEST_LINE_MISSING_ARGUMENT);
        assert_int_equal(PARSE("hello 1 2", &req), HDHA_GUEST_LINE_EXTRA_ARGUMENT);
        assert_int_equal(PARSE("release vm-b", &req), HDHA_GUEST_LINE_EXTRA_ARGUMENT);
        assert_int_equal(PARSE("takeover a b c d e", &req), HDHA_GUEST_LINE_EXTRA_ARGUMENT);
        assert_int_equal(PARSE("hello 0", &req), HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(PARSE("hello 01", &req), HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(PARSE("hello 1000", &req), HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(PARSE("hello -1", &req), HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(PARSE("hello x", &req), HDHA_GUEST_LINE_BAD_ARGUMENT);

        memset(long_line, 'a', sizeof(long_line));
        assert_int_equal(hdha_guest_parse_request(long_line, HDHA_GUEST_LINE_MAX, &req), HDHA_GUEST_LINE_TOO_LONG);
        assert_int_equal(hdha_guest_parse_request(long_line, HDHA_GUEST_LINE_MAX - 1, &req),
                         HDHA_GUEST_LINE_UNKNOWN_VERB);

        /* A bad line leaves the output alone. */
        assert_int_equal(req.verb, HDHA_GUEST_STATUS);
        assert_int_equal(req.version, 7);
}

static void test_format_request(void **state) {
        char buf[HDHA_GUEST_LINE_MAX + 1];
        HdhaGuestRequest req, back;

        for (int v = 0; v < _HDHA_GUEST_VERB_MAX; v++) {
                req = (HdhaGuestRequest) { .verb = v, .version = 1 };
                int n = hdha_guest_format_request(&req, buf, sizeof(buf));
                assert_true(n > 1);
                assert_int_equal(buf[n - 1], '\n');
                assert_int_equal(hdha_guest_parse_request(buf, n - 1, &back), HDHA_GUEST_LINE_OK);
                assert_int_equal(back.verb, v);
        }
        req = (HdhaGuestRequest) { .verb = HDHA_GUEST_HELLO, .version = 0 };
        assert_int_equal(hdha_guest_format_request(&req, buf, sizeof(buf)), -EINVAL);
        req = (HdhaGuestRequest) { .verb = _HDHA_GUEST_VERB_MAX };
        assert_int_equal(hdha_guest_format_request(&req, buf, sizeof(buf)), -EINVAL);
        req = (HdhaGuestRequest) { .verb = HDHA_GUEST_HEARTBEAT };
        assert_int_equal(hdha_guest_format_request(&req, buf, 5), -EINVAL);
}

static void test_replies(void **state) {
        char buf[HDHA_GUEST_LINE_MAX + 1];
        HdhaGuestReply reply = {}, back;
        int n;

        assert_int_equal(hdha_guest_parse_reply("ok release", 10, &reply), HDHA_GUEST_LINE_OK);
        assert_int_equal(reply.kind, HDHA_GUEST_REPLY_OK);
        assert_int_equal(reply.verb, HDHA_GUEST_RELEASE);
        assert_int_equal(hdha_guest_parse_reply("refused takeover not-allowed", 28, &reply), HDHA_GUEST_LINE_OK);
        assert_int_equal(reply.kind, HDHA_GUEST_REPLY_REFUSED);
        assert_int_equal(reply.verb, HDHA_GUEST_TAKEOVER);
        assert_int_equal(reply.refusal, HDHA_GUEST_REFUSED_NOT_ALLOWED);
        assert_int_equal(hdha_guest_parse_reply("status standby", 14, &reply), HDHA_GUEST_LINE_OK);
        assert_string_equal(reply.role, "standby");

        assert_int_equal(hdha_guest_parse_reply("ok heartbeat", 12, &reply), HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(hdha_guest_parse_reply("refused release maybe", 21, &reply),
                         HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(hdha_guest_parse_reply("refused release", 15, &reply),
                         HDHA_GUEST_LINE_MISSING_ARGUMENT);
        assert_int_equal(hdha_guest_parse_reply("status Active", 13, &reply), HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(hdha_guest_parse_reply("status abcdefghijklmnop", 23, &reply),
                         HDHA_GUEST_LINE_BAD_ARGUMENT);
        assert_int_equal(hdha_guest_parse_reply("status a b", 10, &reply), HDHA_GUEST_LINE_EXTRA_ARGUMENT);
        assert_int_equal(hdha_guest_parse_reply("nope", 4, &reply), HDHA_GUEST_LINE_UNKNOWN_VERB);

        reply = (HdhaGuestReply) { .kind = HDHA_GUEST_REPLY_REFUSED, .verb = HDHA_GUEST_RELEASE,
                                   .refusal = HDHA_GUEST_REFUSED_NO_STANDBY };
        n = hdha_guest_format_reply(&reply, buf, sizeof(buf));
        assert_true(n > 0);
        assert_string_equal(buf, "refused release no-standby\n");
        assert_int_equal(hdha_guest_parse_reply(buf, n - 1, &back), HDHA_GUEST_LINE_OK);
        assert_int_equal(back.refusal, HDHA_GUEST_REFUSED_NO_STANDBY);

        reply = (HdhaGuestReply) { .kind = HDHA_GUEST_REPLY_STATUS, .role = "rebuilding" };
        n = hdha_guest_format_reply(&reply, buf, sizeof(buf));
        assert_string_equal(buf, "status rebuilding\n");
        reply = (HdhaGuestReply) { .kind = HDHA_GUEST_REPLY_STATUS, .role = "" };
        assert_int_equal(hdha_guest_format_reply(&reply, buf, sizeof(buf)), -EINVAL);
        reply = (HdhaGuestReply) { .kind = HDHA_GUEST_REPLY_OK, .verb = HDHA_GUEST_HEARTBEAT };
        assert_int_equal(hdha_guest_format_reply(&reply, buf, sizeof(buf)), -EINVAL);
}

typedef struct Seen {
        char lines[16][HDHA_GUEST_LINE_MAX + 1];
        HdhaGuestLineResult results[16];
        size_t n;
        size_t stop_after;
} Seen;

static int on_line(void *userdata, HdhaGuestLineResult result, const char *line, size_t n) {
        Seen *s = userdata;

        assert_true(s->n < ELEMENTSOF(s->lines));
        s->results[s->n] = result;
        if (line) {
                assert_true(n < HDHA_GUEST_LINE_MAX);
                memcpy(s->lines[s->n], line, n);
                s->lines[s->n][n] = '\0';
        } else
                s->lines[s->n][0] = '\0';
        s->n++;
        return s->stop_after && s->n == s->stop_after ? -ECANCELED : 0;
}

static void test_line_buffer(void **state) {
        HdhaGuestLineBuffer b = {};
        char flood[3 * HDHA_GUEST_LINE_MAX];
        Seen s = {};

        /* Lines cut anywhere come out whole. */
        assert_int_equal(hdha_guest_line_buffer_feed(&b, "heart", 5, on_line, &s), 0);
        assert_int_equal(s.n, 0);
        assert_int_equal(hdha_guest_line_buffer_feed(&b, "beat\nsta", 8, on_line, &s), 0);
        assert_int_equal(hdha_guest_line_buffer_feed(&b, "tus\n\n", 5, on_line, &s), 0);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.lines[0], "heartbeat");
        assert_string_equal(s.lines[1], "status");
        assert_string_equal(s.lines[2], "");
        assert_false(hdha_guest_line_buffer_end(&b));

        /* Too long: reported once, the rest dropped up to the '\n'. */
        s = (Seen) {};
        memset(flood, 'x', sizeof(flood));
        assert_int_equal(hdha_guest_line_buffer_feed(&b, flood, sizeof(flood), on_line, &s), 0);
        assert_int_equal(hdha_guest_line_buffer_feed(&b, flood, sizeof(flood), on_line, &s), 0);
        assert_int_equal(hdha_guest_line_buffer_feed(&b, "xx\nrelease\n", 11, on_line, &s), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.results[0], HDHA_GUEST_LINE_TOO_LONG);
        assert_int_equal(s.results[1], HDHA_GUEST_LINE_OK);
        assert_string_equal(s.lines[1], "release");

        /* The longest line passes; one more byte does not. */
        s = (Seen) {};
        memset(flood, 'y', HDHA_GUEST_LINE_MAX - 1);
        flood[HDHA_GUEST_LINE_MAX - 1] = '\n';
        assert_int_equal(hdha_guest_line_buffer_feed(&b, flood, HDHA_GUEST_LINE_MAX, on_line, &s), 0);
        memset(flood, 'y', HDHA_GUEST_LINE_MAX);
        flood[HDHA_GUEST_LINE_MAX] = '\n';
        assert_int_equal(hdha_guest_line_buffer_feed(&b, flood, HDHA_GUEST_LINE_MAX + 1, on_line, &s), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.results[0], HDHA_GUEST_LINE_OK);
        assert_int_equal(strlen(s.lines[0]), HDHA_GUEST_LINE_MAX - 1);
        assert_int_equal(s.results[1], HDHA_GUEST_LINE_TOO_LONG);
        assert_false(hdha_guest_line_buffer_end(&b));

        /* A half line at the end is reported, and gone. */
        s = (Seen) {};
        assert_int_equal(hdha_guest_line_buffer_feed(&b, "takeo", 5, on_line, &s), 0);
        assert_true(hdha_guest_line_buffer_end(&b));
        assert_int_equal(hdha_guest_line_buffer_feed(&b, "ver\n", 4, on_line, &s), 0);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.lines[0], "ver");

        /* The callback stops the feed. */
        s = (Seen) { .stop_after = 1 };
        assert_int_equal(hdha_guest_line_buffer_feed(&b, "a\nb\nc\n", 6, on_line, &s), -ECANCELED);
        assert_int_equal(s.n, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_string_tables),
                cmocka_unit_test(test_requests),
                cmocka_unit_test(test_bad_requests),
                cmocka_unit_test(test_format_request),
                cmocka_unit_test(test_replies),
                cmocka_unit_test(test_line_buffer),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("guest-proto", tests, NULL, NULL);
}
