/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A table with every kind of content, for the table's unit tests. */
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "table-sample.h"

HdhaTable *table_sample(void) {
        HdhaTable *t = NULL;
        HdhaTableGroup *g;

        assert_int_equal(hdha_table_new(&t), 0);

        /* A switch in flight. */
        assert_int_equal(hdha_table_add_group(t, "nic0", &g), 0);
        assert_int_equal(hdha_table_group_add_member(g, "vm-a", HDHA_ROLE_ACTIVE), 1);
        assert_int_equal(hdha_table_group_add_member(g, "vm-b", HDHA_ROLE_STANDBY), 1);
        assert_int_equal(hdha_table_group_add_member(g, "vm-c", HDHA_ROLE_DEACTIVATED), 1);
        assert_int_equal(hdha_table_group_set_active(g, "vm-a"), 1);
        assert_int_equal(hdha_table_group_set_operation(g, HDHA_OPERATION_SWITCH, HDHA_STEP_WAITING_RELEASE,
                                                        "vm-a", "vm-b"), 1);
        /* Pacemaker's instances of two members, frozen. */
        assert_int_equal(hdha_table_group_set_instance(g, "vm-a", "hd:0", "node1"), 1);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "hd:1", "node \"2\""), 1);
        assert_int_equal(hdha_table_group_set_frozen(g, true), 1);

        /* Nothing allocated; names JSON must escape. */
        assert_int_equal(hdha_table_add_group(t, "hba \"1\"", &g), 0);
        assert_int_equal(hdha_table_group_add_member(g, "db-1 \\ é", HDHA_ROLE_FAILED), 1);
        assert_int_equal(hdha_table_group_add_member(g, "db-2", HDHA_ROLE_REBUILDING), 1);

        /* A release without a target, and a generation beyond INT64_MAX. */
        assert_int_equal(hdha_table_add_group(t, "acc2", &g), 0);
        assert_int_equal(hdha_table_group_add_member(g, "x", HDHA_ROLE_ACTIVE), 1);
        assert_int_equal(hdha_table_group_add_member(g, "y", HDHA_ROLE_STANDBY), 1);
        assert_int_equal(hdha_table_group_set_active(g, "x"), 1);
        assert_int_equal(hdha_table_group_set_operation(g, HDHA_OPERATION_RELEASE, HDHA_STEP_DONE, "x", NULL), 1);
        g->generation = UINT64_MAX - 1;
        return t;
}
