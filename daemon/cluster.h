/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* The link to the Corosync cluster, on one sd-event loop: quorum (libquorum),
 * the closed process group "hostdev-ha" that every host's hostdev-had joins
 * (libcpg), and the node names (libcmap). It moves bytes only: what the
 * messages mean is for its user.
 *
 * Threads: the loop's thread only. No call blocks but a short request to
 * the local Corosync; nothing waits or retries in a loop.
 *
 * Connection: hdha_cluster_new() returns at once; the first attempt runs on
 * the loop. While Corosync is not running, and after it stopped, crashed or
 * restarted (a failed dispatch or a hang-up of its connection), the
 * handles are closed and a new connection is tried after 100 ms, doubling
 * up to 5 s. The loss is logged once with its cause, and the connection
 * once it is back. A refusal for want of rights (CS_ERR_ACCESS: Corosync
 * serves root, or the users and groups of its uidgid settings) is logged as
 * such, and retried like the rest.
 *
 * Callbacks, each optional, run on the loop (from inside Corosync's
 * dispatch): they may call hdha_cluster_send() and
 * hdha_cluster_get_status(), never hdha_cluster_free().
 *   connected_changed  true once the group is joined; false when the
 *                      connection is lost, after which quorum_changed(false)
 *                      follows if the host was quorate, the members are
 *                      forgotten and the messages not yet sent are dropped
 *   quorum_changed     the cluster's quorum as this host sees it changed
 *   membership         the hosts in the group (one entry per node, sorted
 *                      by node id), with the totem ring's sequence number;
 *                      after each ring change (ring_seq grows) and each host
 *                      that joins or leaves the group; the first comes
 *                      after connected_changed(true) and has this host
 *   deliver            a message multicast in the group (this host's own
 *                      included): every host gets the same messages in the
 *                      same order (CPG's agreed order), and between two
 *                      membership calls the same ones; buf is valid during
 *                      the call only
 * No callback runs from inside hdha_cluster_new(), hdha_cluster_send() or
 * hdha_cluster_free().
 *
 * Freeing closes the handles (leaving the group) and calls nothing. */

#define HDHA_CLUSTER_GROUP_NAME "hostdev-ha"
/* The largest message hdha_cluster_send() takes. */
#define HDHA_CLUSTER_MESSAGE_MAX (64U * 1024U)
/* Messages Corosync has not taken yet (flow control, a membership change)
 * are kept, in order, up to this many. */
#define HDHA_CLUSTER_QUEUE_MAX 128U
/* How long a queued message may wait for Corosync before the connection is
 * taken for broken and made again. */
#define HDHA_CLUSTER_SEND_TIMEOUT_USEC (10U * 1000000U)

typedef struct HdhaCluster HdhaCluster;

typedef struct HdhaClusterMember {
        uint32_t nodeid;
        /* The nodelist's name:, else its ring0_addr:, else "node N". */
        const char *name;
} HdhaClusterMember;

typedef struct HdhaClusterCallbacks {
        void (*connected_changed)(HdhaCluster *c, bool connected, void *userdata);
        void (*quorum_changed)(HdhaCluster *c, bool quorate, void *userdata);
        void (*membership)(HdhaCluster *c, uint64_t ring_seq, const HdhaClusterMember *members, size_t n_members,
                           void *userdata);
        void (*deliver)(HdhaCluster *c, uint32_t nodeid, const void *buf, size_t len, void *userdata);
} HdhaClusterCallbacks;

/* What hdha_cluster_get_status() reports. The pointers are the cluster's
 * and valid until the loop runs any of its events again. */
typedef struct HdhaClusterStatus {
        bool connected;
        bool quorate;
        uint32_t local_nodeid;    /* 0 before the first connection */
        const char *local_name;   /* NULL before the first connection */
        uint64_t ring_seq;        /* 0 until the first membership */
        const HdhaClusterMember *members;
        size_t n_members;
        /* The totem ring: the hosts whose Corosync is with this one,
         * whether or not their hostdev-had is in the group. */
        const uint32_t *ring_nodes;
        size_t n_ring_nodes;
} HdhaClusterStatus;

/* Sets up the connection on event (the first attempt runs on the loop);
 * callbacks is copied. -ENOMEM, or -EOPNOTSUPP when hostdev-ha was built
 * without Corosync. */
int hdha_cluster_new(sd_event *event, const HdhaClusterCallbacks *callbacks, void *userdata, HdhaCluster **ret);
HdhaCluster *hdha_cluster_free(HdhaCluster *c);
/* Until Corosync first answers, the retries back off up to max_usec
 * instead of 5 s (at least 5 s): a host where it does not run is not woken
 * every 5 s for it. Once it answered, a lost connection is retried as
 * above. */
void hdha_cluster_set_absent_backoff(HdhaCluster *c, uint64_t max_usec);
static inline void hdha_cluster_freep(HdhaCluster **c) {
        *c = hdha_cluster_free(*c);
}

/* Multicasts len bytes of buf to the group (CPG_TYPE_AGREED), after the
 * messages still queued. 0: sent or queued (sent in order, as soon as
 * Corosync takes them). -ENOTCONN: not connected (nothing is kept for a
 * later connection); -EMSGSIZE: len over HDHA_CLUSTER_MESSAGE_MAX;
 * -EINVAL: len is 0; -ENOBUFS: HDHA_CLUSTER_QUEUE_MAX messages are
 * waiting already; -ENOMEM. */
int hdha_cluster_send(HdhaCluster *c, const void *buf, size_t len);

void hdha_cluster_get_status(const HdhaCluster *c, HdhaClusterStatus *ret);

/* The name of a node of the nodelist, a member or not (a host that left
 * keeps its name): as HdhaClusterMember's, NULL when the nodelist read at
 * the last connection has none. Valid as hdha_cluster_get_status()'s. */
const char *hdha_cluster_node_name(const HdhaCluster *c, uint32_t nodeid);
