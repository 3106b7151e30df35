/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

/* "hostdevctl status --cluster": Manager1.GetClusterStatus() parsed, and
 * printed as text or JSON (hostdevctl(1)). No bus calls here, so that the
 * unit test drives the formatting. Strings are owned; "" = none, as on the
 * bus. */

typedef struct CtlClusterGroup {
        char *host;
        char *group;
        char *active;
        uint64_t generation;
        char *operation;
        char *step;
        bool frozen;
} CtlClusterGroup;

typedef struct CtlClusterToken {
        char *group;
        char *state; /* free, held, orphaned */
        char *holder_host;
        char *holder_domain;
        uint64_t generation;
} CtlClusterToken;

typedef struct CtlCluster {
        bool connected;
        bool quorate;
        char *node;
        CtlClusterGroup *groups;
        size_t n_groups;
        CtlClusterToken *tokens;
        size_t n_tokens;
} CtlCluster;

CtlCluster *ctl_cluster_free(CtlCluster *c);
static inline void ctl_cluster_freep(CtlCluster **c) {
        *c = ctl_cluster_free(*c);
}

/* Reads the reply of GetClusterStatus(): 0 and *ret, or -errno (-ENOMEM, or
 * sd-bus's for a reply of another signature). */
int ctl_cluster_parse(sd_bus_message *reply, CtlCluster **ret);
/* Appends a copy: for building a view by hand (tests). */
int ctl_cluster_add_group(CtlCluster *c, const CtlClusterGroup *g);
int ctl_cluster_add_token(CtlCluster *c, const CtlClusterToken *t);

/* group has an entry or a token in the view. */
bool ctl_cluster_has_group(const CtlCluster *c, const char *group);

/* The view (only group's entries and token unless group is NULL) as
 * {"cluster": {connected, quorate, node}, "groups": [{group, host, active,
 * generation, operation, step, frozen}], "tokens": [{group, state,
 * holder_host, holder_domain, generation}]}, null for "". NULL on ENOMEM. */
json_object *ctl_cluster_json(const CtlCluster *c, const char *group);
/* The same as text: a line about the cluster, a table of the (group, host)
 * entries and, if there are tokens, a table of them. 0 or -errno. */
int ctl_cluster_print(const CtlCluster *c, const char *group, FILE *f);
