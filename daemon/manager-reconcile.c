/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reconciliation: at start-up and after every reconnect, the live state of
 * every member is read and the table is brought in line with it. libvirt is
 * the truth about where the device is; the table is the truth about where
 * it should be. An operation cut short (daemon crash, lost connection) is
 * finished when the device already left its source, and rolled back when
 * the source still holds it. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"

#define RECONCILE_RETRY_USEC (1000U * 1000U)

static void reconcile_decide(ManagerGroup *g);

static void on_reconcile_retry(void *userdata) {
        HdhaManager *m = userdata;

        m->reconcile_retry_timer = NULL;
        for (size_t i = 0; i < m->n_groups; i++)
                if (!m->groups[i]->removed && m->groups[i]->reconciling)
                        manager_group_reconcile(m->groups[i]);
}

static void on_inspected(void *userdata, int r, const char *message, const HdhaDomainInfo *info) {
        ManagerHvCall *call = userdata;
        uint64_t id = call->step_id;
        size_t index = call->index;
        ManagerGroup *g = manager_hv_call_free(call);

        if (id != g->step_id || !g->reconciling)
                return;

        if (r < 0) {
                log_warning("Group '%s': cannot read the live state of '%s': %s", g->name,
                            g->config->domains[index], message ?: "unknown error");
                g->inspect_failed = true;
        } else
                g->infos[index] = *info;

        if (--g->n_inspect_pending == 0)
                reconcile_decide(g);
}

static void on_vfio_bound(void *userdata, int r, const char *message) {
        ManagerGroup *g = userdata;

        g->n_side_calls--;
        if (r < 0) {
                log_warning("Group '%s': cannot bind %s to vfio-pci: %s; attaches with managed='no' will fail "
                            "until it is bound.", g->name, g->vfio_nodedev, message ?: "unknown error");
                return;
        }
        g->vfio_bound = true;
        log_info("Group '%s': %s is bound to vfio-pci.", g->name, g->vfio_nodedev);
}

/* Managed=no: the function goes to vfio-pci once, here, so that a failover
 * never rebinds host drivers; retried at the next reconciliation if it
 * fails. */
static void group_bind_vfio(ManagerGroup *g) {
        HdhaHypervisor *hv = g->manager->hv;
        const HdhaPciAddress *a = &g->config->pci;

        if (g->config->device_kind != HDHA_DEVICE_PCI || g->config->managed || g->vfio_bound)
                return;
        free(g->vfio_nodedev);
        if (asprintf(&g->vfio_nodedev, "pci_%04x_%02x_%02x_%x", a->domain, a->bus, a->slot, a->function) < 0) {
                g->vfio_nodedev = NULL;
                return;
        }
        g->n_side_calls++;
        if (hv->ops->bind_vfio(hv, g->vfio_nodedev, on_vfio_bound, g) < 0)
                g->n_side_calls--;
}

void manager_group_reconcile(ManagerGroup *g) {
        HdhaHypervisor *hv = g->manager->hv;

        group_bind_vfio(g);

        manager_group_timers_stop(g);
        g->reconciling = true;
        g->inspect_failed = false;
        g->step_id++;
        g->n_inspect_pending = g->config->n_domains;
        memset(g->infos, 0, g->config->n_domains * sizeof(*g->infos));
        if (g->manager->env.group_changed) /* busy now */
                g->manager->env.group_changed(g->manager->env.userdata, g->name);

        for (size_t i = 0; i < g->config->n_domains; i++) {
                ManagerHvCall *call = manager_hv_call_new(g);

                if (call) {
                        call->index = i;
                        if (hv->ops->inspect(hv, g->config->domains[i], g->alias, on_inspected, call) >= 0)
                                continue;
                        manager_hv_call_free(call);
                }
                g->inspect_failed = true;
                g->n_inspect_pending--;
        }
        if (g->n_inspect_pending == 0)
                reconcile_decide(g);
}

void manager_reconcile(HdhaManager *m) {
        for (size_t i = 0; i < m->n_groups; i++)
                if (!m->groups[i]->removed)
                        manager_group_reconcile(m->groups[i]);
}

static void on_side_call_done(void *userdata, int r, const char *message) {
        ManagerGroup *g = userdata;

        g->n_side_calls--;
        if (r < 0)
                log_warning("Group '%s': %s, ignoring.", g->name, message ?: "a side job failed");
}

void manager_group_throttle(ManagerGroup *g, const char *domain) {
        const HdhaGroupConfig *c = g->config;

        g->n_side_calls++;
        if (g->manager->hv->ops->set_vcpu_quota(g->manager->hv, domain, c->standby_vcpu_quota, c->vcpu_period,
                                                on_side_call_done, g) < 0)
                g->n_side_calls--;
}

/* Quotas are re-applied after every reconciliation: libvirt forgets live
 * scheduler settings when a domain restarts behind our back. */
void manager_group_reapply_quotas(ManagerGroup *g, bool reconciled) {
        HdhaHypervisor *hv = g->manager->hv;
        const HdhaGroupConfig *c = g->config;

        for (size_t i = 0; i < c->n_domains; i++) {
                const HdhaTableMember *mem = hdha_table_group_get_member(g->table, c->domains[i]);
                int64_t quota;

                if (!mem)
                        continue;
                if (mem->role == HDHA_ROLE_FAILED && reconciled && g->infos[i].running) {
                        manager_group_throttle(g, c->domains[i]);
                        continue;
                }
                if (!IN_SET(mem->role, HDHA_ROLE_ACTIVE, HDHA_ROLE_STANDBY))
                        continue;
                quota = mem->role == HDHA_ROLE_ACTIVE ? c->active_vcpu_quota : c->standby_vcpu_quota;
                g->n_side_calls++;
                if (hv->ops->set_vcpu_quota(hv, c->domains[i], quota, c->vcpu_period, on_side_call_done, g) < 0)
                        g->n_side_calls--;
        }
}

static bool member_running(const ManagerGroup *g, const char *domain) {
        for (size_t i = 0; i < g->config->n_domains; i++)
                if (streq_ptr(g->config->domains[i], domain))
                        return g->infos[i].running;
        return false;
}

/* The interrupted operation had asked the source to let go (or was
 * stopping it). */
static bool detach_requested(const ManagerGroup *g) {
        return IN_SET(g->table->step, HDHA_STEP_DETACHING, HDHA_STEP_WAITING_RELEASE, HDHA_STEP_DEACTIVATING);
}

/* What is left of the interrupted operation, given where the device is: the
 * operation's plan (manager_plan()) from where it got to. */
static size_t plan_remaining(const ManagerGroup *g, const char *holder, ManagerPlanStep *plan, bool *ret_rolled_back,
                             bool *ret_follows) {
        const char *s = g->table->op_source, *t = g->table->op_target;
        ManagerPlanRequest q = {
                .op = g->table->operation,
                .source = s,
                .target = t,
                .live = true,
                .source_running = member_running(g, s),
                .target_running = member_running(g, t),
        };

        *ret_rolled_back = *ret_follows = false;
        switch (q.op) {
        case HDHA_OPERATION_SWITCH:
                if (holder && streq_ptr(holder, t))
                        q.from = PLAN_FROM_ATTACHED;
                else if (holder && streq_ptr(holder, s)) {
                        /* Once the unplug was asked for, the guest may still
                         * act on it: ask again and finish, never roll back. */
                        if (!detach_requested(g) || !q.target_running) {
                                *ret_rolled_back = true;
                                return 0;
                        }
                        q.force = g->table->step == HDHA_STEP_DEACTIVATING;
                } else if (holder || !q.target_running) {
                        *ret_follows = true;
                        return 0;
                } else
                        q.from = PLAN_FROM_RELEASED;
                break;
        case HDHA_OPERATION_FAILOVER:
                if (holder && streq_ptr(holder, t))
                        q.from = PLAN_FROM_ATTACHED;
                else if (holder && !streq_ptr(holder, s)) {
                        *ret_follows = true;
                        return 0;
                }
                break;
        case HDHA_OPERATION_RELEASE:
                if (holder) {
                        *ret_rolled_back = streq_ptr(holder, s);
                        *ret_follows = !*ret_rolled_back;
                        return 0;
                }
                q.from = PLAN_FROM_RELEASED;
                break;
        case HDHA_OPERATION_DEACTIVATE:
                if (!q.source_running)
                        q.from = PLAN_FROM_RELEASED;
                break;
        case HDHA_OPERATION_ACTIVATE:
                break;
        case HDHA_OPERATION_REBUILD:
                q.from = PLAN_FROM_RELEASED; /* a running target is not stopped again */
                break;
        default:
                return 0;
        }
        return manager_plan(&q, plan);
}

/* Keeps one holder when the device is found on several domains (only an
 * emulated stand-in allows that): the table's holder if it is one of them. */
static const char *resolve_holders(ManagerGroup *g) {
        const HdhaGroupConfig *c = g->config;
        const char *keep = NULL;
        size_t n = 0;

        for (size_t i = 0; i < c->n_domains; i++)
                if (g->infos[i].running && g->infos[i].has_device) {
                        n++;
                        if (!keep || streq_ptr(c->domains[i], g->table->active) ||
                            (streq_ptr(c->domains[i], g->table->op_target) && !streq_ptr(keep, g->table->active)))
                                keep = c->domains[i];
                }
        if (n <= 1)
                return keep;

        for (size_t i = 0; i < c->n_domains; i++) {
                HdhaHypervisor *hv = g->manager->hv;

                if (!g->infos[i].running || !g->infos[i].has_device || streq_ptr(c->domains[i], keep))
                        continue;
                log_error("Group '%s': the device is on '%s' and '%s' at once; deactivating '%s'.", g->name, keep,
                          c->domains[i], c->domains[i]);
                g->infos[i].running = g->infos[i].has_device = false;
                g->n_side_calls++;
                if (hv->ops->destroy(hv, c->domains[i], on_side_call_done, g) < 0)
                        g->n_side_calls--;
        }
        return keep;
}

/* The holder shut off while no operation was in flight and nobody heard of
 * it (the daemon was down, or the connection): a failure, treated as if
 * its event had come, so that policy auto fails over. Its name, or NULL.
 * Not under Pacemaker: there the agent's probe after a restart says what
 * runs, and a failure would be a failed action after every power cycle. */
static const char *holder_died(const ManagerGroup *g, const char *holder) {
        const char *a = g->table->active;

        if (g->config->policy == HDHA_POLICY_PACEMAKER || holder || !a || g->table->operation != HDHA_OPERATION_NONE || member_running(g, a))
                return NULL;
        return a;
}

static void reconcile_roles(ManagerGroup *g, const char *holder) {
        const HdhaGroupConfig *c = g->config;
        HdhaManager *m = g->manager;
        const char *dead = holder_died(g, holder);

        if (dead && hdha_table_group_get_member(g->table, dead)->role != HDHA_ROLE_FAILED) {
                /* Stays the table's holder until the failover deactivates it. */
                log_warning("Group '%s': the holder '%s' shut off unseen; it failed.", g->name, dead);
                manager_group_set_role(g, dead, HDHA_ROLE_FAILED, "reconciled");
                if (m->env.member_failed)
                        m->env.member_failed(m->env.userdata, g->name, dead, "shut off unseen");
        } else if (!dead)
                manager_group_set_holder(g, holder, "reconciled");
        for (size_t i = 0; i < c->n_domains; i++) {
                const HdhaTableMember *mem = hdha_table_group_get_member(g->table, c->domains[i]);
                HdhaRole role;

                if (!mem || streq_ptr(c->domains[i], holder))
                        continue;
                if (mem->role == HDHA_ROLE_FAILED)
                        continue; /* stays failed until rebuilt */
                role = g->infos[i].running ? HDHA_ROLE_STANDBY : HDHA_ROLE_DEACTIVATED;
                manager_group_set_role(g, c->domains[i], role, "reconciled");
        }
}

static void reconcile_decide(ManagerGroup *g) {
        HdhaManager *m = g->manager;
        ManagerPlanStep plan[PLAN_MAX];
        bool rolled_back, follows;
        const char *holder;
        size_t n;

        if (g->inspect_failed) {
                if (m->connected && !m->reconcile_retry_timer)
                        (void) m->env.timer_start(m->env.userdata, RECONCILE_RETRY_USEC, on_reconcile_retry, m,
                                                  &m->reconcile_retry_timer);
                return; /* stays busy until it succeeds */
        }

        holder = resolve_holders(g);
        n = plan_remaining(g, holder, plan, &rolled_back, &follows);

        if (!streq_ptr(holder, g->table->active) && !rolled_back && n == 0 && !holder_died(g, holder))
                log_warning("Group '%s': the table gives the device to %s%s%s but libvirt shows it on %s%s%s; "
                            "the table follows libvirt.",
                            g->name, g->table->active ? "'" : "", g->table->active ?: "no domain",
                            g->table->active ? "'" : "", holder ? "'" : "", holder ?: "no domain",
                            holder ? "'" : "");
        reconcile_roles(g, holder);
        g->reconciling = false;
        manager_group_pcmk_reconciled(g);
        if (m->env.group_changed) /* no longer busy */
                m->env.group_changed(m->env.userdata, g->name);

        if (n > 0) {
                log_notice("Group '%s': finishing the interrupted %s.", g->name,
                           hdha_operation_to_string(g->table->operation));
                manager_group_set_plan(g, plan, n);
                manager_group_run_plan(g, "reconciled");
        } else if (g->table->operation != HDHA_OPERATION_NONE) {
                if (rolled_back)
                        manager_group_finish(g, -ECANCELED, "interrupted before the device was released; rolled back");
                else if (follows)
                        manager_group_finish(g, -ECANCELED,
                                             "interrupted; the device is elsewhere, the table follows libvirt");
                else
                        manager_group_finish(g, 0, NULL);
                manager_group_reapply_quotas(g, true);
        } else {
                manager_group_reapply_quotas(g, true);
                manager_group_operation_ended(g);
        }

        manager_group_flush(g);
        for (size_t i = 0; i < m->n_groups; i++)
                if (!m->groups[i]->removed && m->groups[i]->reconciling)
                        return;
        if (m->env.reconciled)
                m->env.reconciled(m->env.userdata);
}
