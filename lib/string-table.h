/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <string.h>

/* Defines NAME_to_string() and NAME_from_string() over a table indexed by
 * the enum; from_string() returns -EINVAL for an unknown or NULL string. */
#define DEFINE_STRING_TABLE_LOOKUP(name, type, table)                   \
        const char *name##_to_string(type i) {                          \
                if ((int) i < 0 || (size_t) i >= sizeof(table) / sizeof(table[0])) \
                        return NULL;                                    \
                return table[i];                                        \
        }                                                               \
        type name##_from_string(const char *s) {                        \
                if (!s)                                                 \
                        return (type) -EINVAL;                          \
                for (size_t _i = 0; _i < sizeof(table) / sizeof(table[0]); _i++) \
                        if (table[_i] && strcmp(table[_i], s) == 0)     \
                                return (type) _i;                       \
                return (type) -EINVAL;                                  \
        }
