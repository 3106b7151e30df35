/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest channel (lib/guest-proto.c): any bytes a guest sends, cut into
 * chunks of any size, through the bounded line buffer and both parsers.
 * No line passed on is longer than the limit or holds a '\n'; a line that
 * parses prints back to itself; the same bytes give the same lines however
 * they are cut. */
#include <errno.h>

#include "fuzz-util.h"
#include "guest-proto.h"
#include "macro.h"

typedef struct Lines {
        unsigned n_ok, n_too_long;
        unsigned long hash;
} Lines;

static void check_line(const char *line, size_t n) {
        char buf[HDHA_GUEST_LINE_MAX + 1];
        HdhaGuestRequest req, req2;
        HdhaGuestReply reply, reply2;
        int k;

        FUZZ_CHECK(n < HDHA_GUEST_LINE_MAX);
        FUZZ_CHECK(!memchr(line, '\n', n));

        if (hdha_guest_parse_request(line, n, &req) == HDHA_GUEST_LINE_OK) {
                FUZZ_CHECK(req.verb >= 0 && req.verb < _HDHA_GUEST_VERB_MAX);
                k = hdha_guest_format_request(&req, buf, sizeof(buf));
                FUZZ_CHECK(k > 0 && (size_t) k == n + 1 && memcmp(buf, line, n) == 0);
                FUZZ_CHECK(hdha_guest_parse_request(buf, n, &req2) == HDHA_GUEST_LINE_OK);
                FUZZ_CHECK(req2.verb == req.verb);
        }
        if (hdha_guest_parse_reply(line, n, &reply) == HDHA_GUEST_LINE_OK) {
                k = hdha_guest_format_reply(&reply, buf, sizeof(buf));
                FUZZ_CHECK(k > 0 && (size_t) k == n + 1 && memcmp(buf, line, n) == 0);
                FUZZ_CHECK(hdha_guest_parse_reply(buf, n, &reply2) == HDHA_GUEST_LINE_OK);
                FUZZ_CHECK(reply2.kind == reply.kind);
        }
}

static int on_line(void *userdata, HdhaGuestLineResult result, const char *line, size_t n) {
        Lines *l = userdata;

        if (result == HDHA_GUEST_LINE_TOO_LONG) {
                FUZZ_CHECK(!line);
                l->n_too_long++;
                l->hash = l->hash * 31 + 7;
                return 0;
        }
        FUZZ_CHECK(result == HDHA_GUEST_LINE_OK && line);
        check_line(line, n);
        l->n_ok++;
        for (size_t i = 0; i < n; i++)
                l->hash = l->hash * 33 + (unsigned char) line[i];
        l->hash = l->hash * 33 + 10;
        return 0;
}

static Lines feed(const uint8_t *data, size_t size, size_t chunk) {
        HdhaGuestLineBuffer b = {};
        Lines l = {};

        for (size_t off = 0; off < size; off += chunk)
                FUZZ_CHECK(hdha_guest_line_buffer_feed(&b, (const char *) data + off, MIN(chunk, size - off),
                                                       on_line, &l) == 0);
        (void) hdha_guest_line_buffer_end(&b);
        return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Lines whole, cut;
        size_t chunk;

        if (size < 1)
                return 0;
        chunk = data[0] % 17 + 1;
        data++, size--;

        whole = feed(data, size, size ?: 1);
        cut = feed(data, size, chunk);
        FUZZ_CHECK(whole.n_ok == cut.n_ok && whole.n_too_long == cut.n_too_long && whole.hash == cut.hash);
        return 0;
}
