/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-cluster-token: the cluster token's round trip on the real Corosync,
 * through the daemon's own link (daemon/cluster.c) and token table
 * (daemon/cluster-arbiter.c).
 *
 *   bench-cluster-token --serve
 *   bench-cluster-token --request N --nodes K
 *
 * Every node runs one; each publishes its (empty) state after every
 * membership, as hostdev-had does. The requester waits until the group has
 * K members and their states are in, then N times: sends a REQUEST for the
 * token of group "bench" and times it until the grant is delivered back in
 * agreed order, then gives the token back (RELEASE) and waits for that too.
 * It prints one line per round and a summary:
 *
 *   token round trip on K nodes: median X ms (min Y, max Z), N rounds
 *
 * A server runs until its stdin ends. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "cluster-arbiter.h"
#include "cluster-msg.h"
#include "cluster.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

#define GROUP "bench"
#define DOMAIN "vm-bench"
#define ROUNDS_MAX 10000U

static sd_event *loop;
static HdhaCluster *link_;
static HdhaClusterArbiter *arbiter;
static unsigned arg_rounds, arg_nodes;
static size_t n_members, n_states;
static uint64_t ring_seq;
static bool started;
static unsigned round_;
static uint64_t sent_at;
static double *samples;

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

static int send_msg(const HdhaClusterMsg *m) {
        _cleanup_free_ void *buf = NULL;
        size_t size;
        int r;

        r = hdha_cluster_msg_encode_alloc(m, &buf, &size);
        if (r < 0)
                return r;
        return hdha_cluster_send(link_, buf, size);
}

static void request(void) {
        int r;

        sent_at = now_usec();
        r = send_msg(&(const HdhaClusterMsg) {
                .type = HDHA_CLUSTER_MSG_REQUEST, .ring_seq = ring_seq, .group = GROUP, .domain = DOMAIN });
        if (r < 0) {
                log_error_errno(r, "Failed to send the request: %m");
                sd_event_exit(loop, 1);
        }
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static void summary(void) {
        qsort(samples, arg_rounds, sizeof(samples[0]), compare_double);
        printf("token round trip on %u nodes: median %.2f ms (min %.2f, max %.2f), %u rounds\n", arg_nodes,
               samples[arg_rounds / 2], samples[0], samples[arg_rounds - 1], arg_rounds);
        sd_event_exit(loop, 0);
}

static void on_request_done(void *userdata, const char *group, const char *domain, int r, const HdhaToken *t) {
        int k;

        if (!arg_rounds || r == -ESTALE) {
                if (arg_rounds)
                        request(); /* a membership came in between: ask again */
                return;
        }
        if (r < 0) {
                log_error_errno(r, "The request for the token was refused: %m");
                sd_event_exit(loop, 1);
                return;
        }
        samples[round_] = (double) (now_usec() - sent_at) / 1000.0;
        printf("round %u: request -> grant %.2f ms (generation %" PRIu64 ")\n", round_ + 1, samples[round_],
               t->generation);
        k = send_msg(&(const HdhaClusterMsg) { .type = HDHA_CLUSTER_MSG_RELEASE, .ring_seq = ring_seq,
                                               .group = GROUP, .generation = t->generation });
        if (k < 0) {
                log_error_errno(k, "Failed to send the release: %m");
                sd_event_exit(loop, 1);
        }
}

static void on_token_changed(void *userdata, const HdhaToken *t) {
        if (!arg_rounds || t->state != HDHA_TOKEN_FREE || !started)
                return;
        if (++round_ == arg_rounds)
                summary();
        else
                request();
}

static void publish(void) {
        _cleanup_free_ void *buf = NULL;
        size_t size;

        if (hdha_cluster_arbiter_state_message(arbiter, NULL, 0, &buf, &size) < 0 ||
            hdha_cluster_send(link_, buf, size) < 0)
                log_warning("Failed to publish the state, ignoring.");
}

static void on_connected(HdhaCluster *c, bool connected, void *userdata) {
        HdhaClusterStatus st;
        HdhaClusterArbiterCallbacks cb = {
                .request_done = on_request_done,
                .token_changed = on_token_changed,
        };

        if (!connected) {
                log_error("Lost Corosync.");
                sd_event_exit(loop, 1);
                return;
        }
        hdha_cluster_get_status(c, &st);
        if (!arbiter && hdha_cluster_arbiter_new(st.local_nodeid, &cb, &arbiter) < 0) {
                log_error("Out of memory.");
                sd_event_exit(loop, 1);
        }
}

static void on_membership(HdhaCluster *c, uint64_t seq, const HdhaClusterMember *members, size_t n,
                          void *userdata) {
        uint32_t ids[HDHA_CLUSTER_NODES_MAX];

        if (!arbiter)
                return;
        n = MIN(n, ELEMENTSOF(ids));
        for (size_t i = 0; i < n; i++)
                ids[i] = members[i].nodeid;
        (void) hdha_cluster_arbiter_membership(arbiter, seq, ids, n);
        ring_seq = seq;
        n_members = n;
        n_states = 0;
        publish();
}

static void on_deliver(HdhaCluster *c, uint32_t node, const void *buf, size_t len, void *userdata) {
        _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *m = NULL;

        if (!arbiter)
                return;
        (void) hdha_cluster_arbiter_deliver(arbiter, node, buf, len);
        if (started || !arg_rounds || hdha_cluster_msg_decode(buf, len, &m, NULL) < 0 ||
            m->type != HDHA_CLUSTER_MSG_STATE || m->ring_seq != ring_seq)
                return;
        /* Every member's state of this ring is in, and all are there. */
        if (++n_states == n_members && n_members == arg_nodes) {
                started = true;
                request();
        }
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[256];
        ssize_t k = read(fd, buf, sizeof(buf));

        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                return sd_event_exit(loop, 0);
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "serve", no_argument, NULL, 's' },
                { "request", required_argument, NULL, 'r' },
                { "nodes", required_argument, NULL, 'n' },
                {},
        };
        bool serve = false;
        uint64_t v;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        serve = true;
                        break;
                case 'r':
                        if (hdha_parse_uint64(optarg, 1, ROUNDS_MAX, &v) < 0)
                                return log_error_errno(-EINVAL, "Bad --request '%s'.", optarg);
                        arg_rounds = (unsigned) v;
                        break;
                case 'n':
                        if (hdha_parse_uint64(optarg, 1, HDHA_CLUSTER_NODES_MAX, &v) < 0)
                                return log_error_errno(-EINVAL, "Bad --nodes '%s'.", optarg);
                        arg_nodes = (unsigned) v;
                        break;
                default:
                        return -EINVAL;
                }
        if (serve == (arg_rounds > 0) || (arg_rounds > 0 && arg_nodes == 0) || optind < argc)
                return log_error_errno(-EINVAL, "Usage: %s --serve | --request N --nodes K", argv[0]);
        return 0;
}

int main(int argc, char *argv[]) {
        static const HdhaClusterCallbacks callbacks = {
                .connected_changed = on_connected,
                .membership = on_membership,
                .deliver = on_deliver,
        };
        sd_event_source *in = NULL;
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        hdha_log_open("bench-cluster-token");
        hdha_log_set_max_level(LOG_WARNING); /* the token table logs every grant */
        if (parse_argv(argc, argv) < 0)
                return 2;
        if (arg_rounds && !(samples = calloc(arg_rounds, sizeof(samples[0]))))
                return log_oom(), 1;

        r = sd_event_default(&loop);
        if (r >= 0)
                r = hdha_cluster_new(loop, &callbacks, NULL, &link_);
        if (r >= 0 && !arg_rounds)
                r = sd_event_add_io(loop, &in, STDIN_FILENO, EPOLLIN, on_stdin, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to set up: %m"), 1;
        r = sd_event_loop(loop);
        sd_event_source_unref(in);
        link_ = hdha_cluster_free(link_);
        arbiter = hdha_cluster_arbiter_free(arbiter);
        sd_event_unref(loop);
        free(samples);
        return r < 0 ? 1 : r;
}
