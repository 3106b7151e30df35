/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plan of each operation, described once: manager_plan() gives the steps
 * of a fresh operation (manager-operations.c) and what is left of one cut
 * short, from where reconciliation found it (manager-reconcile.c). */
#include <stdlib.h>
#include <string.h>

#include "manager-internal.h"

static size_t plan_add(ManagerPlanStep *plan, size_t n, HdhaStep step, const char *domain) {
        if (n < PLAN_MAX && domain)
                plan[n++] = (ManagerPlanStep) { step, strdup(domain) };
        return n;
}

/* The source once the device left it: started again if it is off (or the
 * plan stopped it), then given its standby quota. */
static size_t plan_source_back(const ManagerPlanRequest *q, ManagerPlanStep *plan, size_t n, bool stopped) {
        if (stopped || (q->live && !q->source_running))
                n = plan_add(plan, n, HDHA_STEP_REBUILDING, q->source);
        return plan_add(plan, n, HDHA_STEP_LOWERING_QUOTA, q->source);
}

size_t manager_plan(const ManagerPlanRequest *q, ManagerPlanStep *plan) {
        bool release = q->from == PLAN_FROM_START, attach = q->from != PLAN_FROM_ATTACHED;
        bool target_off = q->live && !q->target_running;
        size_t n = 0;

        switch (q->op) {
        case HDHA_OPERATION_SWITCH:
                /* The target's quota is raised before it gets the device. */
                if (attach)
                        n = plan_add(plan, n, HDHA_STEP_RAISING_QUOTA, q->target);
                if (!q->source)
                        return attach ? plan_add(plan, n, HDHA_STEP_ATTACHING, q->target) : n;
                if (release)
                        n = plan_add(plan, n, q->force ? HDHA_STEP_DEACTIVATING : HDHA_STEP_DETACHING, q->source);
                if (attach)
                        n = plan_add(plan, n, HDHA_STEP_ATTACHING, q->target);
                return plan_source_back(q, plan, n, release && q->force);
        case HDHA_OPERATION_FAILOVER:
                if (release)
                        n = plan_add(plan, n, HDHA_STEP_DEACTIVATING, q->source);
                if (q->source && streq_ptr(q->source, q->target)) {
                        /* No standby could take the device: the former
                         * holder, started afresh, takes it back. */
                        if (!attach)
                                return n;
                        if (release || (q->live && !q->source_running))
                                n = plan_add(plan, n, HDHA_STEP_REBUILDING, q->source);
                        n = plan_add(plan, n, HDHA_STEP_RAISING_QUOTA, q->target);
                        return plan_add(plan, n, HDHA_STEP_ATTACHING, q->target);
                }
                if (attach && q->target && !target_off) {
                        n = plan_add(plan, n, HDHA_STEP_RAISING_QUOTA, q->target);
                        n = plan_add(plan, n, HDHA_STEP_ATTACHING, q->target);
                }
                return plan_source_back(q, plan, n, release);
        case HDHA_OPERATION_RELEASE:
                if (release)
                        n = plan_add(plan, n, HDHA_STEP_DETACHING, q->source);
                return plan_source_back(q, plan, n, false);
        case HDHA_OPERATION_DEACTIVATE:
                return release ? plan_add(plan, n, HDHA_STEP_DEACTIVATING, q->source) : 0;
        case HDHA_OPERATION_ACTIVATE:
                /* Starting a running domain is a no-op; the role may lag. */
                if (!q->live || target_off)
                        n = plan_add(plan, n, HDHA_STEP_STARTING, q->target);
                return plan_add(plan, n, HDHA_STEP_LOWERING_QUOTA, q->target);
        case HDHA_OPERATION_REBUILD:
                /* Destroying a shut-off domain is a no-op. */
                if (release)
                        n = plan_add(plan, n, HDHA_STEP_DEACTIVATING, q->target);
                if (!q->live || target_off)
                        n = plan_add(plan, n, HDHA_STEP_REBUILDING, q->target);
                return plan_add(plan, n, HDHA_STEP_LOWERING_QUOTA, q->target);
        default:
                return 0;
        }
}

void manager_group_plan_clear(ManagerGroup *g) {
        for (size_t i = 0; i < g->n_plan; i++)
                free(g->plan[i].domain);
        g->n_plan = g->i_plan = 0;
}

void manager_group_set_plan(ManagerGroup *g, const ManagerPlanStep *plan, size_t n) {
        manager_group_plan_clear(g);
        memcpy(g->plan, plan, n * sizeof(*plan));
        g->n_plan = n;
}

/* A source that was stopped during the operation is started again as a
 * standby before its quota is lowered. */
void manager_group_plan_insert_rebuild(ManagerGroup *g, const char *source) {
        for (size_t i = g->i_plan + 1; i < g->n_plan; i++) {
                char *d;

                if (g->plan[i].step != HDHA_STEP_LOWERING_QUOTA || strcmp(g->plan[i].domain, source) != 0)
                        continue;
                if (g->n_plan >= PLAN_MAX || !(d = strdup(source)))
                        return;
                memmove(g->plan + i + 1, g->plan + i, (g->n_plan - i) * sizeof(*g->plan));
                g->plan[i] = (ManagerPlanStep) { HDHA_STEP_REBUILDING, d };
                g->n_plan++;
                return;
        }
}

