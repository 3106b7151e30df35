/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An operation as a plan of steps, driven by a state x event table.
 *
 * Each step names one domain and issues one hypervisor call on entry; the
 * call's completion (job-done, job-failed) and the hypervisor's events for
 * that domain are the events of the table. The device is attached to the target only after the
 * source is confirmed to have let go: DEVICE_REMOVED, the live XML without
 * it, or the source shut off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"
#include "string-table.h"

static const char *const step_event_table[_EV_MAX] = {
        [EV_JOB_DONE] = "job-done",
        [EV_JOB_FAILED] = "job-failed",
        [EV_REMOVED] = "device-removed",
        [EV_REMOVAL_FAILED] = "device-removal-failed",
        [EV_RELEASE_TIMEOUT] = "release-timeout",
        [EV_RETRY] = "retry",
        [EV_STOPPED] = "stopped",
        [EV_GONE] = "device-gone",
        [EV_PRESENT] = "device-present",
};

const char *manager_step_event_to_string(ManagerStepEvent e) {
        return e >= 0 && e < _EV_MAX ? step_event_table[e] : "?";
}

static const char *step_domain(const ManagerGroup *g) {
        return g->i_plan < g->n_plan ? g->plan[g->i_plan].domain : NULL;
}

/* Returns the group if the call belongs to the step in progress, else NULL. */
static ManagerGroup *hv_call_take(ManagerHvCall *call) {
        uint64_t id = call->step_id;
        ManagerGroup *g = manager_hv_call_free(call);

        return id == g->step_id && !g->reconciling ? g : NULL;
}

/* A call that failed because the connection broke says nothing about the
 * domain: the reconnect's reconciliation reads what really happened. The
 * failure may arrive before the DISCONNECTED event, hence the codes. */
static bool connection_lost(const ManagerGroup *g, int r) {
        return !g->manager->connected || IN_SET(r, -ECONNRESET, -ENOTCONN);
}

static void on_call_done(void *userdata, int r, const char *message) {
        ManagerGroup *g = hv_call_take(userdata);

        if (!g)
                return;
        if (r < 0 && connection_lost(g, r)) {
                /* The reconnect's reconciliation decides what happened. */
                log_info("Group '%s': step interrupted by the lost connection, waiting to reconnect.", g->name);
                return;
        }
        manager_group_step_event(g, r >= 0 ? EV_JOB_DONE : EV_JOB_FAILED, r, message);
        manager_group_flush(g);
}

static void on_inspect_done(void *userdata, int r, const char *message, const HdhaDomainInfo *info) {
        ManagerGroup *g = hv_call_take(userdata);

        if (!g)
                return;
        if (r < 0) {
                if (!connection_lost(g, r))
                        manager_group_step_event(g, EV_JOB_FAILED, r, message);
                return;
        }
        if (!info->running)
                manager_group_step_event(g, EV_STOPPED, 0, NULL);
        else
                manager_group_step_event(g, info->has_device ? EV_PRESENT : EV_GONE, 0, NULL);
        manager_group_flush(g);
}

/* Issues the hypervisor call of the current step. */
static int step_issue_call(ManagerGroup *g, HdhaStep step) {
        HdhaHypervisor *hv = g->manager->hv;
        const char *d = step_domain(g);
        const HdhaGroupConfig *c = g->config;
        ManagerHvCall *call = manager_hv_call_new(g);
        int r;

        if (!call)
                return -ENOMEM;

        switch (step) {
        case HDHA_STEP_RAISING_QUOTA:
                r = hv->ops->set_vcpu_quota(hv, d, c->active_vcpu_quota, c->vcpu_period, on_call_done, call);
                break;
        case HDHA_STEP_LOWERING_QUOTA:
                r = hv->ops->set_vcpu_quota(hv, d, c->standby_vcpu_quota, c->vcpu_period, on_call_done, call);
                break;
        case HDHA_STEP_DETACHING:
                r = hv->ops->detach(hv, d, g->device_xml, on_call_done, call);
                break;
        case HDHA_STEP_WAITING_RELEASE:
                r = hv->ops->inspect(hv, d, g->alias, on_inspect_done, call);
                break;
        case HDHA_STEP_DEACTIVATING:
                r = hv->ops->destroy(hv, d, on_call_done, call);
                break;
        case HDHA_STEP_ATTACHING:
                r = hv->ops->attach(hv, d, g->device_xml, on_call_done, call);
                break;
        case HDHA_STEP_STARTING:
        case HDHA_STEP_REBUILDING:
                r = hv->ops->start(hv, d, on_call_done, call);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                manager_hv_call_free(call);
        return r;
}

/* Moves the table to step and starts it: its call once it is durable. */
static void step_enter(ManagerGroup *g, HdhaStep step, const char *event) {
        HdhaStep old = g->table->step;
        int r;

        g->step_id++;
        r = hdha_table_group_set_step(g->table, step);
        if (r < 0)
                return manager_group_finish(g, r, "cannot record the step in the allocation table");
        hdha_log_transition(g->name, step_domain(g), hdha_step_to_string(old), event, hdha_step_to_string(step));
        if (step == HDHA_STEP_REBUILDING || step == HDHA_STEP_STARTING)
                manager_group_set_role(g, step_domain(g), HDHA_ROLE_REBUILDING, event);
        if (step == HDHA_STEP_DETACHING)
                manager_group_timer_start(g, &g->release_timer, g->config->release_timeout_sec * 1000000U);

        /* The call waits until the step is on disk, written together with
         * every other group's changes of this burst of events. */
        g->call_waits = true;
        manager_group_commit_later(g);
}

void manager_group_step_written(ManagerGroup *g, int r) {
        _cleanup_free_ char *m = NULL;

        if (!g->call_waits)
                return;
        g->call_waits = false;
        if (g->reconciling || g->table->operation == HDHA_OPERATION_NONE || g->i_plan >= g->n_plan)
                return; /* ended meanwhile, or reconciliation decides */
        if (r < 0) {
                if (asprintf(&m, "cannot write the allocation table '%s': %s", g->manager->table_path,
                             strerror(-r)) < 0)
                        m = NULL;
                return manager_group_finish(g, HDHA_MANAGER_STATE_WRITE_FAILED,
                                            m ?: "cannot write the allocation table");
        }
        r = step_issue_call(g, g->table->step);
        if (r < 0) {
                if (asprintf(&m, "cannot queue the hypervisor job: %s", strerror(-r)) < 0)
                        m = NULL;
                manager_group_finish(g, HDHA_MANAGER_HYPERVISOR_FAILED, m ?: "cannot queue the hypervisor job");
        }
}

/* Runs the plan from its current position; event names what got it here. */
void manager_group_run_plan(ManagerGroup *g, const char *event) {
        int r;

        while (g->i_plan < g->n_plan) {
                const ManagerPlanStep *p = &g->plan[g->i_plan];
                const HdhaTableMember *mem = hdha_table_group_get_member(g->table, p->domain);

                /* A domain that is not running gets no quota. */
                if (p->step == HDHA_STEP_LOWERING_QUOTA && mem &&
                    (mem->role == HDHA_ROLE_DEACTIVATED || mem->role == HDHA_ROLE_FAILED)) {
                        g->i_plan++;
                        continue;
                }
                return step_enter(g, p->step, event);
        }

        hdha_log_transition(g->name, NULL, hdha_step_to_string(g->table->step), event,
                            hdha_step_to_string(HDHA_STEP_DONE));
        r = hdha_table_group_set_step(g->table, HDHA_STEP_DONE);
        if (r < 0)
                log_error_errno(r, "Group '%s': failed to record the end of the plan, ignoring: %m", g->name);
        if (g->error < 0) {
                _cleanup_free_ char *m = TAKE_PTR(g->error_message);
                return manager_group_finish(g, g->error, m);
        }
        manager_group_finish(g, 0, NULL);
}

static void advance(ManagerGroup *g, ManagerStepEvent ev) {
        g->i_plan++;
        manager_group_run_plan(g, manager_step_event_to_string(ev));
}

/* --- Actions ------------------------------------------------------------- */

typedef void (*Action)(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message);

static void act_ignore(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        log_debug("Group '%s': %s in step %s, nothing to do.", g->name, manager_step_event_to_string(ev),
                  hdha_step_to_string(g->table->step));
}

static void act_next(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        advance(g, ev);
}

/* What failed is a hypervisor call; its message is libvirt's. */
static void act_abort(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        manager_group_finish(g, HDHA_MANAGER_HYPERVISOR_FAILED, message);
}

static void act_warn_next(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        log_warning("Group '%s': %s on '%s' failed: %s, continuing.", g->name,
                    hdha_step_to_string(g->table->step), strna(step_domain(g)), message ?: "unknown error");
        advance(g, ev);
}

/* The detach request is out (or failed: the device may already be gone):
 * from now on only the guest's release counts. */
static void act_wait_release(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        if (ev == EV_JOB_FAILED)
                log_warning("Group '%s': detaching from '%s' failed: %s; checking the live XML.", g->name,
                            strna(step_domain(g)), message ?: "unknown error");
        step_enter(g, HDHA_STEP_WAITING_RELEASE, manager_step_event_to_string(ev));
}

/* Look again, later. */
static void act_still_held(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        manager_group_timer_start(g, &g->retry_timer, RELEASE_RETRY_USEC);
}

/* Ask again: an unplug sent while the guest was booting is lost. */
static void act_retry_detach(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        HdhaHypervisor *hv = g->manager->hv;
        ManagerHvCall *call = manager_hv_call_new(g);

        log_info("Group '%s': '%s' still holds the device, asking it again to let go.", g->name,
                 strna(step_domain(g)));
        if (!call || hv->ops->detach(hv, step_domain(g), g->device_xml, on_call_done, call) < 0) {
                if (call)
                        manager_hv_call_free(call);
                act_still_held(g, ev, r, message);
        }
}

/* After a repeated detach request: has it let go now? */
static void act_inspect(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        HdhaHypervisor *hv = g->manager->hv;
        ManagerHvCall *call = manager_hv_call_new(g);

        if (!call || hv->ops->inspect(hv, step_domain(g), g->alias, on_inspect_done, call) < 0) {
                if (call)
                        manager_hv_call_free(call);
                act_still_held(g, ev, r, message);
        }
}

static void act_released(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        const char *s = step_domain(g);

        manager_group_timers_stop(g);
        manager_group_set_holder(g, NULL, manager_step_event_to_string(ev));
        manager_group_set_role(g, s, ev == EV_STOPPED ? HDHA_ROLE_DEACTIVATED : HDHA_ROLE_STANDBY,
                              manager_step_event_to_string(ev));
        /* A source that shut off by itself is rebuilt like a deactivated one. */
        if (ev == EV_STOPPED)
                manager_group_plan_insert_rebuild(g, s);
        advance(g, ev);
}

/* The source did not let go in time (or refused): stop it, then rebuild it
 * as a standby once the target holds the device. */
static void act_deactivate_source(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        const char *s = step_domain(g);

        log_warning("Group '%s': '%s' did not release the device (%s), deactivating it.", g->name, strna(s),
                    manager_step_event_to_string(ev));
        manager_group_timers_stop(g);
        g->plan[g->i_plan].step = HDHA_STEP_DEACTIVATING;
        manager_group_plan_insert_rebuild(g, s);
        step_enter(g, HDHA_STEP_DEACTIVATING, manager_step_event_to_string(ev));
}

static void act_deactivated(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        const char *d = step_domain(g);

        if (g->table->active && strcmp(g->table->active, d) == 0)
                manager_group_set_holder(g, NULL, "deactivated");
        manager_group_set_role(g, d, HDHA_ROLE_DEACTIVATED, "deactivated");
        advance(g, ev);
}

static void act_attached(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        manager_group_set_holder(g, step_domain(g), "attached");
        advance(g, ev);
}

/* QEMU refused the hot-plug (libvirt's internal error, -EIO): what it kept
 * of an earlier one cut short (libvirtd killed in the middle) refuses every
 * later one ("Duplicate ID"), so the domain is taken as failed: policy auto
 * rebuilds it, policy pacemaker reports it. An error of the host or of the
 * device's configuration (unsupported, invalid, denied) is not the domain's. */
static bool attach_refused_by_domain(int r) {
        return r == -EIO;
}

static void fail_operation_later(ManagerGroup *g, const char *message) {
        g->error = HDHA_MANAGER_HYPERVISOR_FAILED;
        free(g->error_message);
        g->error_message = message ? strdup(message) : NULL;
}

/* The failover's target refused the device, with the source already off.
 * If the daemon chose the target (or keeps the group by itself: policy
 * auto, also for a failover resumed after a restart), another standby
 * takes its place, else the former holder, started afresh: such a failover
 * leaves the group without a holder only when no member can take the
 * device. Otherwise the rest of the plan rebuilds the former holder and the
 * failover fails. */
static void failover_attach_failed(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        const char *s = g->table->op_source, *target = strna(step_domain(g));
        const HdhaTableMember *src = s ? hdha_table_group_get_member(g->table, s) : NULL;
        ManagerPlanStep plan[PLAN_MAX];
        ManagerPlanRequest q;
        const char *next = NULL;
        size_t n;
        int k;

        if ((g->any_target || g->config->policy == HDHA_POLICY_AUTO) && attach_refused_by_domain(r) && src) {
                next = manager_group_first_standby(g, s);
                if (!next && !streq(s, target))
                        next = s;
        }
        if (!next) {
                log_warning("Group '%s': attaching to '%s' failed: %s; no other member takes the device.", g->name,
                            target, message ?: "unknown error");
                fail_operation_later(g, message);
                return advance(g, ev);
        }

        if (streq(next, s))
                log_warning("Group '%s': attaching to '%s' failed: %s; no standby left, '%s' is started afresh and "
                            "takes the device back.", g->name, target, message ?: "unknown error", next);
        else
                log_warning("Group '%s': attaching to '%s' failed: %s; failing over to '%s' instead.", g->name,
                            target, message ?: "unknown error", next);
        q = (ManagerPlanRequest) {
                .op = HDHA_OPERATION_FAILOVER,
                .source = s,
                .target = next,
                .from = PLAN_FROM_RELEASED,
                .live = true,
                .source_running = IN_SET(src->role, HDHA_ROLE_STANDBY, HDHA_ROLE_ACTIVE),
                .target_running = true,
        };
        n = manager_plan(&q, plan);
        /* The table names the new target before anything is done to it
         * (this frees s: the plan has its own copies). */
        k = hdha_table_group_set_operation(g->table, HDHA_OPERATION_FAILOVER, g->table->step, s, next);
        manager_group_set_plan(g, plan, n);
        if (k < 0)
                return manager_group_finish(g, k, "cannot record the failover's new target");
        manager_group_run_plan(g, manager_step_event_to_string(ev));
}

/* The target refused the device. After a planned switch the source, which
 * let go and still runs, takes it back: nothing is lost. The operation
 * still fails, with the target's error. */
static void act_attach_failed(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        const char *s = g->table->op_source;
        const HdhaTableMember *mem = s ? hdha_table_group_get_member(g->table, s) : NULL;
        const char *target = step_domain(g);
        const HdhaTableMember *tmem = target ? hdha_table_group_get_member(g->table, target) : NULL;
        char *d;

        if (attach_refused_by_domain(r) && tmem && tmem->role == HDHA_ROLE_STANDBY) {
                manager_group_mark_failed(g, target, "attach-failed", message ?: "the attach failed");
                manager_group_throttle(g, target); /* its quota was raised for the device */
        }
        if (g->table->operation == HDHA_OPERATION_FAILOVER)
                return failover_attach_failed(g, ev, r, message);
        if (g->table->operation != HDHA_OPERATION_SWITCH || g->error < 0 || !mem ||
            mem->role != HDHA_ROLE_STANDBY || streq(s, strna(target)) || !(d = strdup(s)))
                return act_abort(g, ev, r, message);

        log_warning("Group '%s': attaching to '%s' failed: %s; giving the device back to '%s'.", g->name,
                    strna(target), message ?: "unknown error", s);
        fail_operation_later(g, message);
        /* The rest of the plan is replaced by the attach back. */
        for (size_t i = g->i_plan + 1; i < g->n_plan; i++)
                free(g->plan[i].domain);
        g->n_plan = g->i_plan + 2;
        g->plan[g->i_plan + 1] = (ManagerPlanStep) { HDHA_STEP_ATTACHING, d };
        advance(g, ev);
}

static void act_started(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        manager_group_set_role(g, step_domain(g), HDHA_ROLE_STANDBY, "started");
        advance(g, ev);
}

static void act_start_failed(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        manager_group_set_role(g, step_domain(g), HDHA_ROLE_FAILED, "start-failed");
        act_abort(g, ev, r, message);
}

/* The state x event table. A pair without an action is unexpected: it is
 * logged and ignored. */
static const Action step_actions[_HDHA_STEP_MAX][_EV_MAX] = {
        [HDHA_STEP_RAISING_QUOTA] = {
                [EV_JOB_DONE] = act_next,
                [EV_JOB_FAILED] = act_abort,
        },
        [HDHA_STEP_DETACHING] = {
                [EV_JOB_DONE] = act_wait_release,
                [EV_JOB_FAILED] = act_wait_release,
                [EV_REMOVED] = act_released,
                [EV_STOPPED] = act_released,
                [EV_REMOVAL_FAILED] = act_deactivate_source,
                [EV_RELEASE_TIMEOUT] = act_deactivate_source,
        },
        [HDHA_STEP_WAITING_RELEASE] = {
                [EV_JOB_DONE] = act_inspect,
                [EV_JOB_FAILED] = act_inspect,
                [EV_REMOVED] = act_released,
                [EV_GONE] = act_released,
                [EV_STOPPED] = act_released,
                [EV_PRESENT] = act_still_held,
                [EV_RETRY] = act_retry_detach,
                [EV_REMOVAL_FAILED] = act_deactivate_source,
                [EV_RELEASE_TIMEOUT] = act_deactivate_source,
        },
        [HDHA_STEP_DEACTIVATING] = {
                [EV_JOB_DONE] = act_deactivated,
                [EV_JOB_FAILED] = act_abort,
                [EV_STOPPED] = act_ignore,
                [EV_REMOVED] = act_ignore,
        },
        [HDHA_STEP_ATTACHING] = {
                [EV_JOB_DONE] = act_attached,
                [EV_JOB_FAILED] = act_attach_failed,
                [EV_STOPPED] = act_ignore,
        },
        [HDHA_STEP_STARTING] = {
                [EV_JOB_DONE] = act_started,
                [EV_JOB_FAILED] = act_start_failed,
        },
        [HDHA_STEP_REBUILDING] = {
                [EV_JOB_DONE] = act_started,
                [EV_JOB_FAILED] = act_start_failed,
        },
        [HDHA_STEP_LOWERING_QUOTA] = {
                [EV_JOB_DONE] = act_next,
                [EV_JOB_FAILED] = act_warn_next,
                [EV_STOPPED] = act_ignore,
        },
};

void manager_group_step_event(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message) {
        HdhaStep step = g->table->step;
        Action a;

        if (g->table->operation == HDHA_OPERATION_NONE || g->i_plan >= g->n_plan)
                return;

        a = step >= 0 && step < _HDHA_STEP_MAX ? step_actions[step][ev] : NULL;
        if (!a) {
                log_info("Group '%s': unexpected %s in step %s, ignoring.", g->name, manager_step_event_to_string(ev),
                         hdha_step_to_string(step));
                return;
        }
        a(g, ev, r, message);
}

int manager_group_start_operation(ManagerGroup *g, HdhaOperation op, const char *source, const char *target,
                                  const ManagerPlanStep *plan, size_t n_plan, HdhaOpDoneFn done, void *userdata) {
        uint64_t generation = g->table->generation;
        int r;

        r = hdha_table_group_set_operation(g->table, op, HDHA_STEP_NONE, source, target);
        /* Policy auto's own action: nobody waits for a refusal, its start
         * is written with its first step, before that step's call (with
         * every other group's of this round of events), and a write that
         * fails ends it before anything happens. */
        if (r >= 0 && !g->auto_starting) {
                /* "Started" is written before any hypervisor call: a state
                 * directory that cannot take it (full, read-only, failing)
                 * refuses the operation before libvirt is touched, and the
                 * file keeps what it had. The errno is logged here: the
                 * caller only sees HDHA_MANAGER_STATE_WRITE_FAILED. */
                r = manager_group_commit(g);
                if (r < 0) {
                        /* Nothing happened: the table is as the file has it. */
                        (void) hdha_table_group_clear_operation(g->table);
                        g->table->generation = generation;
                        log_error_errno(r, "Group '%s': cannot write the allocation table '%s', the %s is refused: %m",
                                        g->name, g->manager->table_path, hdha_operation_to_string(op));
                        r = HDHA_MANAGER_STATE_WRITE_FAILED;
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < n_plan; i++)
                        free(plan[i].domain);
                return r;
        }
        log_info("Group '%s': %s started (source '%s', target '%s').", g->name, hdha_operation_to_string(op),
                 source ?: "-", target ?: "-");

        manager_group_set_plan(g, plan, n_plan);
        g->done = done;
        g->done_userdata = userdata;
        g->error = 0;
        g->error_message = mfree(g->error_message);
        manager_group_run_plan(g, "start");
        return 0;
}

/* Ends the operation in flight: clears it from the table and tells who
 * waits. */
void manager_group_finish(ManagerGroup *g, int r, const char *message) {
        HdhaOperation op = g->table->operation;
        HdhaOpDoneFn done = g->done;
        void *userdata = g->done_userdata;

        manager_group_timers_stop(g);
        manager_group_plan_clear(g);
        g->step_id++;
        g->error = 0;
        g->error_message = mfree(g->error_message);
        g->any_target = false;
        g->call_waits = false;
        g->done = NULL;
        g->done_userdata = NULL;
        (void) hdha_table_group_clear_operation(g->table);
        manager_group_commit_later(g);

        if (r < 0) {
                if (message)
                        log_error_errno(r, "Group '%s': %s failed: %s", g->name, hdha_operation_to_string(op),
                                        message);
                else
                        log_error_errno(r, "Group '%s': %s failed: %m", g->name, hdha_operation_to_string(op));
                /* A target whose quota was raised goes back to its own. */
                manager_group_reapply_quotas(g, false);
        } else
                log_info("Group '%s': %s finished, device on %s%s%s.", g->name, hdha_operation_to_string(op),
                         g->table->active ? "'" : "", g->table->active ?: "no domain", g->table->active ? "'" : "");
        if (done)
                done(userdata, r, message);
        manager_group_operation_ended(g);
}
