/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "guest-channel-xml.h"
#include "macro.h"

#define CHANNEL(mode, path, name)                                                         \
        "<channel type='unix'><source mode='" mode "'" path "/>"                          \
        "<target type='virtio' name='" name "' state='disconnected'/>"                    \
        "<alias name='channel0'/></channel>"

static int find(const char *xml, char **ret) {
        *ret = NULL;
        return hdha_guest_channel_find_path(xml, ret);
}

static void test_found(void **state) {
        _cleanup_free_ char *p = NULL;

        assert_int_equal(find("<domain type='qemu' id='3'><name>vm-a</name><devices>"
                              CHANNEL("bind", " path='/run/other'", "org.qemu.guest_agent.0")
                              CHANNEL("bind", " path='/var/lib/libvirt/qemu/channel/target/domain-3-vm-a/"
                                              "org.hostdevha.guest.0'", "org.hostdevha.guest.0")
                              "</devices></domain>", &p), 1);
        assert_string_equal(p, "/var/lib/libvirt/qemu/channel/target/domain-3-vm-a/org.hostdevha.guest.0");
}

static void test_not_found(void **state) {
        _cleanup_free_ char *p = NULL;

        /* Not running: the persistent definition has no id. */
        assert_int_equal(find("<domain type='qemu'><devices>" CHANNEL("bind", " path='/x'", "org.hostdevha.guest.0")
                              "</devices></domain>", &p), 0);
        /* No channel, another name, connect mode, a relative or no path. */
        assert_int_equal(find("<domain id='1'><devices/></domain>", &p), 0);
        assert_int_equal(find("<domain id='1'></domain>", &p), 0);
        assert_int_equal(find("<domain id='1'><devices>" CHANNEL("bind", " path='/x'", "org.hostdevha.guest.1")
                              "</devices></domain>", &p), 0);
        assert_int_equal(find("<domain id='1'><devices>" CHANNEL("connect", " path='/x'", "org.hostdevha.guest.0")
                              "</devices></domain>", &p), 0);
        assert_int_equal(find("<domain id='1'><devices>" CHANNEL("bind", " path='x'", "org.hostdevha.guest.0")
                              "</devices></domain>", &p), 0);
        assert_int_equal(find("<domain id='1'><devices>" CHANNEL("bind", "", "org.hostdevha.guest.0")
                              "</devices></domain>", &p), 0);
        assert_int_equal(find("<domain id='1'><devices><channel type='pty'><target type='virtio' "
                              "name='org.hostdevha.guest.0'/></channel></devices></domain>", &p), 0);
        assert_null(p);

        assert_int_equal(find("<domain id='1'><devices>", &p), -EINVAL);
        assert_int_equal(find("<other id='1'/>", &p), -EINVAL);
        assert_int_equal(hdha_guest_channel_find_path(NULL, &p), -EINVAL);
        assert_null(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_found),
                cmocka_unit_test(test_not_found),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("guest-channel-xml", tests, NULL, NULL);
}
