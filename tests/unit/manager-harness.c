/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The harness of the state machine's unit tests: a manager on the fake
 * hypervisor and a virtual clock, driven by commands, its transcript
 * written to the run's output. See manager-harness.h. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "manager-harness.h"

struct Timer {
        uint64_t deadline;
        void (*fn)(void *);
        void *userdata;
        bool idle; /* the manager's idle_start: the table's write of a batch */
        struct Timer *next;
};

int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

/* "state-dir full|read-only": the table's writes fail with this errno. */
static int state_errno;

int __wrap_rename(const char *from, const char *to) {
        if (state_errno > 0) {
                errno = state_errno;
                return -1;
        }
        return __real_rename(from, to);
}

int __wrap_fdatasync(int fd) {
        if (state_errno > 0) {
                errno = state_errno;
                return -1;
        }
        return __real_fdatasync(fd);
}

/* --- The environment: virtual clock, signals into the transcript --------- */

static int env_timer_start(void *userdata, uint64_t usec, void (*fn)(void *), void *fn_userdata, void **ret) {
        Run *run = userdata;
        Timer *t = calloc(1, sizeof(*t));

        *t = (Timer) { .deadline = run->now + usec, .fn = fn, .userdata = fn_userdata, .next = run->timers };
        run->timers = t;
        *ret = t;
        return 0;
}

/* Due at once, but "run" takes the hypervisor's completions first: the
 * write takes everything they changed, as the daemon's loop does. */
static int env_idle_start(void *userdata, void (*fn)(void *), void *fn_userdata, void **ret) {
        Run *run = userdata;
        int r = env_timer_start(run, 0, fn, fn_userdata, ret);

        if (r >= 0)
                ((Timer *) *ret)->idle = true;
        return r;
}

static void env_timer_stop(void *userdata, void *timer) {
        Run *run = userdata;

        for (Timer **p = &run->timers; *p; p = &(*p)->next)
                if (*p == timer) {
                        *p = ((Timer *) timer)->next;
                        free(timer);
                        return;
                }
}

static void env_connection_changed(void *userdata, const char *group, const char *old, const char *new,
                                   uint64_t generation) {
        Run *run = userdata;

        fprintf(run->out, "signal: ConnectionChanged %s %s -> %s\n", group, old ?: "-", new ?: "-");
}

static void env_member_failed(void *userdata, const char *group, const char *domain, const char *reason) {
        Run *run = userdata;

        fprintf(run->out, "signal: MemberFailed %s %s (%s)\n", group, domain, reason);
}

static void env_reconciled(void *userdata) {
        Run *run = userdata;

        fprintf(run->out, "signal: reconciled\n");
}

static void env_pacemaker_set_score(void *userdata, const char *resource, const char *node, int score) {
        Run *run = userdata;

        if (score <= HDHA_PCMK_SCORE_NEVER)
                fprintf(run->out, "pacemaker: score %s on %s = -INFINITY\n", resource, node);
        else
                fprintf(run->out, "pacemaker: score %s on %s = %d\n", resource, node, score);
}

static void env_pacemaker_report_failure(void *userdata, const char *resource, const char *node,
                                         const char *reason) {
        Run *run = userdata;

        fprintf(run->out, "pacemaker: fail %s on %s (%s)\n", resource, node, reason);
}

/* text, with the temporary folder's name (it changes from run to run) as DIR. */
static void print_text(Run *run, const char *text) {
        const char *dir = strstr(text, run->dir);

        if (dir)
                fprintf(run->out, "%.*sDIR%s", (int) (dir - text), text, dir + strlen(run->dir));
        else
                fputs(text, run->out);
}

static void log_to_transcript(int level, const char *line, void *userdata) {
        Run *run = userdata;

        fprintf(run->out, "log: %s", level <= LOG_ERR ? "error: " : level == LOG_WARNING ? "warning: " : "");
        print_text(run, line);
        fputc('\n', run->out);
}

static void advance(Run *run, uint64_t usec) {
        run->now += usec;
        for (;;) {
                Timer *due = NULL;

                for (Timer *t = run->timers; t; t = t->next)
                        if (t->deadline <= run->now && (!due || t->deadline < due->deadline))
                                due = t;
                if (!due)
                        return;
                {
                        void (*fn)(void *) = due->fn;
                        void *ud = due->userdata;

                        env_timer_stop(run, due); /* unlinks and frees */
                        fprintf(run->out, "clock: timer fired\n");
                        fn(ud);
                }
        }
}

static bool env_cluster_holds(void *userdata, const char *group) {
        Run *run = userdata;

        return run->token_held;
}

static void env_cluster_acquire(void *userdata, const char *group, const char *domain, HdhaOpDoneFn fn,
                                void *fn_userdata) {
        Run *run = userdata;

        fprintf(run->out, "cluster: acquire %s for %s\n", group, domain);
        assert_null(run->token_fn);
        run->token_fn = fn;
        run->token_fn_userdata = fn_userdata;
}

static void env_cluster_release(void *userdata, const char *group) {
        Run *run = userdata;

        fprintf(run->out, "cluster: release %s\n", group);
        assert_true(run->token_held);
        run->token_held = false;
}

/* token grant | token deny | token noquorum: the cluster's answer. */
static void token_answer(Run *run, const char *answer) {
        HdhaOpDoneFn fn = run->token_fn;
        int r = 0;

        assert_non_null(fn);
        run->token_fn = NULL;
        if (strcmp(answer, "grant") == 0)
                run->token_held = true;
        else if (strcmp(answer, "deny") == 0)
                r = -EUSERS;
        else
                r = -ENOLINK;
        fn(run->token_fn_userdata, r,
           r == -EUSERS ? "held by host 'node2' for 'vm-c'" : r < 0 ? "this host is not in a quorate cluster" : NULL);
}

bool run_idle_pending(const Run *run) {
        for (const Timer *t = run->timers; t; t = t->next)
                if (t->idle)
                        return true;
        return false;
}

/* One step: a hypervisor call completes, or once none is left, the write
 * of the table's batch; false if neither was waiting. */
static bool run_one(Run *run) {
        if (fake_hv_run_one(run->hv))
                return true;
        for (Timer *t = run->timers; t; t = t->next)
                if (t->idle) {
                        void (*fn)(void *) = t->fn;
                        void *ud = t->userdata;

                        env_timer_stop(run, t);
                        fprintf(run->out, "idle: the table's write\n");
                        fn(ud);
                        return true;
                }
        return false;
}

/* --- Commands -------------------------------------------------------------- */

static void on_done(void *userdata, int r, const char *message) {
        Run *run = userdata;

        if (r < 0) {
                fputs("result: failed: ", run->out);
                print_text(run, message ?: "-");
                fprintf(run->out, " (%s)\n", strerror(-r));
        } else
                fprintf(run->out, "result: ok\n");
}

static void on_reload_done(void *userdata, int r, const char *message) {
        Run *run = userdata;

        if (r < 0)
                fprintf(run->out, "reload: failed: %s (%s)\n", message ?: "-", strerror(-r));
        else
                fprintf(run->out, "reload: applied\n");
}

static void manager_start(Run *run) {
        HdhaManagerEnv env = {
                .timer_start = env_timer_start,
                .timer_stop = env_timer_stop,
                .idle_start = run->batch ? env_idle_start : NULL,
                .connection_changed = env_connection_changed,
                .member_failed = env_member_failed,
                .reconciled = env_reconciled,
                .pacemaker_set_score = env_pacemaker_set_score,
                .pacemaker_report_failure = env_pacemaker_report_failure,
                .cluster_holds = run->cluster ? env_cluster_holds : NULL,
                .cluster_acquire = run->cluster ? env_cluster_acquire : NULL,
                .cluster_release = run->cluster ? env_cluster_release : NULL,
                .userdata = run,
        };
        HdhaConfigErrors errors = {};
        HdhaConfig *config = NULL;
        char *message = NULL;
        int r;

        r = hdha_config_load(run->dir, &config, &errors);
        if (r < 0) {
                fprintf(run->out, "config: failed (%s)\n", strerror(-r));
                hdha_config_errors_print(&errors, run->out);
                hdha_config_errors_done(&errors);
                return;
        }
        hdha_config_errors_done(&errors);
        r = hdha_manager_new(run->hv, &env, config, run->table_path, 0, &run->m, &message);
        if (r < 0) {
                fprintf(run->out, "start: failed: %s\n", message ?: strerror(-r));
                free(message);
                hdha_config_free(config);
                return;
        }
        fprintf(run->out, "start: ok\n");
        fake_hv_set_connected(run->hv, true);
}

static void show(Run *run) {
        const HdhaTable *t = hdha_manager_table(run->m);

        for (size_t i = 0; i < t->n_groups; i++) {
                const HdhaTableGroup *g = t->groups[i];

                fprintf(run->out, "table: %s active=%s generation=%llu operation=%s", g->name, g->active ?: "-",
                        (unsigned long long) g->generation, hdha_operation_to_string(g->operation));
                for (size_t k = 0; k < g->n_members; k++)
                        fprintf(run->out, " %s=%s", g->members[k].domain, hdha_role_to_string(g->members[k].role));
                if (g->frozen)
                        fputs(" frozen", run->out);
                fputc('\n', run->out);
        }
}

/* The table as its file has it (what a restart would find). */
static void show_file(Run *run) {
        HdhaTable *t = NULL;
        char *message = NULL;
        int r;

        r = hdha_table_load(run->table_path, &t, &message);
        if (r < 0) {
                fprintf(run->out, "file: %s\n", message ?: strerror(-r));
                free(message);
                return;
        }
        for (size_t i = 0; i < t->n_groups; i++) {
                const HdhaTableGroup *g = t->groups[i];

                fprintf(run->out, "file: %s active=%s generation=%llu operation=%s%s\n", g->name, g->active ?: "-",
                        (unsigned long long) g->generation, hdha_operation_to_string(g->operation),
                        g->frozen ? " frozen" : "");
        }
        hdha_table_free(t);
}

static int cmp_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dots(const struct dirent *de) {
        return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/* The table's folder, hidden files too, in name order. */
static void list_folder(Run *run) {
        struct dirent **names;
        int n = scandir(run->table_path, &names, not_dots, cmp_names);

        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                fprintf(run->out, "ls: %s\n", names[i]->d_name);
                free(names[i]);
        }
        free(names);
}

static void show_domain(Run *run, const char *name) {
        FakeDomain *d = fake_hv_domain(run->hv, name);

        fprintf(run->out, "domain: %s %s%s quota=%lld\n", d->name, d->running ? "running" : "off",
                d->has_device ? " device" : "", d->quota);
}

/* The device is where the table says, and nowhere else. */
static void check(Run *run, const char *domains) {
        const HdhaTable *t = hdha_manager_table(run->m);
        char buf[256], *save = NULL;
        unsigned holders = 0;
        const char *expected = t->n_groups ? t->groups[0]->active : NULL;
        bool ok = true;

        snprintf(buf, sizeof(buf), "%s", domains);
        for (char *d = strtok_r(buf, " ", &save); d; d = strtok_r(NULL, " ", &save)) {
                FakeDomain *fd = fake_hv_domain(run->hv, d);

                if (fd->running && fd->has_device) {
                        holders++;
                        if (!expected || strcmp(expected, d) != 0)
                                ok = false;
                }
        }
        if (holders > 1 || (expected && holders != 1) || fake_hv_violations(run->hv) > 0)
                ok = false;
        fprintf(run->out, "check: %s\n", ok ? "ok" : "FAILED");
        if (!ok)
                run->failures++;
}

static int op_call(Run *run, const char *verb, char *a, char *b) {
        if (strcmp(verb, "switch") == 0)
                return hdha_manager_switch(run->m, a, b, false, on_done, run);
        if (strcmp(verb, "force-switch") == 0)
                return hdha_manager_switch(run->m, a, b, true, on_done, run);
        if (strcmp(verb, "promote") == 0)
                return hdha_manager_promote(run->m, a, b, on_done, run);
        if (strcmp(verb, "failover") == 0)
                return hdha_manager_failover(run->m, a, b, on_done, run);
        if (strcmp(verb, "release") == 0)
                return hdha_manager_release(run->m, a, on_done, run);
        if (strcmp(verb, "activate") == 0)
                return hdha_manager_activate(run->m, a, on_done, run);
        if (strcmp(verb, "deactivate") == 0)
                return hdha_manager_deactivate(run->m, a, on_done, run);
        if (strcmp(verb, "rebuild") == 0)
                return hdha_manager_rebuild(run->m, a, on_done, run);
        if (strcmp(verb, "freeze") == 0 || strcmp(verb, "thaw") == 0)
                return hdha_manager_set_frozen(run->m, a, verb[0] == 'f');
        return -ENOSYS;
}

static void write_conf(Run *run, const char *group, const char *line) {
        char path[400];
        FILE *f;

        snprintf(path, sizeof(path), "%s/groups.d", run->dir);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/groups.d/%s.conf", run->dir, group);
        f = fopen(path, "a");
        assert_non_null(f);
        if (ftell(f) == 0 && strcmp(group, "nic0") == 0)
                fprintf(f, "[Group]\nDeviceXML=%s/device.xml\n", run->dir);
        else if (ftell(f) == 0) {
                /* Any other group: a device of its own. */
                char xml[400];
                FILE *d;

                snprintf(xml, sizeof(xml), "%s/device-%s.xml", run->dir, group);
                d = fopen(xml, "we");
                assert_non_null(d);
                fprintf(d, "<interface type='user'><mac address='52:54:00:00:00:%02x'/><model type='e1000e'/>"
                        "</interface>\n", (unsigned) strlen(group) + (unsigned char) group[strlen(group) - 1]);
                fclose(d);
                fprintf(f, "[Group]\nDeviceXML=%s\n", xml);
        }
        fprintf(f, "%s\n", line);
        fclose(f);
}

/* The errno a "fail" command names, as libvirt-util.c maps libvirt's
 * errors: 0 if NAME is none of them. */
static int fail_errno(const char *name) {
        static const struct {
                const char *name;
                int e;
        } table[] = {
                { "EIO", -EIO },       { "EOPNOTSUPP", -EOPNOTSUPP }, { "EINVAL", -EINVAL },
                { "EBUSY", -EBUSY },   { "EACCES", -EACCES },         { "ETIMEDOUT", -ETIMEDOUT },
        };

        for (size_t i = 0; name && i < ELEMENTSOF(table); i++)
                if (strcmp(name, table[i].name) == 0)
                        return table[i].e;
        return 0;
}

void run_command(Run *run, char *line) {
        char *argv[32] = {};
        int argc = 0, r;
        char *save = NULL, *rest;

        for (char *w = strtok_r(line, " \t\n", &save); w && argc < 32; w = strtok_r(NULL, " \t\n", &save))
                argv[argc++] = w;
        if (argc == 0 || argv[0][0] == '#')
                return;
        rest = argc > 2 ? argv[2] : NULL;

        if (strcmp(argv[0], "conf") == 0) {
                char buf[512] = "";
                for (int i = 2; i < argc; i++)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i > 2 ? " " : "", argv[i]);
                write_conf(run, argv[1], buf);
                return;
        }

        fprintf(run->out, "> ");
        for (int i = 0; i < argc; i++)
                fprintf(run->out, "%s%s", i ? " " : "", argv[i]);
        fputc('\n', run->out);

        if (strcmp(argv[0], "domain") == 0) {
                FakeDomain *d = fake_hv_domain(run->hv, argv[1]);
                for (int i = 2; i < argc; i++) {
                        if (strcmp(argv[i], "running") == 0)
                                d->running = true;
                        else if (strcmp(argv[i], "device") == 0)
                                d->has_device = true;
                        else if (strcmp(argv[i], "holds-on") == 0)
                                d->release = FAKE_RELEASE_NEVER;
                        else if (strcmp(argv[i], "loses-unplug") == 0)
                                d->release = FAKE_RELEASE_LOST_ONCE;
                        else if (strcmp(argv[i], "refuses") == 0)
                                d->release = FAKE_RELEASE_REFUSE;
                        else if (strncmp(argv[i], "quota=", 6) == 0)
                                d->quota = strtoll(argv[i] + 6, NULL, 10);
                }
        } else if (strcmp(argv[0], "start") == 0 || strcmp(argv[0], "restart") == 0)
                manager_start(run);
        else if (strcmp(argv[0], "run") == 0) {
                /* run [N]: everything waiting, or N steps of it. */
                for (int n = argc > 1 ? atoi(argv[1]) : -1; n != 0 && run_one(run); n--)
                        ;
        } else if (strcmp(argv[0], "batch") == 0)
                run->batch = true;
        else if (strcmp(argv[0], "advance") == 0)
                advance(run, (uint64_t) atoi(argv[1]) * 1000000U);
        else if (strcmp(argv[0], "kill") == 0)
                fake_hv_kill(run->hv, argv[1]);
        else if (strcmp(argv[0], "event") == 0)
                fake_hv_queue_event(run->hv, hdha_hv_event_from_string(argv[1]), argv[2], NULL, argv[1]);
        else if (strcmp(argv[0], "fail") == 0) {
                /* fail OP DOMAIN [ERRNO] MESSAGE...: libvirt's internal
                 * error (-EIO) unless ERRNO names another. */
                FakeDomain *d = fake_hv_domain(run->hv, argv[2]);
                char buf[256] = "";
                int first = 3, e = fail_errno(argc > 3 ? argv[3] : NULL);

                if (e != 0)
                        first = 4;
                for (int i = first; i < argc; i++)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i > first ? " " : "", argv[i]);
                free(d->fail_op);
                free(d->fail_message);
                d->fail_op = strdup(argv[1]);
                d->fail_message = strdup(buf);
                d->fail_errno = e;
        } else if (strcmp(argv[0], "pcmk-instance") == 0 && argc == 5) {
                /* pcmk-instance GROUP I RESOURCE NODE: the agent's call. */
                HdhaPcmkMember mem;

                r = hdha_manager_pacemaker_instance(run->m, argv[1], (unsigned) atoi(argv[2]), argv[3], argv[4], &mem);
                if (r < 0)
                        fprintf(run->out, "instance: %s\n", strerror(-r));
                else
                        fprintf(run->out, "instance: %s %s%s score=%d\n", mem.domain, hdha_role_to_string(mem.role),
                                mem.holder ? " holder" : "", mem.score);
        } else if (strcmp(argv[0], "guest-failed") == 0 && argc >= 3) {
                /* guest-failed DOMAIN REASON...: its guest's heartbeat lost, or its check failed. */
                char buf[256] = "";
                for (int i = 2; i < argc; i++)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i > 2 ? " " : "", argv[i]);
                r = hdha_manager_guest_failed(run->m, argv[1], buf);
                fprintf(run->out, "guest-failed: %s\n", r < 0 ? strerror(-r) : r ? "marked failed" : "ignored");
        } else if (strcmp(argv[0], "guest-request") == 0 && argc == 3) {
                /* guest-request DOMAIN release|takeover */
                HdhaGuestRefusal refusal = HDHA_GUEST_REFUSED_FAILED;
                const char *message = NULL;

                r = hdha_manager_guest_request(run->m, argv[1], hdha_guest_verb_from_string(argv[2]), &refusal,
                                               &message);
                if (r == -EPERM)
                        fprintf(run->out, "guest-request: refused %s (%s)\n", hdha_guest_refusal_to_string(refusal),
                                message);
                else
                        fprintf(run->out, "guest-request: %s (%s)\n", r < 0 ? strerror(-r) : "accepted",
                                strna(message));
        } else if (strcmp(argv[0], "pcmk-score-lost") == 0 && argc == 3) {
                /* pcmk-score-lost RESOURCE NODE: its score command failed. */
                hdha_manager_pacemaker_score_lost(run->m, argv[1], argv[2]);
        } else if (strcmp(argv[0], "group-alias") == 0 && argc > 2) {
                /* group-alias GROUP DOMAIN...: its members' events carry its alias. */
                char alias[128];

                snprintf(alias, sizeof(alias), "ua-hostdev-%s", argv[1]);
                fake_hv_set_group(run->hv, alias, (const char *const *) argv + 2, (size_t) argc - 2);
        } else if (strcmp(argv[0], "cluster") == 0) {
                /* cluster [held]: the next start is in a cluster. */
                run->cluster = true;
                run->token_held = argc > 1 && strcmp(argv[1], "held") == 0;
        } else if (strcmp(argv[0], "token") == 0 && argc == 2)
                token_answer(run, argv[1]);
        else if (strcmp(argv[0], "crash") == 0) {
                fake_hv_crash_pending(run->hv);
                run->m = hdha_manager_free(run->m);
                while (run->timers)
                        env_timer_stop(run, run->timers);
        } else if (strcmp(argv[0], "disconnect") == 0)
                fake_hv_set_connected(run->hv, false);
        else if (strcmp(argv[0], "connect") == 0)
                fake_hv_set_connected(run->hv, true);
        else if (strcmp(argv[0], "reload") == 0) {
                HdhaConfig *config = NULL;
                r = hdha_config_load(run->dir, &config, NULL);
                if (r >= 0)
                        r = hdha_manager_reload(run->m, config, on_reload_done, run);
                else
                        hdha_config_free(config);
                fprintf(run->out, "reload: %s\n", r < 0 ? strerror(-r) : r == 0 ? "ok" : "waits");
        } else if (strcmp(argv[0], "state-dir") == 0 && argc == 2) {
                /* state-dir full | read-only | ok */
                state_errno = strcmp(argv[1], "full") == 0 ? ENOSPC : strcmp(argv[1], "read-only") == 0 ? EROFS : 0;
        } else if (strcmp(argv[0], "file") == 0)
                show_file(run);
        else if (strcmp(argv[0], "leave") == 0 && argc == 2) {
                /* leave NAME: a file in the table's folder, as a write cut short leaves one */
                char p[sizeof(run->table_path) + 256];
                FILE *f;

                snprintf(p, sizeof(p), "%s/%s", run->table_path, argv[1]);
                assert_non_null(f = fopen(p, "we"));
                fclose(f);
        } else if (strcmp(argv[0], "ls") == 0)
                list_folder(run);
        else if (strcmp(argv[0], "show") == 0) {
                show(run);
                for (int i = 1; i < argc; i++)
                        show_domain(run, argv[i]);
        } else if (strcmp(argv[0], "check") == 0) {
                char buf[256] = "";
                for (int i = 1; i < argc; i++)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s ", argv[i]);
                check(run, buf);
        } else {
                r = op_call(run, argv[0], argc > 1 ? argv[1] : NULL, rest);
                if (r == -ENOSYS)
                        fail_msg("unknown scenario command '%s'", argv[0]);
                fprintf(run->out, "call: %s\n", r < 0 ? strerror(-r) : "accepted");
        }
}

/* --- A run ------------------------------------------------------------------- */

void run_init(Run *run, FILE *out) {
        char path[300];
        FILE *f;

        *run = (Run) {};
        state_errno = 0;
        snprintf(run->dir, sizeof(run->dir), "/tmp/hdha-test-manager.XXXXXX");
        assert_non_null(mkdtemp(run->dir));
        snprintf(run->table_path, sizeof(run->table_path), "%s/table.d", run->dir);
        snprintf(path, sizeof(path), "%s/device.xml", run->dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs("<interface type='user'><model type='e1000e'/></interface>\n", f);
        fclose(f);

        run->out = out;
        run->hv = fake_hv_new(run->out);
        hdha_log_set_sink(log_to_transcript, run);
}

/* Returns the violations of the invariant the fake hypervisor saw. */
unsigned run_done(Run *run) {
        unsigned violations = fake_hv_violations(run->hv);
        char cmd[300];

        run->m = hdha_manager_free(run->m);
        run->hv = hdha_hypervisor_free(run->hv);
        hdha_log_set_sink(NULL, NULL);
        while (run->timers)
                env_timer_stop(run, run->timers);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run->dir);
        assert_int_equal(system(cmd), 0);
        return violations;
}

void run_commands(Run *run, const char *script) {
        char *copy = strdup(script), *save = NULL;

        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                run_command(run, line);
        free(copy);
}
