/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdev-had: start-up, the event loop, reload, and the glue between the
 * state machine, libvirt and the bus. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libxml/parser.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "cluster-host.h"
#include "cluster-view.h"
#include "conf.h"
#include "table.h"
#include "event-timer.h"
#include "guest-channel.h"
#include "hypervisor-libvirt.h"
#include "log.h"
#include "manager.h"
#include "pacemaker-exec.h"
#include "state-lock.h"

typedef struct Daemon {
        sd_event *event;
        char *config_dir;
        char *libvirt_uri; /* --libvirt-uri, overrides the file */
        HdhaHypervisor *hv;
        HdhaManager *manager;
        HdhaBus *bus;
        HdhaPcmkExec *pcmk;
        HdhaClusterHost *cluster; /* NULL: [Cluster] Enabled=no, or no Corosync in this build */
        HdhaGuestChannels *guests;
        sd_event_source *bus_give_up; /* under systemd, while the system bus is away */
        struct ReloadWait *reload_wait; /* a reload waiting for busy groups */
        int state_lock; /* held for the daemon's life: one daemon per table */
        bool ready;
} Daemon;

/* A reload that waits until no group is busy, and who waits for it (the
 * bus call; nobody after SIGHUP). */
typedef struct ReloadWait {
        Daemon *daemon;
        HdhaOpDoneFn done;
        void *done_userdata;
} ReloadWait;

/* Under systemd, a system bus away this long makes hostdev-had exit with a
 * failure, so that systemd restarts it (Restart=on-failure) afresh. */
#define BUS_GIVE_UP_USEC (30U * 1000U * 1000U)

static const char *arg_config_dir = HDHA_DEFAULT_CONFIG_DIR;
static const char *arg_libvirt_uri;
static bool arg_check_config;
static bool arg_rebuild_table;

/* --- Timers for the state machine ------------------------------------------ */

static int env_timer_start(void *userdata, uint64_t usec, void (*fn)(void *), void *fn_userdata, void **ret) {
        Daemon *d = userdata;

        return hdha_event_timer_start(d->event, usec, fn, fn_userdata, ret);
}

static int env_idle_start(void *userdata, void (*fn)(void *), void *fn_userdata, void **ret) {
        Daemon *d = userdata;

        return hdha_event_idle_start(d->event, fn, fn_userdata, ret);
}

static void env_timer_stop(void *userdata, void *timer) {
        hdha_event_timer_stop(timer);
}

/* --- Notifications ----------------------------------------------------------- */

static void update_status(Daemon *d) {
        size_t n = hdha_manager_n_groups(d->manager), busy = 0, held = 0;
        char cluster[128] = "";
        HdhaGroupStatus s;

        for (size_t i = 0; i < n; i++)
                if (hdha_manager_group_status(d->manager, i, &s) >= 0) {
                        busy += s.busy;
                        held += s.table && s.table->active;
                }
        if (d->cluster) {
                cluster[0] = ';';
                cluster[1] = ' ';
                hdha_cluster_host_summary(d->cluster, cluster + 2, sizeof(cluster) - 2);
        }
        (void) sd_notifyf(false, "STATUS=%zu group%s, %zu with an active domain, %zu busy; libvirt %s%s%s", n,
                          n == 1 ? "" : "s", held, busy,
                          hdha_manager_is_connected(d->manager) ? "connected" : "not connected", cluster,
                          d->bus && !hdha_bus_is_connected(d->bus) ? "; system bus lost, reconnecting" : "");
}

static void env_group_changed(void *userdata, const char *group) {
        Daemon *d = userdata;

        if (d->bus)
                hdha_bus_group_changed(d->bus, group);
        hdha_cluster_host_group_changed(d->cluster, group);
        if (d->ready)
                update_status(d);
}

static void env_connection_changed(void *userdata, const char *group, const char *old, const char *new,
                                   uint64_t generation) {
        Daemon *d = userdata;

        if (d->bus)
                hdha_bus_connection_changed(d->bus, group, old, new, generation);
}

static void env_member_failed(void *userdata, const char *group, const char *domain, const char *reason) {
        Daemon *d = userdata;

        if (d->bus)
                hdha_bus_member_failed(d->bus, group, domain, reason);
}

static void env_connected_changed(void *userdata, bool connected) {
        Daemon *d = userdata;

        if (d->bus)
                hdha_bus_connected_changed(d->bus);
        if (d->ready)
                update_status(d);
}

/* Policy pacemaker: crm_attribute and crm_resource, off the loop. */
static void env_pacemaker_set_score(void *userdata, const char *resource, const char *node, int score) {
        Daemon *d = userdata;
        int r;

        r = hdha_pcmk_exec_set_score(d->pcmk, resource, node, score);
        if (r < 0) {
                log_warning_errno(r, "Failed to set the promotion score of '%s' on '%s', ignoring: %m", resource,
                                  node);
                hdha_manager_pacemaker_score_lost(d->manager, resource, node);
        }
}

/* A score command failed: sent again at the agent's next call. */
static void on_pcmk_score_failed(void *userdata, const char *resource, const char *node) {
        Daemon *d = userdata;

        if (d->manager)
                hdha_manager_pacemaker_score_lost(d->manager, resource, node);
}

static void env_pacemaker_report_failure(void *userdata, const char *resource, const char *node,
                                         const char *reason) {
        Daemon *d = userdata;
        int r;

        r = hdha_pcmk_exec_report_failure(d->pcmk, resource, node);
        if (r < 0)
                log_warning_errno(r, "Failed to report the failure of '%s' on '%s' to Pacemaker, ignoring: %m",
                                  resource, node);
}

/* READY once the table matches libvirt and the name is ours. */
static void env_reconciled(void *userdata) {
        Daemon *d = userdata;
        int r;

        if (d->bus)
                hdha_bus_groups_changed(d->bus);
        /* After start-up and every libvirt reconnect: every member's
         * guest channel that is not connected is looked up again. */
        hdha_guest_channels_connect_all(d->guests);
        if (d->ready) {
                update_status(d);
                return;
        }
        r = hdha_bus_request_name(d->bus);
        if (r < 0) {
                log_error_errno(r, "Failed to acquire the bus name org.hostdevha.Manager1: %m");
                (void) sd_event_exit(d->event, EXIT_FAILURE);
                return;
        }
        d->ready = true;
        log_info("Ready: %zu group%s reconciled with libvirt.", hdha_manager_n_groups(d->manager),
                 hdha_manager_n_groups(d->manager) == 1 ? "" : "s");
        (void) sd_notify(false, "READY=1");
        update_status(d);
}

/* --- The guests' channels ------------------------------------------------------ */

static void env_member_started(void *userdata, const char *domain) {
        Daemon *d = userdata;

        hdha_guest_channels_connect(d->guests, domain);
}

static void guest_failed(void *userdata, const char *domain, const char *reason) {
        Daemon *d = userdata;
        int r;

        r = hdha_manager_guest_failed(d->manager, domain, reason);
        if (r < 0)
                log_warning_errno(r, "The guest of '%s' failed (%s), but it cannot be handled, ignoring: %m", domain,
                                  reason);
}

static int guest_request(void *userdata, const char *domain, HdhaGuestVerb verb, HdhaGuestRefusal *ret_refusal,
                         const char **ret_message) {
        Daemon *d = userdata;

        return hdha_manager_guest_request(d->manager, domain, verb, ret_refusal, ret_message);
}

static const char *guest_role(void *userdata, const char *domain) {
        Daemon *d = userdata;
        HdhaRole role;

        if (hdha_manager_member_role(d->manager, domain, &role) < 0)
                return NULL;
        return hdha_role_to_string(role);
}

static void guest_requested(void *userdata, const char *group, const char *domain, HdhaGuestVerb verb, bool accepted,
                            const char *reason) {
        Daemon *d = userdata;

        hdha_bus_guest_request(d->bus, group, domain, hdha_guest_verb_to_string(verb), accepted, reason);
}

static int bus_guest_state(void *userdata, const char *domain, bool *ret_connected, uint64_t *ret_age_usec) {
        Daemon *d = userdata;
        HdhaGuestChannelState st;
        int r;

        r = hdha_guest_channels_state(d->guests, domain, &st);
        if (r < 0)
                return r;
        *ret_connected = st.connected;
        *ret_age_usec = st.heartbeat_age_usec;
        return 0;
}

/* --- The cluster, as the bus shows it ----------------------------------------- */

static void on_cluster_changed(void *userdata) {
        Daemon *d = userdata;

        if (d->ready)
                update_status(d);
}

/* The cluster token, for the state machine (cluster-host.c). */
static bool env_cluster_holds(void *userdata, const char *group) {
        Daemon *d = userdata;

        return hdha_cluster_host_holds(d->cluster, group);
}

static void env_cluster_acquire(void *userdata, const char *group, const char *domain, HdhaOpDoneFn fn,
                                void *fn_userdata) {
        Daemon *d = userdata;

        hdha_cluster_host_acquire(d->cluster, group, domain, fn, fn_userdata);
}

static void env_cluster_release(void *userdata, const char *group) {
        Daemon *d = userdata;

        hdha_cluster_host_release(d->cluster, group);
}

/* Manager1.GetClusterStatus(): a host in no cluster shows its own groups
 * under its host name. */
static int bus_cluster_status(void *userdata, HdhaClusterView *ret) {
        Daemon *d = userdata;

        if (d->cluster)
                return hdha_cluster_host_view(d->cluster, ret);
        return hdha_cluster_view_standalone(d->manager, ret);
}

/* --- The system bus coming and going ------------------------------------------ */

static int on_bus_give_up(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        log_error("The system bus has been away for %u s: exiting, so that systemd starts hostdev-had afresh.",
                  BUS_GIVE_UP_USEC / 1000000U);
        return sd_event_exit(d->event, EXIT_FAILURE);
}

static void bus_connected(void *userdata, bool connected) {
        Daemon *d = userdata;
        int r;

        d->bus_give_up = sd_event_source_disable_unref(d->bus_give_up);
        if (!connected && getenv("INVOCATION_ID")) {
                r = sd_event_add_time_relative(d->event, &d->bus_give_up, CLOCK_MONOTONIC, BUS_GIVE_UP_USEC, 0,
                                               on_bus_give_up, d);
                if (r < 0)
                        log_warning_errno(r, "Failed to arm the system bus's deadline, ignoring: %m");
        }
        if (d->ready)
                update_status(d);
}

/* --- Configuration ----------------------------------------------------------- */

static int load_config(const char *dir, HdhaConfig **ret, char **ret_message) {
        HdhaConfigErrors errors = {};
        HdhaConfig *c = NULL;
        int r;

        r = hdha_config_load(dir, &c, &errors);
        if (r < 0) {
                for (size_t i = 0; i < errors.n_errors; i++) {
                        _cleanup_free_ char *line = NULL;

                        if (hdha_config_error_format(&errors.errors[i], &line) >= 0)
                                log_error("%s", line);
                }
                if (ret_message && asprintf(ret_message, "%zu problem%s in the configuration in '%s'; see the log",
                                            errors.n_errors + errors.n_dropped,
                                            errors.n_errors + errors.n_dropped == 1 ? "" : "s", dir) < 0)
                        *ret_message = NULL;
                hdha_config_errors_done(&errors);
                return r;
        }
        hdha_config_errors_done(&errors);
        *ret = c;
        return 0;
}

/* What follows the configuration swapped in by the manager. */
static void reload_applied(Daemon *d) {
        const HdhaConfig *c = hdha_manager_config(d->manager);

        hdha_bus_set_admin_gid(d->bus, c->admin_group != NULL, c->admin_gid);
        if (d->cluster)
                hdha_cluster_host_set_config(d->cluster, c);
        if (hdha_guest_channels_set_config(d->guests, c) < 0)
                log_oom();
        hdha_bus_groups_changed(d->bus);
        log_info("Configuration reloaded: %zu groups.", hdha_manager_n_groups(d->manager));
}

static void on_reload_done(void *userdata, int r, const char *message) {
        ReloadWait *w = userdata;
        Daemon *d = w->daemon;

        if (d->reload_wait == w)
                d->reload_wait = NULL;
        if (r >= 0)
                reload_applied(d);
        else
                log_notice("The configuration that waited was not applied: %s", message ?: strerror(-r));
        if (w->done)
                w->done(w->done_userdata, r, message);
        free(w);
}

/* Parses a fresh copy and hands it to the manager only when valid; groups
 * in flight are not disturbed: the manager keeps it until no group is busy
 * (returns 1, and done follows). */
static int reload(void *userdata, HdhaOpDoneFn done, void *done_userdata, char **ret_message) {
        Daemon *d = userdata;
        HdhaConfig *c = NULL;
        ReloadWait *w;
        int r;

        log_info("Reloading the configuration from '%s'.", d->config_dir);
        r = load_config(d->config_dir, &c, ret_message);
        if (r < 0)
                return log_error_errno(r, "Configuration not reloaded, the old one stays: %m");

        if (c->cluster_mode != hdha_manager_config(d->manager)->cluster_mode)
                log_notice("[Cluster] Enabled= takes effect at the next start only.");
        if (strcmp(c->state_directory, hdha_manager_config(d->manager)->state_directory) != 0 ||
            (!d->libvirt_uri && strcmp(c->libvirt_uri, hdha_manager_config(d->manager)->libvirt_uri) != 0))
                log_notice("StateDirectory= and LibvirtURI= take effect at the next start only.");

        w = calloc(1, sizeof(*w));
        if (!w) {
                hdha_config_free(c);
                return log_oom();
        }
        *w = (ReloadWait) { .daemon = d, .done = done, .done_userdata = done_userdata };
        /* A reload that waited is replaced: its done runs (and frees it) in here. */
        r = hdha_manager_reload(d->manager, c, on_reload_done, w);
        if (r == 0) {
                free(w);
                reload_applied(d);
                return 0;
        }
        d->reload_wait = w;
        log_info("A group is busy: the configuration is applied once no group is.");
        return 1;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) reload(userdata, NULL, NULL, NULL);
        return 0;
}

/* --- Start-up ------------------------------------------------------------------- */

static void help(void) {
        printf("Usage: hostdev-had [OPTION...]\n\n"
               "Keeps one PCI device attached to at most one libvirt domain of each group,\n"
               "and moves it when the active domain fails or an operator asks.\n\n"
               "  -c --config-dir=DIR     configuration folder (default %s)\n"
               "     --libvirt-uri=URI    libvirt connection, overriding LibvirtURI=\n"
               "     --check-config       check the configuration, report every problem, exit\n"
               "     --rebuild-table      ignore the allocation table file and rebuild it from\n"
               "                          libvirt's live state (after a corrupt table)\n"
               "     --log-level=LEVEL    debug, info (default), notice, warning, err\n"
               "     --log-time           start each line on stderr with its time (UTC, in us)\n"
               "  -h --help               show this help\n"
               "     --version            show the version\n",
               HDHA_DEFAULT_CONFIG_DIR);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_URI = 0x100, ARG_CHECK, ARG_REBUILD, ARG_LOG_LEVEL, ARG_LOG_TIME, ARG_VERSION };
        static const struct option options[] = {
                { "config-dir", required_argument, NULL, 'c' },
                { "libvirt-uri", required_argument, NULL, ARG_URI },
                { "check-config", no_argument, NULL, ARG_CHECK },
                { "rebuild-table", no_argument, NULL, ARG_REBUILD },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "log-time", no_argument, NULL, ARG_LOG_TIME },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        static const char *const levels[] = {
                [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config_dir = optarg;
                        break;
                case ARG_URI:
                        arg_libvirt_uri = optarg;
                        break;
                case ARG_CHECK:
                        arg_check_config = true;
                        break;
                case ARG_REBUILD:
                        arg_rebuild_table = true;
                        break;
                case ARG_LOG_LEVEL: {
                        int level = -1;

                        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                                if (levels[i] && strcmp(levels[i], optarg) == 0)
                                        level = (int) i;
                        if (level < 0)
                                return log_error_errno(-EINVAL, "Unknown log level '%s'.", optarg);
                        hdha_log_set_max_level(level);
                        break;
                }
                case ARG_LOG_TIME:
                        hdha_log_set_time(true);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("hostdev-had %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument '%s'; see --help.", argv[optind]);
        return 1;
}

static const HdhaManagerEnv manager_env = {
        .timer_start = env_timer_start,
        .timer_stop = env_timer_stop,
        .idle_start = env_idle_start,
        .group_changed = env_group_changed,
        .connection_changed = env_connection_changed,
        .member_failed = env_member_failed,
        .member_started = env_member_started,
        .connected_changed = env_connected_changed,
        .reconciled = env_reconciled,
        .pacemaker_set_score = env_pacemaker_set_score,
        .pacemaker_report_failure = env_pacemaker_report_failure,
};

/* Signals go to the loop; blocked before libvirt starts its threads. */
static int daemon_setup_event(Daemon *d) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        sigaddset(&mask, SIGCHLD); /* Pacemaker's clients, watched by child sources */
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        (void) sd_event_add_signal(d->event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(d->event, NULL, SIGINT, NULL, NULL);
        (void) sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d);
        (void) sd_event_set_watchdog(d->event, true);
        return 0;
}

/* Pacemaker's clients, libvirt, the state machine (which takes config on
 * success) and the bus, in that order. */
static int daemon_setup(Daemon *d, HdhaConfig *config) {
        _cleanup_free_ char *table_path = NULL, *message = NULL;
        HdhaManagerEnv env = manager_env;
        pid_t holder = 0;
        int r;

        if (mkdir(config->state_directory, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create the state directory '%s': %m", config->state_directory);
        /* The resource agent's sign that this host runs hostdev-had. */
        if (mkdir(HDHA_RUNTIME_DIR, 0755) < 0 && errno != EEXIST)
                log_warning_errno(-errno, "Cannot create '%s', ignoring: %m", HDHA_RUNTIME_DIR);
        r = hdha_state_lock(config->state_directory, &d->state_lock, &holder);
        if (r == -EBUSY && holder > 0)
                return log_error_errno(r, "Another hostdev-had (pid %d) uses the state directory '%s': not starting.",
                                       (int) holder, config->state_directory);
        if (r == -EBUSY)
                return log_error_errno(r, "Another hostdev-had uses the state directory '%s': not starting.",
                                       config->state_directory);
        if (r < 0)
                return log_error_errno(r, "Cannot lock the state directory '%s': %m", config->state_directory);
        r = hdha_table_path(config->state_directory, &table_path);
        if (r < 0)
                return log_oom();

        r = daemon_setup_event(d);
        if (r < 0)
                return r;

        r = hdha_pcmk_exec_new(d->event, &d->pcmk);
        if (r < 0)
                return log_oom();
        hdha_pcmk_exec_on_score_failed(d->pcmk, on_pcmk_score_failed, d);

        r = hdha_hypervisor_libvirt_new(d->event, d->libvirt_uri ?: config->libvirt_uri, &d->hv);
        if (r < 0)
                return log_error_errno(r, "Failed to set up libvirt: %m");

        if (config->cluster_mode != HDHA_CLUSTER_MODE_NO) {
                r = hdha_cluster_host_new(d->event, config, &d->cluster);
                if (r == -EOPNOTSUPP && config->cluster_mode == HDHA_CLUSTER_MODE_AUTO)
                        log_info("Built without Corosync: this host runs alone.");
                else if (r == -EOPNOTSUPP)
                        return log_error_errno(r, "[Cluster] Enabled=yes, but hostdev-had was built without "
                                                  "Corosync (configure --with-corosync).");
                else if (r < 0)
                        return log_error_errno(r, "Failed to set up the cluster: %m");
        }
        if (d->cluster) {
                hdha_cluster_host_on_change(d->cluster, on_cluster_changed, d);
                env.cluster_holds = env_cluster_holds;
                env.cluster_acquire = env_cluster_acquire;
                env.cluster_release = env_cluster_release;
        }
        env.userdata = d;
        r = hdha_manager_new(d->hv, &env, config, table_path, arg_rebuild_table ? HDHA_MANAGER_REBUILD_TABLE : 0,
                             &d->manager, &message);
        if (r < 0) {
                if (message)
                        log_error("%s", message);
                return log_error_errno(r, "Cannot use the allocation table '%s': %m. It is never reset silently: "
                                          "fix or remove the file, or start once with --rebuild-table to rebuild "
                                          "it from libvirt's live state.",
                                       table_path);
        }
        if (d->cluster)
                hdha_cluster_host_set_manager(d->cluster, d->manager);

        r = hdha_guest_channels_new(d->event, d->hv,
                                    &(const HdhaGuestChannelsEnv) { .failed = guest_failed,
                                                                    .request = guest_request,
                                                                    .role = guest_role,
                                                                    .requested = guest_requested,
                                                                    .userdata = d },
                                    &d->guests);
        if (r < 0)
                return log_oom();
        r = hdha_guest_channels_set_config(d->guests, hdha_manager_config(d->manager));
        if (r < 0)
                return log_oom();

        r = hdha_bus_new(d->event, d->manager,
                         &(const HdhaBusEnv) { .reload = reload,
                                              .cluster_status = bus_cluster_status,
                                              .bus_connected = bus_connected,
                                              .guest_state = bus_guest_state,
                                              .userdata = d },
                         &d->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        hdha_bus_set_admin_gid(d->bus, hdha_manager_config(d->manager)->admin_group != NULL,
                               hdha_manager_config(d->manager)->admin_gid);
        return 0;
}

/* The order of bus.h: the hypervisor first (after it no completion can
 * reach the others), then the manager, then the bus. */
static void daemon_done(Daemon *d) {
        d->hv = hdha_hypervisor_free(d->hv);
        d->guests = hdha_guest_channels_free(d->guests);
        d->cluster = hdha_cluster_host_free(d->cluster);
        d->manager = hdha_manager_free(d->manager);
        d->reload_wait = mfree(d->reload_wait); /* dropped by the manager, untold */
        d->bus = hdha_bus_free(d->bus);
        d->bus_give_up = sd_event_source_disable_unref(d->bus_give_up);
        d->pcmk = hdha_pcmk_exec_free(d->pcmk);
        d->event = sd_event_unref(d->event);
        if (d->state_lock >= 0)
                (void) close(TAKE_FD(d->state_lock)); /* last: nothing of ours writes the table any more */
}

static int run(int argc, char *argv[]) {
        Daemon d = { .state_lock = -EBADF };
        HdhaConfig *config = NULL;
        int r, exit_code = EXIT_FAILURE;

        hdha_log_open("hostdev-had");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        d.config_dir = (char *) arg_config_dir;
        d.libvirt_uri = (char *) arg_libvirt_uri;

        r = load_config(arg_config_dir, &config, NULL);
        if (arg_check_config) {
                if (r < 0)
                        return EXIT_FAILURE;
                printf("%s: configuration OK, %zu group%s.\n", arg_config_dir, config->n_groups,
                       config->n_groups == 1 ? "" : "s");
                hdha_config_free(config);
                return EXIT_SUCCESS;
        }
        if (r < 0) {
                log_error_errno(r, "Cannot start with an invalid configuration in '%s'.", arg_config_dir);
                return EXIT_FAILURE;
        }

        xmlInitParser();
        r = daemon_setup(&d, config);
        if (r >= 0) {
                config = NULL; /* the manager's now */
                log_info("Started, %zu group%s, libvirt at '%s'.", hdha_manager_n_groups(d.manager),
                         hdha_manager_n_groups(d.manager) == 1 ? "" : "s",
                         arg_libvirt_uri ?: hdha_manager_config(d.manager)->libvirt_uri);
                (void) sd_notify(false, "STATUS=Connecting to libvirt and reconciling.");

                r = sd_event_loop(d.event);
                if (r < 0)
                        log_error_errno(r, "Event loop failed: %m");
                else
                        exit_code = r;
                (void) sd_notify(false, "STOPPING=1");
                log_info("Stopping.");
        } else if (d.manager)
                config = NULL; /* the manager took it before the bus failed */

        daemon_done(&d);
        hdha_config_free(config);
        xmlCleanupParser();
        return exit_code;
}

int main(int argc, char *argv[]) {
        return run(argc, argv);
}
