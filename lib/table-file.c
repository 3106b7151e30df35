/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's file: JSON in, JSON out, written durably. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "table.h"

static void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd_ = (fd);                \
                (fd) = -EBADF;                  \
                _fd_;                           \
        })

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

static void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

/* Removes the file named and frees the name: for temporary files that must
 * not outlive a failure. */
static void unlink_and_freep(char **p) {
        if (*p) {
                (void) unlink(*p);
                free(*p);
        }
}

/* ---- reading the file ----------------------------------------------------- */

/* Writes a message to *reterr (if asked for) and returns r. */
_printf_(3, 4) static int errmsg(char **reterr, int r, const char *fmt, ...) {
        va_list ap;
        char *m;
        int k;

        if (!reterr)
                return r;
        va_start(ap, fmt);
        k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        *reterr = m;
        return r;
}

#define bad(reterr, ...) errmsg(reterr, -EBADMSG, __VA_ARGS__)

static int check_keys(json_object *o, const char *where, const char *const *keys, size_t n, char **reterr) {
        json_object_object_foreach(o, key, v) {
                bool found = false;

                (void) v;
                for (size_t i = 0; i < n && !found; i++)
                        found = streq(key, keys[i]);
                if (!found)
                        return bad(reterr, "%s: unknown key '%.64s'", where, key);
        }
        return 0;
}

/* Gets a required key of the given type; JSON null only if nullable (then *ret = NULL). */
static int get_key(json_object *o, const char *where, const char *key, json_type type, bool nullable,
                   json_object **ret, char **reterr) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return bad(reterr, "%s: missing key '%s'", where, key);
        if (!v && !nullable)
                return bad(reterr, "%s.%s: is null, expected %s", where, key, json_type_to_name(type));
        if (v && !json_object_is_type(v, type))
                return bad(reterr, "%s.%s: is %s, expected %s", where, key,
                           json_type_to_name(json_object_get_type(v)), json_type_to_name(type));
        *ret = v;
        return 0;
}

/* Gets a name; it stays owned by o. */
static int get_name(json_object *o, const char *where, const char *key, bool nullable,
                    const char **ret, char **reterr) {
        json_object *v;
        int r;

        r = get_key(o, where, key, json_type_string, nullable, &v, reterr);
        if (r < 0)
                return r;
        if (v && (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v) ||
                  !hdha_table_name_is_valid(json_object_get_string(v))))
                return bad(reterr, "%s.%s: invalid name (empty, longer than %d bytes, or "
                           "with a control character or '/')", where, key, HDHA_TABLE_NAME_MAX);
        *ret = v ? json_object_get_string(v) : NULL;
        return 0;
}

static int get_enum(json_object *o, const char *where, const char *key, const char *what,
                    int (*from_string)(const char *), int *ret, char **reterr) {
        json_object *v;
        int r, x;

        r = get_key(o, where, key, json_type_string, false, &v, reterr);
        if (r < 0)
                return r;
        x = from_string(json_object_get_string(v));
        if (x < 0)
                return bad(reterr, "%s.%s: unknown %s '%.64s'", where, key, what, json_object_get_string(v));
        *ret = x;
        return 0;
}

/* Adapters: the enum parsers as one function type. */
static int role_from(const char *s) { return hdha_role_from_string(s); }
static int operation_from(const char *s) { return hdha_operation_from_string(s); }
static int step_from(const char *s) { return hdha_step_from_string(s); }

static int parse_members(HdhaTableGroup *g, json_object *array, const char *gwhere, int format, char **reterr) {
        /* Format 1 has the first two keys only. */
        static const char *const keys[] = { "domain", "role", "resource", "node" };
        size_t n = json_object_array_length(array);

        if (n == 0 || n > HDHA_TABLE_MEMBERS_MAX)
                return bad(reterr, "%s.members: has %zu entries, expected 1 to %d",
                           gwhere, n, HDHA_TABLE_MEMBERS_MAX);

        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(array, i);
                const char *domain;
                char where[64];
                int r, role = _HDHA_ROLE_INVALID;

                (void) snprintf(where, sizeof(where), "%s.members[%zu]", gwhere, i);
                if (!json_object_is_type(m, json_type_object))
                        return bad(reterr, "%s: is %s, expected object", where,
                                   json_type_to_name(json_object_get_type(m)));
                r = check_keys(m, where, keys, format >= 2 ? ELEMENTSOF(keys) : 2, reterr);
                if (r < 0)
                        return r;
                r = get_name(m, where, "domain", false, &domain, reterr);
                if (r < 0)
                        return r;
                r = get_enum(m, where, "role", "role", role_from, &role, reterr);
                if (r < 0)
                        return r;

                r = hdha_table_group_add_member(g, domain, role);
                if (r == -EEXIST)
                        return bad(reterr, "%s.domain: '%s' is listed twice", where, domain);
                if (r == -EBUSY)
                        return bad(reterr, "%s.role: a second member with role active", where);
                if (r < 0)
                        return r;

                if (format >= 2) {
                        const char *resource, *node;

                        r = get_name(m, where, "resource", true, &resource, reterr);
                        if (r < 0)
                                return r;
                        r = get_name(m, where, "node", true, &node, reterr);
                        if (r < 0)
                                return r;
                        r = hdha_table_group_set_instance(g, domain, resource, node);
                        if (r == -EINVAL)
                                return bad(reterr, "%s: resource and node are both null or both names", where);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int check_member(const HdhaTableGroup *g, const char *where, const char *key, const char *domain,
                        char **reterr) {
        if (domain && !hdha_table_group_get_member(g, domain))
                return bad(reterr, "%s.%s: '%s' is not a member", where, key, domain);
        return 0;
}

static int parse_group(HdhaTable *t, json_object *o, const char *where, int format, char **reterr) {
        /* Format 1 has all but the last. */
        static const char *const keys[] = {
                "group", "active", "generation", "operation", "step", "source", "target", "members", "frozen",
        };
        const char *name, *active, *source, *target;
        HdhaTableGroup *g;
        json_object *v;
        int r, op = _HDHA_OPERATION_INVALID, step = _HDHA_STEP_INVALID;

        if (!json_object_is_type(o, json_type_object))
                return bad(reterr, "%s: is %s, expected object", where, json_type_to_name(json_object_get_type(o)));
        r = check_keys(o, where, keys, ELEMENTSOF(keys) - (format < 2), reterr);
        if (r < 0)
                return r;

        r = get_name(o, where, "group", false, &name, reterr);
        if (r < 0)
                return r;
        r = hdha_table_add_group(t, name, &g);
        if (r == -EEXIST)
                return bad(reterr, "%s.group: '%s' is listed twice", where, name);
        if (r == -E2BIG)
                return bad(reterr, "groups: more than %d entries", HDHA_TABLE_GROUPS_MAX);
        if (r < 0)
                return r;

        r = get_key(o, where, "members", json_type_array, false, &v, reterr);
        if (r < 0)
                return r;
        r = parse_members(g, v, where, format, reterr);
        if (r < 0)
                return r;

        r = get_name(o, where, "active", true, &active, reterr);
        if (r < 0)
                return r;
        r = check_member(g, where, "active", active, reterr);
        if (r < 0)
                return r;
        r = hdha_table_group_set_active(g, active);
        if (r < 0)
                return r;

        r = get_enum(o, where, "operation", "operation", operation_from, &op, reterr);
        if (r < 0)
                return r;
        r = get_enum(o, where, "step", "step", step_from, &step, reterr);
        if (r < 0)
                return r;
        r = get_name(o, where, "source", true, &source, reterr);
        if (r < 0)
                return r;
        r = check_member(g, where, "source", source, reterr);
        if (r < 0)
                return r;
        r = get_name(o, where, "target", true, &target, reterr);
        if (r < 0)
                return r;
        r = check_member(g, where, "target", target, reterr);
        if (r < 0)
                return r;
        r = hdha_table_group_set_operation(g, op, step, source, target);
        if (r == -EINVAL)
                return bad(reterr, "%s: operation none with a step, source or target", where);
        if (r < 0)
                return r;

        if (format >= 2) {
                r = get_key(o, where, "frozen", json_type_boolean, false, &v, reterr);
                if (r < 0)
                        return r;
                (void) hdha_table_group_set_frozen(g, json_object_get_boolean(v));
        }

        /* Last: the calls above counted generations of their own. */
        r = get_key(o, where, "generation", json_type_int, false, &v, reterr);
        if (r < 0)
                return r;
        if (json_object_get_int64(v) < 0)
                return bad(reterr, "%s.generation: is negative", where);
        g->generation = json_object_get_uint64(v);
        return 0;
}

static int parse_table(json_object *root, HdhaTable **ret, char **reterr) {
        static const char *const keys[] = { "format", "groups" };
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        json_object *v;
        int64_t format;
        size_t n;
        int r;

        if (!json_object_is_type(root, json_type_object))
                return bad(reterr, "top level is %s, expected object",
                           json_type_to_name(json_object_get_type(root)));

        /* The version first: a newer file is best explained by its version. */
        r = get_key(root, "top level", "format", json_type_int, false, &v, reterr);
        if (r < 0)
                return r;
        format = json_object_get_int64(v);
        if (format < HDHA_TABLE_FORMAT_MIN || format > HDHA_TABLE_FORMAT)
                return bad(reterr, "format version %" PRId64 " is not supported (expected %d to %d)",
                           format, HDHA_TABLE_FORMAT_MIN, HDHA_TABLE_FORMAT);
        r = check_keys(root, "top level", keys, ELEMENTSOF(keys), reterr);
        if (r < 0)
                return r;

        r = get_key(root, "top level", "groups", json_type_array, false, &v, reterr);
        if (r < 0)
                return r;
        n = json_object_array_length(v);
        if (n > HDHA_TABLE_GROUPS_MAX)
                return bad(reterr, "groups: has %zu entries, at most %d allowed", n, HDHA_TABLE_GROUPS_MAX);

        r = hdha_table_new(&t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char where[32];

                (void) snprintf(where, sizeof(where), "groups[%zu]", i);
                r = parse_group(t, json_object_array_get_idx(v, i), where, (int) format, reterr);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

static int read_file(const char *path, char **ret, size_t *ret_size, char **reterr) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        /* O_NONBLOCK: a FIFO put there must not hang the daemon. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return errmsg(reterr, -errno, "%s: cannot open: %s", path, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return errmsg(reterr, -errno, "%s: cannot stat: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return bad(reterr, "%s: not a regular file", path);
        if (st.st_size > HDHA_TABLE_FILE_MAX)
                return errmsg(reterr, -EFBIG, "%s: file is %jd bytes, larger than the limit of %d",
                              path, (intmax_t) st.st_size, HDHA_TABLE_FILE_MAX);

        /* One byte more than the limit, to see a file that grew meanwhile. */
        buf = malloc(HDHA_TABLE_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        while (n < HDHA_TABLE_FILE_MAX + 1) {
                ssize_t k = read(fd, buf + n, HDHA_TABLE_FILE_MAX + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errmsg(reterr, -errno, "%s: cannot read: %s", path, strerror(errno));
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > HDHA_TABLE_FILE_MAX)
                return errmsg(reterr, -EFBIG, "%s: file is larger than the limit of %d bytes",
                              path, HDHA_TABLE_FILE_MAX);

        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 1;
}

int hdha_table_path(const char *state_directory, char **ret) {
        char *p;

        if (!state_directory)
                return -EINVAL;
        if (asprintf(&p, "%s/" HDHA_TABLE_FILE, state_directory) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int hdha_table_parse(const char *text, size_t size, const char *name, HdhaTable **ret, char **reterr_message) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *msg = NULL;
        enum json_tokener_error jerr;
        size_t end;
        int r;

        if ((!text && size > 0) || !name || !ret)
                return -EINVAL;
        if (size > HDHA_TABLE_FILE_MAX)
                return errmsg(reterr_message, -EFBIG, "%s: %zu bytes, larger than the limit of %d", name, size,
                              HDHA_TABLE_FILE_MAX);
        if (size == 0)
                return bad(reterr_message, "%s: file is empty", name);

        tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int) size);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue)
                return bad(reterr_message, "%s: truncated: the JSON ends early", name);
        if (jerr != json_tokener_success || !root)
                return bad(reterr_message, "%s: invalid JSON near byte %zu: %s",
                           name, end, json_tokener_error_desc(jerr));
        for (size_t i = end; i < size; i++)
                if (!memchr(" \t\r\n", text[i], 4)) /* strchr() would take a NUL byte */
                        return bad(reterr_message, "%s: data after the JSON at byte %zu", name, i);

        r = parse_table(root, &t, reterr_message ? &msg : NULL);
        if (r < 0) {
                if (msg)
                        return errmsg(reterr_message, r, "%s: %s", name, msg);
                return errmsg(reterr_message, r, "%s: %s", name, strerror(-r));
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int hdha_table_load(const char *path, HdhaTable **ret, char **reterr_message) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        int r;

        r = read_file(path, &buf, &n, reterr_message);
        if (r < 0)
                return r;
        if (r == 0) {
                r = hdha_table_new(&t);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(t);
                return HDHA_TABLE_MISSING;
        }
        return hdha_table_parse(buf, n, path, ret, reterr_message);
}

/* ---- writing the file ----------------------------------------------------- */

static int new_string_or_null(const char *s, json_object **ret) {
        *ret = NULL;
        if (s) {
                *ret = json_object_new_string(s);
                if (!*ret)
                        return -ENOMEM;
        }
        return 0;
}

/* Adds the value to o, taking it even on failure. */
static int add(json_object *o, const char *key, json_object *v, bool nullable) {
        if (!v && !nullable)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int group_to_json(const HdhaTableGroup *g, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL, *members = NULL;
        json_object *a, *s, *t;

        o = json_object_new_object();
        members = json_object_new_array();
        if (!o || !members)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_members; i++) {
                _cleanup_(json_object_putp) json_object *m = json_object_new_object();
                json_object *res, *node;

                if (!m ||
                    add(m, "domain", json_object_new_string(g->members[i].domain), false) < 0 ||
                    add(m, "role", json_object_new_string(hdha_role_to_string(g->members[i].role)), false) < 0 ||
                    new_string_or_null(g->members[i].resource, &res) < 0 ||
                    add(m, "resource", res, true) < 0 ||
                    new_string_or_null(g->members[i].node, &node) < 0 ||
                    add(m, "node", node, true) < 0 ||
                    json_object_array_add(members, m) < 0)
                        return -ENOMEM;
                TAKE_PTR(m);
        }
        if (add(o, "group", json_object_new_string(g->name), false) < 0 ||
            new_string_or_null(g->active, &a) < 0 ||
            add(o, "active", a, true) < 0 ||
            add(o, "generation", json_object_new_uint64(g->generation), false) < 0 ||
            add(o, "operation", json_object_new_string(hdha_operation_to_string(g->operation)), false) < 0 ||
            add(o, "step", json_object_new_string(hdha_step_to_string(g->step)), false) < 0 ||
            new_string_or_null(g->op_source, &s) < 0 ||
            add(o, "source", s, true) < 0 ||
            new_string_or_null(g->op_target, &t) < 0 ||
            add(o, "target", t, true) < 0 ||
            add(o, "frozen", json_object_new_boolean(g->frozen), false) < 0 ||
            add(o, "members", TAKE_PTR(members), false) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int hdha_table_format(const HdhaTable *t, char **ret) {
        _cleanup_(json_object_putp) json_object *root = NULL, *groups = NULL;
        const char *s;
        char *c;

        root = json_object_new_object();
        groups = json_object_new_array();
        if (!root || !groups)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_groups; i++) {
                _cleanup_(json_object_putp) json_object *g = NULL;
                int r;

                r = group_to_json(t->groups[i], &g);
                if (r < 0)
                        return r;
                if (json_object_array_add(groups, g) < 0)
                        return -ENOMEM;
                TAKE_PTR(g);
        }
        if (add(root, "format", json_object_new_int(HDHA_TABLE_FORMAT), false) < 0 ||
            add(root, "groups", TAKE_PTR(groups), false) < 0)
                return -ENOMEM;

        s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(&c, "%s\n", s) < 0)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int hdha_table_save(const HdhaTable *t, const char *path) {
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        _cleanup_free_ char *data = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        const char *slash, *base;
        int r;

        slash = strrchr(path, '/');
        base = slash ? slash + 1 : path;
        if (!*base)
                return -EINVAL;
        dir = slash ? (slash == path ? strdup("/") : strndup(path, (size_t) (slash - path))) : strdup(".");
        if (!dir)
                return -ENOMEM;

        r = hdha_table_format(t, &data);
        if (r < 0)
                return r;
        if (strlen(data) > HDHA_TABLE_FILE_MAX)
                return -EFBIG;

        if (asprintf(&tmp, "%s/.%s.XXXXXX", streq(dir, "/") ? "" : dir, base) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                tmp = mfree(tmp); /* nothing was created */
                return r;
        }
        if (fchmod(fd, 0644) < 0)
                return -errno;
        r = write_all(fd, data, strlen(data));
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        r = close(TAKE_FD(fd));
        if (r < 0)
                return -errno;
        if (rename(tmp, path) < 0)
                return -errno;
        tmp = mfree(tmp); /* renamed: nothing left to remove */

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}
