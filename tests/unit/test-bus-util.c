/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus error names and errnos (both ways, through sd-bus's own
 * mapping), and the object paths of groups. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus-util.h"
#include "macro.h"

static void test_error_round_trip(void **state) {
        size_t n = 0;

        /* Registering twice is harmless. */
        assert_true(hdha_bus_error_register() >= 0);
        assert_true(hdha_bus_error_register() >= 0);
        for (const sd_bus_error_map *e = hdha_bus_error_map; e->name; e++, n++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                const sd_bus_error_map *first = hdha_bus_error_map;

                assert_true(strncmp(e->name, "org.hostdevha.Error.", 20) == 0);
                /* errno -> name -> the errno of the name's first row */
                while (strcmp(first->name, e->name) != 0)
                        first++;
                assert_string_equal(hdha_bus_error_from_errno(-e->code), e->name);
                assert_string_equal(hdha_bus_error_from_errno(e->code), e->name);
                assert_int_equal(sd_bus_error_set(&error, e->name, "message"), -first->code);
                assert_int_equal(sd_bus_error_get_errno(&error), first->code);
                assert_true(sd_bus_error_has_name(&error, e->name));
                /* Each errno once. */
                for (const sd_bus_error_map *f = e + 1; f->name; f++)
                        assert_int_not_equal(e->code, f->code);
        }
        assert_int_equal(n, 19);

        assert_string_equal(hdha_bus_error_from_errno(-ENOENT), HDHA_BUS_ERROR_NO_SUCH_GROUP);
        assert_string_equal(hdha_bus_error_from_errno(-EBUSY), HDHA_BUS_ERROR_BUSY);
        assert_string_equal(hdha_bus_error_from_errno(-ESRCH), HDHA_BUS_ERROR_NOT_STANDBY);
        assert_string_equal(hdha_bus_error_from_errno(-ECANCELED), HDHA_BUS_ERROR_INTERRUPTED);
        assert_string_equal(hdha_bus_error_from_errno(-EPERM), HDHA_BUS_ERROR_ACCESS_DENIED);
        assert_string_equal(hdha_bus_error_from_errno(-ETIMEDOUT), HDHA_BUS_ERROR_PACEMAKER_FAILURE);
        assert_string_equal(hdha_bus_error_from_errno(-ENOTCONN), HDHA_BUS_ERROR_PACEMAKER_FAILURE);
        assert_string_equal(hdha_bus_error_from_errno(-EIO), HDHA_BUS_ERROR_LIBVIRT_FAILURE);
        assert_string_equal(hdha_bus_error_from_errno(-ENOSPC), HDHA_BUS_ERROR_STATE_WRITE_FAILURE);
        assert_string_equal(hdha_bus_error_from_errno(-EUSERS), HDHA_BUS_ERROR_HELD_ELSEWHERE);
        assert_string_equal(hdha_bus_error_from_errno(EUSERS), HDHA_BUS_ERROR_HELD_ELSEWHERE);
        assert_string_equal(hdha_bus_error_from_errno(-ENOLINK), HDHA_BUS_ERROR_NO_QUORUM);
        assert_string_equal(hdha_bus_error_from_errno(ENOLINK), HDHA_BUS_ERROR_NO_QUORUM);
        assert_null(hdha_bus_error_from_errno(-ENOMEM));
        assert_null(hdha_bus_error_from_errno(0));
}

static void check_path(const char *group, const char *path) {
        _cleanup_free_ char *p = NULL, *g = NULL;

        assert_int_equal(hdha_bus_group_path(group, &p), 0);
        assert_string_equal(p, path);
        assert_true(sd_bus_object_path_is_valid(p));
        assert_int_equal(hdha_bus_group_from_path(p, &g), 1);
        assert_string_equal(g, group);
}

static void test_group_paths(void **state) {
        char *g = NULL;

        check_path("nic0", "/org/hostdevha/Manager1/group/nic0");
        check_path("web-1", "/org/hostdevha/Manager1/group/web_2d1");
        check_path("a.b_c", "/org/hostdevha/Manager1/group/a_2eb_5fc");
        check_path("0nic", "/org/hostdevha/Manager1/group/_30nic");
        check_path("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                   "/org/hostdevha/Manager1/group/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

        assert_int_equal(hdha_bus_group_path("", &g), -EINVAL);
        assert_int_equal(hdha_bus_group_path(NULL, &g), -EINVAL);
        /* Not a group's path: other prefix, the prefix itself, deeper, or
         * a name the configuration would refuse. */
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group/nic0/x", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/groups/nic0", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group/_2e_2e", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group/a_2fb", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group/_", &g), 0);
        /* Not an object path at all. */
        assert_int_equal(hdha_bus_group_from_path("nic0", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group/nic0/", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group//nic0", &g), 0);
        assert_int_equal(hdha_bus_group_from_path("/org/hostdevha/Manager1/group/nic-0", &g), 0);
        assert_int_equal(hdha_bus_group_from_path(NULL, &g), 0);
        assert_null(g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_round_trip),
                cmocka_unit_test(test_group_paths),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
