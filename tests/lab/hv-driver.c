/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hv-driver URI [COMMAND...]: drives the libvirt hypervisor from an sd-event
 * loop, for the lab tests. Commands come from the arguments (one per
 * argument) or, without any, from stdin (one per line), and run one after
 * the other:
 *
 *   attach DOMAIN XMLFILE      detach DOMAIN XMLFILE     inspect DOMAIN [ALIAS]
 *   destroy DOMAIN             start DOMAIN              quota DOMAIN QUOTA [PERIOD]
 *   wait-event KIND DOMAIN|- SECONDS [REASON]
 *                              (an event not yet waited for; KIND as in
 *                              hdha_hv_event_to_string())
 *   clear                      forget the events not waited for yet
 *   sleep SECONDS              wait-all (the commands started with '&')
 *   pending                    how many '&' commands are still in flight
 *                              (answered by the loop alone, without libvirt)
 *
 * "& COMMAND" starts an operation without waiting for it. Output, one line each:
 *   event KIND domain=D alias=A reason=R at=EPOCH_S
 *   = VERB r=R ms=MS loop_max_ms=MS [message="..."] [exists=..]   (a command's result)
 *   ~ VERB ...                                   (the result of an '&' command)
 * loop_max_ms is how late a 5 ms timer on the loop fired at worst while the
 * command ran. Exit status: 0 after the last command, 1 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "hypervisor-libvirt.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

#define TICK_USEC 5000
#define MAX_ACTIVE 16
#define MAX_EVENTS 256

typedef struct Cmd {
        char verb[32];
        bool async, used;
        uint64_t start, loop_max;
} Cmd;

typedef struct SeenEvent {
        HdhaHvEventKind kind;
        char *domain, *alias, *reason;
        double at;
} SeenEvent;

static sd_event *loop;
static HdhaHypervisor *hv;
static sd_event_source *tick, *kick, *stdin_source, *wait_timer;
static Cmd active[MAX_ACTIVE];
static Cmd *sync_cmd;                /* the command being waited for */
static char **argv_cmds;
static int argv_left;
static char inbuf[65536];
static size_t inlen;
static bool stdin_eof;
static SeenEvent seen[MAX_EVENTS];
static size_t n_seen;
static HdhaHvEventKind wait_kind = _HDHA_HV_EVENT_INVALID;
static char wait_domain[256];
static char wait_reason[256];
static bool waiting_all;

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static double epoch(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static Cmd *cmd_begin(const char *verb, bool async) {
        for (size_t i = 0; i < MAX_ACTIVE; i++)
                if (!active[i].used) {
                        active[i] = (Cmd) { .used = true, .async = async, .start = mono_usec() };
                        snprintf(active[i].verb, sizeof(active[i].verb), "%s", verb);
                        return &active[i];
                }
        return NULL;
}

static size_t n_async(void) {
        size_t n = 0;

        for (size_t i = 0; i < MAX_ACTIVE; i++)
                n += active[i].used && active[i].async;
        return n;
}

/* Prints the result line (without its end) and frees the slot. */
static void cmd_end(Cmd *c, int r, const char *message) {
        printf("%s %s r=%d ms=%.1f loop_max_ms=%.2f", c->async ? "~" : "=", c->verb, r,
               (double) (mono_usec() - c->start) / 1000.0, (double) c->loop_max / 1000.0);
        if (message)
                printf(" message=\"%s\"", message);
        if (c == sync_cmd)
                sync_cmd = NULL;
        c->used = false;
        (void) sd_event_source_set_enabled(kick, SD_EVENT_ONESHOT);
}

static void on_done(void *userdata, int r, const char *message) {
        cmd_end(userdata, r, message);
        printf("\n");
}

static void on_inspect(void *userdata, int r, const char *message, const HdhaDomainInfo *info) {
        cmd_end(userdata, r, message);
        if (r >= 0)
                printf(" exists=%d running=%d paused=%d has_device=%d", info->exists, info->running,
                       info->paused, info->has_device);
        printf("\n");
}

static bool event_matches(const SeenEvent *e) {
        return e->kind == wait_kind && (streq(wait_domain, "-") || (e->domain && streq(e->domain, wait_domain))) &&
                (!wait_reason[0] || (e->reason && streq(e->reason, wait_reason)));
}

/* The wait is over: print the event (or the timeout), free the slot. */
static void wait_finish(size_t i) {
        wait_timer = sd_event_source_disable_unref(wait_timer);
        wait_kind = _HDHA_HV_EVENT_INVALID;
        if (i >= n_seen) {
                cmd_end(sync_cmd, -ETIMEDOUT, "no such event");
                printf("\n");
                return;
        }
        cmd_end(sync_cmd, 0, NULL);
        printf(" domain=%s alias=%s reason=%s at=%.6f\n", seen[i].domain ?: "-", seen[i].alias ?: "-",
               seen[i].reason ?: "-", seen[i].at);
        free(seen[i].domain);
        free(seen[i].alias);
        free(seen[i].reason);
        memmove(&seen[i], &seen[i + 1], (n_seen - i - 1) * sizeof(SeenEvent));
        n_seen--;
}

static void on_event(void *userdata, const HdhaHvEvent *e) {
        SeenEvent s = {
                .kind = e->kind,
                .domain = e->domain ? strdup(e->domain) : NULL,
                .alias = e->alias ? strdup(e->alias) : NULL,
                .reason = e->reason ? strdup(e->reason) : NULL,
                .at = epoch(),
        };

        printf("event %s domain=%s alias=%s reason=%s at=%.6f\n", hdha_hv_event_to_string(e->kind),
               e->domain ?: "-", e->alias ?: "-", e->reason ?: "-", s.at);
        if (n_seen == MAX_EVENTS) {
                free(seen[0].domain);
                free(seen[0].alias);
                free(seen[0].reason);
                memmove(&seen[0], &seen[1], (MAX_EVENTS - 1) * sizeof(SeenEvent));
                n_seen--;
        }
        seen[n_seen++] = s;
        if (wait_kind >= 0 && event_matches(&seen[n_seen - 1]))
                wait_finish(n_seen - 1);
}

static int on_wait_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        wait_finish(SIZE_MAX);
        return 0;
}

static int on_sleep_done(sd_event_source *s, uint64_t usec, void *userdata) {
        cmd_end(sync_cmd, 0, NULL);
        printf("\n");
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        uint64_t now = mono_usec(), late = now > usec ? now - usec : 0;

        for (size_t i = 0; i < MAX_ACTIVE; i++)
                if (active[i].used && late > active[i].loop_max)
                        active[i].loop_max = late;
        (void) sd_event_source_set_time(s, now + TICK_USEC);
        return 0;
}

static char *read_file(const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return NULL;
        buf = malloc(65536);
        if (buf) {
                size = fread(buf, 1, 65535, f);
                buf[size] = 0;
        }
        fclose(f);
        return TAKE_PTR(buf);
}

/* Runs one command; returns < 0 (after printing why) if it could not start. */
static int execute(char *line) {
        char *w[6] = {}, *save = NULL, *tok;
        bool async = false;
        size_t n = 0;
        Cmd *c;
        int r;

        for (tok = strtok_r(line, " \t", &save); tok && n < ELEMENTSOF(w); tok = strtok_r(NULL, " \t", &save))
                w[n++] = tok;
        if (n > 0 && streq(w[0], "&")) {
                async = true;
                memmove(w, w + 1, sizeof(w) - sizeof(w[0]));
                n--;
        }
        if (n == 0)
                return 0;

        c = cmd_begin(w[0], async);
        if (!c) {
                printf("= %s r=%d message=\"too many commands in flight\"\n", w[0], -EBUSY);
                return -EBUSY;
        }
        if (!async)
                sync_cmd = c;

        if (streq(w[0], "attach") || streq(w[0], "detach")) {
                _cleanup_free_ char *xml = n == 3 ? read_file(w[2]) : NULL;

                if (!xml)
                        r = -EINVAL;
                else if (streq(w[0], "attach"))
                        r = hv->ops->attach(hv, w[1], xml, on_done, c);
                else
                        r = hv->ops->detach(hv, w[1], xml, on_done, c);
        } else if (streq(w[0], "inspect") && (n == 2 || n == 3))
                r = hv->ops->inspect(hv, w[1], w[2], on_inspect, c);
        else if (streq(w[0], "destroy") && n == 2)
                r = hv->ops->destroy(hv, w[1], on_done, c);
        else if (streq(w[0], "start") && n == 2)
                r = hv->ops->start(hv, w[1], on_done, c);
        else if (streq(w[0], "quota") && (n == 3 || n == 4)) {
                int64_t quota;
                uint64_t period = 0;

                r = hdha_parse_int64(w[2], -1, INT64_MAX, &quota);
                if (r >= 0 && n == 4)
                        r = hdha_parse_uint64(w[3], 0, UINT64_MAX, &period);
                if (r >= 0)
                        r = hv->ops->set_vcpu_quota(hv, w[1], quota, period, on_done, c);
        } else if (streq(w[0], "wait-event") && (n == 4 || n == 5) && !async) {
                uint64_t secs;

                wait_kind = hdha_hv_event_from_string(w[1]);
                snprintf(wait_domain, sizeof(wait_domain), "%s", w[2]);
                snprintf(wait_reason, sizeof(wait_reason), "%s", n == 5 ? w[4] : "");
                r = wait_kind < 0 ? -EINVAL : hdha_parse_uint64(w[3], 0, 3600, &secs);
                if (r >= 0) {
                        for (size_t i = 0; i < n_seen; i++)
                                if (event_matches(&seen[i])) {
                                        wait_finish(i);
                                        return 0;
                                }
                        r = sd_event_add_time_relative(loop, &wait_timer, CLOCK_MONOTONIC, secs * 1000000, 0,
                                                       on_wait_timeout, NULL);
                }
                if (r < 0)
                        wait_kind = _HDHA_HV_EVENT_INVALID;
        } else if (streq(w[0], "sleep") && n == 2 && !async) {
                uint64_t secs;

                r = hdha_parse_uint64(w[1], 0, 3600, &secs);
                if (r >= 0)
                        r = sd_event_add_time_relative(loop, NULL, CLOCK_MONOTONIC, secs * 1000000, 0,
                                                       on_sleep_done, NULL);
                if (r >= 0)
                        return 0;
        } else if (streq(w[0], "clear") && n == 1 && !async) {
                for (size_t i = 0; i < n_seen; i++) {
                        free(seen[i].domain);
                        free(seen[i].alias);
                        free(seen[i].reason);
                }
                n_seen = 0;
                cmd_end(c, 0, NULL);
                printf("\n");
                return 0;
        } else if (streq(w[0], "pending") && n == 1 && !async) {
                size_t pending = n_async();

                cmd_end(c, 0, NULL);
                printf(" n=%zu\n", pending);
                return 0;
        } else if (streq(w[0], "wait-all") && n == 1 && !async) {
                waiting_all = true;
                (void) sd_event_source_set_enabled(kick, SD_EVENT_ONESHOT);
                return 0;
        } else
                r = -EINVAL;

        if (r < 0) {
                cmd_end(c, r, "cannot start");
                printf("\n");
                return r;
        }
        if (async)
                printf("= & %s r=0 started\n", w[0]);
        return 0;
}

static char *next_line(void) {
        static char line[4096];
        char *nl;

        if (argv_cmds)
                return argv_left-- > 0 ? *argv_cmds++ : NULL;

        nl = memchr(inbuf, '\n', inlen);
        if (!nl)
                return NULL;
        *nl = 0;
        if ((size_t) (nl - inbuf) >= sizeof(line))
                inbuf[sizeof(line) - 1] = 0; /* too long: cut */
        memcpy(line, inbuf, strlen(inbuf) + 1);
        inlen -= (size_t) (nl + 1 - inbuf);
        memmove(inbuf, nl + 1, inlen);
        return line;
}

static int on_kick(sd_event_source *s, void *userdata) {
        char *line;

        if (waiting_all) {
                if (n_async() > 0)
                        return 0;
                waiting_all = false;
                cmd_end(sync_cmd, 0, NULL);
                printf("\n");
        }
        while (!sync_cmd && !waiting_all && (line = next_line()))
                (void) execute(line);
        if (!sync_cmd && !waiting_all && n_async() == 0 && (argv_cmds ? argv_left <= 0 : stdin_eof))
                return sd_event_exit(loop, 0);
        return 0;
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ssize_t k;

        k = read(fd, inbuf + inlen, sizeof(inbuf) - inlen - 1);
        if (k < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (k == 0) {
                stdin_eof = true;
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        inlen += (size_t) k;
        (void) sd_event_source_set_enabled(kick, SD_EVENT_ONESHOT);
        return 0;
}

int main(int argc, char *argv[]) {
        int r;

        if (argc < 2) {
                fprintf(stderr, "usage: %s URI [COMMAND...]\n", argv[0]);
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        hdha_log_open("hv-driver");
        hdha_log_set_max_level(LOG_INFO);

        r = sd_event_default(&loop);
        if (r < 0)
                return log_error_errno(r, "Failed to get the event loop: %m"), 1;
        r = hdha_hypervisor_libvirt_new(loop, argv[1], &hv);
        if (r < 0)
                return log_error_errno(r, "Failed to set up libvirt: %m"), 1;
        hdha_hypervisor_set_event_handler(hv, on_event, NULL);

        if (argc > 2) {
                argv_cmds = argv + 2;
                argv_left = argc - 2;
        } else if ((r = sd_event_add_io(loop, &stdin_source, STDIN_FILENO, EPOLLIN, on_stdin, NULL)) < 0)
                return log_error_errno(r, "Failed to watch stdin: %m"), 1;

        r = sd_event_add_time(loop, &tick, CLOCK_MONOTONIC, mono_usec() + TICK_USEC, 1, on_tick, NULL);
        if (r >= 0)
                r = sd_event_source_set_enabled(tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_defer(loop, &kick, on_kick, NULL);
        if (r >= 0)
                r = sd_event_source_set_enabled(kick, SD_EVENT_ONESHOT);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the loop: %m"), 1;

        r = sd_event_loop(loop);
        hv = hdha_hypervisor_free(hv);
        sd_event_source_unref(tick);
        sd_event_source_unref(kick);
        sd_event_source_unref(stdin_source);
        sd_event_unref(loop);
        return r < 0 ? 1 : 0;
}
