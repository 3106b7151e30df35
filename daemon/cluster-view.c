/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster view the bus shows: building, sorting, freeing it, and the
 * view of a host's own groups from the manager's table (all a host in no
 * cluster has to show). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster-view.h"
#include "macro.h"
#include "table.h"

static void view_group_done(HdhaClusterViewGroup *g) {
        free(g->host);
        free(g->group);
        free(g->active);
        free(g->operation);
        free(g->step);
}

static void view_token_done(HdhaClusterViewToken *t) {
        free(t->group);
        free(t->state);
        free(t->holder_host);
        free(t->holder_domain);
}

void hdha_cluster_view_done(HdhaClusterView *v) {
        if (!v)
                return;
        for (size_t i = 0; i < v->n_groups; i++)
                view_group_done(&v->groups[i]);
        for (size_t i = 0; i < v->n_tokens; i++)
                view_token_done(&v->tokens[i]);
        free(v->groups);
        free(v->tokens);
        free(v->node);
        *v = (HdhaClusterView) {};
}

/* *ret := a copy of s (NULL stays NULL). */
static int strdup_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int hdha_cluster_view_add_group(HdhaClusterView *v, const HdhaClusterViewGroup *g) {
        HdhaClusterViewGroup copy = { .generation = g->generation, .frozen = g->frozen };
        HdhaClusterViewGroup *a;

        if (!g->host || !g->group)
                return -EINVAL;
        if (strdup_null(g->host, &copy.host) < 0 || strdup_null(g->group, &copy.group) < 0 ||
            strdup_null(g->active, &copy.active) < 0 || strdup_null(g->operation, &copy.operation) < 0 ||
            strdup_null(g->step, &copy.step) < 0)
                goto oom;
        a = reallocarray(v->groups, v->n_groups + 1, sizeof(*a));
        if (!a)
                goto oom;
        v->groups = a;
        v->groups[v->n_groups++] = copy;
        return 0;
oom:
        view_group_done(&copy);
        return -ENOMEM;
}

int hdha_cluster_view_add_token(HdhaClusterView *v, const HdhaClusterViewToken *t) {
        HdhaClusterViewToken copy = { .generation = t->generation };
        HdhaClusterViewToken *a;

        if (!t->group || !t->state)
                return -EINVAL;
        if (strdup_null(t->group, &copy.group) < 0 || strdup_null(t->state, &copy.state) < 0 ||
            strdup_null(t->holder_host, &copy.holder_host) < 0 ||
            strdup_null(t->holder_domain, &copy.holder_domain) < 0)
                goto oom;
        a = reallocarray(v->tokens, v->n_tokens + 1, sizeof(*a));
        if (!a)
                goto oom;
        v->tokens = a;
        v->tokens[v->n_tokens++] = copy;
        return 0;
oom:
        view_token_done(&copy);
        return -ENOMEM;
}

int hdha_cluster_view_add_local(HdhaClusterView *v, const HdhaManager *m, const char *host) {
        HdhaGroupStatus s;
        int r;

        for (size_t i = 0; hdha_manager_group_status(m, i, &s) >= 0; i++) {
                const HdhaClusterViewGroup g = {
                        .host = (char *) host,
                        .group = (char *) s.name,
                        .active = s.table ? s.table->active : NULL,
                        .generation = s.table ? s.table->generation : 0,
                        .operation = s.table && s.table->operation != HDHA_OPERATION_NONE
                                             ? (char *) hdha_operation_to_string(s.table->operation)
                                             : NULL,
                        .step = s.table && s.table->step != HDHA_STEP_NONE
                                        ? (char *) hdha_step_to_string(s.table->step)
                                        : NULL,
                        .frozen = s.frozen,
                };

                r = hdha_cluster_view_add_group(v, &g);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hdha_cluster_view_standalone(const HdhaManager *m, HdhaClusterView *ret) {
        _cleanup_(hdha_cluster_view_done) HdhaClusterView v = {};
        char host[HOST_NAME_MAX + 1] = {};
        int r;

        if (gethostname(host, sizeof(host) - 1) < 0)
                return -errno;
        r = hdha_cluster_view_add_local(&v, m, host);
        if (r < 0)
                return r;
        hdha_cluster_view_sort(&v);
        *ret = v;
        v = (HdhaClusterView) {};
        return 0;
}

static int group_compare(const void *a, const void *b) {
        const HdhaClusterViewGroup *x = a, *y = b;
        int c = strcmp(x->group, y->group);

        return c != 0 ? c : strcmp(x->host, y->host);
}

static int token_compare(const void *a, const void *b) {
        const HdhaClusterViewToken *x = a, *y = b;

        return strcmp(x->group, y->group);
}

void hdha_cluster_view_sort(HdhaClusterView *v) {
        if (v->n_groups > 1)
                qsort(v->groups, v->n_groups, sizeof(*v->groups), group_compare);
        if (v->n_tokens > 1)
                qsort(v->tokens, v->n_tokens, sizeof(*v->tokens), token_compare);
}

const HdhaClusterViewToken *hdha_cluster_view_find_token(const HdhaClusterView *v, const char *group) {
        for (size_t i = 0; i < v->n_tokens; i++)
                if (streq(v->tokens[i].group, group))
                        return &v->tokens[i];
        return NULL;
}
