/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the configuration loader (conf.c): the INI reader that keeps
 * line numbers and collects every problem, the key tables, bounded reads. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

#include "conf.h"
#include "macro.h"

typedef struct HdhaConfigParser HdhaConfigParser;
typedef struct HdhaConfigKey HdhaConfigKey;
typedef struct HdhaConfigSection HdhaConfigSection;

/* Parses value (blanks stripped; "" means the default) into data, which is
 * the parser's target plus the key's offset. Reports a bad value with
 * hdha_config_parser_error() and returns 0; returns < 0 only when the load
 * must stop (-ENOMEM). */
typedef int (*HdhaConfigParseFn)(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data);

struct HdhaConfigKey {
        const char *name;
        HdhaConfigParseFn parse;
        size_t offset;
        bool repeatable; /* may be given more than once in a file */
        int64_t min, max;
};

/* One section a file may hold, and its keys. */
struct HdhaConfigSection {
        const char *name;
        const HdhaConfigKey *keys;
        size_t n_keys;
        unsigned *seen;      /* n_keys entries: line where each key was first set, or 0 */
        void *target;        /* what the keys' offsets are relative to */
};

struct HdhaConfigParser {
        HdhaConfigErrors *errors;
        const char *path;    /* the file, as shown in problems */
        const HdhaConfigSection *sections; /* the sections allowed */
        size_t n_sections;
        void *userdata;

        /* set by hdha_config_parse_buffer() */
        unsigned line;       /* the line being parsed */
        const HdhaConfigSection *current; /* NULL before a section or in an unknown one */
        bool in_section;     /* a section line was seen */
};

/* Parses size bytes of buf as INI, calling the key table's parsers.
 * Problems go to p->errors; returns < 0 only on fatal errors (-ENOMEM). */
int hdha_config_parse_buffer(HdhaConfigParser *p, const char *buf, size_t size);

/* Adds a problem at p's current line. Returns 0 or -ENOMEM. */
int hdha_config_parser_error(HdhaConfigParser *p, const char *key, const char *fmt, ...) _printf_(3, 4);

/* Adds a problem. %m in fmt prints error (a -errno). Returns 0 or -ENOMEM. */
int hdha_config_errors_add(HdhaConfigErrors *e, const char *file, unsigned line, const char *key, int error,
                           const char *fmt, ...) _printf_(6, 7);
int hdha_config_errors_addv(HdhaConfigErrors *e, const char *file, unsigned line, const char *key, int error,
                            const char *fmt, va_list ap) _printf_(6, 0);

/* Reads path (relative to dfd, or absolute) if it is a regular file of at
 * most max bytes, NUL-terminated. -EFBIG if larger, -EISDIR, -EBADFD for
 * other non-regular files, or another -errno. */
int hdha_config_read_file_at(int dfd, const char *path, size_t max, char **ret, size_t *ret_size);

/* HdhaConfigParseFn for a number in k->min..k->max (a uint64_t at data). */
int hdha_config_parse_uint64_range(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data);

/* HdhaConfigParseFn for an absolute path (a char * at data). */
int hdha_config_parse_absolute_path(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data);
