/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdevctl switch, release, activate, deactivate, rebuild, freeze, thaw,
 * reload: one method call each. The daemon replies when the operation has
 * finished; we wait for that and say what happened, or with --no-block
 * return as soon as the daemon has either refused the call or started it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-util.h"
#include "hostdevctl.h"
#include "log.h"

typedef enum OpKind {
        OP_GROUP,        /* GROUP */
        OP_GROUP_DOMAIN, /* GROUP DOMAIN */
        OP_DOMAIN,       /* DOMAIN */
} OpKind;

typedef struct Op {
        const char *verb;
        const char *method;
        OpKind kind;
        bool waits; /* the daemon replies when it has finished; false: at once */
        const char *done;      /* "deactivated" */
} Op;

static const Op ops[] = {
        { "switch", "Switch", OP_GROUP_DOMAIN, true, "moved" },
        { "release", "Release", OP_GROUP, true, "released" },
        { "activate", "Activate", OP_DOMAIN, true, "activated" },
        { "deactivate", "Deactivate", OP_DOMAIN, true, "deactivated" },
        { "rebuild", "Rebuild", OP_DOMAIN, true, "rebuilt" },
        { "freeze", "Freeze", OP_GROUP, false, "frozen" },
        { "thaw", "Thaw", OP_GROUP, false, "thawed" },
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

static int new_call(sd_bus *bus, const Op *op, const char *group, const char *domain, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE,
                                           op->method);
        if (r < 0)
                return r;
        switch (op->kind) {
        case OP_GROUP_DOMAIN:
                r = sd_bus_message_append(m, "ssb", group, domain, arg_force);
                break;
        case OP_GROUP:
                r = sd_bus_message_append(m, "s", group);
                break;
        case OP_DOMAIN:
                r = sd_bus_message_append(m, "s", domain);
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* --- --no-block -------------------------------------------------------------------- */

/* The daemon refuses a call at once, from its handler, or starts the
 * operation and replies when it has finished. A Peer.Ping sent right after
 * the call is answered after the handler ran (one connection, messages in
 * order): if no error came before the pong, the operation has started. */
typedef struct Wait {
        int state; /* 0 waiting, 1 started, 2 finished, 3 refused or failed */
        sd_bus_error error;
        int r;
} Wait;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Wait *w = userdata;

        if (w->state != 0)
                return 0;
        if (sd_bus_message_is_method_error(m, NULL)) {
                (void) sd_bus_error_copy(&w->error, sd_bus_message_get_error(m));
                w->r = -sd_bus_message_get_errno(m);
                w->state = 3;
        } else
                w->state = 2;
        return 0;
}

static int on_pong(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Wait *w = userdata;

        if (w->state != 0)
                return 0;
        if (sd_bus_message_is_method_error(m, NULL)) { /* the daemon went away */
                (void) sd_bus_error_copy(&w->error, sd_bus_message_get_error(m));
                w->r = -sd_bus_message_get_errno(m);
                w->state = 3;
        } else
                w->state = 1;
        return 0;
}

static int call_no_block(sd_bus *bus, sd_bus_message *call, Wait *w) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *ping = NULL;
        int r;

        r = sd_bus_call_async(bus, &slot, call, on_reply, w, 0);
        if (r < 0)
                return r;
        r = sd_bus_call_method_async(bus, &ping, HDHA_BUS_NAME, HDHA_BUS_PATH, "org.freedesktop.DBus.Peer", "Ping",
                                     on_pong, w, NULL);
        if (r < 0)
                return r;
        while (w->state == 0) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        /* Leaving: the daemon goes on; its final reply will find us gone. */
        return 0;
}

/* --- Reporting ---------------------------------------------------------------------- */

static void print_done(const Op *op, const char *group, const char *domain, const CtlGroup *before,
                       const CtlGroup *after, double sec) {
        const char *was = before && *before->active ? before->active : NULL;
        const char *role;

        if (streq(op->verb, "switch")) {
                if (was)
                        printf("%s: device moved from '%s' to '%s'", group, was, domain);
                else
                        printf("%s: device attached to '%s'", group, domain);
        } else if (streq(op->verb, "release"))
                printf("%s: device released%s%s%s", group, was ? " from '" : "", was ?: "", was ? "'" : "");
        else if (op->kind == OP_GROUP) {
                printf("%s: %s\n", group, op->done);
                return;
        } else {
                role = after ? ctl_group_role(after, domain) : NULL;
                printf("%s: %s", domain, op->done);
                if (after)
                        printf(" (group '%s', now %s)", after->name, strna(role));
        }
        if (after)
                printf(" (generation %" PRIu64 ")", after->generation);
        printf(" in %.2f s\n", sec);
}

static int print_json(const Op *op, const char *group, const char *domain, const CtlGroup *before,
                      const CtlGroup *after, bool finished, double sec) {
        char secs[32];
        json_object *o;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "verb", json_object_new_string(op->verb));
        json_object_object_add(o, "group", group ? json_object_new_string(group) : NULL);
        json_object_object_add(o, "domain", domain ? json_object_new_string(domain) : NULL);
        json_object_object_add(o, "result", json_object_new_string(finished ? "done" : "started"));
        (void) snprintf(secs, sizeof(secs), "%.3f", sec);
        json_object_object_add(o, "seconds", json_object_new_double_s(sec, secs));
        json_object_object_add(o, "previous_active",
                               before && *before->active ? json_object_new_string(before->active) : NULL);
        json_object_object_add(o, "status", after ? ctl_group_json(after) : NULL);
        r = ctl_json_print(o, false);
        json_object_put(o);
        return r;
}

int verb_operation(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(ctl_status_freep) CtlStatus *before = NULL, *after = NULL;
        const CtlGroup *gb = NULL, *ga = NULL;
        const char *group = NULL, *domain = NULL;
        const Op *op = NULL;
        Wait w = { .error = SD_BUS_ERROR_NULL };
        bool finished = true;
        uint64_t t0;
        double sec;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (streq(ops[i].verb, argv[0]))
                        op = &ops[i];
        if (!op)
                return log_error("Unknown verb '%s'.", argv[0]), CTL_EXIT_USAGE;
        switch (op->kind) {
        case OP_GROUP_DOMAIN:
                group = argv[1];
                domain = argv[2];
                break;
        case OP_GROUP:
                group = argv[1];
                break;
        case OP_DOMAIN:
                domain = argv[1];
                break;
        }

        r = ctl_bus_open(&bus);
        if (r > 0)
                return r;
        /* Before: who held the device, and the group of a domain. A failure
         * here is the daemon's absence; report it as the call would. */
        r = ctl_get_status(bus, &before);
        if (r > 0)
                return r;
        if (group)
                gb = ctl_status_find_group(before, group);
        else if ((gb = ctl_status_find_domain(before, domain, NULL)))
                group = gb->name;

        r = new_call(bus, op, group, domain, &call);
        if (r < 0)
                return log_error_errno(r, "Failed to build the call: %m"), CTL_EXIT_FAILURE;

        t0 = now_usec();
        if (arg_no_block && op->waits) {
                r = call_no_block(bus, call, &w);
                if (r < 0)
                        return ctl_fail_bus(NULL, r, "Failed to send the %s", op->verb);
                if (w.state == 3) {
                        r = ctl_fail_bus(&w.error, w.r, "Failed to %s %s '%s'", op->verb,
                                         op->kind == OP_DOMAIN ? "domain" : "group",
                                         op->kind == OP_DOMAIN ? domain : group);
                        sd_bus_error_free(&w.error);
                        return r;
                }
                finished = w.state == 2;
        } else {
                /* No timeout: an operation takes as long as it takes
                 * (ReleaseTimeoutSec=, a guest's boot); ^C leaves it running. */
                r = sd_bus_call(bus, call, UINT64_MAX, &error, NULL);
                if (r < 0)
                        return ctl_fail_bus(&error, r, "Failed to %s %s '%s'", op->verb,
                                            op->kind == OP_DOMAIN ? "domain" : "group",
                                            op->kind == OP_DOMAIN ? domain : group);
        }
        sec = (double) (now_usec() - t0) / 1e6;

        /* After: what it came to. */
        if (ctl_get_status(bus, &after) == 0)
                ga = group ? ctl_status_find_group(after, group) : ctl_status_find_domain(after, domain, NULL);

        if (arg_json) {
                r = print_json(op, group, domain, gb, ga, finished, sec);
                return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
        }
        if (!finished) {
                printf("%s: %s of %s '%s' queued; hostdev-had is carrying it out (follow it with 'hostdevctl "
                       "monitor')\n",
                       group ?: domain, op->verb, op->kind == OP_DOMAIN ? "domain" : "group",
                       op->kind == OP_DOMAIN ? domain : group);
                return CTL_EXIT_OK;
        }
        print_done(op, group ?: "?", domain, gb, ga, sec);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

int verb_reload(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(ctl_status_freep) CtlStatus *s = NULL;
        int r;

        r = ctl_bus_open(&bus);
        if (r > 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &call, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE,
                                           "Reload");
        if (r < 0)
                return ctl_fail_bus(NULL, r, "Failed to reload");
        /* No timeout: while a group is busy the daemon applies the
         * configuration, and replies, once no group is. */
        r = sd_bus_call(bus, call, UINT64_MAX, &error, NULL);
        if (r < 0)
                return ctl_fail_bus(&error, r, "Failed to reload");
        r = ctl_get_status(bus, &s);
        if (r > 0)
                return r;
        if (arg_json) {
                json_object *o = json_object_new_object(), *groups = json_object_new_array();

                if (o && groups)
                        for (size_t i = 0; i < s->n_groups; i++)
                                json_object_array_add(groups, json_object_new_string(s->groups[i].name));
                if (o)
                        json_object_object_add(o, "groups", groups);
                else
                        json_object_put(groups);
                r = ctl_json_print(o, false);
                json_object_put(o);
                return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
        }
        printf("Configuration reloaded: %zu group%s.\n", s->n_groups, s->n_groups == 1 ? "" : "s");
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
