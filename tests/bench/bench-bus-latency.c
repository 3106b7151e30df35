/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's side of the benchmark, over the system bus (sd-bus honours
 * DBUS_SYSTEM_BUS_ADDRESS). Connections are set up before the clock starts.
 *
 *   bench-bus-latency switch GROUP DOMAIN
 *       Manager1.Switch(GROUP, DOMAIN, false); prints the time from the
 *       call to its reply, in ms.
 *   bench-bus-latency get-during-switch GROUP DOMAIN PROPERTY
 *       sends Switch on one connection and, until its reply, reads PROPERTY
 *       of the group (Properties.Get) in a loop on a second connection.
 *       Prints the switch's time in ms, then one line per read: its latency
 *       in microseconds.
 *   bench-bus-latency get-idle GROUP PROPERTY MS
 *       the same reads for MS milliseconds with nothing in flight (the
 *       baseline of the machine): one line per read, in microseconds.
 *   bench-bus-latency wait-op GROUP
 *       prints "ready", then waits for the group to become busy and idle
 *       again (PropertiesChanged of Busy) and prints "CHANGED-NS IDLE-NS":
 *       when ConnectionChanged for GROUP came and when Busy went false, on
 *       CLOCK_MONOTONIC (0 for a signal that never came). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#define BUS_NAME "org.hostdevha.Manager1"
#define MANAGER_PATH "/org/hostdevha/Manager1"
#define MANAGER_INTERFACE "org.hostdevha.Manager1"
#define GROUP_PATH_PREFIX "/org/hostdevha/Manager1/group"
#define GROUP_INTERFACE "org.hostdevha.Group1"
#define SWITCH_TIMEOUT_USEC (120 * UINT64_C(1000000))
#define WAIT_TIMEOUT_USEC (120 * UINT64_C(1000000))
#define MAX_SAMPLES 1000000

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static int open_bus(sd_bus **ret) {
        int r;

        r = sd_bus_open_system(ret);
        if (r < 0)
                fprintf(stderr, "bench-bus-latency: cannot connect to the system bus: %s\n", strerror(-r));
        return r;
}

static int group_path(const char *group, char **ret) {
        int r;

        r = sd_bus_path_encode(GROUP_PATH_PREFIX, group, ret);
        if (r < 0)
                fprintf(stderr, "bench-bus-latency: bad group name '%s'\n", group);
        return r;
}

static int do_switch(const char *group, const char *domain) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        uint64_t t0, t1;
        int r;

        r = open_bus(&bus);
        if (r < 0)
                return r;
        t0 = now_ns();
        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "Switch", &error, &reply, "ssb",
                               group, domain, 0);
        t1 = now_ns();
        if (r < 0)
                fprintf(stderr, "bench-bus-latency: Switch('%s', '%s') failed: %s\n", group, domain,
                        error.message ?: strerror(-r));
        else
                printf("%.3f\n", (double) (t1 - t0) / 1e6);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return r;
}

/* One Properties.Get; its latency in microseconds. */
static int get_once(sd_bus *bus, const char *path, const char *property, uint32_t *ret_usec) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        uint64_t a, b;
        int r;

        a = now_ns();
        r = sd_bus_get_property(bus, BUS_NAME, path, GROUP_INTERFACE, property, &error, &reply,
                                property[0] == 'G' ? "t" : "s");
        b = now_ns();
        if (r < 0) {
                fprintf(stderr, "bench-bus-latency: Get('%s') failed: %s\n", property, error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        sd_bus_message_unref(reply);
        *ret_usec = (uint32_t) ((b - a) / 1000);
        return 0;
}

static int do_get_idle(const char *group, const char *property, uint64_t msec) {
        uint32_t *samples = NULL;
        sd_bus *bus = NULL;
        char *path = NULL;
        size_t n = 0;
        uint64_t t0;
        int r;

        r = group_path(group, &path);
        if (r < 0)
                return r;
        samples = malloc(MAX_SAMPLES * sizeof(*samples));
        if (!samples) {
                r = -ENOMEM;
                goto finish;
        }
        r = open_bus(&bus);
        if (r < 0)
                goto finish;
        t0 = now_ns();
        while (n < MAX_SAMPLES && now_ns() - t0 < msec * 1000000) {
                r = get_once(bus, path, property, &samples[n]);
                if (r < 0)
                        goto finish;
                n++;
        }
        for (size_t i = 0; i < n; i++)
                printf("%" PRIu32 "\n", samples[i]);
        r = 0;

finish:
        sd_bus_flush_close_unref(bus);
        free(samples);
        free(path);
        return r;
}

typedef struct SwitchCall {
        bool done;
        int r;
        uint64_t end_ns;
} SwitchCall;

static int on_switch_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SwitchCall *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        c->end_ns = now_ns();
        c->done = true;
        c->r = 0;
        if (e) {
                fprintf(stderr, "bench-bus-latency: Switch failed: %s\n", e->message ?: e->name);
                c->r = -EIO;
        }
        return 0;
}

static int do_get_during_switch(const char *group, const char *domain, const char *property) {
        sd_bus *call_bus = NULL, *get_bus = NULL;
        sd_bus_slot *slot = NULL;
        SwitchCall call = {};
        uint32_t *samples = NULL;
        size_t n = 0;
        char *path = NULL;
        uint64_t t0;
        int r;

        r = group_path(group, &path);
        if (r < 0)
                return r;
        samples = malloc(MAX_SAMPLES * sizeof(*samples));
        if (!samples) {
                r = -ENOMEM;
                goto finish;
        }
        r = open_bus(&call_bus);
        if (r < 0)
                goto finish;
        r = open_bus(&get_bus);
        if (r < 0)
                goto finish;

        t0 = now_ns();
        r = sd_bus_call_method_async(call_bus, &slot, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "Switch",
                                     on_switch_reply, &call, "ssb", group, domain, 0);
        if (r < 0) {
                fprintf(stderr, "bench-bus-latency: cannot send Switch: %s\n", strerror(-r));
                goto finish;
        }
        r = sd_bus_flush(call_bus);
        if (r < 0)
                goto finish;

        while (!call.done) {
                uint32_t usec;

                r = get_once(get_bus, path, property, &usec);
                if (r < 0)
                        goto finish;
                if (n < MAX_SAMPLES)
                        samples[n++] = usec;

                /* Has the switch's reply come? */
                do
                        r = sd_bus_process(call_bus, NULL);
                while (r > 0 && !call.done);
                if (r < 0)
                        goto finish;
                if (now_ns() - t0 > SWITCH_TIMEOUT_USEC * 1000) {
                        fprintf(stderr, "bench-bus-latency: Switch did not answer in time\n");
                        r = -ETIMEDOUT;
                        goto finish;
                }
        }
        r = call.r;
        if (r < 0)
                goto finish;
        printf("%.3f\n", (double) (call.end_ns - t0) / 1e6);
        for (size_t i = 0; i < n; i++)
                printf("%" PRIu32 "\n", samples[i]);

finish:
        sd_bus_slot_unref(slot);
        sd_bus_flush_close_unref(call_bus);
        sd_bus_flush_close_unref(get_bus);
        free(samples);
        free(path);
        return r;
}

typedef struct OpWatch {
        const char *group;
        bool busy_seen, idle;
        uint64_t changed_ns, idle_ns;
} OpWatch;

static int on_connection_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        OpWatch *w = userdata;
        const char *group;

        if (sd_bus_message_read(m, "s", &group) >= 0 && strcmp(group, w->group) == 0 && w->changed_ns == 0)
                w->changed_ns = now_ns();
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        OpWatch *w = userdata;
        uint64_t t = now_ns();
        const char *name;
        int r, busy;

        r = sd_bus_message_skip(m, "s");
        if (r < 0)
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &name) < 0)
                        return 0;
                if (strcmp(name, "Busy") == 0) {
                        if (sd_bus_message_read(m, "v", "b", &busy) < 0)
                                return 0;
                        if (busy)
                                w->busy_seen = true;
                        else if (w->busy_seen && !w->idle) {
                                w->idle = true;
                                w->idle_ns = t;
                        }
                } else if (sd_bus_message_skip(m, "v") < 0)
                        return 0;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        return 0;
}

static int do_wait_op(const char *group) {
        OpWatch w = { .group = group };
        sd_bus_slot *s1 = NULL, *s2 = NULL;
        sd_bus *bus = NULL;
        char *path = NULL, *match = NULL;
        uint64_t t0;
        int r;

        r = group_path(group, &path);
        if (r < 0)
                return r;
        r = open_bus(&bus);
        if (r < 0)
                goto finish;
        if (asprintf(&match,
                     "type='signal',sender='" BUS_NAME "',path='%s',interface='org.freedesktop.DBus.Properties',"
                     "member='PropertiesChanged',arg0='" GROUP_INTERFACE "'", path) < 0) {
                match = NULL;
                r = -ENOMEM;
                goto finish;
        }
        r = sd_bus_add_match(bus, &s1, match, on_properties_changed, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &s2, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "ConnectionChanged",
                                        on_connection_changed, &w);
        if (r < 0) {
                fprintf(stderr, "bench-bus-latency: cannot add the matches: %s\n", strerror(-r));
                goto finish;
        }
        printf("ready\n");
        fflush(stdout);

        t0 = now_ns();
        while (!w.idle) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        goto finish;
                if (r > 0)
                        continue;
                if (now_ns() - t0 > WAIT_TIMEOUT_USEC * 1000) {
                        fprintf(stderr, "bench-bus-latency: group '%s' did not go busy and idle in time\n", group);
                        r = -ETIMEDOUT;
                        goto finish;
                }
                r = sd_bus_wait(bus, 100000);
                if (r < 0)
                        goto finish;
        }
        printf("%" PRIu64 " %" PRIu64 "\n", w.changed_ns, w.idle_ns);
        r = 0;

finish:
        sd_bus_slot_unref(s1);
        sd_bus_slot_unref(s2);
        sd_bus_flush_close_unref(bus);
        free(match);
        free(path);
        return r;
}

static int usage(void) {
        fprintf(stderr, "usage: bench-bus-latency switch GROUP DOMAIN\n"
                        "       bench-bus-latency get-during-switch GROUP DOMAIN Active|Generation\n"
                        "       bench-bus-latency get-idle GROUP Active|Generation MS\n"
                        "       bench-bus-latency wait-op GROUP\n");
        return 2;
}

int main(int argc, char *argv[]) {
        int r;

        if (argc == 4 && strcmp(argv[1], "switch") == 0)
                r = do_switch(argv[2], argv[3]);
        else if (argc == 5 && strcmp(argv[1], "get-during-switch") == 0) {
                if (strcmp(argv[4], "Active") != 0 && strcmp(argv[4], "Generation") != 0)
                        return usage();
                r = do_get_during_switch(argv[2], argv[3], argv[4]);
        } else if (argc == 5 && strcmp(argv[1], "get-idle") == 0) {
                char *end;
                unsigned long long ms;

                errno = 0;
                ms = strtoull(argv[4], &end, 10);
                if (errno != 0 || end == argv[4] || *end || ms == 0 ||
                    (strcmp(argv[3], "Active") != 0 && strcmp(argv[3], "Generation") != 0))
                        return usage();
                r = do_get_idle(argv[2], argv[3], ms);
        } else if (argc == 3 && strcmp(argv[1], "wait-op") == 0)
                r = do_wait_op(argv[2]);
        else
                return usage();
        fflush(stdout);
        return r < 0 ? 1 : 0;
}
