/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-group.h"
#include "device-xml.h"

static bool strv_contains(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

void hdha_config_group_done(HdhaGroupConfig *g) {
        free(g->name);
        free(g->file);
        free(g->device_xml_path);
        free(g->device_xml);
        for (size_t i = 0; i < g->n_domains; i++)
                free(g->domains[i]);
        free(g->domains);
}

static int parse_device(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        HdhaConfigGroupMeta *m = p->userdata;

        if (!*value)
                return 0;
        m->pci_line = p->line;
        if (hdha_parse_pci_address(value, data) < 0) {
                m->pci_invalid = true;
                return hdha_config_parser_error(p, k->name, "Invalid PCI address or node device name '%s'", value);
        }
        return 0;
}

static int parse_device_xml(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        HdhaConfigGroupMeta *m = p->userdata;

        if (*value)
                m->xml_line = p->line;
        return hdha_config_parse_absolute_path(p, k, value, data);
}

static int parse_bool(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        if (*value && hdha_parse_boolean(value, data) < 0)
                return hdha_config_parser_error(p, k->name, "Invalid boolean '%s'", value);
        return 0;
}

static int parse_policy(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        HdhaPolicy v;

        if (!*value)
                return 0;
        v = hdha_policy_from_string(value);
        if (v < 0)
                return hdha_config_parser_error(p, k->name, "Invalid policy '%s', expected pacemaker, auto or manual",
                                                value);
        *(HdhaPolicy *) data = v;
        return 0;
}

static int parse_guest_requests(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        HdhaGuestRequests v;

        if (!*value)
                return 0;
        v = hdha_guest_requests_from_string(value);
        if (v < 0)
                return hdha_config_parser_error(p, k->name,
                                                "Invalid value '%s', expected none, release or takeover", value);
        *(HdhaGuestRequests *) data = v;
        return 0;
}

static int parse_vcpu_quota(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        int64_t v;
        int r;

        if (!*value)
                return 0;
        r = hdha_parse_int64(value, -1, HDHA_VCPU_QUOTA_MAX, &v);
        if (r == -EINVAL)
                return hdha_config_parser_error(p, k->name,
                                                "Invalid number '%s', expected -1 or %" PRIi64 "..%" PRIi64, value,
                                                HDHA_VCPU_QUOTA_MIN, HDHA_VCPU_QUOTA_MAX);
        if (r < 0 || (v != HDHA_VCPU_QUOTA_UNLIMITED && v < HDHA_VCPU_QUOTA_MIN))
                return hdha_config_parser_error(p, k->name,
                                                "Value '%s' out of range, expected -1 or %" PRIi64 "..%" PRIi64, value,
                                                HDHA_VCPU_QUOTA_MIN, HDHA_VCPU_QUOTA_MAX);
        *(int64_t *) data = v;
        return 0;
}

static int parse_domains(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        HdhaGroupConfig *g = data;
        HdhaConfigGroupMeta *m = p->userdata;
        const char *w = value;

        m->domains_line = p->line;
        while (*w) {
                _cleanup_free_ char *d = NULL;
                size_t len = strcspn(w, " \t");
                char **n;
                int r = 0;

                d = strndup(w, len);
                if (!d)
                        return -ENOMEM;
                w += len;
                w += strspn(w, " \t");

                if (!hdha_domain_name_is_valid(d))
                        r = hdha_config_parser_error(p, k->name, "Invalid domain name '%s'", d);
                else if (strv_contains(g->domains, g->n_domains, d))
                        r = hdha_config_parser_error(p, k->name, "Domain '%s' is listed twice", d);
                else if (g->n_domains >= HDHA_GROUP_DOMAINS_MAX)
                        return hdha_config_parser_error(p, k->name, "Too many domains, at most %u",
                                                        HDHA_GROUP_DOMAINS_MAX);
                else {
                        n = reallocarray(g->domains, g->n_domains + 1, sizeof(char *));
                        if (!n)
                                return -ENOMEM;
                        g->domains = n;
                        m->domain_lines[g->n_domains] = p->line;
                        g->domains[g->n_domains++] = TAKE_PTR(d);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static const HdhaConfigKey group_keys[] = {
        { "Device", parse_device, offsetof(HdhaGroupConfig, pci) },
        { "DeviceXML", parse_device_xml, offsetof(HdhaGroupConfig, device_xml_path) },
        { "Managed", parse_bool, offsetof(HdhaGroupConfig, managed) },
        { "Domains", parse_domains, 0, .repeatable = true },
        { "Policy", parse_policy, offsetof(HdhaGroupConfig, policy) },
        { "ActiveVcpuQuota", parse_vcpu_quota, offsetof(HdhaGroupConfig, active_vcpu_quota) },
        { "StandbyVcpuQuota", parse_vcpu_quota, offsetof(HdhaGroupConfig, standby_vcpu_quota) },
        { "VcpuPeriod", hdha_config_parse_uint64_range, offsetof(HdhaGroupConfig, vcpu_period),
          .min = HDHA_VCPU_PERIOD_MIN, .max = HDHA_VCPU_PERIOD_MAX },
        { "ReleaseTimeoutSec", hdha_config_parse_uint64_range, offsetof(HdhaGroupConfig, release_timeout_sec),
          .min = HDHA_RELEASE_TIMEOUT_SEC_MIN, .max = HDHA_RELEASE_TIMEOUT_SEC_MAX },
        { "GuestHeartbeatSec", hdha_config_parse_uint64_range, offsetof(HdhaGroupConfig, guest_heartbeat_sec),
          .min = 0, .max = HDHA_GUEST_HEARTBEAT_SEC_MAX },
        { "GuestRequests", parse_guest_requests, offsetof(HdhaGroupConfig, guest_requests) },
};

static int group_load_xml(HdhaGroupConfig *g, HdhaConfigGroupMeta *m, HdhaConfigErrors *e) {
        _cleanup_free_ char *buf = NULL, *msg = NULL;
        size_t size;
        int r;

        r = hdha_config_read_file_at(AT_FDCWD, g->device_xml_path, HDHA_DEVICE_XML_MAX, &buf, &size);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                return hdha_config_errors_add(e, g->file, m->xml_line, "DeviceXML", 0,
                                              "File '%s' is larger than %u bytes", g->device_xml_path,
                                              HDHA_DEVICE_XML_MAX);
        if (r == -EISDIR || r == -EBADFD)
                return hdha_config_errors_add(e, g->file, m->xml_line, "DeviceXML", 0,
                                              "'%s' is not a regular file", g->device_xml_path);
        if (r < 0)
                return hdha_config_errors_add(e, g->file, m->xml_line, "DeviceXML", r,
                                              "Failed to read '%s': %m", g->device_xml_path);

        r = hdha_device_xml_validate(buf, size, g->device_xml_path, &msg);
        if (r == -EINVAL)
                return hdha_config_errors_add(e, g->file, m->xml_line, "DeviceXML", 0,
                                              "Invalid XML in '%s': %s", g->device_xml_path, msg);
        if (r < 0)
                return r;

        m->xml_canonical = realpath(g->device_xml_path, NULL);
        if (!m->xml_canonical && errno == ENOMEM)
                return -ENOMEM;
        g->device_xml = TAKE_PTR(buf);
        return 0;
}

/* Checks what needs the whole file: Device= xor DeviceXML=, the XML file,
 * the number of domains. */
static int group_check(HdhaGroupConfig *g, HdhaConfigGroupMeta *m, HdhaConfigErrors *e) {
        int r;

        if (m->pci_line > 0 && m->xml_line > 0) {
                bool xml_last = m->xml_line > m->pci_line;

                r = hdha_config_errors_add(e, g->file, xml_last ? m->xml_line : m->pci_line,
                                           xml_last ? "DeviceXML" : "Device", 0,
                                           "Device= and DeviceXML= are mutually exclusive");
        } else if (m->pci_line > 0) {
                g->device_kind = HDHA_DEVICE_PCI;
                r = 0;
        } else if (m->xml_line > 0) {
                g->device_kind = HDHA_DEVICE_XML;
                r = g->device_xml_path ? group_load_xml(g, m, e) : 0;
        } else
                r = hdha_config_errors_add(e, g->file, 0, "Device", 0, "Either Device= or DeviceXML= must be set");
        if (r < 0)
                return r;

        if (g->n_domains < 2)
                return hdha_config_errors_add(e, g->file, m->domains_line, "Domains", 0,
                                              "At least 2 domains are required, got %zu", g->n_domains);
        return 0;
}

int hdha_config_group_load(HdhaConfig *c, int gdfd, const char *fname, HdhaGroupConfig *g, HdhaConfigGroupMeta *m,
                           HdhaConfigErrors *e) {
        _cleanup_free_ char *buf = NULL;
        unsigned seen[ELEMENTSOF(group_keys)] = {};
        size_t size;
        int r;

        *g = (HdhaGroupConfig) {
                .device_kind = _HDHA_DEVICE_KIND_INVALID,
                .policy = HDHA_POLICY_PACEMAKER,
                .active_vcpu_quota = HDHA_DEFAULT_ACTIVE_VCPU_QUOTA,
                .standby_vcpu_quota = HDHA_DEFAULT_STANDBY_VCPU_QUOTA,
                .vcpu_period = HDHA_DEFAULT_VCPU_PERIOD,
                .release_timeout_sec = HDHA_DEFAULT_RELEASE_TIMEOUT_SEC,
                .guest_heartbeat_sec = 0,
                .guest_requests = HDHA_GUEST_REQUESTS_NONE,
        };
        if (asprintf(&g->file, "%s/groups.d/%s", c->dir, fname) < 0) {
                g->file = NULL;
                return -ENOMEM;
        }
        g->name = strndup(fname, strlen(fname) - strlen(".conf"));
        if (!g->name)
                return -ENOMEM;
        if (!hdha_group_name_is_valid(g->name))
                return hdha_config_errors_add(e, g->file, 0, NULL, 0, "Invalid group name '%s'", g->name);

        r = hdha_config_read_file_at(gdfd, fname, HDHA_CONFIG_FILE_MAX, &buf, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return hdha_config_errors_add(e, g->file, 0, NULL, r, "Failed to read: %m");

        r = hdha_config_parse_buffer(&(HdhaConfigParser) {
                        .errors = e,
                        .path = g->file,
                        .sections = &(const HdhaConfigSection) {
                                .name = "Group",
                                .keys = group_keys,
                                .n_keys = ELEMENTSOF(group_keys),
                                .seen = seen,
                                .target = g,
                        },
                        .n_sections = 1,
                        .userdata = m,
                }, buf, size);
        if (r < 0)
                return r;
        r = group_check(g, m, e);
        return r < 0 ? r : 1;
}

