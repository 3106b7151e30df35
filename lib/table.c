/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table in memory; table-file.c reads and writes its file. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "string-table.h"
#include "table-internal.h"
#include "table.h"

static const char *const role_table[_HDHA_ROLE_MAX] = {
        [HDHA_ROLE_ACTIVE] = "active",
        [HDHA_ROLE_STANDBY] = "standby",
        [HDHA_ROLE_DEACTIVATED] = "deactivated",
        [HDHA_ROLE_REBUILDING] = "rebuilding",
        [HDHA_ROLE_FAILED] = "failed",
};

static const char *const operation_table[_HDHA_OPERATION_MAX] = {
        [HDHA_OPERATION_NONE] = "none",
        [HDHA_OPERATION_SWITCH] = "switch",
        [HDHA_OPERATION_FAILOVER] = "failover",
        [HDHA_OPERATION_RELEASE] = "release",
        [HDHA_OPERATION_DEACTIVATE] = "deactivate",
        [HDHA_OPERATION_ACTIVATE] = "activate",
        [HDHA_OPERATION_REBUILD] = "rebuild",
};

static const char *const step_table[_HDHA_STEP_MAX] = {
        [HDHA_STEP_NONE] = "none",
        [HDHA_STEP_RAISING_QUOTA] = "raising-quota",
        [HDHA_STEP_DETACHING] = "detaching",
        [HDHA_STEP_WAITING_RELEASE] = "waiting-release",
        [HDHA_STEP_DEACTIVATING] = "deactivating",
        [HDHA_STEP_ATTACHING] = "attaching",
        [HDHA_STEP_STARTING] = "starting",
        [HDHA_STEP_REBUILDING] = "rebuilding",
        [HDHA_STEP_LOWERING_QUOTA] = "lowering-quota",
        [HDHA_STEP_DONE] = "done",
};

DEFINE_STRING_TABLE_LOOKUP(hdha_role, HdhaRole, role_table)
DEFINE_STRING_TABLE_LOOKUP(hdha_operation, HdhaOperation, operation_table)
DEFINE_STRING_TABLE_LOOKUP(hdha_step, HdhaStep, step_table)

bool hdha_table_name_is_valid(const char *name) {
        size_t len;

        if (!name)
                return false;
        len = strlen(name);
        if (len == 0 || len > HDHA_TABLE_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f || name[i] == '/')
                        return false;
        return true;
}

/* ---- the model ---------------------------------------------------------- */

static void member_done(HdhaTableMember *m) {
        free(m->domain);
        free(m->resource);
        free(m->node);
}

static HdhaTableGroup *group_free(HdhaTableGroup *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_members; i++)
                member_done(g->members + i);
        free(g->members);
        free(g->name);
        free(g->active);
        free(g->op_source);
        free(g->op_target);
        free(g);
        return NULL;
}

static void group_freep(HdhaTableGroup **g) {
        group_free(*g);
}

static int group_new(const char *name, HdhaTableGroup **ret) {
        _cleanup_(group_freep) HdhaTableGroup *g = NULL;

        if (!hdha_table_name_is_valid(name))
                return -EINVAL;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->name = strdup(name);
        if (!g->name)
                return -ENOMEM;
        *ret = TAKE_PTR(g);
        return 0;
}

int hdha_table_new(HdhaTable **ret) {
        HdhaTable *t;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

HdhaTable *hdha_table_free(HdhaTable *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_groups; i++)
                group_free(t->groups[i]);
        free(t->groups);
        free(t);
        return NULL;
}

HdhaTableGroup *hdha_table_get_group(const HdhaTable *t, const char *name) {
        if (!t || !name)
                return NULL;
        for (size_t i = 0; i < t->n_groups; i++)
                if (streq(t->groups[i]->name, name))
                        return t->groups[i];
        return NULL;
}

/* Takes the group on success. */
static int table_put_group(HdhaTable *t, HdhaTableGroup *g) {
        HdhaTableGroup **a;

        if (hdha_table_get_group(t, g->name))
                return -EEXIST;
        if (t->n_groups >= HDHA_TABLE_GROUPS_MAX)
                return -E2BIG;
        a = realloc(t->groups, (t->n_groups + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        t->groups = a;
        t->groups[t->n_groups++] = g;
        return 0;
}

int hdha_table_add_group(HdhaTable *t, const char *name, HdhaTableGroup **ret) {
        _cleanup_(group_freep) HdhaTableGroup *g = NULL;
        HdhaTableGroup *p;
        int r;

        r = group_new(name, &g);
        if (r < 0)
                return r;
        r = table_put_group(t, g);
        if (r < 0)
                return r;
        p = TAKE_PTR(g);
        if (ret)
                *ret = p;
        return 0;
}

int hdha_table_remove_group(HdhaTable *t, const char *name) {
        for (size_t i = 0; i < t->n_groups; i++)
                if (streq(t->groups[i]->name, name)) {
                        group_free(t->groups[i]);
                        memmove(t->groups + i, t->groups + i + 1, (t->n_groups - i - 1) * sizeof(*t->groups));
                        t->n_groups--;
                        return 0;
                }
        return -ENOENT;
}

int hdha_table_move_group(HdhaTable *dst, HdhaTable *src, const char *name) {
        HdhaTableGroup **old = NULL;
        size_t i;
        int r;

        for (i = 0; i < src->n_groups && !streq(src->groups[i]->name, name); i++)
                ;
        if (i == src->n_groups)
                return -ENOENT;
        for (size_t j = 0; j < dst->n_groups && !old; j++)
                if (streq(dst->groups[j]->name, name))
                        old = dst->groups + j;
        if (old) {
                group_free(*old);
                *old = src->groups[i];
        } else {
                r = table_put_group(dst, src->groups[i]);
                if (r < 0)
                        return r;
        }
        memmove(src->groups + i, src->groups + i + 1, (src->n_groups - i - 1) * sizeof(*src->groups));
        src->n_groups--;
        return 0;
}

HdhaTableMember *hdha_table_group_get_member(const HdhaTableGroup *g, const char *domain) {
        if (!g || !domain)
                return NULL;
        for (size_t i = 0; i < g->n_members; i++)
                if (streq(g->members[i].domain, domain))
                        return g->members + i;
        return NULL;
}

static bool is_member_or_null(const HdhaTableGroup *g, const char *domain) {
        return !domain || hdha_table_group_get_member(g, domain);
}

static const HdhaTableMember *group_active_member(const HdhaTableGroup *g) {
        for (size_t i = 0; i < g->n_members; i++)
                if (g->members[i].role == HDHA_ROLE_ACTIVE)
                        return g->members + i;
        return NULL;
}

static int set_string(char **field, const char *value) {
        char *c = NULL;

        if (value) {
                c = strdup(value);
                if (!c)
                        return -ENOMEM;
        }
        free(*field);
        *field = c;
        return 0;
}

int hdha_table_group_add_member(HdhaTableGroup *g, const char *domain, HdhaRole role) {
        HdhaTableMember *a;
        char *d;

        if (!hdha_table_name_is_valid(domain) || role < 0 || role >= _HDHA_ROLE_MAX)
                return -EINVAL;
        if (hdha_table_group_get_member(g, domain))
                return -EEXIST;
        if (g->n_members >= HDHA_TABLE_MEMBERS_MAX)
                return -E2BIG;
        if (role == HDHA_ROLE_ACTIVE && group_active_member(g))
                return -EBUSY;
        d = strdup(domain);
        if (!d)
                return -ENOMEM;
        a = realloc(g->members, (g->n_members + 1) * sizeof(*a));
        if (!a) {
                free(d);
                return -ENOMEM;
        }
        g->members = a;
        g->members[g->n_members++] = (HdhaTableMember) { .domain = d, .role = role };
        g->generation++;
        return 1;
}

int hdha_table_group_remove_member(HdhaTableGroup *g, const char *domain) {
        HdhaTableMember *m;
        size_t i;

        m = hdha_table_group_get_member(g, domain);
        if (!m)
                return -ENOENT;
        if (streq_ptr(g->active, domain) || streq_ptr(g->op_source, domain) || streq_ptr(g->op_target, domain))
                return -EBUSY;
        i = (size_t) (m - g->members);
        member_done(m);
        memmove(g->members + i, g->members + i + 1, (g->n_members - i - 1) * sizeof(*g->members));
        g->n_members--;
        g->generation++;
        return 1;
}

int hdha_table_group_set_active(HdhaTableGroup *g, const char *domain) {
        int r;

        if (!is_member_or_null(g, domain))
                return -ENOENT;
        if (streq_ptr(g->active, domain))
                return 0;
        r = set_string(&g->active, domain);
        if (r < 0)
                return r;
        g->generation++;
        return 1;
}

int hdha_table_group_set_role(HdhaTableGroup *g, const char *domain, HdhaRole role) {
        const HdhaTableMember *a;
        HdhaTableMember *m;

        if (role < 0 || role >= _HDHA_ROLE_MAX)
                return -EINVAL;
        m = hdha_table_group_get_member(g, domain);
        if (!m)
                return -ENOENT;
        if (m->role == role)
                return 0;
        a = group_active_member(g);
        if (role == HDHA_ROLE_ACTIVE && a && a != m)
                return -EBUSY;
        m->role = role;
        g->generation++;
        return 1;
}

int hdha_table_group_set_operation(
                HdhaTableGroup *g,
                HdhaOperation operation,
                HdhaStep step,
                const char *source,
                const char *target) {

        _cleanup_free_ char *s = NULL, *t = NULL;

        if (operation < 0 || operation >= _HDHA_OPERATION_MAX || step < 0 || step >= _HDHA_STEP_MAX)
                return -EINVAL;
        if (operation == HDHA_OPERATION_NONE && (step != HDHA_STEP_NONE || source || target))
                return -EINVAL;
        if (!is_member_or_null(g, source) || !is_member_or_null(g, target))
                return -ENOENT;
        if (g->operation == operation && g->step == step &&
            streq_ptr(g->op_source, source) && streq_ptr(g->op_target, target))
                return 0;
        if (set_string(&s, source) < 0 || set_string(&t, target) < 0)
                return -ENOMEM;

        free(g->op_source);
        free(g->op_target);
        g->op_source = TAKE_PTR(s);
        g->op_target = TAKE_PTR(t);
        g->operation = operation;
        g->step = step;
        g->generation++;
        return 1;
}

int hdha_table_group_set_step(HdhaTableGroup *g, HdhaStep step) {
        if (step < 0 || step >= _HDHA_STEP_MAX)
                return -EINVAL;
        if (g->operation == HDHA_OPERATION_NONE && step != HDHA_STEP_NONE)
                return -EINVAL;
        if (g->step == step)
                return 0;
        g->step = step;
        g->generation++;
        return 1;
}

int hdha_table_group_clear_operation(HdhaTableGroup *g) {
        return hdha_table_group_set_operation(g, HDHA_OPERATION_NONE, HDHA_STEP_NONE, NULL, NULL);
}

int hdha_table_group_set_frozen(HdhaTableGroup *g, bool frozen) {
        if (g->frozen == frozen)
                return 0;
        g->frozen = frozen;
        return 1;
}

int hdha_table_group_set_instance(HdhaTableGroup *g, const char *domain, const char *resource, const char *node) {
        _cleanup_free_ char *r = NULL, *n = NULL;
        HdhaTableMember *m;

        if (!resource != !node || (resource && !hdha_table_name_is_valid(resource)) ||
            (node && !hdha_table_name_is_valid(node)))
                return -EINVAL;
        m = hdha_table_group_get_member(g, domain);
        if (!m)
                return -ENOENT;
        if (streq_ptr(m->resource, resource) && streq_ptr(m->node, node))
                return 0;
        if (set_string(&r, resource) < 0 || set_string(&n, node) < 0)
                return -ENOMEM;
        free(m->resource);
        free(m->node);
        m->resource = TAKE_PTR(r);
        m->node = TAKE_PTR(n);
        return 1;
}

static bool group_equal(const HdhaTableGroup *a, const HdhaTableGroup *b) {
        if (!streq(a->name, b->name) || !streq_ptr(a->active, b->active) ||
            a->generation != b->generation || a->operation != b->operation || a->step != b->step ||
            !streq_ptr(a->op_source, b->op_source) || !streq_ptr(a->op_target, b->op_target) ||
            a->frozen != b->frozen || a->n_members != b->n_members)
                return false;
        for (size_t i = 0; i < a->n_members; i++)
                if (!streq(a->members[i].domain, b->members[i].domain) ||
                    a->members[i].role != b->members[i].role ||
                    !streq_ptr(a->members[i].resource, b->members[i].resource) ||
                    !streq_ptr(a->members[i].node, b->members[i].node))
                        return false;
        return true;
}

bool hdha_table_equal(const HdhaTable *a, const HdhaTable *b) {
        if (!a || !b)
                return a == b;
        if (a->n_groups != b->n_groups)
                return false;
        for (size_t i = 0; i < a->n_groups; i++)
                if (!group_equal(a->groups[i], b->groups[i]))
                        return false;
        return true;
}

static int group_dup(const HdhaTableGroup *src, HdhaTableGroup **ret) {
        _cleanup_(group_freep) HdhaTableGroup *g = NULL;
        int r;

        r = group_new(src->name, &g);
        if (r < 0)
                return r;
        for (size_t i = 0; i < src->n_members; i++) {
                r = hdha_table_group_add_member(g, src->members[i].domain, src->members[i].role);
                if (r < 0)
                        return r;
                r = hdha_table_group_set_instance(g, src->members[i].domain, src->members[i].resource,
                                                  src->members[i].node);
                if (r < 0)
                        return r;
        }
        if (set_string(&g->active, src->active) < 0 ||
            set_string(&g->op_source, src->op_source) < 0 ||
            set_string(&g->op_target, src->op_target) < 0)
                return -ENOMEM;
        g->operation = src->operation;
        g->step = src->step;
        g->frozen = src->frozen;
        g->generation = src->generation;
        *ret = TAKE_PTR(g);
        return 0;
}

int hdha_table_dup(const HdhaTable *t, HdhaTable **ret) {
        _cleanup_(hdha_table_freep) HdhaTable *c = NULL;
        int r;

        r = hdha_table_new(&c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n_groups; i++) {
                _cleanup_(group_freep) HdhaTableGroup *g = NULL;

                r = group_dup(t->groups[i], &g);
                if (r < 0)
                        return r;
                r = table_put_group(c, g);
                if (r < 0)
                        return r;
                TAKE_PTR(g);
        }
        *ret = TAKE_PTR(c);
        return 0;
}
