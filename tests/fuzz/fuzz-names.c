/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The names the bus takes from its callers (lib/names.c) and the object
 * paths of groups (lib/bus-util.c): the validators against a plain
 * reading of their rules, every string through a group path and back, any
 * path to a group name and back, and the number and PCI address parsers
 * against their own printing. */
#include <errno.h>
#include <inttypes.h>

#include "bus-util.h"
#include "device-xml.h"
#include "fuzz-util.h"
#include "macro.h"
#include "names.h"
#include "parse-util.h"

static bool alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The rules of names.h, written out once more. */
static bool reference_name_ok(const char *s, size_t max, const char *extra, const char *no_first) {
        size_t n = strlen(s);

        if (n < 1 || n > max || strchr(no_first, s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!alnum(s[i]) && !strchr(extra, s[i]))
                        return false;
        return true;
}

static void check_group_path(const char *s) {
        _cleanup_free_ char *path = NULL, *back = NULL, *name = NULL;
        bool valid = hdha_group_name_is_valid(s);
        int r;

        r = hdha_bus_group_path(s, &path);
        if (!*s) {
                FUZZ_CHECK(r == -EINVAL);
                return;
        }
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK(r >= 0);
        FUZZ_CHECK(sd_bus_object_path_is_valid(path));
        FUZZ_CHECK(strncmp(path, HDHA_BUS_GROUP_PREFIX "/", strlen(HDHA_BUS_GROUP_PREFIX) + 1) == 0);
        r = sd_bus_path_decode(path, HDHA_BUS_GROUP_PREFIX, &back);
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK(r == 1 && streq(back, s));

        r = hdha_bus_group_from_path(path, &name);
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK(r == (valid ? 1 : 0));
        if (valid)
                FUZZ_CHECK(streq(name, s));
}

/* s as a path a caller sent: a group's name comes out only when valid, and
 * it maps to a path that gives it again. */
static void check_path(const char *s) {
        _cleanup_free_ char *name = NULL, *path = NULL, *again = NULL;
        int r;

        r = hdha_bus_group_from_path(s, &name);
        if (r <= 0) {
                FUZZ_CHECK(r == 0 || r == -ENOMEM);
                return;
        }
        FUZZ_CHECK(hdha_group_name_is_valid(name));
        r = hdha_bus_group_path(name, &path);
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK(r >= 0);
        r = hdha_bus_group_from_path(path, &again);
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK(r == 1 && streq(again, name));
}

static void check_alias(const char *s) {
        _cleanup_free_ char *alias = NULL;
        int r;

        r = hdha_device_alias(s, &alias);
        if (!*s) {
                FUZZ_CHECK(r == -EINVAL);
                return;
        }
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK(r == 0 && hdha_device_alias_is_valid(alias));
}

static void check_numbers(const char *s) {
        char buf[64];
        uint64_t u, u2;
        int64_t i, i2;
        bool b;

        if (hdha_parse_uint64(s, 0, UINT64_MAX, &u) == 0) {
                (void) snprintf(buf, sizeof(buf), "%" PRIu64, u);
                FUZZ_CHECK(hdha_parse_uint64(buf, 0, UINT64_MAX, &u2) == 0 && u == u2);
                FUZZ_CHECK(hdha_parse_uint64(s, u, u, &u2) == 0);
                if (u > 0)
                        FUZZ_CHECK(hdha_parse_uint64(s, 0, u - 1, &u2) == -ERANGE);
        }
        if (hdha_parse_int64(s, INT64_MIN, INT64_MAX, &i) == 0) {
                (void) snprintf(buf, sizeof(buf), "%" PRIi64, i);
                FUZZ_CHECK(hdha_parse_int64(buf, INT64_MIN, INT64_MAX, &i2) == 0 && i == i2);
                if (i < INT64_MAX)
                        FUZZ_CHECK(hdha_parse_int64(s, i + 1, INT64_MAX, &i2) == -ERANGE);
        }
        if (hdha_parse_boolean(s, &b) == 0)
                FUZZ_CHECK(hdha_parse_boolean(b ? "yes" : "no", &b) == 0);
}

static void check_pci(const char *s) {
        HdhaPciAddress a, b;
        char buf[64];

        if (hdha_parse_pci_address(s, &a) < 0)
                return;
        FUZZ_CHECK(a.slot <= 0x1f && a.function <= 0x7);
        (void) snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", a.domain, a.bus, a.slot, a.function);
        FUZZ_CHECK(hdha_parse_pci_address(buf, &b) == 0 && hdha_pci_address_equal(&a, &b));
        (void) snprintf(buf, sizeof(buf), "pci_%04x_%02x_%02x_%x", a.domain, a.bus, a.slot, a.function);
        FUZZ_CHECK(hdha_parse_pci_address(buf, &b) == 0 && hdha_pci_address_equal(&a, &b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_strndup(data, size);

        FUZZ_CHECK(hdha_group_name_is_valid(s) ==
                   reference_name_ok(s, HDHA_GROUP_NAME_MAX, "_.-", "."));
        FUZZ_CHECK(hdha_domain_name_is_valid(s) ==
                   reference_name_ok(s, HDHA_DOMAIN_NAME_MAX, "_.:+@-", ".-"));
        check_group_path(s);
        check_path(s);
        check_alias(s);
        check_numbers(s);
        check_pci(s);
        return 0;
}
