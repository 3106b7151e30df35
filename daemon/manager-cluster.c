/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster token as the state machine sees it (docs/cluster.md): an
 * operation that attaches a member starts only while this host holds its
 * group's cluster token, and the token goes back once no member of this
 * host holds the device. Asking, granting and the cluster itself are the
 * environment's (main.c); on a host outside a cluster there is no token
 * and every attach is allowed. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"

static bool plan_attaches(HdhaOperation op, const char *target) {
        return IN_SET(op, HDHA_OPERATION_SWITCH, HDHA_OPERATION_FAILOVER) && target;
}

static int start_now(ManagerGroup *g, HdhaOperation op, const char *source, const char *target, bool force,
                     HdhaOpDoneFn done, void *userdata) {
        ManagerPlanRequest q = { .op = op, .source = source, .target = target, .force = force };
        ManagerPlanStep plan[PLAN_MAX];
        size_t n = manager_plan(&q, plan);

        return manager_group_start_operation(g, op, source, target, plan, n, done, userdata);
}

static ManagerTokenWait *token_wait_free(ManagerTokenWait *w) {
        if (!w)
                return NULL;
        free(w->source);
        free(w->target);
        free(w);
        return NULL;
}

/* The group may have changed while the token was asked for: the operation
 * still makes sense only if the holder is the same and the target still a
 * running standby. */
static bool still_valid(const ManagerGroup *g, const ManagerTokenWait *w) {
        const HdhaTableMember *target = hdha_table_group_get_member(g->table, w->target);

        return streq_ptr(g->table->active, w->source) && target && target->role == HDHA_ROLE_STANDBY &&
               g->manager->connected;
}

static void on_token(void *userdata, int r, const char *message) {
        ManagerTokenWait *w = userdata;
        ManagerGroup *g = w->group;
        HdhaOpDoneFn done = w->done;
        void *done_userdata = w->done_userdata;

        if (!g) { /* the group went while the cluster was asked */
                token_wait_free(w);
                return;
        }
        g->token_wait = NULL;

        if (r < 0) {
                log_error_errno(r, "Group '%s': %s to '%s' refused by the cluster: %s", g->name,
                                hdha_operation_to_string(w->op), w->target, message ?: "no reason given");
                if (g->manager->env.group_changed)
                        g->manager->env.group_changed(g->manager->env.userdata, g->name);
                token_wait_free(w);
                if (done)
                        done(done_userdata, r, message);
                manager_group_operation_ended(g);
                return;
        }

        log_info("Group '%s': this host holds the cluster token, starting the %s to '%s'.", g->name,
                 hdha_operation_to_string(w->op), w->target);
        if (!still_valid(g, w)) {
                r = -ECANCELED;
                message = "the group changed while its cluster token was asked for";
        } else
                r = start_now(g, w->op, w->source, w->target, w->force, done, done_userdata);
        if (r < 0) {
                log_error_errno(r, "Group '%s': %s to '%s' not started: %s", g->name, hdha_operation_to_string(w->op),
                                w->target, message ?: "could not start");
                token_wait_free(w);
                /* This host holds the token, and nothing was attached. */
                manager_group_token_check(g);
                if (done)
                        done(done_userdata, r, message);
                manager_group_operation_ended(g);
                return;
        }
        token_wait_free(w);
}

int manager_group_start_planned(ManagerGroup *g, HdhaOperation op, const char *source, const char *target,
                                bool force, HdhaOpDoneFn done, void *userdata) {
        const HdhaManagerEnv *env = &g->manager->env;
        ManagerTokenWait *w;

        if (!plan_attaches(op, target) || !env->cluster_acquire || !env->cluster_holds ||
            env->cluster_holds(env->userdata, g->name))
                return start_now(g, op, source, target, force, done, userdata);

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (ManagerTokenWait) {
                .group = g,
                .op = op,
                .source = source ? strdup(source) : NULL,
                .target = strdup(target),
                .force = force,
                .done = done,
                .done_userdata = userdata,
        };
        if (!w->target || (source && !w->source)) {
                token_wait_free(w);
                return -ENOMEM;
        }
        g->token_wait = w;
        log_info("Group '%s': asking the cluster for the group's token before the %s to '%s'.", g->name,
                 hdha_operation_to_string(op), target);
        if (env->group_changed)
                env->group_changed(env->userdata, g->name); /* now busy */
        env->cluster_acquire(env->userdata, g->name, target, on_token, w);
        return 0;
}

void manager_group_token_check(ManagerGroup *g) {
        const HdhaManagerEnv *env = &g->manager->env;

        if (g->table->active || g->token_wait || !env->cluster_release || !env->cluster_holds ||
            !env->cluster_holds(env->userdata, g->name))
                return;
        env->cluster_release(env->userdata, g->name);
}

void manager_group_token_wait_drop(ManagerGroup *g) {
        if (g->token_wait)
                g->token_wait->group = NULL;
        g->token_wait = NULL;
}
