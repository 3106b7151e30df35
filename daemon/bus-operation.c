/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The changing calls: names checked, the caller authorized (uid 0 or
 * AdminGroup=), the operation started, and the reply sent when it finished;
 * the named errors with their messages. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "log.h"

/* A method call that replies when its operation finished. */
struct BusCall {
        HdhaBus *bus;
        sd_bus_message *message;
        char *what; /* "switch of group 'nic0' to 'vm-b'" */
        bool replied; /* at shutdown, before the operation ended */
        BusCall *prev, *next;
};

static BusCall *bus_call_free(BusCall *c) {
        if (!c)
                return NULL;
        if (c->prev)
                c->prev->next = c->next;
        else if (c->bus && c->bus->calls == c)
                c->bus->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sd_bus_message_unref(c->message);
        free(c->what);
        return mfree(c);
}

static void bus_call_reply(BusCall *c, int r, const char *message) {
        int k;

        if (c->replied)
                return;
        c->replied = true;
        if (r >= 0)
                k = sd_bus_reply_method_return(c->message, NULL);
        else if (r == -ETIMEDOUT)
                k = sd_bus_reply_method_errorf(c->message, HDHA_BUS_ERROR_PACEMAKER_FAILURE, "The %s failed: %s",
                                               c->what, message ?: strerror(-r));
        else if (r == -ECANCELED)
                k = sd_bus_reply_method_errorf(c->message, HDHA_BUS_ERROR_INTERRUPTED, "The %s was interrupted: %s",
                                               c->what, message ?: strerror(-r));
        else
                /* What failed is a hypervisor job; its message is libvirt's. */
                k = sd_bus_reply_method_errorf(c->message, HDHA_BUS_ERROR_LIBVIRT_FAILURE, "The %s failed: %s",
                                               c->what, message ?: strerror(-r));
        if (k < 0)
                log_warning_errno(k, "Failed to reply to the %s, ignoring: %m", c->what);
}

static void bus_call_done(void *userdata, int r, const char *message) {
        BusCall *c = userdata;

        bus_call_reply(c, r, message);
        bus_call_free(c);
}

/* --- Authorization ----------------------------------------------------------- */

static int uid_in_group(uid_t uid, gid_t gid) {
        _cleanup_free_ gid_t *gids = NULL;
        const struct passwd *pw;
        int n = 64;

        pw = getpwuid(uid);
        if (!pw)
                return 0;
        for (;;) {
                int k = n;
                gid_t *a = realloc(gids, sizeof(gid_t) * (size_t) n);

                if (!a)
                        return -ENOMEM;
                gids = a;
                if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &k) >= 0) {
                        for (int i = 0; i < k; i++)
                                if (gids[i] == gid)
                                        return 1;
                        return 0;
                }
                if (k <= n || k > NGROUPS_MAX)
                        return 0;
                n = k;
        }
}

/* Changing anything needs uid 0 or membership of AdminGroup=. */
int bus_verify_admin(HdhaBus *b, sd_bus_message *m, uid_t *ret_uid, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *admin_group = NULL;
        const gid_t *gids;
        uid_t uid;
        gid_t gid;
        int r, n;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
                                      SD_BUS_CREDS_AUGMENT, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return sd_bus_error_set(error, HDHA_BUS_ERROR_ACCESS_DENIED, "Cannot tell who is calling");
        *ret_uid = uid;
        if (uid == 0)
                return 0;

        if (b->admin_gid_set) {
                if (sd_bus_creds_get_egid(creds, &gid) >= 0 && gid == b->admin_gid)
                        return 0;
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                if (n >= 0) {
                        for (int i = 0; i < n; i++)
                                if (gids[i] == b->admin_gid)
                                        return 0;
                } else if (uid_in_group(uid, b->admin_gid) > 0)
                        return 0;
                if (b->manager && hdha_manager_config(b->manager))
                        admin_group = hdha_manager_config(b->manager)->admin_group;
        }

        log_notice("Denied a change over the bus to uid %u.", (unsigned) uid);
        if (b->admin_gid_set)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_ACCESS_DENIED,
                                         "Changing hostdev-ha needs root or membership of group '%s'",
                                         admin_group ?: "AdminGroup=");
        return sd_bus_error_set(error, HDHA_BUS_ERROR_ACCESS_DENIED, "Changing hostdev-ha needs root");
}

/* --- Operations ---------------------------------------------------------------- */

int bus_group_name_check(const char *group, sd_bus_error *error) {
        if (!hdha_group_name_is_valid(group))
                return sd_bus_error_set(error, HDHA_BUS_ERROR_INVALID_ARGUMENT,
                                        "Invalid group name: expected 1 to 64 characters of [A-Za-z0-9_.-], "
                                        "not starting with '.'");
        return 0;
}

static int bus_domain_name_check(const char *domain, sd_bus_error *error) {
        if (!hdha_domain_name_is_valid(domain))
                return sd_bus_error_set(error, HDHA_BUS_ERROR_INVALID_ARGUMENT,
                                        "Invalid domain name: expected 1 to 128 characters of [A-Za-z0-9_.:+@-], "
                                        "not starting with '.' or '-'");
        return 0;
}

static int bus_describe(BusOp op, const char *group, const char *domain, char **ret) {
        switch (op) {
        case BUS_OP_SWITCH:
                return asprintf(ret, "switch of group '%s' to '%s'", group, domain);
        case BUS_OP_RELEASE:
                return asprintf(ret, "release of group '%s'", group);
        case BUS_OP_ACTIVATE:
                return asprintf(ret, "activation of '%s'", domain);
        case BUS_OP_DEACTIVATE:
                return asprintf(ret, "deactivation of '%s'", domain);
        case BUS_OP_REBUILD:
                return asprintf(ret, "rebuild of '%s'", domain);
        case BUS_OP_FREEZE:
                return asprintf(ret, "freeze of group '%s'", group);
        case BUS_OP_THAW:
                return asprintf(ret, "thaw of group '%s'", group);
        case BUS_OP_PROMOTE:
                return asprintf(ret, "promotion of '%s' in group '%s'", domain, group);
        }
        return -EINVAL;
}

static const char *article(const char *word) {
        return word && strchr("aeiou", word[0]) ? "an" : "a";
}

/* The named error for an operation the manager refused to start. */
static int bus_operation_error(HdhaBus *b, BusOp op, const char *group, const char *domain, const char *what,
                               int r, sd_bus_error *error) {
        const HdhaTableMember *mem = NULL;
        HdhaGroupStatus s = {};
        bool have = group && hdha_manager_find_group(b->manager, group, &s) >= 0 && s.table;
        const char *opname;

        if (have && domain)
                mem = hdha_table_group_get_member(s.table, domain);

        switch (r) {
        case -ENOENT:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NO_SUCH_GROUP, "No group '%s'", strna(group));
        case -ENXIO:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NO_SUCH_DOMAIN, "No domain '%s' in any group",
                                         strna(domain));
        case -EXDEV:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOT_MEMBER, "Domain '%s' is not a member of group '%s'",
                                         strna(domain), strna(group));
        case -EBUSY:
                opname = have ? bus_operation_string(s.table->operation) : "";
                if (have && s.busy && *opname)
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_BUSY, "Group '%s' is busy with %s %s", group,
                                                 article(opname), opname);
                if (have && s.busy)
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_BUSY,
                                                 "Group '%s' is busy reconciling with libvirt", group);
                if (op == BUS_OP_REBUILD)
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_BUSY,
                                                 "Domain '%s' holds the device of group '%s': switch or release it first",
                                                 strna(domain), strna(group));
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_BUSY, "Group '%s' is busy", strna(group));
        case -EROFS:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_FROZEN, "Group '%s' is frozen: thaw it first%s",
                                         strna(group), op == BUS_OP_SWITCH ? ", or switch with force" : "");
        case -EALREADY:
                switch (op) {
                case BUS_OP_SWITCH:
                case BUS_OP_PROMOTE:
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOTHING_TO_DO,
                                                 "Domain '%s' already holds the device of group '%s'", domain, group);
                case BUS_OP_RELEASE:
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOTHING_TO_DO,
                                                 "The device of group '%s' is not allocated to any domain", group);
                case BUS_OP_ACTIVATE:
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOTHING_TO_DO, "Domain '%s' is already running (%s)",
                                                 domain, mem ? hdha_role_to_string(mem->role) : "?");
                case BUS_OP_DEACTIVATE:
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOTHING_TO_DO,
                                                 "Domain '%s' is already deactivated", domain);
                default:
                        return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOTHING_TO_DO, "Nothing to do for the %s", what);
                }
        case -EHOSTDOWN:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOT_CONNECTED,
                                         "Not connected to libvirt: the %s waits for the connection", what);
        case -ESRCH:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NOT_STANDBY,
                                         "Domain '%s' is not a running standby of group '%s' (it is %s)",
                                         strna(domain), strna(group), mem ? hdha_role_to_string(mem->role) : "unknown");
        case -EINVAL:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_INVALID_ARGUMENT, "Invalid argument for the %s", what);
        case -ENOTCONN:
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_PACEMAKER_FAILURE,
                                         "Group '%s' is managed by Pacemaker, but the resource agent has not yet "
                                         "told hostdev-had which instance stands for each member involved; "
                                         "retry after its next monitor", strna(group));
        default:
                return sd_bus_error_set_errnof(error, r, "Cannot start the %s: %m", what);
        }
}

int bus_start_operation(HdhaBus *b, sd_bus_message *m, BusOp op, const char *group, const char *domain,
                        bool force, sd_bus_error *error) {
        _cleanup_free_ char *what = NULL;
        const HdhaGroupConfig *gc;
        BusCall *c;
        uid_t uid;
        int r;

        /* Names first, then the caller, then the manager. */
        if (group) {
                r = bus_group_name_check(group, error);
                if (r < 0)
                        return r;
        }
        if (domain) {
                r = bus_domain_name_check(domain, error);
                if (r < 0)
                        return r;
        }
        r = bus_verify_admin(b, m, &uid, error);
        if (r < 0)
                return r;

        if (!group && (gc = hdha_config_find_domain(hdha_manager_config(b->manager), domain)))
                group = gc->name;
        if (bus_describe(op, group ?: "?", domain, &what) < 0)
                return -ENOMEM;
        log_info("The %s was asked for over the bus by uid %u.", what, (unsigned) uid);

        if (IN_SET(op, BUS_OP_FREEZE, BUS_OP_THAW)) {
                r = hdha_manager_set_frozen(b->manager, group, op == BUS_OP_FREEZE);
                if (r < 0)
                        return bus_operation_error(b, op, group, domain, what, r, error);
                return sd_bus_reply_method_return(m, NULL);
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (BusCall) {
                .bus = b,
                .message = sd_bus_message_ref(m),
                .what = TAKE_PTR(what),
                .next = b->calls,
        };
        if (b->calls)
                b->calls->prev = c;
        b->calls = c;

        /* done may run before these return; c is not used after them. */
        switch (op) {
        case BUS_OP_SWITCH:
                r = hdha_manager_switch(b->manager, group, domain, force, bus_call_done, c);
                break;
        case BUS_OP_RELEASE:
                r = hdha_manager_release(b->manager, group, bus_call_done, c);
                break;
        case BUS_OP_ACTIVATE:
                r = hdha_manager_activate(b->manager, domain, bus_call_done, c);
                break;
        case BUS_OP_DEACTIVATE:
                r = hdha_manager_deactivate(b->manager, domain, bus_call_done, c);
                break;
        case BUS_OP_REBUILD:
                r = hdha_manager_rebuild(b->manager, domain, bus_call_done, c);
                break;
        case BUS_OP_PROMOTE:
                r = hdha_manager_promote(b->manager, group, domain, bus_call_done, c);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0) {
                r = bus_operation_error(b, op, group, domain, c->what, r, error);
                bus_call_free(c);
                return r;
        }
        return 1;
}

/* --- Shutdown ------------------------------------------------------------------------ */

void bus_calls_interrupt(HdhaBus *b) {
        for (BusCall *c = b->calls; c; c = c->next)
                bus_call_reply(c, -ECANCELED, "hostdev-had is stopping");
}

void bus_calls_free(HdhaBus *b) {
        while (b->calls)
                bus_call_free(b->calls);
}
