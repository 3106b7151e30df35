/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

#include "conf.h"
#include "macro.h"

/* Each test gets a fresh directory as its state; "@" in file contents and
 * in expected problems stands for that directory. */

static char *subst(const char *dir, const char *s) {
        size_t n = 1;
        char *r, *o;

        for (const char *c = s; *c; c++)
                n += *c == '@' ? strlen(dir) : 1;
        r = o = malloc(n);
        assert_non_null(r);
        for (const char *c = s; *c; c++)
                if (*c == '@')
                        o = stpcpy(o, dir);
                else
                        *o++ = *c;
        *o = '\0';
        return r;
}

static void write_raw(const char *dir, const char *rel, const char *content, size_t size) {
        _cleanup_free_ char *path = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, rel) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(content, 1, size, f), size);
        assert_int_equal(fclose(f), 0);
}

static void write_file(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *c = subst(dir, content);

        write_raw(dir, rel, c, strlen(c));
}

static void make_dir(const char *dir, const char *rel) {
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s", dir, rel) > 0);
        assert_int_equal(mkdir(path, 0755), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int setup(void **state) {
        const char *tmp = getenv("TMPDIR");
        char *dir = NULL;

        if (asprintf(&dir, "%s/hdha-test-conf-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                return -1;
        if (!mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static int teardown(void **state) {
        char *dir = *state;
        int r = nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);

        free(dir);
        return r;
}

/* Checks the formatted problems against expected (NULL-terminated); an
 * expected line ending in '*' matches as a prefix. */
static void assert_problems(const char *dir, const HdhaConfigErrors *e, const char *const *expected) {
        size_t n = 0;

        for (; expected[n]; n++) {
                _cleanup_free_ char *want = subst(dir, expected[n]), *got = NULL;
                size_t l = strlen(want);

                if (n >= e->n_errors)
                        fail_msg("missing problem: %s", want);
                assert_int_equal(hdha_config_error_format(&e->errors[n], &got), 0);
                if (l > 0 && want[l - 1] == '*') {
                        if (strncmp(got, want, l - 1) != 0)
                                fail_msg("got '%s', expected '%s'", got, want);
                } else if (!streq(got, want))
                        fail_msg("got '%s', expected '%s'", got, want);
        }
        for (size_t i = n; i < e->n_errors; i++) {
                _cleanup_free_ char *got = NULL;

                assert_int_equal(hdha_config_error_format(&e->errors[i], &got), 0);
                print_message("unexpected problem: %s\n", got);
        }
        assert_int_equal(e->n_errors, n);
}

static void assert_load_fails(const char *dir, const char *const *expected) {
        _cleanup_(hdha_config_errors_done) HdhaConfigErrors e = {};
        HdhaConfig *c = NULL;

        assert_int_equal(hdha_config_load(dir, &c, &e), -EINVAL);
        assert_null(c);
        assert_problems(dir, &e, expected);
}

static HdhaConfig *load_ok(const char *dir) {
        _cleanup_(hdha_config_errors_done) HdhaConfigErrors e = {};
        HdhaConfig *c = NULL;

        if (hdha_config_load(dir, &c, &e) < 0) {
                (void) hdha_config_errors_print(&e, stderr);
                fail();
        }
        assert_int_equal(e.n_errors, 0);
        assert_non_null(c);
        return c;
}

static void test_string_tables(void **state) {
        for (HdhaPolicy p = 0; p < _HDHA_POLICY_MAX; p++) {
                assert_non_null(hdha_policy_to_string(p));
                assert_int_equal(hdha_policy_from_string(hdha_policy_to_string(p)), p);
        }
        assert_string_equal(hdha_policy_to_string(HDHA_POLICY_PACEMAKER), "pacemaker");
        assert_string_equal(hdha_policy_to_string(HDHA_POLICY_AUTO), "auto");
        assert_string_equal(hdha_policy_to_string(HDHA_POLICY_MANUAL), "manual");
        assert_null(hdha_policy_to_string(_HDHA_POLICY_MAX));
        assert_null(hdha_policy_to_string(_HDHA_POLICY_INVALID));
        assert_int_equal(hdha_policy_from_string("Auto"), _HDHA_POLICY_INVALID);
        assert_int_equal(hdha_policy_from_string(""), _HDHA_POLICY_INVALID);
        assert_int_equal(hdha_policy_from_string(NULL), _HDHA_POLICY_INVALID);

        for (HdhaGuestRequests g = 0; g < _HDHA_GUEST_REQUESTS_MAX; g++) {
                assert_non_null(hdha_guest_requests_to_string(g));
                assert_int_equal(hdha_guest_requests_from_string(hdha_guest_requests_to_string(g)), g);
        }
        assert_null(hdha_guest_requests_to_string(_HDHA_GUEST_REQUESTS_MAX));
        assert_int_equal(hdha_guest_requests_from_string("all"), _HDHA_GUEST_REQUESTS_INVALID);

        for (HdhaDeviceKind k = 0; k < _HDHA_DEVICE_KIND_MAX; k++) {
                assert_non_null(hdha_device_kind_to_string(k));
                assert_int_equal(hdha_device_kind_from_string(hdha_device_kind_to_string(k)), k);
        }
        assert_null(hdha_device_kind_to_string(_HDHA_DEVICE_KIND_MAX));
        assert_int_equal(hdha_device_kind_from_string("usb"), _HDHA_DEVICE_KIND_INVALID);

        for (HdhaClusterMode m = 0; m < _HDHA_CLUSTER_MODE_MAX; m++) {
                assert_non_null(hdha_cluster_mode_to_string(m));
                assert_int_equal(hdha_cluster_mode_from_string(hdha_cluster_mode_to_string(m)), m);
        }
        assert_string_equal(hdha_cluster_mode_to_string(HDHA_CLUSTER_MODE_AUTO), "auto");
        assert_string_equal(hdha_cluster_mode_to_string(HDHA_CLUSTER_MODE_YES), "yes");
        assert_string_equal(hdha_cluster_mode_to_string(HDHA_CLUSTER_MODE_NO), "no");
        assert_null(hdha_cluster_mode_to_string(_HDHA_CLUSTER_MODE_MAX));
        assert_null(hdha_cluster_mode_to_string(_HDHA_CLUSTER_MODE_INVALID));
        assert_int_equal(hdha_cluster_mode_from_string("true"), _HDHA_CLUSTER_MODE_INVALID);
        assert_int_equal(hdha_cluster_mode_from_string(NULL), _HDHA_CLUSTER_MODE_INVALID);
}

static void test_names(void **state) {
        char long_name[HDHA_GROUP_NAME_MAX + 2];

        assert_true(hdha_group_name_is_valid("nic0"));
        assert_true(hdha_group_name_is_valid("a.b-c_D9"));
        assert_false(hdha_group_name_is_valid(".hidden"));
        assert_false(hdha_group_name_is_valid(""));
        assert_false(hdha_group_name_is_valid("a b"));
        assert_false(hdha_group_name_is_valid("a/b"));
        assert_false(hdha_group_name_is_valid(NULL));
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[HDHA_GROUP_NAME_MAX + 1] = '\0';
        assert_false(hdha_group_name_is_valid(long_name));
        long_name[HDHA_GROUP_NAME_MAX] = '\0';
        assert_true(hdha_group_name_is_valid(long_name));

        assert_true(hdha_domain_name_is_valid("vm-a"));
        assert_true(hdha_domain_name_is_valid("db1.example:blue+green@x_y"));
        assert_false(hdha_domain_name_is_valid("-vm"));
        assert_false(hdha_domain_name_is_valid(".vm"));
        assert_false(hdha_domain_name_is_valid("vm/a"));
        assert_false(hdha_domain_name_is_valid("vm'a"));
        assert_false(hdha_domain_name_is_valid(""));
}

static void test_error_format(void **state) {
        HdhaConfigError e = { .file = (char *) "f.conf", .line = 3, .key = (char *) "Policy", .message = (char *) "m" };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        assert_int_equal(hdha_config_error_format(&e, &a), 0);
        assert_string_equal(a, "f.conf:3: Policy=: m");
        e.line = 0;
        assert_int_equal(hdha_config_error_format(&e, &b), 0);
        assert_string_equal(b, "f.conf: Policy=: m");
        e.key = NULL;
        assert_int_equal(hdha_config_error_format(&e, &c), 0);
        assert_string_equal(c, "f.conf: m");
}

static void test_missing_dir(void **state) {
        _cleanup_(hdha_config_errors_done) HdhaConfigErrors e = {};
        _cleanup_free_ char *nope = NULL;
        HdhaConfig *c = NULL;

        assert_int_equal(hdha_config_load(*state, &c, &e), 0);
        c = hdha_config_free(c);
        assert_null(c);
        assert_null(hdha_config_free(NULL));
        hdha_config_errors_done(NULL);

        nope = subst(*state, "@/nope");
        assert_int_equal(hdha_config_load(nope, &c, &e), -ENOENT);
        assert_null(c);
        assert_problems(*state, &e, (const char *const[]) {
                "@/nope: Failed to open configuration directory: No such file or directory", NULL });
}

static void test_defaults(void **state) {
        const char *dir = *state;
        _cleanup_(hdha_config_freep) HdhaConfig *a = NULL, *b = NULL, *c = NULL;

        /* No hostdev-ha.conf, no groups.d. */
        a = load_ok(dir);
        assert_string_equal(a->dir, dir);
        assert_string_equal(a->libvirt_uri, "qemu:///system");
        assert_string_equal(a->state_directory, "/var/lib/hostdev-ha");
        assert_null(a->admin_group);
        assert_int_equal(a->cluster_mode, HDHA_CLUSTER_MODE_AUTO);
        assert_true(a->quorum_loss_release_sec == 10);
        assert_int_equal(a->n_groups, 0);

        /* Empty files and an empty groups.d; other files ignored. */
        write_file(dir, "hostdev-ha.conf", "[Daemon]\nAdminGroup=\n[Cluster]\nEnabled=\nQuorumLossReleaseSec=\n");
        make_dir(dir, "groups.d");
        write_file(dir, "groups.d/README", "not a group");
        write_file(dir, "groups.d/old.conf.dpkg-old", "[Bogus]");
        b = load_ok(dir);
        assert_string_equal(b->libvirt_uri, "qemu:///system");
        assert_null(b->admin_group);
        assert_int_equal(b->cluster_mode, HDHA_CLUSTER_MODE_AUTO);
        assert_true(b->quorum_loss_release_sec == 10);
        assert_int_equal(b->n_groups, 0);

        /* A group with only what is required. */
        write_file(dir, "groups.d/g.conf", "[Group]\nDevice=03:00.0\nDomains=vm-a vm-b\n");
        c = load_ok(dir);
        assert_int_equal(c->n_groups, 1);
        assert_string_equal(c->groups[0].name, "g");
        assert_int_equal(c->groups[0].device_kind, HDHA_DEVICE_PCI);
        assert_int_equal(c->groups[0].pci.bus, 3);
        assert_false(c->groups[0].managed);
        assert_int_equal(c->groups[0].policy, HDHA_POLICY_PACEMAKER);
        assert_true(c->groups[0].active_vcpu_quota == -1);
        assert_true(c->groups[0].standby_vcpu_quota == 10000);
        assert_true(c->groups[0].vcpu_period == 100000);
        assert_true(c->groups[0].release_timeout_sec == 5);
        assert_true(c->groups[0].guest_heartbeat_sec == 0);
        assert_int_equal(c->groups[0].guest_requests, HDHA_GUEST_REQUESTS_NONE);
}

static void test_every_key(void **state) {
        const char *dir = *state;
        _cleanup_(hdha_config_freep) HdhaConfig *c = NULL;
        static const char nic0[] =
                "\xef\xbb\xbf# a BOM, CRLF ends and an indented line, which does not continue the one before\r\n"
                "[Group]\r\n"
                "Device = pci_0000_03_00_1\r\n"
                "Managed=yes\r\n"
                "Domains=vm-a   vm-b\r\n"
                "   Domains=vm-c\t; more members\r\n"
                "Policy=auto\r\n"
                "ActiveVcpuQuota=17592186044415\r\n"
                "StandbyVcpuQuota=-1\r\n"
                "VcpuPeriod=1000000\r\n"
                "ReleaseTimeoutSec=3600\r\n"
                "GuestHeartbeatSec=3600\r\n"
                "GuestRequests=takeover\r\n";
        const HdhaGroupConfig *g;

        write_file(dir, "hostdev-ha.conf",
                   "# comment\n; comment\n\n[Daemon]\n"
                   "LibvirtURI = test:///default   ; inline\n"
                   "StateDirectory=/run/hdha-state # inline\n"
                   "[Cluster]\n"
                   "Enabled=no\n"
                   "QuorumLossReleaseSec=3600\n"
                   "[Daemon]\n"
                   "AdminGroup=root\n");
        make_dir(dir, "groups.d");
        write_raw(dir, "groups.d/nic0.conf", nic0, sizeof(nic0) - 1);
        write_file(dir, "nic.xml", "<?xml version='1.0'?>\n<interface type='network'>\n"
                   "  <source network='default'/>\n  <model type='e1000e'/>\n</interface>\n");
        write_file(dir, "groups.d/e1000e.conf",
                   "[Group]\nDeviceXML=@/nic.xml\nDomains=vm-x vm-y\nPolicy=manual\nActiveVcpuQuota=\n"
                   "StandbyVcpuQuota=1000\nVcpuPeriod=1000\nReleaseTimeoutSec=1\nManaged=off\n"
                   "GuestHeartbeatSec=0\nGuestRequests=release\n");

        c = load_ok(dir);
        assert_string_equal(c->libvirt_uri, "test:///default");
        assert_string_equal(c->state_directory, "/run/hdha-state");
        assert_string_equal(c->admin_group, "root");
        assert_int_equal(c->admin_gid, 0);
        assert_int_equal(c->cluster_mode, HDHA_CLUSTER_MODE_NO);
        assert_true(c->quorum_loss_release_sec == 3600);
        assert_int_equal(c->n_groups, 2);

        g = &c->groups[0];
        assert_string_equal(g->name, "e1000e");
        assert_int_equal(g->device_kind, HDHA_DEVICE_XML);
        assert_non_null(strstr(g->device_xml, "<model type='e1000e'/>"));
        assert_non_null(strstr(g->device_xml_path, "/nic.xml"));
        assert_int_equal(g->n_domains, 2);
        assert_int_equal(g->policy, HDHA_POLICY_MANUAL);
        assert_true(g->active_vcpu_quota == -1);
        assert_true(g->standby_vcpu_quota == 1000);
        assert_true(g->vcpu_period == 1000);
        assert_true(g->release_timeout_sec == 1);
        assert_false(g->managed);
        assert_true(g->guest_heartbeat_sec == 0);
        assert_int_equal(g->guest_requests, HDHA_GUEST_REQUESTS_RELEASE);

        g = &c->groups[1];
        assert_string_equal(g->name, "nic0");
        assert_non_null(strstr(g->file, "/groups.d/nic0.conf"));
        assert_int_equal(g->device_kind, HDHA_DEVICE_PCI);
        assert_int_equal(g->pci.domain, 0);
        assert_int_equal(g->pci.bus, 3);
        assert_int_equal(g->pci.slot, 0);
        assert_int_equal(g->pci.function, 1);
        assert_true(g->managed);
        assert_int_equal(g->n_domains, 3);
        assert_string_equal(g->domains[0], "vm-a");
        assert_string_equal(g->domains[1], "vm-b");
        assert_string_equal(g->domains[2], "vm-c");
        assert_int_equal(g->policy, HDHA_POLICY_AUTO);
        assert_true(g->active_vcpu_quota == INT64_C(17592186044415));
        assert_true(g->standby_vcpu_quota == -1);
        assert_true(g->vcpu_period == 1000000);
        assert_true(g->release_timeout_sec == 3600);
        assert_true(g->guest_heartbeat_sec == 3600);
        assert_int_equal(g->guest_requests, HDHA_GUEST_REQUESTS_TAKEOVER);

        assert_ptr_equal(hdha_config_find_group(c, "nic0"), g);
        assert_null(hdha_config_find_group(c, "nic1"));
        assert_ptr_equal(hdha_config_find_domain(c, "vm-c"), g);
        assert_ptr_equal(hdha_config_find_domain(c, "vm-y"), &c->groups[0]);
        assert_null(hdha_config_find_domain(c, "vm-z"));
}

/* The configuration example of docs/architecture.md ("Configuration"),
 * comments and all (DeviceXML= commented out: it is the alternative to
 * Device=). */
static void test_design_example(void **state) {
        const char *dir = *state;
        _cleanup_(hdha_config_freep) HdhaConfig *c = NULL;

        write_file(dir, "hostdev-ha.conf",
                   "[Daemon]\n"
                   "LibvirtURI=qemu:///system\n"
                   "StateDirectory=/var/lib/hostdev-ha\n"
                   "AdminGroup=            # a unix group allowed to change things besides root\n");
        make_dir(dir, "groups.d");
        write_file(dir, "groups.d/nic0.conf",
                   "[Group]\n"
                   "Device=0000:03:00.0    # or a nodedev name pci_0000_03_00_0; or instead:\n"
                   "#DeviceXML=/etc/hostdev-ha/nic0-device.xml\n"
                   "Managed=no             # no: the daemon binds the function to vfio-pci once at start and\n"
                   "                       # attaches with managed='no', so a failover never rebinds host drivers\n"
                   "Domains=vm-a vm-b      # members, in order (clone instance i = i-th domain)\n"
                   "Policy=pacemaker       # pacemaker | auto | manual\n"
                   "ActiveVcpuQuota=-1     # microseconds per period for each vCPU; -1 = unlimited\n"
                   "StandbyVcpuQuota=10000\n"
                   "VcpuPeriod=100000\n"
                   "ReleaseTimeoutSec=5    # how long a guest may take to let go before it is deactivated\n");
        c = load_ok(dir);
        assert_null(c->admin_group);
        assert_int_equal(c->n_groups, 1);
        assert_int_equal(c->groups[0].pci.bus, 3);
        assert_false(c->groups[0].managed);
        assert_int_equal(c->groups[0].n_domains, 2);
        assert_string_equal(c->groups[0].domains[1], "vm-b");
        assert_true(c->groups[0].release_timeout_sec == 5);
}

static void test_daemon_errors(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *long_line = NULL, *too_long = NULL;
        size_t max = HDHA_CONFIG_LINE_MAX;

        write_file(dir, "hostdev-ha.conf",
                   "Stray=1\n"                             /* 1 */
                   "[Daemon]\n"                            /* 2 */
                   "LibvirtURI=qemu:///system\n"           /* 3 */
                   "LibvirtURI=test:///default\n"          /* 4 */
                   "StateDirectory=relative/dir\n"         /* 5 */
                   "AdminGroup=hdha-no-such-group\n"       /* 6 */
                   "Bogus=1\n"                             /* 7 */
                   "this is not a key\n"                   /* 8 */
                   "[Other]\n"                             /* 9 */
                   "Key=ignored\n"                         /* 10 */
                   "[Daemon\n"                             /* 11 */
                   "LibvirtURI:qemu:///x\n"                /* 12 */
                   "=value\n"                              /* 13 */
                   "[Daemon]\n"                            /* 14 */
                   "AdminGroup=bad group\n");              /* 15 */
        assert_load_fails(dir, (const char *const[]) {
                "@/hostdev-ha.conf:1: Stray=: Key outside of section [Daemon] or [Cluster]",
                "@/hostdev-ha.conf:4: LibvirtURI=: Duplicate key, first set on line 3",
                "@/hostdev-ha.conf:5: StateDirectory=: Path 'relative/dir' is not absolute",
                "@/hostdev-ha.conf:6: AdminGroup=: Unknown group 'hdha-no-such-group'",
                "@/hostdev-ha.conf:7: Bogus=: Unknown key in section [Daemon]",
                "@/hostdev-ha.conf:8: Expected [Section], Key=value or a comment",
                "@/hostdev-ha.conf:9: Unknown section [Other]",
                "@/hostdev-ha.conf:11: Expected [Section], Key=value or a comment",
                "@/hostdev-ha.conf:12: Expected [Section], Key=value or a comment",
                "@/hostdev-ha.conf:13: Expected [Section], Key=value or a comment",
                "@/hostdev-ha.conf:15: AdminGroup=: Duplicate key, first set on line 6",
                NULL });

        /* Lines up to HDHA_CONFIG_LINE_MAX are fine, longer ones are
         * refused without shifting the line numbers after them. */
        assert_true(max >= 4096);
        assert_true(asprintf(&long_line, "[Daemon]\nLibvirtURI=qemu:///system?x=%0*d\n",
                             (int) (max - strlen("LibvirtURI=qemu:///system?x=")), 0) > 0);
        write_file(dir, "hostdev-ha.conf", long_line);
        hdha_config_free(load_ok(dir));
        assert_true(asprintf(&too_long, "[Daemon]\nStateDirectory=/%0*d\nLibvirtURI=bad uri\n"
                             "LibvirtURI=\nX=\xef\xbb\xbf\n\x01\n",
                             (int) max, 0) > 0);
        write_file(dir, "hostdev-ha.conf", too_long);
        free(long_line);
        assert_true(asprintf(&long_line, "@/hostdev-ha.conf:2: Line too long, at most %zu characters", max) > 0);
        assert_load_fails(dir, (const char *const[]) {
                long_line,
                "@/hostdev-ha.conf:3: LibvirtURI=: Invalid URI 'bad uri'",
                "@/hostdev-ha.conf:4: LibvirtURI=: Duplicate key, first set on line 3",
                "@/hostdev-ha.conf:5: X=: Unknown key in section [Daemon]",
                "@/hostdev-ha.conf:6: Expected [Section], Key=value or a comment",
                NULL });
}

static void test_cluster(void **state) {
        const char *dir = *state;
        _cleanup_(hdha_config_freep) HdhaConfig *a = NULL, *b = NULL;

        write_file(dir, "hostdev-ha.conf", "[Cluster]\nEnabled=yes\nQuorumLossReleaseSec=1\n");
        a = load_ok(dir);
        assert_int_equal(a->cluster_mode, HDHA_CLUSTER_MODE_YES);
        assert_true(a->quorum_loss_release_sec == 1);
        assert_string_equal(a->libvirt_uri, "qemu:///system");
        write_file(dir, "hostdev-ha.conf", "[Cluster]\nEnabled=auto\n");
        b = load_ok(dir);
        assert_int_equal(b->cluster_mode, HDHA_CLUSTER_MODE_AUTO);
        assert_true(b->quorum_loss_release_sec == 10);

        write_file(dir, "hostdev-ha.conf",
                   "[Cluster]\n"                           /* 1 */
                   "Enabled=maybe\n"                       /* 2 */
                   "QuorumLossReleaseSec=0\n"              /* 3 */
                   "LibvirtURI=test:///default\n"          /* 4 */
                   "[Daemon]\n"                            /* 5 */
                   "Enabled=yes\n"                         /* 6 */
                   "[Cluster]\n"                           /* 7 */
                   "Enabled=no\n"                          /* 8 */
                   "QuorumLossReleaseSec=3601\n"           /* 9 */
                   "[cluster]\n");                         /* 10 */
        assert_load_fails(dir, (const char *const[]) {
                "@/hostdev-ha.conf:2: Enabled=: Invalid value 'maybe', expected auto, yes or no",
                "@/hostdev-ha.conf:3: QuorumLossReleaseSec=: Value '0' out of range, expected 1..3600",
                "@/hostdev-ha.conf:4: LibvirtURI=: Unknown key in section [Cluster]",
                "@/hostdev-ha.conf:6: Enabled=: Unknown key in section [Daemon]",
                "@/hostdev-ha.conf:8: Enabled=: Duplicate key, first set on line 2",
                "@/hostdev-ha.conf:9: QuorumLossReleaseSec=: Duplicate key, first set on line 3",
                "@/hostdev-ha.conf:10: Unknown section [cluster]",
                NULL });

        write_file(dir, "hostdev-ha.conf", "[Cluster]\nQuorumLossReleaseSec=ten\n");
        make_dir(dir, "groups.d");
        write_file(dir, "groups.d/g.conf", "[Group]\nDevice=03:00.0\nDomains=vm-a vm-b\n[Cluster]\nEnabled=yes\n");
        assert_load_fails(dir, (const char *const[]) {
                "@/hostdev-ha.conf:2: QuorumLossReleaseSec=: Invalid number 'ten', expected 1..3600",
                "@/groups.d/g.conf:4: Unknown section [Cluster]",
                NULL });
}

static void test_nul_byte(void **state) {
        static const char conf[] = "[Daemon]\nLibvirtURI=a\0b\nBogus=1\n";

        write_raw(*state, "hostdev-ha.conf", conf, sizeof(conf) - 1);
        assert_load_fails(*state, (const char *const[]) {
                "@/hostdev-ha.conf:2: Line contains a NUL byte",
                "@/hostdev-ha.conf:3: Bogus=: Unknown key in section [Daemon]",
                NULL });
}

static void test_group_value_errors(void **state) {
        const char *dir = *state;

        make_dir(dir, "groups.d");
        write_file(dir, "groups.d/g.conf",
                   "[Group]\n"                             /* 1 */
                   "Device=0000:03:00.8\n"                 /* 2 */
                   "Device=0000:03:00.0\n"                 /* 3 */
                   "Managed=maybe\n"                       /* 4 */
                   "Domains=vm-a vm-b vm-a\n"              /* 5 */
                   "Domains=-bad\n"                        /* 6 */
                   "Policy=sometimes\n"                    /* 7 */
                   "ActiveVcpuQuota=999\n"                 /* 8 */
                   "StandbyVcpuQuota=lots\n"               /* 9 */
                   "VcpuPeriod=1000001\n"                  /* 10 */
                   "ReleaseTimeoutSec=0\n"                 /* 11 */
                   "Frobnicate=yes\n"                      /* 12 */
                   "GuestHeartbeatSec=3601\n"              /* 13 */
                   "GuestRequests=everything\n"            /* 14 */
                   "[Daemon]\n"                            /* 15 */
                   "LibvirtURI=x:y\n");                    /* 16 */
        write_file(dir, "groups.d/h.conf",
                   "[Group]\n"
                   "Device=0000:04:00.0\n"
                   "Domains=vm-c vm-d\n"
                   "ActiveVcpuQuota=17592186044416\n"
                   "StandbyVcpuQuota=-2\n"
                   "VcpuPeriod=-5\n"
                   "ReleaseTimeoutSec=3601\n"
                   "Policy=pacemaker\n"
                   "Policy=auto\n"
                   "GuestHeartbeatSec=-1\n");
        assert_load_fails(dir, (const char *const[]) {
                "@/groups.d/g.conf:2: Device=: Invalid PCI address or node device name '0000:03:00.8'",
                "@/groups.d/g.conf:3: Device=: Duplicate key, first set on line 2",
                "@/groups.d/g.conf:4: Managed=: Invalid boolean 'maybe'",
                "@/groups.d/g.conf:5: Domains=: Domain 'vm-a' is listed twice",
                "@/groups.d/g.conf:6: Domains=: Invalid domain name '-bad'",
                "@/groups.d/g.conf:7: Policy=: Invalid policy 'sometimes', expected pacemaker, auto or manual",
                "@/groups.d/g.conf:8: ActiveVcpuQuota=: Value '999' out of range, expected -1 or 1000..17592186044415",
                "@/groups.d/g.conf:9: StandbyVcpuQuota=: Invalid number 'lots', expected -1 or 1000..17592186044415",
                "@/groups.d/g.conf:10: VcpuPeriod=: Value '1000001' out of range, expected 1000..1000000",
                "@/groups.d/g.conf:11: ReleaseTimeoutSec=: Value '0' out of range, expected 1..3600",
                "@/groups.d/g.conf:12: Frobnicate=: Unknown key in section [Group]",
                "@/groups.d/g.conf:13: GuestHeartbeatSec=: Value '3601' out of range, expected 0..3600",
                "@/groups.d/g.conf:14: GuestRequests=: Invalid value 'everything', expected none, release or takeover",
                "@/groups.d/g.conf:15: Unknown section [Daemon]",
                "@/groups.d/h.conf:4: ActiveVcpuQuota=: Value '17592186044416' out of range, expected -1 or 1000..17592186044415",
                "@/groups.d/h.conf:5: StandbyVcpuQuota=: Value '-2' out of range, expected -1 or 1000..17592186044415",
                "@/groups.d/h.conf:6: VcpuPeriod=: Invalid number '-5', expected 1000..1000000",
                "@/groups.d/h.conf:7: ReleaseTimeoutSec=: Value '3601' out of range, expected 1..3600",
                "@/groups.d/h.conf:9: Policy=: Duplicate key, first set on line 8",
                "@/groups.d/h.conf:10: GuestHeartbeatSec=: Invalid number '-1', expected 0..3600",
                NULL });
}

static void test_group_device_errors(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *big = NULL;

        make_dir(dir, "groups.d");
        write_file(dir, "dev.xml", "<hostdev mode='subsystem' type='pci'/>");
        write_file(dir, "bad.xml", "<hostdev>\n<source>\n</hostdev>\n");
        write_file(dir, "empty.xml", "");
        write_file(dir, "doctype.xml", "<!DOCTYPE x [<!ENTITY a 'b'>]>\n<x>&a;</x>\n");
        big = malloc(HDHA_DEVICE_XML_MAX + 1);
        assert_non_null(big);
        memset(big, ' ', HDHA_DEVICE_XML_MAX + 1);
        memcpy(big, "<x/>", 4);
        write_raw(dir, "big.xml", big, HDHA_DEVICE_XML_MAX + 1);

        write_file(dir, "groups.d/a-both.conf", "[Group]\nDevice=0000:01:00.0\nDeviceXML=@/dev.xml\nDomains=a1 a2\n");
        write_file(dir, "groups.d/b-neither.conf", "[Group]\nDomains=b1 b2\n");
        write_file(dir, "groups.d/c-missing.conf", "[Group]\nDeviceXML=@/missing.xml\nDomains=c1 c2\n");
        write_file(dir, "groups.d/d-dir.conf", "[Group]\nDeviceXML=@\nDomains=d1 d2\n");
        write_file(dir, "groups.d/e-malformed.conf", "[Group]\nDomains=e1 e2\nDeviceXML=@/bad.xml\n");
        write_file(dir, "groups.d/f-relative.conf", "[Group]\nDeviceXML=dev.xml\nDomains=f1 f2\n");
        write_file(dir, "groups.d/g-big.conf", "[Group]\nDeviceXML=@/big.xml\nDomains=g1 g2\n");
        write_file(dir, "groups.d/h-doctype.conf", "[Group]\nDeviceXML=@/doctype.xml\nDomains=h1 h2\n");
        write_file(dir, "groups.d/i-empty.conf", "[Group]\nDeviceXML=@/empty.xml\nDomains=i1 i2\n");
        write_file(dir, "groups.d/j-both.conf", "[Group]\nDeviceXML=@/dev.xml\nDevice=0000:01:00.0\nDomains=j1 j2\n");

        assert_load_fails(dir, (const char *const[]) {
                "@/groups.d/a-both.conf:3: DeviceXML=: Device= and DeviceXML= are mutually exclusive",
                "@/groups.d/b-neither.conf: Device=: Either Device= or DeviceXML= must be set",
                "@/groups.d/c-missing.conf:2: DeviceXML=: Failed to read '@/missing.xml': No such file or directory",
                "@/groups.d/d-dir.conf:2: DeviceXML=: '@' is not a regular file",
                "@/groups.d/e-malformed.conf:3: DeviceXML=: Invalid XML in '@/bad.xml': line 3: "
                "Opening and ending tag mismatch*",
                "@/groups.d/f-relative.conf:2: DeviceXML=: Path 'dev.xml' is not absolute",
                "@/groups.d/g-big.conf:2: DeviceXML=: File '@/big.xml' is larger than 65536 bytes",
                "@/groups.d/h-doctype.conf:2: DeviceXML=: Invalid XML in '@/doctype.xml': DOCTYPE is not allowed",
                "@/groups.d/i-empty.conf:2: DeviceXML=: Invalid XML in '@/empty.xml': *",
                "@/groups.d/j-both.conf:3: Device=: Device= and DeviceXML= are mutually exclusive",
                NULL });
}

static void test_group_domain_count(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *many = NULL;
        FILE *f;
        size_t size;

        make_dir(dir, "groups.d");
        write_file(dir, "groups.d/one.conf", "[Group]\nDevice=0000:01:00.0\nDomains=vm-1\n");
        write_file(dir, "groups.d/none.conf", "[Group]\nDevice=0000:02:00.0\n");

        /* 13 lines of 5 = 65 domains: the 65th, on line 14, is one too many. */
        f = open_memstream(&many, &size);
        assert_non_null(f);
        fputs("[Group]\nDevice=0000:03:00.0\n", f);
        for (int i = 0; i < 65; i++)
                fprintf(f, "%sm%02d%s", i % 5 == 0 ? "Domains=" : "", i, i % 5 == 4 ? "\n" : " ");
        assert_int_equal(fclose(f), 0);
        write_file(dir, "groups.d/too-many.conf", many);

        assert_load_fails(dir, (const char *const[]) {
                "@/groups.d/none.conf: Domains=: At least 2 domains are required, got 0",
                "@/groups.d/one.conf:3: Domains=: At least 2 domains are required, got 1",
                "@/groups.d/too-many.conf:15: Domains=: Too many domains, at most 64",
                NULL });
}

/* The longest member list there can be, on one line: 64 names of 128
 * characters (over 8 KiB); its comment and blanks do not count. */
static void test_group_long_domains_line(void **state) {
        _cleanup_(hdha_config_freep) HdhaConfig *c = NULL;
        const char *dir = *state;
        _cleanup_free_ char *conf = NULL;
        FILE *f;
        size_t size;

        make_dir(dir, "groups.d");
        f = open_memstream(&conf, &size);
        assert_non_null(f);
        fputs("[Group]\nDevice=0000:03:00.0\n  Domains = ", f);
        for (int i = 0; i < (int) HDHA_GROUP_DOMAINS_MAX; i++)
                fprintf(f, "%s%03d%0125d", i == 0 ? "" : " ", i, 0);
        fputs("   # every member\nPolicy=manual\n", f);
        assert_int_equal(fclose(f), 0);
        assert_true(size > 8192);
        write_file(dir, "groups.d/long.conf", conf);

        c = load_ok(dir);
        assert_int_equal(c->n_groups, 1);
        assert_int_equal(c->groups[0].n_domains, HDHA_GROUP_DOMAINS_MAX);
        assert_int_equal(strlen(c->groups[0].domains[63]), 128);
        assert_memory_equal(c->groups[0].domains[63], "063000", 6);
        assert_int_equal(c->groups[0].policy, HDHA_POLICY_MANUAL);
}

static void test_cross_group(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *target = NULL, *link = NULL;

        make_dir(dir, "groups.d");
        write_file(dir, "x1.xml", "<interface type='network'><source network='default'/></interface>");
        write_file(dir, "x2.xml", "<interface type='network'><source network='default'/></interface>");
        assert_true(asprintf(&target, "%s/x1.xml", dir) > 0);
        assert_true(asprintf(&link, "%s/link.xml", dir) > 0);
        assert_int_equal(symlink(target, link), 0);

        write_file(dir, "groups.d/a.conf", "[Group]\nDevice=0000:03:00.0\nDomains=vm-a vm-b\n");
        write_file(dir, "groups.d/b.conf", "[Group]\nDevice=pci_0000_03_00_0\nDomains=vm-c\nDomains=vm-a vm-b\n");
        write_file(dir, "groups.d/c.conf", "[Group]\nDeviceXML=@/x1.xml\nDomains=vm-e vm-f\n");
        write_file(dir, "groups.d/d.conf", "[Group]\nDeviceXML=@/x1.xml\nDomains=vm-g vm-h\n");
        write_file(dir, "groups.d/e.conf", "[Group]\nDeviceXML=@/x2.xml\nDomains=vm-i vm-j\n");
        write_file(dir, "groups.d/f.conf", "[Group]\nDeviceXML=@/link.xml\nDomains=vm-k vm-e\n");
        write_file(dir, "groups.d/g.conf", "[Group]\nDevice=0000:03:00.1\nDomains=vm-l vm-m\n");

        assert_load_fails(dir, (const char *const[]) {
                "@/groups.d/b.conf:4: Domains=: Domain 'vm-a' is already a member of group 'a'",
                "@/groups.d/b.conf:4: Domains=: Domain 'vm-b' is already a member of group 'a'",
                "@/groups.d/f.conf:3: Domains=: Domain 'vm-e' is already a member of group 'c'",
                "@/groups.d/b.conf:2: Device=: Device 0000:03:00.0 is already used by group 'a'",
                "@/groups.d/d.conf:2: DeviceXML=: File '@/x1.xml' is already used by group 'c'",
                "@/groups.d/e.conf:2: DeviceXML=: File '@/x2.xml' describes the same device as group 'c'",
                "@/groups.d/f.conf:2: DeviceXML=: File '@/link.xml' is already used by group 'c'",
                NULL });
}

static void test_group_file_names(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *long_name = NULL;

        make_dir(dir, "groups.d");
        write_file(dir, "groups.d/.conf", "");
        write_file(dir, "groups.d/.hidden.conf", "");
        write_file(dir, "groups.d/bad name.conf", "");
        make_dir(dir, "groups.d/sub.conf");
        assert_true(asprintf(&long_name, "groups.d/%0*d.conf", (int) HDHA_GROUP_NAME_MAX + 1, 0) > 0);
        write_file(dir, long_name, "");
        write_file(dir, "groups.d/ok.conf", "[Group]\nDevice=0000:03:00.0\nDomains=vm-a vm-b\n");

        assert_load_fails(dir, (const char *const[]) {
                "@/groups.d/.conf: Invalid group name ''",
                "@/groups.d/.hidden.conf: Invalid group name '.hidden'",
                "@/groups.d/0000000000000000000000000000000000000000000000000000000000000000"
                "0.conf: Invalid group name '00000000000000000000000000000000000000000000000000000000000000000'",
                "@/groups.d/bad name.conf: Invalid group name 'bad name'",
                "@/groups.d/sub.conf: Failed to read: Is a directory",
                NULL });
}

static void test_too_many_groups(void **state) {
        const char *dir = *state;

        make_dir(dir, "groups.d");
        for (unsigned i = 0; i <= HDHA_GROUPS_MAX; i++) {
                char name[32];

                (void) snprintf(name, sizeof(name), "groups.d/g%04u.conf", i);
                write_file(dir, name, "[Group]\n");
        }
        assert_load_fails(dir, (const char *const[]) {
                "@/groups.d: Too many groups (1025), at most 1024", NULL });
}

static void test_too_many_problems(void **state) {
        const char *dir = *state;
        _cleanup_(hdha_config_errors_done) HdhaConfigErrors e = {};
        _cleanup_free_ char *conf = NULL, *out = NULL;
        HdhaConfig *c = NULL;
        size_t size;
        FILE *f;

        /* 300 unknown keys, no Device=, no Domains=: 302 problems, of which
         * the first 256 are kept. */
        f = open_memstream(&conf, &size);
        assert_non_null(f);
        fputs("[Group]\n", f);
        for (int i = 0; i < 300; i++)
                fprintf(f, "Key%d=%d\n", i, i);
        assert_int_equal(fclose(f), 0);
        make_dir(dir, "groups.d");
        write_file(dir, "groups.d/g.conf", conf);

        assert_int_equal(hdha_config_load(dir, &c, &e), -EINVAL);
        assert_null(c);
        assert_int_equal(e.n_errors, HDHA_CONFIG_ERRORS_MAX);
        assert_int_equal(e.n_dropped, 302 - HDHA_CONFIG_ERRORS_MAX);

        f = open_memstream(&out, &size);
        assert_non_null(f);
        assert_int_equal(hdha_config_errors_print(&e, f), 302);
        assert_int_equal(fclose(f), 0);
        assert_true(strncmp(out, dir, strlen(dir)) == 0);
        assert_non_null(strstr(out, "/groups.d/g.conf:2: Key0=: Unknown key in section [Group]\n"));
        assert_non_null(strstr(out, "/groups.d/g.conf:257: Key255=: Unknown key in section [Group]\n"
                                    "... and 46 more problems\n"));
        assert_null(strstr(out, "Key256"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_string_tables),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_error_format),
                cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_design_example, setup, teardown),
                cmocka_unit_test_setup_teardown(test_daemon_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cluster, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_value_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_device_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_domain_count, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_long_domains_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cross_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_file_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_too_many_groups, setup, teardown),
                cmocka_unit_test_setup_teardown(test_too_many_problems, setup, teardown),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
