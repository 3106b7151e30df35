/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A configuration directory (lib/conf*.c): the input is split into files
 * written to a directory on tmpfs (/dev/shm, else $TMPDIR), which
 * hdha_config_load() reads as it reads /etc/hostdev-ha. The loader lists
 * groups.d/ and reads DeviceXML= files itself, so the files are real ones.
 *
 * Input: the text up to the first line "%% NAME" is hostdev-ha.conf (none
 * when empty); each "%% NAME" line starts the file NAME: "groups.d/X.conf"
 * for a group, any other NAME (no '/') for a file in the directory, such as
 * a DeviceXML= file. "@DIR@" in a file stands for the directory. At most
 * FILES_MAX files.
 *
 * A configuration loaded obeys every rule conf.h states; one refused comes
 * with problems, each of which formats. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "conf.h"
#include "device-xml.h"
#include "fuzz-util.h"
#include "macro.h"

#define FILES_MAX 16
#define NAME_MAX_LEN 128
#define SEP "%% "

static char dir[256];
static char written[FILES_MAX][NAME_MAX_LEN + 16];
static size_t n_written;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static void remove_dir(void) {
        if (dir[0])
                (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ?: "/tmp");
        char gd[sizeof(dir) + 16];

        xmlInitParser();
        FUZZ_CHECK(snprintf(dir, sizeof(dir), "%s/hostdev-ha-fuzz-config.XXXXXX", base) < (int) sizeof(dir));
        FUZZ_CHECK(mkdtemp(dir));
        (void) snprintf(gd, sizeof(gd), "%s/groups.d", dir);
        FUZZ_CHECK(mkdir(gd, 0755) == 0);
        atexit(remove_dir);
        return 0;
}

/* NAME of a "%% NAME" line: "hostdev-ha.conf", "groups.d/X" or "X", where X
 * has no '/' or control character and is not "." or "..". */
static bool file_name_ok(const char *s, size_t n) {
        if (n > 9 && memcmp(s, "groups.d/", 9) == 0)
                s += 9, n -= 9;
        if (n == 0 || n > NAME_MAX_LEN || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '/' || (unsigned char) s[i] < ' ' || s[i] == 0x7f)
                        return false;
        return true;
}

static void write_file(const char *name, const char *text, size_t size) {
        _cleanup_free_ char *path = NULL;
        int fd;

        if (n_written >= FILES_MAX)
                return;
        FUZZ_CHECK(asprintf(&path, "%s/%s", dir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return; /* a name such as "groups.d" itself */
        /* "@DIR@" stands for the directory. */
        for (const char *p = text, *end = text + size; p < end;) {
                const char *at = memmem(p, (size_t) (end - p), "@DIR@", 5);
                size_t n = at ? (size_t) (at - p) : (size_t) (end - p);

                FUZZ_CHECK(write(fd, p, n) == (ssize_t) n);
                p += n;
                if (at) {
                        FUZZ_CHECK(write(fd, dir, strlen(dir)) == (ssize_t) strlen(dir));
                        p += 5;
                }
        }
        FUZZ_CHECK(close(fd) == 0);
        (void) snprintf(written[n_written++], sizeof(written[0]), "%s", name);
}

static void clear_files(void) {
        for (size_t i = 0; i < n_written; i++) {
                char path[sizeof(dir) + sizeof(written[0]) + 1];

                (void) snprintf(path, sizeof(path), "%s/%s", dir, written[i]);
                (void) unlink(path);
        }
        n_written = 0;
}

/* Splits the input into files, see the top. */
static void write_files(const char *s, size_t size) {
        const char *end = s + size, *body = s, *line = s;
        char name[NAME_MAX_LEN + 16] = "hostdev-ha.conf";
        bool first = true;

        for (;;) {
                const char *eol = memchr(line, '\n', (size_t) (end - line));
                size_t len = (size_t) ((eol ?: end) - line);
                bool sep = len > strlen(SEP) && memcmp(line, SEP, strlen(SEP)) == 0 &&
                        file_name_ok(line + strlen(SEP), len - strlen(SEP));

                if (sep || !eol) {
                        const char *body_end = sep ? line : end;

                        /* Text before the first "%% " line: hostdev-ha.conf, if any. */
                        if (!first || body_end > body)
                                write_file(name, body, (size_t) (body_end - body));
                        if (!sep)
                                return;
                        (void) snprintf(name, sizeof(name), "%.*s", (int) (len - strlen(SEP)), line + strlen(SEP));
                        first = false;
                        if (!eol) {
                                write_file(name, end, 0);
                                return;
                        }
                        body = eol + 1;
                }
                line = eol + 1;
        }
}

static bool in_range(uint64_t v, uint64_t min, uint64_t max) {
        return v >= min && v <= max;
}

static bool quota_ok(int64_t q) {
        return q == HDHA_VCPU_QUOTA_UNLIMITED || (q >= HDHA_VCPU_QUOTA_MIN && q <= HDHA_VCPU_QUOTA_MAX);
}

static void check_config(const HdhaConfig *c) {
        FUZZ_CHECK(c->libvirt_uri && *c->libvirt_uri);
        FUZZ_CHECK(c->state_directory && c->state_directory[0] == '/');
        FUZZ_CHECK(hdha_cluster_mode_to_string(c->cluster_mode));
        FUZZ_CHECK(in_range(c->quorum_loss_release_sec, HDHA_QUORUM_LOSS_RELEASE_SEC_MIN,
                            HDHA_QUORUM_LOSS_RELEASE_SEC_MAX));
        FUZZ_CHECK(c->n_groups <= HDHA_GROUPS_MAX);

        for (size_t i = 0; i < c->n_groups; i++) {
                const HdhaGroupConfig *g = &c->groups[i];
                _cleanup_free_ char *xml = NULL, *alias = NULL, *want = NULL;

                FUZZ_CHECK(hdha_group_name_is_valid(g->name));
                FUZZ_CHECK(i == 0 || strcmp(c->groups[i - 1].name, g->name) < 0);
                FUZZ_CHECK(hdha_config_find_group(c, g->name) == g);
                FUZZ_CHECK(g->n_domains >= 2 && g->n_domains <= HDHA_GROUP_DOMAINS_MAX);
                for (size_t j = 0; j < g->n_domains; j++) {
                        FUZZ_CHECK(hdha_domain_name_is_valid(g->domains[j]));
                        /* In one group only, and once in it. */
                        FUZZ_CHECK(hdha_config_find_domain(c, g->domains[j]) == g);
                        for (size_t k = 0; k < j; k++)
                                FUZZ_CHECK(!streq(g->domains[k], g->domains[j]));
                }
                FUZZ_CHECK(hdha_policy_to_string(g->policy));
                FUZZ_CHECK(quota_ok(g->active_vcpu_quota) && quota_ok(g->standby_vcpu_quota));
                FUZZ_CHECK(in_range(g->vcpu_period, HDHA_VCPU_PERIOD_MIN, HDHA_VCPU_PERIOD_MAX));
                FUZZ_CHECK(in_range(g->release_timeout_sec, HDHA_RELEASE_TIMEOUT_SEC_MIN,
                                    HDHA_RELEASE_TIMEOUT_SEC_MAX));
                FUZZ_CHECK(g->guest_heartbeat_sec <= HDHA_GUEST_HEARTBEAT_SEC_MAX);
                FUZZ_CHECK(hdha_guest_requests_to_string(g->guest_requests));
                FUZZ_CHECK(g->device_kind == HDHA_DEVICE_PCI || g->device_kind == HDHA_DEVICE_XML);
                if (g->device_kind == HDHA_DEVICE_XML) {
                        FUZZ_CHECK(g->device_xml_path && g->device_xml_path[0] == '/' && g->device_xml);
                        FUZZ_CHECK(strlen(g->device_xml) <= HDHA_DEVICE_XML_MAX);
                }
                for (size_t k = 0; k < i; k++) {
                        const HdhaGroupConfig *o = &c->groups[k];

                        if (g->device_kind == HDHA_DEVICE_PCI && o->device_kind == HDHA_DEVICE_PCI)
                                FUZZ_CHECK(!hdha_pci_address_equal(&g->pci, &o->pci));
                        if (g->device_kind == HDHA_DEVICE_XML && o->device_kind == HDHA_DEVICE_XML)
                                FUZZ_CHECK(!streq(g->device_xml, o->device_xml) &&
                                           !streq(g->device_xml_path, o->device_xml_path));
                }

                /* What the daemon attaches is built from it. */
                if (hdha_device_xml_build(g, &xml) == -ENOMEM || hdha_device_alias(g->name, &want) < 0)
                        continue;
                FUZZ_CHECK(xml);
                if (hdha_device_xml_alias(xml, &alias) == -ENOMEM)
                        continue;
                FUZZ_CHECK(alias && streq(alias, want));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hdha_config_errors_done) HdhaConfigErrors errors = {};
        _cleanup_(hdha_config_freep) HdhaConfig *c = NULL;
        int r;

        clear_files();
        write_files((const char *) data, size);

        r = hdha_config_load(dir, &c, &errors);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        FUZZ_CHECK(errors.n_errors <= HDHA_CONFIG_ERRORS_MAX);
        FUZZ_CHECK(errors.n_dropped == 0 || errors.n_errors == HDHA_CONFIG_ERRORS_MAX);
        if (r == -ENOMEM)
                return 0;
        if (r == 0) {
                FUZZ_CHECK(c && errors.n_errors == 0 && errors.n_dropped == 0);
                check_config(c);
                return 0;
        }
        FUZZ_CHECK(!c && errors.n_errors > 0);
        for (size_t i = 0; i < errors.n_errors; i++) {
                _cleanup_free_ char *s = NULL;

                FUZZ_CHECK(errors.errors[i].file && errors.errors[i].message);
                r = hdha_config_error_format(&errors.errors[i], &s);
                FUZZ_CHECK(r == 0 || r == -ENOMEM);
        }
        return 0;
}
