/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster-msg.h"

/* The replicated token table and the cluster's view of every host's groups
 * (docs/cluster.md). Pure: no Corosync, no clock, no I/O. Every host feeds it
 * the same messages in CPG's agreed order and the same membership changes,
 * so every host computes the same holder for every group.
 *
 * One thread: the caller's (the daemon's loop). The callbacks are called
 * after the change they report is complete; they may call the look-ups
 * below, never hdha_cluster_arbiter_membership() or _deliver(). */

/* Members of one membership at most. */
#define HDHA_CLUSTER_NODES_MAX 64U

typedef struct HdhaClusterArbiter HdhaClusterArbiter;

typedef enum HdhaTokenState {
        HDHA_TOKEN_FREE,
        HDHA_TOKEN_HELD,
        HDHA_TOKEN_ORPHANED, /* held by a host that left the membership */
        _HDHA_TOKEN_STATE_MAX,
        _HDHA_TOKEN_STATE_INVALID = -EINVAL,
} HdhaTokenState;

/* "free", "held", "orphaned". */
const char *hdha_token_state_to_string(HdhaTokenState s);
HdhaTokenState hdha_token_state_from_string(const char *s);

/* A group's token. The strings belong to the arbiter and stay valid until
 * the next call of hdha_cluster_arbiter_membership() or _deliver(). */
typedef struct HdhaToken {
        const char *group;
        HdhaTokenState state;
        uint32_t holder_node;      /* 0 when free */
        const char *holder_domain; /* NULL when free */
        uint64_t generation;       /* grows on every grant, release and expire */
} HdhaToken;

/* One host's published state of one of its groups; strings as above. */
typedef struct HdhaHostGroup {
        uint32_t node;
        const char *group;
        const char *active;    /* NULL: on no domain */
        uint64_t generation;   /* the host's table generation of the group */
        const char *operation; /* "none", "switch", ... (lib/table.h's names) */
        const char *step;      /* "none", "waiting-release", ... */
        bool frozen;
} HdhaHostGroup;

typedef struct HdhaClusterArbiterCallbacks {
        /* A REQUEST of this host (local_node) was delivered: granted
         * (r == 0, token->generation is the grant's) or denied (r == -EUSERS,
         * token says by whom); or dropped without a decision, and then token
         * is NULL: r == -ESTALE sent in an older ring (ask again), -E2BIG the
         * table has HDHA_CLUSTER_GROUPS_MAX groups already, -ENOMEM. */
        void (*request_done)(void *userdata, const char *group, const char *domain, int r,
                             const HdhaToken *token);
        /* The token of a group changed hands or state (any host). */
        void (*token_changed)(void *userdata, const HdhaToken *token);
        /* A host's view of its groups changed (published, or dropped when the
         * host left the membership). */
        void (*view_changed)(void *userdata, uint32_t node);
        void *userdata;
} HdhaClusterArbiterCallbacks;

/* local_node is this host's Corosync node id (not 0); cb may be NULL. */
int hdha_cluster_arbiter_new(uint32_t local_node, const HdhaClusterArbiterCallbacks *cb,
                             HdhaClusterArbiter **ret);
HdhaClusterArbiter *hdha_cluster_arbiter_free(HdhaClusterArbiter *a);
static inline void hdha_cluster_arbiter_freep(HdhaClusterArbiter **a) {
        hdha_cluster_arbiter_free(*a);
}

/* A new membership (CPG's configuration change): members in any order,
 * ring_seq the totem ring's sequence (the same ring may see several
 * changes). Holders not in it make their tokens orphaned; an orphaned
 * holder back in it holds again; hosts not in it lose their view.
 * -ESTALE ring_seq older than the current one, -E2BIG more than
 * HDHA_CLUSTER_NODES_MAX members, -EINVAL node 0 or a node twice; then
 * nothing changed and nothing was logged. */
int hdha_cluster_arbiter_membership(HdhaClusterArbiter *a, uint64_t ring_seq, const uint32_t *members,
                                    size_t n_members);

/* One message as CPG delivered it, from node. Everything is logged; the
 * result is for the caller's information:
 *   0        applied (granted, released, expired, merged)
 *   -EUSERS  a REQUEST denied: another host holds the token
 *   -ESTALE  dropped, nothing changed: sent in an older ring, sender not in
 *            the membership, or a RELEASE/EXPIRE that does not match the
 *            token (not the holder, other generation, not orphaned)
 *   -EBADMSG bytes that are not a valid message: nothing changed
 *   -E2BIG   the message would make the table exceed HDHA_CLUSTER_GROUPS_MAX
 *            groups: nothing changed
 *   -ENOMEM  nothing changed, but this host no longer follows the others */
int hdha_cluster_arbiter_deliver(HdhaClusterArbiter *a, uint32_t node, const void *buf, size_t len);

/* This host's STATE message: every token of the table and its own groups
 * (its allocation table's entries), stamped with the current ring. For the
 * Corosync side to send after every membership change and whenever one of
 * its groups changes. -EBADMSG if groups are invalid (see cluster-msg.h). */
int hdha_cluster_arbiter_state_message(const HdhaClusterArbiter *a, const HdhaClusterMsgGroup *groups,
                                       size_t n_groups, void **ret_buf, size_t *ret_size);

/* Look-ups for the bus, the manager and the Corosync side. */
uint64_t hdha_cluster_arbiter_ring_seq(const HdhaClusterArbiter *a);
bool hdha_cluster_arbiter_is_member(const HdhaClusterArbiter *a, uint32_t node);
/* -ENOENT: no host ever asked for the group's token (it is free). */
int hdha_cluster_arbiter_token(const HdhaClusterArbiter *a, const char *group, HdhaToken *ret);
/* Every token, sorted by group name; -ERANGE if i is out of range. */
size_t hdha_cluster_arbiter_n_tokens(const HdhaClusterArbiter *a);
int hdha_cluster_arbiter_token_at(const HdhaClusterArbiter *a, size_t i, HdhaToken *ret);
/* Every member's published groups, sorted by node, then group name;
 * -ERANGE if i is out of range. */
size_t hdha_cluster_arbiter_n_host_groups(const HdhaClusterArbiter *a);
int hdha_cluster_arbiter_host_group(const HdhaClusterArbiter *a, size_t i, HdhaHostGroup *ret);
