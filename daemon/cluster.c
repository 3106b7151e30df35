/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>

#include "cluster.h"
#include "log.h"
#include "macro.h"

/* How it runs: one connection attempt (connect_once()) opens quorum, then
 * CPG (joins the group), then reads the node names over CMAP and closes
 * that handle. The quorum and CPG fds are watched by the loop and
 * dispatched with CS_DISPATCH_ALL. Anything that shows the connection is
 * gone calls cluster_fail(), which only records the cause: a one-shot defer
 * event closes the handles and arms the reconnect timer, so no handle is
 * ever closed from inside its own dispatch or under a caller of
 * hdha_cluster_send().
 *
 * Membership: CPG reports a change of the group (cpg_confchg) before the
 * totem ring change that caused it (cpg_totem_confchg, which carries the
 * ring's sequence number). A change of the group that a node's arrival or
 * departure caused (reason NODEUP/NODEDOWN) is reported with the ring
 * change that follows it; a host joining or leaving the group on its own is
 * reported at once. On a new connection the first totem confchg may come
 * before or after this process's own join: the first membership waits for
 * both. */

#define RECONNECT_FIRST_USEC (100U * 1000U)
#define RECONNECT_MAX_USEC (5U * 1000000U)
#define SEND_RETRY_USEC (20U * 1000U)
/* The nodelist entries read from CMAP: nodelist.node.0 .. .NODES_MAX-1. */
#define NODES_MAX 1024U

typedef struct ClusterNode {
        uint32_t nodeid;
        char *name;
} ClusterNode;

typedef struct QueuedMessage {
        struct QueuedMessage *next;
        size_t len;
        uint8_t data[];
} QueuedMessage;

struct HdhaCluster {
        sd_event *event;
        HdhaClusterCallbacks cb;
        void *userdata;

        quorum_handle_t quorum;
        cpg_handle_t cpg;
        bool have_quorum, have_cpg;
        sd_event_source *quorum_source, *cpg_source;
        sd_event_source *reconnect_timer, *retry_timer, *fail_defer;
        uint64_t backoff_usec;
        uint64_t absent_max_usec; /* the backoff's cap until Corosync first answered */

        bool connected, was_connected, quorate;
        bool outage_logged;   /* this outage's first failed attempt is logged */
        bool failing;         /* cluster_fail() was called, fail_defer pending */
        int fail_error;
        char fail_reason[128];

        uint32_t local_nodeid;
        uint32_t pid;         /* this process, as the group lists it */
        bool ring_known;      /* a totem confchg came on this connection */
        bool membership_pending;
        uint64_t ring_seq;
        struct cpg_address procs[CPG_MEMBERS_MAX]; /* the group, as CPG lists it */
        size_t n_procs;
        HdhaClusterMember members[CPG_MEMBERS_MAX];
        size_t n_members;
        uint32_t ring_nodes[CPG_MEMBERS_MAX]; /* the totem ring: hosts whose Corosync is with us */
        size_t n_ring_nodes;
        ClusterNode *nodes;   /* names: the nodelist's, then fallbacks */
        size_t n_nodes;

        QueuedMessage *queue_head, *queue_tail;
        size_t n_queued;
        uint64_t queue_since; /* when the head began to wait */
};

static const struct cpg_name group_name = {
        .length = sizeof(HDHA_CLUSTER_GROUP_NAME) - 1,
        .value = HDHA_CLUSTER_GROUP_NAME,
};

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

/* A Corosync error as a -errno, for "%m". */
static int cs_errno(cs_error_t e) {
        switch (e) {
        case CS_OK:
                return 0;
        case CS_ERR_LIBRARY:
                return -ECONNREFUSED;
        case CS_ERR_NO_MEMORY:
                return -ENOMEM;
        case CS_ERR_TIMEOUT:
                return -ETIMEDOUT;
        case CS_ERR_TRY_AGAIN:
        case CS_ERR_QUEUE_FULL:
                return -EAGAIN;
        case CS_ERR_INVALID_PARAM:
                return -EINVAL;
        case CS_ERR_BAD_HANDLE:
                return -EBADF;
        case CS_ERR_BUSY:
                return -EBUSY;
        case CS_ERR_ACCESS:
                return -EACCES;
        case CS_ERR_NOT_EXIST:
                return -ENOENT;
        case CS_ERR_EXIST:
                return -EEXIST;
        case CS_ERR_TOO_BIG:
                return -EMSGSIZE;
        case CS_ERR_NOT_SUPPORTED:
                return -EOPNOTSUPP;
        default:
                return -EPROTO;
        }
}

/* Names */

static void nodes_free(ClusterNode *nodes, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(nodes[i].name);
        free(nodes);
}

static const char *node_lookup(const HdhaCluster *c, uint32_t nodeid) {
        for (size_t i = 0; i < c->n_nodes; i++)
                if (c->nodes[i].nodeid == nodeid)
                        return c->nodes[i].name;
        return NULL;
}

static int nodes_add(ClusterNode **nodes, size_t *n, uint32_t nodeid, char *name) {
        ClusterNode *x = reallocarray(*nodes, *n + 1, sizeof(ClusterNode));

        if (!x)
                return -ENOMEM;
        *nodes = x;
        x[(*n)++] = (ClusterNode) { .nodeid = nodeid, .name = name };
        return 0;
}

/* Reads nodelist.node.X.{nodeid,name,ring0_addr} from CMAP. */
static int read_nodelist(ClusterNode **ret, size_t *ret_n) {
        ClusterNode *nodes = NULL;
        size_t n = 0;
        cmap_handle_t h;
        cs_error_t e;
        int r = 0;

        e = cmap_initialize(&h);
        if (e != CS_OK)
                return cs_errno(e);

        for (unsigned i = 0; i < NODES_MAX; i++) {
                char key[64];
                char *name = NULL;
                uint32_t nodeid;

                (void) snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
                e = cmap_get_uint32(h, key, &nodeid);
                if (e == CS_OK) {
                        (void) snprintf(key, sizeof(key), "nodelist.node.%u.name", i);
                        if (cmap_get_string(h, key, &name) != CS_OK || !name || !*name) {
                                free(name);
                                name = NULL;
                                (void) snprintf(key, sizeof(key), "nodelist.node.%u.ring0_addr", i);
                                if (cmap_get_string(h, key, &name) != CS_OK || (name && !*name)) {
                                        free(name);
                                        name = NULL;
                                }
                        }
                        if (name && (r = nodes_add(&nodes, &n, nodeid, name)) < 0) {
                                free(name);
                                break;
                        }
                        continue;
                }
                if (e != CS_ERR_NOT_EXIST) {
                        r = cs_errno(e);
                        break;
                }
                /* No node id (Corosync derives it): skip; no entry at all: the end. */
                (void) snprintf(key, sizeof(key), "nodelist.node.%u.ring0_addr", i);
                if (cmap_get_string(h, key, &name) != CS_OK)
                        break;
                free(name);
        }
        (void) cmap_finalize(h);

        if (r < 0) {
                nodes_free(nodes, n);
                return r;
        }
        *ret = nodes;
        *ret_n = n;
        return 0;
}

/* The nodelist's names replace what was known (fallbacks included). */
static void load_names(HdhaCluster *c) {
        ClusterNode *nodes = NULL;
        size_t n = 0;
        int r;

        r = read_nodelist(&nodes, &n);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the node names from Corosync's nodelist: %m, ignoring");
                return;
        }
        nodes_free(c->nodes, c->n_nodes);
        c->nodes = nodes;
        c->n_nodes = n;
}

/* The name of nodeid; "node N" when the nodelist has none. */
static const char *node_name(HdhaCluster *c, uint32_t nodeid) {
        const char *s = node_lookup(c, nodeid);
        char *fallback;

        if (s)
                return s;
        if (asprintf(&fallback, "node %" PRIu32, nodeid) < 0)
                return "node ?";
        if (nodes_add(&c->nodes, &c->n_nodes, nodeid, fallback) < 0) {
                free(fallback);
                return "node ?";
        }
        return fallback;
}

/* Membership */

/* This process is in the group: its join was reported. */
static bool joined(const HdhaCluster *c) {
        for (size_t i = 0; i < c->n_procs; i++)
                if (c->procs[i].nodeid == c->local_nodeid && c->procs[i].pid == c->pid)
                        return true;
        return false;
}

static int member_cmp(const void *a, const void *b) {
        const HdhaClusterMember *x = a, *y = b;

        return x->nodeid < y->nodeid ? -1 : x->nodeid > y->nodeid;
}

/* Reports the membership once both the ring and this process's join are
 * known (Corosync reports them in either order). */
static void emit_membership(HdhaCluster *c) {
        char text[1024];
        size_t len = 0;
        bool unknown = false;

        if (!c->ring_known || !joined(c)) {
                c->membership_pending = true;
                return;
        }
        c->membership_pending = false;

        /* One entry per node, sorted. */
        c->n_members = 0;
        for (size_t i = 0; i < c->n_procs; i++) {
                bool seen = false;

                for (size_t j = 0; j < c->n_members && !seen; j++)
                        seen = c->members[j].nodeid == c->procs[i].nodeid;
                if (!seen)
                        c->members[c->n_members++] = (HdhaClusterMember) { .nodeid = c->procs[i].nodeid };
        }
        qsort(c->members, c->n_members, sizeof(HdhaClusterMember), member_cmp);

        /* A node added to corosync.conf since the names were read. */
        for (size_t i = 0; i < c->n_members; i++)
                unknown = unknown || !node_lookup(c, c->members[i].nodeid);
        if (unknown)
                load_names(c);
        for (size_t i = 0; i < c->n_members; i++)
                c->members[i].name = node_name(c, c->members[i].nodeid);

        text[0] = '\0';
        for (size_t i = 0; i < c->n_members && len < sizeof(text); i++) {
                int k = snprintf(text + len, sizeof(text) - len, "%s%" PRIu32 " '%s'", i > 0 ? ", " : "",
                                 c->members[i].nodeid, c->members[i].name);
                if (k < 0)
                        break;
                len += (size_t) k;
        }
        log_info("Cluster membership, ring %" PRIu64 ": %zu host(s) in group '%s': %s", c->ring_seq, c->n_members,
                 HDHA_CLUSTER_GROUP_NAME, c->n_members > 0 ? text : "none");

        if (c->cb.membership)
                c->cb.membership(c, c->ring_seq, c->members, c->n_members, c->userdata);
}

/* Failure and reconnection */

static void cluster_fail(HdhaCluster *c, int error, const char *fmt, ...) _printf_(3, 4);
static void cluster_fail(HdhaCluster *c, int error, const char *fmt, ...) {
        va_list ap;

        if (c->failing)
                return;
        c->failing = true;
        c->fail_error = error;
        va_start(ap, fmt);
        (void) vsnprintf(c->fail_reason, sizeof(c->fail_reason), fmt, ap);
        va_end(ap);
        if (sd_event_source_set_enabled(c->fail_defer, SD_EVENT_ONESHOT) < 0)
                c->failing = false; /* cannot happen: the source exists */
}

static void queue_drop(HdhaCluster *c) {
        while (c->queue_head) {
                QueuedMessage *m = c->queue_head;

                c->queue_head = m->next;
                free(m);
        }
        c->queue_tail = NULL;
        c->n_queued = 0;
        (void) sd_event_source_set_enabled(c->retry_timer, SD_EVENT_OFF);
}

/* Closes the handles; the state goes back to "not connected". Calls
 * nothing. */
static void close_handles(HdhaCluster *c) {
        c->quorum_source = sd_event_source_disable_unref(c->quorum_source);
        c->cpg_source = sd_event_source_disable_unref(c->cpg_source);
        if (c->have_cpg)
                (void) cpg_finalize(c->cpg);
        if (c->have_quorum)
                (void) quorum_finalize(c->quorum);
        c->have_cpg = c->have_quorum = false;
        c->ring_known = c->membership_pending = false;
        c->n_procs = c->n_members = c->n_ring_nodes = 0;
}

static void schedule_reconnect(HdhaCluster *c) {
        int r;

        r = sd_event_source_set_time_relative(c->reconnect_timer, c->backoff_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->reconnect_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm the Corosync reconnect timer: %m, not reconnecting");
        c->backoff_usec = MIN(c->backoff_usec * 2,
                              c->was_connected ? (uint64_t) RECONNECT_MAX_USEC : c->absent_max_usec);
}

void hdha_cluster_set_absent_backoff(HdhaCluster *c, uint64_t max_usec) {
        c->absent_max_usec = MAX(max_usec, (uint64_t) RECONNECT_MAX_USEC);
}

static int on_fail(sd_event_source *s, void *userdata) {
        HdhaCluster *c = userdata;
        bool was_quorate = c->quorate;
        size_t dropped = c->n_queued;

        c->failing = false;
        close_handles(c);
        queue_drop(c);
        c->quorate = false;
        c->backoff_usec = RECONNECT_FIRST_USEC;
        schedule_reconnect(c);
        if (!c->connected)
                return 0;

        c->connected = false;
        c->outage_logged = true;
        log_full_errno(LOG_WARNING, c->fail_error ?: -EIO,
                       "Lost the connection to Corosync, %s: %m; %s%zu unsent message(s) dropped, reconnecting",
                       c->fail_reason, was_quorate ? "quorum no longer known, " : "", dropped);
        if (c->cb.connected_changed)
                c->cb.connected_changed(c, false, c->userdata);
        if (was_quorate && c->cb.quorum_changed)
                c->cb.quorum_changed(c, false, c->userdata);
        return 0;
}

/* Corosync's callbacks */

static void on_quorum_notify(quorum_handle_t handle, uint32_t quorate, struct quorum_ring_id ring_id,
                             uint32_t n_members, const uint32_t *members) {
        HdhaCluster *c = NULL;

        if (quorum_context_get(handle, (const void **) &c) != CS_OK || !c)
                return;
        log_debug("Quorum notification: quorate=%" PRIu32 " ring %" PRIu32 ".%" PRIu64 ", %" PRIu32 " node(s)",
                  quorate, ring_id.nodeid, ring_id.seq, n_members);
        if (!c->connected || !!quorate == c->quorate)
                return;
        c->quorate = !!quorate;
        log_notice("Cluster quorum %s (ring %" PRIu64 ", %" PRIu32 " node(s) in the quorum's view)",
                   c->quorate ? "gained" : "lost", ring_id.seq, n_members);
        if (c->cb.quorum_changed)
                c->cb.quorum_changed(c, c->quorate, c->userdata);
}

static void on_cpg_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
                           void *msg, size_t len) {
        HdhaCluster *c = NULL;

        if (cpg_context_get(handle, (void **) &c) != CS_OK || !c || !c->connected)
                return;
        if (c->cb.deliver)
                c->cb.deliver(c, nodeid, msg, len, c->userdata);
}

static void on_cpg_confchg(cpg_handle_t handle, const struct cpg_name *group,
                           const struct cpg_address *members, size_t n_members,
                           const struct cpg_address *left, size_t n_left,
                           const struct cpg_address *joined, size_t n_joined) {
        HdhaCluster *c = NULL;
        bool ring_change = false;

        if (cpg_context_get(handle, (void **) &c) != CS_OK || !c || !c->connected)
                return;

        n_members = MIN(n_members, (size_t) CPG_MEMBERS_MAX);
        memcpy(c->procs, members, n_members * sizeof(struct cpg_address));
        c->n_procs = n_members;

        for (size_t i = 0; i < n_left; i++) {
                log_debug("Group '%s': node %" PRIu32 " pid %" PRIu32 " left (reason %" PRIu32 ")",
                          HDHA_CLUSTER_GROUP_NAME, left[i].nodeid, left[i].pid, left[i].reason);
                ring_change = ring_change || left[i].reason == CPG_REASON_NODEDOWN;
        }
        for (size_t i = 0; i < n_joined; i++) {
                log_debug("Group '%s': node %" PRIu32 " pid %" PRIu32 " joined (reason %" PRIu32 ")",
                          HDHA_CLUSTER_GROUP_NAME, joined[i].nodeid, joined[i].pid, joined[i].reason);
                ring_change = ring_change || joined[i].reason == CPG_REASON_NODEUP;
        }

        /* The totem confchg that follows reports it, with the new ring. */
        if (ring_change) {
                c->membership_pending = true;
                return;
        }
        emit_membership(c);
}

static void on_cpg_totem_confchg(cpg_handle_t handle, struct cpg_ring_id ring_id, uint32_t n_members,
                                 const uint32_t *members) {
        HdhaCluster *c = NULL;

        if (cpg_context_get(handle, (void **) &c) != CS_OK || !c || !c->connected)
                return;
        log_debug("Totem ring %" PRIu32 ".%" PRIu64 ": %" PRIu32 " node(s)", ring_id.nodeid, ring_id.seq, n_members);
        c->ring_seq = ring_id.seq;
        c->ring_known = true;
        c->n_ring_nodes = MIN((size_t) n_members, (size_t) CPG_MEMBERS_MAX);
        memcpy(c->ring_nodes, members, c->n_ring_nodes * sizeof(members[0]));
        emit_membership(c);
}

/* The loop's side */

static int on_io(HdhaCluster *c, uint32_t revents, const char *service, cs_error_t (*dispatch)(uint64_t, cs_dispatch_flags_t),
                 uint64_t handle) {
        cs_error_t e;

        if (c->failing)
                return 0;
        if (revents & EPOLLIN) {
                e = dispatch(handle, CS_DISPATCH_ALL);
                if (e != CS_OK && e != CS_ERR_TRY_AGAIN) {
                        cluster_fail(c, e == CS_ERR_LIBRARY ? -ECONNRESET : cs_errno(e), "%s dispatch failed", service);
                        return 0;
                }
        }
        if (!c->failing && (revents & (EPOLLHUP | EPOLLERR)))
                cluster_fail(c, -ECONNRESET, "%s connection hung up", service);
        return 0;
}

static cs_error_t dispatch_quorum(uint64_t handle, cs_dispatch_flags_t flags) {
        return quorum_dispatch(handle, flags);
}

static cs_error_t dispatch_cpg(uint64_t handle, cs_dispatch_flags_t flags) {
        return cpg_dispatch(handle, flags);
}

static int on_quorum_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HdhaCluster *c = userdata;

        return on_io(c, revents, "quorum", dispatch_quorum, c->quorum);
}

static int on_cpg_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HdhaCluster *c = userdata;

        return on_io(c, revents, "CPG", dispatch_cpg, c->cpg);
}

/* One attempt: quorum, CPG and the group, the names. On failure the
 * handles opened are closed again and *ret_what says which step failed. */
static int connect_once(HdhaCluster *c, const char **ret_what) {
        quorum_model_v1_data_t quorum_model = {
                .model = QUORUM_MODEL_V1,
                .quorum_notify_fn = on_quorum_notify,
        };
        cpg_model_v1_data_t cpg_model = {
                .model = CPG_MODEL_V1,
                .cpg_deliver_fn = on_cpg_deliver,
                .cpg_confchg_fn = on_cpg_confchg,
                .cpg_totem_confchg_fn = on_cpg_totem_confchg,
                .flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
        };
        uint32_t quorum_type = 0;
        unsigned int nodeid = 0;
        int quorum_fd = -1, cpg_fd = -1, quorate = 0, r;
        cs_error_t e;

        *ret_what = "connecting to its quorum service";
        e = quorum_model_initialize(&c->quorum, QUORUM_MODEL_V1, (quorum_model_data_t *) &quorum_model,
                                    &quorum_type, c);
        if (e != CS_OK)
                return cs_errno(e);
        c->have_quorum = true;
        *ret_what = "setting up quorum tracking";
        e = quorum_fd_get(c->quorum, &quorum_fd);
        if (e == CS_OK)
                e = quorum_getquorate(c->quorum, &quorate);
        if (e == CS_OK)
                e = quorum_trackstart(c->quorum, CS_TRACK_CHANGES);
        if (e != CS_OK)
                goto fail;

        *ret_what = "connecting to its CPG service";
        e = cpg_model_initialize(&c->cpg, CPG_MODEL_V1, (cpg_model_data_t *) &cpg_model, c);
        if (e != CS_OK)
                goto fail;
        c->have_cpg = true;
        e = cpg_fd_get(c->cpg, &cpg_fd);
        if (e == CS_OK)
                e = cpg_local_get(c->cpg, &nodeid);
        if (e != CS_OK)
                goto fail;

        r = sd_event_add_io(c->event, &c->quorum_source, quorum_fd, EPOLLIN, on_quorum_io, c);
        if (r >= 0)
                r = sd_event_add_io(c->event, &c->cpg_source, cpg_fd, EPOLLIN, on_cpg_io, c);
        if (r < 0) {
                *ret_what = "watching its connections";
                close_handles(c);
                return r;
        }

        *ret_what = "joining the process group '" HDHA_CLUSTER_GROUP_NAME "'";
        e = cpg_join(c->cpg, &group_name);
        if (e != CS_OK)
                goto fail;

        c->local_nodeid = nodeid;
        c->pid = (uint32_t) getpid();
        c->quorate = quorate > 0;
        load_names(c);
        return 0;

fail:
        close_handles(c);
        return cs_errno(e);
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        HdhaCluster *c = userdata;
        const char *what;
        int r;

        r = connect_once(c, &what);
        if (r < 0) {
                if (r == -EACCES && !c->outage_logged)
                        log_error("Corosync refused the connection (CS_ERR_ACCESS) while %s: hostdev-had must run "
                                  "as root, or as a user or group that corosync.conf's uidgid section allows; "
                                  "trying again in the background", what);
                else if (!c->outage_logged)
                        log_full_errno(LOG_NOTICE, r, "Cannot reach Corosync (%s): %m; trying again in the background",
                                       what);
                else
                        log_debug_errno(r, "Cannot reach Corosync (%s): %m", what);
                c->outage_logged = true;
                schedule_reconnect(c);
                return 0;
        }

        c->connected = true;
        c->outage_logged = false;
        c->backoff_usec = RECONNECT_FIRST_USEC;
        log_info("%s Corosync as node %" PRIu32 " '%s', group '%s', %s",
                 c->was_connected ? "Connected again to" : "Connected to", c->local_nodeid,
                 node_name(c, c->local_nodeid), HDHA_CLUSTER_GROUP_NAME, c->quorate ? "quorate" : "not quorate");
        c->was_connected = true;
        if (c->cb.connected_changed)
                c->cb.connected_changed(c, true, c->userdata);
        if (c->connected && c->quorate && c->cb.quorum_changed)
                c->cb.quorum_changed(c, true, c->userdata);
        return 0;
}

/* Sending */

/* 0 sent, -EAGAIN Corosync cannot take it now, another -errno: the
 * connection is failing. */
static int mcast(HdhaCluster *c, const void *buf, size_t len) {
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        cs_error_t e;

        e = cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);
        if (e == CS_OK)
                return 0;
        if (e == CS_ERR_TRY_AGAIN || e == CS_ERR_QUEUE_FULL)
                return -EAGAIN;
        cluster_fail(c, cs_errno(e), "sending a message failed");
        return -ENOTCONN;
}

static int arm_retry(HdhaCluster *c) {
        int r = sd_event_source_set_time_relative(c->retry_timer, SEND_RETRY_USEC);

        if (r >= 0)
                r = sd_event_source_set_enabled(c->retry_timer, SD_EVENT_ONESHOT);
        return r;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        HdhaCluster *c = userdata;
        int r;

        while (c->queue_head && c->connected && !c->failing) {
                QueuedMessage *m = c->queue_head;

                r = mcast(c, m->data, m->len);
                if (r == -EAGAIN) {
                        if (now_usec() - c->queue_since > HDHA_CLUSTER_SEND_TIMEOUT_USEC)
                                cluster_fail(c, -ETIMEDOUT, "it took no message for %u s (%zu waiting)",
                                             HDHA_CLUSTER_SEND_TIMEOUT_USEC / 1000000U, c->n_queued);
                        else if ((r = arm_retry(c)) < 0)
                                cluster_fail(c, r, "cannot arm the send retry timer");
                        return 0;
                }
                if (r < 0)
                        return 0;
                c->queue_head = m->next;
                if (!c->queue_head)
                        c->queue_tail = NULL;
                c->n_queued--;
                c->queue_since = now_usec();
                free(m);
        }
        return 0;
}

int hdha_cluster_send(HdhaCluster *c, const void *buf, size_t len) {
        QueuedMessage *m;
        int r;

        if (!c || !buf || len == 0)
                return -EINVAL;
        if (len > HDHA_CLUSTER_MESSAGE_MAX)
                return -EMSGSIZE;
        if (!c->connected || c->failing)
                return -ENOTCONN;

        if (!c->queue_head) {
                r = mcast(c, buf, len);
                if (r != -EAGAIN)
                        return r;
        }
        if (c->n_queued >= HDHA_CLUSTER_QUEUE_MAX)
                return -ENOBUFS;

        m = malloc(sizeof(QueuedMessage) + len);
        if (!m)
                return -ENOMEM;
        m->next = NULL;
        m->len = len;
        memcpy(m->data, buf, len);
        if (!c->queue_head) {
                r = arm_retry(c);
                if (r < 0) {
                        free(m);
                        return r;
                }
                c->queue_head = m;
                c->queue_since = now_usec();
                log_debug("Corosync cannot take messages now, queueing them");
        } else
                c->queue_tail->next = m;
        c->queue_tail = m;
        c->n_queued++;
        return 0;
}

/* Life cycle */

void hdha_cluster_get_status(const HdhaCluster *c, HdhaClusterStatus *ret) {
        *ret = (HdhaClusterStatus) {
                .connected = c->connected,
                .quorate = c->quorate,
                .local_nodeid = c->local_nodeid,
                .local_name = c->local_nodeid > 0 ? node_lookup(c, c->local_nodeid) : NULL,
                .ring_seq = c->ring_seq,
                .members = c->members,
                .n_members = c->n_members,
                .ring_nodes = c->ring_nodes,
                .n_ring_nodes = c->n_ring_nodes,
        };
}

const char *hdha_cluster_node_name(const HdhaCluster *c, uint32_t nodeid) {
        return nodeid > 0 ? node_lookup(c, nodeid) : NULL;
}

int hdha_cluster_new(sd_event *event, const HdhaClusterCallbacks *callbacks, void *userdata, HdhaCluster **ret) {
        _cleanup_(hdha_cluster_freep) HdhaCluster *c = NULL;
        int r;

        if (!event || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(HdhaCluster));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        if (callbacks)
                c->cb = *callbacks;
        c->userdata = userdata;
        c->backoff_usec = RECONNECT_FIRST_USEC;
        c->absent_max_usec = RECONNECT_MAX_USEC;

        r = sd_event_add_time_relative(event, &c->reconnect_timer, CLOCK_MONOTONIC, 0, 0, on_reconnect, c);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &c->retry_timer, CLOCK_MONOTONIC, SEND_RETRY_USEC, 0, on_retry, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->retry_timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_event_add_defer(event, &c->fail_defer, on_fail, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->fail_defer, SD_EVENT_OFF);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

HdhaCluster *hdha_cluster_free(HdhaCluster *c) {
        if (!c)
                return NULL;
        close_handles(c);
        queue_drop(c);
        c->reconnect_timer = sd_event_source_disable_unref(c->reconnect_timer);
        c->retry_timer = sd_event_source_disable_unref(c->retry_timer);
        c->fail_defer = sd_event_source_disable_unref(c->fail_defer);
        nodes_free(c->nodes, c->n_nodes);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
