/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "names.h"

bool hdha_name_chars_ok(const char *s, size_t max, const char *extra) {
        size_t n = 0;

        for (; s[n]; n++) {
                char c = s[n];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr(extra, c)))
                        return false;
        }
        return n >= 1 && n <= max;
}

bool hdha_group_name_is_valid(const char *s) {
        return s && s[0] != '.' && hdha_name_chars_ok(s, HDHA_GROUP_NAME_MAX, "_.-");
}

bool hdha_domain_name_is_valid(const char *s) {
        return s && s[0] != '.' && s[0] != '-' && hdha_name_chars_ok(s, HDHA_DOMAIN_NAME_MAX, "_.:+@-");
}
