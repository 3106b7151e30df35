/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdev-ha built without Corosync (configure --with-corosync=no, or its
 * libraries missing): there is no cluster to join. */
#include <errno.h>

#include "cluster.h"

int hdha_cluster_new(sd_event *event, const HdhaClusterCallbacks *callbacks, void *userdata, HdhaCluster **ret) {
        return -EOPNOTSUPP;
}

HdhaCluster *hdha_cluster_free(HdhaCluster *c) {
        return NULL;
}

void hdha_cluster_set_absent_backoff(HdhaCluster *c, uint64_t max_usec) {
}

int hdha_cluster_send(HdhaCluster *c, const void *buf, size_t len) {
        return -ENOTCONN;
}

void hdha_cluster_get_status(const HdhaCluster *c, HdhaClusterStatus *ret) {
        *ret = (HdhaClusterStatus) {};
}

const char *hdha_cluster_node_name(const HdhaCluster *c, uint32_t nodeid) {
        return NULL;
}
