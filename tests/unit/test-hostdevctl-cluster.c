/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdevctl status --cluster: the text and JSON of a cluster view, with
 * and without a cluster, for every group or one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hostdevctl-cluster.h"
#include "macro.h"

/* What a host in no cluster answers: its groups under its own name. */
static CtlCluster *view_standalone(void) {
        CtlCluster *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        c->node = strdup("");
        assert_int_equal(ctl_cluster_add_group(c, &(CtlClusterGroup) { .host = (char *) "host1",
                                                                        .group = (char *) "nic0",
                                                                        .active = (char *) "vm-a",
                                                                        .generation = 12 }),
                         0);
        assert_int_equal(ctl_cluster_add_group(c, &(CtlClusterGroup) { .host = (char *) "host1",
                                                                        .group = (char *) "web-1",
                                                                        .active = (char *) "",
                                                                        .generation = 3,
                                                                        .operation = (char *) "",
                                                                        .step = (char *) "",
                                                                        .frozen = true }),
                         0);
        return c;
}

/* Two hosts with nic0; node2 switching; web-1 on node2 only, its token
 * orphaned. */
static CtlCluster *view_cluster(void) {
        CtlCluster *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        c->connected = c->quorate = true;
        c->node = strdup("node1");
        assert_int_equal(ctl_cluster_add_group(c, &(CtlClusterGroup) { .host = (char *) "node1",
                                                                        .group = (char *) "nic0",
                                                                        .active = (char *) "vm-a",
                                                                        .generation = 12 }),
                         0);
        assert_int_equal(ctl_cluster_add_group(c, &(CtlClusterGroup) { .host = (char *) "node2",
                                                                        .group = (char *) "nic0",
                                                                        .generation = 7,
                                                                        .operation = (char *) "switch",
                                                                        .step = (char *) "raising-quota" }),
                         0);
        assert_int_equal(ctl_cluster_add_group(c, &(CtlClusterGroup) { .host = (char *) "node2",
                                                                        .group = (char *) "web-1",
                                                                        .active = (char *) "vm-e",
                                                                        .generation = 1 }),
                         0);
        assert_int_equal(ctl_cluster_add_token(c, &(CtlClusterToken) { .group = (char *) "nic0",
                                                                        .state = (char *) "held",
                                                                        .holder_host = (char *) "node1",
                                                                        .holder_domain = (char *) "vm-a",
                                                                        .generation = 5 }),
                         0);
        assert_int_equal(ctl_cluster_add_token(c, &(CtlClusterToken) { .group = (char *) "web-1",
                                                                        .state = (char *) "orphaned",
                                                                        .holder_host = (char *) "node2",
                                                                        .holder_domain = (char *) "vm-e",
                                                                        .generation = 2 }),
                         0);
        return c;
}

static void check_text(const CtlCluster *c, const char *group, const char *want) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        assert_int_equal(ctl_cluster_print(c, group, f), 0);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(buf, want);
}

static void check_json(const CtlCluster *c, const char *group, const char *want) {
        json_object *o = ctl_cluster_json(c, group);

        assert_non_null(o);
        assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                            want);
        json_object_put(o);
}

static void test_standalone(void **state) {
        _cleanup_(ctl_cluster_freep) CtlCluster *c = view_standalone();

        check_text(c, NULL,
                   "Cluster: not connected\n"
                   "\n"
                   "GROUP  HOST   ACTIVE  GEN  OPERATION  FROZEN\n"
                   "nic0   host1  vm-a    12   -          no\n"
                   "web-1  host1  -       3    -          yes\n");
        check_json(c, NULL,
                   "{\"cluster\":{\"connected\":false,\"quorate\":false,\"node\":null},"
                   "\"groups\":[{\"group\":\"nic0\",\"host\":\"host1\",\"active\":\"vm-a\",\"generation\":12,"
                   "\"operation\":null,\"step\":null,\"frozen\":false},"
                   "{\"group\":\"web-1\",\"host\":\"host1\",\"active\":null,\"generation\":3,"
                   "\"operation\":null,\"step\":null,\"frozen\":true}],"
                   "\"tokens\":[]}");
        check_text(c, "web-1",
                   "Cluster: not connected\n"
                   "\n"
                   "GROUP  HOST   ACTIVE  GEN  OPERATION  FROZEN\n"
                   "web-1  host1  -       3    -          yes\n");
        assert_true(ctl_cluster_has_group(c, "nic0"));
        assert_false(ctl_cluster_has_group(c, "nic9"));
}

static void test_cluster(void **state) {
        _cleanup_(ctl_cluster_freep) CtlCluster *c = view_cluster();

        check_text(c, NULL,
                   "Cluster: connected, quorate, node 'node1'\n"
                   "\n"
                   "GROUP  HOST   ACTIVE  GEN  OPERATION             FROZEN\n"
                   "nic0   node1  vm-a    12   -                     no\n"
                   "nic0   node2  -       7    switch/raising-quota  no\n"
                   "web-1  node2  vm-e    1    -                     no\n"
                   "\n"
                   "GROUP  TOKEN     HOLDER  DOMAIN  GEN\n"
                   "nic0   held      node1   vm-a    5\n"
                   "web-1  orphaned  node2   vm-e    2\n");
        check_text(c, "nic0",
                   "Cluster: connected, quorate, node 'node1'\n"
                   "\n"
                   "GROUP  HOST   ACTIVE  GEN  OPERATION             FROZEN\n"
                   "nic0   node1  vm-a    12   -                     no\n"
                   "nic0   node2  -       7    switch/raising-quota  no\n"
                   "\n"
                   "GROUP  TOKEN  HOLDER  DOMAIN  GEN\n"
                   "nic0   held   node1   vm-a    5\n");
        check_json(c, "web-1",
                   "{\"cluster\":{\"connected\":true,\"quorate\":true,\"node\":\"node1\"},"
                   "\"groups\":[{\"group\":\"web-1\",\"host\":\"node2\",\"active\":\"vm-e\",\"generation\":1,"
                   "\"operation\":null,\"step\":null,\"frozen\":false}],"
                   "\"tokens\":[{\"group\":\"web-1\",\"state\":\"orphaned\",\"holder_host\":\"node2\","
                   "\"holder_domain\":\"vm-e\",\"generation\":2}]}");

        c->quorate = false;
        check_text(c, "nic9", "Cluster: connected, not quorate, node 'node1'\n");
        assert_true(ctl_cluster_has_group(c, "web-1"));
}

/* A token without an entry: the group is known to the cluster, but no host
 * reported it yet. */
static void test_token_only(void **state) {
        _cleanup_(ctl_cluster_freep) CtlCluster *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        c->connected = true;
        assert_int_equal(ctl_cluster_add_token(c, &(CtlClusterToken) { .group = (char *) "nic0",
                                                                        .state = (char *) "free" }),
                         0);
        assert_true(ctl_cluster_has_group(c, "nic0"));
        check_text(c, NULL,
                   "Cluster: connected, not quorate, node '-'\n"
                   "\n"
                   "GROUP  TOKEN  HOLDER  DOMAIN  GEN\n"
                   "nic0   free   -       -       0\n");
        check_json(c, NULL,
                   "{\"cluster\":{\"connected\":true,\"quorate\":false,\"node\":null},\"groups\":[],"
                   "\"tokens\":[{\"group\":\"nic0\",\"state\":\"free\",\"holder_host\":null,"
                   "\"holder_domain\":null,\"generation\":0}]}");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_standalone),
                cmocka_unit_test(test_cluster),
                cmocka_unit_test(test_token_only),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
