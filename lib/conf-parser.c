/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-parser.h"

/* The syntax (lib/conf.h) is read here line by line: every line is
 * counted, so every problem has its line, and every problem is reported, not
 * only the first. Lines may be HDHA_CONFIG_LINE_MAX characters long, after
 * comments and blanks are stripped. */

/* Problems */

void hdha_config_errors_done(HdhaConfigErrors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n_errors; i++) {
                free(e->errors[i].file);
                free(e->errors[i].key);
                free(e->errors[i].message);
        }
        free(e->errors);
        *e = (HdhaConfigErrors) {};
}

int hdha_config_errors_addv(HdhaConfigErrors *e, const char *file, unsigned line, const char *key, int error,
                            const char *fmt, va_list ap) {
        HdhaConfigError *n, *x;

        if (e->n_errors >= HDHA_CONFIG_ERRORS_MAX) {
                e->n_dropped++;
                return 0;
        }

        n = reallocarray(e->errors, e->n_errors + 1, sizeof(HdhaConfigError));
        if (!n)
                return -ENOMEM;
        e->errors = n;
        x = &n[e->n_errors];
        *x = (HdhaConfigError) { .line = line };

        errno = error < 0 ? -error : 0; /* for %m */
        if (vasprintf(&x->message, fmt, ap) < 0) {
                x->message = NULL;
                return -ENOMEM;
        }
        x->file = strdup(file);
        x->key = key ? strdup(key) : NULL;
        if (!x->file || (key && !x->key)) {
                free(x->file);
                free(x->key);
                free(x->message);
                return -ENOMEM;
        }
        e->n_errors++;
        return 0;
}

int hdha_config_errors_add(HdhaConfigErrors *e, const char *file, unsigned line, const char *key, int error,
                           const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = hdha_config_errors_addv(e, file, line, key, error, fmt, ap);
        va_end(ap);
        return r;
}

int hdha_config_error_format(const HdhaConfigError *e, char **ret) {
        char lbuf[16] = "";
        char *s;

        if (!e)
                return -EINVAL;
        if (e->line > 0)
                (void) snprintf(lbuf, sizeof(lbuf), ":%u", e->line);
        if (asprintf(&s, "%s%s:%s%s%s %s", e->file, lbuf,
                     e->key ? " " : "", e->key ?: "", e->key ? "=:" : "", e->message) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int hdha_config_errors_print(const HdhaConfigErrors *e, FILE *f) {
        for (size_t i = 0; i < e->n_errors; i++) {
                _cleanup_free_ char *s = NULL;
                int r;

                r = hdha_config_error_format(&e->errors[i], &s);
                if (r < 0)
                        return r;
                fprintf(f, "%s\n", s);
        }
        if (e->n_dropped > 0)
                fprintf(f, "... and %zu more problems\n", e->n_dropped);
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return (int) (e->n_errors + e->n_dropped);
}

/* Reading */

int hdha_config_read_file_at(int dfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        size_t n = 0;

        /* O_NONBLOCK: a FIFO must not hang the daemon. */
        fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uintmax_t) st.st_size > max)
                return -EFBIG;

        buf = malloc(max + 2);
        if (!buf)
                return -ENOMEM;
        /* Read up to max + 1 bytes: a file that grew is caught too. */
        while (n <= max) {
                ssize_t k = read(fd, buf + n, max + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > max)
                return -EFBIG;
        buf[n] = '\0';
        /* Kept only as large as the text: a DeviceXML= text stays with its
         * group, and the limit is 64 KiB. */
        {
                char *fit = realloc(buf, n + 1);

                if (fit)
                        buf = fit;
        }

        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int conf_syntax_error(HdhaConfigParser *p, const char *fmt, ...) _printf_(2, 3);
static int conf_syntax_error(HdhaConfigParser *p, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = hdha_config_errors_addv(p->errors, p->path, p->line, NULL, 0, fmt, ap);
        va_end(ap);
        return r;
}

static int conf_handler(HdhaConfigParser *p, const char *name, const char *value);

/* One physical line of len bytes (not NUL-terminated): comments and blanks
 * stripped, then a section or a key, copied into buf (HDHA_CONFIG_LINE_MAX
 * + 1 bytes) to split it. Syntax problems are reported here; returns < 0
 * only when the load must stop. */
static int conf_line(HdhaConfigParser *p, const char *line, size_t len, char *buf) {
        const char *c, *eq, *colon;
        size_t name_len;

        if (p->line == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
                line += 3;
                len -= 3;
        }
        if (memchr(line, '\0', len))
                return conf_syntax_error(p, "Line contains a NUL byte");
        while (len > 0 && is_blank(*line))
                line++, len--;
        if (len == 0 || *line == '#' || *line == ';')
                return 0;
        /* Inline comment: '#' or ';' after a blank. */
        for (c = line + 1; c < line + len; c++)
                if ((*c == '#' || *c == ';') && is_blank(c[-1])) {
                        len = (size_t) (c - line);
                        break;
                }
        while (len > 0 && is_blank(line[len - 1]))
                len--;

        if (len > HDHA_CONFIG_LINE_MAX)
                return conf_syntax_error(p, "Line too long, at most %u characters", HDHA_CONFIG_LINE_MAX);

        if (line[0] == '[') {
                if (line[len - 1] != ']' || len < 3)
                        return conf_syntax_error(p, "Expected [Section], Key=value or a comment");
                p->in_section = true;
                p->current = NULL;
                for (size_t i = 0; i < p->n_sections; i++)
                        if (len - 2 == strlen(p->sections[i].name) &&
                            memcmp(line + 1, p->sections[i].name, len - 2) == 0)
                                p->current = &p->sections[i];
                if (!p->current)
                        return conf_syntax_error(p, "Unknown section [%.*s]", (int) (len - 2), line + 1);
                return 0;
        }

        /* Key=value, split at the first '='; a ':' before it is refused
         * (INI readers differ on it). */
        eq = memchr(line, '=', len);
        colon = memchr(line, ':', len);
        if (!eq || eq == line || (colon && colon < eq))
                return conf_syntax_error(p, "Expected [Section], Key=value or a comment");

        memcpy(buf, line, len);
        buf[len] = '\0';
        name_len = (size_t) (eq - line);
        while (name_len > 0 && is_blank(buf[name_len - 1]))
                name_len--;
        buf[name_len] = '\0';
        c = buf + (eq - line) + 1;
        while (is_blank(*c))
                c++;
        return conf_handler(p, buf, c);
}

/* "[A]", "[A] or [B]", "[A], [B] or [C]": the sections p allows. */
static int section_names(const HdhaConfigParser *p, char **ret) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_sections; i++)
                fprintf(f, "%s[%s]", i == 0 ? "" : i + 1 < p->n_sections ? ", " : " or ", p->sections[i].name);
        if (fclose(f) != 0) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static int conf_handler(HdhaConfigParser *p, const char *name, const char *value) {
        const HdhaConfigSection *s = p->current;
        const HdhaConfigKey *k = NULL;
        int r;

        if (!p->in_section) {
                _cleanup_free_ char *names = NULL;

                r = section_names(p, &names);
                if (r >= 0)
                        r = hdha_config_errors_add(p->errors, p->path, p->line, name, 0,
                                                   "Key outside of section %s", names);
                goto finish;
        }
        if (!s)
                return 0; /* reported at the section line */

        for (size_t i = 0; i < s->n_keys; i++)
                if (streq(name, s->keys[i].name)) {
                        k = &s->keys[i];
                        break;
                }
        if (!k) {
                r = hdha_config_errors_add(p->errors, p->path, p->line, name, 0,
                                           "Unknown key in section [%s]", s->name);
                goto finish;
        }

        if (s->seen[k - s->keys] > 0 && !k->repeatable) {
                r = hdha_config_errors_add(p->errors, p->path, p->line, name, 0,
                                           "Duplicate key, first set on line %u", s->seen[k - s->keys]);
                goto finish;
        }
        if (s->seen[k - s->keys] == 0)
                s->seen[k - s->keys] = p->line;

        r = k->parse(p, k, value, (uint8_t *) s->target + k->offset);

finish:
        return r < 0 ? r : 0;
}

int hdha_config_parse_buffer(HdhaConfigParser *p, const char *buf, size_t size) {
        _cleanup_free_ char *line = NULL;
        const char *pos = buf, *end = buf + size;
        int r;

        line = malloc(HDHA_CONFIG_LINE_MAX + 1);
        if (!line)
                return -ENOMEM;
        p->line = 0;
        p->current = NULL;
        p->in_section = false;

        while (pos < end) {
                const char *eol = memchr(pos, '\n', (size_t) (end - pos));
                size_t len = eol ? (size_t) (eol - pos) : (size_t) (end - pos);

                p->line++;
                r = conf_line(p, pos, len, line);
                if (r < 0)
                        return r;
                pos = eol ? eol + 1 : end;
        }
        return 0;
}

int hdha_config_parser_error(HdhaConfigParser *p, const char *key, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = hdha_config_errors_addv(p->errors, p->path, p->line, key, 0, fmt, ap);
        va_end(ap);
        return r;
}

int hdha_config_parse_uint64_range(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        uint64_t v;
        int r;

        if (!*value)
                return 0;
        r = hdha_parse_uint64(value, (uint64_t) k->min, (uint64_t) k->max, &v);
        if (r == -EINVAL)
                return hdha_config_parser_error(p, k->name, "Invalid number '%s', expected %" PRIi64 "..%" PRIi64,
                                                value, k->min, k->max);
        if (r < 0)
                return hdha_config_parser_error(p, k->name, "Value '%s' out of range, expected %" PRIi64 "..%" PRIi64,
                                                value, k->min, k->max);
        *(uint64_t *) data = v;
        return 0;
}

int hdha_config_parse_absolute_path(HdhaConfigParser *p, const HdhaConfigKey *k, const char *value, void *data) {
        char **s = data;
        char *v;

        if (!*value)
                return 0;
        if (value[0] != '/')
                return hdha_config_parser_error(p, k->name, "Path '%s' is not absolute", value);
        if (strlen(value) >= PATH_MAX)
                return hdha_config_parser_error(p, k->name, "Path is too long");
        for (const char *c = value; *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f)
                        return hdha_config_parser_error(p, k->name, "Path contains control characters");

        v = strdup(value);
        if (!v)
                return -ENOMEM;
        free(*s);
        *s = v;
        return 0;
}
