/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The changing calls: names checked, the caller authorized (uid 0,
 * AdminGroup= or polkit), the operation started, and the reply sent when it finished;
 * the named errors with their messages. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
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

BusCall *bus_call_free(BusCall *c) {
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
        const char *name = hdha_bus_error_from_errno(r);
        int k;

        if (c->replied)
                return;
        c->replied = true;
        if (r >= 0)
                k = sd_bus_reply_method_return(c->message, NULL);
        else if (!name)
                k = sd_bus_reply_method_errnof(c->message, r, "The %s failed: %s", c->what, message ?: strerror(-r));
        else
                k = sd_bus_reply_method_errorf(c->message, name, "The %s %s: %s", c->what,
                                               r == -ECANCELED ? "was interrupted" : "failed",
                                               message ?: strerror(-r));
        if (k < 0)
                log_warning_errno(k, "Failed to reply to the %s, ignoring: %m", c->what);
}

void bus_call_done(void *userdata, int r, const char *message) {
        BusCall *c = userdata;

        bus_call_reply(c, r, message);
        bus_call_free(c);
}

int bus_call_new(HdhaBus *b, sd_bus_message *m, char *what, BusCall **ret) {
        BusCall *c;

        c = calloc(1, sizeof(*c));
        if (!c) {
                free(what);
                return -ENOMEM;
        }
        *c = (BusCall) {
                .bus = b,
                .message = sd_bus_message_ref(m),
                .what = what,
                .next = b->calls,
        };
        if (b->calls)
                b->calls->prev = c;
        b->calls = c;
        *ret = c;
        return 0;
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

/* Changing anything needs uid 0, membership of AdminGroup=, or polkit's
 * authorization for org.hostdevha.manage (asked last, without waiting). */
int bus_verify_admin(HdhaBus *b, sd_bus_message *m, uid_t *ret_uid, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *admin_group = NULL;
        bool challenge = false;
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
                return 1;

        if (b->admin_gid_set) {
                if (sd_bus_creds_get_egid(creds, &gid) >= 0 && gid == b->admin_gid)
                        return 0;
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                if (n >= 0) {
                        for (int i = 0; i < n; i++)
                                if (gids[i] == b->admin_gid)
                                        return 1;
                } else if (uid_in_group(uid, b->admin_gid) > 0)
                        return 1;
                if (b->manager && hdha_manager_config(b->manager))
                        admin_group = hdha_manager_config(b->manager)->admin_group;
        }

        r = bus_verify_polkit_async(b, m, HDHA_POLKIT_ACTION_MANAGE, &challenge);
        if (r >= 0) {
                if (r > 0)
                        log_info("polkit authorizes uid %u for " HDHA_POLKIT_ACTION_MANAGE ".", (unsigned) uid);
                return r;
        }

        log_notice("Denied a change over the bus to uid %u%s.", (unsigned) uid,
                   r == -EOPNOTSUPP ? "" : " (polkit refused " HDHA_POLKIT_ACTION_MANAGE ")");
        if (r != -EOPNOTSUPP)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_ACCESS_DENIED,
                                         "Changing hostdev-ha needs root%s%s%s, or polkit's authorization for "
                                         HDHA_POLKIT_ACTION_MANAGE ", which it refused%s",
                                         b->admin_gid_set ? ", membership of group '" : "",
                                         b->admin_gid_set ? admin_group ?: "AdminGroup=" : "",
                                         b->admin_gid_set ? "'" : "",
                                         challenge ? " without an authentication (allow interactive "
                                                     "authorization, or run as root)" : "");
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

static const char *article(const char *word) {
        return word && strchr("aeiou", word[0]) ? "an" : "a";
}

/* HeldElsewhere: who holds the group's cluster token, as the cluster view
 * says. */
static int bus_held_elsewhere_message(HdhaBus *b, const char *group, const char *what, char **ret) {
        _cleanup_(hdha_cluster_view_done) HdhaClusterView v = {};
        const HdhaClusterViewToken *t = NULL;

        if (group && bus_cluster_view(b, &v) >= 0)
                t = hdha_cluster_view_find_token(&v, group);
        if (t && t->holder_host && t->holder_domain)
                return asprintf(ret, "Group '%s' is held by '%s' on host '%s' (cluster token generation %" PRIu64
                                "): the %s is refused", group, t->holder_domain, t->holder_host, t->generation, what);
        return asprintf(ret, "Group '%s' is held by another host of the cluster: the %s is refused", strna(group),
                        what);
}

/* The message of the named error for an operation the manager refused to
 * start; the name is the cause's (hdha_bus_error_from_errno()). */
static int bus_operation_message(HdhaBus *b, BusOp op, const char *group, const char *domain, const char *what,
                                 int r, char **ret) {
        const HdhaTableMember *mem = NULL;
        HdhaGroupStatus s = {};
        bool have = group && hdha_manager_find_group(b->manager, group, &s) >= 0 && s.table;
        const char *opname;

        if (have && domain)
                mem = hdha_table_group_get_member(s.table, domain);

        switch (r) {
        case -ENOENT:
                return asprintf(ret, "No group '%s'", strna(group));
        case -ENXIO:
                return asprintf(ret, "No domain '%s' in any group", strna(domain));
        case -EXDEV:
                return asprintf(ret, "Domain '%s' is not a member of group '%s'", strna(domain), strna(group));
        case -EBUSY:
                opname = have ? bus_operation_string(s.table->operation) : "";
                if (have && s.busy && *opname)
                        return asprintf(ret, "Group '%s' is busy with %s %s", group, article(opname), opname);
                if (have && s.busy)
                        return asprintf(ret, "Group '%s' is busy reconciling with libvirt", group);
                if (op == BUS_OP_REBUILD)
                        return asprintf(ret, "Domain '%s' holds the device of group '%s': switch or release it first",
                                        strna(domain), strna(group));
                return asprintf(ret, "Group '%s' is busy", strna(group));
        case -EROFS:
                return asprintf(ret, "Group '%s' is frozen: thaw it first%s", strna(group),
                                op == BUS_OP_SWITCH ? ", or switch with force" : "");
        case -EALREADY:
                switch (op) {
                case BUS_OP_SWITCH:
                case BUS_OP_PROMOTE:
                        return asprintf(ret, "Domain '%s' already holds the device of group '%s'", domain, group);
                case BUS_OP_RELEASE:
                        return asprintf(ret, "The device of group '%s' is not allocated to any domain", group);
                case BUS_OP_ACTIVATE:
                        return asprintf(ret, "Domain '%s' is already running (%s)", domain,
                                        mem ? hdha_role_to_string(mem->role) : "?");
                case BUS_OP_DEACTIVATE:
                        return asprintf(ret, "Domain '%s' is already deactivated", domain);
                default:
                        return asprintf(ret, "Nothing to do for the %s", what);
                }
        case -EHOSTDOWN:
                return asprintf(ret, "Not connected to libvirt: the %s waits for the connection", what);
        case -ESRCH:
                return asprintf(ret, "Domain '%s' is not a running standby of group '%s' (it is %s)", strna(domain),
                                strna(group), mem ? hdha_role_to_string(mem->role) : "unknown");
        case -EINVAL:
                return asprintf(ret, "Invalid argument for the %s", what);
        case HDHA_MANAGER_STATE_WRITE_FAILED:
                return asprintf(ret, "The allocation table cannot be written (state directory full, read-only "
                                "or failing; the daemon's log says why): the %s is refused", what);
        case -ENOTCONN:
                return asprintf(ret, "Group '%s' is managed by Pacemaker, but the resource agent has not yet "
                                "told hostdev-had which instance stands for each member involved; "
                                "retry after its next monitor", strna(group));
        case -EUSERS:
                return bus_held_elsewhere_message(b, group, what, ret);
        case -ENOLINK:
                return asprintf(ret, "This host is not in a quorate partition of the cluster: the %s is refused "
                                "until it is", what);
        default:
                return asprintf(ret, "Cannot start the %s: %s", what, strerror(-r));
        }
}

static int bus_operation_error(HdhaBus *b, BusOp op, const char *group, const char *domain, const char *what,
                               int r, sd_bus_error *error) {
        _cleanup_free_ char *message = NULL;
        const char *name = hdha_bus_error_from_errno(r);

        if (bus_operation_message(b, op, group, domain, what, r, &message) < 0)
                return -ENOMEM;
        if (!name)
                return sd_bus_error_set_errnof(error, r, "%s", message);
        return sd_bus_error_set(error, name, message);
}

/* --- The table of operations ---------------------------------------------------- */

typedef enum BusOpArgs {
        BUS_ARGS_GROUP,           /* s group: "NOUN of group 'G'" */
        BUS_ARGS_DOMAIN,          /* s domain: "NOUN of 'D'" */
        BUS_ARGS_GROUP_TO_DOMAIN, /* s group, s domain, b force: "NOUN of group 'G' to 'D'" */
        BUS_ARGS_DOMAIN_IN_GROUP, /* s group, s domain: "NOUN of 'D' in group 'G'" */
} BusOpArgs;

/* Starts the operation: 0 and done called once it finished, or < 0 at once.
 * Freeze and thaw are done when it returns 0 (done is not called). */
typedef int (*BusOpStart)(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                          void *userdata);

typedef struct BusOperation {
        const char *noun; /* in messages and the log */
        BusOpArgs args;
        BusOpStart start;
        bool at_once; /* replies when start returns */
} BusOperation;

static int start_switch(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                        void *userdata) {
        return hdha_manager_switch(m, group, domain, force, done, userdata);
}

static int start_release(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                         void *userdata) {
        return hdha_manager_release(m, group, done, userdata);
}

static int start_activate(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                          void *userdata) {
        return hdha_manager_activate(m, domain, done, userdata);
}

static int start_deactivate(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                            void *userdata) {
        return hdha_manager_deactivate(m, domain, done, userdata);
}

static int start_rebuild(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                         void *userdata) {
        return hdha_manager_rebuild(m, domain, done, userdata);
}

static int start_freeze(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                        void *userdata) {
        return hdha_manager_set_frozen(m, group, true);
}

static int start_thaw(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                      void *userdata) {
        return hdha_manager_set_frozen(m, group, false);
}

static int start_promote(HdhaManager *m, const char *group, const char *domain, bool force, HdhaOpDoneFn done,
                         void *userdata) {
        return hdha_manager_promote(m, group, domain, done, userdata);
}

static const BusOperation bus_operations[_BUS_OP_MAX] = {
        [BUS_OP_SWITCH] = { "switch", BUS_ARGS_GROUP_TO_DOMAIN, start_switch },
        [BUS_OP_RELEASE] = { "release", BUS_ARGS_GROUP, start_release },
        [BUS_OP_ACTIVATE] = { "activation", BUS_ARGS_DOMAIN, start_activate },
        [BUS_OP_DEACTIVATE] = { "deactivation", BUS_ARGS_DOMAIN, start_deactivate },
        [BUS_OP_REBUILD] = { "rebuild", BUS_ARGS_DOMAIN, start_rebuild },
        [BUS_OP_FREEZE] = { "freeze", BUS_ARGS_GROUP, start_freeze, .at_once = true },
        [BUS_OP_THAW] = { "thaw", BUS_ARGS_GROUP, start_thaw, .at_once = true },
        [BUS_OP_PROMOTE] = { "promotion", BUS_ARGS_DOMAIN_IN_GROUP, start_promote },
};

static int bus_describe(const BusOperation *o, const char *group, const char *domain, char **ret) {
        switch (o->args) {
        case BUS_ARGS_GROUP:
                return asprintf(ret, "%s of group '%s'", o->noun, group);
        case BUS_ARGS_DOMAIN:
                return asprintf(ret, "%s of '%s'", o->noun, domain);
        case BUS_ARGS_GROUP_TO_DOMAIN:
                return asprintf(ret, "%s of group '%s' to '%s'", o->noun, group, domain);
        case BUS_ARGS_DOMAIN_IN_GROUP:
                return asprintf(ret, "%s of '%s' in group '%s'", o->noun, domain, group);
        }
        return -EINVAL;
}

/* Validates, authorizes and starts op; replies later (returns 1) or fails
 * at once (< 0, error set). */
static int bus_start_operation(HdhaBus *b, sd_bus_message *m, BusOp op, const char *group, const char *domain,
                               bool force, sd_bus_error *error) {
        const BusOperation *o = &bus_operations[op];
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
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: held for polkit, dispatched again */

        if (!group && (gc = hdha_config_find_domain(hdha_manager_config(b->manager), domain)))
                group = gc->name;
        if (bus_describe(o, group ?: "?", domain, &what) < 0)
                return -ENOMEM;
        log_info("The %s was asked for over the bus by uid %u.", what, (unsigned) uid);

        if (o->at_once) {
                r = o->start(b->manager, group, domain, force, NULL, NULL);
                if (r < 0)
                        return bus_operation_error(b, op, group, domain, what, r, error);
                return sd_bus_reply_method_return(m, NULL);
        }

        r = bus_call_new(b, m, TAKE_PTR(what), &c);
        if (r < 0)
                return r;

        /* done may run before start returns; c is not used after it. */
        r = o->start(b->manager, group, domain, force, bus_call_done, c);
        if (r < 0) {
                r = bus_operation_error(b, op, group, domain, c->what, r, error);
                bus_call_free(c);
                return r;
        }
        return 1;
}

int bus_method_operation(sd_bus_message *m, HdhaBus *b, BusOp op, const char *object_group, sd_bus_error *error) {
        const char *group = object_group, *domain = NULL;
        int force = false, r = 0;

        switch (bus_operations[op].args) {
        case BUS_ARGS_GROUP:
                if (!object_group)
                        r = sd_bus_message_read(m, "s", &group);
                break;
        case BUS_ARGS_DOMAIN:
                r = sd_bus_message_read(m, "s", &domain);
                break;
        case BUS_ARGS_GROUP_TO_DOMAIN:
                if (object_group)
                        r = sd_bus_message_read(m, "sb", &domain, &force);
                else
                        r = sd_bus_message_read(m, "ssb", &group, &domain, &force);
                break;
        case BUS_ARGS_DOMAIN_IN_GROUP:
                r = sd_bus_message_read(m, "ss", &group, &domain);
                break;
        }
        if (r < 0)
                return r;
        return bus_start_operation(b, m, op, group, domain, force, error);
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
