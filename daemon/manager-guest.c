/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guests' own signals, as the state machine takes them: a guest that
 * failed, and a guest's release and takeover (docs/guest-channel.md). A
 * guest reaches its own group only: the group is the one its domain is a
 * member of. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "manager-internal.h"

static int member_group(HdhaManager *m, const char *domain, ManagerGroup **ret_group,
                        const HdhaTableMember **ret_member) {
        const HdhaGroupConfig *c;
        const HdhaTableMember *mem;
        ManagerGroup *g;

        if (!domain || !hdha_domain_name_is_valid(domain))
                return -EINVAL;
        c = hdha_config_find_domain(m->config, domain);
        g = c ? manager_get_group(m, c->name) : NULL;
        mem = g ? hdha_table_group_get_member(g->table, domain) : NULL;
        if (!mem)
                return -ENXIO;
        *ret_group = g;
        *ret_member = mem;
        return 0;
}

static bool group_involves(const ManagerGroup *g, const char *domain) {
        return manager_group_is_busy(g) &&
               (streq_ptr(domain, g->table->op_source) || streq_ptr(domain, g->table->op_target));
}

int hdha_manager_guest_failed(HdhaManager *m, const char *domain, const char *reason) {
        const HdhaTableMember *mem;
        ManagerGroup *g;
        int r;

        r = member_group(m, domain, &g, &mem);
        if (r < 0)
                return r;
        if (!IN_SET(mem->role, HDHA_ROLE_ACTIVE, HDHA_ROLE_STANDBY) || group_involves(g, domain)) {
                log_info("Group '%s': the guest of '%s' failed (%s), but the member is %s%s; nothing to do.",
                         g->name, domain, reason, hdha_role_to_string(mem->role),
                         group_involves(g, domain) ? " and an operation acts on it" : "");
                return 0;
        }
        log_warning("Group '%s': the guest of %s member '%s' failed: %s.", g->name, hdha_role_to_string(mem->role),
                    domain, reason);
        manager_group_mark_failed(g, domain, "guest-failed", reason);
        manager_group_auto_check(g);
        manager_group_flush(g);
        return 1;
}

static void on_guest_operation_done(void *userdata, int r, const char *message) {
        if (r < 0)
                log_warning_errno(r, "A guest's request did not complete: %s", message ?: "failed");
}

/* Why an operation that could not start is refused, in the guest's words. */
static HdhaGuestRefusal refusal_from_errno(int r) {
        switch (r) {
        case -EBUSY:
                return HDHA_GUEST_REFUSED_BUSY;
        case -EROFS:
                return HDHA_GUEST_REFUSED_FROZEN;
        case -ESRCH:
                return HDHA_GUEST_REFUSED_NOT_STANDBY;
        default:
                return HDHA_GUEST_REFUSED_FAILED;
        }
}

static int guest_release(HdhaManager *m, ManagerGroup *g, const char *domain, HdhaGuestRefusal *ret_refusal,
                         const char **ret_message) {
        const char *target;
        int r;

        if (!streq_ptr(g->table->active, domain)) {
                *ret_refusal = HDHA_GUEST_REFUSED_NOT_ACTIVE;
                *ret_message = "the member does not hold the device";
                return -EPERM;
        }
        target = manager_group_first_standby(g, domain);
        if (!target) {
                *ret_refusal = HDHA_GUEST_REFUSED_NO_STANDBY;
                *ret_message = "no standby to give the device to";
                return -EPERM;
        }
        r = hdha_manager_switch(m, g->name, target, false, on_guest_operation_done, NULL);
        if (r < 0) {
                *ret_refusal = refusal_from_errno(r);
                *ret_message = "the switch cannot start now";
                return -EPERM;
        }
        log_notice("Group '%s': the guest of '%s' released the device, it goes to '%s'%s.", g->name, domain, target,
                   g->config->policy == HDHA_POLICY_PACEMAKER ? " through Pacemaker" : "");
        *ret_message = g->config->policy == HDHA_POLICY_PACEMAKER ? "Pacemaker is asked to move the device" :
                                                                    "the device moves to the first standby";
        return 0;
}

static int guest_takeover(HdhaManager *m, ManagerGroup *g, const char *domain, HdhaGuestRefusal *ret_refusal,
                          const char **ret_message) {
        const HdhaTableMember *mem = hdha_table_group_get_member(g->table, domain);
        const char *holder = g->table->active;
        int r;

        if (mem->role != HDHA_ROLE_STANDBY) {
                *ret_refusal = HDHA_GUEST_REFUSED_NOT_STANDBY;
                *ret_message = "the member is not a running standby";
                return -EPERM;
        }
        if (manager_group_is_busy(g) || g->pcmk_done) {
                *ret_refusal = HDHA_GUEST_REFUSED_BUSY;
                *ret_message = "an operation is in flight";
                return -EPERM;
        }
        if (g->table->frozen) {
                *ret_refusal = HDHA_GUEST_REFUSED_FROZEN;
                *ret_message = "the group is frozen";
                return -EPERM;
        }
        if (!m->connected) {
                *ret_refusal = HDHA_GUEST_REFUSED_FAILED;
                *ret_message = "no connection to the hypervisor";
                return -EPERM;
        }

        if (g->config->policy == HDHA_POLICY_PACEMAKER || !holder) {
                /* Pacemaker moves it: the asker's score raised, the
                 * holder's failure reported. Without a holder, a switch. */
                r = hdha_manager_switch(m, g->name, domain, false, on_guest_operation_done, NULL);
                if (r < 0) {
                        *ret_refusal = refusal_from_errno(r);
                        *ret_message = "the switch cannot start now";
                        return -EPERM;
                }
                if (holder)
                        manager_group_mark_failed(g, holder, "guest-takeover", "a standby's guest took over");
        } else {
                /* The holder is failed first (the bus says so), then the
                 * failover goes to the asker, not to the first standby. */
                _cleanup_free_ char *h = strdup(holder);

                if (!h)
                        return log_oom();
                manager_group_mark_failed(g, h, "guest-takeover", "a standby's guest took over");
                r = hdha_manager_failover(m, g->name, domain, on_guest_operation_done, NULL);
                if (r < 0) {
                        /* The holder stays failed: policy auto fails it over later. */
                        log_warning_errno(r, "Group '%s': the failover to '%s' cannot start now: %m", g->name, domain);
                        manager_group_auto_check(g);
                }
        }
        log_notice("Group '%s': the guest of standby '%s' took over from '%s'.", g->name, domain, strna(holder));
        manager_group_flush(g);
        *ret_message = g->config->policy == HDHA_POLICY_PACEMAKER ? "Pacemaker is asked to move the device" :
                                                                    "the active member is failed over";
        return 0;
}

int hdha_manager_guest_request(HdhaManager *m, const char *domain, HdhaGuestVerb verb, HdhaGuestRefusal *ret_refusal,
                               const char **ret_message) {
        HdhaGuestRequests need = verb == HDHA_GUEST_TAKEOVER ? HDHA_GUEST_REQUESTS_TAKEOVER : HDHA_GUEST_REQUESTS_RELEASE;
        const HdhaTableMember *mem;
        ManagerGroup *g;
        int r;

        if (!IN_SET(verb, HDHA_GUEST_RELEASE, HDHA_GUEST_TAKEOVER))
                return -EINVAL;
        r = member_group(m, domain, &g, &mem);
        if (r < 0)
                return r;
        if (g->config->guest_requests < need) {
                *ret_refusal = HDHA_GUEST_REFUSED_NOT_ALLOWED;
                *ret_message = g->config->guest_requests == HDHA_GUEST_REQUESTS_NONE ?
                        "GuestRequests=none" : "GuestRequests=release does not allow takeover";
                return -EPERM;
        }
        if (verb == HDHA_GUEST_RELEASE)
                return guest_release(m, g, domain, ret_refusal, ret_message);
        return guest_takeover(m, g, domain, ret_refusal, ret_message);
}

int hdha_manager_member_role(const HdhaManager *m, const char *domain, HdhaRole *ret) {
        const HdhaTableMember *mem;
        ManagerGroup *g;
        int r;

        r = member_group((HdhaManager *) m, domain, &g, &mem);
        if (r < 0)
                return r;
        *ret = mem->role;
        return 0;
}
