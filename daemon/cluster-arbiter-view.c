/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster's view of every host's groups: what each member published
 * in its last STATE, dropped when it leaves. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-arbiter-internal.h"
#include "log.h"
#include "macro.h"

void cluster_arbiter_copy_name(char *dst, size_t size, const char *src) {
        size_t n = src ? strlen(src) : 0;

        /* Names come from decoded messages: never longer than the field. */
        n = MIN(n, size - 1);
        memcpy(dst, src ?: "", n);
        dst[n] = 0;
}

/* The range [*ret_start, *ret_end) of node's entries in the view. */
static void host_range(const HdhaClusterArbiter *a, uint32_t node, size_t *ret_start, size_t *ret_end) {
        size_t s = 0, e;

        while (s < a->n_host_groups && a->host_groups[s].node < node)
                s++;
        for (e = s; e < a->n_host_groups && a->host_groups[e].node == node; e++)
                ;
        *ret_start = s;
        *ret_end = e;
}

static int host_group_cmp(const void *x, const void *y) {
        const ClusterArbiterHostGroup *a = x, *b = y;

        if (a->node != b->node)
                return a->node < b->node ? -1 : 1;
        return strcmp(a->group, b->group);
}

static bool host_groups_equal(const ClusterArbiterHostGroup *a, const ClusterArbiterHostGroup *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a[i].node != b[i].node || !streq(a[i].group, b[i].group) || !streq(a[i].active, b[i].active) ||
                    a[i].generation != b[i].generation || a[i].operation != b[i].operation ||
                    a[i].step != b[i].step || a[i].frozen != b[i].frozen)
                        return false;
        return true;
}

/* Replaces node's part of the view with the n entries at v (sorted). */
static int host_view_replace(HdhaClusterArbiter *a, uint32_t node, const ClusterArbiterHostGroup *v,
                             size_t n) {
        ClusterArbiterHostGroup *hg;
        size_t s, e, total;

        host_range(a, node, &s, &e);
        if (e - s == n && host_groups_equal(a->host_groups + s, v, n))
                return 0;

        total = a->n_host_groups - (e - s) + n;
        hg = malloc(MAX(total, (size_t) 1) * sizeof(ClusterArbiterHostGroup));
        if (!hg)
                return -ENOMEM;
        if (a->host_groups) {
                memcpy(hg, a->host_groups, s * sizeof(ClusterArbiterHostGroup));
                memcpy(hg + s + n, a->host_groups + e, (a->n_host_groups - e) * sizeof(ClusterArbiterHostGroup));
        }
        if (n > 0)
                memcpy(hg + s, v, n * sizeof(ClusterArbiterHostGroup));
        free(a->host_groups);
        a->host_groups = hg;
        a->n_host_groups = total;
        return 1;
}

int cluster_arbiter_view_set(HdhaClusterArbiter *a, uint32_t node, const HdhaClusterMsgGroup *groups,
                             size_t n_groups) {
        _cleanup_free_ ClusterArbiterHostGroup *view = NULL;

        view = calloc(MAX(n_groups, (size_t) 1), sizeof(ClusterArbiterHostGroup));
        if (!view)
                return -ENOMEM;
        for (size_t i = 0; i < n_groups; i++) {
                view[i] = (ClusterArbiterHostGroup) {
                        .node = node,
                        .generation = groups[i].generation,
                        .operation = groups[i].operation,
                        .step = groups[i].step,
                        .frozen = groups[i].frozen,
                };
                cluster_arbiter_copy_name(view[i].group, sizeof(view[i].group), groups[i].group);
                cluster_arbiter_copy_name(view[i].active, sizeof(view[i].active), groups[i].active);
        }
        qsort(view, n_groups, sizeof(ClusterArbiterHostGroup), host_group_cmp);
        return host_view_replace(a, node, view, n_groups);
}

void cluster_arbiter_view_drop_departed(HdhaClusterArbiter *a) {
        for (size_t i = 0; i < a->n_host_groups;) {
                uint32_t node = a->host_groups[i].node;
                size_t s, e;

                host_range(a, node, &s, &e);
                if (hdha_cluster_arbiter_is_member(a, node)) {
                        i = e;
                        continue;
                }
                memmove(a->host_groups + s, a->host_groups + e,
                        (a->n_host_groups - e) * sizeof(ClusterArbiterHostGroup));
                a->n_host_groups -= e - s;
                log_info("Node %" PRIu32 " left: dropping its %zu groups from the view.", node, e - s);
                if (a->cb.view_changed)
                        a->cb.view_changed(a->cb.userdata, node);
        }
}

size_t hdha_cluster_arbiter_n_host_groups(const HdhaClusterArbiter *a) {
        return a->n_host_groups;
}

int hdha_cluster_arbiter_host_group(const HdhaClusterArbiter *a, size_t i, HdhaHostGroup *ret) {
        const ClusterArbiterHostGroup *g;

        if (i >= a->n_host_groups)
                return -ERANGE;
        g = &a->host_groups[i];
        *ret = (HdhaHostGroup) {
                .node = g->node,
                .group = g->group,
                .active = g->active[0] ? g->active : NULL,
                .generation = g->generation,
                .operation = hdha_operation_to_string(g->operation),
                .step = hdha_step_to_string(g->step),
                .frozen = g->frozen,
        };
        return 0;
}
