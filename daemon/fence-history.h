/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

/* What Pacemaker's fencer knows of a node's fencing, asked off the loop, and
 * a watch that asks it every second about the nodes whose orphaned tokens
 * wait (docs/cluster.md, "Which failure is covered by what").
 *
 * The fencer: libstonithd's stonith_api_time(nodeid, NULL, false), the
 * completion time (wall clock, seconds) of the node's last successful
 * fencing, 0 if none. It is what Pacemaker's stonith_api_time_helper()
 * gives external users (DLM): the library is loaded with dlopen() the first
 * time it is needed ("libstonithd.so.26", else "libstonithd.so") and never
 * unloaded; the daemon does not link Pacemaker. The node is named by its
 * Corosync id, which the fencer maps to its own name for it. The call opens
 * a connection to pacemaker-fenced and may block up to its own timeout
 * (120 s), and logs a line or two to syslog ("stonith-api") itself.
 * stonith_api_time() answers 0 also when the fencer cannot be reached: the
 * fencer's IPC socket ("stonith-ng" in /proc/net/unix) is looked for first,
 * so that a fencer that is not running is "unknown", not "never fenced".
 *
 * The watch:
 *  - remembers, per node, when it last entered the totem ring as this host
 *    saw it (hdha_fence_watch_ring() after every membership), and takes this
 *    host's joining (hdha_fence_watch_joined()) as the entry of every node,
 *    in the ring or not: nothing this host did not see can be later;
 *  - asks the fencer about the watched nodes (hdha_fence_watch_set_nodes()):
 *    one query at a time, on a thread of its own; the first at once, then
 *    one every second, the nodes in turn;
 *  - calls confirmed(node, when) on the loop, once, when a fencing of a node
 *    outside the ring completed after it last entered it (strictly later, in
 *    whole seconds): that incarnation of the host is dead. Then it stops
 *    asking about that node until it is set again;
 *  - a missing library, or a fencer that is not running, is "unknown":
 *    logged once (again only after the fencer answered in between), nothing
 *    confirmed.
 *
 * Threads: every function and callback on the loop's thread. A query that
 * still blocks when the watch is freed finishes on its thread and is
 * dropped. */

#define HDHA_FENCE_POLL_USEC (1000U * 1000U)
/* Nodes watched, and nodes whose entry into the ring is remembered. */
#define HDHA_FENCE_NODES_MAX 1024U

/* How the watch asks and tells the time; hdha_fence_ops_pacemaker is the
 * real one, a unit test gives a fake. */
typedef struct HdhaFenceOps {
        /* On a thread of its own; may block. 0 and *ret_when (0: never
         * fenced), or -errno: -ELIBACC no library (permanent), -ECONNREFUSED
         * no fencer running. */
        int (*last_fenced)(uint32_t node, time_t *ret_when);
        /* The wall clock, in seconds, as the fencer's times. */
        time_t (*now)(void);
} HdhaFenceOps;

extern const HdhaFenceOps hdha_fence_ops_pacemaker;

typedef void (*HdhaFenceConfirmedFn)(void *userdata, uint32_t node, time_t when);

typedef struct HdhaFenceWatch HdhaFenceWatch;

int hdha_fence_watch_new(sd_event *event, const HdhaFenceOps *ops, HdhaFenceConfirmedFn confirmed, void *userdata,
                         HdhaFenceWatch **ret);
HdhaFenceWatch *hdha_fence_watch_free(HdhaFenceWatch *w);

/* This host (re)joined the cluster: what it knew of the ring is forgotten,
 * every node counts as entered now. */
void hdha_fence_watch_joined(HdhaFenceWatch *w);
/* The totem ring's nodes now: a node not in the previous ring entered it
 * now. */
void hdha_fence_watch_ring(HdhaFenceWatch *w, const uint32_t *nodes, size_t n);
/* When node last entered the ring, as the watch takes it (0 before
 * hdha_fence_watch_joined()). */
time_t hdha_fence_watch_entered(const HdhaFenceWatch *w, uint32_t node);

/* The nodes to ask about, replacing the previous set (at most
 * HDHA_FENCE_NODES_MAX, the rest ignored). A node already watched keeps its
 * turn; an empty set stops the asking. */
void hdha_fence_watch_set_nodes(HdhaFenceWatch *w, const uint32_t *nodes, size_t n);
