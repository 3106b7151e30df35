/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table in memory: its names, groups, generations,
 * instances and comparison (its files: test-table-file.c; its journal:
 * test-table-journal.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "macro.h"
#include "table.h"
#include "table-sample.h"

/* ---- enums ---------------------------------------------------------------- */

static void test_enum_strings(void **state) {
        for (int i = 0; i < _HDHA_ROLE_MAX; i++) {
                assert_non_null(hdha_role_to_string(i));
                assert_int_equal(hdha_role_from_string(hdha_role_to_string(i)), i);
        }
        for (int i = 0; i < _HDHA_OPERATION_MAX; i++) {
                assert_non_null(hdha_operation_to_string(i));
                assert_int_equal(hdha_operation_from_string(hdha_operation_to_string(i)), i);
        }
        for (int i = 0; i < _HDHA_STEP_MAX; i++) {
                assert_non_null(hdha_step_to_string(i));
                assert_int_equal(hdha_step_from_string(hdha_step_to_string(i)), i);
        }
        assert_null(hdha_role_to_string(_HDHA_ROLE_MAX));
        assert_null(hdha_role_to_string(_HDHA_ROLE_INVALID));
        assert_null(hdha_operation_to_string(_HDHA_OPERATION_MAX));
        assert_null(hdha_step_to_string(_HDHA_STEP_MAX));
        assert_null(hdha_step_to_string(-1));
        assert_int_equal(hdha_role_from_string("spare"), -EINVAL);
        assert_int_equal(hdha_role_from_string(NULL), -EINVAL);
        assert_int_equal(hdha_operation_from_string("Switch"), -EINVAL);
        assert_int_equal(hdha_step_from_string(""), -EINVAL);

        assert_string_equal(hdha_role_to_string(HDHA_ROLE_DEACTIVATED), "deactivated");
        assert_string_equal(hdha_operation_to_string(HDHA_OPERATION_FAILOVER), "failover");
        assert_string_equal(hdha_step_to_string(HDHA_STEP_WAITING_RELEASE), "waiting-release");
        assert_int_equal(hdha_step_from_string("lowering-quota"), HDHA_STEP_LOWERING_QUOTA);
}

/* ---- the model ------------------------------------------------------------ */

static void test_groups(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        HdhaTableGroup *g = NULL, *g2 = (HdhaTableGroup *) 1;
        char name[HDHA_TABLE_NAME_MAX + 2];

        assert_int_equal(hdha_table_new(&t), 0);
        assert_int_equal(hdha_table_add_group(t, "nic0", &g), 0);
        assert_ptr_equal(hdha_table_get_group(t, "nic0"), g);
        assert_null(hdha_table_get_group(t, "nic1"));
        assert_int_equal(hdha_table_add_group(t, "nic0", &g2), -EEXIST);
        assert_ptr_equal(g2, (HdhaTableGroup *) 1);
        assert_int_equal(hdha_table_add_group(t, "", NULL), -EINVAL);
        assert_int_equal(hdha_table_add_group(t, "a/b", NULL), -EINVAL);
        assert_int_equal(hdha_table_add_group(t, "a\nb", NULL), -EINVAL);
        assert_int_equal(hdha_table_add_group(t, NULL, NULL), -EINVAL);
        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        assert_int_equal(hdha_table_add_group(t, name, NULL), -EINVAL);
        name[HDHA_TABLE_NAME_MAX] = 0;
        assert_int_equal(hdha_table_add_group(t, name, NULL), 0);

        for (int i = (int) t->n_groups; i < HDHA_TABLE_GROUPS_MAX; i++) {
                char n[16];

                (void) snprintf(n, sizeof(n), "g%d", i);
                assert_int_equal(hdha_table_add_group(t, n, NULL), 0);
        }
        assert_int_equal(hdha_table_add_group(t, "one-more", NULL), -E2BIG);
        /* Pointers stay valid while the array grows. */
        assert_string_equal(g->name, "nic0");

        assert_int_equal(hdha_table_remove_group(t, "nic0"), 0);
        assert_int_equal(hdha_table_remove_group(t, "nic0"), -ENOENT);
        assert_null(hdha_table_get_group(t, "nic0"));
        assert_int_equal(t->n_groups, HDHA_TABLE_GROUPS_MAX - 1);
        assert_int_equal(hdha_table_add_group(t, "nic0", NULL), 0);

        for (int i = 0; i < HDHA_TABLE_MEMBERS_MAX; i++) {
                char n[16];

                (void) snprintf(n, sizeof(n), "vm%d", i);
                assert_int_equal(hdha_table_group_add_member(t->groups[0], n, HDHA_ROLE_STANDBY), 1);
        }
        assert_int_equal(hdha_table_group_add_member(t->groups[0], "vm-x", HDHA_ROLE_STANDBY), -E2BIG);
}

static void test_generation(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        HdhaTableGroup *g;
        uint64_t gen;

        assert_int_equal(hdha_table_new(&t), 0);
        assert_int_equal(hdha_table_add_group(t, "nic0", &g), 0);
        assert_true(g->generation == 0);
        assert_null(g->active);
        assert_int_equal(g->operation, HDHA_OPERATION_NONE);
        assert_int_equal(g->step, HDHA_STEP_NONE);

#define CHANGED(call)                                   \
        do {                                            \
                gen = g->generation;                    \
                assert_int_equal((call), 1);            \
                assert_true(g->generation == gen + 1);  \
        } while (0)
#define KEPT(call, expected)                            \
        do {                                            \
                gen = g->generation;                    \
                assert_int_equal((call), (expected));   \
                assert_true(g->generation == gen);      \
        } while (0)

        CHANGED(hdha_table_group_add_member(g, "vm-a", HDHA_ROLE_ACTIVE));
        CHANGED(hdha_table_group_add_member(g, "vm-b", HDHA_ROLE_STANDBY));
        CHANGED(hdha_table_group_add_member(g, "vm-c", HDHA_ROLE_STANDBY));
        KEPT(hdha_table_group_add_member(g, "vm-b", HDHA_ROLE_STANDBY), -EEXIST);
        KEPT(hdha_table_group_add_member(g, "vm-d", HDHA_ROLE_ACTIVE), -EBUSY);
        KEPT(hdha_table_group_add_member(g, "vm-d", _HDHA_ROLE_MAX), -EINVAL);
        KEPT(hdha_table_group_add_member(g, "", HDHA_ROLE_STANDBY), -EINVAL);

        CHANGED(hdha_table_group_set_active(g, "vm-a"));
        KEPT(hdha_table_group_set_active(g, "vm-a"), 0);
        KEPT(hdha_table_group_set_active(g, "vm-z"), -ENOENT);
        assert_string_equal(g->active, "vm-a");

        KEPT(hdha_table_group_set_role(g, "vm-a", HDHA_ROLE_ACTIVE), 0);
        KEPT(hdha_table_group_set_role(g, "vm-b", HDHA_ROLE_ACTIVE), -EBUSY);
        KEPT(hdha_table_group_set_role(g, "vm-z", HDHA_ROLE_FAILED), -ENOENT);
        KEPT(hdha_table_group_set_role(g, "vm-b", _HDHA_ROLE_INVALID), -EINVAL);
        CHANGED(hdha_table_group_set_role(g, "vm-c", HDHA_ROLE_DEACTIVATED));

        KEPT(hdha_table_group_set_step(g, HDHA_STEP_DETACHING), -EINVAL);
        KEPT(hdha_table_group_set_step(g, HDHA_STEP_NONE), 0);
        KEPT(hdha_table_group_clear_operation(g), 0);
        KEPT(hdha_table_group_set_operation(g, HDHA_OPERATION_NONE, HDHA_STEP_DETACHING, NULL, NULL), -EINVAL);
        KEPT(hdha_table_group_set_operation(g, HDHA_OPERATION_NONE, HDHA_STEP_NONE, "vm-a", NULL), -EINVAL);
        KEPT(hdha_table_group_set_operation(g, HDHA_OPERATION_SWITCH, HDHA_STEP_NONE, "vm-a", "vm-z"), -ENOENT);
        KEPT(hdha_table_group_set_operation(g, _HDHA_OPERATION_MAX, HDHA_STEP_NONE, NULL, NULL), -EINVAL);

        CHANGED(hdha_table_group_set_operation(g, HDHA_OPERATION_SWITCH, HDHA_STEP_NONE, "vm-a", "vm-b"));
        KEPT(hdha_table_group_set_operation(g, HDHA_OPERATION_SWITCH, HDHA_STEP_NONE, "vm-a", "vm-b"), 0);
        CHANGED(hdha_table_group_set_step(g, HDHA_STEP_RAISING_QUOTA));
        KEPT(hdha_table_group_set_step(g, HDHA_STEP_RAISING_QUOTA), 0);
        KEPT(hdha_table_group_set_step(g, _HDHA_STEP_MAX), -EINVAL);
        CHANGED(hdha_table_group_set_step(g, HDHA_STEP_DETACHING));
        KEPT(hdha_table_group_remove_member(g, "vm-b"), -EBUSY); /* the target */
        KEPT(hdha_table_group_remove_member(g, "vm-a"), -EBUSY); /* active and source */
        CHANGED(hdha_table_group_set_role(g, "vm-a", HDHA_ROLE_STANDBY));
        CHANGED(hdha_table_group_set_active(g, NULL));
        KEPT(hdha_table_group_set_active(g, NULL), 0);
        CHANGED(hdha_table_group_set_role(g, "vm-b", HDHA_ROLE_ACTIVE));
        CHANGED(hdha_table_group_set_active(g, "vm-b"));
        assert_string_equal(g->op_source, "vm-a");
        assert_string_equal(g->op_target, "vm-b");
        CHANGED(hdha_table_group_clear_operation(g));
        assert_null(g->op_source);
        assert_null(g->op_target);
        assert_int_equal(g->step, HDHA_STEP_NONE);
        KEPT(hdha_table_group_clear_operation(g), 0);

        CHANGED(hdha_table_group_remove_member(g, "vm-c"));
        KEPT(hdha_table_group_remove_member(g, "vm-c"), -ENOENT);
        assert_int_equal(g->n_members, 2);
        assert_null(hdha_table_group_get_member(g, "vm-c"));
        assert_int_equal(hdha_table_group_get_member(g, "vm-b")->role, HDHA_ROLE_ACTIVE);
        assert_true(g->generation == 14);
#undef CHANGED
#undef KEPT
}

static void test_frozen_instance(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        HdhaTableGroup *g;
        char name[HDHA_TABLE_NAME_MAX + 2];

        assert_int_equal(hdha_table_new(&t), 0);
        assert_int_equal(hdha_table_add_group(t, "nic0", &g), 0);
        assert_int_equal(hdha_table_group_add_member(g, "vm-a", HDHA_ROLE_ACTIVE), 1);
        assert_int_equal(hdha_table_group_add_member(g, "vm-b", HDHA_ROLE_STANDBY), 1);
        assert_true(g->generation == 2);
        assert_false(g->frozen);
        assert_null(g->members[0].resource);
        assert_null(g->members[0].node);

        /* Kept beside the allocation: the generation does not follow. */
        assert_int_equal(hdha_table_group_set_frozen(g, true), 1);
        assert_int_equal(hdha_table_group_set_frozen(g, true), 0);
        assert_true(g->frozen);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "hd:1", "node1"), 1);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "hd:1", "node1"), 0);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "hd:1", "node2"), 1);
        assert_string_equal(g->members[1].resource, "hd:1");
        assert_string_equal(g->members[1].node, "node2");
        assert_true(g->generation == 2);

        /* Refused: not a member, one of the two, bad names; nothing changes. */
        assert_int_equal(hdha_table_group_set_instance(g, "vm-z", "hd:9", "node1"), -ENOENT);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "hd:1", NULL), -EINVAL);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", NULL, "node1"), -EINVAL);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "", "node1"), -EINVAL);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "hd:1", "a/b"), -EINVAL);
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", "hd\n1", "node1"), -EINVAL);
        memset(name, 'r', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", name, "node1"), -EINVAL);
        assert_string_equal(g->members[1].resource, "hd:1");
        assert_string_equal(g->members[1].node, "node2");

        /* Forgotten again. */
        assert_int_equal(hdha_table_group_set_instance(g, "vm-b", NULL, NULL), 1);
        assert_null(g->members[1].resource);
        assert_null(g->members[1].node);
        assert_int_equal(hdha_table_group_set_frozen(g, false), 1);
        assert_true(g->generation == 2);
}

static void test_dup_equal(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *a = table_sample(), *b = NULL, *e = NULL;

        assert_int_equal(hdha_table_dup(a, &b), 0);
        assert_true(hdha_table_equal(a, b));
        assert_true(hdha_table_equal(NULL, NULL));
        assert_false(hdha_table_equal(a, NULL));
        assert_string_equal(b->groups[0]->members[1].node, "node \"2\"");
        assert_true(b->groups[0]->frozen);
        assert_int_equal(hdha_table_group_set_frozen(b->groups[0], false), 1);
        assert_false(hdha_table_equal(a, b));
        assert_int_equal(hdha_table_group_set_frozen(b->groups[0], true), 1);
        assert_true(hdha_table_equal(a, b));
        assert_int_equal(hdha_table_group_set_instance(b->groups[0], "vm-a", "hd:0", "node2"), 1);
        assert_false(hdha_table_equal(a, b));
        assert_int_equal(hdha_table_group_set_instance(b->groups[0], "vm-a", "hd:0", "node1"), 1);
        assert_true(hdha_table_equal(a, b));
        assert_int_equal(hdha_table_group_set_step(b->groups[0], HDHA_STEP_ATTACHING), 1);
        assert_false(hdha_table_equal(a, b));
        assert_int_equal(hdha_table_new(&e), 0);
        assert_false(hdha_table_equal(a, e));
}


int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_enum_strings),
                cmocka_unit_test(test_groups),
                cmocka_unit_test(test_generation),
                cmocka_unit_test(test_frozen_instance),
                cmocka_unit_test(test_dup_equal),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("table", tests, NULL, NULL);
}
