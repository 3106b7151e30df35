/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The replicated token table: a group's token as a state x event table,
 * fed with the messages in CPG's agreed order and the memberships, and the
 * cluster's view of every host's groups. No Corosync, no clock. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-arbiter-internal.h"
#include "log.h"
#include "macro.h"
#include "string-table.h"

static const char *const token_state_table[_HDHA_TOKEN_STATE_MAX] = {
        [HDHA_TOKEN_FREE] = "free",
        [HDHA_TOKEN_HELD] = "held",
        [HDHA_TOKEN_ORPHANED] = "orphaned",
};

DEFINE_STRING_TABLE_LOOKUP(hdha_token_state, HdhaTokenState, token_state_table)

typedef enum TokenEvent {
        EV_REQUEST,     /* a host asks for the token */
        EV_RELEASE,     /* a host gives it back */
        EV_EXPIRE,      /* a host frees the token of a departed holder */
        EV_HOLDER_LEFT, /* the holder left the membership */
        EV_HOLDER_BACK, /* the holder of an orphaned token is a member again */
        _EV_MAX,
} TokenEvent;

static const char *const token_event_table[_EV_MAX] = {
        [EV_REQUEST] = "request",
        [EV_RELEASE] = "release",
        [EV_EXPIRE] = "expire",
        [EV_HOLDER_LEFT] = "holder-left",
        [EV_HOLDER_BACK] = "holder-back",
};

/* What happened to a token, for its action. */
typedef struct Event {
        TokenEvent kind;
        uint32_t node;       /* the sender (request, release, expire) */
        const char *domain;  /* request */
        uint64_t generation; /* release, expire */
        uint32_t departed;   /* expire: the holder it frees */
} Event;

static void token_export(const ClusterArbiterToken *t, HdhaToken *ret) {
        *ret = (HdhaToken) {
                .group = t->group,
                .state = t->state,
                .holder_node = t->holder_node,
                .holder_domain = t->holder_domain[0] ? t->holder_domain : NULL,
                .generation = t->generation,
        };
}

static void notify_token(HdhaClusterArbiter *a, const ClusterArbiterToken *t) {
        HdhaToken tok;

        if (!a->cb.token_changed)
                return;
        token_export(t, &tok);
        a->cb.token_changed(a->cb.userdata, &tok);
}

static void notify_request(HdhaClusterArbiter *a, uint32_t node, const char *group, const char *domain, int r,
                           const ClusterArbiterToken *t) {
        HdhaToken tok;

        if (node != a->local_node || !a->cb.request_done)
                return;
        if (t)
                token_export(t, &tok);
        a->cb.request_done(a->cb.userdata, group, domain, r, t ? &tok : NULL);
}

bool hdha_cluster_arbiter_is_member(const HdhaClusterArbiter *a, uint32_t node) {
        for (size_t i = 0; i < a->n_members; i++)
                if (a->members[i] == node)
                        return true;
        return false;
}

/* ---- the token's state x event table --------------------------------------- */

/* One line per transition: old state, event, new state, who and what. */
_printf_(5, 6) static void log_token(int level, const ClusterArbiterToken *t, HdhaTokenState old, TokenEvent ev,
                                     const char *fmt, ...) {
        char what[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        log_full_errno(level, 0, "Group '%s': token %s --%s--> %s: %s (generation %" PRIu64 ").", t->group,
                       hdha_token_state_to_string(old), token_event_table[ev], hdha_token_state_to_string(t->state),
                       what, t->generation);
}

static void set_free(ClusterArbiterToken *t) {
        t->state = HDHA_TOKEN_FREE;
        t->holder_node = 0;
        t->holder_domain[0] = 0;
        t->generation++;
}

typedef int (*TokenAction)(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev);

static int act_grant(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        HdhaTokenState old = t->state;

        t->state = HDHA_TOKEN_HELD;
        t->holder_node = ev->node;
        cluster_arbiter_copy_name(t->holder_domain, sizeof(t->holder_domain), ev->domain);
        t->generation++;
        log_token(LOG_INFO, t, old, ev->kind, "granted to node %" PRIu32 " for '%s'", ev->node, ev->domain);
        notify_token(a, t);
        return 0;
}

static int act_deny(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        log_token(LOG_NOTICE, t, t->state, ev->kind,
                  "denied to node %" PRIu32 " for '%s', %s by node %" PRIu32 " for '%s'", ev->node, ev->domain,
                  hdha_token_state_to_string(t->state), t->holder_node, t->holder_domain);
        return -EUSERS;
}

/* First come, first served: the holder itself may ask again (for any of
 * its domains), anybody else waits for a release. */
static int act_grant_or_deny(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        return t->holder_node == ev->node ? act_grant(a, t, ev) : act_deny(a, t, ev);
}

static int act_release(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        if (t->holder_node != ev->node || t->generation != ev->generation) {
                log_token(LOG_WARNING, t, t->state, ev->kind,
                          "stale release from node %" PRIu32 " of generation %" PRIu64
                          " refused, held by node %" PRIu32,
                          ev->node, ev->generation, t->holder_node);
                return -ESTALE;
        }
        set_free(t);
        log_token(LOG_INFO, t, HDHA_TOKEN_HELD, ev->kind, "released by node %" PRIu32, ev->node);
        notify_token(a, t);
        return 0;
}

static int act_expire(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        if (t->holder_node != ev->departed || t->generation != ev->generation) {
                log_token(LOG_WARNING, t, t->state, ev->kind,
                          "stale expiry from node %" PRIu32 " of node %" PRIu32 ", generation %" PRIu64
                          " refused, orphaned by node %" PRIu32,
                          ev->node, ev->departed, ev->generation, t->holder_node);
                return -ESTALE;
        }
        set_free(t);
        log_token(LOG_INFO, t, HDHA_TOKEN_ORPHANED, ev->kind,
                  "node %" PRIu32 " expired departed node %" PRIu32 "'s hold", ev->node, ev->departed);
        notify_token(a, t);
        return 0;
}

/* A release or an expiry the token's state does not allow. */
static int act_refuse(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        log_token(LOG_WARNING, t, t->state, ev->kind,
                  "stale %s from node %" PRIu32 " of generation %" PRIu64 " refused", token_event_table[ev->kind],
                  ev->node, ev->generation);
        return -ESTALE;
}

static int act_orphan(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        t->state = HDHA_TOKEN_ORPHANED;
        log_token(LOG_WARNING, t, HDHA_TOKEN_HELD, ev->kind,
                  "node %" PRIu32 " left holding '%s', only an expiry frees it", t->holder_node, t->holder_domain);
        notify_token(a, t);
        return 0;
}

static int act_readopt(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        t->state = HDHA_TOKEN_HELD;
        log_token(LOG_NOTICE, t, HDHA_TOKEN_ORPHANED, ev->kind, "node %" PRIu32 " is back, holding '%s'",
                  t->holder_node, t->holder_domain);
        notify_token(a, t);
        return 0;
}

static const TokenAction token_actions[_HDHA_TOKEN_STATE_MAX][_EV_MAX] = {
        [HDHA_TOKEN_FREE] = {
                [EV_REQUEST] = act_grant,
                [EV_RELEASE] = act_refuse,
                [EV_EXPIRE] = act_refuse,
        },
        [HDHA_TOKEN_HELD] = {
                [EV_REQUEST] = act_grant_or_deny,
                [EV_RELEASE] = act_release,
                [EV_EXPIRE] = act_refuse,
                [EV_HOLDER_LEFT] = act_orphan,
        },
        [HDHA_TOKEN_ORPHANED] = {
                [EV_REQUEST] = act_deny,
                [EV_RELEASE] = act_refuse,
                [EV_EXPIRE] = act_expire,
                [EV_HOLDER_BACK] = act_readopt,
        },
};

static int token_event(HdhaClusterArbiter *a, ClusterArbiterToken *t, const Event *ev) {
        TokenAction act = token_actions[t->state][ev->kind];

        if (!act) {
                log_info("Group '%s': unexpected %s in token state %s, ignoring.", t->group,
                         token_event_table[ev->kind], hdha_token_state_to_string(t->state));
                return -ESTALE;
        }
        return act(a, t, ev);
}

/* ---- the table ------------------------------------------------------------- */

/* The index of group, or where it belongs (and then *found is false). */
static size_t token_find(const HdhaClusterArbiter *a, const char *group, bool *found) {
        size_t lo = 0, hi = a->n_tokens;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(a->tokens[mid].group, group);

                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

/* Room for n more tokens; the only step that can fail. */
static int tokens_reserve(HdhaClusterArbiter *a, size_t n) {
        ClusterArbiterToken *t;
        size_t want;

        if (n > HDHA_CLUSTER_GROUPS_MAX - a->n_tokens)
                return -E2BIG;
        want = a->n_tokens + n;
        if (want <= a->n_tokens_allocated)
                return 0;
        want = MIN(MAX(want, 2 * a->n_tokens_allocated), (size_t) HDHA_CLUSTER_GROUPS_MAX);
        t = reallocarray(a->tokens, want, sizeof(ClusterArbiterToken));
        if (!t)
                return -ENOMEM;
        a->tokens = t;
        a->n_tokens_allocated = want;
        return 0;
}

/* A free token at generation 0, at index i (from token_find()); room was
 * reserved. */
static ClusterArbiterToken *token_insert(HdhaClusterArbiter *a, size_t i, const char *group) {
        ClusterArbiterToken *t = &a->tokens[i];

        memmove(t + 1, t, (a->n_tokens - i) * sizeof(ClusterArbiterToken));
        a->n_tokens++;
        *t = (ClusterArbiterToken) { .state = HDHA_TOKEN_FREE };
        cluster_arbiter_copy_name(t->group, sizeof(t->group), group);
        return t;
}

/* ---- messages --------------------------------------------------------------- */

static int on_request(HdhaClusterArbiter *a, uint32_t node, const HdhaClusterMsg *m) {
        Event ev = { .kind = EV_REQUEST, .node = node, .domain = m->domain };
        bool found;
        size_t i;
        ClusterArbiterToken *t;
        int r;

        i = token_find(a, m->group, &found);
        if (!found) {
                r = tokens_reserve(a, 1);
                if (r < 0) {
                        log_error_errno(r, "Group '%s': request of node %" PRIu32 " for '%s' dropped, "
                                        "the token table is full: %m", m->group, node, m->domain);
                        notify_request(a, node, m->group, m->domain, r, NULL);
                        return r;
                }
                log_info("Group '%s': first request, tracking its token.", m->group);
                t = token_insert(a, i, m->group);
        } else
                t = &a->tokens[i];

        r = token_event(a, t, &ev);
        notify_request(a, node, m->group, m->domain, r, t);
        return r;
}

/* RELEASE and EXPIRE. */
static int on_give_back(HdhaClusterArbiter *a, uint32_t node, const HdhaClusterMsg *m) {
        Event ev = {
                .kind = m->type == HDHA_CLUSTER_MSG_RELEASE ? EV_RELEASE : EV_EXPIRE,
                .node = node,
                .generation = m->generation,
                .departed = m->node,
        };
        bool found;
        size_t i;

        i = token_find(a, m->group, &found);
        if (!found) {
                log_warning("Group '%s': stale %s from node %" PRIu32 " refused, no host asked for the token.",
                            m->group, token_event_table[ev.kind], node);
                return -ESTALE;
        }
        return token_event(a, &a->tokens[i], &ev);
}

/* The total order of token values that a merge keeps the largest of, so
 * that every host ends with the same whatever the order: the generation,
 * then held before free, then the lower node, then the domain. */
static int token_value_cmp(uint64_t gen_a, uint32_t node_a, const char *dom_a, uint64_t gen_b, uint32_t node_b,
                           const char *dom_b) {
        if (gen_a != gen_b)
                return gen_a < gen_b ? -1 : 1;
        if ((node_a == 0) != (node_b == 0))
                return node_a == 0 ? -1 : 1;
        if (node_a != node_b)
                return node_a < node_b ? 1 : -1;
        return -strcmp(dom_a, dom_b);
}

static void merge_token(HdhaClusterArbiter *a, uint32_t node, const HdhaClusterMsgToken *mt) {
        HdhaTokenState old;
        bool found;
        size_t i;
        ClusterArbiterToken *t;

        i = token_find(a, mt->group, &found);
        t = found ? &a->tokens[i] : token_insert(a, i, mt->group);
        if (found && token_value_cmp(mt->generation, mt->holder_node, mt->holder_domain ?: "", t->generation,
                                     t->holder_node, t->holder_domain) <= 0)
                return;

        old = t->state;
        t->holder_node = mt->holder_node;
        cluster_arbiter_copy_name(t->holder_domain, sizeof(t->holder_domain), mt->holder_domain);
        t->generation = mt->generation;
        t->state = t->holder_node == 0 ? HDHA_TOKEN_FREE :
                hdha_cluster_arbiter_is_member(a, t->holder_node) ? HDHA_TOKEN_HELD : HDHA_TOKEN_ORPHANED;
        if (t->holder_node == 0)
                log_info("Group '%s': token %s --state--> free: merged from node %" PRIu32 "'s state "
                         "(generation %" PRIu64 ").", t->group, found ? hdha_token_state_to_string(old) : "unknown",
                         node, t->generation);
        else
                log_info("Group '%s': token %s --state--> %s: merged from node %" PRIu32 "'s state, held by node "
                         "%" PRIu32 " for '%s' (generation %" PRIu64 ").", t->group,
                         found ? hdha_token_state_to_string(old) : "unknown", hdha_token_state_to_string(t->state),
                         node, t->holder_node, t->holder_domain, t->generation);
        notify_token(a, t);
}

static int on_state(HdhaClusterArbiter *a, uint32_t node, const HdhaClusterMsg *m) {
        size_t n_new = 0;
        bool found;
        int r, view_changed;

        /* Everything that can fail first: nothing changes unless all of it
         * applies. */
        for (size_t i = 0; i < m->n_tokens; i++) {
                (void) token_find(a, m->tokens[i].group, &found);
                n_new += !found;
        }
        r = tokens_reserve(a, n_new);
        if (r < 0)
                return log_error_errno(r, "State of node %" PRIu32 " dropped, it would make the token table "
                                       "exceed %u groups: %m", node, HDHA_CLUSTER_GROUPS_MAX);

        view_changed = cluster_arbiter_view_set(a, node, m->groups, m->n_groups);
        if (view_changed < 0)
                return log_oom();

        for (size_t i = 0; i < m->n_tokens; i++)
                merge_token(a, node, &m->tokens[i]);
        if (view_changed > 0) {
                log_info("Node %" PRIu32 " published the state of its %zu groups.", node, m->n_groups);
                if (a->cb.view_changed)
                        a->cb.view_changed(a->cb.userdata, node);
        }
        return 0;
}

int hdha_cluster_arbiter_deliver(HdhaClusterArbiter *a, uint32_t node, const void *buf, size_t len) {
        _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *m = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        r = hdha_cluster_msg_decode(buf, len, &m, &err);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_warning_errno(r, "Bad message from node %" PRIu32 ", ignoring: %s", node,
                                         strna(err));

        if (m->ring_seq < a->ring_seq || !hdha_cluster_arbiter_is_member(a, node)) {
                log_warning("Dropping a %s%s%s%s of node %" PRIu32 " sent in ring %" PRIu64 ": %s.",
                            hdha_cluster_msg_type_to_string(m->type), m->group ? " for group '" : "",
                            strempty(m->group), m->group ? "'" : "", node, m->ring_seq,
                            m->ring_seq < a->ring_seq ? "the current ring is newer" : "the sender is not a member");
                if (m->type == HDHA_CLUSTER_MSG_REQUEST)
                        notify_request(a, node, m->group, m->domain, -ESTALE, NULL);
                return -ESTALE;
        }

        switch (m->type) {
        case HDHA_CLUSTER_MSG_REQUEST:
                return on_request(a, node, m);
        case HDHA_CLUSTER_MSG_RELEASE:
        case HDHA_CLUSTER_MSG_EXPIRE:
                return on_give_back(a, node, m);
        case HDHA_CLUSTER_MSG_STATE:
                return on_state(a, node, m);
        default:
                return -EBADMSG; /* decoding refused it already */
        }
}

/* ---- membership --------------------------------------------------------------- */

static int node_cmp(const void *x, const void *y) {
        uint32_t a = *(const uint32_t *) x, b = *(const uint32_t *) y;

        return a < b ? -1 : a > b;
}

int hdha_cluster_arbiter_membership(HdhaClusterArbiter *a, uint64_t ring_seq, const uint32_t *members,
                                    size_t n_members) {
        uint32_t sorted[HDHA_CLUSTER_NODES_MAX];

        if (ring_seq < a->ring_seq)
                return -ESTALE;
        if (n_members > HDHA_CLUSTER_NODES_MAX)
                return -E2BIG;
        if (n_members > 0)
                memcpy(sorted, members, n_members * sizeof(uint32_t));
        qsort(sorted, n_members, sizeof(uint32_t), node_cmp);
        for (size_t i = 0; i < n_members; i++)
                if (sorted[i] == 0 || (i > 0 && sorted[i] == sorted[i - 1]))
                        return -EINVAL;

        a->ring_seq = ring_seq;
        memcpy(a->members, sorted, n_members * sizeof(uint32_t));
        a->n_members = n_members;
        log_info("Membership of ring %" PRIu64 ": %zu nodes.", ring_seq, n_members);

        for (size_t i = 0; i < a->n_tokens; i++) {
                ClusterArbiterToken *t = &a->tokens[i];
                bool member = hdha_cluster_arbiter_is_member(a, t->holder_node);

                if (t->state == HDHA_TOKEN_HELD && !member)
                        (void) token_event(a, t, &(Event) { .kind = EV_HOLDER_LEFT, .node = t->holder_node });
                else if (t->state == HDHA_TOKEN_ORPHANED && member)
                        (void) token_event(a, t, &(Event) { .kind = EV_HOLDER_BACK, .node = t->holder_node });
        }

        cluster_arbiter_view_drop_departed(a);
        return 0;
}

/* ---- life and look-ups ---------------------------------------------------------- */

int hdha_cluster_arbiter_new(uint32_t local_node, const HdhaClusterArbiterCallbacks *cb,
                             HdhaClusterArbiter **ret) {
        HdhaClusterArbiter *a;

        if (local_node == 0 || !ret)
                return -EINVAL;
        a = calloc(1, sizeof(HdhaClusterArbiter));
        if (!a)
                return -ENOMEM;
        a->local_node = local_node;
        if (cb)
                a->cb = *cb;
        *ret = a;
        return 0;
}

HdhaClusterArbiter *hdha_cluster_arbiter_free(HdhaClusterArbiter *a) {
        if (!a)
                return NULL;
        free(a->tokens);
        free(a->host_groups);
        free(a);
        return NULL;
}

int hdha_cluster_arbiter_state_message(const HdhaClusterArbiter *a, const HdhaClusterMsgGroup *groups,
                                       size_t n_groups, void **ret_buf, size_t *ret_size) {
        _cleanup_free_ HdhaClusterMsgToken *tokens = NULL;
        HdhaClusterMsg m = {
                .type = HDHA_CLUSTER_MSG_STATE,
                .ring_seq = a->ring_seq,
                .n_tokens = a->n_tokens,
                .groups = groups,
                .n_groups = n_groups,
        };

        tokens = calloc(MAX(a->n_tokens, (size_t) 1), sizeof(HdhaClusterMsgToken));
        if (!tokens)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_tokens; i++)
                tokens[i] = (HdhaClusterMsgToken) {
                        .group = a->tokens[i].group,
                        .holder_node = a->tokens[i].holder_node,
                        .holder_domain = a->tokens[i].holder_domain[0] ? a->tokens[i].holder_domain : NULL,
                        .generation = a->tokens[i].generation,
                };
        m.tokens = tokens;
        return hdha_cluster_msg_encode_alloc(&m, ret_buf, ret_size);
}

uint64_t hdha_cluster_arbiter_ring_seq(const HdhaClusterArbiter *a) {
        return a->ring_seq;
}

int hdha_cluster_arbiter_token(const HdhaClusterArbiter *a, const char *group, HdhaToken *ret) {
        bool found;
        size_t i;

        if (!group)
                return -EINVAL;
        i = token_find(a, group, &found);
        if (!found)
                return -ENOENT;
        token_export(&a->tokens[i], ret);
        return 0;
}

size_t hdha_cluster_arbiter_n_tokens(const HdhaClusterArbiter *a) {
        return a->n_tokens;
}

int hdha_cluster_arbiter_token_at(const HdhaClusterArbiter *a, size_t i, HdhaToken *ret) {
        if (i >= a->n_tokens)
                return -ERANGE;
        token_export(&a->tokens[i], ret);
        return 0;
}

