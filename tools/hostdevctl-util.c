/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdevctl: the connection, GetStatus() parsed, errors mapped to exit
 * statuses, JSON and colours. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-util.h"
#include "hostdevctl.h"
#include "log.h"

/* --- Status ------------------------------------------------------------------ */

static void ctl_group_done(CtlGroup *g) {
        free(g->name);
        free(g->device);
        free(g->active);
        free(g->operation);
        free(g->step);
        for (size_t i = 0; i < g->n_members; i++) {
                free(g->members[i].domain);
                free(g->members[i].role);
        }
        free(g->members);
        free(g->policy);
}

CtlStatus *ctl_status_free(CtlStatus *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_groups; i++)
                ctl_group_done(&s->groups[i]);
        free(s->groups);
        return mfree(s);
}

const CtlGroup *ctl_status_find_group(const CtlStatus *s, const char *name) {
        for (size_t i = 0; i < s->n_groups; i++)
                if (streq(s->groups[i].name, name))
                        return &s->groups[i];
        return NULL;
}

const CtlGroup *ctl_status_find_domain(const CtlStatus *s, const char *domain, const CtlMember **ret_member) {
        for (size_t i = 0; i < s->n_groups; i++)
                for (size_t j = 0; j < s->groups[i].n_members; j++)
                        if (streq(s->groups[i].members[j].domain, domain)) {
                                if (ret_member)
                                        *ret_member = &s->groups[i].members[j];
                                return &s->groups[i];
                        }
        return NULL;
}

const char *ctl_group_role(const CtlGroup *g, const char *domain) {
        for (size_t i = 0; i < g->n_members; i++)
                if (streq(g->members[i].domain, domain))
                        return g->members[i].role;
        return NULL;
}

static int strdup_to(char **p, const char *s) {
        *p = strdup(s);
        return *p ? 0 : -ENOMEM;
}

static int read_members(sd_bus_message *m, CtlGroup *g) {
        const char *domain, *role;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ss)", &domain, &role)) > 0) {
                CtlMember *a;

                a = reallocarray(g->members, g->n_members + 1, sizeof(CtlMember));
                if (!a)
                        return -ENOMEM;
                g->members = a;
                g->members[g->n_members] = (CtlMember) {};
                g->n_members++;
                if (strdup_to(&a[g->n_members - 1].domain, domain) < 0 ||
                    strdup_to(&a[g->n_members - 1].role, role) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_group(sd_bus_message *m, CtlGroup *g) {
        const char *name, *device, *active, *operation, *step, *policy;
        int frozen, busy, r;

        r = sd_bus_message_enter_container(m, 'r', "ssstssa(ss)sbb");
        if (r <= 0)
                return r;
        r = sd_bus_message_read(m, "ssstss", &name, &device, &active, &g->generation, &operation, &step);
        if (r < 0)
                return r;
        if (strdup_to(&g->name, name) < 0 || strdup_to(&g->device, device) < 0 ||
            strdup_to(&g->active, active) < 0 || strdup_to(&g->operation, operation) < 0 ||
            strdup_to(&g->step, step) < 0)
                return -ENOMEM;
        r = read_members(m, g);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "sbb", &policy, &frozen, &busy);
        if (r < 0)
                return r;
        if (strdup_to(&g->policy, policy) < 0)
                return -ENOMEM;
        g->frozen = frozen;
        g->busy = busy;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return 1;
}

static int parse_status(sd_bus_message *reply, CtlStatus **ret) {
        _cleanup_(ctl_status_freep) CtlStatus *s = NULL;
        int connected, r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = sd_bus_message_read(reply, "b", &connected);
        if (r < 0)
                return r;
        s->connected = connected;
        r = sd_bus_message_enter_container(reply, 'a', "(ssstssa(ss)sbb)");
        if (r < 0)
                return r;
        for (;;) {
                CtlGroup *a;

                a = reallocarray(s->groups, s->n_groups + 1, sizeof(CtlGroup));
                if (!a)
                        return -ENOMEM;
                s->groups = a;
                a[s->n_groups] = (CtlGroup) {};
                r = read_group(reply, &a[s->n_groups]);
                if (r <= 0) {
                        ctl_group_done(&a[s->n_groups]);
                        if (r < 0)
                                return r;
                        break;
                }
                s->n_groups++;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* --- The bus -------------------------------------------------------------------- */

int ctl_bus_open(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        (void) hdha_bus_error_register();
        r = sd_bus_open_system_with_description(&bus, "hostdevctl");
        if (r < 0) {
                const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");

                log_error_errno(r, "Failed to connect to the system bus%s%s%s: %m", address ? " at '" : "",
                                address ?: "", address ? "'" : "");
                return IN_SET(-r, ENOENT, ECONNREFUSED, ENOTCONN, ECONNRESET) ? CTL_EXIT_NOT_RUNNING
                                                                                : CTL_EXIT_FAILURE;
        }
        *ret = TAKE_PTR(bus);
        return 0;
}

int ctl_get_status(sd_bus *bus, CtlStatus **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "GetStatus", &error,
                               &reply, NULL);
        if (r < 0)
                return ctl_fail_bus(&error, r, "Failed to get the status");
        r = parse_status(reply, ret);
        if (r < 0) {
                log_error_errno(r, "Failed to parse the status: %m");
                return CTL_EXIT_FAILURE;
        }
        return 0;
}

/* --- Errors ---------------------------------------------------------------------- */

static const struct {
        const char *name;
        CtlExit exit;
} error_exits[] = {
        { HDHA_BUS_ERROR_NO_SUCH_GROUP, CTL_EXIT_NOT_FOUND },
        { HDHA_BUS_ERROR_NO_SUCH_DOMAIN, CTL_EXIT_NOT_FOUND },
        { HDHA_BUS_ERROR_NOT_MEMBER, CTL_EXIT_NOT_FOUND },
        { HDHA_BUS_ERROR_BUSY, CTL_EXIT_BUSY },
        { HDHA_BUS_ERROR_FROZEN, CTL_EXIT_FROZEN },
        { HDHA_BUS_ERROR_NOTHING_TO_DO, CTL_EXIT_NOTHING_TO_DO },
        { HDHA_BUS_ERROR_NOT_CONNECTED, CTL_EXIT_NOT_CONNECTED },
        { HDHA_BUS_ERROR_NOT_STANDBY, CTL_EXIT_NOT_STANDBY },
        { HDHA_BUS_ERROR_LIBVIRT_FAILURE, CTL_EXIT_FAILURE },
        { HDHA_BUS_ERROR_STATE_WRITE_FAILURE, CTL_EXIT_FAILURE },
        { HDHA_BUS_ERROR_PACEMAKER_FAILURE, CTL_EXIT_FAILURE },
        { HDHA_BUS_ERROR_INTERRUPTED, CTL_EXIT_FAILURE },
        { HDHA_BUS_ERROR_ACCESS_DENIED, CTL_EXIT_ACCESS },
        { HDHA_BUS_ERROR_INVALID_ARGUMENT, CTL_EXIT_USAGE },
        { HDHA_BUS_ERROR_BAD_CONFIGURATION, CTL_EXIT_FAILURE },
        { HDHA_BUS_ERROR_HELD_ELSEWHERE, CTL_EXIT_HELD_ELSEWHERE },
        { HDHA_BUS_ERROR_NO_QUORUM, CTL_EXIT_NO_QUORUM },
        { SD_BUS_ERROR_ACCESS_DENIED, CTL_EXIT_ACCESS },
        { SD_BUS_ERROR_SERVICE_UNKNOWN, CTL_EXIT_NOT_RUNNING },
        { SD_BUS_ERROR_NAME_HAS_NO_OWNER, CTL_EXIT_NOT_RUNNING },
        { SD_BUS_ERROR_INVALID_ARGS, CTL_EXIT_USAGE },
};

int ctl_exit_from_bus_error(const sd_bus_error *error, int r) {
        if (sd_bus_error_is_set(error)) {
                for (size_t i = 0; i < ELEMENTSOF(error_exits); i++)
                        if (sd_bus_error_has_name(error, error_exits[i].name))
                                return error_exits[i].exit;
                return CTL_EXIT_FAILURE;
        }
        /* No reply at all: the bus went away. */
        if (IN_SET(-r, ECONNRESET, ENOTCONN, ECONNREFUSED))
                return CTL_EXIT_NOT_RUNNING;
        return CTL_EXIT_FAILURE;
}

int ctl_fail_bus(const sd_bus_error *error, int r, const char *format, ...) {
        char prefix[512];
        va_list ap;
        int e;

        va_start(ap, format);
        (void) vsnprintf(prefix, sizeof(prefix), format, ap);
        va_end(ap);

        e = ctl_exit_from_bus_error(error, r);
        if (e == CTL_EXIT_NOT_RUNNING)
                log_error("%s: hostdev-had is not running (%s).", prefix,
                          sd_bus_error_is_set(error) ? error->message : strerror(abs(r)));
        else if (sd_bus_error_is_set(error) && error->message)
                log_error("%s: %s", prefix, error->message);
        else
                log_error_errno(r, "%s: %m", prefix);
        return e;
}

/* --- JSON ------------------------------------------------------------------------- */

static json_object *json_string_or_null(const char *s) {
        return s && *s ? json_object_new_string(s) : NULL;
}

json_object *ctl_group_json(const CtlGroup *g) {
        json_object *o, *members;

        o = json_object_new_object();
        members = json_object_new_array();
        if (!o || !members) {
                json_object_put(o);
                json_object_put(members);
                return NULL;
        }
        json_object_object_add(o, "group", json_object_new_string(g->name));
        json_object_object_add(o, "device", json_object_new_string(g->device));
        json_object_object_add(o, "active", json_string_or_null(g->active));
        json_object_object_add(o, "generation", json_object_new_uint64(g->generation));
        json_object_object_add(o, "operation", json_string_or_null(g->operation));
        json_object_object_add(o, "step", json_string_or_null(g->step));
        for (size_t i = 0; i < g->n_members; i++) {
                json_object *mem = json_object_new_object();

                if (!mem) {
                        json_object_put(members);
                        json_object_put(o);
                        return NULL;
                }
                json_object_object_add(mem, "domain", json_object_new_string(g->members[i].domain));
                json_object_object_add(mem, "role", json_object_new_string(g->members[i].role));
                json_object_array_add(members, mem);
        }
        json_object_object_add(o, "members", members);
        json_object_object_add(o, "policy", json_object_new_string(g->policy));
        json_object_object_add(o, "frozen", json_object_new_boolean(g->frozen));
        json_object_object_add(o, "busy", json_object_new_boolean(g->busy));
        return o;
}

int ctl_json_print(json_object *o, bool one_line) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *s;

        if (!o)
                return -ENOMEM;
        flags |= !one_line && isatty(STDOUT_FILENO) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                    : JSON_C_TO_STRING_PLAIN;
        s = json_object_to_json_string_ext(o, flags);
        if (!s)
                return -ENOMEM;
        if (puts(s) < 0 || fflush(stdout) != 0)
                return -EIO;
        return 0;
}

/* --- Colours --------------------------------------------------------------------- */

bool ctl_colors(void) {
        static int cached = -1;

        if (cached < 0) {
                const char *term = getenv("TERM");

                cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && streq(term, "dumb"));
        }
        return cached;
}

#define ANSI(fn, code)                                  \
        const char *fn(void) {                          \
                return ctl_colors() ? (code) : "";      \
        }

ANSI(ctl_ansi_highlight, "\033[1m")
ANSI(ctl_ansi_green, "\033[0;32m")
ANSI(ctl_ansi_red, "\033[0;31m")
ANSI(ctl_ansi_yellow, "\033[0;33m")
ANSI(ctl_ansi_grey, "\033[0;90m")
ANSI(ctl_ansi_normal, "\033[0m")

const char *ctl_role_color(const char *role) {
        if (streq(role, "active"))
                return ctl_ansi_green();
        if (streq(role, "failed"))
                return ctl_ansi_red();
        if (streq(role, "deactivated") || streq(role, "rebuilding"))
                return ctl_ansi_yellow();
        return "";
}
