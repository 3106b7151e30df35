/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager.h"

/* The cluster as the bus shows it (Manager1.GetClusterStatus(),
 * docs/dbus-api.md): plain data with owned strings, filled by whoever knows
 * the cluster (main.c, through the bus's HdhaBusEnv) and read by the bus,
 * which knows nothing of Corosync. A host in no cluster shows itself: not
 * connected, no tokens, and one entry per local group under its own name
 * (hdha_cluster_view_add_local()). */

/* One host's state of one of its groups. */
typedef struct HdhaClusterViewGroup {
        char *host;      /* the node name of the host this entry is from */
        char *group;
        char *active;    /* NULL: on no domain */
        uint64_t generation;
        char *operation; /* NULL: none */
        char *step;      /* NULL: none */
        bool frozen;
} HdhaClusterViewGroup;

/* A group's cluster token: which host may attach its device. */
typedef struct HdhaClusterViewToken {
        char *group;
        char *state;         /* "free", "held" or "orphaned" (its holder left the membership) */
        char *holder_host;   /* NULL when free */
        char *holder_domain; /* NULL when free */
        uint64_t generation;
} HdhaClusterViewToken;

typedef struct HdhaClusterView {
        bool connected; /* joined to the cluster */
        bool quorate;
        char *node;     /* this host's node name in the cluster; NULL when not connected */
        HdhaClusterViewGroup *groups;
        size_t n_groups;
        HdhaClusterViewToken *tokens;
        size_t n_tokens;
} HdhaClusterView;

/* Frees what v holds and leaves it empty ({}); for _cleanup_(). */
void hdha_cluster_view_done(HdhaClusterView *v);

/* Append a copy of g / t (its strings duplicated): 0 or -ENOMEM, -EINVAL
 * without host, group or state. */
int hdha_cluster_view_add_group(HdhaClusterView *v, const HdhaClusterViewGroup *g);
int hdha_cluster_view_add_token(HdhaClusterView *v, const HdhaClusterViewToken *t);

/* One entry per group of the manager's table, from host. */
int hdha_cluster_view_add_local(HdhaClusterView *v, const HdhaManager *m, const char *host);

/* The whole answer of a host in no cluster: not connected, not quorate, no
 * node name, no tokens, and one entry per group of the manager's table
 * under this host's name (gethostname()). */
int hdha_cluster_view_standalone(const HdhaManager *m, HdhaClusterView *ret);

/* Groups by (group, host), tokens by group: the order the bus sends. */
void hdha_cluster_view_sort(HdhaClusterView *v);

/* The token of group, or NULL. */
const HdhaClusterViewToken *hdha_cluster_view_find_token(const HdhaClusterView *v, const char *group);
