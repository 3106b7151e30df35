/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-harness: the daemon's D-Bus API (bus.c) and state machine on the
 * scripted fake hypervisor of the unit tests, on a real bus, for
 * tests/lab/test-lab-bus-api.sh. No libvirt.
 *
 *   bus-harness --config-dir DIR --table DIR [--tick-msec N]
 *               [--transcript FILE] [--fail DOMAIN:OP:MESSAGE]...
 *
 * Every member domain of every group starts running; the first domain of
 * the first group holds the device (the fake knows one device, one alias:
 * other groups start unallocated). The fake hypervisor completes one queued item
 * (job, inspection or event) per tick (default 100 ms) on the sd-event loop,
 * so an operation takes several ticks, like a real one takes time.
 * --fail makes the next OP (attach, detach, destroy, start, quota) on DOMAIN
 * fail with MESSAGE. The name org.hostdevha.Manager1 is requested after the
 * first reconciliation. SIGTERM or SIGINT end it (exit 0). SIGHUP reloads.
 * SIGUSR1 holds the fake hypervisor (nothing queued completes, so an
 * operation stays in flight for as long as a test needs); SIGUSR2 lets it
 * run again. Each is acknowledged in the log once in effect. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "../unit/fake-hypervisor.h"
#include "bus.h"
#include "cluster-view.h"
#include "conf.h"
#include "event-timer.h"
#include "device-xml.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

typedef struct Harness {
        sd_event *event;
        HdhaHypervisor *hv;
        HdhaManager *manager;
        HdhaBus *bus;
        char *config_dir;
        uint64_t tick_usec;
        bool named;
        bool held;
        void *reload_wait; /* a reload waiting for busy groups */
} Harness;

static int env_timer_start(void *userdata, uint64_t usec, void (*fn)(void *), void *fn_userdata, void **ret) {
        Harness *h = userdata;

        return hdha_event_timer_start(h->event, usec, fn, fn_userdata, ret);
}

static void env_timer_stop(void *userdata, void *timer) {
        hdha_event_timer_stop(timer);
}

static void env_group_changed(void *userdata, const char *group) {
        Harness *h = userdata;

        hdha_bus_group_changed(h->bus, group);
}

static void env_connection_changed(void *userdata, const char *group, const char *old, const char *new,
                                   uint64_t generation) {
        Harness *h = userdata;

        hdha_bus_connection_changed(h->bus, group, old, new, generation);
}

static void env_member_failed(void *userdata, const char *group, const char *domain, const char *reason) {
        Harness *h = userdata;

        hdha_bus_member_failed(h->bus, group, domain, reason);
}

static void env_reconciled(void *userdata) {
        Harness *h = userdata;

        /* Reconciling ended for every group: Busy and roles changed. */
        hdha_bus_groups_changed(h->bus);
        if (h->named || !h->bus)
                return;
        if (hdha_bus_request_name(h->bus) < 0) {
                log_error("Failed to acquire the bus name.");
                sd_event_exit(h->event, 1);
                return;
        }
        h->named = true;
        log_info("Reconciled; the bus name is ours.");
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Harness *h = userdata;

        if (!h->held)
                (void) fake_hv_run_one(h->hv);
        (void) sd_event_source_set_time_relative(s, h->tick_usec);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void set_admin(Harness *h) {
        const HdhaConfig *c = hdha_manager_config(h->manager);

        hdha_bus_set_admin_gid(h->bus, !!c->admin_group, c->admin_gid);
}

static int load_config(const char *dir, HdhaConfig **ret, char **ret_message) {
        HdhaConfigErrors errors = {};
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        r = hdha_config_load(dir, ret, &errors);
        if (r < 0 && ret_message) {
                f = open_memstream(&buf, &size);
                if (f) {
                        (void) hdha_config_errors_print(&errors, f);
                        fclose(f);
                        /* One line for the caller. */
                        for (char *p = buf; p && *p; p++)
                                if (*p == '\n')
                                        *p = p[1] ? ' ' : '\0';
                        *ret_message = buf;
                }
        }
        hdha_config_errors_done(&errors);
        return r;
}

/* As hostdev-had: a configuration that waits for busy groups is followed
 * by what the bus needs once it is applied. */
typedef struct HarnessReload {
        Harness *harness;
        HdhaOpDoneFn done;
        void *done_userdata;
} HarnessReload;

static void reload_applied(Harness *h) {
        set_admin(h);
        hdha_bus_groups_changed(h->bus);
}

static void on_reload_done(void *userdata, int r, const char *message) {
        HarnessReload *w = userdata;

        if (w->harness->reload_wait == w)
                w->harness->reload_wait = NULL;
        if (r >= 0)
                reload_applied(w->harness);
        if (w->done)
                w->done(w->done_userdata, r, message);
        free(w);
}

static int reload(void *userdata, HdhaOpDoneFn done, void *done_userdata, char **ret_message) {
        Harness *h = userdata;
        HarnessReload *w;
        HdhaConfig *c = NULL;
        int r;

        r = load_config(h->config_dir, &c, ret_message);
        if (r < 0)
                return r;
        w = calloc(1, sizeof(*w));
        if (!w) {
                hdha_config_free(c);
                return -ENOMEM;
        }
        *w = (HarnessReload) { .harness = h, .done = done, .done_userdata = done_userdata };
        r = hdha_manager_reload(h->manager, c, on_reload_done, w);
        if (r == 0) {
                free(w);
                reload_applied(h);
                return 0;
        }
        h->reload_wait = w;
        log_info("Reload waits until no group is busy.");
        return 1;
}

/* As hostdev-had outside a cluster. */
static int cluster_status(void *userdata, HdhaClusterView *ret) {
        Harness *h = userdata;

        return hdha_cluster_view_standalone(h->manager, ret);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_free_ char *message = NULL;
        int r;

        r = reload(userdata, NULL, NULL, &message);
        if (r < 0)
                log_error_errno(r, "Reload failed: %s", message ?: strerror(-r));
        return 0;
}

static int on_hold(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Harness *h = userdata;

        h->held = si->ssi_signo == SIGUSR1;
        log_info("Fake hypervisor %s.", h->held ? "held" : "running again");
        return 0;
}

static int add_failure(HdhaHypervisor *hv, const char *spec) {
        _cleanup_free_ char *copy = strdup(spec);
        char *op, *message;
        FakeDomain *d;

        if (!copy)
                return -ENOMEM;
        op = strchr(copy, ':');
        if (!op)
                return -EINVAL;
        *op++ = '\0';
        message = strchr(op, ':');
        if (!message)
                return -EINVAL;
        *message++ = '\0';
        d = fake_hv_domain(hv, copy);
        free(d->fail_op);
        free(d->fail_message);
        d->fail_op = strdup(op);
        d->fail_message = strdup(message);
        return d->fail_op && d->fail_message ? 0 : -ENOMEM;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config-dir", required_argument, NULL, 'c' },
                { "table", required_argument, NULL, 't' },
                { "tick-msec", required_argument, NULL, 'k' },
                { "transcript", required_argument, NULL, 'o' },
                { "fail", required_argument, NULL, 'f' },
                {},
        };
        _cleanup_free_ char *config_message = NULL;
        const char *table = NULL, *transcript = "/dev/null";
        char **fails = NULL;
        size_t n_fails = 0;
        uint64_t tick_msec = 100;
        Harness h = {};
        HdhaConfig *config = NULL;
        sd_event_source *tick = NULL;
        FILE *out;
        int r, c;

        hdha_log_open("bus-harness");
        hdha_log_set_max_level(LOG_DEBUG);
        fails = calloc((size_t) argc, sizeof(char *));
        if (!fails)
                return EXIT_FAILURE;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        h.config_dir = optarg;
                        break;
                case 't':
                        table = optarg;
                        break;
                case 'k':
                        if (hdha_parse_uint64(optarg, 1, 60000, &tick_msec) < 0) {
                                log_error("Bad --tick-msec '%s'.", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'o':
                        transcript = optarg;
                        break;
                case 'f':
                        fails[n_fails++] = optarg;
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (!h.config_dir || !table) {
                log_error("Usage: bus-harness --config-dir DIR --table DIR [--tick-msec N] [--transcript FILE] "
                          "[--fail DOMAIN:OP:MESSAGE]...");
                return EXIT_FAILURE;
        }

        out = fopen(transcript, "we");
        if (!out) {
                log_error_errno(-errno, "Cannot open '%s': %m", transcript);
                return EXIT_FAILURE;
        }
        setvbuf(out, NULL, _IOLBF, 0);

        r = load_config(h.config_dir, &config, &config_message);
        if (r < 0) {
                log_error_errno(r, "Bad configuration: %s", config_message ?: strerror(-r));
                return EXIT_FAILURE;
        }

        h.hv = fake_hv_new(out);
        for (size_t i = 0; i < config->n_groups; i++)
                for (size_t j = 0; j < config->groups[i].n_domains; j++) {
                        FakeDomain *d = fake_hv_domain(h.hv, config->groups[i].domains[j]);

                        d->running = true;
                        /* The fake has one device: the first group's. */
                        d->has_device = i == 0 && j == 0;
                }
        for (size_t i = 0; i < config->n_groups; i++) {
                _cleanup_free_ char *alias = NULL;

                /* The fake reports one alias; the first group's. */
                if (i == 0 && hdha_device_alias(config->groups[i].name, &alias) >= 0)
                        fake_hv_set_alias(h.hv, alias);
        }
        for (size_t i = 0; i < n_fails; i++)
                if (add_failure(h.hv, fails[i]) < 0) {
                        log_error("Bad --fail '%s': expected DOMAIN:OP:MESSAGE.", fails[i]);
                        return EXIT_FAILURE;
                }

        r = sd_event_default(&h.event);
        if (r < 0)
                return log_error_errno(r, "Failed to get an event loop: %m"), EXIT_FAILURE;

        HdhaManagerEnv env = {
                .timer_start = env_timer_start,
                .timer_stop = env_timer_stop,
                .group_changed = env_group_changed,
                .connection_changed = env_connection_changed,
                .member_failed = env_member_failed,
                .reconciled = env_reconciled,
                .userdata = &h,
        };
        r = hdha_manager_new(h.hv, &env, config, table, 0, &h.manager, &config_message);
        if (r < 0) {
                log_error_errno(r, "Failed to start the manager: %s", config_message ?: strerror(-r));
                return EXIT_FAILURE;
        }

        r = hdha_bus_new(h.event, h.manager,
                         &(const HdhaBusEnv) { .reload = reload, .cluster_status = cluster_status, .userdata = &h },
                         &h.bus);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the bus: %m"), EXIT_FAILURE;
        set_admin(&h);

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGUSR1);
        sigaddset(&mask, SIGUSR2);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) sd_event_add_signal(h.event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(h.event, NULL, SIGINT, NULL, NULL);
        (void) sd_event_add_signal(h.event, NULL, SIGHUP, on_sighup, &h);
        (void) sd_event_add_signal(h.event, NULL, SIGUSR1, on_hold, &h);
        (void) sd_event_add_signal(h.event, NULL, SIGUSR2, on_hold, &h);

        /* The tick re-arms itself. */
        h.tick_usec = tick_msec * 1000;
        r = sd_event_add_time_relative(h.event, &tick, CLOCK_MONOTONIC, h.tick_usec, 0, on_tick, &h);
        if (r < 0)
                return log_error_errno(r, "Failed to add the tick: %m"), EXIT_FAILURE;

        fake_hv_set_connected(h.hv, true);
        log_info("Running (tick %llu ms).", (unsigned long long) tick_msec);
        r = sd_event_loop(h.event);

        /* The manager first: calls still waiting get Interrupted from the bus. */
        tick = sd_event_source_disable_unref(tick);
        h.manager = hdha_manager_free(h.manager);
        free(h.reload_wait); /* dropped by the manager, untold */
        h.bus = hdha_bus_free(h.bus);
        log_info("Stopped (%u violations of the invariant).", fake_hv_violations(h.hv));
        h.hv = hdha_hypervisor_free(h.hv);
        sd_event_unref(h.event);
        fclose(out);
        free(fails);
        return r < 0 ? EXIT_FAILURE : r;
}
