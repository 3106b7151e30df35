/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdevctl status --cluster: GetClusterStatus() read, printed as text or
 * JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hostdevctl-cluster.h"
#include "macro.h"

static void cluster_group_done(CtlClusterGroup *g) {
        free(g->host);
        free(g->group);
        free(g->active);
        free(g->operation);
        free(g->step);
}

static void cluster_token_done(CtlClusterToken *t) {
        free(t->group);
        free(t->state);
        free(t->holder_host);
        free(t->holder_domain);
}

CtlCluster *ctl_cluster_free(CtlCluster *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_groups; i++)
                cluster_group_done(&c->groups[i]);
        for (size_t i = 0; i < c->n_tokens; i++)
                cluster_token_done(&c->tokens[i]);
        free(c->groups);
        free(c->tokens);
        free(c->node);
        return mfree(c);
}

/* NULL is "". */
static int dup_to(char **p, const char *s) {
        *p = strdup(s ?: "");
        return *p ? 0 : -ENOMEM;
}

int ctl_cluster_add_group(CtlCluster *c, const CtlClusterGroup *g) {
        CtlClusterGroup copy = { .generation = g->generation, .frozen = g->frozen };
        CtlClusterGroup *a;

        if (dup_to(&copy.host, g->host) < 0 || dup_to(&copy.group, g->group) < 0 ||
            dup_to(&copy.active, g->active) < 0 || dup_to(&copy.operation, g->operation) < 0 ||
            dup_to(&copy.step, g->step) < 0)
                goto oom;
        a = reallocarray(c->groups, c->n_groups + 1, sizeof(*a));
        if (!a)
                goto oom;
        c->groups = a;
        c->groups[c->n_groups++] = copy;
        return 0;
oom:
        cluster_group_done(&copy);
        return -ENOMEM;
}

int ctl_cluster_add_token(CtlCluster *c, const CtlClusterToken *t) {
        CtlClusterToken copy = { .generation = t->generation };
        CtlClusterToken *a;

        if (dup_to(&copy.group, t->group) < 0 || dup_to(&copy.state, t->state) < 0 ||
            dup_to(&copy.holder_host, t->holder_host) < 0 || dup_to(&copy.holder_domain, t->holder_domain) < 0)
                goto oom;
        a = reallocarray(c->tokens, c->n_tokens + 1, sizeof(*a));
        if (!a)
                goto oom;
        c->tokens = a;
        c->tokens[c->n_tokens++] = copy;
        return 0;
oom:
        cluster_token_done(&copy);
        return -ENOMEM;
}

int ctl_cluster_parse(sd_bus_message *reply, CtlCluster **ret) {
        _cleanup_(ctl_cluster_freep) CtlCluster *c = NULL;
        const char *node;
        int connected, quorate, r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = sd_bus_message_read(reply, "bbs", &connected, &quorate, &node);
        if (r < 0)
                return r;
        c->connected = connected;
        c->quorate = quorate;
        if (dup_to(&c->node, node) < 0)
                return -ENOMEM;

        r = sd_bus_message_enter_container(reply, 'a', "(ssstssb)");
        if (r < 0)
                return r;
        for (;;) {
                CtlClusterGroup g = {};
                int frozen;

                r = sd_bus_message_read(reply, "(ssstssb)", &g.host, &g.group, &g.active, &g.generation,
                                        &g.operation, &g.step, &frozen);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                g.frozen = frozen;
                /* The strings are the message's until copied. */
                r = ctl_cluster_add_group(c, &g);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "(sssst)");
        if (r < 0)
                return r;
        for (;;) {
                CtlClusterToken t = {};

                r = sd_bus_message_read(reply, "(sssst)", &t.group, &t.state, &t.holder_host, &t.holder_domain,
                                        &t.generation);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = ctl_cluster_add_token(c, &t);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

bool ctl_cluster_has_group(const CtlCluster *c, const char *group) {
        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].group, group))
                        return true;
        for (size_t i = 0; i < c->n_tokens; i++)
                if (streq(c->tokens[i].group, group))
                        return true;
        return false;
}

static bool shown(const char *name, const char *group) {
        return !group || streq(name, group);
}

/* --- JSON ------------------------------------------------------------------------ */

static json_object *json_string_or_null(const char *s) {
        return s && *s ? json_object_new_string(s) : NULL;
}

static json_object *group_json(const CtlClusterGroup *g) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "group", json_object_new_string(g->group));
        json_object_object_add(o, "host", json_object_new_string(g->host));
        json_object_object_add(o, "active", json_string_or_null(g->active));
        json_object_object_add(o, "generation", json_object_new_uint64(g->generation));
        json_object_object_add(o, "operation", json_string_or_null(g->operation));
        json_object_object_add(o, "step", json_string_or_null(g->step));
        json_object_object_add(o, "frozen", json_object_new_boolean(g->frozen));
        return o;
}

static json_object *token_json(const CtlClusterToken *t) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "group", json_object_new_string(t->group));
        json_object_object_add(o, "state", json_object_new_string(t->state));
        json_object_object_add(o, "holder_host", json_string_or_null(t->holder_host));
        json_object_object_add(o, "holder_domain", json_string_or_null(t->holder_domain));
        json_object_object_add(o, "generation", json_object_new_uint64(t->generation));
        return o;
}

json_object *ctl_cluster_json(const CtlCluster *c, const char *group) {
        json_object *o, *cluster, *groups, *tokens;

        o = json_object_new_object();
        cluster = json_object_new_object();
        groups = json_object_new_array();
        tokens = json_object_new_array();
        if (!o || !cluster || !groups || !tokens)
                goto oom;
        json_object_object_add(cluster, "connected", json_object_new_boolean(c->connected));
        json_object_object_add(cluster, "quorate", json_object_new_boolean(c->quorate));
        json_object_object_add(cluster, "node", json_string_or_null(c->node));
        for (size_t i = 0; i < c->n_groups; i++)
                if (shown(c->groups[i].group, group)) {
                        json_object *e = group_json(&c->groups[i]);

                        if (!e || json_object_array_add(groups, e) < 0) {
                                json_object_put(e);
                                goto oom;
                        }
                }
        for (size_t i = 0; i < c->n_tokens; i++)
                if (shown(c->tokens[i].group, group)) {
                        json_object *e = token_json(&c->tokens[i]);

                        if (!e || json_object_array_add(tokens, e) < 0) {
                                json_object_put(e);
                                goto oom;
                        }
                }
        json_object_object_add(o, "cluster", cluster);
        json_object_object_add(o, "groups", groups);
        json_object_object_add(o, "tokens", tokens);
        return o;
oom:
        json_object_put(o);
        json_object_put(cluster);
        json_object_put(groups);
        json_object_put(tokens);
        return NULL;
}

/* --- Text ------------------------------------------------------------------------- */

#define COLS_MAX 6

typedef struct Table {
        size_t n_cols, n_rows;
        char **cells; /* n_rows x n_cols; row 0 the header */
} Table;

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        free(t->cells);
}

/* Appends a row of n_cols strings. */
static int table_add(Table *t, const char *const *row) {
        char **a;

        a = reallocarray(t->cells, (t->n_rows + 1) * t->n_cols, sizeof(char *));
        if (!a)
                return -ENOMEM;
        t->cells = a;
        for (size_t c = 0; c < t->n_cols; c++)
                a[t->n_rows * t->n_cols + c] = NULL;
        t->n_rows++;
        for (size_t c = 0; c < t->n_cols; c++) {
                a[(t->n_rows - 1) * t->n_cols + c] = strdup(row[c]);
                if (!a[(t->n_rows - 1) * t->n_cols + c])
                        return -ENOMEM;
        }
        return 0;
}

/* Left-aligned columns two spaces apart, no trailing blanks. */
static void table_print(const Table *t, FILE *f) {
        size_t width[COLS_MAX] = {};

        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c < t->n_cols; c++)
                        width[c] = MAX(width[c], strlen(t->cells[r * t->n_cols + c]));
        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t c = 0; c < t->n_cols; c++)
                        fprintf(f, "%-*s%s", c + 1 < t->n_cols ? (int) width[c] : 0, t->cells[r * t->n_cols + c],
                                c + 1 < t->n_cols ? "  " : "");
                fputc('\n', f);
        }
}

static const char *dash(const char *s) {
        return s && *s ? s : "-";
}

static int groups_table(const CtlCluster *c, const char *group, Table *t) {
        static const char *const header[] = { "GROUP", "HOST", "ACTIVE", "GEN", "OPERATION", "FROZEN" };
        int r;

        *t = (Table) { .n_cols = ELEMENTSOF(header) };
        r = table_add(t, header);
        for (size_t i = 0; i < c->n_groups && r >= 0; i++) {
                const CtlClusterGroup *g = &c->groups[i];
                char gen[24], op[256];

                if (!shown(g->group, group))
                        continue;
                snprintf(gen, sizeof(gen), "%" PRIu64, g->generation);
                snprintf(op, sizeof(op), "%s%s%s", dash(g->operation), *g->operation && *g->step ? "/" : "",
                         *g->operation ? g->step : "");
                r = table_add(t, (const char *const[]) { g->group, g->host, dash(g->active), gen, op,
                                                         g->frozen ? "yes" : "no" });
        }
        return r;
}

static int tokens_table(const CtlCluster *c, const char *group, Table *t) {
        static const char *const header[] = { "GROUP", "TOKEN", "HOLDER", "DOMAIN", "GEN" };
        int r;

        *t = (Table) { .n_cols = ELEMENTSOF(header) };
        r = table_add(t, header);
        for (size_t i = 0; i < c->n_tokens && r >= 0; i++) {
                const CtlClusterToken *k = &c->tokens[i];
                char gen[24];

                if (!shown(k->group, group))
                        continue;
                snprintf(gen, sizeof(gen), "%" PRIu64, k->generation);
                r = table_add(t, (const char *const[]) { k->group, k->state, dash(k->holder_host),
                                                         dash(k->holder_domain), gen });
        }
        return r;
}

int ctl_cluster_print(const CtlCluster *c, const char *group, FILE *f) {
        _cleanup_(table_done) Table groups = {}, tokens = {};
        int r;

        r = groups_table(c, group, &groups);
        if (r >= 0)
                r = tokens_table(c, group, &tokens);
        if (r < 0)
                return r;

        if (c->connected)
                fprintf(f, "Cluster: connected, %s, node '%s'\n", c->quorate ? "quorate" : "not quorate",
                        dash(c->node));
        else
                fprintf(f, "Cluster: not connected\n");
        if (groups.n_rows > 1) {
                fputc('\n', f);
                table_print(&groups, f);
        }
        if (tokens.n_rows > 1) {
                fputc('\n', f);
                table_print(&tokens, f);
        }
        return fflush(f) == 0 ? 0 : -errno;
}
