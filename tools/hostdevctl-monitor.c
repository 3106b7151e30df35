/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdevctl monitor: every signal of hostdev-had as it arrives, one line
 * each (text or JSON), until SIGINT or SIGTERM. Follows the daemon across
 * restarts (NameOwnerChanged). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "bus-util.h"
#include "hostdevctl.h"
#include "log.h"

static int timestamp(char *buf, size_t size, json_object **ret_usec) {
        struct timespec ts;
        struct tm tm;
        size_t n;

        clock_gettime(CLOCK_REALTIME, &ts);
        if (!localtime_r(&ts.tv_sec, &tm))
                return -EINVAL;
        n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        if (n == 0)
                return -EINVAL;
        (void) snprintf(buf + n, size - n, ".%06ld", ts.tv_nsec / 1000);
        if (ret_usec)
                *ret_usec = json_object_new_uint64((uint64_t) ts.tv_sec * UINT64_C(1000000) +
                                                   (uint64_t) ts.tv_nsec / 1000);
        return 0;
}

/* One event: text "TIME GROUP EVENT: TEXT", or a JSON object with
 * timestamp, realtime_usec, group, event and the fields in o. */
static void emit(const char *group, const char *event, json_object *o, const char *text) {
        char ts[64] = "";
        json_object *usec = NULL;

        (void) timestamp(ts, sizeof(ts), arg_json ? &usec : NULL);
        if (arg_json) {
                json_object *line = json_object_new_object();

                if (!line) {
                        json_object_put(usec);
                        json_object_put(o);
                        return;
                }
                json_object_object_add(line, "timestamp", json_object_new_string(ts));
                json_object_object_add(line, "realtime_usec", usec);
                json_object_object_add(line, "group", group ? json_object_new_string(group) : NULL);
                json_object_object_add(line, "event", json_object_new_string(event));
                if (o) {
                        json_object_object_foreach(o, k, v)
                                json_object_object_add(line, k, json_object_get(v));
                }
                (void) ctl_json_print(line, true);
                json_object_put(line);
        } else {
                printf("%s%s%s %s %s%s%s: %s\n", ctl_ansi_grey(), ts, ctl_ansi_normal(), group ?: "-",
                       ctl_ansi_highlight(), event, ctl_ansi_normal(), text);
                fflush(stdout);
        }
        json_object_put(o);
}

static const char *holder(const char *s) {
        return *s ? s : "(none)";
}

static int on_connection_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *group, *old, *new;
        _cleanup_free_ char *text = NULL;
        uint64_t generation;
        json_object *o;

        if (sd_bus_message_read(m, "ssst", &group, &old, &new, &generation) < 0)
                return 0;
        if (asprintf(&text, "device %s -> %s (generation %" PRIu64 ")", holder(old), holder(new), generation) < 0)
                return -ENOMEM;
        o = json_object_new_object();
        if (o) {
                json_object_object_add(o, "old_holder", *old ? json_object_new_string(old) : NULL);
                json_object_object_add(o, "new_holder", *new ? json_object_new_string(new) : NULL);
                json_object_object_add(o, "generation", json_object_new_uint64(generation));
        }
        emit(group, "ConnectionChanged", o, text);
        return 0;
}

static int on_member_failed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *group, *domain, *reason;
        _cleanup_free_ char *text = NULL;
        json_object *o;

        if (sd_bus_message_read(m, "sss", &group, &domain, &reason) < 0)
                return 0;
        if (asprintf(&text, "%s'%s' failed%s: %s", ctl_ansi_red(), domain, ctl_ansi_normal(), reason) < 0)
                return -ENOMEM;
        o = json_object_new_object();
        if (o) {
                json_object_object_add(o, "domain", json_object_new_string(domain));
                json_object_object_add(o, "reason", json_object_new_string(reason));
        }
        emit(group, "MemberFailed", o, text);
        return 0;
}

static int on_guest_request(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *group, *domain, *request, *reason;
        _cleanup_free_ char *text = NULL;
        json_object *o;
        int accepted;

        if (sd_bus_message_read(m, "sssbs", &group, &domain, &request, &accepted, &reason) < 0)
                return 0;
        if (asprintf(&text, "the guest of '%s' asked for %s: %s (%s)", domain, request,
                     accepted ? "accepted" : "refused", reason) < 0)
                return -ENOMEM;
        o = json_object_new_object();
        if (o) {
                json_object_object_add(o, "domain", json_object_new_string(domain));
                json_object_object_add(o, "request", json_object_new_string(request));
                json_object_object_add(o, "accepted", json_object_new_boolean(accepted));
                json_object_object_add(o, "reason", json_object_new_string(reason));
        }
        emit(group, "GuestRequest", o, text);
        return 0;
}

/* A variant's value as JSON and as text (appended to f). */
static int read_value(sd_bus_message *m, FILE *f, json_object **ret) {
        const char *contents, *s;
        char type;
        uint64_t t;
        int b, r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EINVAL;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        if (streq(contents, "s") || streq(contents, "o")) {
                r = sd_bus_message_read_basic(m, contents[0], &s);
                if (r < 0)
                        return r;
                fprintf(f, "'%s'", s);
                *ret = json_object_new_string(s);
        } else if (streq(contents, "b")) {
                r = sd_bus_message_read(m, "b", &b);
                if (r < 0)
                        return r;
                fputs(b ? "yes" : "no", f);
                *ret = json_object_new_boolean(b);
        } else if (streq(contents, "t")) {
                r = sd_bus_message_read(m, "t", &t);
                if (r < 0)
                        return r;
                fprintf(f, "%" PRIu64, t);
                *ret = json_object_new_uint64(t);
        } else if (streq(contents, "a(ss)")) {
                const char *a, *c;
                json_object *arr = json_object_new_array();
                bool first = true;

                r = sd_bus_message_enter_container(m, 'a', "(ss)");
                if (r < 0) {
                        json_object_put(arr);
                        return r;
                }
                while ((r = sd_bus_message_read(m, "(ss)", &a, &c)) > 0) {
                        json_object *e = json_object_new_object();

                        fprintf(f, "%s%s=%s", first ? "" : " ", a, c);
                        first = false;
                        json_object_object_add(e, "domain", json_object_new_string(a));
                        json_object_object_add(e, "role", json_object_new_string(c));
                        json_object_array_add(arr, e);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0) {
                        json_object_put(arr);
                        return r;
                }
                *ret = arr;
        } else if (streq(contents, "ao")) {
                json_object *arr = json_object_new_array();
                bool first = true;

                r = sd_bus_message_enter_container(m, 'a', "o");
                if (r < 0) {
                        json_object_put(arr);
                        return r;
                }
                while ((r = sd_bus_message_read(m, "o", &s)) > 0) {
                        _cleanup_free_ char *name = NULL;

                        if (hdha_bus_group_from_path(s, &name) <= 0)
                                continue;
                        fprintf(f, "%s%s", first ? "" : " ", name);
                        first = false;
                        json_object_array_add(arr, json_object_new_string(name));
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0) {
                        json_object_put(arr);
                        return r;
                }
                *ret = arr;
        } else {
                r = sd_bus_message_skip(m, contents);
                if (r < 0)
                        return r;
                fputs("?", f);
                *ret = NULL;
        }
        return sd_bus_message_exit_container(m);
}

/* PropertiesChanged of a group ("Active='vm-b' Generation=43") or of the
 * manager (Connected, Groups). */
static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ char *group = NULL, *text = NULL;
        const char *iface, *name, *path = sd_bus_message_get_path(m);
        json_object *changed, *o;
        size_t len = 0;
        bool first = true;
        FILE *f;
        int r;

        if (!path || sd_bus_message_read(m, "s", &iface) < 0)
                return 0;
        if (streq(iface, HDHA_BUS_GROUP_INTERFACE)) {
                if (hdha_bus_group_from_path(path, &group) <= 0)
                        return 0;
        } else if (!streq(iface, HDHA_BUS_MANAGER_INTERFACE))
                return 0;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return 0;
        changed = json_object_new_object();
        f = open_memstream(&text, &len);
        if (!changed || !f) {
                json_object_put(changed);
                if (f)
                        fclose(f);
                return -ENOMEM;
        }
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                json_object *v = NULL;

                if (sd_bus_message_read(m, "s", &name) < 0)
                        break;
                fprintf(f, "%s%s=", first ? "" : " ", name);
                first = false;
                if (read_value(m, f, &v) < 0 || sd_bus_message_exit_container(m) < 0) {
                        json_object_put(v);
                        break;
                }
                json_object_object_add(changed, name, v);
        }
        if (fclose(f) != 0) {
                json_object_put(changed);
                return -ENOMEM;
        }
        if (first) { /* only invalidated ones: nothing to show */
                json_object_put(changed);
                return 0;
        }
        o = json_object_new_object();
        if (o)
                json_object_object_add(o, "changed", changed);
        else
                json_object_put(changed);
        emit(group, "PropertiesChanged", o, text);
        return 0;
}

static int on_interfaces(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ char *group = NULL;
        const char *path;
        bool added = streq(sd_bus_message_get_member(m), "InterfacesAdded");

        if (sd_bus_message_read(m, "o", &path) < 0 || hdha_bus_group_from_path(path, &group) <= 0)
                return 0;
        emit(group, added ? "GroupAdded" : "GroupRemoved", NULL, added ? "group added" : "group removed");
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old, *new;
        json_object *o;

        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 || !streq(name, HDHA_BUS_NAME))
                return 0;
        o = json_object_new_object();
        if (o)
                json_object_object_add(o, "running", json_object_new_boolean(*new));
        emit(NULL, *new ? "DaemonStarted" : "DaemonStopped", o,
             *new ? "hostdev-had is running" : "hostdev-had stopped");
        return 0;
}

int verb_monitor(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_event *event = NULL;
        sigset_t mask;
        int r;

        r = ctl_bus_open(&bus);
        if (r > 0)
                return r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        /* Floating matches, added synchronously: once the line below is
         * printed, nothing is missed. */
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE,
                                        "ConnectionChanged", on_connection_changed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE,
                                        "MemberFailed", on_member_failed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, HDHA_BUS_NAME, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE,
                                        "GuestRequest", on_guest_request, NULL);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='" HDHA_BUS_NAME "',"
                                     "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                                     "path_namespace='" HDHA_BUS_PATH "'",
                                     on_properties_changed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, HDHA_BUS_NAME, HDHA_BUS_PATH,
                                        "org.freedesktop.DBus.ObjectManager", NULL, on_interfaces, NULL);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                     "member='NameOwnerChanged',arg0='" HDHA_BUS_NAME "'",
                                     on_name_owner_changed, NULL);
        if (r < 0) {
                sd_event_unref(event);
                return ctl_fail_bus(NULL, r, "Failed to subscribe to the signals of hostdev-had");
        }
        if (!arg_json)
                fprintf(stderr, "Monitoring hostdev-had on the system bus; ^C to stop.\n");
        else
                fprintf(stderr, "Monitoring hostdev-had (JSON, one object per line).\n");

        r = sd_event_loop(event);
        bus = sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), CTL_EXIT_FAILURE;
        return CTL_EXIT_OK;
}
