/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policy pacemaker: the group is a promotable clone of ocf:hostdev-ha:hostdev
 * and Pacemaker decides where the device goes. This file keeps which
 * resource instance stands for which member (told by the agent on every
 * action), the promotion score of each member, the failure reports, and the
 * switches a user asks for, which Pacemaker carries out. No Pacemaker
 * client here: the manager's environment runs crm_attribute and
 * crm_resource. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"

/* The member of domain if an instance is known for it. */
static const HdhaTableMember *pcmk_find(const ManagerGroup *g, const char *domain) {
        const HdhaTableMember *mem = hdha_table_group_get_member(g->table, domain);

        return mem && mem->resource ? mem : NULL;
}

/* The score last sent for domain's instance; NULL if out of memory. */
static ManagerPcmkScore *pcmk_score_slot(ManagerGroup *g, const char *domain) {
        ManagerPcmkScore *a;
        char *d;

        for (size_t i = 0; i < g->n_pcmk_scores; i++)
                if (strcmp(g->pcmk_scores[i].domain, domain) == 0)
                        return &g->pcmk_scores[i];
        d = strdup(domain);
        if (!d)
                return NULL;
        a = realloc(g->pcmk_scores, (g->n_pcmk_scores + 1) * sizeof(*a));
        if (!a) {
                free(d);
                return NULL;
        }
        g->pcmk_scores = a;
        a[g->n_pcmk_scores] = (ManagerPcmkScore) { .domain = d };
        return &a[g->n_pcmk_scores++];
}

/* Records (or updates) the instance of domain in the table, and writes it
 * there at once: a failure right after a restart is reported with it. */
static int pcmk_record(ManagerGroup *g, const char *domain, const char *resource, const char *node) {
        ManagerPcmkScore *slot;
        int r;

        r = hdha_table_group_set_instance(g->table, domain, resource, node);
        if (r <= 0)
                return r;
        slot = pcmk_score_slot(g, domain);
        if (slot)
                slot->sent = false; /* a new instance has no score yet */
        log_info("Group '%s': '%s' is Pacemaker's resource instance '%s' on node '%s'.", g->name, domain, resource,
                 node);
        r = manager_group_commit(g);
        if (r < 0) {
                g->dirty = true; /* written with the next change */
                log_warning_errno(r, "Group '%s': failed to write the allocation table '%s', keeping the instance "
                                  "of '%s' in memory only: %m", g->name, g->manager->table_path, domain);
        }
        return 1;
}

/* The promotion score of a member: the holder highest (unless a switch away
 * from it is asked for), the target of such a switch next, the other
 * standbys lower (the first in order highest among them) and the one that
 * released the device lowest while nobody holds it (Pacemaker demoted it:
 * its demote must not make it the best candidate again before the promote
 * of another starts),
 * anything else never promoted. */
static int pcmk_score(const ManagerGroup *g, const char *domain) {
        const HdhaTableMember *mem = hdha_table_group_get_member(g->table, domain);
        size_t index = 0;

        if (!mem)
                return HDHA_PCMK_SCORE_NEVER;
        if (mem->role == HDHA_ROLE_ACTIVE && g->table->active && strcmp(g->table->active, domain) == 0)
                return g->pcmk_target ? HDHA_PCMK_SCORE_NEVER : HDHA_PCMK_SCORE_HOLDER;
        if (mem->role != HDHA_ROLE_STANDBY)
                return HDHA_PCMK_SCORE_NEVER;
        if (g->pcmk_target && strcmp(g->pcmk_target, domain) == 0)
                return HDHA_PCMK_SCORE_TARGET;
        /* In a switch Pacemaker carries out the one that let go keeps its
         * -INFINITY until the target holds the device: the target's score is
         * above it anyway, and a write here would land while the target's
         * promote starts (a process, and the transition aborted). */
        if (g->pcmk_last_holder && strcmp(g->pcmk_last_holder, domain) == 0)
                return g->pcmk_target ? HDHA_PCMK_SCORE_NEVER : HDHA_PCMK_SCORE_LAST_HOLDER;
        for (size_t i = 0; i < g->config->n_domains; i++)
                if (strcmp(g->config->domains[i], domain) == 0)
                        index = i;
        return HDHA_PCMK_SCORE_STANDBY + (int) MIN(g->config->n_domains - 1 - index, 30U);
}

/* Sends the member's score to Pacemaker if it is not the one last sent for
 * its instance: every process the daemon starts costs, and Pacemaker
 * computes a new transition for every attribute written. */
static void pcmk_set_score(ManagerGroup *g, const char *domain) {
        const HdhaManagerEnv *env = &g->manager->env;
        const HdhaTableMember *p = pcmk_find(g, domain);
        ManagerPcmkScore *slot;
        int score;

        if (!p || !env->pacemaker_set_score)
                return;
        score = pcmk_score(g, domain);
        slot = pcmk_score_slot(g, domain);
        if (slot && slot->sent && slot->score == score)
                return;
        if (slot) {
                slot->score = score;
                slot->sent = true;
        }
        env->pacemaker_set_score(env->userdata, p->resource, p->node, score);
}

int hdha_manager_pacemaker_instance(HdhaManager *m, const char *group, unsigned instance, const char *resource,
                                    const char *node, HdhaPcmkMember *ret) {
        const HdhaTableMember *mem;
        const char *domain;
        ManagerGroup *g;
        int r;

        /* Names as the table keeps them: 1..255 bytes, no control character
         * or '/'. */
        if (!group || !hdha_group_name_is_valid(group) || !hdha_table_name_is_valid(resource) ||
            !hdha_table_name_is_valid(node))
                return -EINVAL;
        g = manager_get_group(m, group);
        if (!g)
                return -ENOENT;
        if (instance >= g->config->n_domains)
                return -ERANGE;
        domain = g->config->domains[instance];
        mem = hdha_table_group_get_member(g->table, domain);
        if (!mem)
                return -ENXIO;
        r = pcmk_record(g, domain, resource, node);
        if (r < 0)
                return r;
        /* The agent writes no score: what changed since the last one sent
         * goes to Pacemaker from here, off the agent's path. */
        pcmk_set_score(g, domain);
        *ret = (HdhaPcmkMember) {
                .domain = domain,
                .role = mem->role,
                .holder = g->table->active && strcmp(g->table->active, domain) == 0,
                .score = pcmk_score(g, domain),
        };
        return 0;
}

void hdha_manager_pacemaker_score_lost(HdhaManager *m, const char *resource, const char *node) {
        for (size_t i = 0; i < m->n_groups; i++) {
                ManagerGroup *g = m->groups[i];

                if (g->removed)
                        continue;
                for (size_t j = 0; j < g->table->n_members; j++) {
                        const HdhaTableMember *mem = &g->table->members[j];
                        ManagerPcmkScore *slot;

                        if (streq_ptr(mem->resource, resource) && streq_ptr(mem->node, node) &&
                            (slot = pcmk_score_slot(g, mem->domain)))
                                slot->sent = false;
                }
        }
}

/* --- Failures ---------------------------------------------------------------- */

void manager_group_pcmk_member_failed(ManagerGroup *g, const char *domain, const char *reason) {
        const HdhaManagerEnv *env = &g->manager->env;
        const HdhaTableMember *p = pcmk_find(g, domain);

        if (!p) {
                log_warning("Group '%s': '%s' failed, but no Pacemaker resource instance is known for it yet; "
                            "its next monitor reports it.", g->name, domain);
                return;
        }
        log_notice("Group '%s': '%s' failed (%s), reporting it to Pacemaker as '%s' on '%s'.", g->name, domain,
                   reason, p->resource, p->node);
        /* The failure first: it is what makes Pacemaker act, and the commands
         * run one at a time, so a score write queued before it held it up by
         * one whole process (crm_attribute, 0.1-0.3 s on a slow machine).
         * Then the score, never promoted again before it is rebuilt: the
         * transition the failure starts recovers the failed instance with a
         * demote and a stop first, and the score change aborts that
         * transition long before its start and promote (with the documented
         * migration-threshold=1 the failed instance cannot even run here). */
        if (env->pacemaker_report_failure)
                env->pacemaker_report_failure(env->userdata, p->resource, p->node, reason);
        pcmk_set_score(g, domain);
}

/* --- Switches carried out by Pacemaker ------------------------------------------- */

/* Every known instance gets the score of its member now. */
static void pcmk_push_scores(ManagerGroup *g) {
        for (size_t i = 0; i < g->table->n_members; i++)
                pcmk_set_score(g, g->table->members[i].domain);
}

void manager_group_pcmk_reconciled(ManagerGroup *g) {
        if (g->config->policy == HDHA_POLICY_PACEMAKER)
                pcmk_push_scores(g);
}

static void pcmk_switch_end(ManagerGroup *g, int r, const char *message) {
        const HdhaManagerEnv *env = &g->manager->env;
        HdhaOpDoneFn done = g->pcmk_done;
        void *userdata = g->pcmk_done_userdata;

        if (g->pcmk_timer)
                env->timer_stop(env->userdata, g->pcmk_timer);
        g->pcmk_timer = NULL;
        g->pcmk_done = NULL;
        g->pcmk_done_userdata = NULL;
        if (r < 0)
                log_error("Group '%s': the switch to '%s' through Pacemaker failed: %s", g->name, g->pcmk_target,
                          message);
        else
                log_info("Group '%s': Pacemaker promoted '%s', the switch is done.", g->name, g->pcmk_target);
        g->pcmk_target = mfree(g->pcmk_target);
        pcmk_push_scores(g);
        if (env->group_changed)
                env->group_changed(env->userdata, g->name);
        if (done)
                done(userdata, r, message);
}

static void on_pcmk_timeout(void *userdata) {
        ManagerGroup *g = userdata;

        g->pcmk_timer = NULL;
        pcmk_switch_end(g, -ETIMEDOUT, "Pacemaker did not promote the target in time; the scores are restored");
}

int manager_group_pcmk_switch(ManagerGroup *g, const char *domain, HdhaOpDoneFn done, void *userdata) {
        const HdhaManagerEnv *env = &g->manager->env;
        const char *holder = g->table->active;
        int r;

        if (!pcmk_find(g, domain) || (holder && !pcmk_find(g, holder)))
                return -ENOTCONN;
        g->pcmk_target = strdup(domain);
        if (!g->pcmk_target)
                return -ENOMEM;
        r = env->timer_start(env->userdata, HDHA_PCMK_SWITCH_TIMEOUT_USEC, on_pcmk_timeout, g, &g->pcmk_timer);
        if (r < 0) {
                g->pcmk_target = mfree(g->pcmk_target);
                return r;
        }
        g->pcmk_done = done;
        g->pcmk_done_userdata = userdata;
        log_info("Group '%s': switch to '%s' asked for; Pacemaker carries it out (promotion scores: '%s' "
                 "-INFINITY, '%s' %d).", g->name, domain, strna(holder), domain, HDHA_PCMK_SCORE_TARGET);
        /* The target first: the holder's -INFINITY must find it preferred. */
        pcmk_set_score(g, domain);
        if (holder)
                pcmk_set_score(g, holder);
        return 0;
}

/* The device moved: the scores follow at once, not at the next monitors
 * (a stale score would let Pacemaker pick the wrong standby next). */
void manager_group_pcmk_holder_changed(ManagerGroup *g, const char *old_holder) {
        if (g->config->policy != HDHA_POLICY_PACEMAKER)
                return;
        /* Released, with no new holder yet: the one that let go is the
         * least preferred standby until another holds the device. */
        if (g->table->active || !old_holder)
                g->pcmk_last_holder = mfree(g->pcmk_last_holder);
        else {
                char *d = strdup(old_holder);

                if (d) {
                        free(g->pcmk_last_holder);
                        g->pcmk_last_holder = d;
                }
        }
        if (g->pcmk_target && g->table->active && strcmp(g->table->active, g->pcmk_target) == 0)
                return pcmk_switch_end(g, 0, NULL);
        pcmk_push_scores(g);
}

/* Whoever waits for a switch is not told: the group goes with the manager,
 * after the bus answered its calls. */
void manager_group_pcmk_free(ManagerGroup *g) {
        const HdhaManagerEnv *env = &g->manager->env;

        if (g->pcmk_timer)
                env->timer_stop(env->userdata, g->pcmk_timer);
        g->pcmk_timer = NULL;
        g->pcmk_done = NULL;
        for (size_t i = 0; i < g->n_pcmk_scores; i++)
                free(g->pcmk_scores[i].domain);
        g->pcmk_scores = mfree(g->pcmk_scores);
        g->n_pcmk_scores = 0;
        g->pcmk_target = mfree(g->pcmk_target);
        g->pcmk_last_holder = mfree(g->pcmk_last_holder);
}
