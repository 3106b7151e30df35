/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdevctl status [GROUP], list-groups, list-domains: one GetStatus()
 * call each; status --cluster [GROUP]: one GetClusterStatus() call. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "hostdevctl-cluster.h"
#include "hostdevctl.h"
#include "log.h"

enum { COL_GROUP, COL_DEVICE, COL_ACTIVE, COL_MEMBERS, COL_GEN, COL_OPERATION, COL_POLICY, COL_FROZEN, _COL_MAX };

static const char *const column_names[_COL_MAX] = {
        "GROUP", "DEVICE", "ACTIVE", "MEMBERS", "GEN", "OPERATION", "POLICY", "FROZEN",
};

/* "switch/detaching", "reconciling" (busy without an operation), or "-". */
static int operation_text(const CtlGroup *g, char **ret) {
        int r;

        if (*g->operation && *g->step)
                r = asprintf(ret, "%s/%s", g->operation, g->step);
        else if (*g->operation)
                r = asprintf(ret, "%s", g->operation);
        else
                r = asprintf(ret, "%s", g->busy ? "reconciling" : "-");
        return r < 0 ? -ENOMEM : 0;
}

/* "vm-a=active vm-b=standby": '=' is in no domain name. */
static int members_text(const CtlGroup *g, bool color, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&s, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_members; i++)
                fprintf(f, "%s%s=%s%s%s", i > 0 ? " " : "", g->members[i].domain,
                        color ? ctl_role_color(g->members[i].role) : "", g->members[i].role,
                        color && *ctl_role_color(g->members[i].role) ? ctl_ansi_normal() : "");
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static int print_table(const CtlStatus *s) {
        char *cells[s->n_groups ?: 1][_COL_MAX];
        size_t width[_COL_MAX];
        int r = 0;

        memset(cells, 0, sizeof(cells));
        for (size_t c = 0; c < _COL_MAX; c++)
                width[c] = strlen(column_names[c]);

        for (size_t i = 0; i < s->n_groups && r >= 0; i++) {
                const CtlGroup *g = &s->groups[i];

                if (asprintf(&cells[i][COL_GROUP], "%s", g->name) < 0 ||
                    asprintf(&cells[i][COL_DEVICE], "%s", g->device) < 0 ||
                    asprintf(&cells[i][COL_ACTIVE], "%s", *g->active ? g->active : "-") < 0 ||
                    asprintf(&cells[i][COL_GEN], "%" PRIu64, g->generation) < 0 ||
                    asprintf(&cells[i][COL_POLICY], "%s", g->policy) < 0 ||
                    asprintf(&cells[i][COL_FROZEN], "%s", g->frozen ? "yes" : "no") < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = members_text(g, false, &cells[i][COL_MEMBERS]);
                if (r >= 0)
                        r = operation_text(g, &cells[i][COL_OPERATION]);
                for (size_t c = 0; c < _COL_MAX && r >= 0; c++)
                        if (strlen(cells[i][c]) > width[c])
                                width[c] = strlen(cells[i][c]);
        }
        if (r < 0)
                goto finish;

        printf("hostdev-had: %zu group%s, libvirt %s%s%s\n", s->n_groups, s->n_groups == 1 ? "" : "s",
               s->connected ? "" : ctl_ansi_red(), s->connected ? "connected" : "not connected",
               s->connected ? "" : ctl_ansi_normal());
        if (s->n_groups == 0)
                goto finish;
        putchar('\n');
        fputs(ctl_ansi_highlight(), stdout);
        for (size_t c = 0; c < _COL_MAX; c++)
                printf("%-*s%s", c + 1 < _COL_MAX ? (int) width[c] : 0, column_names[c], c + 1 < _COL_MAX ? "  " : "");
        printf("%s\n", ctl_ansi_normal());

        for (size_t i = 0; i < s->n_groups; i++) {
                const CtlGroup *g = &s->groups[i];

                for (size_t c = 0; c < _COL_MAX; c++) {
                        _cleanup_free_ char *colored = NULL;
                        const char *text = cells[i][c], *on = "", *off = "";
                        size_t pad = width[c] - strlen(text);

                        if (c == COL_ACTIVE && *g->active)
                                on = ctl_ansi_green();
                        else if (c == COL_OPERATION && g->busy)
                                on = ctl_ansi_yellow();
                        else if (c == COL_FROZEN && g->frozen)
                                on = ctl_ansi_yellow();
                        else if (c == COL_MEMBERS && ctl_colors() && members_text(g, true, &colored) >= 0)
                                text = colored;
                        if (*on)
                                off = ctl_ansi_normal();
                        printf("%s%s%s", on, text, off);
                        if (c + 1 < _COL_MAX)
                                printf("%*s", (int) pad + 2, "");
                }
                putchar('\n');
        }
finish:
        for (size_t i = 0; i < s->n_groups; i++)
                for (size_t c = 0; c < _COL_MAX; c++)
                        free(cells[i][c]);
        if (r < 0)
                return log_error_errno(r, "Failed to format the status: %m"), CTL_EXIT_FAILURE;
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

/* A member's guest channel (Group1.GuestChannels), shown beside its role
 * when its guest has spoken. */
typedef struct GuestChannel {
        char *domain;
        bool connected;
        uint64_t age_usec; /* since the last heartbeat; UINT64_MAX: none */
} GuestChannel;

/* Every member's channel; on any failure none (an older daemon, a group gone
 * meanwhile): the status shows no guest then. */
static size_t get_guest_channels(sd_bus *bus, const char *group, GuestChannel **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        GuestChannel *channels = NULL;
        size_t n = 0;
        const char *domain;
        uint64_t age;
        int connected, r;

        *ret = NULL;
        if (hdha_bus_group_path(group, &path) < 0 ||
            sd_bus_get_property(bus, HDHA_BUS_NAME, path, HDHA_BUS_GROUP_INTERFACE, "GuestChannels", NULL, &reply,
                                "a(sbt)") < 0 ||
            sd_bus_message_enter_container(reply, 'a', "(sbt)") < 0)
                return 0;
        while ((r = sd_bus_message_read(reply, "(sbt)", &domain, &connected, &age)) > 0) {
                GuestChannel *grown = reallocarray(channels, n + 1, sizeof(*channels));

                if (!grown)
                        break;
                channels = grown;
                channels[n].domain = strdup(domain);
                if (!channels[n].domain)
                        break;
                channels[n].connected = connected;
                channels[n++].age_usec = age;
        }
        *ret = channels;
        return n;
}

static void guest_channels_free(GuestChannel *channels, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(channels[i].domain);
        free(channels);
}

/* "  guest: heartbeat 1.2 s ago", "  guest: connected", or "". */
static void print_guest(const GuestChannel *channels, size_t n, const char *domain) {
        for (size_t i = 0; i < n; i++) {
                if (!streq(channels[i].domain, domain) || !channels[i].connected)
                        continue;
                if (channels[i].age_usec == UINT64_MAX)
                        printf("  guest: connected");
                else
                        printf("  guest: heartbeat %" PRIu64 ".%" PRIu64 " s ago", channels[i].age_usec / 1000000,
                               channels[i].age_usec / 100000 % 10);
                return;
        }
}

static void print_group(sd_bus *bus, const CtlGroup *g, bool connected) {
        _cleanup_free_ char *op = NULL;
        GuestChannel *channels;
        size_t n_channels, rw = 0;
        bool any_guest = false;
        const char *dot = ctl_ansi_grey();
        size_t w = 0;

        for (size_t i = 0; i < g->n_members; i++)
                if (strlen(g->members[i].domain) > w)
                        w = strlen(g->members[i].domain);
        for (size_t i = 0; i < g->n_members; i++)
                if (streq(g->members[i].role, "failed"))
                        dot = ctl_ansi_red();
        if (*g->active && !streq(dot, ctl_ansi_red()))
                dot = ctl_ansi_green();

        printf("%s●%s %s%s%s - device %s\n", dot, ctl_ansi_normal(), ctl_ansi_highlight(), g->name,
               ctl_ansi_normal(), g->device);
        printf("      Active: %s%s%s\n", *g->active ? ctl_ansi_green() : "", *g->active ? g->active : "none",
               *g->active ? ctl_ansi_normal() : "");
        printf("  Generation: %" PRIu64 "\n", g->generation);
        if (operation_text(g, &op) < 0)
                op = NULL;
        printf("   Operation: %s%s%s\n", g->busy ? ctl_ansi_yellow() : "",
               op && !streq(op, "-") ? op : "none", g->busy ? ctl_ansi_normal() : "");
        printf("      Policy: %s\n", g->policy);
        printf("      Frozen: %s%s%s\n", g->frozen ? ctl_ansi_yellow() : "", g->frozen ? "yes" : "no",
               g->frozen ? ctl_ansi_normal() : "");
        n_channels = get_guest_channels(bus, g->name, &channels);
        for (size_t i = 0; i < n_channels; i++)
                any_guest = any_guest || channels[i].connected;
        for (size_t i = 0; i < g->n_members; i++)
                if (strlen(g->members[i].role) > rw)
                        rw = strlen(g->members[i].role);
        for (size_t i = 0; i < g->n_members; i++) {
                /* The roles padded only when guests follow them: no
                 * trailing blanks otherwise. */
                printf("%s %-*s  %s%-*s%s", i == 0 ? "     Members:" : "             ", (int) w,
                       g->members[i].domain, ctl_role_color(g->members[i].role), any_guest ? (int) rw : 0,
                       g->members[i].role, *ctl_role_color(g->members[i].role) ? ctl_ansi_normal() : "");
                print_guest(channels, n_channels, g->members[i].domain);
                putchar('\n');
        }
        guest_channels_free(channels, n_channels);
        printf("     Libvirt: %s%s%s\n", connected ? "" : ctl_ansi_red(), connected ? "connected" : "not connected",
               connected ? "" : ctl_ansi_normal());
}

/* The daemon's own error for a group it does not have (NoSuchGroup, or
 * InvalidArgument for a bad name). */
static int fail_no_group(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "GetGroup", &error,
                               NULL, "s", name);
        if (r >= 0) /* it came in the meantime */
                return log_error("Group '%s' appeared while asking; try again.", name), CTL_EXIT_FAILURE;
        return ctl_fail_bus(&error, r, "Failed to show group '%s'", name);
}

/* status --cluster [GROUP]. */
static int status_cluster(sd_bus *bus, const char *group) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(ctl_cluster_freep) CtlCluster *c = NULL;
        int r;

        r = sd_bus_call_method(bus, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "GetClusterStatus",
                               &error, &reply, NULL);
        if (r < 0)
                return ctl_fail_bus(&error, r, "Failed to get the cluster's status");
        r = ctl_cluster_parse(reply, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the cluster's status: %m"), CTL_EXIT_FAILURE;
        if (group && !ctl_cluster_has_group(c, group))
                return fail_no_group(bus, group);

        if (arg_json) {
                json_object *o = ctl_cluster_json(c, group);

                r = ctl_json_print(o, false);
                json_object_put(o);
        } else
                r = ctl_cluster_print(c, group, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to print the cluster's status: %m"), CTL_EXIT_FAILURE;
        return CTL_EXIT_OK;
}

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_status_freep) CtlStatus *s = NULL;
        const CtlGroup *g;
        int r;

        r = ctl_bus_open(&bus);
        if (r > 0)
                return r;
        if (arg_cluster)
                return status_cluster(bus, argc >= 2 ? argv[1] : NULL);
        r = ctl_get_status(bus, &s);
        if (r > 0)
                return r;

        if (argc < 2) {
                json_object *o, *groups;

                if (!arg_json)
                        return print_table(s);
                o = json_object_new_object();
                groups = json_object_new_array();
                if (!o || !groups) {
                        json_object_put(o);
                        json_object_put(groups);
                        return log_oom(), CTL_EXIT_FAILURE;
                }
                json_object_object_add(o, "connected", json_object_new_boolean(s->connected));
                for (size_t i = 0; i < s->n_groups; i++)
                        json_object_array_add(groups, ctl_group_json(&s->groups[i]));
                json_object_object_add(o, "groups", groups);
                r = ctl_json_print(o, false);
                json_object_put(o);
                return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
        }

        g = ctl_status_find_group(s, argv[1]);
        if (!g)
                return fail_no_group(bus, argv[1]);
        if (arg_json) {
                json_object *o = ctl_group_json(g);

                if (o)
                        json_object_object_add(o, "connected", json_object_new_boolean(s->connected));
                r = ctl_json_print(o, false);
                json_object_put(o);
                return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
        }
        print_group(bus, g, s->connected);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

/* For scripts and the shell completion: names only, one per line. */
int verb_list_groups(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_status_freep) CtlStatus *s = NULL;
        int r;

        r = ctl_bus_open(&bus);
        if (r > 0)
                return r;
        r = ctl_get_status(bus, &s);
        if (r > 0)
                return r;
        for (size_t i = 0; i < s->n_groups; i++)
                puts(s->groups[i].name);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

int verb_list_domains(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_status_freep) CtlStatus *s = NULL;
        int r;

        r = ctl_bus_open(&bus);
        if (r > 0)
                return r;
        r = ctl_get_status(bus, &s);
        if (r > 0)
                return r;
        if (argc >= 2 && !ctl_status_find_group(s, argv[1]))
                return fail_no_group(bus, argv[1]);
        for (size_t i = 0; i < s->n_groups; i++) {
                const CtlGroup *g = &s->groups[i];

                if (argc >= 2 && !streq(g->name, argv[1]))
                        continue;
                for (size_t j = 0; j < g->n_members; j++)
                        puts(g->members[j].domain);
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
