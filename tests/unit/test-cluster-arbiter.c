/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Three simulated hosts, each with its own arbiter, fed the same messages
 * and memberships in the same order, as CPG does: they must agree. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cluster-arbiter.h"
#include "log.h"
#include "macro.h"

/* ---- the simulated cluster ------------------------------------------------- */

#define N_HOSTS 3
#define ALL 0x7U /* a set of hosts: bit i is host i, node i + 1 */

typedef struct Host {
        uint32_t node;
        HdhaClusterArbiter *a;
        /* The last request_done. */
        unsigned n_done;
        char done_group[80], done_domain[140];
        int done_r;
        bool done_token;
        HdhaToken done_tok; /* its strings are copied below */
        char done_holder[140];
        unsigned n_token_changed, n_view_changed;
} Host;

static Host hosts[N_HOSTS];

static void on_request_done(void *userdata, const char *group, const char *domain, int r, const HdhaToken *t) {
        Host *h = userdata;

        h->n_done++;
        snprintf(h->done_group, sizeof(h->done_group), "%s", group);
        snprintf(h->done_domain, sizeof(h->done_domain), "%s", domain);
        h->done_r = r;
        h->done_token = t;
        if (t) {
                h->done_tok = *t;
                snprintf(h->done_holder, sizeof(h->done_holder), "%s", strempty(t->holder_domain));
        }
}

static void on_token_changed(void *userdata, const HdhaToken *t) {
        Host *h = userdata;
        HdhaToken again;

        /* The look-ups already show the change. */
        assert_int_equal(hdha_cluster_arbiter_token(h->a, t->group, &again), 0);
        assert_int_equal(again.state, t->state);
        assert_true(again.generation == t->generation);
        h->n_token_changed++;
}

static void on_view_changed(void *userdata, uint32_t node) {
        Host *h = userdata;

        h->n_view_changed++;
}

/* Every log line, to check what was said. */
static char log_lines[64 * 1024];
static size_t log_len;

static void log_to_buffer(int level, const char *line, void *userdata) {
        int k = snprintf(log_lines + log_len, sizeof(log_lines) - log_len, "%s\n", line);

        if (k > 0)
                log_len = MIN(log_len + (size_t) k, sizeof(log_lines) - 1);
}

static void assert_logged(const char *needle) {
        if (!strstr(log_lines, needle))
                fail_msg("no log line contains '%s'; the log:\n%s", needle, log_lines);
}

static int setup(void **state) {
        log_len = 0;
        log_lines[0] = 0;
        hdha_log_set_max_level(LOG_DEBUG);
        hdha_log_set_sink(log_to_buffer, NULL);
        for (size_t i = 0; i < N_HOSTS; i++) {
                HdhaClusterArbiterCallbacks cb = {
                        .request_done = on_request_done,
                        .token_changed = on_token_changed,
                        .view_changed = on_view_changed,
                        .userdata = &hosts[i],
                };

                hosts[i] = (Host) { .node = (uint32_t) i + 1 };
                if (hdha_cluster_arbiter_new(hosts[i].node, &cb, &hosts[i].a) < 0)
                        return -1;
        }
        return 0;
}

static int teardown(void **state) {
        for (size_t i = 0; i < N_HOSTS; i++)
                hosts[i].a = hdha_cluster_arbiter_free(hosts[i].a);
        hdha_log_set_sink(NULL, NULL);
        return 0;
}

/* A new membership on the hosts of set. */
static void membership(unsigned set, uint64_t ring, const uint32_t *members, size_t n) {
        for (size_t i = 0; i < N_HOSTS; i++)
                if (set & (1U << i))
                        assert_int_equal(hdha_cluster_arbiter_membership(hosts[i].a, ring, members, n), 0);
}

/* Delivers bytes sent by node to the hosts of set, in order; every host
 * must come to the same result, which is returned. */
static int deliver(unsigned set, uint32_t node, const void *buf, size_t len) {
        int first = 1;

        for (size_t i = 0; i < N_HOSTS; i++)
                if (set & (1U << i)) {
                        int r = hdha_cluster_arbiter_deliver(hosts[i].a, node, buf, len);

                        if (first == 1)
                                first = r;
                        assert_int_equal(r, first);
                }
        return first;
}

static int send_msg(unsigned set, uint32_t node, const HdhaClusterMsg *m) {
        _cleanup_free_ void *buf = NULL;
        size_t len;

        assert_int_equal(hdha_cluster_msg_encode_alloc(m, &buf, &len), 0);
        return deliver(set, node, buf, len);
}

static uint64_t ring_of(uint32_t node) {
        return hdha_cluster_arbiter_ring_seq(hosts[node - 1].a);
}

static int request(unsigned set, uint32_t node, const char *group, const char *domain) {
        return send_msg(set, node, &(HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_REQUEST, .ring_seq = ring_of(node),
                                                       .group = group, .domain = domain });
}

static int release(unsigned set, uint32_t node, const char *group, uint64_t generation) {
        return send_msg(set, node, &(HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_RELEASE, .ring_seq = ring_of(node),
                                                       .group = group, .generation = generation });
}

static int expire(unsigned set, uint32_t node, const char *group, uint64_t generation, uint32_t departed) {
        return send_msg(set, node, &(HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_EXPIRE, .ring_seq = ring_of(node),
                                                       .group = group, .generation = generation,
                                                       .node = departed });
}

/* Node's STATE (with its own groups) delivered to set. */
static int publish(unsigned set, uint32_t node, const HdhaClusterMsgGroup *groups, size_t n_groups) {
        _cleanup_free_ void *buf = NULL;
        size_t len;

        assert_int_equal(hdha_cluster_arbiter_state_message(hosts[node - 1].a, groups, n_groups, &buf, &len), 0);
        return deliver(set, node, buf, len);
}

/* Everything an arbiter knows, as text: to compare hosts, and a host
 * before and after. */
static char *describe(const HdhaClusterArbiter *a) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        assert_non_null(f);
        fprintf(f, "ring %" PRIu64 "\n", hdha_cluster_arbiter_ring_seq(a));
        for (size_t i = 0; i < hdha_cluster_arbiter_n_tokens(a); i++) {
                HdhaToken t;

                assert_int_equal(hdha_cluster_arbiter_token_at(a, i, &t), 0);
                fprintf(f, "token %s %s %" PRIu32 " %s %" PRIu64 "\n", t.group, hdha_token_state_to_string(t.state),
                        t.holder_node, strna(t.holder_domain), t.generation);
        }
        for (size_t i = 0; i < hdha_cluster_arbiter_n_host_groups(a); i++) {
                HdhaHostGroup g;

                assert_int_equal(hdha_cluster_arbiter_host_group(a, i, &g), 0);
                fprintf(f, "view %" PRIu32 " %s %s %" PRIu64 " %s %s %s\n", g.node, g.group, strna(g.active),
                        g.generation, g.operation, g.step, g.frozen ? "frozen" : "thawed");
        }
        assert_int_equal(fclose(f), 0);
        return s;
}

/* The hosts of set know the same. */
static void assert_agree(unsigned set) {
        _cleanup_free_ char *first = NULL;

        for (size_t i = 0; i < N_HOSTS; i++) {
                _cleanup_free_ char *d = NULL;

                if (!(set & (1U << i)))
                        continue;
                d = describe(hosts[i].a);
                if (!first)
                        first = TAKE_PTR(d);
                else
                        assert_string_equal(d, first);
        }
}

/* The token of group as host i sees it. */
static HdhaToken token(size_t i, const char *group) {
        HdhaToken t;

        assert_int_equal(hdha_cluster_arbiter_token(hosts[i].a, group, &t), 0);
        return t;
}

static void assert_token(const char *group, HdhaTokenState state, uint32_t node, const char *domain,
                         uint64_t generation) {
        HdhaToken t = token(0, group);

        assert_string_equal(hdha_token_state_to_string(t.state), hdha_token_state_to_string(state));
        assert_int_equal(t.holder_node, node);
        assert_true(streq_ptr(t.holder_domain, domain));
        assert_int_equal(t.generation, generation);
}

static const uint32_t all_nodes[] = { 1, 2, 3 };

/* ---- tests ------------------------------------------------------------------ */

static void test_state_table(void **state) {
        for (int s = 0; s < _HDHA_TOKEN_STATE_MAX; s++)
                assert_int_equal(hdha_token_state_from_string(hdha_token_state_to_string(s)), s);
        assert_string_equal(hdha_token_state_to_string(HDHA_TOKEN_ORPHANED), "orphaned");
        assert_null(hdha_token_state_to_string(_HDHA_TOKEN_STATE_MAX));
        assert_int_equal(hdha_token_state_from_string("lost"), -EINVAL);
        assert_int_equal(hdha_token_state_from_string(NULL), -EINVAL);
}

/* The first request in the agreed order wins; the second is denied with
 * the holder named, on every host; the holder may ask again. */
static void test_first_request_wins(void **state) {
        HdhaToken t;

        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(hdha_cluster_arbiter_token(hosts[0].a, "nic0", &t), -ENOENT);

        assert_int_equal(request(ALL, 1, "nic0", "vm-a"), 0);
        assert_int_equal(request(ALL, 2, "nic0", "vm-b"), -EUSERS);
        assert_agree(ALL);
        assert_token("nic0", HDHA_TOKEN_HELD, 1, "vm-a", 1);

        /* Each requester heard of its own request only. */
        assert_int_equal(hosts[0].n_done, 1);
        assert_int_equal(hosts[0].done_r, 0);
        assert_string_equal(hosts[0].done_domain, "vm-a");
        assert_int_equal(hosts[0].done_tok.generation, 1);
        assert_int_equal(hosts[1].n_done, 1);
        assert_int_equal(hosts[1].done_r, -EUSERS);
        assert_string_equal(hosts[1].done_group, "nic0");
        assert_int_equal(hosts[1].done_tok.holder_node, 1);
        assert_string_equal(hosts[1].done_holder, "vm-a");
        assert_int_equal(hosts[2].n_done, 0);
        for (size_t i = 0; i < N_HOSTS; i++)
                assert_int_equal(hosts[i].n_token_changed, 1);
        assert_logged("Group 'nic0': token free --request--> held: granted to node 1 for 'vm-a' (generation 1).");
        assert_logged("Group 'nic0': token held --request--> held: denied to node 2 for 'vm-b', held by node 1 "
                      "for 'vm-a' (generation 1).");

        /* The holder asks again, for another of its domains. */
        assert_int_equal(request(ALL, 1, "nic0", "vm-c"), 0);
        assert_token("nic0", HDHA_TOKEN_HELD, 1, "vm-c", 2);
        assert_agree(ALL);
}

/* Released by its holder, the token goes to the next request, with a
 * higher generation. */
static void test_release_then_grant(void **state) {
        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(request(ALL, 2, "nic0", "vm-b"), 0);
        assert_int_equal(release(ALL, 2, "nic0", 1), 0);
        assert_token("nic0", HDHA_TOKEN_FREE, 0, NULL, 2);
        assert_logged("Group 'nic0': token held --release--> free: released by node 2 (generation 2).");
        assert_int_equal(request(ALL, 3, "nic0", "vm-c"), 0);
        assert_token("nic0", HDHA_TOKEN_HELD, 3, "vm-c", 3);
        assert_int_equal(hosts[2].done_r, 0);
        assert_int_equal(hosts[2].done_tok.generation, 3);
        assert_agree(ALL);
}

/* A release that does not match the token changes nothing. */
static void test_stale_release(void **state) {
        _cleanup_free_ char *before = NULL, *after = NULL;

        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(request(ALL, 1, "nic0", "vm-a"), 0);
        assert_int_equal(release(ALL, 1, "nic0", 1), 0);
        assert_int_equal(request(ALL, 2, "nic0", "vm-b"), 0); /* generation 3 */
        before = describe(hosts[0].a);

        assert_int_equal(release(ALL, 1, "nic0", 1), -ESTALE); /* the old holder, late */
        assert_int_equal(release(ALL, 2, "nic0", 2), -ESTALE); /* the holder, another generation */
        assert_int_equal(release(ALL, 3, "nic0", 3), -ESTALE); /* not the holder */
        assert_int_equal(release(ALL, 3, "hba9", 1), -ESTALE); /* nobody asked for it */
        assert_int_equal(expire(ALL, 3, "nic0", 3, 2), -ESTALE); /* held, not orphaned */
        assert_logged("stale release from node 1 of generation 1 refused, held by node 2 (generation 3).");
        assert_logged("Group 'hba9': stale release from node 3 refused, no host asked for the token.");

        after = describe(hosts[0].a);
        assert_string_equal(after, before);
        assert_agree(ALL);

        /* A release of a free token is stale too. */
        assert_int_equal(release(ALL, 2, "nic0", 3), 0);
        assert_int_equal(release(ALL, 2, "nic0", 4), -ESTALE);
        assert_logged("Group 'nic0': token free --release--> free: stale release from node 2 of generation 4 refused");
}

/* The holder leaves: orphaned, requests denied, and only an EXPIRE that
 * names it and its generation frees the token. */
static void test_orphaned_then_expired(void **state) {
        const uint32_t rest[] = { 2, 3 };
        unsigned rest_set = 0x6U;

        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(request(ALL, 1, "nic0", "vm-a"), 0);

        membership(rest_set, 2, rest, 2);
        for (size_t i = 1; i < N_HOSTS; i++)
                assert_int_equal(token(i, "nic0").state, HDHA_TOKEN_ORPHANED);
        assert_logged("Group 'nic0': token held --holder-left--> orphaned: node 1 left holding 'vm-a', only an "
                      "expiry frees it (generation 1).");
        assert_agree(rest_set);

        assert_int_equal(request(rest_set, 2, "nic0", "vm-b"), -EUSERS);
        assert_int_equal(hosts[1].done_r, -EUSERS);
        assert_int_equal(hosts[1].done_tok.state, HDHA_TOKEN_ORPHANED);
        assert_logged("denied to node 2 for 'vm-b', orphaned by node 1 for 'vm-a'");

        assert_int_equal(expire(rest_set, 2, "nic0", 0, 1), -ESTALE); /* another generation */
        assert_int_equal(expire(rest_set, 2, "nic0", 1, 3), -ESTALE); /* another node */
        assert_int_equal(release(rest_set, 2, "nic0", 1), -ESTALE);   /* not the holder */
        assert_int_equal(token(1, "nic0").state, HDHA_TOKEN_ORPHANED);

        assert_int_equal(expire(rest_set, 2, "nic0", 1, 1), 0);
        assert_logged("Group 'nic0': token orphaned --expire--> free: node 2 expired departed node 1's hold "
                      "(generation 2).");
        assert_int_equal(expire(rest_set, 3, "nic0", 1, 1), -ESTALE); /* a second expiry, late */
        assert_int_equal(request(rest_set, 3, "nic0", "vm-c"), 0);
        assert_int_equal(token(1, "nic0").holder_node, 3);
        assert_int_equal(token(1, "nic0").generation, 3);
        assert_agree(rest_set);

        /* A message of the departed node is not delivered any more. */
        assert_int_equal(request(rest_set, 1, "nic0", "vm-a"), -ESTALE);
}

/* A holder back in the membership before any expiry holds again. */
static void test_holder_back(void **state) {
        const uint32_t rest[] = { 3, 2 }; /* any order */

        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(request(ALL, 1, "nic0", "vm-a"), 0);
        membership(ALL, 2, rest, 2);
        assert_int_equal(token(0, "nic0").state, HDHA_TOKEN_ORPHANED);
        membership(ALL, 2, all_nodes, 3); /* the same ring may change again */
        assert_token("nic0", HDHA_TOKEN_HELD, 1, "vm-a", 1);
        assert_int_equal(expire(ALL, 2, "nic0", 1, 1), -ESTALE);
        assert_int_equal(release(ALL, 1, "nic0", 1), 0);
        assert_agree(ALL);
}

/* Two partitions each move the token; at the merge every host publishes its
 * state and all keep the highest generation, in whatever order. */
static void test_partition_merge(void **state) {
        const uint32_t alone[] = { 1 }, pair[] = { 2, 3 };
        const unsigned order[][N_HOSTS] = { { 1, 2, 3 }, { 3, 2, 1 }, { 2, 1, 3 } };
        char *after[ELEMENTSOF(order)] = {};

        for (size_t o = 0; o < ELEMENTSOF(order); o++) {
                if (o > 0) {
                        assert_int_equal(teardown(state), 0);
                        assert_int_equal(setup(state), 0);
                }
                membership(ALL, 1, all_nodes, 3);
                assert_int_equal(request(ALL, 1, "nic0", "vm-a"), 0);
                assert_int_equal(request(ALL, 1, "hba1", "vm-a"), 0);

                /* Node 1 alone releases nic0 (generation 2) and keeps hba1. */
                membership(0x1U, 2, alone, 1);
                membership(0x6U, 2, pair, 2);
                assert_int_equal(release(0x1U, 1, "nic0", 1), 0);
                /* The pair expires both and grants nic0 again (generation 3). */
                assert_int_equal(expire(0x6U, 2, "nic0", 1, 1), 0);
                assert_int_equal(expire(0x6U, 2, "hba1", 1, 1), 0);
                assert_int_equal(request(0x6U, 3, "nic0", "vm-c"), 0);
                /* A token only the pair knows. */
                assert_int_equal(request(0x6U, 2, "gpu", "vm-b"), 0);

                membership(ALL, 3, all_nodes, 3);
                for (size_t k = 0; k < N_HOSTS; k++)
                        assert_int_equal(publish(ALL, order[o][k], NULL, 0), 0);
                assert_agree(ALL);
                assert_token("nic0", HDHA_TOKEN_HELD, 3, "vm-c", 3);
                assert_token("hba1", HDHA_TOKEN_FREE, 0, NULL, 2);
                assert_token("gpu", HDHA_TOKEN_HELD, 2, "vm-b", 1);
                assert_logged("Group 'nic0': token free --state--> held: merged from node ");
                after[o] = describe(hosts[0].a);
                if (o > 0)
                        assert_string_equal(after[o], after[0]);
        }
        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                free(after[o]);
}

/* Equal generations that disagree (both sides granted) still converge: the
 * lower node wins, on every host, whatever the order. */
static void test_merge_tie(void **state) {
        const uint32_t alone[] = { 1 }, pair[] = { 2, 3 };

        membership(ALL, 1, all_nodes, 3);
        membership(0x1U, 2, alone, 1);
        membership(0x6U, 2, pair, 2);
        assert_int_equal(request(0x6U, 3, "nic0", "vm-c"), 0);
        assert_int_equal(request(0x1U, 1, "nic0", "vm-a"), 0);
        membership(ALL, 3, all_nodes, 3);
        assert_int_equal(publish(ALL, 3, NULL, 0), 0);
        assert_int_equal(publish(ALL, 1, NULL, 0), 0);
        assert_agree(ALL);
        assert_token("nic0", HDHA_TOKEN_HELD, 1, "vm-a", 1);
        /* Publishing again changes nothing. */
        for (size_t i = 0; i < N_HOSTS; i++)
                hosts[i].n_token_changed = 0;
        assert_int_equal(publish(ALL, 2, NULL, 0), 0);
        for (size_t i = 0; i < N_HOSTS; i++)
                assert_int_equal(hosts[i].n_token_changed, 0);
}

/* A host's own groups replace what the view had for it; a host that leaves
 * drops out of the view. */
static void test_view(void **state) {
        const HdhaClusterMsgGroup two[] = {
                { .group = "nic0", .active = "vm-a", .generation = 7, .operation = HDHA_OPERATION_SWITCH,
                  .step = HDHA_STEP_ATTACHING },
                { .group = "hba1", .generation = 2, .frozen = true },
        };
        const HdhaClusterMsgGroup one[] = { { .group = "nic0", .generation = 9 } };
        const uint32_t pair[] = { 1, 3 };
        HdhaHostGroup g;

        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(publish(ALL, 2, two, 2), 0);
        assert_int_equal(publish(ALL, 3, one, 1), 0);
        assert_agree(ALL);
        assert_int_equal(hdha_cluster_arbiter_n_host_groups(hosts[0].a), 3);
        assert_int_equal(hdha_cluster_arbiter_host_group(hosts[0].a, 0, &g), 0);
        assert_int_equal(g.node, 2);
        assert_string_equal(g.group, "hba1"); /* sorted */
        assert_null(g.active);
        assert_string_equal(g.operation, "none");
        assert_true(g.frozen);
        assert_int_equal(hdha_cluster_arbiter_host_group(hosts[0].a, 1, &g), 0);
        assert_string_equal(g.active, "vm-a");
        assert_string_equal(g.step, "attaching");
        assert_int_equal(g.generation, 7);
        assert_int_equal(hdha_cluster_arbiter_host_group(hosts[0].a, 3, &g), -ERANGE);
        assert_int_equal(hosts[0].n_view_changed, 2);

        /* The same again: nothing changed. */
        assert_int_equal(publish(ALL, 2, two, 2), 0);
        assert_int_equal(hosts[0].n_view_changed, 2);
        /* Node 2 now has one group. */
        assert_int_equal(publish(ALL, 2, one, 1), 0);
        assert_int_equal(hosts[0].n_view_changed, 3);
        assert_int_equal(hdha_cluster_arbiter_n_host_groups(hosts[0].a), 2);
        assert_int_equal(hdha_cluster_arbiter_host_group(hosts[0].a, 0, &g), 0);
        assert_int_equal(g.node, 2);
        assert_int_equal(g.generation, 9);
        assert_agree(ALL);

        membership(0x5U, 2, pair, 2);
        assert_int_equal(hosts[0].n_view_changed, 4);
        assert_int_equal(hdha_cluster_arbiter_n_host_groups(hosts[0].a), 1);
        assert_int_equal(hdha_cluster_arbiter_host_group(hosts[0].a, 0, &g), 0);
        assert_int_equal(g.node, 3);
        assert_logged("Node 2 left: dropping its 1 groups from the view.");

        /* Invalid own groups make no message. */
        {
                const HdhaClusterMsgGroup bad[] = { { .group = "a/b" } };
                void *buf = NULL;
                size_t len = 0;

                assert_int_equal(hdha_cluster_arbiter_state_message(hosts[0].a, bad, 1, &buf, &len), -EBADMSG);
                assert_null(buf);
        }
}

/* Messages stamped with an older ring are dropped everywhere; the
 * requester hears that it must ask again. Older memberships are refused. */
static void test_stale_ring(void **state) {
        _cleanup_free_ char *before = NULL, *after = NULL;
        HdhaClusterMsg m = { .type = HDHA_CLUSTER_MSG_REQUEST, .ring_seq = 4, .group = "nic0", .domain = "vm-b" };

        membership(ALL, 5, all_nodes, 3);
        assert_int_equal(request(ALL, 1, "nic0", "vm-a"), 0);
        before = describe(hosts[0].a);

        assert_int_equal(send_msg(ALL, 2, &m), -ESTALE);
        assert_int_equal(hosts[1].done_r, -ESTALE);
        assert_false(hosts[1].done_token);
        assert_logged("Dropping a request for group 'nic0' of node 2 sent in ring 4: the current ring is newer.");
        m = (HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_RELEASE, .ring_seq = 4, .group = "nic0", .generation = 1 };
        assert_int_equal(send_msg(ALL, 1, &m), -ESTALE);
        assert_int_equal(publish(ALL, 1, NULL, 0), 0); /* ring 5: fine */

        for (size_t i = 0; i < N_HOSTS; i++)
                assert_int_equal(hdha_cluster_arbiter_membership(hosts[i].a, 4, all_nodes, 1), -ESTALE);
        after = describe(hosts[0].a);
        assert_string_equal(after, before);
        assert_agree(ALL);

        /* A newer ring than the receiver's is no reason to drop. */
        m = (HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_RELEASE, .ring_seq = 6, .group = "nic0", .generation = 1 };
        assert_int_equal(send_msg(ALL, 1, &m), 0);
}

/* The token table is cluster-wide: a group configured on one host only is
 * tracked by all. */
static void test_unknown_group(void **state) {
        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(request(ALL, 3, "only-on-3", "vm-z"), 0);
        assert_agree(ALL);
        for (size_t i = 0; i < N_HOSTS; i++) {
                assert_int_equal(hdha_cluster_arbiter_n_tokens(hosts[i].a), 1);
                assert_int_equal(token(i, "only-on-3").holder_node, 3);
        }
        assert_logged("Group 'only-on-3': first request, tracking its token.");
}

/* Bytes that are not a message change nothing and call nobody. */
static void test_bad_bytes(void **state) {
        _cleanup_free_ char *before = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        const HdhaClusterMsgGroup own[] = { { .group = "nic0", .active = "vm-a", .generation = 3 } };
        size_t len;

        membership(ALL, 1, all_nodes, 3);
        assert_int_equal(request(ALL, 1, "nic0", "vm-a"), 0);
        assert_int_equal(publish(ALL, 1, own, 1), 0);
        before = describe(hosts[0].a);
        for (size_t i = 0; i < N_HOSTS; i++)
                hosts[i].n_done = hosts[i].n_token_changed = hosts[i].n_view_changed = 0;

        /* Every cut of a valid REQUEST and of a valid STATE. */
        assert_int_equal(hdha_cluster_msg_encode_alloc(&(HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_REQUEST,
                                                                          .ring_seq = 1, .group = "nic0",
                                                                          .domain = "vm-b" },
                                                       (void **) &buf, &len),
                         0);
        for (size_t n = 0; n < len; n++)
                assert_int_equal(deliver(ALL, 2, buf, n), -EBADMSG);
        buf = mfree(buf);
        assert_int_equal(hdha_cluster_arbiter_state_message(hosts[1].a, own, 1, (void **) &buf, &len), 0);
        for (size_t n = 0; n < len; n++)
                assert_int_equal(deliver(ALL, 2, buf, n), -EBADMSG);
        /* Trailing bytes, wrong magic, nothing at all. */
        buf = realloc(buf, len + 1);
        assert_non_null(buf);
        buf[len] = 0;
        assert_int_equal(deliver(ALL, 2, buf, len + 1), -EBADMSG);
        buf[0] = 'X';
        assert_int_equal(deliver(ALL, 2, buf, len), -EBADMSG);
        assert_int_equal(deliver(ALL, 2, NULL, 0), -EBADMSG);
        assert_logged("Bad message from node 2, ignoring: message: wrong magic, not a hostdev-ha message");

        for (size_t i = 0; i < N_HOSTS; i++) {
                _cleanup_free_ char *after = describe(hosts[i].a);

                assert_string_equal(after, before);
                assert_int_equal(hosts[i].n_done + hosts[i].n_token_changed + hosts[i].n_view_changed, 0);
        }
}

/* Memberships that cannot be are refused and change nothing. */
static void test_bad_membership(void **state) {
        const uint32_t zero[] = { 1, 0 }, twice[] = { 2, 1, 2 };
        uint32_t many[HDHA_CLUSTER_NODES_MAX + 1];
        HdhaClusterArbiter *a = NULL;

        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = (uint32_t) i + 1;
        membership(ALL, 3, all_nodes, 3);
        assert_int_equal(hdha_cluster_arbiter_membership(hosts[0].a, 4, zero, 2), -EINVAL);
        assert_int_equal(hdha_cluster_arbiter_membership(hosts[0].a, 4, twice, 3), -EINVAL);
        assert_int_equal(hdha_cluster_arbiter_membership(hosts[0].a, 4, many, ELEMENTSOF(many)), -E2BIG);
        assert_int_equal(hdha_cluster_arbiter_ring_seq(hosts[0].a), 3);
        assert_true(hdha_cluster_arbiter_is_member(hosts[0].a, 3));
        assert_int_equal(hdha_cluster_arbiter_membership(hosts[0].a, 4, many, HDHA_CLUSTER_NODES_MAX), 0);
        assert_int_equal(hdha_cluster_arbiter_membership(hosts[0].a, 4, NULL, 0), 0);
        assert_false(hdha_cluster_arbiter_is_member(hosts[0].a, 1));

        assert_int_equal(hdha_cluster_arbiter_new(0, NULL, &a), -EINVAL);
        assert_null(a);
        assert_int_equal(hdha_cluster_arbiter_new(9, NULL, &a), 0); /* without callbacks */
        assert_int_equal(hdha_cluster_arbiter_membership(a, 1, all_nodes, 3), 0);
        assert_int_equal(hdha_cluster_arbiter_deliver(a, 1, NULL, 0), -EBADMSG);
        assert_null(hdha_cluster_arbiter_free(a));
        assert_null(hdha_cluster_arbiter_free(NULL));
}

/* The table holds HDHA_CLUSTER_GROUPS_MAX groups; beyond, requests and states
 * are dropped whole. */
static void test_table_full(void **state) {
        static HdhaClusterMsgToken extra[2];
        _cleanup_free_ char *before = NULL, *after = NULL;
        char name[32];

        membership(ALL, 1, all_nodes, 3);
        for (unsigned i = 0; i < HDHA_CLUSTER_GROUPS_MAX; i++) {
                snprintf(name, sizeof(name), "g%03u", i);
                assert_int_equal(request(0x1U, 1, name, "vm-a"), 0);
        }
        assert_int_equal(request(0x1U, 1, "one-more", "vm-a"), -E2BIG);
        assert_int_equal(hosts[0].done_r, -E2BIG);
        assert_false(hosts[0].done_token);
        assert_int_equal(hdha_cluster_arbiter_n_tokens(hosts[0].a), HDHA_CLUSTER_GROUPS_MAX);
        assert_int_equal(request(0x1U, 1, "g007", "vm-b"), 0); /* a known one still works */
        before = describe(hosts[0].a);

        /* A state with one known and one new group: all or nothing. */
        extra[0] = (HdhaClusterMsgToken) { .group = "g000", .generation = 99 };
        extra[1] = (HdhaClusterMsgToken) { .group = "new", .generation = 1 };
        assert_int_equal(send_msg(0x1U, 2, &(HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_STATE, .ring_seq = 1,
                                                               .tokens = extra, .n_tokens = 2 }),
                         -E2BIG);
        assert_int_equal(token(0, "g000").generation, 1);
        after = describe(hosts[0].a);
        assert_string_equal(after, before);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_state_table),
                cmocka_unit_test_setup_teardown(test_first_request_wins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_release_then_grant, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_orphaned_then_expired, setup, teardown),
                cmocka_unit_test_setup_teardown(test_holder_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_partition_merge, setup, teardown),
                cmocka_unit_test_setup_teardown(test_merge_tie, setup, teardown),
                cmocka_unit_test_setup_teardown(test_view, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_ring, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_bytes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_membership, setup, teardown),
                cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("cluster-arbiter", tests, NULL, NULL);
}
