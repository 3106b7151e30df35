/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The operations' entry points: checks, then a plan for manager-steps.c;
 * and the automatic actions of policy auto. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"

/* --- Automatic actions (policy auto) -------------------------------------- */

static void on_auto_retry(void *userdata) {
        ManagerGroup *g = userdata;

        g->auto_retry_timer = NULL;
        manager_group_auto_check(g);
}

static void on_auto_done(void *userdata, int r, const char *message) {
        ManagerGroup *g = userdata;
        const HdhaManagerEnv *env = &g->manager->env;
        uint64_t usec;

        if (r >= 0) {
                g->auto_failures = 0;
                /* One action at a time: see whether another is due. */
                manager_group_auto_check(g);
                return;
        }

        usec = g->auto_failures < 6 ? AUTO_RETRY_FIRST_USEC << g->auto_failures : AUTO_RETRY_MAX_USEC;
        usec = MIN(usec, (uint64_t) AUTO_RETRY_MAX_USEC);
        g->auto_failures++;
        log_warning("Group '%s': the automatic %s failed, trying again in %llu s.", g->name,
                    hdha_operation_to_string(g->auto_op), (unsigned long long) (usec / 1000000U));
        manager_group_auto_stop(g);
        r = env->timer_start(env->userdata, usec, on_auto_retry, g, &g->auto_retry_timer);
        if (r < 0) {
                g->auto_retry_timer = NULL;
                log_error_errno(r, "Group '%s': failed to start a timer, no automatic action until the next "
                                "event: %m", g->name);
        }
}

void manager_group_auto_stop(ManagerGroup *g) {
        const HdhaManagerEnv *env = &g->manager->env;

        if (g->auto_retry_timer)
                env->timer_stop(env->userdata, g->auto_retry_timer);
        g->auto_retry_timer = NULL;
}

void manager_group_auto_check(ManagerGroup *g) {
        const HdhaTableMember *holder;
        bool waiting;

        if (g->config->policy != HDHA_POLICY_AUTO || g->table->frozen || manager_group_is_busy(g) || !g->manager->connected)
                return;

        /* A failed holder does not wait for the pause of a failed rebuild. */
        waiting = g->auto_retry_timer;
        holder = g->table->active ? hdha_table_group_get_member(g->table, g->table->active) : NULL;
        if (holder && holder->role == HDHA_ROLE_FAILED) {
                if (waiting && g->auto_op == HDHA_OPERATION_FAILOVER)
                        return;
                g->auto_op = HDHA_OPERATION_FAILOVER;
                g->auto_starting = true;
                (void) hdha_manager_failover(g->manager, g->name, NULL, on_auto_done, g);
                g->auto_starting = false;
                return;
        }
        if (waiting)
                return;
        for (size_t i = 0; i < g->table->n_members; i++)
                if (g->table->members[i].role == HDHA_ROLE_FAILED) {
                        g->auto_op = HDHA_OPERATION_REBUILD;
                        g->auto_starting = true;
                        (void) hdha_manager_rebuild(g->manager, g->table->members[i].domain, on_auto_done, g);
                        g->auto_starting = false;
                        return;
                }
}

/* --- Operations ------------------------------------------------------------ */

/* Finds the group and checks that it can take an operation now. */
static int group_for_operation(HdhaManager *m, const char *name, bool force, ManagerGroup **ret) {
        ManagerGroup *g;

        if (!name || !hdha_group_name_is_valid(name))
                return -EINVAL;
        g = manager_get_group(m, name);
        if (!g)
                return -ENOENT;
        if (manager_group_is_busy(g))
                return -EBUSY;
        if (g->table->frozen && !force)
                return -EROFS;
        if (!m->connected)
                return -EHOSTDOWN;
        *ret = g;
        return 0;
}

/* The group of a domain, checked as above. */
static int domain_for_operation(HdhaManager *m, const char *domain, ManagerGroup **ret) {
        const HdhaGroupConfig *c;

        if (!domain || !hdha_domain_name_is_valid(domain))
                return -EINVAL;
        c = hdha_config_find_domain(m->config, domain);
        if (!c)
                return -ENXIO;
        return group_for_operation(m, c->name, false, ret);
}

static int group_member_check(HdhaManager *m, ManagerGroup *g, const char *domain) {
        if (!domain || !hdha_domain_name_is_valid(domain))
                return -EINVAL;
        if (hdha_table_group_get_member(g->table, domain))
                return 0;
        return hdha_config_find_domain(m->config, domain) ? -EXDEV : -ENXIO;
}

/* A switch on a pacemaker group asks Pacemaker; the agent's promote (and
 * every other policy) moves the device here. */
static int manager_switch(HdhaManager *m, const char *group, const char *domain, bool force, bool promote,
                          HdhaOpDoneFn done, void *userdata) {
        const HdhaTableMember *target;
        ManagerGroup *g;
        int r;

        r = group_for_operation(m, group, force, &g);
        if (r < 0)
                return r;
        r = group_member_check(m, g, domain);
        if (r < 0)
                return r;
        if (streq_ptr(g->table->active, domain))
                return -EALREADY;
        target = hdha_table_group_get_member(g->table, domain);
        if (target->role != HDHA_ROLE_STANDBY)
                return -ESRCH;
        if (g->config->policy == HDHA_POLICY_PACEMAKER && !promote) {
                if (g->pcmk_done)
                        return -EBUSY; /* Pacemaker is carrying out a switch */
                return manager_group_pcmk_switch(g, domain, done, userdata);
        }
        return manager_group_switch_here(g, domain, force, done, userdata);
}

int hdha_manager_switch(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                        void *userdata) {
        return manager_switch(m, group, domain, force, false, done, userdata);
}

int hdha_manager_promote(HdhaManager *m, const char *group, const char *domain, HdhaOpDoneFn done,
                         void *userdata) {
        return manager_switch(m, group, domain, false, true, done, userdata);
}

int manager_group_switch_here(ManagerGroup *g, const char *domain, bool force, HdhaOpDoneFn done, void *userdata) {
        const HdhaTableMember *holder;

        /* Away from a failed holder, a switch is a failover. */
        holder = g->table->active ? hdha_table_group_get_member(g->table, g->table->active) : NULL;
        if (holder && holder->role == HDHA_ROLE_FAILED)
                return manager_group_start_planned(g, HDHA_OPERATION_FAILOVER, g->table->active, domain, force, done, userdata);
        return manager_group_start_planned(g, HDHA_OPERATION_SWITCH, g->table->active, domain, force, done, userdata);
}

int hdha_manager_failover(HdhaManager *m, const char *group, const char *domain, HdhaOpDoneFn done,
                          void *userdata) {
        const char *target = domain;
        ManagerGroup *g;
        int r;

        r = group_for_operation(m, group, false, &g);
        if (r < 0)
                return r;
        if (!g->table->active)
                return -EALREADY;
        if (target) {
                r = group_member_check(m, g, target);
                if (r < 0)
                        return r;
                if (streq_ptr(target, g->table->active))
                        return -EALREADY;
        } else {
                target = manager_group_first_standby(g, g->table->active);
                if (!target)
                        log_error("Group '%s': no standby to fail over to; deactivating '%s' all the same.",
                                  g->name, g->table->active);
        }
        g->any_target = !domain;
        r = manager_group_start_planned(g, HDHA_OPERATION_FAILOVER, g->table->active, target, false, done, userdata);
        if (r < 0)
                g->any_target = false;
        return r;
}

int hdha_manager_release(HdhaManager *m, const char *group, HdhaOpDoneFn done, void *userdata) {
        ManagerGroup *g;
        int r;

        r = group_for_operation(m, group, false, &g);
        if (r < 0)
                return r;
        if (!g->table->active)
                return -EALREADY;
        return manager_group_start_planned(g, HDHA_OPERATION_RELEASE, g->table->active, NULL, false, done, userdata);
}

int hdha_manager_activate(HdhaManager *m, const char *domain, HdhaOpDoneFn done, void *userdata) {
        const HdhaTableMember *mem;
        ManagerGroup *g;
        int r;

        r = domain_for_operation(m, domain, &g);
        if (r < 0)
                return r;
        mem = hdha_table_group_get_member(g->table, domain);
        if (IN_SET(mem->role, HDHA_ROLE_ACTIVE, HDHA_ROLE_STANDBY))
                return -EALREADY;
        return manager_group_start_planned(g, HDHA_OPERATION_ACTIVATE, NULL, domain, false, done, userdata);
}

int hdha_manager_deactivate(HdhaManager *m, const char *domain, HdhaOpDoneFn done, void *userdata) {
        const HdhaTableMember *mem;
        ManagerGroup *g;
        int r;

        r = domain_for_operation(m, domain, &g);
        if (r < 0)
                return r;
        mem = hdha_table_group_get_member(g->table, domain);
        if (mem->role == HDHA_ROLE_DEACTIVATED)
                return -EALREADY;
        return manager_group_start_planned(g, HDHA_OPERATION_DEACTIVATE, domain, NULL, false, done, userdata);
}

int hdha_manager_rebuild(HdhaManager *m, const char *domain, HdhaOpDoneFn done, void *userdata) {
        ManagerGroup *g;
        int r;

        r = domain_for_operation(m, domain, &g);
        if (r < 0)
                return r;
        if (streq_ptr(g->table->active, domain))
                return -EBUSY; /* it holds the device: switch or release first */
        return manager_group_start_planned(g, HDHA_OPERATION_REBUILD, NULL, domain, false, done, userdata);
}

int hdha_manager_set_frozen(HdhaManager *m, const char *group, bool frozen) {
        ManagerGroup *g;
        int r;

        if (!group || !hdha_group_name_is_valid(group))
                return -EINVAL;
        g = manager_get_group(m, group);
        if (!g)
                return -ENOENT;
        if (g->table->frozen == frozen)
                return 0;
        /* Kept in the table: a restarted daemon finds the group as it was. */
        (void) hdha_table_group_set_frozen(g->table, frozen);
        r = manager_group_commit(g);
        if (r < 0) {
                (void) hdha_table_group_set_frozen(g->table, !frozen);
                log_error_errno(r, "Group '%s': cannot write the allocation table '%s', not %s: %m", g->name,
                                m->table_path, frozen ? "frozen" : "thawed");
                return HDHA_MANAGER_STATE_WRITE_FAILED;
        }
        log_info("Group '%s' %s.", g->name, frozen ? "frozen: no automatic action" : "thawed");
        if (!frozen)
                manager_group_auto_check(g);
        return 1;
}

/* Called when an operation ends (manager-steps.c). */
void manager_group_operation_ended(ManagerGroup *g) {
        manager_group_token_check(g);
        manager_group_auto_check(g);
        manager_reload_check(g->manager);
}

