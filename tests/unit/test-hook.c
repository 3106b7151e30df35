/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt hook's decision: which domain definitions carry a group's
 * device (hook-match.h), who holds it per the table, and the verdict of a
 * whole run on a configuration and table written to a temporary folder. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libxml/parser.h>

#include "conf.h"
#include "hook-match.h"
#include "hook.h"
#include "macro.h"
#include "table.h"

#define MAC "52:54:00:Aa:bB:01"
#define NIC_XML                                                                 \
        "<interface type='user'><mac address='" MAC "'/><model type='e1000e'/>" \
        "<alias name='ua-my-nic'/></interface>"

/* A domain with the given device elements. */
static char *domain_xml(const char *devices) {
        char *x;

        assert_true(asprintf(&x,
                             "<domain type='qemu'><name>vm-b</name><memory>1</memory><devices>"
                             "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
                             "<disk type='file' device='disk'><source file='/x.img'/>"
                             "<target dev='vda'/></disk>%s</devices></domain>",
                             devices) > 0);
        return x;
}

/* find on group g in a domain with devices: the return value and what. */
static int find(const HdhaGroupConfig *g, const char *devices, char **ret_what) {
        _cleanup_free_ char *x = domain_xml(devices);

        *ret_what = NULL;
        return hdha_hook_find_device(g, x, strlen(x), ret_what);
}

static void assert_found(const HdhaGroupConfig *g, const char *devices, const char *what) {
        _cleanup_free_ char *got = NULL;

        assert_int_equal(find(g, devices, &got), 1);
        assert_string_equal(got, what);
}

static void assert_absent(const HdhaGroupConfig *g, const char *devices) {
        _cleanup_free_ char *got = NULL;

        assert_int_equal(find(g, devices, &got), 0);
        assert_null(got);
}

static void test_match_pci(void **state) {
        HdhaGroupConfig g = {
                .name = (char *) "hba0",
                .device_kind = HDHA_DEVICE_PCI,
                .pci = { .domain = 0, .bus = 0x03, .slot = 0x00, .function = 1 },
        };

        assert_found(&g,
                     "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' "
                     "bus='0x03' slot='0x00' function='0x1'/></source></hostdev>",
                     "PCI 0000:03:00.1");
        /* libvirt reads the parts with base 0; domain may be left out. */
        assert_found(&g,
                     "<hostdev type='pci'><source><address bus='3' slot='0' function='1'/></source></hostdev>",
                     "PCI 0000:03:00.1");
        /* The same function as an SR-IOV VF interface. */
        assert_found(&g,
                     "<interface type='hostdev'><mac address='52:54:00:00:00:01'/><source><address "
                     "type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></interface>",
                     "PCI 0000:03:00.1");
        /* The daemon's alias, whatever the element says. */
        assert_found(&g, "<hostdev type='pci'><source><address bus='9' slot='0' function='0'/></source>"
                         "<alias name='ua-hostdev-hba0'/></hostdev>",
                     "ua-hostdev-hba0");
        /* Another function, another bus, or not a PCI source. */
        assert_absent(&g, "<hostdev type='pci'><source><address bus='0x03' slot='0' function='0'/></source></hostdev>");
        assert_absent(&g, "<hostdev type='pci'><source><address domain='1' bus='3' slot='0' function='1'/></source></hostdev>");
        assert_absent(&g, "<hostdev type='usb'><source><address bus='3' device='1'/></source></hostdev>");
        assert_absent(&g, "<interface type='hostdev'><source><address type='usb' bus='3' slot='0' function='1'/></source></interface>");
        /* Unreadable parts never match. */
        assert_absent(&g, "<hostdev type='pci'><source><address bus='-3' slot='0' function='1'/></source></hostdev>");
        assert_absent(&g, "<hostdev type='pci'><source><address bus='3' slot='0' function='8'/></source></hostdev>");
        assert_absent(&g, "<hostdev type='pci'><source><address bus='3' slot='0'/></source></hostdev>");
        assert_absent(&g, "<hostdev type='pci'><address bus='3' slot='0' function='1'/></hostdev>");
        assert_absent(&g, "");

        /* Whatever the padding byte of the group's address holds. */
        memset(&g.pci, 0xa5, sizeof(g.pci));
        g.pci.domain = 0;
        g.pci.bus = 3;
        g.pci.slot = 0;
        g.pci.function = 1;
        assert_found(&g, "<hostdev type='pci'><source><address bus='3' slot='0' function='1'/></source></hostdev>",
                     "PCI 0000:03:00.1");
}

static void test_match_xml(void **state) {
        HdhaGroupConfig g = {
                .name = (char *) "nic.0",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml_path = (char *) "/etc/hostdev-ha/nic0.xml",
                .device_xml = (char *) NIC_XML,
        };

        /* The group's alias ('.' is mapped to '_'), or the file's own. */
        assert_found(&g, "<interface type='network'><alias name='ua-hostdev-nic_0'/></interface>",
                     "ua-hostdev-nic_0");
        assert_found(&g, "<interface type='network'><alias name='ua-my-nic'/></interface>", "ua-my-nic");
        assert_found(&g, "<hostdev type='pci'><alias name='ua-my-nic'/></hostdev>", "ua-my-nic");
        /* Same MAC on an <interface>, any type, any case. */
        assert_found(&g, "<interface type='network'><mac address='52:54:00:aa:bb:01'/></interface>",
                     "<interface> with MAC 52:54:00:aa:bb:01");
        assert_found(&g,
                     "<interface type='user'><mac address='52:54:00:00:00:09'/></interface>"
                     "<interface type='user'><mac address='52:54:00:AA:BB:01'/><alias name='net1'/></interface>",
                     "<interface> with MAC 52:54:00:aa:bb:01");
        assert_absent(&g, "<interface type='user'><mac address='52:54:00:aa:bb:02'/><model type='e1000e'/></interface>");
        assert_absent(&g, "<interface type='user'><alias name='ua-hostdev-nic0'/></interface>");
        assert_absent(&g, "<controller type='pci' index='1' model='pcie-root-port'/>");
        /* Elements in a namespace are not libvirt's. */
        assert_absent(&g, "<interface type='user' xmlns:x='urn:x'><x:alias name='ua-hostdev-nic_0'/></interface>");
}

static void test_match_mdev_vf(void **state) {
        HdhaGroupConfig mdev = {
                .name = (char *) "gpu",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml = (char *) "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
                                       "<address uuid='C2177883-F1BB-47F0-914D-32A22E3A8804'/></source></hostdev>",
        };
        HdhaGroupConfig vf = {
                .name = (char *) "vf",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml = (char *) "<interface type='hostdev' managed='yes'><source><address type='pci' "
                                       "domain='0x0000' bus='0x06' slot='0x10' function='0x2'/></source></interface>",
        };

        assert_found(&mdev,
                     "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
                     "<address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>",
                     "mdev c2177883-f1bb-47f0-914d-32a22e3a8804");
        assert_absent(&mdev,
                      "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
                      "<address uuid='c2177883-f1bb-47f0-914d-32a22e3a8805'/></source></hostdev>");
        /* The VF, given either way. */
        assert_found(&vf, "<hostdev type='pci'><source><address bus='6' slot='16' function='2'/></source></hostdev>",
                     "PCI 0000:06:10.2");
        assert_found(&vf,
                     "<interface type='hostdev'><source><address type='pci' domain='0' bus='0x06' "
                     "slot='0x10' function='2'/></source></interface>",
                     "PCI 0000:06:10.2");
        assert_absent(&vf, "<hostdev type='pci'><source><address bus='6' slot='16' function='3'/></source></hostdev>");
}

static void test_match_errors(void **state) {
        HdhaGroupConfig g = {
                .name = (char *) "nic0",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml = (char *) NIC_XML,
        };
        HdhaGroupConfig broken = g;
        char *what = NULL;
        _cleanup_free_ char *big = NULL;

        assert_int_equal(hdha_hook_find_device(&g, "<domain><devices>", 17, &what), -EINVAL);
        assert_int_equal(hdha_hook_find_device(&g, "<network/>", 10, &what), -EINVAL);
        assert_int_equal(hdha_hook_find_device(&g, "", 0, &what), -EINVAL);
        assert_int_equal(hdha_hook_find_device(&g, "<domain/>", 9, &what), 0);
        big = calloc(1, HDHA_HOOK_DOMAIN_XML_MAX + 2);
        assert_non_null(big);
        assert_int_equal(hdha_hook_find_device(&g, big, HDHA_HOOK_DOMAIN_XML_MAX + 1, &what), -EFBIG);
        broken.device_xml = (char *) "<interface";
        assert_int_equal(hdha_hook_find_device(&broken, "<domain/>", 9, &what), -EINVAL);
        assert_null(what);
}

static void test_other_holder(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        HdhaTableGroup *g;
        bool moving = false;

        assert_int_equal(hdha_table_new(&t), 0);
        assert_int_equal(hdha_table_add_group(t, "nic0", &g), 0);
        assert_int_equal(hdha_table_group_add_member(g, "vm-a", HDHA_ROLE_STANDBY), 1);
        assert_int_equal(hdha_table_group_add_member(g, "vm-b", HDHA_ROLE_STANDBY), 1);
        assert_int_equal(hdha_table_group_add_member(g, "vm-c", HDHA_ROLE_STANDBY), 1);

        assert_null(hdha_hook_other_holder(NULL, "vm-b", &moving));
        assert_null(hdha_hook_other_holder(g, "vm-b", &moving));

        assert_int_equal(hdha_table_group_set_active(g, "vm-a"), 1);
        assert_string_equal(hdha_hook_other_holder(g, "vm-b", &moving), "vm-a");
        assert_false(moving);
        assert_null(hdha_hook_other_holder(g, "vm-a", &moving));

        /* A switch from vm-a to vm-c in flight: vm-a is refused too. */
        assert_int_equal(hdha_table_group_set_operation(g, HDHA_OPERATION_SWITCH, HDHA_STEP_ATTACHING, "vm-a",
                                                        "vm-c"), 1);
        assert_string_equal(hdha_hook_other_holder(g, "vm-a", &moving), "vm-c");
        assert_true(moving);
        assert_string_equal(hdha_hook_other_holder(g, "vm-b", &moving), "vm-a");
        assert_false(moving);
        assert_string_equal(hdha_hook_other_holder(g, "vm-c", &moving), "vm-a");
        assert_false(moving);

        /* Released, nothing in flight, or in flight to the domain itself. */
        assert_int_equal(hdha_table_group_set_active(g, NULL), 1);
        assert_string_equal(hdha_hook_other_holder(g, "vm-b", &moving), "vm-c");
        assert_null(hdha_hook_other_holder(g, "vm-c", &moving));
        assert_int_equal(hdha_table_group_clear_operation(g), 1);
        assert_null(hdha_hook_other_holder(g, "vm-b", &moving));
}

static void test_refusal_message(void **state) {
        _cleanup_free_ char *m = NULL, *f = NULL;

        assert_int_equal(hdha_hook_refusal_message("nic0", "vm-b", "ua-hostdev-nic0", "vm-a", false, "none", &m), 0);
        assert_string_equal(m,
                            "hostdev-ha: domain 'vm-b' has device ua-hostdev-nic0 of group 'nic0' in its "
                            "definition, but the device is allocated to 'vm-a'; start it without the device "
                            "(hostdevctl activate vm-b) or switch the device first (hostdevctl switch nic0 vm-b)");
        assert_int_equal(hdha_hook_refusal_message("nic0", "vm-a", "PCI 0000:03:00.0", "vm-c", true, "failover", &f), 0);
        assert_non_null(strstr(f, "a failover in flight is attaching the device to 'vm-c'"));
        assert_null(strchr(f, '\n'));
        assert_int_equal(hdha_hook_refusal_message("nic0", "vm-a", NULL, "vm-c", true, NULL, &f), -EINVAL);
}

/* --- whole runs on files ------------------------------------------------ */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void write_file(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *path = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, rel) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fputs(content, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

static void make_dir(const char *dir, const char *rel) {
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s", dir, rel) > 0);
        assert_int_equal(mkdir(path, 0755), 0);
}

/* DIR/conf: group nic0 (vm-a vm-b, the NIC_XML device) and group other
 * (vm-x vm-y); DIR/state: no table yet. */
static int setup(void **state) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *conf = NULL, *nic0 = NULL, *other = NULL;
        char *dir = NULL;

        if (asprintf(&dir, "%s/hdha-test-hook-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                return -1;
        if (!mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        make_dir(dir, "conf");
        make_dir(dir, "conf/groups.d");
        make_dir(dir, "state");
        assert_true(asprintf(&conf, "[Daemon]\nStateDirectory=%s/state\n", dir) > 0);
        assert_true(asprintf(&nic0, "[Group]\nDeviceXML=%s/conf/nic0.xml\nDomains=vm-a vm-b\n", dir) > 0);
        assert_true(asprintf(&other, "[Group]\nDeviceXML=%s/conf/other.xml\nDomains=vm-x vm-y\n", dir) > 0);
        write_file(dir, "conf/hostdev-ha.conf", conf);
        write_file(dir, "conf/nic0.xml", NIC_XML);
        write_file(dir, "conf/other.xml", "<interface type='user'><mac address='52:54:00:00:00:77'/></interface>");
        write_file(dir, "conf/groups.d/nic0.conf", nic0);
        write_file(dir, "conf/groups.d/other.conf", other);
        return 0;
}

static int teardown(void **state) {
        char *dir = *state;
        int r = nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);

        free(dir);
        return r;
}

/* The table: nic0 active on active (NULL: none), switching to target if
 * not NULL. */
static void save_table(const char *dir, const char *active, const char *target) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *path = NULL;
        HdhaTableGroup *g;

        assert_int_equal(hdha_table_new(&t), 0);
        assert_int_equal(hdha_table_add_group(t, "nic0", &g), 0);
        assert_true(hdha_table_group_add_member(g, "vm-a", HDHA_ROLE_STANDBY) >= 0);
        assert_true(hdha_table_group_add_member(g, "vm-b", HDHA_ROLE_STANDBY) >= 0);
        assert_true(hdha_table_group_set_active(g, active) >= 0);
        if (target)
                assert_true(hdha_table_group_set_operation(g, HDHA_OPERATION_SWITCH, HDHA_STEP_ATTACHING,
                                                           active, target) >= 0);
        assert_true(asprintf(&path, "%s/state/" HDHA_TABLE_DIR, dir) > 0);
        assert_int_equal(hdha_table_save(t, path), 0);
}

typedef struct Run {
        HdhaHookVerdict verdict;
        char *message;
        long consumed; /* bytes of stdin read */
} Run;

static Run run_at(const char *config_dir, const char *name, const char *op, const char *devices) {
        _cleanup_free_ char *x = domain_xml(devices);
        Run r = {};
        FILE *in = fmemopen(x, strlen(x), "r");

        assert_non_null(in);
        r.verdict = hdha_hook_run(config_dir, name, op, "begin", in, &r.message);
        r.consumed = ftell(in);
        fclose(in);
        return r;
}

static Run run(const char *dir, const char *name, const char *devices) {
        _cleanup_free_ char *conf = NULL;

        assert_true(asprintf(&conf, "%s/conf", dir) > 0);
        return run_at(conf, name, "prepare", devices);
}

#define DEVICE "<interface type='user'><mac address='52:54:00:aa:bb:01'/><alias name='ua-hostdev-nic0'/></interface>"

static void assert_allowed(Run r, bool read) {
        if (r.message)
                print_message("unexpected message: %s\n", r.message);
        assert_int_equal(r.verdict, HDHA_HOOK_ALLOW);
        assert_null(r.message);
        if (read)
                assert_true(r.consumed > 0);
        else
                assert_int_equal(r.consumed, 0);
}

static void assert_refused(Run r, const char *part) {
        assert_int_equal(r.verdict, HDHA_HOOK_REFUSE);
        assert_non_null(r.message);
        if (!strstr(r.message, part))
                fail_msg("'%s' not in '%s'", part, r.message);
        assert_null(strchr(r.message, '\n'));
        free(r.message);
}

static void test_run_cheap(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *conf = NULL;

        save_table(dir, "vm-a", NULL);
        assert_true(asprintf(&conf, "%s/conf", dir) > 0);
        /* Other operations, domains outside every group, no configuration:
         * stdin is never read. */
        assert_allowed(run_at(conf, "vm-b", "start", DEVICE), false);
        assert_allowed(run_at(conf, "vm-b", "migrate", DEVICE), false);
        assert_allowed(run_at(conf, "vm-b", "release", DEVICE), false);
        assert_allowed(run(dir, "vm-z", DEVICE), false);
        assert_allowed(run(dir, "vm-x", DEVICE), false);
        assert_allowed(run_at("/nonexistent/hostdev-ha", "vm-b", "prepare", DEVICE), false);
        /* The holder itself. */
        assert_allowed(run(dir, "vm-a", DEVICE), false);
}

static void test_run_held(void **state) {
        const char *dir = *state;

        /* No table, or nobody holds it: everyone starts. */
        assert_allowed(run(dir, "vm-b", DEVICE), false);
        save_table(dir, NULL, NULL);
        assert_allowed(run(dir, "vm-b", DEVICE), false);

        save_table(dir, "vm-a", NULL);
        assert_refused(run(dir, "vm-b", DEVICE),
                       "hostdev-ha: domain 'vm-b' has device ua-hostdev-nic0 of group 'nic0' in its definition, "
                       "but the device is allocated to 'vm-a'; start it without the device (hostdevctl activate "
                       "vm-b) or switch the device first (hostdevctl switch nic0 vm-b)");
        assert_refused(run(dir, "vm-b", "<interface type='network'><mac address='52:54:00:AA:BB:01'/></interface>"),
                       "has device <interface> with MAC 52:54:00:aa:bb:01 of group 'nic0'");
        /* A member without the device always starts (its XML is read). */
        assert_allowed(run(dir, "vm-b", "<interface type='user'><mac address='52:54:00:aa:bb:02'/></interface>"),
                       true);
        assert_allowed(run(dir, "vm-b", ""), true);

        /* Moving to vm-b: vm-a (the source) must not take it back. */
        save_table(dir, "vm-a", "vm-b");
        assert_refused(run(dir, "vm-a", DEVICE), "a switch in flight is attaching the device to 'vm-b'");
        assert_refused(run(dir, "vm-b", DEVICE), "allocated to 'vm-a'");
}

static void test_run_broken(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *table = NULL;
        Run r;

        assert_true(asprintf(&table, "%s/state/table.json", dir) > 0);
        write_file(dir, "state/table.json", "{\"format\": 1, \"groups\": [ {} ]");
        assert_refused(run(dir, "vm-b", DEVICE), "but the allocation table cannot be read (");
        assert_refused(run(dir, "vm-a", DEVICE), table);
        assert_allowed(run(dir, "vm-a", ""), true);
        /* A member of group "other": its XML is read (the table may have
         * given other's device to someone), it does not carry it. */
        assert_allowed(run(dir, "vm-x", DEVICE), true);
        assert_allowed(run(dir, "vm-z", DEVICE), false);

        /* A group's own file broken: the same, naming that file; another
         * group's file is not read. */
        save_table(dir, "vm-a", NULL);
        write_file(dir, "state/" HDHA_TABLE_DIR "/nic0.json", "{\"format\": 3}");
        write_file(dir, "state/" HDHA_TABLE_DIR "/other.json", "not JSON");
        assert_refused(run(dir, "vm-b", DEVICE), "/state/" HDHA_TABLE_DIR "/nic0.json: top level: missing key");
        assert_allowed(run(dir, "vm-x", DEVICE), true);
        assert_int_equal(unlink(table), -1); /* the older single file went with the first save */

        /* Unreadable domain XML, when it matters. */
        save_table(dir, "vm-a", NULL);
        r = (Run) {};
        {
                FILE *in = fmemopen((void *) "<domain><devices>", 17, "r");
                _cleanup_free_ char *conf = NULL;

                assert_true(asprintf(&conf, "%s/conf", dir) > 0);
                r.verdict = hdha_hook_run(conf, "vm-b", "prepare", "begin", in, &r.message);
                fclose(in);
        }
        assert_refused(r, "cannot tell whether domain 'vm-b' of group 'nic0' carries the group's device");

        /* A broken configuration: allowed, with a warning. */
        write_file(dir, "conf/groups.d/nic0.conf", "[Group]\nDomains=vm-a\n");
        r = run(dir, "vm-b", DEVICE);
        assert_int_equal(r.verdict, HDHA_HOOK_ALLOW);
        assert_non_null(r.message);
        assert_non_null(strstr(r.message, "hostdev-ha: warning: the configuration in"));
        assert_null(strchr(r.message, '\n'));
        free(r.message);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_match_pci),
                cmocka_unit_test(test_match_xml),
                cmocka_unit_test(test_match_mdev_vf),
                cmocka_unit_test(test_match_errors),
                cmocka_unit_test(test_other_holder),
                cmocka_unit_test(test_refusal_message),
                cmocka_unit_test_setup_teardown(test_run_cheap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_run_held, setup, teardown),
                cmocka_unit_test_setup_teardown(test_run_broken, setup, teardown),
        };

        xmlInitParser();
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("hook", tests, NULL, NULL);
}
