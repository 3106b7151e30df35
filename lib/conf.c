/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf-parser.h"
#include "conf-group.h"
#include "string-table.h"

static const char *const policy_table[_HDHA_POLICY_MAX] = {
        [HDHA_POLICY_PACEMAKER] = "pacemaker",
        [HDHA_POLICY_AUTO] = "auto",
        [HDHA_POLICY_MANUAL] = "manual",
};

static const char *const guest_requests_table[_HDHA_GUEST_REQUESTS_MAX] = {
        [HDHA_GUEST_REQUESTS_NONE] = "none",
        [HDHA_GUEST_REQUESTS_RELEASE] = "release",
        [HDHA_GUEST_REQUESTS_TAKEOVER] = "takeover",
};

static const char *const device_kind_table[_HDHA_DEVICE_KIND_MAX] = {
        [HDHA_DEVICE_PCI] = "pci",
        [HDHA_DEVICE_XML] = "xml",
};

static const char *const cluster_mode_table[_HDHA_CLUSTER_MODE_MAX] = {
        [HDHA_CLUSTER_MODE_AUTO] = "auto",
        [HDHA_CLUSTER_MODE_YES] = "yes",
        [HDHA_CLUSTER_MODE_NO] = "no",
};

DEFINE_STRING_TABLE_LOOKUP(hdha_policy, HdhaPolicy, policy_table);
DEFINE_STRING_TABLE_LOOKUP(hdha_cluster_mode, HdhaClusterMode, cluster_mode_table);
DEFINE_STRING_TABLE_LOOKUP(hdha_guest_requests, HdhaGuestRequests, guest_requests_table);
DEFINE_STRING_TABLE_LOOKUP(hdha_device_kind, HdhaDeviceKind, device_kind_table);

/* [Daemon] */

static int parse_uri(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        char **s = data;
        char *v;

        if (!*value)
                return 0;
        for (const char *c = value; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        return hdha_config_parser_error(p, k->name, "Invalid URI '%s'", value);
        if (!strchr(value, ':') || value[0] == ':')
                return hdha_config_parser_error(p, k->name, "Invalid URI '%s'", value);

        v = strdup(value);
        if (!v)
                return -ENOMEM;
        free(*s);
        *s = v;
        return 0;
}

static int parse_admin_group(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        HdhaConfig *c = data;
        _cleanup_free_ char *buf = NULL;
        struct group grp, *result = NULL;
        long l = sysconf(_SC_GETGR_R_SIZE_MAX);
        size_t size = l > 0 ? (size_t) l : 1024;
        int e;

        if (!*value)
                return 0;
        if (!hdha_name_chars_ok(value, 64, "_.-") || value[0] == '-')
                return hdha_config_parser_error(p, k->name, "Invalid group name '%s'", value);

        for (;;) {
                char *n = realloc(buf, size);
                if (!n)
                        return -ENOMEM;
                buf = n;
                e = getgrnam_r(value, &grp, buf, size, &result);
                if (e != ERANGE || size >= 1024 * 1024)
                        break;
                size *= 2;
        }
        if (e != 0 && e != ENOENT && e != ESRCH)
                return hdha_config_errors_add(p->errors, p->path, p->line, k->name, -e,
                                              "Failed to look up group '%s': %m", value);
        if (!result)
                return hdha_config_parser_error(p, k->name, "Unknown group '%s'", value);

        free(c->admin_group);
        c->admin_group = strdup(value);
        if (!c->admin_group)
                return -ENOMEM;
        c->admin_gid = grp.gr_gid;
        return 0;
}

static const HdhaConfigKey daemon_keys[] = {
        { "LibvirtURI", parse_uri, offsetof(HdhaConfig, libvirt_uri) },
        { "StateDirectory", hdha_config_parse_absolute_path, offsetof(HdhaConfig, state_directory) },
        { "AdminGroup", parse_admin_group, 0 },
};

/* [Cluster] */

static int parse_cluster_mode(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        HdhaClusterMode m;

        if (!*value)
                return 0;
        m = hdha_cluster_mode_from_string(value);
        if (m < 0)
                return hdha_config_parser_error(p, k->name, "Invalid value '%s', expected auto, yes or no", value);
        *(HdhaClusterMode *) data = m;
        return 0;
}

static const HdhaConfigKey cluster_keys[] = {
        { "Enabled", parse_cluster_mode, offsetof(HdhaConfig, cluster_mode) },
        { "QuorumLossReleaseSec", hdha_config_parse_uint64_range, offsetof(HdhaConfig, quorum_loss_release_sec),
          .min = HDHA_QUORUM_LOSS_RELEASE_SEC_MIN, .max = HDHA_QUORUM_LOSS_RELEASE_SEC_MAX },
};

static int load_daemon_conf(HdhaConfig *c, int dfd, HdhaConfigErrors *errors) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        unsigned seen[ELEMENTSOF(daemon_keys)] = {}, cluster_seen[ELEMENTSOF(cluster_keys)] = {};
        size_t size;
        int r;

        if (asprintf(&path, "%s/hostdev-ha.conf", c->dir) < 0)
                return -ENOMEM;

        r = hdha_config_read_file_at(dfd, "hostdev-ha.conf", HDHA_CONFIG_FILE_MAX, &buf, &size);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return hdha_config_errors_add(errors, path, 0, NULL, r, "Failed to read: %m");

        return hdha_config_parse_buffer(&(HdhaConfigParser) {
                        .errors = errors,
                        .path = path,
                        .sections = (const HdhaConfigSection[]) {
                                { "Daemon", daemon_keys, ELEMENTSOF(daemon_keys), seen, c },
                                { "Cluster", cluster_keys, ELEMENTSOF(cluster_keys), cluster_seen, c },
                        },
                        .n_sections = 2,
                }, buf, size);
}

typedef struct DomainRef {
        const char *name;
        size_t group;
        unsigned line;
        size_t owner; /* for duplicates: the group that has it first */
} DomainRef;

static int domain_ref_cmp_name(const void *a, const void *b) {
        const DomainRef *x = a, *y = b;
        int d = strcmp(x->name, y->name);

        if (d != 0)
                return d;
        return x->group < y->group ? -1 : x->group > y->group;
}

static int domain_ref_cmp_place(const void *a, const void *b) {
        const DomainRef *x = a, *y = b;

        if (x->group != y->group)
                return x->group < y->group ? -1 : 1;
        return x->line < y->line ? -1 : x->line > y->line;
}

/* A domain in two groups: reported where the later group (by name) lists it. */
static int check_domains_unique(HdhaConfig *c, HdhaConfigGroupMeta *metas, HdhaConfigErrors *e) {
        _cleanup_free_ DomainRef *refs = NULL, *dups = NULL;
        size_t n = 0, n_dups = 0;

        for (size_t i = 0; i < c->n_groups; i++)
                n += c->groups[i].n_domains;
        if (n == 0)
                return 0;
        refs = calloc(n, sizeof(DomainRef));
        dups = calloc(n, sizeof(DomainRef));
        if (!refs || !dups)
                return -ENOMEM;

        n = 0;
        for (size_t i = 0; i < c->n_groups; i++)
                for (size_t j = 0; j < c->groups[i].n_domains; j++)
                        refs[n++] = (DomainRef) {
                                .name = c->groups[i].domains[j],
                                .group = i,
                                .line = metas[i].domain_lines[j],
                        };
        qsort(refs, n, sizeof(DomainRef), domain_ref_cmp_name);

        for (size_t i = 1, first = 0; i < n; i++) {
                if (!streq(refs[i].name, refs[first].name)) {
                        first = i;
                        continue;
                }
                dups[n_dups] = refs[i];
                dups[n_dups++].owner = refs[first].group;
        }
        qsort(dups, n_dups, sizeof(DomainRef), domain_ref_cmp_place);

        for (size_t i = 0; i < n_dups; i++) {
                int r = hdha_config_errors_add(e, c->groups[dups[i].group].file, dups[i].line, "Domains", 0,
                                               "Domain '%s' is already a member of group '%s'",
                                               dups[i].name, c->groups[dups[i].owner].name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A device in two groups: reported at the later group's Device=/DeviceXML=. */
static int check_devices_unique(HdhaConfig *c, HdhaConfigGroupMeta *metas, HdhaConfigErrors *e) {
        for (size_t j = 1; j < c->n_groups; j++) {
                const HdhaGroupConfig *b = &c->groups[j];
                const HdhaConfigGroupMeta *mb = &metas[j];

                for (size_t i = 0; i < j; i++) {
                        const HdhaGroupConfig *a = &c->groups[i];
                        const HdhaConfigGroupMeta *ma = &metas[i];
                        int r = 0;

                        if (a->device_kind != b->device_kind)
                                continue;
                        if (b->device_kind == HDHA_DEVICE_PCI && !ma->pci_invalid && !mb->pci_invalid &&
                            hdha_pci_address_equal(&a->pci, &b->pci))
                                r = hdha_config_errors_add(e, b->file, mb->pci_line, "Device", 0,
                                                           "Device %04x:%02x:%02x.%x is already used by group '%s'",
                                                           b->pci.domain, b->pci.bus, b->pci.slot, b->pci.function,
                                                           a->name);
                        else if (b->device_kind != HDHA_DEVICE_XML || !a->device_xml || !b->device_xml)
                                continue;
                        else if (streq(a->device_xml_path, b->device_xml_path) ||
                                 (ma->xml_canonical && mb->xml_canonical &&
                                  streq(ma->xml_canonical, mb->xml_canonical)))
                                r = hdha_config_errors_add(e, b->file, mb->xml_line, "DeviceXML", 0,
                                                           "File '%s' is already used by group '%s'",
                                                           b->device_xml_path, a->name);
                        else if (streq(a->device_xml, b->device_xml))
                                r = hdha_config_errors_add(e, b->file, mb->xml_line, "DeviceXML", 0,
                                                           "File '%s' describes the same device as group '%s'",
                                                           b->device_xml_path, a->name);
                        else
                                continue;
                        if (r < 0)
                                return r;
                        break; /* one report per group */
                }
        }
        return 0;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void strv_free_n(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static bool ends_with_conf(const char *s) {
        size_t l = strlen(s);
        return l >= 5 && streq(s + l - 5, ".conf");
}

/* The sorted names of the *.conf files in groups.d; none if there are more
 * than HDHA_GROUPS_MAX. */
static int list_group_files(const char *gpath, DIR *d, char ***ret, size_t *ret_n, HdhaConfigErrors *e) {
        char **names = NULL;
        size_t n = 0;
        size_t n_more = 0;
        int r = 0;

        for (;;) {
                struct dirent *de;
                char **x;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = hdha_config_errors_add(e, gpath, 0, NULL, -errno, "Failed to read directory: %m");
                        break;
                }
                if (!ends_with_conf(de->d_name))
                        continue;
                if (n >= HDHA_GROUPS_MAX) {
                        n_more++;
                        continue;
                }
                x = reallocarray(names, n + 1, sizeof(char *));
                if (!x) {
                        r = -ENOMEM;
                        break;
                }
                names = x;
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        /* Which files readdir() listed first is arbitrary: load none. */
        if (r >= 0 && n_more > 0) {
                r = hdha_config_errors_add(e, gpath, 0, NULL, 0, "Too many groups (%zu), at most %u",
                                           n + n_more, HDHA_GROUPS_MAX);
                strv_free_n(names, n);
                names = NULL;
                n = 0;
        }
        if (r < 0) {
                strv_free_n(names, n);
                return r;
        }

        if (n > 0)
                qsort(names, n, sizeof(char *), strcmp_ptr);
        *ret = names;
        *ret_n = n;
        return 0;
}

static int load_groups(HdhaConfig *c, int dfd, HdhaConfigErrors *e) {
        _cleanup_free_ char *gpath = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ HdhaConfigGroupMeta *metas = NULL;
        char **names = NULL;
        size_t n_names = 0;
        int fd, r;

        if (asprintf(&gpath, "%s/groups.d", c->dir) < 0)
                return -ENOMEM;

        fd = openat(dfd, "groups.d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0; /* no groups */
                return hdha_config_errors_add(e, gpath, 0, NULL, -errno, "Failed to open directory: %m");
        }
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }

        r = list_group_files(gpath, d, &names, &n_names, e);
        if (r < 0 || n_names == 0)
                return r;

        c->groups = calloc(n_names, sizeof(HdhaGroupConfig));
        metas = calloc(n_names, sizeof(HdhaConfigGroupMeta));
        if (!c->groups || !metas) {
                r = -ENOMEM;
                goto finish;
        }

        for (size_t i = 0; i < n_names; i++) {
                HdhaGroupConfig *g = &c->groups[c->n_groups];

                r = hdha_config_group_load(c, dirfd(d), names[i], g, &metas[c->n_groups], e);
                if (r > 0)
                        c->n_groups++;
                else {
                        hdha_config_group_done(g);
                        free(metas[c->n_groups].xml_canonical);
                        metas[c->n_groups] = (HdhaConfigGroupMeta) {};
                }
                if (r < 0)
                        goto finish;
        }

        r = check_domains_unique(c, metas, e);
        if (r >= 0)
                r = check_devices_unique(c, metas, e);

finish:
        for (size_t i = 0; metas && i < n_names; i++)
                free(metas[i].xml_canonical);
        strv_free_n(names, n_names);
        return r;
}

/* The whole configuration */

HdhaConfig *hdha_config_free(HdhaConfig *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_groups; i++)
                hdha_config_group_done(&c->groups[i]);
        free(c->groups);
        free(c->dir);
        free(c->libvirt_uri);
        free(c->state_directory);
        free(c->admin_group);
        free(c);
        return NULL;
}

const HdhaGroupConfig *hdha_config_find_group(const HdhaConfig *c, const char *name) {
        for (size_t i = 0; c && name && i < c->n_groups; i++)
                if (streq(c->groups[i].name, name))
                        return &c->groups[i];
        return NULL;
}

const HdhaGroupConfig *hdha_config_find_domain(const HdhaConfig *c, const char *domain) {
        for (size_t i = 0; c && domain && i < c->n_groups; i++)
                for (size_t j = 0; j < c->groups[i].n_domains; j++)
                        if (streq(c->groups[i].domains[j], domain))
                                return &c->groups[i];
        return NULL;
}

int hdha_config_load(const char *dir, HdhaConfig **ret, HdhaConfigErrors *errors) {
        _cleanup_(hdha_config_freep) HdhaConfig *c = NULL;
        _cleanup_(hdha_config_errors_done) HdhaConfigErrors local = {};
        _cleanup_close_ int dfd = -EBADF;
        HdhaConfigErrors *e = errors ?: &local;
        size_t before = e->n_errors + e->n_dropped;
        int r;

        if (!dir || !*dir || !ret)
                return -EINVAL;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                return hdha_config_errors_add(e, dir, 0, NULL, r, "Failed to open configuration directory: %m") ?: r;
        }

        c = calloc(1, sizeof(HdhaConfig));
        if (!c)
                return -ENOMEM;
        c->dir = strdup(dir);
        c->libvirt_uri = strdup(HDHA_DEFAULT_LIBVIRT_URI);
        c->state_directory = strdup(HDHA_DEFAULT_STATE_DIRECTORY);
        c->cluster_mode = HDHA_CLUSTER_MODE_AUTO;
        c->quorum_loss_release_sec = HDHA_DEFAULT_QUORUM_LOSS_RELEASE_SEC;
        if (!c->dir || !c->libvirt_uri || !c->state_directory)
                return -ENOMEM;

        r = load_daemon_conf(c, dfd, e);
        if (r < 0)
                return r;
        r = load_groups(c, dfd, e);
        if (r < 0)
                return r;

        if (e->n_errors + e->n_dropped > before)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}
