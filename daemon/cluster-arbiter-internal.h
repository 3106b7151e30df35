/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of the cluster arbiter share: cluster-arbiter.c (the token
 * table, the messages, the membership) and cluster-arbiter-view.c (every
 * host's published groups). */

#include "cluster-arbiter.h"
#include "table.h"

/* Names are stored in place: the table never allocates while it changes. */
typedef struct ClusterArbiterToken {
        char group[HDHA_GROUP_NAME_MAX + 1];
        HdhaTokenState state;
        uint32_t holder_node;                        /* 0: free */
        char holder_domain[HDHA_DOMAIN_NAME_MAX + 1]; /* "": free */
        uint64_t generation;
} ClusterArbiterToken;

typedef struct ClusterArbiterHostGroup {
        uint32_t node;
        char group[HDHA_GROUP_NAME_MAX + 1];
        char active[HDHA_DOMAIN_NAME_MAX + 1]; /* "": none */
        uint64_t generation;
        HdhaOperation operation;
        HdhaStep step;
        bool frozen;
} ClusterArbiterHostGroup;

struct HdhaClusterArbiter {
        uint32_t local_node;
        HdhaClusterArbiterCallbacks cb;
        uint64_t ring_seq;
        uint32_t members[HDHA_CLUSTER_NODES_MAX]; /* sorted */
        size_t n_members;
        ClusterArbiterToken *tokens; /* sorted by group */
        size_t n_tokens, n_tokens_allocated;
        ClusterArbiterHostGroup *host_groups; /* sorted by node, then group */
        size_t n_host_groups;
};

/* Copies a name checked by decoding (never longer than the field); NULL is
 * the empty string. */
void cluster_arbiter_copy_name(char *dst, size_t size, const char *src);

/* Replaces node's part of the view with groups (valid, as decoded).
 * Returns 1 if it changed, 0 if it was so already, -ENOMEM (and then
 * nothing changed). */
int cluster_arbiter_view_set(HdhaClusterArbiter *a, uint32_t node, const HdhaClusterMsgGroup *groups,
                             size_t n_groups);
/* Drops the views of the hosts not in the membership, telling view_changed
 * for each. */
void cluster_arbiter_view_drop_departed(HdhaClusterArbiter *a);
