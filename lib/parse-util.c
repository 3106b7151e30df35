/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "parse-util.h"

/* strtoll() accepts leading blanks and a '+', and sets errno only on
 * overflow: refuse everything that is not a plain decimal number. */
static bool looks_decimal(const char *s, bool allow_minus) {
        if (allow_minus && *s == '-')
                s++;
        if (!isdigit((unsigned char) *s))
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char) *s))
                        return false;
        return true;
}

int hdha_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        long long v;
        char *end;

        if (!s || !looks_decimal(s, true))
                return -EINVAL;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        if (errno != 0 || *end != '\0')
                return -EINVAL;

        *ret = v;
        return 0;
}

int hdha_parse_uint64(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !looks_decimal(s, false))
                return -EINVAL;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        if (errno != 0 || *end != '\0')
                return -EINVAL;

        *ret = v;
        return 0;
}

int hdha_parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

static int parse_hex_field(const char *s, size_t len, unsigned max, unsigned *ret) {
        unsigned v = 0;

        if (len == 0 || len > 4)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
                v = v * 16 + (unsigned) (isdigit((unsigned char) s[i]) ? s[i] - '0' : (tolower((unsigned char) s[i]) - 'a' + 10));
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* Splits s at the separators seps[0..n-2] into n hex fields of the given
 * maximum values. */
static int parse_pci_fields(const char *s, const char *seps, const unsigned *max, unsigned *fields, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *end = i + 1 < n ? strchr(s, seps[i]) : s + strlen(s);
                int r;

                if (!end)
                        return -EINVAL;
                r = parse_hex_field(s, (size_t) (end - s), max[i], &fields[i]);
                if (r < 0)
                        return r;
                s = end + (i + 1 < n);
        }
        return 0;
}

int hdha_parse_pci_address(const char *s, HdhaPciAddress *ret) {
        static const unsigned max4[] = { 0xffff, 0xff, 0x1f, 0x7 };
        unsigned f[4] = {};
        int r;

        if (!s)
                return -EINVAL;

        if (strncmp(s, "pci_", 4) == 0)
                r = parse_pci_fields(s + 4, "___", max4, f, 4);
        else if (strchr(s, ':') != strrchr(s, ':'))
                r = parse_pci_fields(s, "::.", max4, f, 4);
        else
                r = parse_pci_fields(s, ":.", max4 + 1, f + 1, 3);
        if (r < 0)
                return r;

        *ret = (HdhaPciAddress) {
                .domain = (uint16_t) f[0],
                .bus = (uint8_t) f[1],
                .slot = (uint8_t) f[2],
                .function = (uint8_t) f[3],
        };
        return 0;
}

bool hdha_pci_address_equal(const HdhaPciAddress *a, const HdhaPciAddress *b) {
        return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot && a->function == b->function;
}
