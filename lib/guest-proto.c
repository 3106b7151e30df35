/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "guest-proto.h"
#include "macro.h"
#include "string-table.h"

static const char *const guest_verb_table[_HDHA_GUEST_VERB_MAX] = {
        [HDHA_GUEST_HELLO] = "hello",
        [HDHA_GUEST_HEARTBEAT] = "heartbeat",
        [HDHA_GUEST_FAILED] = "failed",
        [HDHA_GUEST_STATUS] = "status",
        [HDHA_GUEST_RELEASE] = "release",
        [HDHA_GUEST_TAKEOVER] = "takeover",
};
DEFINE_STRING_TABLE_LOOKUP(hdha_guest_verb, HdhaGuestVerb, guest_verb_table);

static const char *const guest_refusal_table[_HDHA_GUEST_REFUSAL_MAX] = {
        [HDHA_GUEST_REFUSED_NOT_ALLOWED] = "not-allowed",
        [HDHA_GUEST_REFUSED_NOT_ACTIVE] = "not-active",
        [HDHA_GUEST_REFUSED_NOT_STANDBY] = "not-standby",
        [HDHA_GUEST_REFUSED_NO_STANDBY] = "no-standby",
        [HDHA_GUEST_REFUSED_BUSY] = "busy",
        [HDHA_GUEST_REFUSED_FROZEN] = "frozen",
        [HDHA_GUEST_REFUSED_RATE_LIMIT] = "rate-limit",
        [HDHA_GUEST_REFUSED_FAILED] = "failed",
};
DEFINE_STRING_TABLE_LOOKUP(hdha_guest_refusal, HdhaGuestRefusal, guest_refusal_table);

static const char *const guest_line_result_table[_HDHA_GUEST_LINE_RESULT_MAX] = {
        [HDHA_GUEST_LINE_OK] = "ok",
        [HDHA_GUEST_LINE_EMPTY] = "empty",
        [HDHA_GUEST_LINE_TOO_LONG] = "too-long",
        [HDHA_GUEST_LINE_NOT_TEXT] = "not-text",
        [HDHA_GUEST_LINE_BAD_SPACING] = "bad-spacing",
        [HDHA_GUEST_LINE_UNKNOWN_VERB] = "unknown-verb",
        [HDHA_GUEST_LINE_MISSING_ARGUMENT] = "missing-argument",
        [HDHA_GUEST_LINE_EXTRA_ARGUMENT] = "extra-argument",
        [HDHA_GUEST_LINE_BAD_ARGUMENT] = "bad-argument",
        [HDHA_GUEST_LINE_UNTERMINATED] = "unterminated",
};
DEFINE_STRING_TABLE_LOOKUP(hdha_guest_line_result, HdhaGuestLineResult, guest_line_result_table);

static const char *const guest_reply_kind_table[_HDHA_GUEST_REPLY_KIND_MAX] = {
        [HDHA_GUEST_REPLY_OK] = "ok",
        [HDHA_GUEST_REPLY_REFUSED] = "refused",
        [HDHA_GUEST_REPLY_STATUS] = "status",
};
DEFINE_STRING_TABLE_LOOKUP(hdha_guest_reply_kind, HdhaGuestReplyKind, guest_reply_kind_table);

#define WORDS_MAX 4

/* A line split into words, copied NUL-terminated into store: n counts
 * them all, word[] holds the first WORDS_MAX. */
typedef struct Words {
        char store[HDHA_GUEST_LINE_MAX];
        const char *word[WORDS_MAX];
        size_t n;
} Words;

static HdhaGuestLineResult split_words(const char *line, size_t n, Words *w) {
        if (n == 0)
                return HDHA_GUEST_LINE_EMPTY;
        if (n >= HDHA_GUEST_LINE_MAX)
                return HDHA_GUEST_LINE_TOO_LONG;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) line[i];
                if (c < 0x20 || c >= 0x7f)
                        return HDHA_GUEST_LINE_NOT_TEXT;
        }
        if (line[0] == ' ' || line[n - 1] == ' ')
                return HDHA_GUEST_LINE_BAD_SPACING;

        memcpy(w->store, line, n);
        w->store[n] = '\0';
        w->n = 0;
        w->word[w->n++] = w->store;
        for (size_t i = 0; i < n; i++) {
                if (w->store[i] != ' ')
                        continue;
                if (w->store[i + 1] == ' ')
                        return HDHA_GUEST_LINE_BAD_SPACING;
                w->store[i] = '\0';
                if (w->n < WORDS_MAX)
                        w->word[w->n] = w->store + i + 1;
                w->n++;
        }
        return HDHA_GUEST_LINE_OK;
}

/* How many arguments each verb takes. */
static const size_t guest_verb_n_args[_HDHA_GUEST_VERB_MAX] = {
        [HDHA_GUEST_HELLO] = 1,
};

/* A decimal number 1..999 without leading zeros. */
static bool parse_version(const char *s, unsigned *ret) {
        unsigned v = 0;
        size_t i;

        if (s[0] < '1' || s[0] > '9')
                return false;
        for (i = 0; s[i]; i++) {
                if (i >= 3 || s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return true;
}

HdhaGuestLineResult hdha_guest_parse_request(const char *line, size_t n, HdhaGuestRequest *ret) {
        HdhaGuestRequest req = {};
        HdhaGuestLineResult r;
        Words w;

        r = split_words(line, n, &w);
        if (r != HDHA_GUEST_LINE_OK)
                return r;
        req.verb = hdha_guest_verb_from_string(w.word[0]);
        if (req.verb < 0)
                return HDHA_GUEST_LINE_UNKNOWN_VERB;
        if (w.n - 1 < guest_verb_n_args[req.verb])
                return HDHA_GUEST_LINE_MISSING_ARGUMENT;
        if (w.n - 1 > guest_verb_n_args[req.verb])
                return HDHA_GUEST_LINE_EXTRA_ARGUMENT;
        if (req.verb == HDHA_GUEST_HELLO && !parse_version(w.word[1], &req.version))
                return HDHA_GUEST_LINE_BAD_ARGUMENT;
        *ret = req;
        return HDHA_GUEST_LINE_OK;
}

static int format_line(char *buf, size_t size, int n) {
        if (n < 0 || (size_t) n >= size || (size_t) n > HDHA_GUEST_LINE_MAX)
                return -EINVAL;
        return n;
}

int hdha_guest_format_request(const HdhaGuestRequest *req, char *buf, size_t size) {
        const char *verb = hdha_guest_verb_to_string(req->verb);

        if (!verb)
                return -EINVAL;
        if (req->verb == HDHA_GUEST_HELLO) {
                if (req->version < 1 || req->version > 999)
                        return -EINVAL;
                return format_line(buf, size, snprintf(buf, size, "%s %u\n", verb, req->version));
        }
        return format_line(buf, size, snprintf(buf, size, "%s\n", verb));
}

static bool role_ok(const char *s) {
        size_t i;

        for (i = 0; s[i]; i++)
                if (s[i] < 'a' || s[i] > 'z')
                        return false;
        return i >= 1 && i < HDHA_GUEST_ROLE_MAX;
}

HdhaGuestLineResult hdha_guest_parse_reply(const char *line, size_t n, HdhaGuestReply *ret) {
        HdhaGuestReply reply = {};
        HdhaGuestLineResult r;
        size_t n_args;
        Words w;

        r = split_words(line, n, &w);
        if (r != HDHA_GUEST_LINE_OK)
                return r;
        reply.kind = hdha_guest_reply_kind_from_string(w.word[0]);
        if (reply.kind < 0)
                return HDHA_GUEST_LINE_UNKNOWN_VERB;
        n_args = reply.kind == HDHA_GUEST_REPLY_REFUSED ? 2 : 1;
        if (w.n - 1 < n_args)
                return HDHA_GUEST_LINE_MISSING_ARGUMENT;
        if (w.n - 1 > n_args)
                return HDHA_GUEST_LINE_EXTRA_ARGUMENT;

        switch (reply.kind) {
        case HDHA_GUEST_REPLY_STATUS:
                if (!role_ok(w.word[1]))
                        return HDHA_GUEST_LINE_BAD_ARGUMENT;
                strcpy(reply.role, w.word[1]); /* bounded by role_ok() */
                break;
        case HDHA_GUEST_REPLY_OK:
        case HDHA_GUEST_REPLY_REFUSED:
                reply.verb = hdha_guest_verb_from_string(w.word[1]);
                if (!IN_SET(reply.verb, HDHA_GUEST_RELEASE, HDHA_GUEST_TAKEOVER))
                        return HDHA_GUEST_LINE_BAD_ARGUMENT;
                if (reply.kind == HDHA_GUEST_REPLY_REFUSED) {
                        reply.refusal = hdha_guest_refusal_from_string(w.word[2]);
                        if (reply.refusal < 0)
                                return HDHA_GUEST_LINE_BAD_ARGUMENT;
                }
                break;
        default:
                return HDHA_GUEST_LINE_UNKNOWN_VERB;
        }
        *ret = reply;
        return HDHA_GUEST_LINE_OK;
}

int hdha_guest_format_reply(const HdhaGuestReply *reply, char *buf, size_t size) {
        const char *kind = hdha_guest_reply_kind_to_string(reply->kind);
        const char *verb = hdha_guest_verb_to_string(reply->verb);

        switch (reply->kind) {
        case HDHA_GUEST_REPLY_STATUS:
                if (!role_ok(reply->role))
                        return -EINVAL;
                return format_line(buf, size, snprintf(buf, size, "%s %s\n", kind, reply->role));
        case HDHA_GUEST_REPLY_OK:
        case HDHA_GUEST_REPLY_REFUSED:
                if (!IN_SET(reply->verb, HDHA_GUEST_RELEASE, HDHA_GUEST_TAKEOVER))
                        return -EINVAL;
                if (reply->kind == HDHA_GUEST_REPLY_OK)
                        return format_line(buf, size, snprintf(buf, size, "%s %s\n", kind, verb));
                if (!hdha_guest_refusal_to_string(reply->refusal))
                        return -EINVAL;
                return format_line(buf, size, snprintf(buf, size, "%s %s %s\n", kind, verb,
                                                       hdha_guest_refusal_to_string(reply->refusal)));
        default:
                return -EINVAL;
        }
}

int hdha_guest_line_buffer_feed(HdhaGuestLineBuffer *b, const char *data, size_t n, HdhaGuestLineFn fn,
                                void *userdata) {
        while (n > 0) {
                const char *nl = memchr(data, '\n', n);
                size_t take = nl ? (size_t) (nl - data) : n;
                int r = 0;

                if (b->discarding) {
                        /* The rest of a line already reported as too long. */
                        if (nl)
                                b->discarding = false;
                } else if (b->n + take >= HDHA_GUEST_LINE_MAX) {
                        b->n = 0;
                        b->discarding = !nl;
                        r = fn(userdata, HDHA_GUEST_LINE_TOO_LONG, NULL, 0);
                } else {
                        memcpy(b->buf + b->n, data, take);
                        b->n += take;
                        if (nl) {
                                size_t len = b->n;

                                b->n = 0;
                                r = fn(userdata, HDHA_GUEST_LINE_OK, b->buf, len);
                        }
                }
                take += !!nl;
                data += take;
                n -= take;
                if (r < 0)
                        return r;
        }
        return 0;
}

bool hdha_guest_line_buffer_end(HdhaGuestLineBuffer *b) {
        bool partial = b->n > 0 || b->discarding;

        b->n = 0;
        b->discarding = false;
        return partial;
}
