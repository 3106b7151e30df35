/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster view the bus shows (daemon/cluster-view.c): entries copied,
 * sorted by group then host, tokens by group, found by group, freed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster-view.h"
#include "macro.h"

static void add(HdhaClusterView *v, const char *host, const char *group, const char *active, uint64_t gen) {
        char h[32], g[32];

        /* Copied: the caller's strings may go. */
        snprintf(h, sizeof(h), "%s", host);
        snprintf(g, sizeof(g), "%s", group);
        assert_int_equal(hdha_cluster_view_add_group(v, &(HdhaClusterViewGroup) { .host = h,
                                                                                   .group = g,
                                                                                   .active = (char *) active,
                                                                                   .generation = gen }),
                         0);
        memset(h, 'x', sizeof(h) - 1);
        memset(g, 'x', sizeof(g) - 1);
}

static void test_view(void **state) {
        _cleanup_(hdha_cluster_view_done) HdhaClusterView v = {};
        const HdhaClusterViewToken *t;

        add(&v, "node2", "nic0", NULL, 7);
        add(&v, "node1", "web-1", "vm-e", 1);
        add(&v, "node1", "nic0", "vm-a", 12);
        assert_int_equal(hdha_cluster_view_add_token(&v, &(HdhaClusterViewToken) { .group = (char *) "web-1",
                                                                                    .state = (char *) "free" }),
                         0);
        assert_int_equal(hdha_cluster_view_add_token(&v, &(HdhaClusterViewToken) { .group = (char *) "nic0",
                                                                                    .state = (char *) "held",
                                                                                    .holder_host = (char *) "node1",
                                                                                    .holder_domain = (char *) "vm-a",
                                                                                    .generation = 5 }),
                         0);
        /* Without host, group or state: refused, nothing added. */
        assert_int_equal(hdha_cluster_view_add_group(&v, &(HdhaClusterViewGroup) { .group = (char *) "nic0" }),
                         -EINVAL);
        assert_int_equal(hdha_cluster_view_add_token(&v, &(HdhaClusterViewToken) { .group = (char *) "nic0" }),
                         -EINVAL);
        assert_int_equal(v.n_groups, 3);
        assert_int_equal(v.n_tokens, 2);

        hdha_cluster_view_sort(&v);
        assert_string_equal(v.groups[0].group, "nic0");
        assert_string_equal(v.groups[0].host, "node1");
        assert_string_equal(v.groups[0].active, "vm-a");
        assert_int_equal(v.groups[0].generation, 12);
        assert_string_equal(v.groups[1].host, "node2");
        assert_null(v.groups[1].active);
        assert_string_equal(v.groups[2].group, "web-1");
        assert_string_equal(v.tokens[0].group, "nic0");
        assert_string_equal(v.tokens[1].group, "web-1");

        t = hdha_cluster_view_find_token(&v, "nic0");
        assert_non_null(t);
        assert_string_equal(t->holder_domain, "vm-a");
        assert_int_equal(t->generation, 5);
        t = hdha_cluster_view_find_token(&v, "web-1");
        assert_non_null(t);
        assert_null(t->holder_host);
        assert_null(hdha_cluster_view_find_token(&v, "nic9"));

        hdha_cluster_view_done(&v);
        assert_int_equal(v.n_groups, 0);
        assert_null(v.groups);
        /* Twice is harmless (the cleanup runs once more). */
        hdha_cluster_view_done(&v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_view),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
