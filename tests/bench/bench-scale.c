/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cost of one group's operation as the number of groups grows: the
 * state machine, the allocation table's real files (on the disk of the
 * folder given) and, when a bus is there, the daemon's D-Bus objects and
 * signals, driven by the fake hypervisor (tests/unit/fake-hypervisor.c),
 * whose calls complete at once.
 *
 *   bench-scale [--rounds R] [--dir DIR] [--no-bus] N...
 *
 * One host of N groups for each N (groups of 2 and 3 members, policy auto,
 * DeviceXML=), all set up first and then measured round by round in turn,
 * so that the noise of a shared machine hits every size alike. Per size:
 * a switch of one group and a failover of one group (its holder killed,
 * the standby given the device, the killed one rebuilt) while the others
 * idle; every group failed over at once (every holder killed together);
 * the journal's compaction right after that (every group's file written
 * again: hdha_table_save(), which the daemon runs once the journal passes
 * 8 MiB); a restart (configuration and table read, every member inspected,
 * reconciled); the bytes and durable table writes of a switch and of
 * every group at once (write(2) bytes from /proc/self/io; fdatasync(2)
 * calls, one per append to the journal, and rename(2) calls, one per file
 * replaced), and the heap a group costs. Wall
 * time on CLOCK_MONOTONIC, CPU time of the process (the fake hypervisor's
 * share included, which does not grow with N). Prints medians, and each
 * size beside the first.
 *
 * With DBUS_SYSTEM_BUS_ADDRESS set (make bench-scale starts a private
 * dbus-daemon), each host has its bus objects and emits its signals as
 * the daemon does; no name is requested. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "fake-hypervisor.h"
#include "log.h"
#include "manager.h"

#define SIZES_MAX 8
#define ROUNDS_MAX 1000

int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

/* durable_writes: appends to the journal and files replaced; flushes:
 * fsync(2) and fdatasync(2) calls, files and folders alike. */
static unsigned long long durable_writes, flushes;

int __wrap_rename(const char *from, const char *to) {
        durable_writes++;
        return __real_rename(from, to);
}

int __wrap_fdatasync(int fd) {
        durable_writes++;
        flushes++;
        return __real_fdatasync(fd);
}

int __wrap_fsync(int fd) {
        flushes++;
        return __real_fsync(fd);
}

typedef struct Timer {
        void (*fn)(void *);
        void *userdata;
        bool idle;
        struct Timer *prev, *next;
} Timer;

/* What one measurement gives. */
typedef struct Sample {
        double wall_ms, cpu_ms;
        unsigned long long bytes, writes, flushes;
} Sample;

typedef struct Host {
        unsigned n_groups;
        char dir[512];
        FILE *transcript;
        HdhaHypervisor *hv;
        HdhaManager *m;
        sd_event *event;
        HdhaBus *bus;
        Timer *timers; /* never due: the fake's calls complete at once */
        Timer *idles;  /* the table's writes waiting for the completions */
        bool reconciled;
        unsigned long op_done, op_failed;
        size_t heap_per_group;
        Sample sw[ROUNDS_MAX], fo[ROUNDS_MAX], all[ROUNDS_MAX], compact[ROUNDS_MAX], start[ROUNDS_MAX];
} Host;

static bool use_bus = true;

static void die(const char *what, int r) {
        fprintf(stderr, "bench-scale: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

static double now_ms(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static unsigned long long io_wchar(void) {
        unsigned long long v = 0;
        char line[128];
        FILE *f = fopen("/proc/self/io", "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "wchar: %llu", &v) == 1)
                        break;
        fclose(f);
        return v;
}

typedef struct Mark {
        double wall, cpu;
        unsigned long long wchar, durable_writes, flushes;
} Mark;

static Mark mark(void) {
        return (Mark) { now_ms(CLOCK_MONOTONIC), now_ms(CLOCK_PROCESS_CPUTIME_ID), io_wchar(), durable_writes,
                        flushes };
}

static Sample since(Mark a) {
        Mark b = mark();

        return (Sample) { b.wall - a.wall, b.cpu - a.cpu, b.wchar - a.wchar, b.durable_writes - a.durable_writes,
                          b.flushes - a.flushes };
}

/* --- The environment, as main.c wires it (timers never due here) ------------ */

static int timer_add(Timer **list, bool idle, void (*fn)(void *), void *fn_userdata, void **ret) {
        Timer *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        *t = (Timer) { .fn = fn, .userdata = fn_userdata, .idle = idle, .next = *list };
        if (*list)
                (*list)->prev = t;
        *list = t;
        *ret = t;
        return 0;
}

static int env_timer_start(void *userdata, uint64_t usec, void (*fn)(void *), void *fn_userdata, void **ret) {
        Host *h = userdata;

        return timer_add(&h->timers, false, fn, fn_userdata, ret);
}

/* As the daemon's loop: after the completions waiting (settle()). */
static int env_idle_start(void *userdata, void (*fn)(void *), void *fn_userdata, void **ret) {
        Host *h = userdata;

        return timer_add(&h->idles, true, fn, fn_userdata, ret);
}

static void env_timer_stop(void *userdata, void *timer) {
        Host *h = userdata;
        Timer *t = timer;

        if (t->prev)
                t->prev->next = t->next;
        else if (t->idle)
                h->idles = t->next;
        else
                h->timers = t->next;
        if (t->next)
                t->next->prev = t->prev;
        free(t);
}

static void env_group_changed(void *userdata, const char *group) {
        Host *h = userdata;

        if (h->bus)
                hdha_bus_group_changed(h->bus, group);
}

static void env_connection_changed(void *userdata, const char *group, const char *old, const char *new,
                                   uint64_t generation) {
        Host *h = userdata;

        if (h->bus)
                hdha_bus_connection_changed(h->bus, group, old, new, generation);
}

static void env_member_failed(void *userdata, const char *group, const char *domain, const char *reason) {
        Host *h = userdata;

        if (h->bus)
                hdha_bus_member_failed(h->bus, group, domain, reason);
}

static void env_connected_changed(void *userdata, bool connected) {
        Host *h = userdata;

        if (h->bus)
                hdha_bus_connected_changed(h->bus);
}

static void env_reconciled(void *userdata) {
        Host *h = userdata;

        h->reconciled = true;
}

static void discard_log(int level, const char *line, void *userdata) {
}

/* --- A host of N groups ------------------------------------------------------- */

static void group_name(char *buf, size_t size, unsigned i) {
        snprintf(buf, size, "g%04u", i);
}

static unsigned n_members(unsigned i) {
        return 2 + i % 2;
}

static void member_name(char *buf, size_t size, unsigned i, unsigned k) {
        snprintf(buf, size, "g%04u-%c", i, 'a' + k);
}

static void write_config(Host *h) {
        char path[700], name[32], dom[32];
        FILE *f;

        snprintf(path, sizeof(path), "%s/hostdev-ha.conf", h->dir);
        f = fopen(path, "we");
        if (!f)
                die(path, errno);
        fprintf(f, "[Daemon]\nStateDirectory=%s/state\n", h->dir);
        fclose(f);
        snprintf(path, sizeof(path), "%s/groups.d", h->dir);
        if (mkdir(path, 0755) < 0)
                die(path, errno);
        snprintf(path, sizeof(path), "%s/state", h->dir);
        if (mkdir(path, 0755) < 0)
                die(path, errno);

        for (unsigned i = 0; i < h->n_groups; i++) {
                /* One device each: the lab's stand-in NIC, its own MAC. */
                group_name(name, sizeof(name), i);
                snprintf(path, sizeof(path), "%s/%s.xml", h->dir, name);
                f = fopen(path, "we");
                if (!f)
                        die(path, errno);
                fprintf(f, "<interface type='user'><mac address='52:54:00:00:%02x:%02x'/>"
                        "<model type='e1000e'/></interface>\n", i / 256, i % 256);
                fclose(f);
                snprintf(path, sizeof(path), "%s/groups.d/%s.conf", h->dir, name);
                f = fopen(path, "we");
                if (!f)
                        die(path, errno);
                fprintf(f, "[Group]\nDeviceXML=%s/%s.xml\nPolicy=auto\nDomains=", h->dir, name);
                for (unsigned k = 0; k < n_members(i); k++) {
                        member_name(dom, sizeof(dom), i, k);
                        fprintf(f, "%s%s", k ? " " : "", dom);
                }
                fputc('\n', f);
                fclose(f);
        }
}

/* Every member running, the first holding its group's device. */
static void make_domains(Host *h) {
        for (unsigned i = 0; i < h->n_groups; i++) {
                char name[32], alias[64], doms[3][32];
                const char *list[3];

                group_name(name, sizeof(name), i);
                snprintf(alias, sizeof(alias), "ua-hostdev-%s", name);
                for (unsigned k = 0; k < n_members(i); k++) {
                        FakeDomain *d;

                        member_name(doms[k], sizeof(doms[k]), i, k);
                        list[k] = doms[k];
                        d = fake_hv_domain(h->hv, doms[k]);
                        d->running = true;
                        d->has_device = k == 0;
                }
                fake_hv_set_group(h->hv, alias, list, n_members(i));
        }
}

/* Runs the fake hypervisor, the table's writes and the bus until nothing
 * is left to do. */
static void settle(Host *h) {
        for (;;) {
                unsigned n = fake_hv_run(h->hv);

                while (h->idles) {
                        Timer *t = h->idles;
                        void (*fn)(void *) = t->fn;
                        void *ud = t->userdata;

                        env_timer_stop(h, t);
                        fn(ud);
                        n++;
                }

                if (h->event)
                        while (sd_event_run(h->event, 0) > 0)
                                n++;
                if (n == 0)
                        return;
        }
}

static void host_start(Host *h) {
        HdhaManagerEnv env = {
                .timer_start = env_timer_start,
                .timer_stop = env_timer_stop,
                .idle_start = env_idle_start,
                .group_changed = env_group_changed,
                .connection_changed = env_connection_changed,
                .member_failed = env_member_failed,
                .connected_changed = env_connected_changed,
                .reconciled = env_reconciled,
                .userdata = h,
        };
        HdhaBusEnv bus_env = {};
        _cleanup_free_ char *table_path = NULL, *message = NULL;
        HdhaConfigErrors errors = {};
        HdhaConfig *config = NULL;
        int r;

        r = hdha_config_load(h->dir, &config, &errors);
        if (r < 0) {
                hdha_config_errors_print(&errors, stderr);
                die("configuration", r);
        }
        hdha_config_errors_done(&errors);
        r = hdha_table_path(config->state_directory, &table_path);
        if (r < 0)
                die("table path", r);
        r = hdha_manager_new(h->hv, &env, config, table_path, 0, &h->m, &message);
        if (r < 0) {
                fprintf(stderr, "bench-scale: %s\n", message ?: strerror(-r));
                exit(1);
        }
        if (h->event) {
                r = hdha_bus_new(h->event, h->m, &bus_env, &h->bus);
                if (r < 0)
                        die("bus", r);
        }
        h->reconciled = false;
        fake_hv_set_connected(h->hv, true);
        settle(h);
        if (!h->reconciled)
                die("start-up: not reconciled", EIO);
}

static void host_stop(Host *h) {
        h->bus = hdha_bus_free(h->bus);
        h->m = hdha_manager_free(h->m);
}

static void host_new(Host *h, unsigned n_groups, const char *base) {
        struct mallinfo2 before, after;

        *h = (Host) { .n_groups = n_groups };
        snprintf(h->dir, sizeof(h->dir), "%s/bench-scale-%u.XXXXXX", base, n_groups);
        if (!mkdtemp(h->dir))
                die(h->dir, errno);
        write_config(h);
        h->transcript = fopen("/dev/null", "we");
        h->hv = fake_hv_new(h->transcript);
        make_domains(h);
        if (use_bus && getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
                int r = sd_event_new(&h->event);

                if (r < 0)
                        die("sd_event_new", r);
        }

        before = mallinfo2();
        host_start(h);
        after = mallinfo2();
        h->heap_per_group = (after.uordblks - before.uordblks) / n_groups;
}

static void host_free(Host *h) {
        char cmd[600];

        host_stop(h);
        h->hv = hdha_hypervisor_free(h->hv);
        while (h->timers)
                env_timer_stop(h, h->timers);
        h->event = sd_event_unref(h->event);
        fclose(h->transcript);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
        if (system(cmd) != 0)
                fprintf(stderr, "bench-scale: could not remove '%s'\n", h->dir);
}

static void on_done(void *userdata, int r, const char *message) {
        Host *h = userdata;

        if (r < 0) {
                h->op_failed++;
                fprintf(stderr, "bench-scale: %u groups: operation failed: %s\n", h->n_groups, message ?: strerror(-r));
        } else
                h->op_done++;
}

static const char *holder(Host *h, unsigned i) {
        char name[32];
        HdhaGroupStatus s;

        group_name(name, sizeof(name), i);
        if (hdha_manager_find_group(h->m, name, &s) < 0)
                die("no such group", ENOENT);
        return s.table->active;
}

/* The group in the middle: neither first nor last in any list. */
static unsigned probe_group(const Host *h) {
        return h->n_groups / 2;
}

static Sample one_switch(Host *h) {
        unsigned i = probe_group(h);
        char name[32], target[32];
        const char *from = holder(h, i);
        Mark a;
        int r;

        group_name(name, sizeof(name), i);
        /* a -> b -> a ...: the next member after the holder. */
        member_name(target, sizeof(target), i, from && from[strlen(from) - 1] == 'a' ? 1 : 0);
        a = mark();
        r = hdha_manager_switch(h->m, name, target, false, on_done, h);
        if (r < 0)
                die("switch", r);
        settle(h);
        return since(a);
}

static Sample one_failover(Host *h) {
        unsigned i = probe_group(h);
        Mark a;

        a = mark();
        fake_hv_kill(h->hv, holder(h, i));
        settle(h);
        return since(a);
}

static Sample all_failover(Host *h) {
        Mark a;

        a = mark();
        for (unsigned i = 0; i < h->n_groups; i++)
                fake_hv_kill(h->hv, holder(h, i));
        settle(h);
        return since(a);
}

/* The journal folded into the group files, as the daemon does past its
 * size: after every group failed over, every group's file is written. */
static Sample compact(Host *h) {
        _cleanup_free_ char *state = NULL, *path = NULL;
        Mark a;
        int r;

        if (asprintf(&state, "%s/state", h->dir) < 0)
                die("compact", -ENOMEM);
        r = hdha_table_path(state, &path);
        if (r < 0)
                die("compact", r);
        a = mark();
        r = hdha_table_save(hdha_manager_table(h->m), path);
        if (r < 0)
                die("compact", r);
        return since(a);
}

static Sample restart(Host *h) {
        Mark a;

        host_stop(h);
        a = mark();
        host_start(h);
        return since(a);
}

/* Every group has a holder that runs, on one member only. */
static void check_host(Host *h) {
        for (unsigned i = 0; i < h->n_groups; i++) {
                const char *d = holder(h, i);
                FakeDomain *fd;

                if (!d || !(fd = fake_hv_domain(h->hv, d))->running || !fd->has_device) {
                        fprintf(stderr, "bench-scale: %u groups: group %u has no running holder\n", h->n_groups, i);
                        exit(1);
                }
        }
        if (fake_hv_violations(h->hv) > 0 || h->op_failed > 0) {
                fprintf(stderr, "bench-scale: %u groups: %u violations, %lu failed operations\n", h->n_groups,
                        fake_hv_violations(h->hv), h->op_failed);
                exit(1);
        }
}

/* --- Printing ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

/* The median of one field of n samples. */
static double median(const Sample *s, unsigned n, size_t offset, bool integer) {
        double v[ROUNDS_MAX];

        for (unsigned i = 0; i < n; i++)
                v[i] = integer ? (double) *(const unsigned long long *) ((const char *) &s[i] + offset)
                               : *(const double *) ((const char *) &s[i] + offset);
        qsort(v, n, sizeof(double), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MEDIAN(s, n, field) median((s), (n), offsetof(Sample, field), false)

static void print_ms(const char *label, Host *hosts, unsigned n_hosts, unsigned rounds, size_t which,
                     bool cpu) {
        double base = 0;

        printf("| %s |", label);
        for (unsigned k = 0; k < n_hosts; k++) {
                const Sample *s = (const Sample *) ((const char *) &hosts[k] + which);
                double v = cpu ? MEDIAN(s, rounds, cpu_ms) : MEDIAN(s, rounds, wall_ms);

                if (k == 0)
                        base = v;
                if (k == 0 || base <= 0)
                        printf(" %.3f |", v);
                else
                        printf(" %.3f (%.2fx) |", v, v / base);
        }
        putchar('\n');
}

static void print_table(Host *hosts, unsigned n_hosts, unsigned rounds, unsigned rounds_all) {
        printf("| groups |");
        for (unsigned k = 0; k < n_hosts; k++)
                printf(" %u |", hosts[k].n_groups);
        printf("\n|---|");
        for (unsigned k = 0; k < n_hosts; k++)
                printf("---|");
        putchar('\n');
        print_ms("one switch, others idle: wall ms", hosts, n_hosts, rounds, offsetof(Host, sw), false);
        print_ms("one switch: CPU ms", hosts, n_hosts, rounds, offsetof(Host, sw), true);
        print_ms("one failover + rebuild, others idle: wall ms", hosts, n_hosts, rounds, offsetof(Host, fo), false);
        print_ms("one failover + rebuild: CPU ms", hosts, n_hosts, rounds, offsetof(Host, fo), true);
        print_ms("every group fails over at once: wall ms", hosts, n_hosts, rounds_all, offsetof(Host, all), false);
        print_ms("every group fails over at once: CPU ms", hosts, n_hosts, rounds_all, offsetof(Host, all), true);
        print_ms("the journal compacted after that: wall ms", hosts, n_hosts, rounds_all, offsetof(Host, compact),
                 false);
        print_ms("restart: read, inspect, reconcile: wall ms", hosts, n_hosts, rounds_all, offsetof(Host, start),
                 false);
        print_ms("restart: CPU ms", hosts, n_hosts, rounds_all, offsetof(Host, start), true);

        printf("| table writes per switch |");
        for (unsigned k = 0; k < n_hosts; k++)
                printf(" %.0f |", median(hosts[k].sw, rounds, offsetof(Sample, writes), true));
        printf("\n| table writes, every group at once |");
        for (unsigned k = 0; k < n_hosts; k++)
                printf(" %.0f |", median(hosts[k].all, rounds_all, offsetof(Sample, writes), true));
        printf("\n| disk flushes (fsync, fdatasync), the journal compacted |");
        for (unsigned k = 0; k < n_hosts; k++)
                printf(" %.0f |", median(hosts[k].compact, rounds_all, offsetof(Sample, flushes), true));
        printf("\n| bytes written per switch |");
        for (unsigned k = 0; k < n_hosts; k++)
                printf(" %.0f |", median(hosts[k].sw, rounds, offsetof(Sample, bytes), true));
        printf("\n| bytes written per table write |");
        for (unsigned k = 0; k < n_hosts; k++) {
                double w = median(hosts[k].sw, rounds, offsetof(Sample, writes), true);
                printf(" %.0f |", w > 0 ? median(hosts[k].sw, rounds, offsetof(Sample, bytes), true) / w : 0);
        }
        printf("\n| heap per group, bytes |");
        for (unsigned k = 0; k < n_hosts; k++)
                printf(" %zu |", hosts[k].heap_per_group);
        putchar('\n');
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "rounds", required_argument, NULL, 'r' },
                { "dir", required_argument, NULL, 'd' },
                { "no-bus", no_argument, NULL, 'B' },
                {},
        };
        unsigned rounds = 15, rounds_all, n_hosts = 0;
        const char *base = ".";
        static Host hosts[SIZES_MAX];
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        rounds = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        base = optarg;
                        break;
                case 'B':
                        use_bus = false;
                        break;
                default:
                        return 2;
                }
        if (optind >= argc || argc - optind > SIZES_MAX || rounds == 0 || rounds > ROUNDS_MAX) {
                fprintf(stderr, "usage: bench-scale [--rounds 1-%d] [--dir DIR] [--no-bus] N... (at most %d)\n",
                        ROUNDS_MAX, SIZES_MAX);
                return 2;
        }
        rounds_all = rounds < 3 ? rounds : 3;
        hdha_log_set_sink(discard_log, NULL);

        for (int i = optind; i < argc; i++) {
                unsigned n = (unsigned) strtoul(argv[i], NULL, 10);

                if (n == 0 || n > HDHA_GROUPS_MAX) {
                        fprintf(stderr, "bench-scale: %s groups: 1 to %u\n", argv[i], HDHA_GROUPS_MAX);
                        return 2;
                }
                fprintf(stderr, "# setting up %u groups\n", n);
                host_new(&hosts[n_hosts++], n, base);
        }
        printf("# %u rounds of one switch and one failover per size, %u of all groups at once and of a restart; "
               "medians; %s\n", rounds, rounds_all,
               hosts[0].bus ? "with the bus (a private dbus-daemon)" : "without a bus");

        for (unsigned r = 0; r < rounds; r++)
                for (unsigned k = 0; k < n_hosts; k++) {
                        hosts[k].sw[r] = one_switch(&hosts[k]);
                        hosts[k].fo[r] = one_failover(&hosts[k]);
                }
        for (unsigned r = 0; r < rounds_all; r++)
                for (unsigned k = 0; k < n_hosts; k++) {
                        fprintf(stderr, "# every group of %u at once, round %u\n", hosts[k].n_groups, r + 1);
                        hosts[k].all[r] = all_failover(&hosts[k]);
                        check_host(&hosts[k]);
                        hosts[k].compact[r] = compact(&hosts[k]);
                        hosts[k].start[r] = restart(&hosts[k]);
                        check_host(&hosts[k]);
                }

        print_table(hosts, n_hosts, rounds, rounds_all);
        for (unsigned k = 0; k < n_hosts; k++)
                host_free(&hosts[k]);
        return 0;
}
