/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "cluster-view.h"
#include "conf.h"
#include "manager.h"

/* This host in the cluster (docs/cluster.md): the glue between the link to
 * Corosync (cluster.h), the replicated token table (cluster-arbiter.h) and
 * the state machine (manager.h, through HdhaManagerEnv's cluster_*).
 *
 * - The token: asked for with a REQUEST once this host has every member's
 *   state of the current ring, answered in CPG's agreed order; given back
 *   with a RELEASE. Refused at once, without a message, when another host
 *   holds it (HeldElsewhere) or this host is not in a quorate cluster
 *   (NoQuorum).
 * - The view: this host's groups are published (a STATE) after every
 *   membership change and whenever one of them changes.
 * - Quorum lost: after QuorumLossReleaseSec minus the groups' release
 *   timeout, every active member of this host is released (detached, or
 *   destroyed if it does not let go in time), so that none is left when
 *   QuorumLossReleaseSec has passed.
 * - A holder that left: its token is orphaned; the lowest node of a quorate
 *   membership frees it (EXPIRE) QuorumLossReleaseSec plus
 *   HDHA_CLUSTER_EXPIRY_MARGIN_SEC after it saw the holder go, or as soon
 *   as Pacemaker's fencer confirms the holder's host fenced after it last
 *   entered the totem ring (fence-history.h: asked every second meanwhile).
 *
 * Enabled=no: no HdhaClusterHost at all. Enabled=yes: nothing is attached
 * before this host joined a quorate cluster. Enabled=auto: the same once
 * Corosync was reached; until then (no Corosync on this host) the host runs
 * alone and attaches freely. */

#define HDHA_CLUSTER_EXPIRY_MARGIN_SEC 5U
/* A REQUEST not answered in this time fails with NoQuorum. */
#define HDHA_CLUSTER_REQUEST_TIMEOUT_USEC (10U * 1000U * 1000U)
/* [Cluster] Enabled=auto: while Corosync never answered, it is looked for
 * again at most this often (5 s once it answered, or with Enabled=yes). */
#define HDHA_CLUSTER_ABSENT_RETRY_USEC (60U * 1000U * 1000U)

typedef struct HdhaClusterHost HdhaClusterHost;

int hdha_cluster_host_new(sd_event *event, const HdhaConfig *config, HdhaClusterHost **ret);
HdhaClusterHost *hdha_cluster_host_free(HdhaClusterHost *h);

/* The manager is made after the host (its environment points here). */
void hdha_cluster_host_set_manager(HdhaClusterHost *h, HdhaManager *m);
/* Takes the settings it needs from config (copied: the pointer is not
 * kept); [Cluster] Enabled= only from hdha_cluster_host_new(). */
void hdha_cluster_host_set_config(HdhaClusterHost *h, const HdhaConfig *config);
/* Called when the connection, quorum or membership changed (for the
 * daemon's STATUS= line). */
void hdha_cluster_host_on_change(HdhaClusterHost *h, void (*fn)(void *userdata), void *userdata);

/* HdhaManagerEnv's cluster_holds, cluster_acquire and cluster_release;
 * userdata is the HdhaClusterHost. */
bool hdha_cluster_host_holds(void *userdata, const char *group);
void hdha_cluster_host_acquire(void *userdata, const char *group, const char *domain, HdhaOpDoneFn fn,
                               void *fn_userdata);
void hdha_cluster_host_release(void *userdata, const char *group);

/* A group of this host changed: publish it (coalesced, on the loop). */
void hdha_cluster_host_group_changed(HdhaClusterHost *h, const char *group);

/* Manager1.GetClusterStatus(). */
int hdha_cluster_host_view(HdhaClusterHost *h, HdhaClusterView *ret);

/* For the daemon's STATUS= line: "cluster: quorate, 2 nodes" and such. */
const char *hdha_cluster_host_summary(HdhaClusterHost *h, char *buf, size_t size);
