/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "device-xml.h"
#include "macro.h"

static void test_device_alias(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        assert_int_equal(hdha_device_alias("nic0", &a), 0);
        assert_string_equal(a, "ua-hostdev-nic0");
        assert_int_equal(hdha_device_alias("a.b-c_D", &b), 0);
        assert_string_equal(b, "ua-hostdev-a_b-c_D");
        assert_int_equal(hdha_device_alias("", &b), -EINVAL);

        assert_true(hdha_device_alias_is_valid("ua-x"));
        assert_true(hdha_device_alias_is_valid("ua-hostdev-a_b-9"));
        assert_false(hdha_device_alias_is_valid("ua-"));
        assert_false(hdha_device_alias_is_valid("hostdev0"));
        assert_false(hdha_device_alias_is_valid("ua-a.b"));
        assert_false(hdha_device_alias_is_valid("ua-a'b"));
        assert_false(hdha_device_alias_is_valid(NULL));
}

static void test_device_xml_pci(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        HdhaPciAddress addr = { .domain = 0, .bus = 3, .slot = 0, .function = 0 };
        char *x = NULL;

        assert_int_equal(hdha_device_xml_pci(&addr, false, "ua-hostdev-g", &a), 0);
        assert_string_equal(a,
                            "<hostdev mode='subsystem' type='pci' managed='no'><source>"
                            "<address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>"
                            "</source><alias name='ua-hostdev-g'/></hostdev>");

        addr = (HdhaPciAddress) { .domain = 0xabcd, .bus = 0xaf, .slot = 0x1f, .function = 7 };
        assert_int_equal(hdha_device_xml_pci(&addr, true, "ua-x", &b), 0);
        assert_string_equal(b,
                            "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
                            "<address domain='0xabcd' bus='0xaf' slot='0x1f' function='0x7'/>"
                            "</source><alias name='ua-x'/></hostdev>");

        assert_int_equal(hdha_device_xml_pci(&addr, true, "x'/><evil", &x), -EINVAL);
        assert_null(x);
}

static void test_device_xml_set_alias(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;
        char *x = NULL;

        assert_int_equal(hdha_device_xml_set_alias(
                        "<?xml version='1.0'?>\n<!-- c -->\n<interface type='network'>"
                        "<source network='default'/><model type='e1000e'/></interface>",
                        "ua-hostdev-nic0", &a), 0);
        assert_string_equal(a, "<interface type=\"network\"><source network=\"default\"/>"
                            "<model type=\"e1000e\"/><alias name=\"ua-hostdev-nic0\"/></interface>");

        /* An alias the file had is replaced, in place, and only one is kept. */
        assert_int_equal(hdha_device_xml_set_alias(
                        "<hostdev mode='subsystem' type='mdev'><alias name='ua-old'/>"
                        "<source/><alias name='ua-older'/></hostdev>",
                        "ua-hostdev-m", &b), 0);
        assert_string_equal(b, "<hostdev mode=\"subsystem\" type=\"mdev\"><alias name=\"ua-hostdev-m\"/>"
                            "<source/></hostdev>");

        /* Only the root's own child counts; nested aliases are left alone. */
        assert_int_equal(hdha_device_xml_set_alias("<disk><x><alias name='a'/></x></disk>", "ua-d", &c), 0);
        assert_string_equal(c, "<disk><x><alias name=\"a\"/></x><alias name=\"ua-d\"/></disk>");

        /* Special characters in the rest of the document survive. */
        assert_int_equal(hdha_device_xml_set_alias("<x a='&lt;&amp;'>t&gt;</x>", "ua-y", &d), 0);
        assert_string_equal(d, "<x a=\"&lt;&amp;\">t&gt;<alias name=\"ua-y\"/></x>");

        /* An element in a namespace is not libvirt's <alias>; a root in
         * one would take the new alias into it. */
        assert_int_equal(hdha_device_xml_set_alias("<x:h xmlns:x='urn:x'/>", "ua-y", &x), -EINVAL);
        assert_int_equal(hdha_device_xml_set_alias("<h xmlns='urn:x'/>", "ua-y", &x), -EINVAL);
        assert_int_equal(hdha_device_xml_set_alias("<h xmlns:x='urn:x'><x:alias name='a'/></h>", "ua-y", &e), 0);
        assert_string_equal(e, "<h xmlns:x=\"urn:x\"><x:alias name=\"a\"/><alias name=\"ua-y\"/></h>");
        assert_int_equal(hdha_device_xml_alias(e, &f), 0);
        assert_string_equal(f, "ua-y");

        assert_int_equal(hdha_device_xml_set_alias("<x>", "ua-y", &x), -EINVAL);
        assert_int_equal(hdha_device_xml_set_alias("", "ua-y", &x), -EINVAL);
        assert_int_equal(hdha_device_xml_set_alias("<x/>", "hostdev0", &x), -EINVAL);
        assert_null(x);
}

static void test_device_xml_build(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        char *x = NULL;
        HdhaGroupConfig pci = {
                .name = (char *) "a.b",
                .device_kind = HDHA_DEVICE_PCI,
                .pci = { .domain = 0, .bus = 0x81, .slot = 0, .function = 2 },
                .managed = true,
        };
        HdhaGroupConfig xml = {
                .name = (char *) "nic",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml = (char *) "<interface type='network'><alias name='net7'/>"
                                       "<model type='e1000e'/></interface>\n",
        };

        assert_int_equal(hdha_device_xml_build(&pci, &a), 0);
        assert_string_equal(a,
                            "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
                            "<address domain='0x0000' bus='0x81' slot='0x00' function='0x2'/>"
                            "</source><alias name='ua-hostdev-a_b'/></hostdev>");
        assert_int_equal(hdha_device_xml_build(&xml, &b), 0);
        assert_string_equal(b, "<interface type=\"network\"><alias name=\"ua-hostdev-nic\"/>"
                            "<model type=\"e1000e\"/></interface>");

        xml.device_kind = _HDHA_DEVICE_KIND_INVALID;
        assert_int_equal(hdha_device_xml_build(&xml, &x), -EINVAL);
        assert_null(x);
}

static void test_device_xml_validate(void **state) {
        static const char ok[] = "<?xml version='1.0'?>\n<!-- c -->\n<hostdev/>\n";
        static const char doctype[] = "<!DOCTYPE x [<!ENTITY a 'b'>]>\n<x>&a;</x>\n";
        static const char bad[] = "<hostdev>\n<source>\n</hostdev>\n";
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL;
        char *m = NULL;

        assert_int_equal(hdha_device_xml_validate(ok, sizeof(ok) - 1, "ok.xml", &m), 0);
        assert_null(m);
        assert_int_equal(hdha_device_xml_validate(doctype, sizeof(doctype) - 1, "d.xml", &m1), -EINVAL);
        assert_string_equal(m1, "DOCTYPE is not allowed");
        /* The first error, not a consequence of it. */
        assert_int_equal(hdha_device_xml_validate(bad, sizeof(bad) - 1, "b.xml", &m2), -EINVAL);
        assert_true(strncmp(m2, "line 3: Opening and ending tag mismatch", 39) == 0);
        assert_int_equal(hdha_device_xml_validate("", 0, "e.xml", &m3), -EINVAL);
        assert_true(strncmp(m3, "line 1: ", 8) == 0);
        /* Trailing garbage, two roots. */
        assert_int_equal(hdha_device_xml_validate("<a/><b/>", 8, "t.xml", NULL), -EINVAL);
        /* A NUL byte, even after the root element. */
        assert_int_equal(hdha_device_xml_validate("<a/>\0", 5, "z.xml", &m5), -EINVAL);
        assert_string_equal(m5, "contains a NUL byte");
        assert_int_equal(hdha_device_xml_validate("<a>\0</a>", 8, "z.xml", NULL), -EINVAL);
        /* A root element in a namespace. */
        assert_int_equal(hdha_device_xml_validate("<x:a xmlns:x='u'/>", 18, "n.xml", &m4), -EINVAL);
        assert_string_equal(m4, "the root element is in a namespace");
        assert_int_equal(hdha_device_xml_validate("<a xmlns='u'/>", 14, "n.xml", NULL), -EINVAL);
        assert_int_equal(hdha_device_xml_validate("<a xmlns:x='u'><x:b/></a>", 25, "n.xml", NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_device_alias),
                cmocka_unit_test(test_device_xml_pci),
                cmocka_unit_test(test_device_xml_set_alias),
                cmocka_unit_test(test_device_xml_build),
                cmocka_unit_test(test_device_xml_validate),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("device-xml", tests, NULL, NULL);
}
