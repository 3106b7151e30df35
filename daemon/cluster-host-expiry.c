/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* This host in the cluster, when hosts go: the release of its active
 * members after it lost quorum, and the freeing of a departed holder's
 * token (docs/cluster.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster-host-internal.h"
#include "log.h"
#include "macro.h"

/* --- Quorum lost: release what this host holds --------------------------------- */

static void on_quorum_release_done(void *userdata, int r, const char *message) {
        const char *group = userdata;

        if (r < 0)
                log_error_errno(r, "Group '%s': the release after the loss of quorum failed: %s", group,
                                message ?: "see above");
}

static int on_quorum_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void quorum_timer_start(HdhaClusterHost *h, uint64_t usec) {
        h->quorum_timer = sd_event_source_disable_unref(h->quorum_timer);
        if (sd_event_add_time_relative(h->event, &h->quorum_timer, CLOCK_MONOTONIC, usec, 0, on_quorum_timer, h) < 0)
                log_error("Failed to start the quorum-loss timer: active members will not be released.");
}

static int on_quorum_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HdhaClusterHost *h = userdata;
        bool busy = false;
        HdhaGroupStatus st;

        h->quorum_timer = sd_event_source_disable_unref(h->quorum_timer);
        if (h->quorate || !h->manager)
                return 0;
        for (size_t i = 0; hdha_manager_group_status(h->manager, i, &st) >= 0; i++) {
                int r;

                if (!st.table || !st.table->active)
                        continue;
                log_warning("Group '%s': this host lost quorum, releasing '%s' (QuorumLossReleaseSec=%" PRIu64 ").",
                            st.name, st.table->active, h->quorum_loss_release_sec);
                /* st.name lives as long as the group, which outlives its
                 * operation. */
                r = hdha_manager_release(h->manager, st.name, on_quorum_release_done, (void *) st.name);
                if (r == -EBUSY)
                        busy = true;
                else if (r < 0 && r != -EALREADY)
                        log_error_errno(r, "Group '%s': failed to release '%s' after the loss of quorum: %m",
                                        st.name, st.table->active);
        }
        if (busy) /* an operation in flight: look again shortly */
                quorum_timer_start(h, 200 * 1000U);
        return 0;
}

/* Starts the release early enough for the slowest group to be done, its
 * guest destroyed if it does not let go, by QuorumLossReleaseSec. */
void cluster_host_quorum_lost(HdhaClusterHost *h) {
        uint64_t release_sec = h->release_timeout_max_sec, q = h->quorum_loss_release_sec, delay;
        delay = q > release_sec + 1 ? q - release_sec - 1 : 0;
        log_warning("This host lost quorum: its active members will be released in %" PRIu64 " s unless quorum comes back.",
                    delay);
        quorum_timer_start(h, delay * 1000000U);
}

/* --- Orphaned tokens ------------------------------------------------------------- */

static Expiry *expiry_free(Expiry *e) {
        if (!e)
                return NULL;
        sd_event_source_disable_unref(e->timer);
        free(e->group);
        free(e);
        return NULL;
}

/* The fencer is asked about the holders of the tokens waiting here, until
 * one is confirmed fenced. */
static void fence_watch_sync(HdhaClusterHost *h) {
        uint32_t nodes[HDHA_CLUSTER_NODES_MAX];
        size_t n = 0;

        if (!h->fence)
                return;
        for (Expiry *e = h->expiries; e && n < ELEMENTSOF(nodes); e = e->next)
                if (!e->fenced)
                        nodes[n++] = e->node;
        hdha_fence_watch_set_nodes(h->fence, nodes, n);
}

void cluster_host_expiries_clear(HdhaClusterHost *h) {
        while (h->expiries) {
                Expiry *e = h->expiries;

                h->expiries = e->next;
                expiry_free(e);
        }
        fence_watch_sync(h);
}

/* This host is still the one to free e's token, and it is still orphaned
 * with the same holder and generation. */
static bool expiry_due(HdhaClusterHost *h, const Expiry *e) {
        HdhaToken t;

        return h->quorate && h->arbiter && cluster_host_lowest_member(h) &&
               hdha_cluster_arbiter_token(h->arbiter, e->group, &t) >= 0 && t.state == HDHA_TOKEN_ORPHANED &&
               t.generation == e->generation && t.holder_node == e->node;
}

static int expiry_send(HdhaClusterHost *h, const Expiry *e) {
        HdhaClusterMsg msg = { .type = HDHA_CLUSTER_MSG_EXPIRE, .ring_seq = h->ring_seq, .group = e->group,
                               .generation = e->generation, .node = e->node };

        return cluster_host_send_msg(h, &msg);
}

static int on_expiry(sd_event_source *s, uint64_t usec, void *userdata) {
        Expiry *e = userdata;
        HdhaClusterHost *h = e->host;
        int r;

        e->timer = sd_event_source_disable_unref(e->timer);
        if (!expiry_due(h, e))
                return 0;
        log_warning("Group '%s': node %" PRIu32 " left with its token %" PRIu64 " s ago; freeing it.", e->group, e->node,
                    h->quorum_loss_release_sec + HDHA_CLUSTER_EXPIRY_MARGIN_SEC);
        r = expiry_send(h, e);
        if (r < 0)
                log_error_errno(r, "Group '%s': failed to free the token of a departed host: %m", e->group);
        return 0;
}

/* Pacemaker's fencer completed a fencing of node after it last entered the
 * ring: the incarnation that holds the tokens is dead, free them now. */
void cluster_host_on_fence_confirmed(void *userdata, uint32_t node, time_t when) {
        HdhaClusterHost *h = userdata;
        char name[32], at[64];
        struct tm tm;
        int r;

        if (!localtime_r(&when, &tm) || strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(at, sizeof(at), "%lld", (long long) when);
        for (Expiry *e = h->expiries; e; e = e->next) {
                if (e->node != node || e->fenced || !expiry_due(h, e))
                        continue;
                log_warning("node %" PRIu32 " ('%s') confirmed fenced at %s by Pacemaker's fencer: freeing the token "
                            "of group '%s'.",
                            node, cluster_host_node_name(h, node, name, sizeof(name)), at, e->group);
                r = expiry_send(h, e);
                if (r < 0)
                        log_error_errno(r, "Group '%s': failed to free the token of a fenced host, will ask the "
                                        "fencer again: %m", e->group);
                else
                        e->fenced = true;
        }
        fence_watch_sync(h);
}

bool cluster_host_lowest_member(HdhaClusterHost *h) {
        HdhaClusterStatus s;

        hdha_cluster_get_status(h->link, &s);
        return s.n_members > 0 && s.members[0].nodeid == h->local_node;
}

/* A holder whose hostdev-had left the group but whose host is still in the
 * ring (the daemon restarting, or stopped) may still have the device on a
 * guest, and its host has quorum, so it releases nothing: its token is
 * never freed from here. */
static bool host_in_ring(HdhaClusterHost *h, uint32_t node) {
        HdhaClusterStatus s;

        hdha_cluster_get_status(h->link, &s);
        for (size_t i = 0; i < s.n_ring_nodes; i++)
                if (s.ring_nodes[i] == node)
                        return true;
        return false;
}

void cluster_host_expiry_drop(HdhaClusterHost *h, const char *group) {
        for (Expiry **q = &h->expiries; *q; q = &(*q)->next)
                if (streq((*q)->group, group)) {
                        Expiry *e = *q;

                        *q = e->next;
                        expiry_free(e);
                        fence_watch_sync(h);
                        return;
                }
}

/* The lowest node of a quorate membership frees an orphaned token once the
 * departed holder has had QuorumLossReleaseSec (plus a margin) to release
 * its member on its own. */
void cluster_host_expiry_add(HdhaClusterHost *h, const HdhaToken *t) {
        uint64_t sec = h->quorum_loss_release_sec + HDHA_CLUSTER_EXPIRY_MARGIN_SEC;
        Expiry *e;

        if (host_in_ring(h, t->holder_node)) {
                cluster_host_expiry_drop(h, t->group);
                log_warning("Group '%s': hostdev-had of its holder, node %" PRIu32 ", left the cluster's group but "
                            "its host is still in the ring: the token stays with it until it is back or its host "
                            "leaves.",
                            t->group, t->holder_node);
                return;
        }
        for (e = h->expiries; e; e = e->next)
                if (streq(e->group, t->group) && e->generation == t->generation)
                        return; /* its clock runs already */
        cluster_host_expiry_drop(h, t->group);
        e = calloc(1, sizeof(*e));
        if (!e || !(e->group = strdup(t->group))) {
                free(e);
                log_error("Out of memory: the token of group '%s' stays orphaned.", t->group);
                return;
        }
        e->host = h;
        e->node = t->holder_node;
        e->generation = t->generation;
        if (sd_event_add_time_relative(h->event, &e->timer, CLOCK_MONOTONIC, sec * 1000000U, 0, on_expiry, e) < 0) {
                log_error("Failed to start the timer that frees the token of group '%s'.", t->group);
                expiry_free(e);
                return;
        }
        log_info("Group '%s': its holder, node %" PRIu32 ", left the cluster; its token is freed in %" PRIu64 " s, "
                 "or as soon as Pacemaker's fencer confirms the node fenced.",
                 t->group, t->holder_node, sec);
        e->next = h->expiries;
        h->expiries = e;
        fence_watch_sync(h);
}

/* After a membership or quorum change: a clock for every orphaned token
 * this host is the one to free (its holder's host out of the ring), none
 * for the others. A clock that runs keeps running: a process joining or
 * leaving the group does not put an expiry off. */
void cluster_host_expiries_update(HdhaClusterHost *h) {
        HdhaToken t;

        if (!h->quorate || !cluster_host_lowest_member(h)) {
                cluster_host_expiries_clear(h);
                return;
        }
        for (size_t i = 0; hdha_cluster_arbiter_token_at(h->arbiter, i, &t) >= 0; i++)
                if (t.state == HDHA_TOKEN_ORPHANED)
                        cluster_host_expiry_add(h, &t);
                else
                        cluster_host_expiry_drop(h, t.group);
}
