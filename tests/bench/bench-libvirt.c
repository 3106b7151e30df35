/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor of the benchmark: the steps hostdev-had takes for a switch and
 * for a failover, done directly with the libvirt C API, with nothing in
 * between (no table, no bus, no worker threads, the domains looked up once
 * before the clock starts). Also the trigger and the observer of the
 * daemon's failover.
 *
 *   bench-libvirt [--uri URI] switch ALIAS DEVICE-XML FROM TO ACTIVE-QUOTA STANDBY-QUOTA PERIOD
 *       quota(TO) up, detach ALIAS from FROM, wait for DEVICE_REMOVED,
 *       attach to TO, quota(FROM) down. Prints the total in ms.
 *   bench-libvirt [--uri URI] failover ALIAS DEVICE-XML HOLDER TARGET ACTIVE-QUOTA STANDBY-QUOTA PERIOD
 *       destroy HOLDER, quota(TARGET) up, attach to TARGET, start HOLDER,
 *       quota(HOLDER) down. Prints "DEVICE-MS FULL-MS": until libvirt's
 *       DEVICE_ADDED event for ALIAS on TARGET arrived, and until the end.
 *       With BENCH_STEPS=1 in the environment, also prints the time of each
 *       step on stderr (and of a domain lookup, which the daemon does once
 *       per step).
 *   bench-libvirt [--uri URI] destroy-watch ALIAS HOLDER TARGET
 *       destroy HOLDER and wait for DEVICE_ADDED of ALIAS on TARGET (done by
 *       someone else: the daemon). Prints "T0-NS DEVICE-MS", T0 on
 *       CLOCK_MONOTONIC.
 *
 * libvirt's events are received on a thread running its default event
 * loop, as the daemon does. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define EVENT_TIMEOUT_SEC 20

typedef struct Watch {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        const char *alias;
        const char *removed_from; /* domain names the events are for */
        const char *added_to;
        bool removed, added;
        uint64_t removed_ns, added_ns;
} Watch;

static Watch watch = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .cond = PTHREAD_COND_INITIALIZER,
};

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static double ms_between(uint64_t a, uint64_t b) {
        return (double) (b - a) / 1e6;
}

static void quiet_error(void *userdata, virErrorPtr err) {
}

static int fail(const char *what, const char *name) {
        const char *msg = virGetLastErrorMessage();

        fprintf(stderr, "bench-libvirt: %s '%s' failed: %s\n", what, name, msg ?: "unknown error");
        return -EIO;
}

static bool streq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        uint64_t t = now_ns();

        pthread_mutex_lock(&watch.lock);
        if (streq(alias, watch.alias) && streq(virDomainGetName(dom), watch.removed_from) && !watch.removed) {
                watch.removed = true;
                watch.removed_ns = t;
                pthread_cond_broadcast(&watch.cond);
        }
        pthread_mutex_unlock(&watch.lock);
}

static void on_device_added(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        uint64_t t = now_ns();

        pthread_mutex_lock(&watch.lock);
        if (streq(alias, watch.alias) && streq(virDomainGetName(dom), watch.added_to) && !watch.added) {
                watch.added = true;
                watch.added_ns = t;
                pthread_cond_broadcast(&watch.cond);
        }
        pthread_mutex_unlock(&watch.lock);
}

static void *event_thread(void *userdata) {
        for (;;)
                if (virEventRunDefaultImpl() < 0)
                        break;
        return NULL;
}

/* Waits until *flag (under watch.lock) or the timeout. */
static int watch_wait(const bool *flag, const char *what) {
        struct timespec deadline;
        int r = 0;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += EVENT_TIMEOUT_SEC;
        pthread_mutex_lock(&watch.lock);
        while (!*flag && r == 0)
                r = pthread_cond_timedwait(&watch.cond, &watch.lock, &deadline);
        pthread_mutex_unlock(&watch.lock);
        if (!*flag) {
                fprintf(stderr, "bench-libvirt: no %s event for '%s' within %d s\n", what, watch.alias,
                        EVENT_TIMEOUT_SEC);
                return -ETIMEDOUT;
        }
        return 0;
}

static int set_quota(virDomainPtr dom, long long quota, unsigned long long period) {
        virTypedParameterPtr params = NULL;
        int n = 0, max = 0, r = 0;

        if (virTypedParamsAddLLong(&params, &n, &max, VIR_DOMAIN_SCHEDULER_VCPU_QUOTA, quota) < 0 ||
            (period > 0 && virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_SCHEDULER_VCPU_PERIOD, period) < 0) ||
            virDomainSetSchedulerParametersFlags(dom, params, n, VIR_DOMAIN_AFFECT_LIVE) < 0)
                r = fail("setting the vCPU quota of", virDomainGetName(dom));
        virTypedParamsFree(params, n);
        return r;
}

static int read_file(const char *path, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "bench-libvirt: cannot open '%s': %m\n", path);
                return -errno;
        }
        buf = malloc(65536);
        if (!buf)
                r = -ENOMEM;
        else {
                size = fread(buf, 1, 65535, f);
                buf[size] = 0;
                if (ferror(f))
                        r = -EIO;
        }
        fclose(f);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

static int parse_ll(const char *s, long long *ret) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end) {
                fprintf(stderr, "bench-libvirt: bad number '%s'\n", s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int do_switch(virDomainPtr from, virDomainPtr to, const char *xml, long long active_quota,
                     long long standby_quota, long long period) {
        uint64_t t[6];
        int r;

        t[0] = now_ns();
        r = set_quota(to, active_quota, (unsigned long long) period);
        if (r < 0)
                return r;
        t[1] = now_ns();
        if (virDomainDetachDeviceAlias(from, watch.alias, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return fail("detaching the device from", virDomainGetName(from));
        t[2] = now_ns();
        r = watch_wait(&watch.removed, "DEVICE_REMOVED");
        if (r < 0)
                return r;
        t[3] = now_ns();
        if (virDomainAttachDeviceFlags(to, xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return fail("attaching the device to", virDomainGetName(to));
        t[4] = now_ns();
        r = set_quota(from, standby_quota, (unsigned long long) period);
        if (r < 0)
                return r;
        t[5] = now_ns();
        printf("%.3f\n", ms_between(t[0], t[5]));

        if (getenv("BENCH_STEPS")) {
                virDomainPtr d;
                uint64_t l0, l1;

                l0 = now_ns();
                d = virDomainLookupByName(virDomainGetConnect(to), virDomainGetName(to));
                l1 = now_ns();
                if (d)
                        virDomainFree(d);
                fprintf(stderr, "steps: quota-up %.3f detach %.3f wait-removed %.3f attach %.3f quota-down %.3f lookup %.3f\n",
                        ms_between(t[0], t[1]), ms_between(t[1], t[2]), ms_between(t[2], t[3]),
                        ms_between(t[3], t[4]), ms_between(t[4], t[5]), ms_between(l0, l1));
        }
        return 0;
}

static int do_failover(virDomainPtr holder, virDomainPtr target, const char *xml, long long active_quota,
                       long long standby_quota, long long period) {
        uint64_t t0, t1;
        int r;

        t0 = now_ns();
        if (virDomainDestroy(holder) < 0)
                return fail("destroying", virDomainGetName(holder));
        r = set_quota(target, active_quota, (unsigned long long) period);
        if (r < 0)
                return r;
        if (virDomainAttachDeviceFlags(target, xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return fail("attaching the device to", virDomainGetName(target));
        if (virDomainCreate(holder) < 0)
                return fail("starting", virDomainGetName(holder));
        r = set_quota(holder, standby_quota, (unsigned long long) period);
        if (r < 0)
                return r;
        t1 = now_ns();
        r = watch_wait(&watch.added, "DEVICE_ADDED");
        if (r < 0)
                return r;
        printf("%.3f %.3f\n", ms_between(t0, watch.added_ns), ms_between(t0, t1));
        return 0;
}

static int do_destroy_watch(virDomainPtr holder) {
        uint64_t t0;
        int r;

        t0 = now_ns();
        if (virDomainDestroy(holder) < 0)
                return fail("destroying", virDomainGetName(holder));
        r = watch_wait(&watch.added, "DEVICE_ADDED");
        if (r < 0)
                return r;
        printf("%" PRIu64 " %.3f\n", t0, ms_between(t0, watch.added_ns));
        return 0;
}

static int usage(void) {
        fprintf(stderr,
                "usage: bench-libvirt [--uri URI] switch ALIAS DEVICE-XML FROM TO ACTIVE-QUOTA STANDBY-QUOTA PERIOD\n"
                "       bench-libvirt [--uri URI] failover ALIAS DEVICE-XML HOLDER TARGET ACTIVE-QUOTA STANDBY-QUOTA PERIOD\n"
                "       bench-libvirt [--uri URI] destroy-watch ALIAS HOLDER TARGET\n");
        return 2;
}

int main(int argc, char *argv[]) {
        const char *uri = NULL, *verb, *name_a, *name_b;
        virDomainPtr a = NULL, b = NULL;
        virConnectPtr conn = NULL;
        long long aq = 0, sq = 0, period = 0;
        int id_removed = -1, id_added = -1;
        char *xml = NULL;
        pthread_t thread;
        int r;

        if (argc > 2 && strcmp(argv[1], "--uri") == 0) {
                uri = argv[2];
                argv += 2;
                argc -= 2;
        }
        if (argc < 2)
                return usage();
        verb = argv[1];
        if (streq(verb, "switch") || streq(verb, "failover")) {
                if (argc != 9)
                        return usage();
                if (read_file(argv[3], &xml) < 0 || parse_ll(argv[6], &aq) < 0 || parse_ll(argv[7], &sq) < 0 ||
                    parse_ll(argv[8], &period) < 0)
                        return 1;
        } else if (streq(verb, "destroy-watch")) {
                if (argc != 5)
                        return usage();
        } else
                return usage();

        virSetErrorFunc(NULL, quiet_error);
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
                fprintf(stderr, "bench-libvirt: cannot initialize libvirt\n");
                return 1;
        }
        r = -EIO;
        conn = virConnectOpen(uri);
        if (!conn) {
                fail("connecting to", uri ?: "the default URI");
                goto finish;
        }

        watch.alias = argv[2];
        name_a = streq(verb, "destroy-watch") ? argv[3] : argv[4];
        name_b = streq(verb, "destroy-watch") ? argv[4] : argv[5];
        a = virDomainLookupByName(conn, name_a);
        if (!a) {
                fail("looking up", name_a);
                goto finish;
        }
        b = virDomainLookupByName(conn, name_b);
        if (!b) {
                fail("looking up", name_b);
                goto finish;
        }
        watch.removed_from = virDomainGetName(a);
        watch.added_to = virDomainGetName(b);

        id_removed = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                                      VIR_DOMAIN_EVENT_CALLBACK(on_device_removed), NULL, NULL);
        id_added = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                                    VIR_DOMAIN_EVENT_CALLBACK(on_device_added), NULL, NULL);
        if (id_removed < 0 || id_added < 0) {
                fail("registering for device events on", uri ?: "the default URI");
                goto finish;
        }
        if (pthread_create(&thread, NULL, event_thread, NULL) != 0) {
                fprintf(stderr, "bench-libvirt: cannot start the event thread\n");
                goto finish;
        }

        if (streq(verb, "switch"))
                r = do_switch(a, b, xml, aq, sq, period);
        else if (streq(verb, "failover"))
                r = do_failover(a, b, xml, aq, sq, period);
        else
                r = do_destroy_watch(a);
        fflush(stdout);

finish:
        if (id_removed >= 0)
                (void) virConnectDomainEventDeregisterAny(conn, id_removed);
        if (id_added >= 0)
                (void) virConnectDomainEventDeregisterAny(conn, id_added);
        /* The event thread is left running: exit() ends it. */
        if (a)
                virDomainFree(a);
        if (b)
                virDomainFree(b);
        if (conn)
                virConnectClose(conn);
        free(xml);
        return r < 0 ? 1 : 0;
}
