/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by cluster-host.c (the token asked for and given back, the
 * states exchanged, the link's and the arbiter's callbacks) and
 * cluster-host-expiry.c (the loss of quorum, and the tokens of departed
 * holders). */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "cluster-arbiter.h"
#include "cluster-host.h"
#include "cluster-msg.h"
#include "cluster.h"
#include "fence-history.h"

/* A REQUEST of this host: fn answers the manager (NULL for a claim made at
 * start-up for a device already on a member here). */
typedef struct Pending {
        HdhaClusterHost *host;
        char *group, *domain;
        HdhaOpDoneFn fn;
        void *fn_userdata;
        bool sent;
        sd_event_source *timeout;
        struct Pending *next;
} Pending;

/* An answer to the manager, given from the loop, never from inside
 * hdha_cluster_host_acquire(). */
typedef struct Answer {
        HdhaOpDoneFn fn;
        void *fn_userdata;
        int r;
        char *message;
} Answer;

/* An orphaned token this host will free, once its time has come or its
 * holder is confirmed fenced. */
typedef struct Expiry {
        HdhaClusterHost *host;
        char *group;
        uint32_t node;
        uint64_t generation;
        sd_event_source *timer;
        bool fenced; /* freed on the fencer's word already */
        struct Expiry *next;
} Expiry;

struct HdhaClusterHost {
        sd_event *event;
        /* Copies, not a pointer into the manager's configuration, which a
         * reload frees. Enabled= is read at start only. */
        HdhaClusterMode mode;
        uint64_t quorum_loss_release_sec;
        uint64_t release_timeout_max_sec; /* the longest ReleaseTimeoutSec= of the groups */
        HdhaManager *manager;
        HdhaCluster *link;
        HdhaClusterArbiter *arbiter;
        bool ever_connected, connected, quorate;
        uint32_t local_node;
        uint64_t ring_seq;
        /* Members of this ring whose STATE was not delivered yet: until
         * then this host's table may lack what the others know. */
        uint32_t unsynced[HDHA_CLUSTER_NODES_MAX];
        size_t n_unsynced;
        bool synced;
        Pending *pending;
        Expiry *expiries;
        HdhaFenceWatch *fence; /* asks Pacemaker's fencer about the expiries' holders */
        sd_event_source *publish;
        sd_event_source *quorum_timer;
        void (*on_change)(void *userdata);
        void *on_change_userdata;
};

/* cluster-host.c */
const char *cluster_host_node_name(HdhaClusterHost *h, uint32_t node, char *buf, size_t size);
int cluster_host_send_msg(HdhaClusterHost *h, const HdhaClusterMsg *msg);

/* cluster-host-expiry.c */
/* This host lost quorum: its active members are released in time. */
void cluster_host_quorum_lost(HdhaClusterHost *h);
/* This host is the lowest node of the membership. */
bool cluster_host_lowest_member(HdhaClusterHost *h);
void cluster_host_expiries_clear(HdhaClusterHost *h);
void cluster_host_expiries_update(HdhaClusterHost *h);
void cluster_host_expiry_add(HdhaClusterHost *h, const HdhaToken *t);
void cluster_host_expiry_drop(HdhaClusterHost *h, const char *group);
/* HdhaFenceWatch's callback: node confirmed fenced at when. */
void cluster_host_on_fence_confirmed(void *userdata, uint32_t node, time_t when);
