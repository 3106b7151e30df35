/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cluster-msg.h"
#include "macro.h"

/* ---- helpers ------------------------------------------------------------ */

/* Bytes built by hand, to write what the encoder never would. */
typedef struct Bytes {
        uint8_t b[HDHA_CLUSTER_MSG_SIZE_MAX + 64];
        size_t n;
} Bytes;

static void add_uint(Bytes *x, uint64_t v, size_t bytes) {
        assert_true(x->n + bytes <= sizeof(x->b));
        for (size_t i = 0; i < bytes; i++)
                x->b[x->n++] = (uint8_t) (v >> (8 * i));
}

static void add_raw(Bytes *x, const void *p, size_t n) {
        assert_true(x->n + n <= sizeof(x->b));
        memcpy(x->b + x->n, p, n);
        x->n += n;
}

static void add_str(Bytes *x, const char *s) {
        add_uint(x, strlen(s), 2);
        add_raw(x, s, strlen(s));
}

static void add_header(Bytes *x, uint16_t type) {
        add_raw(x, "HDHA", 4);
        add_uint(x, 1, 2);
        add_uint(x, type, 2);
        add_uint(x, 7, 8);
}

static void assert_contains(const char *s, const char *needle) {
        if (!s || !strstr(s, needle))
                fail_msg("'%s' does not contain '%s'", s ?: "(null)", needle);
}

/* Decodes a copy of exactly n bytes (so that the sanitizers see any read
 * past the end). */
static int decode_copy(const void *p, size_t n, HdhaClusterMsg **ret, char **reterr) {
        void *copy = malloc(n ?: 1);
        int r;

        assert_non_null(copy);
        memcpy(copy, p, n);
        r = hdha_cluster_msg_decode(copy, n, ret, reterr);
        free(copy);
        return r;
}

/* Decoding must refuse the bytes with a message containing why, and leave
 * the output alone. */
static void assert_refused(const void *p, size_t n, const char *why) {
        HdhaClusterMsg *sentinel = (HdhaClusterMsg *) &sentinel, *m = sentinel;
        _cleanup_free_ char *err = NULL;

        assert_int_equal(decode_copy(p, n, &m, &err), -EBADMSG);
        assert_ptr_equal(m, sentinel);
        assert_contains(err, why);
        /* Without a message too. */
        assert_int_equal(decode_copy(p, n, &m, NULL), -EBADMSG);
        assert_ptr_equal(m, sentinel);
}

static const HdhaClusterMsgToken sample_tokens[] = {
        { .group = "nic0", .holder_node = 1, .holder_domain = "vm-a", .generation = 12 },
        { .group = "hba1", .generation = 3 },
        { .group = "gpu.2", .holder_node = 0xfffffffeU, .holder_domain = "vm_b:x+y@z", .generation = UINT64_MAX },
};

static const HdhaClusterMsgGroup sample_groups[] = {
        { .group = "nic0", .active = "vm-a", .generation = 40, .operation = HDHA_OPERATION_SWITCH,
          .step = HDHA_STEP_WAITING_RELEASE, .frozen = false },
        { .group = "hba1", .generation = 0, .operation = HDHA_OPERATION_NONE, .step = HDHA_STEP_NONE,
          .frozen = true },
};

/* One valid message of each type. */
static const HdhaClusterMsg samples[] = {
        { .type = HDHA_CLUSTER_MSG_REQUEST, .ring_seq = 1, .group = "nic0", .domain = "vm-a" },
        { .type = HDHA_CLUSTER_MSG_RELEASE, .ring_seq = 0x0102030405060708ULL, .group = "nic0", .generation = 5 },
        { .type = HDHA_CLUSTER_MSG_EXPIRE, .ring_seq = UINT64_MAX, .group = "nic0", .generation = 9, .node = 3 },
        { .type = HDHA_CLUSTER_MSG_STATE, .ring_seq = 44, .tokens = sample_tokens,
          .n_tokens = ELEMENTSOF(sample_tokens), .groups = sample_groups, .n_groups = ELEMENTSOF(sample_groups) },
        { .type = HDHA_CLUSTER_MSG_STATE, .ring_seq = 45 },
};

static void assert_msg_equal(const HdhaClusterMsg *a, const HdhaClusterMsg *b) {
        assert_int_equal(a->type, b->type);
        assert_true(a->ring_seq == b->ring_seq);
        switch (a->type) {
        case HDHA_CLUSTER_MSG_REQUEST:
                assert_string_equal(a->group, b->group);
                assert_string_equal(a->domain, b->domain);
                break;
        case HDHA_CLUSTER_MSG_RELEASE:
                assert_string_equal(a->group, b->group);
                assert_true(a->generation == b->generation);
                break;
        case HDHA_CLUSTER_MSG_EXPIRE:
                assert_string_equal(a->group, b->group);
                assert_true(a->generation == b->generation);
                assert_int_equal(a->node, b->node);
                break;
        case HDHA_CLUSTER_MSG_STATE:
                assert_int_equal(a->n_tokens, b->n_tokens);
                for (size_t i = 0; i < a->n_tokens; i++) {
                        assert_string_equal(a->tokens[i].group, b->tokens[i].group);
                        assert_int_equal(a->tokens[i].holder_node, b->tokens[i].holder_node);
                        assert_true(streq_ptr(a->tokens[i].holder_domain, b->tokens[i].holder_domain));
                        assert_true(a->tokens[i].generation == b->tokens[i].generation);
                }
                assert_int_equal(a->n_groups, b->n_groups);
                for (size_t i = 0; i < a->n_groups; i++) {
                        assert_string_equal(a->groups[i].group, b->groups[i].group);
                        assert_true(streq_ptr(a->groups[i].active, b->groups[i].active));
                        assert_true(a->groups[i].generation == b->groups[i].generation);
                        assert_int_equal(a->groups[i].operation, b->groups[i].operation);
                        assert_int_equal(a->groups[i].step, b->groups[i].step);
                        assert_int_equal(a->groups[i].frozen, b->groups[i].frozen);
                }
                break;
        default:
                fail();
        }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_type_table(void **state) {
        for (int t = 0; t < _HDHA_CLUSTER_MSG_TYPE_MAX; t++) {
                const char *s = hdha_cluster_msg_type_to_string(t);

                assert_non_null(s);
                assert_int_equal(hdha_cluster_msg_type_from_string(s), t);
        }
        assert_string_equal(hdha_cluster_msg_type_to_string(HDHA_CLUSTER_MSG_STATE), "state");
        assert_null(hdha_cluster_msg_type_to_string(_HDHA_CLUSTER_MSG_TYPE_MAX));
        assert_null(hdha_cluster_msg_type_to_string(_HDHA_CLUSTER_MSG_TYPE_INVALID));
        assert_int_equal(hdha_cluster_msg_type_from_string("grant"), -EINVAL);
        assert_int_equal(hdha_cluster_msg_type_from_string(NULL), -EINVAL);
}

/* Every sample: size, encode into a buffer (exact, too small), encode into
 * a new buffer, decode, and the decoded message encodes to the same bytes. */
static void test_round_trip(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(samples); i++) {
                _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *m = NULL;
                _cleanup_free_ void *alloc = NULL, *again = NULL;
                uint8_t buf[1024], small[1024];
                size_t size, alloc_size, again_size;

                assert_int_equal(hdha_cluster_msg_size(&samples[i], &size), 0);
                assert_true(size >= HDHA_CLUSTER_MSG_HEADER_SIZE && size <= sizeof(buf));
                assert_int_equal(hdha_cluster_msg_encode(&samples[i], buf, sizeof(buf)), (int) size);

                memset(small, 0xaa, sizeof(small));
                assert_int_equal(hdha_cluster_msg_encode(&samples[i], small, size - 1), -ENOBUFS);
                for (size_t k = 0; k < sizeof(small); k++)
                        assert_int_equal(small[k], 0xaa);

                assert_int_equal(hdha_cluster_msg_encode_alloc(&samples[i], &alloc, &alloc_size), 0);
                assert_int_equal(alloc_size, size);
                assert_memory_equal(alloc, buf, size);

                assert_int_equal(decode_copy(buf, size, &m, NULL), 0);
                assert_msg_equal(m, &samples[i]);

                assert_int_equal(hdha_cluster_msg_encode_alloc(m, &again, &again_size), 0);
                assert_int_equal(again_size, size);
                assert_memory_equal(again, buf, size);
        }
        assert_null(hdha_cluster_msg_free(NULL));
}

/* The wire format, byte by byte: what another version must read. */
static void test_wire_layout(void **state) {
        static const uint8_t request[] = {
                'H', 'D', 'H', 'A', 1, 0, 0, 0,  /* magic, version 1, type REQUEST */
                2, 1, 0, 0, 0, 0, 0, 0,          /* ring_seq 0x102 */
                4, 0, 'n', 'i', 'c', '0',        /* group */
                4, 0, 'v', 'm', '-', 'b',        /* domain */
        };
        static const uint8_t expire[] = {
                'H', 'D', 'H', 'A', 1, 0, 2, 0,
                0, 0, 0, 0, 0, 0, 0, 0x80,
                1, 0, 'g',
                9, 0, 0, 0, 0, 0, 0, 0,          /* generation */
                3, 0, 0, 0,                      /* node */
        };
        const HdhaClusterMsg rq = { .type = HDHA_CLUSTER_MSG_REQUEST, .ring_seq = 0x102, .group = "nic0",
                                    .domain = "vm-b" };
        const HdhaClusterMsg ex = { .type = HDHA_CLUSTER_MSG_EXPIRE, .ring_seq = 1ULL << 63, .group = "g",
                                    .generation = 9, .node = 3 };
        uint8_t buf[64];

        assert_int_equal(hdha_cluster_msg_encode(&rq, buf, sizeof(buf)), (int) sizeof(request));
        assert_memory_equal(buf, request, sizeof(request));
        assert_int_equal(hdha_cluster_msg_encode(&ex, buf, sizeof(buf)), (int) sizeof(expire));
        assert_memory_equal(buf, expire, sizeof(expire));
}

/* The largest message there can be: full lists of the longest names. */
static void test_largest(void **state) {
        static HdhaClusterMsgToken tokens[HDHA_CLUSTER_MSG_TOKENS_MAX + 1];
        static HdhaClusterMsgGroup groups[HDHA_CLUSTER_MSG_GROUPS_MAX + 1];
        static char names[HDHA_CLUSTER_MSG_TOKENS_MAX + 1][HDHA_GROUP_NAME_MAX + 1];
        char domain[HDHA_DOMAIN_NAME_MAX + 1];
        _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *m = NULL;
        _cleanup_free_ void *buf = NULL;
        HdhaClusterMsg msg;
        size_t size;

        memset(domain, 'd', HDHA_DOMAIN_NAME_MAX);
        domain[HDHA_DOMAIN_NAME_MAX] = 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                memset(names[i], 'g', HDHA_GROUP_NAME_MAX);
                snprintf(names[i], sizeof(names[i]), "%04zu", i);
                names[i][4] = 'g'; /* keep the full length */
                tokens[i] = (HdhaClusterMsgToken) { .group = names[i], .holder_node = 1, .holder_domain = domain,
                                                    .generation = i };
                groups[i] = (HdhaClusterMsgGroup) { .group = names[i], .active = domain,
                                                    .operation = HDHA_OPERATION_FAILOVER,
                                                    .step = HDHA_STEP_WAITING_RELEASE };
        }
        assert_int_equal(strlen(names[0]), HDHA_GROUP_NAME_MAX);

        msg = (HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_STATE, .tokens = tokens,
                                 .n_tokens = HDHA_CLUSTER_MSG_TOKENS_MAX, .groups = groups,
                                 .n_groups = HDHA_CLUSTER_MSG_GROUPS_MAX };
        assert_int_equal(hdha_cluster_msg_encode_alloc(&msg, &buf, &size), 0);
        /* "waiting-release" and "failover" are shorter than the longest word. */
        assert_true(size <= HDHA_CLUSTER_MSG_SIZE_MAX);
        assert_true(size + 2 * HDHA_CLUSTER_MSG_GROUPS_MAX * HDHA_CLUSTER_MSG_WORD_MAX >=
                    HDHA_CLUSTER_MSG_SIZE_MAX);
        assert_int_equal(decode_copy(buf, size, &m, NULL), 0);
        assert_msg_equal(m, &msg);

        /* One more of either is refused on both sides. */
        msg.n_tokens++;
        assert_int_equal(hdha_cluster_msg_size(&msg, &size), -EBADMSG);
        msg.n_tokens--;
        msg.n_groups++;
        assert_int_equal(hdha_cluster_msg_size(&msg, &size), -EBADMSG);
}

/* What decoding refuses, encoding refuses too. */
static void test_encode_refuses(void **state) {
        const HdhaClusterMsgToken half[] = { { .group = "nic0", .holder_node = 2 } };
        const HdhaClusterMsgToken dup[] = { { .group = "nic0" }, { .group = "nic0", .generation = 1 } };
        const HdhaClusterMsgGroup stepping[] = { { .group = "nic0", .step = HDHA_STEP_ATTACHING } };
        const HdhaClusterMsgGroup bad_op[] = { { .group = "nic0", .operation = _HDHA_OPERATION_MAX } };
        const HdhaClusterMsg bad[] = {
                { .type = _HDHA_CLUSTER_MSG_TYPE_MAX, .group = "nic0" },
                { .type = _HDHA_CLUSTER_MSG_TYPE_INVALID, .group = "nic0" },
                { .type = HDHA_CLUSTER_MSG_REQUEST, .group = "nic0" },
                { .type = HDHA_CLUSTER_MSG_REQUEST, .group = "nic/0", .domain = "vm-a" },
                { .type = HDHA_CLUSTER_MSG_REQUEST, .group = "nic0", .domain = "-vm" },
                { .type = HDHA_CLUSTER_MSG_RELEASE, .group = "" },
                { .type = HDHA_CLUSTER_MSG_RELEASE },
                { .type = HDHA_CLUSTER_MSG_EXPIRE, .group = "nic0", .node = 0 },
                { .type = HDHA_CLUSTER_MSG_STATE, .tokens = half, .n_tokens = 1 },
                { .type = HDHA_CLUSTER_MSG_STATE, .tokens = dup, .n_tokens = 2 },
                { .type = HDHA_CLUSTER_MSG_STATE, .groups = stepping, .n_groups = 1 },
                { .type = HDHA_CLUSTER_MSG_STATE, .groups = bad_op, .n_groups = 1 },
        };
        uint8_t buf[256];
        void *p = (void *) 1;
        size_t n = 77;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(hdha_cluster_msg_size(&bad[i], &n), -EBADMSG);
                assert_int_equal(hdha_cluster_msg_encode(&bad[i], buf, sizeof(buf)), -EBADMSG);
                assert_int_equal(hdha_cluster_msg_encode_alloc(&bad[i], &p, &n), -EBADMSG);
                assert_ptr_equal(p, (void *) 1);
                assert_int_equal(n, 77);
        }
}

/* Each malformed message is refused with a message saying why. */
static void test_decode_refuses(void **state) {
        uint8_t good[256];
        Bytes x;
        int n;

        n = hdha_cluster_msg_encode(&samples[0], good, sizeof(good));
        assert_true(n > 0);

        /* The header. */
        assert_refused(good, 0, "truncated at byte 0 of 0 (reading the header)");
        assert_refused(good, HDHA_CLUSTER_MSG_HEADER_SIZE - 1, "reading the header");
        x = (Bytes) {};
        add_raw(&x, good, (size_t) n);
        x.b[0] = 'X';
        assert_refused(x.b, x.n, "wrong magic");
        x.b[0] = 'H';
        x.b[4] = 2;
        assert_refused(x.b, x.n, "version 2, expected 1");
        x.b[4] = 1;
        x.b[5] = 1;
        assert_refused(x.b, x.n, "version 257, expected 1");
        x.b[5] = 0;
        x.b[6] = 4;
        assert_refused(x.b, x.n, "unknown message type 4");
        x.b[6] = x.b[7] = 0xff;
        assert_refused(x.b, x.n, "unknown message type 65535");

        /* Truncated, trailing. */
        assert_refused(good, (size_t) n - 1, "REQUEST: truncated at byte 24 of 27 (reading domain)");
        assert_refused(good, HDHA_CLUSTER_MSG_HEADER_SIZE, "REQUEST: truncated at byte 16 of 16 (reading group)");
        x = (Bytes) {};
        add_raw(&x, good, (size_t) n);
        add_uint(&x, 0, 1);
        assert_refused(x.b, x.n, "REQUEST: 1 trailing bytes after the message");

        /* Names. */
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_REQUEST);
        add_str(&x, "");
        add_str(&x, "vm-a");
        assert_refused(x.b, x.n, "REQUEST: invalid group name");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_REQUEST);
        add_str(&x, ".nic");
        add_str(&x, "vm-a");
        assert_refused(x.b, x.n, "REQUEST: invalid group name");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_REQUEST);
        add_str(&x, "nic0");
        add_str(&x, "vm a");
        assert_refused(x.b, x.n, "REQUEST: invalid domain name");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_REQUEST);
        add_str(&x, "nic0");
        add_str(&x, "");
        assert_refused(x.b, x.n, "REQUEST: invalid domain name");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_REQUEST);
        add_uint(&x, 4, 2);
        add_raw(&x, "ni\0c", 4);
        add_str(&x, "vm-a");
        assert_refused(x.b, x.n, "REQUEST: group: contains a NUL byte");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_RELEASE);
        add_uint(&x, HDHA_GROUP_NAME_MAX + 1, 2);
        for (unsigned i = 0; i <= HDHA_GROUP_NAME_MAX; i++)
                add_raw(&x, "g", 1);
        add_uint(&x, 1, 8);
        assert_refused(x.b, x.n, "RELEASE: group: 65 bytes, longer than 64");
        /* A length that claims more than there is. */
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_RELEASE);
        add_uint(&x, 60, 2);
        add_raw(&x, "nic0", 4);
        assert_refused(x.b, x.n, "RELEASE: truncated at byte 18 of 22 (reading group)");

        /* EXPIRE of node 0. */
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_EXPIRE);
        add_str(&x, "nic0");
        add_uint(&x, 1, 8);
        add_uint(&x, 0, 4);
        assert_refused(x.b, x.n, "EXPIRE: node 0 is no node");

        /* STATE: counts over the limits, checked before anything else. */
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, HDHA_CLUSTER_MSG_TOKENS_MAX + 1, 2);
        assert_refused(x.b, x.n, "STATE: 257 tokens, more than 256");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, 0, 2);
        add_uint(&x, 0xffff, 2);
        assert_refused(x.b, x.n, "STATE: 65535 groups, more than 256");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, 3, 2);
        assert_refused(x.b, x.n, "STATE: truncated at byte 18 of 18 (reading tokens[0].group)");

        /* STATE: tokens. */
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, 1, 2);
        add_str(&x, "nic0");
        add_uint(&x, 2, 4);
        add_str(&x, "");
        add_uint(&x, 1, 8);
        add_uint(&x, 0, 2);
        assert_refused(x.b, x.n, "STATE: tokens[0]: a holder needs both a node and a domain");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, 1, 2);
        add_str(&x, "nic0");
        add_uint(&x, 0, 4);
        add_str(&x, "vm-a");
        add_uint(&x, 1, 8);
        add_uint(&x, 0, 2);
        assert_refused(x.b, x.n, "STATE: tokens[0]: a holder needs both a node and a domain");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, 2, 2);
        for (int i = 0; i < 2; i++) {
                add_str(&x, "nic0");
                add_uint(&x, 0, 4);
                add_str(&x, "");
                add_uint(&x, 1, 8);
        }
        add_uint(&x, 0, 2);
        assert_refused(x.b, x.n, "STATE: tokens[1].group: 'nic0' is also tokens[0]");
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, 1, 2);
        add_str(&x, "nic0");
        add_uint(&x, 1, 4);
        add_str(&x, "vm/a");
        add_uint(&x, 1, 8);
        add_uint(&x, 0, 2);
        assert_refused(x.b, x.n, "STATE: tokens[0].holder_domain: invalid domain name");

        /* STATE: groups. */
        static const struct {
                const char *active, *operation, *step;
                unsigned frozen;
                const char *why;
        } groups[] = {
                { "", "none", "none", 2, "STATE: groups[0].frozen: 2 is not 0 or 1" },
                { "", "move", "none", 0, "STATE: groups[0].operation: unknown operation" },
                { "", "switch", "flying", 0, "STATE: groups[0].step: unknown step" },
                { "", "", "none", 0, "STATE: groups[0].operation: unknown" },
                { "", "none", "attaching", 0, "STATE: groups[0].step: attaching without an operation" },
                { ".vm", "none", "none", 0, "STATE: groups[0].active: invalid domain name" },
                { "", "none-of-these-words-is-that-long-", "none", 0,
                  "STATE: groups[0].operation: 33 bytes, longer than 32" },
        };
        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                x = (Bytes) {};
                add_header(&x, HDHA_CLUSTER_MSG_STATE);
                add_uint(&x, 0, 2);
                add_uint(&x, 1, 2);
                add_str(&x, "nic0");
                add_str(&x, groups[i].active);
                add_uint(&x, 1, 8);
                add_str(&x, groups[i].operation);
                add_str(&x, groups[i].step);
                add_uint(&x, groups[i].frozen, 1);
                assert_refused(x.b, x.n, groups[i].why);
        }
        x = (Bytes) {};
        add_header(&x, HDHA_CLUSTER_MSG_STATE);
        add_uint(&x, 0, 2);
        add_uint(&x, 2, 2);
        for (int i = 0; i < 2; i++) {
                add_str(&x, "nic0");
                add_str(&x, "");
                add_uint(&x, 1, 8);
                add_str(&x, "none");
                add_str(&x, "none");
                add_uint(&x, 0, 1);
        }
        assert_refused(x.b, x.n, "STATE: groups[1].group: 'nic0' is also groups[0]");
        /* The same valid with one group. */
        {
                _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *m = NULL;

                x.b[HDHA_CLUSTER_MSG_HEADER_SIZE + 2] = 1;
                x.n -= 2 + 4 + 2 + 8 + 2 + 4 + 2 + 4 + 1;
                assert_int_equal(decode_copy(x.b, x.n, &m, NULL), 0);
                assert_int_equal(m->n_groups, 1);
                assert_null(m->groups[0].active);
        }
}

/* Cut every sample at every length and flip every byte of it (and every bit
 * of the header): decoding either refuses cleanly or returns a message that
 * encodes back to exactly the same bytes. Run under the sanitizers, this is
 * what proves that no read passes the end. */
static void test_truncate_and_flip(void **state) {
        unsigned refused = 0, accepted = 0;

        for (size_t i = 0; i < ELEMENTSOF(samples); i++) {
                _cleanup_free_ uint8_t *buf = NULL;
                size_t size;

                assert_int_equal(hdha_cluster_msg_encode_alloc(&samples[i], (void **) &buf, &size), 0);

                for (size_t len = 0; len < size; len++) {
                        HdhaClusterMsg *m = NULL;
                        _cleanup_free_ char *err = NULL;

                        assert_int_equal(decode_copy(buf, len, &m, &err), -EBADMSG);
                        assert_null(m);
                        assert_non_null(err);
                        refused++;
                }

                for (size_t k = 0; k < size; k++)
                        for (unsigned flip = 0; flip < 9; flip++) {
                                /* 0xff, then each bit alone. */
                                uint8_t mask = flip == 8 ? 0xff : (uint8_t) (1U << flip);
                                _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *m = NULL;
                                _cleanup_free_ char *err = NULL;
                                _cleanup_free_ void *again = NULL;
                                size_t again_size;
                                int r;

                                buf[k] ^= mask;
                                r = decode_copy(buf, size, &m, &err);
                                if (r < 0) {
                                        assert_int_equal(r, -EBADMSG);
                                        assert_null(m);
                                        assert_non_null(err);
                                        refused++;
                                } else {
                                        assert_null(err);
                                        assert_int_equal(hdha_cluster_msg_encode_alloc(m, &again, &again_size),
                                                         0);
                                        assert_int_equal(again_size, size);
                                        assert_memory_equal(again, buf, size);
                                        accepted++;
                                }
                                buf[k] ^= mask;
                        }
        }
        /* Both outcomes happen: a flipped generation is still a message. */
        assert_true(refused > 0);
        assert_true(accepted > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_type_table),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_wire_layout),
                cmocka_unit_test(test_largest),
                cmocka_unit_test(test_encode_refuses),
                cmocka_unit_test(test_decode_refuses),
                cmocka_unit_test(test_truncate_and_flip),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("cluster-msg", tests, NULL, NULL);
}
