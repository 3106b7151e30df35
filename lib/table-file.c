/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's text: a group's file (format 3) and the single
 * file of formats 1 and 2, JSON in and out; table-store.c keeps the files. */
#include <errno.h>
#include <inttypes.h>
#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "table-internal.h"
#include "table.h"

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

static void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

/* ---- reading the text ----------------------------------------------------- */

int hdha_table_errmsg(char **reterr, int r, const char *fmt, ...) {
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

#define errmsg hdha_table_errmsg
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
        /* Format 1 has all but the last two, format 2 all but the last (its
         * version is the single file's). */
        static const char *const keys[] = {
                "group", "active", "generation", "operation", "step", "source", "target", "members", "frozen",
                "format",
        };
        const char *name, *active, *source, *target;
        HdhaTableGroup *g;
        json_object *v;
        int r, op = _HDHA_OPERATION_INVALID, step = _HDHA_STEP_INVALID;

        if (!json_object_is_type(o, json_type_object))
                return bad(reterr, "%s: is %s, expected object", where, json_type_to_name(json_object_get_type(o)));
        r = check_keys(o, where, keys, ELEMENTSOF(keys) - (format < 3) - (format < 2), reterr);
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
        if (format < HDHA_TABLE_FORMAT_MIN || format > HDHA_TABLE_FORMAT_ONE_FILE)
                return bad(reterr, "format version %" PRId64 " is not supported in %s (expected %d to %d)",
                           format, HDHA_TABLE_ONE_FILE, HDHA_TABLE_FORMAT_MIN, HDHA_TABLE_FORMAT_ONE_FILE);
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

/* The text as JSON: one value, nothing but white space after it. */
static int parse_json(const char *text, size_t size, const char *name, json_object **ret, char **reterr) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        enum json_tokener_error jerr;
        json_object *root;
        size_t end;

        if ((!text && size > 0) || !name)
                return -EINVAL;
        if (size > HDHA_TABLE_FILE_MAX)
                return errmsg(reterr, -EFBIG, "%s: %zu bytes, larger than the limit of %d", name, size,
                              HDHA_TABLE_FILE_MAX);
        if (size == 0)
                return bad(reterr, "%s: file is empty", name);

        tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int) size);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue)
                return bad(reterr, "%s: truncated: the JSON ends early", name);
        if (jerr != json_tokener_success || !root)
                return bad(reterr, "%s: invalid JSON near byte %zu: %s", name, end, json_tokener_error_desc(jerr));
        for (size_t i = end; i < size; i++)
                if (!memchr(" \t\r\n", text[i], 4)) { /* strchr() would take a NUL byte */
                        json_object_put(root);
                        return bad(reterr, "%s: data after the JSON at byte %zu", name, i);
                }
        *ret = root;
        return 0;
}

/* A message of the parser, with the name of the text in front. */
static int named(char **reterr, int r, const char *name, const char *msg) {
        if (msg)
                return errmsg(reterr, r, "%s: %s", name, msg);
        return errmsg(reterr, r, "%s: %s", name, strerror(-r));
}

int hdha_table_parse(const char *text, size_t size, const char *name, HdhaTable **ret, char **reterr_message) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = parse_json(text, size, name, &root, reterr_message);
        if (r < 0)
                return r;
        r = parse_table(root, &t, reterr_message ? &msg : NULL);
        if (r < 0)
                return named(reterr_message, r, name, msg);
        *ret = TAKE_PTR(t);
        return 0;
}

int hdha_table_group_parse(HdhaTable *t, const char *text, size_t size, const char *name, const char *group,
                           char **reterr_message) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_free_ char *msg = NULL;
        const char *held;
        json_object *v;
        int64_t format;
        int r;

        if (!t)
                return -EINVAL;
        r = parse_json(text, size, name, &root, reterr_message);
        if (r < 0)
                return r;
        if (!json_object_is_type(root, json_type_object))
                return bad(reterr_message, "%s: top level is %s, expected object", name,
                           json_type_to_name(json_object_get_type(root)));
        /* The version first: a newer file is best explained by its version. */
        r = get_key(root, "top level", "format", json_type_int, false, &v, reterr_message ? &msg : NULL);
        if (r < 0)
                return named(reterr_message, r, name, msg);
        format = json_object_get_int64(v);
        if (format != HDHA_TABLE_FORMAT)
                return bad(reterr_message, "%s: format version %" PRId64 " is not supported in %s (expected %d)",
                           name, format, HDHA_TABLE_DIR, HDHA_TABLE_FORMAT);
        r = get_name(root, "top level", "group", false, &held, reterr_message ? &msg : NULL);
        if (r < 0)
                return named(reterr_message, r, name, msg);
        if (group && !streq(held, group))
                return bad(reterr_message, "%s: holds group '%s', not '%s' as its name says", name, held, group);
        r = parse_group(t, root, "top level", (int) format, reterr_message ? &msg : NULL);
        if (r < 0)
                return named(reterr_message, r, name, msg);
        return 0;
}

/* ---- writing the text ----------------------------------------------------- */

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

/* format: 0 in the single file (its version is the file's), else first. */
static int group_to_json(const HdhaTableGroup *g, int format, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL, *members = NULL;
        json_object *a, *s, *t;

        o = json_object_new_object();
        members = json_object_new_array();
        if (!o || !members)
                return -ENOMEM;
        if (format > 0 && add(o, "format", json_object_new_int(format), false) < 0)
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

                r = group_to_json(t->groups[i], 0, &g);
                if (r < 0)
                        return r;
                if (json_object_array_add(groups, g) < 0)
                        return -ENOMEM;
                TAKE_PTR(g);
        }
        if (add(root, "format", json_object_new_int(HDHA_TABLE_FORMAT_ONE_FILE), false) < 0 ||
            add(root, "groups", TAKE_PTR(groups), false) < 0)
                return -ENOMEM;

        s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(&c, "%s\n", s) < 0)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int hdha_table_group_format(const HdhaTableGroup *g, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *s;
        char *c;
        int r;

        r = group_to_json(g, HDHA_TABLE_FORMAT, &o);
        if (r < 0)
                return r;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(&c, "%s\n", s) < 0)
                return -ENOMEM;
        *ret = c;
        return 0;
}
