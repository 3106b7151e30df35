/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* This host in the cluster: see cluster-host.h and docs/cluster.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster-host-internal.h"
#include "log.h"
#include "macro.h"

static void changed(HdhaClusterHost *h) {
        if (h->on_change)
                h->on_change(h->on_change_userdata);
}

/* --- Names ----------------------------------------------------------------- */

/* The nodelist's name, also of a host that left (the holder of an orphaned
 * token, named in HeldElsewhere and in the view). */
const char *cluster_host_node_name(HdhaClusterHost *h, uint32_t node, char *buf, size_t size) {
        const char *name = hdha_cluster_node_name(h->link, node);

        if (name)
                return name;
        snprintf(buf, size, "node %" PRIu32, node);
        return buf;
}

static bool standalone(const HdhaClusterHost *h) {
        /* Enabled=auto on a host where Corosync was never reached. */
        return h->mode == HDHA_CLUSTER_MODE_AUTO && !h->ever_connected;
}

static bool token_is_ours(const HdhaClusterHost *h, const HdhaToken *t) {
        return t->state == HDHA_TOKEN_HELD && t->holder_node == h->local_node;
}

/* --- Sending ---------------------------------------------------------------- */

int cluster_host_send_msg(HdhaClusterHost *h, const HdhaClusterMsg *msg) {
        _cleanup_free_ void *buf = NULL;
        size_t size;
        int r;

        r = hdha_cluster_msg_encode_alloc(msg, &buf, &size);
        if (r < 0)
                return r;
        return hdha_cluster_send(h->link, buf, size);
}

static void send_request(HdhaClusterHost *h, Pending *p) {
        HdhaClusterMsg msg = {
                .type = HDHA_CLUSTER_MSG_REQUEST,
                .ring_seq = h->ring_seq,
                .group = p->group,
                .domain = p->domain,
        };
        int r;

        r = cluster_host_send_msg(h, &msg);
        if (r < 0) {
                log_warning_errno(r, "Failed to ask the cluster for the token of group '%s', will ask again: %m",
                                  p->group);
                return;
        }
        p->sent = true;
}

static int publish_now(HdhaClusterHost *h) {
        _cleanup_free_ HdhaClusterMsgGroup *groups = NULL;
        _cleanup_free_ void *buf = NULL;
        size_t n = 0, size;
        HdhaGroupStatus s;
        int r;

        if (!h->connected || !h->arbiter)
                return 0;
        if (h->manager) {
                groups = calloc(MAX(hdha_manager_n_groups(h->manager), 1U), sizeof(*groups));
                if (!groups)
                        return -ENOMEM;
                for (size_t i = 0; hdha_manager_group_status(h->manager, i, &s) >= 0; i++)
                        if (s.table)
                                groups[n++] = (HdhaClusterMsgGroup) {
                                        .group = s.name,
                                        .active = s.table->active,
                                        .generation = s.table->generation,
                                        .operation = s.table->operation,
                                        .step = s.table->step,
                                        .frozen = s.frozen,
                                };
        }
        r = hdha_cluster_arbiter_state_message(h->arbiter, groups, n, &buf, &size);
        if (r < 0)
                return r;
        return hdha_cluster_send(h->link, buf, size);
}

static int on_publish(sd_event_source *s, void *userdata) {
        HdhaClusterHost *h = userdata;
        int r;

        h->publish = sd_event_source_disable_unref(h->publish);
        r = publish_now(h);
        if (r < 0)
                log_warning_errno(r, "Failed to publish this host's groups to the cluster, ignoring: %m");
        return 0;
}

void hdha_cluster_host_group_changed(HdhaClusterHost *h, const char *group) {
        if (!h || !h->connected || h->publish)
                return;
        if (sd_event_add_defer(h->event, &h->publish, on_publish, h) < 0)
                log_warning("Failed to schedule publishing group '%s' to the cluster, ignoring.", group);
}

/* --- Answers to the manager -------------------------------------------------- */

static int on_answer(sd_event_source *s, void *userdata) {
        Answer *a = userdata;

        a->fn(a->fn_userdata, a->r, a->message);
        free(a->message);
        free(a);
        sd_event_source_disable_unref(s);
        return 0;
}

static void answer_later(HdhaClusterHost *h, HdhaOpDoneFn fn, void *fn_userdata, int r, const char *message) {
        Answer *a = calloc(1, sizeof(*a));

        if (a) {
                *a = (Answer) { .fn = fn, .fn_userdata = fn_userdata, .r = r,
                                .message = message ? strdup(message) : NULL };
                if (sd_event_add_defer(h->event, NULL, on_answer, a) >= 0)
                        return;
                free(a->message);
                free(a);
        }
        /* Out of memory: answer now rather than never. */
        log_error("Out of memory, answering the cluster request at once.");
        fn(fn_userdata, r, message);
}

static void held_message(HdhaClusterHost *h, const HdhaToken *t, char *buf, size_t size) {
        char name[32];

        snprintf(buf, size, "Group '%s' is held by '%s' on host '%s'%s (cluster token generation %" PRIu64 ")",
                 t->group, t->holder_domain ?: "?", cluster_host_node_name(h, t->holder_node, name, sizeof(name)),
                 t->state == HDHA_TOKEN_ORPHANED ? ", which left the cluster and is not confirmed gone yet" : "",
                 t->generation);
}

static const char *no_quorum_message(const HdhaClusterHost *h) {
        return !h->connected ? "This host is not joined to the cluster (Corosync not reached)"
                             : "This host's partition of the cluster has no quorum";
}

static Pending *pending_free(Pending *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timeout);
        free(p->group);
        free(p->domain);
        free(p);
        return NULL;
}

static void pending_unlink(HdhaClusterHost *h, Pending *p) {
        for (Pending **q = &h->pending; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        return;
                }
}

/* Answers and drops p. */
static void pending_done(HdhaClusterHost *h, Pending *p, int r, const char *message) {
        HdhaOpDoneFn fn = p->fn;
        void *ud = p->fn_userdata;

        pending_unlink(h, p);
        pending_free(p);
        if (fn)
                fn(ud, r, message);
}

static void pending_fail_all(HdhaClusterHost *h, int r, const char *message) {
        while (h->pending)
                pending_done(h, h->pending, r, message);
}

static int on_request_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Pending *p = userdata;

        log_error("Group '%s': no answer from the cluster to the request for its token.", p->group);
        pending_done(p->host, p, -ENOLINK, "No answer from the cluster to the request for the group's token");
        return 0;
}

static int pending_add(HdhaClusterHost *h, const char *group, const char *domain, HdhaOpDoneFn fn,
                       void *fn_userdata, Pending **ret) {
        Pending *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        *p = (Pending) { .host = h, .group = strdup(group), .domain = strdup(domain), .fn = fn,
                         .fn_userdata = fn_userdata };
        if (!p->group || !p->domain) {
                pending_free(p);
                return -ENOMEM;
        }
        r = sd_event_add_time_relative(h->event, &p->timeout, CLOCK_MONOTONIC, HDHA_CLUSTER_REQUEST_TIMEOUT_USEC, 0,
                                       on_request_timeout, p);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        /* In order: the first asked is the first answered. */
        Pending **q = &h->pending;
        while (*q)
                q = &(*q)->next;
        *q = p;
        *ret = p;
        return 0;
}

/* --- The manager's side of the token ------------------------------------------- */

bool hdha_cluster_host_holds(void *userdata, const char *group) {
        HdhaClusterHost *h = userdata;
        HdhaToken t;

        if (standalone(h))
                return true;
        if (!h->connected || !h->quorate || !h->arbiter)
                return false;
        return hdha_cluster_arbiter_token(h->arbiter, group, &t) >= 0 && token_is_ours(h, &t);
}

void hdha_cluster_host_acquire(void *userdata, const char *group, const char *domain, HdhaOpDoneFn fn,
                               void *fn_userdata) {
        HdhaClusterHost *h = userdata;
        char message[512];
        Pending *p;
        HdhaToken t;
        int r;

        if (standalone(h))
                return answer_later(h, fn, fn_userdata, 0, NULL);
        if (!h->connected || !h->quorate || !h->arbiter)
                return answer_later(h, fn, fn_userdata, -ENOLINK, no_quorum_message(h));
        if (hdha_cluster_arbiter_token(h->arbiter, group, &t) >= 0 && t.state != HDHA_TOKEN_FREE &&
            t.holder_node != h->local_node) {
                held_message(h, &t, message, sizeof(message));
                return answer_later(h, fn, fn_userdata, -EUSERS, message);
        }
        r = pending_add(h, group, domain, fn, fn_userdata, &p);
        if (r < 0)
                return answer_later(h, fn, fn_userdata, r, "Failed to ask the cluster for the group's token");
        if (h->synced)
                send_request(h, p);
}

void hdha_cluster_host_release(void *userdata, const char *group) {
        HdhaClusterHost *h = userdata;
        HdhaClusterMsg msg = { .type = HDHA_CLUSTER_MSG_RELEASE, .group = group };
        HdhaToken t;
        int r;

        if (standalone(h) || !h->connected || !h->arbiter)
                return;
        if (hdha_cluster_arbiter_token(h->arbiter, group, &t) < 0 || !token_is_ours(h, &t))
                return;
        log_info("Group '%s': no member of this host holds the device, giving the cluster token back.", group);
        msg.ring_seq = h->ring_seq;
        msg.generation = t.generation;
        r = cluster_host_send_msg(h, &msg);
        if (r < 0)
                log_warning_errno(r, "Failed to give the token of group '%s' back to the cluster, ignoring: %m",
                                  group);
}

/* --- Agreement with the others, after every membership -------------------------- */

static void on_conflict_release_done(void *userdata, int r, const char *message) {
        const char *group = userdata;

        if (r < 0)
                log_error_errno(r, "Group '%s': the release after the conflict failed: %s", group,
                                message ?: "see above");
}

static void conflict(HdhaClusterHost *h, const char *group, const char *active, const HdhaToken *t) {
        char message[512];
        int r;

        held_message(h, t, message, sizeof(message));
        log_error("Group '%s': the device is on '%s' here, but %s: releasing it.", group, active, message);
        r = hdha_manager_release(h->manager, group, on_conflict_release_done, (void *) group);
        if (r < 0 && r != -EBUSY && r != -EALREADY)
                log_error_errno(r, "Group '%s': failed to release '%s': %m", group, active);
}

/* Once synchronised and quorate: claim the token of a device already on a
 * member here, give back a token held for nothing. */
static void tokens_reconcile(HdhaClusterHost *h) {
        HdhaGroupStatus st;
        HdhaToken t;

        if (!h->manager || !h->quorate || !h->synced)
                return;
        for (size_t i = 0; hdha_manager_group_status(h->manager, i, &st) >= 0; i++) {
                bool known = hdha_cluster_arbiter_token(h->arbiter, st.name, &t) >= 0;
                bool asked = false;

                for (Pending *p = h->pending; p; p = p->next)
                        asked = asked || streq(p->group, st.name);
                if (!st.table || asked)
                        continue;
                if (st.table->active) {
                        Pending *p;

                        if (known && token_is_ours(h, &t))
                                continue;
                        if (known && t.state != HDHA_TOKEN_FREE) {
                                conflict(h, st.name, st.table->active, &t);
                                continue;
                        }
                        log_info("Group '%s': the device is on '%s' here, claiming the group's cluster token.",
                                 st.name, st.table->active);
                        if (pending_add(h, st.name, st.table->active, NULL, NULL, &p) >= 0)
                                send_request(h, p);
                } else if (known && token_is_ours(h, &t) && !st.busy)
                        hdha_cluster_host_release(h, st.name);
        }
}

/* Every member's state is in: ask for what waits, then reconcile. */
static void synced(HdhaClusterHost *h) {
        h->synced = true;
        for (Pending *p = h->pending; p; p = p->next)
                if (!p->sent)
                        send_request(h, p);
        tokens_reconcile(h);
}

/* --- The arbiter's callbacks ----------------------------------------------------- */

static void on_request_done(void *userdata, const char *group, const char *domain, int r, const HdhaToken *token) {
        HdhaClusterHost *h = userdata;
        char message[512];
        Pending *p;

        for (p = h->pending; p; p = p->next)
                if (p->sent && streq(p->group, group) && streq(p->domain, domain))
                        break;
        if (!p)
                return; /* answered already (timed out), or asked before a restart */
        if (r == -ESTALE) { /* sent in an older ring: ask again once synced */
                p->sent = false;
                if (h->synced)
                        send_request(h, p);
                return;
        }
        if (r == -EUSERS && token) {
                held_message(h, token, message, sizeof(message));
                if (!p->fn && h->manager) { /* a claim refused: someone else took it meanwhile */
                        HdhaGroupStatus st;

                        if (hdha_manager_find_group(h->manager, group, &st) >= 0 && st.table && st.table->active)
                                conflict(h, st.name, st.table->active, token);
                }
                pending_done(h, p, r, message);
                return;
        }
        if (r == 0)
                log_info("Group '%s': this host holds the cluster token for '%s' (generation %" PRIu64 ").", group,
                         domain, token ? token->generation : 0);
        pending_done(h, p, r, r < 0 ? "The cluster could not decide on the group's token" : NULL);
}

static void on_token_changed(void *userdata, const HdhaToken *token) {
        HdhaClusterHost *h = userdata;

        if (token->state == HDHA_TOKEN_ORPHANED && h->quorate && cluster_host_lowest_member(h))
                cluster_host_expiry_add(h, token);
        else if (token->state != HDHA_TOKEN_ORPHANED)
                cluster_host_expiry_drop(h, token->group);
}



/* --- The link's callbacks ---------------------------------------------------------- */

static void on_connected_changed(HdhaCluster *c, bool connected, void *userdata) {
        HdhaClusterHost *h = userdata;
        HdhaClusterStatus s;
        int r;

        h->connected = connected;
        h->synced = false;
        if (!connected) {
                log_warning("Left the cluster (Corosync lost): nothing is attached until this host is back in a "
                            "quorate cluster.");
                pending_fail_all(h, -ENOLINK, no_quorum_message(h));
                cluster_host_expiries_clear(h);
                changed(h);
                return;
        }
        hdha_cluster_get_status(c, &s);
        /* A fresh table on every connection: Corosync may have restarted
         * with a lower ring number, which the old table would refuse as
         * stale. What this host forgets, the others' states bring back;
         * its own devices it claims again once synchronised. */
        h->arbiter = hdha_cluster_arbiter_free(h->arbiter);
        if (!h->arbiter) {
                HdhaClusterArbiterCallbacks cb = {
                        .request_done = on_request_done,
                        .token_changed = on_token_changed,
                        .userdata = h,
                };

                r = hdha_cluster_arbiter_new(s.local_nodeid, &cb, &h->arbiter);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up the cluster's token table: %m");
                        return;
                }
        }
        h->local_node = s.local_nodeid;
        /* What this host knew of the ring is gone with the connection:
         * every node counts as entered now. */
        hdha_fence_watch_joined(h->fence);
        if (!h->ever_connected && h->mode == HDHA_CLUSTER_MODE_AUTO)
                log_info("Corosync runs on this host: from now on a member is attached only while this host holds "
                         "its group's cluster token.");
        h->ever_connected = true;
        log_info("Joined the cluster as node %" PRIu32 " ('%s').", s.local_nodeid, s.local_name ?: "?");
        changed(h);
}

static void on_quorum_changed(HdhaCluster *c, bool quorate, void *userdata) {
        HdhaClusterHost *h = userdata;

        if (h->quorate == quorate)
                return;
        h->quorate = quorate;
        if (!quorate) {
                pending_fail_all(h, -ENOLINK, no_quorum_message(h));
                cluster_host_expiries_clear(h);
                cluster_host_quorum_lost(h);
        } else {
                if (h->quorum_timer)
                        log_info("Quorum is back before the release: active members kept.");
                else
                        log_info("This host's partition of the cluster is quorate.");
                h->quorum_timer = sd_event_source_disable_unref(h->quorum_timer);
                if (h->arbiter)
                        cluster_host_expiries_update(h);
                /* Quorum may come after the states were exchanged. */
                tokens_reconcile(h);
        }
        changed(h);
}

static void on_membership(HdhaCluster *c, uint64_t ring_seq, const HdhaClusterMember *members, size_t n,
                          void *userdata) {
        HdhaClusterHost *h = userdata;
        uint32_t ids[HDHA_CLUSTER_NODES_MAX];
        HdhaClusterStatus s;
        int r;

        /* Which host (re)entered the ring, and when: a fencing counts only
         * if it came after. */
        hdha_cluster_get_status(c, &s);
        hdha_fence_watch_ring(h->fence, s.ring_nodes, s.n_ring_nodes);
        if (!h->arbiter)
                return;
        n = MIN(n, ELEMENTSOF(ids));
        for (size_t i = 0; i < n; i++)
                ids[i] = members[i].nodeid;
        r = hdha_cluster_arbiter_membership(h->arbiter, ring_seq, ids, n);
        if (r < 0) {
                log_error_errno(r, "Failed to take the cluster's membership (ring %" PRIu64 "), ignoring: %m", ring_seq);
                return;
        }
        h->ring_seq = ring_seq;
        memcpy(h->unsynced, ids, n * sizeof(ids[0]));
        h->n_unsynced = n;
        h->synced = false;
        for (Pending *p = h->pending; p; p = p->next)
                p->sent = false; /* the arbiter drops what was sent in an older ring */
        log_info("Cluster membership: %zu node%s (ring %" PRIu64 ").", n, n == 1 ? "" : "s", ring_seq);
        r = publish_now(h);
        if (r < 0)
                log_error_errno(r, "Failed to send this host's state to the cluster: %m");
        cluster_host_expiries_update(h);
        changed(h);
}

static void on_deliver(HdhaCluster *c, uint32_t node, const void *buf, size_t len, void *userdata) {
        HdhaClusterHost *h = userdata;
        _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *msg = NULL;
        int r;

        if (!h->arbiter)
                return;
        r = hdha_cluster_arbiter_deliver(h->arbiter, node, buf, len);
        if (r == -ENOMEM)
                log_error("Out of memory in the cluster's token table: this host may disagree with the others.");
        if (r < 0 && r != -EUSERS)
                return;

        /* A member's state for this ring: one fewer to wait for. */
        if (h->synced || hdha_cluster_msg_decode(buf, len, &msg, NULL) < 0 || msg->type != HDHA_CLUSTER_MSG_STATE ||
            msg->ring_seq != h->ring_seq)
                return;
        for (size_t i = 0; i < h->n_unsynced; i++)
                if (h->unsynced[i] == node) {
                        h->unsynced[i] = h->unsynced[--h->n_unsynced];
                        break;
                }
        if (h->n_unsynced == 0)
                synced(h);
}

static const HdhaClusterCallbacks link_callbacks = {
        .connected_changed = on_connected_changed,
        .quorum_changed = on_quorum_changed,
        .membership = on_membership,
        .deliver = on_deliver,
};

/* --- Life ------------------------------------------------------------------------- */

int hdha_cluster_host_new(sd_event *event, const HdhaConfig *config, HdhaClusterHost **ret) {
        HdhaClusterHost *h;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->mode = config->cluster_mode;
        hdha_cluster_host_set_config(h, config);
        r = hdha_fence_watch_new(event, &hdha_fence_ops_pacemaker, cluster_host_on_fence_confirmed, h, &h->fence);
        if (r >= 0)
                r = hdha_cluster_new(event, &link_callbacks, h, &h->link);
        if (r < 0) {
                hdha_cluster_host_free(h);
                return r;
        }
        /* Enabled=auto on a host without Corosync: looked for once a minute. */
        if (h->mode == HDHA_CLUSTER_MODE_AUTO)
                hdha_cluster_set_absent_backoff(h->link, HDHA_CLUSTER_ABSENT_RETRY_USEC);
        *ret = h;
        return 0;
}

HdhaClusterHost *hdha_cluster_host_free(HdhaClusterHost *h) {
        if (!h)
                return NULL;
        h->link = hdha_cluster_free(h->link);
        while (h->pending) {
                Pending *p = h->pending;

                h->pending = p->next;
                pending_free(p);
        }
        cluster_host_expiries_clear(h);
        hdha_fence_watch_free(h->fence);
        sd_event_source_disable_unref(h->publish);
        sd_event_source_disable_unref(h->quorum_timer);
        hdha_cluster_arbiter_free(h->arbiter);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

void hdha_cluster_host_set_manager(HdhaClusterHost *h, HdhaManager *m) {
        h->manager = m;
}

void hdha_cluster_host_set_config(HdhaClusterHost *h, const HdhaConfig *config) {
        h->quorum_loss_release_sec = config->quorum_loss_release_sec;
        h->release_timeout_max_sec = 0;
        for (size_t i = 0; i < config->n_groups; i++)
                h->release_timeout_max_sec = MAX(h->release_timeout_max_sec, config->groups[i].release_timeout_sec);
}

void hdha_cluster_host_on_change(HdhaClusterHost *h, void (*fn)(void *userdata), void *userdata) {
        h->on_change = fn;
        h->on_change_userdata = userdata;
}

/* --- What the bus shows ------------------------------------------------------------ */

int hdha_cluster_host_view(HdhaClusterHost *h, HdhaClusterView *ret) {
        _cleanup_(hdha_cluster_view_done) HdhaClusterView v = {};
        HdhaClusterStatus s;
        HdhaHostGroup hg;
        HdhaToken t;
        char name[32];
        int r;

        if (!h->connected || !h->arbiter)
                return hdha_cluster_view_standalone(h->manager, ret);

        hdha_cluster_get_status(h->link, &s);
        v.connected = true;
        v.quorate = h->quorate;
        if (s.local_name && !(v.node = strdup(s.local_name)))
                return -ENOMEM;
        for (size_t i = 0; hdha_cluster_arbiter_host_group(h->arbiter, i, &hg) >= 0; i++) {
                r = hdha_cluster_view_add_group(
                        &v, &(const HdhaClusterViewGroup) {
                                    .host = (char *) cluster_host_node_name(h, hg.node, name, sizeof(name)),
                                    .group = (char *) hg.group,
                                    .active = (char *) hg.active,
                                    .generation = hg.generation,
                                    .operation = streq_ptr(hg.operation, "none") ? NULL : (char *) hg.operation,
                                    .step = streq_ptr(hg.step, "none") ? NULL : (char *) hg.step,
                                    .frozen = hg.frozen,
                            });
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; hdha_cluster_arbiter_token_at(h->arbiter, i, &t) >= 0; i++) {
                r = hdha_cluster_view_add_token(
                        &v, &(const HdhaClusterViewToken) {
                                    .group = (char *) t.group,
                                    .state = (char *) hdha_token_state_to_string(t.state),
                                    .holder_host = t.state == HDHA_TOKEN_FREE
                                                           ? NULL
                                                           : (char *) cluster_host_node_name(h, t.holder_node, name, sizeof(name)),
                                    .holder_domain = (char *) t.holder_domain,
                                    .generation = t.generation,
                            });
                if (r < 0)
                        return r;
        }
        hdha_cluster_view_sort(&v);
        *ret = v;
        v = (HdhaClusterView) {};
        return 0;
}

const char *hdha_cluster_host_summary(HdhaClusterHost *h, char *buf, size_t size) {
        HdhaClusterStatus s;

        if (standalone(h))
                snprintf(buf, size, "cluster: Corosync not running, alone");
        else if (!h->connected)
                snprintf(buf, size, "cluster: not connected to Corosync");
        else {
                hdha_cluster_get_status(h->link, &s);
                snprintf(buf, size, "cluster: %s, %zu node%s", h->quorate ? "quorate" : "NO QUORUM", s.n_members,
                         s.n_members == 1 ? "" : "s");
        }
        return buf;
}
