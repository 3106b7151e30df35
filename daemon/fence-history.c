/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pacemaker's fencer, asked when a node was last fenced: see fence-history.h. */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fence-history.h"
#include "log.h"
#include "macro.h"

/* --- The fencer, through libstonithd -------------------------------------------- */

/* As Pacemaker's crm/stonith-ng.h declares it (lib/fencing/st_client.c). */
typedef time_t (*StonithApiTimeFn)(uint32_t nodeid, const char *uname, bool in_progress);

static pthread_once_t stonith_once = PTHREAD_ONCE_INIT;
static StonithApiTimeFn stonith_api_time_fn;

static void stonith_load(void) {
        static const char *const names[] = { "libstonithd.so.26", "libstonithd.so" };
        void *lib = NULL, *sym;

        /* Never closed: a query may still run in it when the watch goes. */
        for (size_t i = 0; i < ELEMENTSOF(names) && !lib; i++)
                lib = dlopen(names[i], RTLD_LAZY | RTLD_LOCAL);
        if (!lib)
                return;
        sym = dlsym(lib, "stonith_api_time");
        memcpy(&stonith_api_time_fn, &sym, sizeof(sym));
}

/* The fencer's IPC socket is listed in /proc/net/unix: libqb binds it as
 * the abstract "\0stonith-ng" padded with NULs to the address's full size
 * (listed as "@stonith-ng@@@..."), or as a file ".../stonith-ng".
 * Unreadable: taken as there. */
static bool fencer_listens(void) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        bool found = false;
        FILE *f;

        f = fopen("/proc/net/unix", "re");
        if (!f)
                return true;
        while (!found && getline(&line, &size, f) > 0) {
                size_t len = strcspn(line, "\n");
                const char *path;

                while (len > 0 && line[len - 1] == '@')
                        len--;
                line[len] = '\0';
                path = strrchr(line, ' ');
                found = path && (streq(path + 1, "@stonith-ng") ||
                                 (len >= 11 && streq(line + len - 11, "/stonith-ng")));
        }
        fclose(f);
        return found;
}

static int pacemaker_last_fenced(uint32_t node, time_t *ret_when) {
        (void) pthread_once(&stonith_once, stonith_load);
        if (!stonith_api_time_fn)
                return -ELIBACC;
        if (!fencer_listens())
                return -ECONNREFUSED;
        /* By node id: the fencer maps it to its name for the node. */
        *ret_when = stonith_api_time_fn(node, NULL, false);
        return 0;
}

static time_t wall_clock(void) {
        return time(NULL);
}

const HdhaFenceOps hdha_fence_ops_pacemaker = {
        .last_fenced = pacemaker_last_fenced,
        .now = wall_clock,
};

/* --- One query on a thread ------------------------------------------------------ */

/* Shared by the loop and the query's thread, freed by the last of the two:
 * the thread writes its answer, then wakes the loop through efd. */
typedef struct Query {
        int n_ref;
        int efd;
        int (*last_fenced)(uint32_t node, time_t *ret_when);
        uint32_t node;
        int r;
        time_t when;
} Query;

static void query_unref(Query *q) {
        if (!q || __atomic_sub_fetch(&q->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        if (q->efd >= 0)
                close(q->efd);
        free(q);
}

static void *query_main(void *userdata) {
        Query *q = userdata;
        uint64_t one = 1;
        time_t when = 0;

        q->r = q->last_fenced(q->node, &when);
        q->when = when;
        __atomic_thread_fence(__ATOMIC_RELEASE);
        (void) !write(q->efd, &one, sizeof(one));
        query_unref(q);
        return NULL;
}

/* A second means a second, not sd-event's default slack of 250 ms. */
#define HDHA_FENCE_POLL_ACCURACY_USEC (10U * 1000U)

/* --- The watch ---------------------------------------------------------------- */

typedef struct RingNode {
        uint32_t node;
        time_t entered;
        bool in_ring;
} RingNode;

struct HdhaFenceWatch {
        sd_event *event;
        const HdhaFenceOps *ops;
        HdhaFenceConfirmedFn confirmed;
        void *userdata;

        time_t joined;          /* 0: not joined yet */
        RingNode ring[HDHA_FENCE_NODES_MAX];
        size_t n_ring;
        bool ring_full;         /* a node could not be remembered */

        uint32_t watched[HDHA_FENCE_NODES_MAX];
        size_t n_watched, next; /* next: whose turn it is */
        sd_event_source *timer;

        Query *query;           /* the one in flight */
        sd_event_source *query_source;

        bool no_library;        /* logged, asked no more */
        bool unknown_logged;    /* the fencer did not run, logged */
};

static RingNode *ring_find(HdhaFenceWatch *w, uint32_t node) {
        for (size_t i = 0; i < w->n_ring; i++)
                if (w->ring[i].node == node)
                        return &w->ring[i];
        return NULL;
}

void hdha_fence_watch_joined(HdhaFenceWatch *w) {
        w->joined = w->ops->now();
        w->n_ring = 0;
        w->ring_full = false;
}

void hdha_fence_watch_ring(HdhaFenceWatch *w, const uint32_t *nodes, size_t n) {
        time_t now = w->ops->now();

        for (size_t i = 0; i < w->n_ring; i++) {
                bool in = false;

                for (size_t j = 0; j < n && !in; j++)
                        in = nodes[j] == w->ring[i].node;
                if (in && !w->ring[i].in_ring)
                        w->ring[i].entered = now;
                w->ring[i].in_ring = in;
        }
        for (size_t j = 0; j < n; j++) {
                if (ring_find(w, nodes[j]))
                        continue;
                if (w->n_ring >= ELEMENTSOF(w->ring)) {
                        w->ring_full = true;
                        continue;
                }
                w->ring[w->n_ring++] = (RingNode) { .node = nodes[j], .entered = now, .in_ring = true };
        }
        /* A node seen in no ring since this host joined entered before. */
}

time_t hdha_fence_watch_entered(const HdhaFenceWatch *w, uint32_t node) {
        for (size_t i = 0; i < w->n_ring; i++)
                if (w->ring[i].node == node)
                        return w->ring[i].entered;
        /* A node the table had no room for may have entered any time. */
        return w->ring_full ? w->ops->now() : w->joined;
}

static bool in_ring(HdhaFenceWatch *w, uint32_t node) {
        RingNode *e = ring_find(w, node);

        return e && e->in_ring;
}

static void watched_remove(HdhaFenceWatch *w, uint32_t node) {
        for (size_t i = 0; i < w->n_watched; i++)
                if (w->watched[i] == node) {
                        memmove(w->watched + i, w->watched + i + 1, (w->n_watched - i - 1) * sizeof(w->watched[0]));
                        w->n_watched--;
                        if (w->next > i)
                                w->next--;
                        return;
                }
}

static void timer_arm(HdhaFenceWatch *w, uint64_t usec);

static void query_answered(HdhaFenceWatch *w, uint32_t node, int r, time_t when) {
        time_t entered;
        bool watched = false;

        if (r == -ELIBACC) {
                log_warning("Pacemaker's fencer library (libstonithd) could not be loaded: fencing cannot be "
                            "confirmed, ignoring.");
                w->no_library = true;
                w->timer = sd_event_source_disable_unref(w->timer);
                return;
        }
        if (r < 0) {
                if (!w->unknown_logged)
                        log_warning_errno(r, "Pacemaker's fencer cannot be asked whether node %" PRIu32 " was fenced "
                                          "(%m): not confirmed, ignoring.", node);
                w->unknown_logged = true;
                return;
        }
        if (w->unknown_logged)
                log_info("Pacemaker's fencer answers again.");
        w->unknown_logged = false;

        for (size_t i = 0; i < w->n_watched && !watched; i++)
                watched = w->watched[i] == node;
        entered = hdha_fence_watch_entered(w, node);
        log_debug("Pacemaker's fencer: node %" PRIu32 " last fenced at %lld, entered the ring at %lld.", node,
                  (long long) when, (long long) entered);
        /* A fencing in the second it entered may have been of the incarnation
         * before: only a later one counts. */
        if (!watched || when <= 0 || when <= entered || in_ring(w, node))
                return;
        watched_remove(w, node);
        w->confirmed(w->userdata, node, when);
}

static int on_query_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HdhaFenceWatch *w = userdata;
        Query *q = w->query;
        uint64_t v;

        if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
                return 0;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        w->query = NULL;
        w->query_source = sd_event_source_disable_unref(w->query_source);
        query_answered(w, q->node, q->r, q->when);
        query_unref(q);
        return 0;
}

static int query_start(HdhaFenceWatch *w, uint32_t node) {
        pthread_attr_t attr;
        pthread_t thread;
        Query *q;
        int r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (Query) { .n_ref = 1, .last_fenced = w->ops->last_fenced, .node = node };
        q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->efd < 0) {
                r = -errno;
                free(q);
                return r;
        }
        r = sd_event_add_io(w->event, &w->query_source, q->efd, EPOLLIN, on_query_done, w);
        if (r < 0) {
                query_unref(q);
                return r;
        }
        q->n_ref++; /* the thread's */
        r = -pthread_attr_init(&attr);
        if (r == 0) {
                (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = -pthread_create(&thread, &attr, query_main, q);
                (void) pthread_attr_destroy(&attr);
        }
        if (r < 0) {
                w->query_source = sd_event_source_disable_unref(w->query_source);
                q->n_ref--;
                query_unref(q);
                return r;
        }
        w->query = q;
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HdhaFenceWatch *w = userdata;
        uint32_t node;
        int r;

        if (w->n_watched == 0 || w->no_library) {
                w->timer = sd_event_source_disable_unref(w->timer);
                return 0;
        }
        timer_arm(w, HDHA_FENCE_POLL_USEC);
        if (w->query)
                return 0; /* one at a time: still waiting for the last */
        if (w->next >= w->n_watched)
                w->next = 0;
        node = w->watched[w->next++];
        r = query_start(w, node);
        if (r < 0)
                log_warning_errno(r, "Failed to ask Pacemaker's fencer about node %" PRIu32 ", ignoring: %m", node);
        return 0;
}

static void timer_arm(HdhaFenceWatch *w, uint64_t usec) {
        int r;

        if (w->timer) {
                r = sd_event_source_set_time_relative(w->timer, usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(w->event, &w->timer, CLOCK_MONOTONIC, usec, HDHA_FENCE_POLL_ACCURACY_USEC,
                                               on_timer, w);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the timer that asks Pacemaker's fencer, ignoring: %m");
}

void hdha_fence_watch_set_nodes(HdhaFenceWatch *w, const uint32_t *nodes, size_t n) {
        uint32_t keep[HDHA_FENCE_NODES_MAX];
        size_t n_keep = 0;
        bool added = false;

        n = MIN(n, ELEMENTSOF(keep));
        /* Those watched already first, in their order, so that turns go on. */
        for (size_t i = 0; i < w->n_watched; i++)
                for (size_t j = 0; j < n; j++)
                        if (nodes[j] == w->watched[i]) {
                                keep[n_keep++] = nodes[j];
                                break;
                        }
        for (size_t j = 0; j < n; j++) {
                bool seen = false;

                for (size_t i = 0; i < n_keep && !seen; i++)
                        seen = keep[i] == nodes[j];
                if (!seen) {
                        keep[n_keep++] = nodes[j];
                        added = true;
                }
        }
        memcpy(w->watched, keep, n_keep * sizeof(keep[0]));
        w->n_watched = n_keep;
        if (w->next >= n_keep)
                w->next = 0;
        if (n_keep == 0 || w->no_library)
                w->timer = sd_event_source_disable_unref(w->timer);
        else if (added || !w->timer)
                timer_arm(w, 0); /* a new node: ask at once */
}

int hdha_fence_watch_new(sd_event *event, const HdhaFenceOps *ops, HdhaFenceConfirmedFn confirmed, void *userdata,
                         HdhaFenceWatch **ret) {
        HdhaFenceWatch *w;

        if (!event || !ops || !ops->last_fenced || !ops->now || !confirmed || !ret)
                return -EINVAL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->ops = ops;
        w->confirmed = confirmed;
        w->userdata = userdata;
        *ret = w;
        return 0;
}

HdhaFenceWatch *hdha_fence_watch_free(HdhaFenceWatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->timer);
        /* A query still running finishes on its thread; its answer is
         * dropped with the last reference. */
        sd_event_source_disable_unref(w->query_source);
        query_unref(w->query);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}
