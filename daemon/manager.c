/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager: groups, the operations' entry points, the hypervisor's
 * events; the table kept durable in manager-commit.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-xml.h"
#include "log.h"
#include "manager-internal.h"

/* --- Groups -------------------------------------------------------------- */

ManagerHvCall *manager_hv_call_new(ManagerGroup *g) {
        ManagerHvCall *call = calloc(1, sizeof(*call));

        if (!call)
                return NULL;
        *call = (ManagerHvCall) { .group = g, .step_id = g->step_id, .next = g->hv_calls };
        if (g->hv_calls)
                g->hv_calls->prev = call;
        g->hv_calls = call;
        return call;
}

ManagerGroup *manager_hv_call_free(ManagerHvCall *call) {
        ManagerGroup *g = call->group;

        if (call->prev)
                call->prev->next = call->next;
        else
                g->hv_calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        free(call);
        return g;
}

static ManagerGroup *group_free(ManagerGroup *g) {
        if (!g)
                return NULL;
        manager_group_commit_unqueue(g);
        while (g->hv_calls)
                manager_hv_call_free(g->hv_calls);
        manager_group_pcmk_free(g);
        manager_group_token_wait_drop(g);
        manager_group_timers_stop(g);
        manager_group_auto_stop(g);
        manager_group_plan_clear(g);
        free(g->name);
        free(g->vfio_nodedev);
        free(g->device_xml);
        free(g->alias);
        free(g->error_message);
        free(g->infos);
        free(g);
        return NULL;
}

ManagerGroup *manager_get_group(HdhaManager *m, const char *name) {
        for (size_t i = 0; i < m->n_groups; i++)
                if (!m->groups[i]->removed && strcmp(m->groups[i]->name, name) == 0)
                        return m->groups[i];
        return NULL;
}

bool manager_group_is_busy(const ManagerGroup *g) {
        return g->reconciling || g->token_wait || g->table->operation != HDHA_OPERATION_NONE;
}

/* Roles and holder change in memory; the write follows once per event
 * (manager_group_flush), and always before the next hypervisor job (step_enter). */
static void group_changed(ManagerGroup *g) {
        HdhaManager *m = g->manager;

        g->dirty = true;
        if (m->env.group_changed)
                m->env.group_changed(m->env.userdata, g->name);
}

void manager_group_set_role(ManagerGroup *g, const char *domain, HdhaRole role, const char *event) {
        HdhaTableMember *mem = hdha_table_group_get_member(g->table, domain);
        HdhaRole old;
        int r;

        if (!mem) {
                log_error("Group '%s': '%s' is not a member, its role stays unknown.", g->name, strna(domain));
                return;
        }
        old = mem->role;
        r = hdha_table_group_set_role(g->table, domain, role);
        if (r < 0) {
                log_error_errno(r, "Group '%s': failed to make '%s' %s: %m", g->name, domain,
                                hdha_role_to_string(role));
                return;
        }
        if (r == 0)
                return;
        hdha_log_transition(g->name, domain, hdha_role_to_string(old), event, hdha_role_to_string(role));
        group_changed(g);
}

/* Makes domain (or nobody) the holder, with the role to go with it. */
void manager_group_set_holder(ManagerGroup *g, const char *domain, const char *event) {
        HdhaManager *m = g->manager;
        _cleanup_free_ char *old = NULL;
        int r;

        if (streq_ptr(g->table->active, domain)) {
                if (domain)
                        manager_group_set_role(g, domain, HDHA_ROLE_ACTIVE, event);
                return;
        }

        if (g->table->active) {
                old = strdup(g->table->active);
                if (!old) {
                        log_oom();
                        return;
                }
        }
        if (domain)
                for (size_t i = 0; i < g->table->n_members; i++)
                        if (g->table->members[i].role == HDHA_ROLE_ACTIVE &&
                            strcmp(g->table->members[i].domain, domain) != 0)
                                manager_group_set_role(g, g->table->members[i].domain, HDHA_ROLE_STANDBY, event);

        r = hdha_table_group_set_active(g->table, domain);
        if (r >= 0 && domain)
                r = hdha_table_group_set_role(g->table, domain, HDHA_ROLE_ACTIVE);
        if (r < 0) {
                log_error_errno(r, "Group '%s': failed to give the device to %s%s%s: %m", g->name, domain ? "'" : "",
                                domain ?: "no domain", domain ? "'" : "");
                return;
        }
        log_info("Group '%s': device %s%s%s -> %s%s%s (generation %llu, %s).", g->name, old ? "'" : "",
                 old ?: "unallocated", old ? "'" : "", domain ? "'" : "", domain ?: "unallocated",
                 domain ? "'" : "", (unsigned long long) g->table->generation, event);
        group_changed(g);
        if (m->env.connection_changed)
                m->env.connection_changed(m->env.userdata, g->name, old, domain, g->table->generation);
        manager_group_pcmk_holder_changed(g, old);
}

/* The first standby in the configured order, other than except. */
const char *manager_group_first_standby(const ManagerGroup *g, const char *except) {
        for (size_t i = 0; i < g->config->n_domains; i++) {
                const char *d = g->config->domains[i];
                const HdhaTableMember *mem = hdha_table_group_get_member(g->table, d);

                if (mem && mem->role == HDHA_ROLE_STANDBY && !streq_ptr(d, except))
                        return d;
        }
        return NULL;
}

static void on_release_timeout(void *userdata) {
        ManagerGroup *g = userdata;

        g->release_timer = NULL;
        manager_group_step_event(g, EV_RELEASE_TIMEOUT, 0, NULL);
        manager_group_flush(g);
}

static void on_retry(void *userdata) {
        ManagerGroup *g = userdata;

        g->retry_timer = NULL;
        manager_group_step_event(g, EV_RETRY, 0, NULL);
        manager_group_flush(g);
}

void manager_group_timer_start(ManagerGroup *g, void **slot, uint64_t usec) {
        const HdhaManagerEnv *env = &g->manager->env;
        int r;

        if (*slot) {
                env->timer_stop(env->userdata, *slot);
                *slot = NULL;
        }
        r = env->timer_start(env->userdata, usec, slot == &g->release_timer ? on_release_timeout : on_retry, g,
                             slot);
        if (r < 0)
                log_error_errno(r, "Group '%s': failed to start a timer: %m", g->name);
}

void manager_group_timers_stop(ManagerGroup *g) {
        const HdhaManagerEnv *env = &g->manager->env;

        if (g->release_timer)
                env->timer_stop(env->userdata, g->release_timer);
        if (g->retry_timer)
                env->timer_stop(env->userdata, g->retry_timer);
        g->release_timer = g->retry_timer = NULL;
}

static bool group_config_has_domain(const HdhaGroupConfig *c, const char *domain) {
        for (size_t i = 0; i < c->n_domains; i++)
                if (strcmp(c->domains[i], domain) == 0)
                        return true;
        return false;
}

/* Points the group at its (new) configuration, and the table's group at
 * the configured members. */
static int group_configure(ManagerGroup *g, const HdhaGroupConfig *c) {
        _cleanup_free_ char *xml = NULL, *alias = NULL;
        HdhaTableGroup *t;
        int r;

        r = hdha_device_xml_build(c, &xml);
        if (r < 0)
                return r;
        r = hdha_device_alias(c->name, &alias);
        if (r < 0)
                return r;

        t = hdha_table_get_group(g->manager->table, c->name);
        if (!t) {
                r = hdha_table_add_group(g->manager->table, c->name, &t);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_domains; i++)
                if (!hdha_table_group_get_member(t, c->domains[i])) {
                        /* Unknown until reconciled with libvirt. */
                        r = hdha_table_group_add_member(t, c->domains[i], HDHA_ROLE_DEACTIVATED);
                        if (r < 0)
                                return r;
                }
        for (size_t i = t->n_members; i > 0; i--)
                if (!group_config_has_domain(c, t->members[i - 1].domain)) {
                        if (streq_ptr(t->active, t->members[i - 1].domain)) {
                                r = hdha_table_group_set_active(t, NULL);
                                if (r < 0)
                                        return r;
                        }
                        (void) hdha_table_group_remove_member(t, t->members[i - 1].domain);
                }

        g->config = c;
        g->table = t;
        free(g->device_xml);
        free(g->alias);
        g->device_xml = TAKE_PTR(xml);
        g->alias = TAKE_PTR(alias);
        free(g->infos);
        g->infos = calloc(c->n_domains, sizeof(*g->infos));
        return g->infos ? 0 : -ENOMEM;
}

static int manager_add_group(HdhaManager *m, const HdhaGroupConfig *c) {
        ManagerGroup *g, **a;
        int r;

        a = realloc(m->groups, (m->n_groups + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        m->groups = a;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->manager = m;
        g->name = strdup(c->name);
        if (!g->name) {
                free(g);
                return -ENOMEM;
        }
        r = group_configure(g, c);
        if (r < 0) {
                group_free(g);
                return r;
        }
        m->groups[m->n_groups++] = g;
        return 0;
}

/* --- The manager --------------------------------------------------------- */

static void on_hv_event(void *userdata, const HdhaHvEvent *ev);

int hdha_manager_new(HdhaHypervisor *hv, const HdhaManagerEnv *env, HdhaConfig *config,
                     const char *table_path, unsigned flags, HdhaManager **ret, char **reterr_message) {
        _cleanup_(hdha_table_freep) HdhaTable *loaded = NULL;
        bool one_file = false;
        HdhaManager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->hv = hv;
        m->env = *env;
        m->table_path = strdup(table_path);
        if (!m->table_path) {
                free(m);
                return -ENOMEM;
        }

        if (flags & HDHA_MANAGER_REBUILD_TABLE) {
                log_warning("Rebuilding the allocation table '%s' from libvirt's live state.", table_path);
                r = hdha_table_new(&m->table);
        } else {
                r = hdha_table_load(table_path, &m->table, reterr_message);
                if (r == HDHA_TABLE_MISSING)
                        log_info("No allocation table at '%s' yet: nothing is allocated.", table_path);
                one_file = r == HDHA_TABLE_ONE_FILE_FOUND;
        }
        if (r >= 0)
                r = hdha_table_dup(m->table, &loaded);
        if (r < 0) {
                m->config = NULL;
                hdha_manager_free(m);
                return r;
        }

        m->config = config;
        for (size_t i = 0; i < config->n_groups; i++) {
                r = manager_add_group(m, &config->groups[i]);
                if (r < 0) {
                        m->config = NULL; /* the caller keeps it on failure */
                        hdha_manager_free(m);
                        return r;
                }
        }
        /* Groups no longer configured leave the table. */
        for (size_t i = m->table->n_groups; i > 0; i--)
                if (!hdha_config_find_group(config, m->table->groups[i - 1]->name))
                        (void) hdha_table_remove_group(m->table, m->table->groups[i - 1]->name);

        /* Never part of the table: the temporary files of a save cut short. */
        r = hdha_table_remove_temporaries(table_path);
        if (r > 0)
                log_notice("Removed %d temporary file(s) a write cut short left in '%s'.", r, table_path);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the temporary files in '%s', ignoring: %m", table_path);

        /* As loaded: the journal keeps it, once a torn last record (an
         * append cut short) is cut off, which a load ignores and an append
         * would bury. Otherwise the folder follows: new groups get a file,
         * gone ones lose theirs, the journal is compacted, and the single
         * file of an older format goes once every group has its own. That
         * upgrade must succeed: the old file would otherwise stay the
         * table and hide every later write. */
        if (!one_file && !(flags & HDHA_MANAGER_REBUILD_TABLE) && hdha_table_equal(loaded, m->table)) {
                r = hdha_table_journal_trim(table_path);
                if (r > 0)
                        log_notice("Cut a write cut short off the allocation table's journal in '%s'.",
                                   table_path);
                if (r < 0) {
                        log_warning_errno(r, "Failed to check the allocation table's journal in '%s', "
                                          "compacting it with the next change: %m", table_path);
                        m->compact_needed = true;
                }
        } else {
                r = hdha_table_save(m->table, table_path);
                if (r < 0 && (one_file || (flags & HDHA_MANAGER_REBUILD_TABLE))) {
                        if (reterr_message && asprintf(reterr_message, "%s: cannot write one file per group, the "
                                                       "older single file stays the table: %s", table_path,
                                                       strerror(-r)) < 0)
                                *reterr_message = NULL;
                        m->config = NULL;
                        hdha_manager_free(m);
                        return r;
                }
                if (r < 0) {
                        log_warning_errno(r, "Failed to bring the allocation table '%s' in line with the "
                                          "configuration, it follows with the next change: %m", table_path);
                        m->compact_needed = true;
                } else if (one_file)
                        log_notice("Upgraded the allocation table to one file per group in '%s'.", table_path);
        }

        hdha_hypervisor_set_event_handler(hv, on_hv_event, m);
        *ret = m;
        return 0;
}

HdhaManager *hdha_manager_free(HdhaManager *m) {
        if (!m)
                return NULL;
        if (m->reconcile_retry_timer)
                m->env.timer_stop(m->env.userdata, m->reconcile_retry_timer);
        if (m->pending_timer)
                m->env.timer_stop(m->env.userdata, m->pending_timer);
        /* Writes still queued are dropped, as a crash would: the next
         * start reconciles the table with libvirt. */
        if (m->commit_source)
                m->env.timer_stop(m->env.userdata, m->commit_source);
        hdha_config_free(m->pending_config);
        for (size_t i = 0; i < m->n_groups; i++)
                group_free(m->groups[i]);
        free(m->groups);
        hdha_table_free(m->table);
        hdha_config_free(m->config);
        free(m->table_path);
        free(m);
        return NULL;
}

const HdhaConfig *hdha_manager_config(const HdhaManager *m) {
        return m->config;
}

const HdhaTable *hdha_manager_table(const HdhaManager *m) {
        return m->table;
}

bool hdha_manager_is_connected(const HdhaManager *m) {
        return m->connected;
}

static bool manager_is_busy(const HdhaManager *m) {
        for (size_t i = 0; i < m->n_groups; i++)
                if (!m->groups[i]->removed && manager_group_is_busy(m->groups[i]))
                        return true;
        return false;
}

static void manager_apply_config(HdhaManager *m, HdhaConfig *config) {
        HdhaConfig *old = m->config;
        int r;

        m->config = config;
        for (size_t i = 0; i < m->n_groups; i++) {
                ManagerGroup *g = m->groups[i];
                const HdhaGroupConfig *c = hdha_config_find_group(config, g->name);

                if (!c) {
                        if (g->removed)
                                continue; /* dropped by an earlier reload, still busy */
                        log_info("Group '%s' is no longer configured, dropping it.", g->name);
                        (void) hdha_table_remove_group(m->table, g->name);
                        g->removed = true;
                        m->n_removed++;
                        g->table = NULL;
                        continue;
                }
                r = group_configure(g, c);
                if (r < 0)
                        log_error_errno(r, "Group '%s': failed to apply the new configuration: %m", g->name);
        }
        for (size_t i = 0; i < config->n_groups; i++)
                if (!manager_get_group(m, config->groups[i].name)) {
                        log_info("Group '%s' is new.", config->groups[i].name);
                        r = manager_add_group(m, &config->groups[i]);
                        if (r < 0)
                                log_error_errno(r, "Group '%s': failed to add it: %m", config->groups[i].name);
                }
        /* Dropped groups go once nothing of theirs is in flight. */
        for (size_t i = m->n_groups; i > 0; i--) {
                ManagerGroup *g = m->groups[i - 1];

                if (g->removed && g->n_side_calls == 0 && !g->hv_calls) {
                        m->n_removed--;
                        group_free(g);
                        memmove(m->groups + i - 1, m->groups + i, (m->n_groups - i) * sizeof(*m->groups));
                        m->n_groups--;
                }
        }
        hdha_config_free(old);
        r = hdha_table_save(m->table, m->table_path);
        if (r < 0) {
                log_error_errno(r, "Failed to write the allocation table '%s', it is written with the next "
                                "change: %m", m->table_path);
                m->compact_needed = true;
        }
        /* New members' roles, new groups' holders: ask libvirt. */
        if (m->connected)
                manager_reconcile(m);
}

/* Drops the configuration waiting, telling who waits for it. */
static void pending_drop(HdhaManager *m, int r, const char *message) {
        HdhaOpDoneFn done = m->pending_done;
        void *userdata = m->pending_userdata;

        if (m->pending_timer)
                m->env.timer_stop(m->env.userdata, m->pending_timer);
        m->pending_timer = NULL;
        m->pending_config = hdha_config_free(m->pending_config);
        m->pending_done = NULL;
        m->pending_userdata = NULL;
        if (done)
                done(userdata, r, message);
}

static void on_pending_timer(void *userdata) {
        HdhaManager *m = userdata;
        HdhaOpDoneFn done = m->pending_done;
        void *done_userdata = m->pending_userdata;

        m->pending_timer = NULL;
        if (!m->pending_config || manager_is_busy(m))
                return; /* an operation started meanwhile: its end looks again */
        log_info("Every group is idle: applying the configuration that waited.");
        m->pending_done = NULL;
        m->pending_userdata = NULL;
        manager_apply_config(m, TAKE_PTR(m->pending_config));
        if (done)
                done(done_userdata, 0, NULL);
}

void manager_reload_check(HdhaManager *m) {
        int r;

        if (!m->pending_config || m->pending_timer || manager_is_busy(m))
                return;
        r = m->env.timer_start(m->env.userdata, 0, on_pending_timer, m, &m->pending_timer);
        if (r < 0) {
                log_error_errno(r, "Failed to start a timer for the configuration that waits: %m");
                pending_drop(m, r, "cannot schedule the reload");
        }
}

int hdha_manager_reload(HdhaManager *m, HdhaConfig *config, HdhaOpDoneFn done, void *userdata) {
        if (m->pending_config) {
                log_info("A newer reload replaces the configuration that waited.");
                pending_drop(m, -ECANCELED, "replaced by a newer reload");
        }
        if (!manager_is_busy(m)) {
                manager_apply_config(m, config);
                return 0;
        }
        /* Busy groups finish with the settings they started with; the new
         * ones come when the last of them is idle. */
        log_info("A group is busy: the new configuration waits until every group is idle.");
        m->pending_config = config;
        m->pending_done = done;
        m->pending_userdata = userdata;
        return 1;
}

/* --- Events ---------------------------------------------------------------- */

static bool is_failure(HdhaHvEventKind k) {
        return IN_SET(k, HDHA_HV_EVENT_STOPPED, HDHA_HV_EVENT_CRASHED, HDHA_HV_EVENT_IO_ERROR,
                      HDHA_HV_EVENT_WATCHDOG, HDHA_HV_EVENT_PANIC);
}

void manager_group_mark_failed(ManagerGroup *g, const char *domain, const char *event, const char *reason) {
        HdhaManager *m = g->manager;

        manager_group_set_role(g, domain, HDHA_ROLE_FAILED, event);
        if (m->env.member_failed)
                m->env.member_failed(m->env.userdata, g->name, domain, reason);
        if (g->config->policy == HDHA_POLICY_PACEMAKER)
                manager_group_pcmk_member_failed(g, domain, reason);
}

/* An event for a domain the operation in flight is not acting on. */
static void group_member_event(ManagerGroup *g, const HdhaHvEvent *ev) {
        const HdhaTableMember *mem = hdha_table_group_get_member(g->table, ev->domain);
        const char *evname = hdha_hv_event_to_string(ev->kind);
        bool involved = streq_ptr(ev->domain, g->table->op_source) || streq_ptr(ev->domain, g->table->op_target);

        if (!mem)
                return;

        if (is_failure(ev->kind) && IN_SET(mem->role, HDHA_ROLE_ACTIVE, HDHA_ROLE_STANDBY)) {
                manager_group_mark_failed(g, ev->domain, evname, ev->reason ?: evname);
                if (!involved)
                        manager_group_auto_check(g);
                return;
        }

        if (ev->kind == HDHA_HV_EVENT_STARTED && !involved &&
            IN_SET(mem->role, HDHA_ROLE_DEACTIVATED, HDHA_ROLE_FAILED) && !manager_group_is_busy(g)) {
                /* Started from outside: a standby, throttled like one. */
                log_notice("Group '%s': '%s' was started outside hostdev-ha, treating it as a standby.", g->name,
                           ev->domain);
                manager_group_set_role(g, ev->domain, HDHA_ROLE_STANDBY, evname);
                manager_group_reconcile(g);
                return;
        }

        if (ev->kind == HDHA_HV_EVENT_DEVICE_REMOVED && streq_ptr(ev->alias, g->alias) &&
            streq_ptr(ev->domain, g->table->active) && !manager_group_is_busy(g)) {
                log_warning("Group '%s': the device was removed from '%s' outside hostdev-ha; "
                            "the table follows libvirt.", g->name, ev->domain);
                manager_group_set_holder(g, NULL, evname);
                manager_group_set_role(g, ev->domain, HDHA_ROLE_STANDBY, evname);
        }
}

static void group_domain_event(ManagerGroup *g, const HdhaHvEvent *ev) {
        const char *step_domain = g->i_plan < g->n_plan ? g->plan[g->i_plan].domain : NULL;

        if (g->reconciling)
                return; /* what it inspects is what counts */

        if (step_domain && streq_ptr(ev->domain, step_domain)) {
                switch (ev->kind) {
                case HDHA_HV_EVENT_STOPPED:
                        return manager_group_step_event(g, EV_STOPPED, 0, ev->reason);
                case HDHA_HV_EVENT_DEVICE_REMOVED:
                        if (streq_ptr(ev->alias, g->alias))
                                manager_group_step_event(g, EV_REMOVED, 0, NULL);
                        return;
                case HDHA_HV_EVENT_DEVICE_REMOVAL_FAILED:
                        if (streq_ptr(ev->alias, g->alias))
                                manager_group_step_event(g, EV_REMOVAL_FAILED, 0, NULL);
                        return;
                case HDHA_HV_EVENT_STARTED:
                        return;
                default:
                        break;
                }
        }
        group_member_event(g, ev);
}

static void on_hv_event(void *userdata, const HdhaHvEvent *ev) {
        HdhaManager *m = userdata;
        const HdhaGroupConfig *c;
        ManagerGroup *g;

        switch (ev->kind) {
        case HDHA_HV_EVENT_CONNECTED:
                log_info("Connected to the hypervisor, reconciling every group.");
                m->connected = true;
                if (m->env.connected_changed)
                        m->env.connected_changed(m->env.userdata, true);
                return manager_reconcile(m);
        case HDHA_HV_EVENT_DISCONNECTED:
                log_warning("Lost the connection to the hypervisor; operations wait for the reconnect.");
                m->connected = false;
                if (m->env.connected_changed)
                        m->env.connected_changed(m->env.userdata, false);
                return;
        default:
                break;
        }

        if (!ev->domain || !(c = hdha_config_find_domain(m->config, ev->domain)))
                return;
        g = manager_get_group(m, c->name);
        if (!g)
                return;
        if (ev->kind == HDHA_HV_EVENT_STARTED && m->env.member_started)
                m->env.member_started(m->env.userdata, ev->domain);
        log_debug("Group '%s': event %s on '%s'%s%s.", g->name, hdha_hv_event_to_string(ev->kind), ev->domain,
                  ev->reason ? ": " : "", ev->reason ?: "");
        group_domain_event(g, ev);
        manager_group_flush(g);
}

/* --- Read access ------------------------------------------------------------ */

size_t hdha_manager_n_groups(const HdhaManager *m) {
        return m->n_groups - m->n_removed;
}

static void group_status(const ManagerGroup *g, HdhaGroupStatus *ret) {
        *ret = (HdhaGroupStatus) {
                .name = g->name,
                .config = g->config,
                .table = g->table,
                .frozen = g->table->frozen,
                .busy = manager_group_is_busy(g),
        };
}

int hdha_manager_group_status(const HdhaManager *m, size_t i, HdhaGroupStatus *ret) {
        /* Without removed groups the i-th is at i: a caller that walks them
         * all (the status line, on every change) is not quadratic. */
        if (m->n_removed == 0) {
                if (i >= m->n_groups)
                        return -ENOENT;
                group_status(m->groups[i], ret);
                return 0;
        }
        for (size_t k = 0; k < m->n_groups; k++) {
                if (m->groups[k]->removed)
                        continue;
                if (i-- == 0) {
                        group_status(m->groups[k], ret);
                        return 0;
                }
        }
        return -ENOENT;
}

int hdha_manager_find_group(const HdhaManager *m, const char *name, HdhaGroupStatus *ret) {
        ManagerGroup *g;

        if (!name)
                return -EINVAL;
        g = manager_get_group((HdhaManager *) m, name);
        if (!g)
                return -ENOENT;
        group_status(g, ret);
        return 0;
}
