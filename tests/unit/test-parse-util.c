/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "parse-util.h"

static void test_int64(void **state) {
        int64_t v = 42;

        assert_int_equal(hdha_parse_int64("-1", -1, 100, &v), 0);
        assert_int_equal(v, -1);
        assert_int_equal(hdha_parse_int64("100", -1, 100, &v), 0);
        assert_int_equal(v, 100);
        assert_int_equal(hdha_parse_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
        assert_true(v == INT64_MAX);

        v = 7;
        assert_int_equal(hdha_parse_int64("101", -1, 100, &v), -ERANGE);
        assert_int_equal(hdha_parse_int64("-2", -1, 100, &v), -ERANGE);
        assert_int_equal(hdha_parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
        assert_int_equal(hdha_parse_int64("", -1, 100, &v), -EINVAL);
        assert_int_equal(hdha_parse_int64(" 5", -1, 100, &v), -EINVAL);
        assert_int_equal(hdha_parse_int64("+5", -1, 100, &v), -EINVAL);
        assert_int_equal(hdha_parse_int64("5x", -1, 100, &v), -EINVAL);
        assert_int_equal(hdha_parse_int64("-", -1, 100, &v), -EINVAL);
        assert_int_equal(hdha_parse_int64(NULL, -1, 100, &v), -EINVAL);
        /* Failures leave the output alone. */
        assert_int_equal(v, 7);
}

static void test_uint64(void **state) {
        uint64_t v = 3;

        assert_int_equal(hdha_parse_uint64("5000", 1000, 17592186044415ULL, &v), 0);
        assert_int_equal(v, 5000);
        assert_int_equal(hdha_parse_uint64("18446744073709551615", 0, UINT64_MAX, &v), 0);
        assert_true(v == UINT64_MAX);

        v = 3;
        assert_int_equal(hdha_parse_uint64("-1", 0, 10, &v), -EINVAL);
        assert_int_equal(hdha_parse_uint64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
        assert_int_equal(hdha_parse_uint64("999", 1000, 2000, &v), -ERANGE);
        assert_int_equal(hdha_parse_uint64("0x10", 0, 100, &v), -EINVAL);
        assert_int_equal(v, 3);
}

static void test_boolean(void **state) {
        bool b = false;

        assert_int_equal(hdha_parse_boolean("yes", &b), 0);
        assert_true(b);
        assert_int_equal(hdha_parse_boolean("OFF", &b), 0);
        assert_false(b);
        assert_int_equal(hdha_parse_boolean("1", &b), 0);
        assert_true(b);
        assert_int_equal(hdha_parse_boolean("maybe", &b), -EINVAL);
        assert_int_equal(hdha_parse_boolean("", &b), -EINVAL);
        assert_true(b);
}

static void test_pci_address(void **state) {
        HdhaPciAddress a = {};

        assert_int_equal(hdha_parse_pci_address("0000:03:00.0", &a), 0);
        assert_int_equal(a.domain, 0);
        assert_int_equal(a.bus, 3);
        assert_int_equal(a.slot, 0);
        assert_int_equal(a.function, 0);

        assert_int_equal(hdha_parse_pci_address("pci_0001_af_1f_7", &a), 0);
        assert_int_equal(a.domain, 1);
        assert_int_equal(a.bus, 0xaf);
        assert_int_equal(a.slot, 0x1f);
        assert_int_equal(a.function, 7);

        assert_int_equal(hdha_parse_pci_address("02:1F.3", &a), 0);
        assert_int_equal(a.domain, 0);
        assert_int_equal(a.bus, 2);
        assert_int_equal(a.slot, 0x1f);
        assert_int_equal(a.function, 3);

        a = (HdhaPciAddress) { .bus = 9 };
        assert_int_equal(hdha_parse_pci_address("0000:03:20.0", &a), -ERANGE);
        assert_int_equal(hdha_parse_pci_address("0000:03:00.8", &a), -ERANGE);
        assert_int_equal(hdha_parse_pci_address("0000:100:00.0", &a), -ERANGE);
        assert_int_equal(hdha_parse_pci_address("0000:03:00", &a), -EINVAL);
        assert_int_equal(hdha_parse_pci_address("0000:03:00.0 ", &a), -EINVAL);
        assert_int_equal(hdha_parse_pci_address("pci_0000_03_00", &a), -EINVAL);
        assert_int_equal(hdha_parse_pci_address("eth0", &a), -EINVAL);
        assert_int_equal(hdha_parse_pci_address("", &a), -EINVAL);
        assert_int_equal(hdha_parse_pci_address("00000:03:00.0", &a), -EINVAL);
        assert_int_equal(a.bus, 9);
}

/* Part by part: the padding byte of the struct is no part. */
static void test_pci_address_equal(void **state) {
        HdhaPciAddress a, b;

        memset(&a, 0x00, sizeof(a));
        memset(&b, 0xff, sizeof(b));
        a.domain = b.domain = 0;
        a.bus = b.bus = 3;
        a.slot = b.slot = 0;
        a.function = b.function = 1;
        assert_true(hdha_pci_address_equal(&a, &b));
        b.function = 0;
        assert_false(hdha_pci_address_equal(&a, &b));
        b.function = 1;
        b.domain = 1;
        assert_false(hdha_pci_address_equal(&a, &b));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_int64),
                cmocka_unit_test(test_uint64),
                cmocka_unit_test(test_boolean),
                cmocka_unit_test(test_pci_address),
                cmocka_unit_test(test_pci_address_equal),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("parse-util", tests, NULL, NULL);
}
