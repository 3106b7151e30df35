/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdev-ha-guest: the guest's side of the channel org.hostdevha.guest.0
 * (docs/guest-channel.md). Runs inside a member domain, built static with
 * nothing but the C library: it finds its virtio-serial port through
 * /sys/class/virtio-ports/, says hello, and then either asks one thing
 * (status, release, takeover) and waits for the answer, or sends a
 * heartbeat every interval until it is stopped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-proto.h"
#include "macro.h"

/* In the style of hostdevctl's (hostdevctl(1)). */
typedef enum GuestExit {
        GUEST_EXIT_OK = 0,
        GUEST_EXIT_FAILURE = 1,       /* refused: failed, no-standby; an I/O error */
        GUEST_EXIT_USAGE = 2,
        GUEST_EXIT_BUSY = 4,          /* refused: busy, rate-limit */
        GUEST_EXIT_ACCESS = 5,        /* refused: not-allowed (GuestRequests=) */
        GUEST_EXIT_NOT_RUNNING = 6,   /* no port, or no answer from hostdev-had */
        GUEST_EXIT_FROZEN = 7,        /* refused: frozen */
        GUEST_EXIT_NOTHING_TO_DO = 8, /* refused: not-active (release from a standby) */
        GUEST_EXIT_NOT_STANDBY = 9,   /* refused: not-standby (takeover from the active one) */
} GuestExit;

#define SYSFS_PORTS "/sys/class/virtio-ports"
#define DEFAULT_TIMEOUT_MS 10000U
#define DEFAULT_INTERVAL_MS 1000U

static const char *arg_port;
static unsigned arg_timeout_ms = DEFAULT_TIMEOUT_MS;
static unsigned arg_interval_ms = DEFAULT_INTERVAL_MS;
static const char *arg_check;

_printf_(1, 2) static void say(const char *fmt, ...) {
        va_list ap;

        fputs("hostdev-ha-guest: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000U + (uint64_t) ts.tv_nsec / 1000000U;
}

static void sleep_ms(uint64_t ms) {
        struct timespec ts = { .tv_sec = (time_t) (ms / 1000U), .tv_nsec = (long) (ms % 1000U) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The port's device: /dev/ plus the sysfs entry whose name file says
 * HDHA_GUEST_CHANNEL_NAME; udev's /dev/virtio-ports/ link if /dev has no
 * such node. */
static int port_find(char *ret, size_t size) {
        DIR *d;
        struct dirent *de;
        int r = -ENOENT;

        d = opendir(SYSFS_PORTS);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char path[PATH_MAX], name[128];
                size_t n;
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                if ((size_t) snprintf(path, sizeof(path), SYSFS_PORTS "/%s/name", de->d_name) >= sizeof(path))
                        continue;
                f = fopen(path, "re");
                if (!f)
                        continue;
                n = fread(name, 1, sizeof(name) - 1, f);
                fclose(f);
                name[n] = '\0';
                name[strcspn(name, "\n")] = '\0';
                if (!streq(name, HDHA_GUEST_CHANNEL_NAME))
                        continue;

                if ((size_t) snprintf(ret, size, "/dev/%s", de->d_name) < size && access(ret, F_OK) == 0)
                        r = 0;
                else if ((size_t) snprintf(ret, size, "/dev/virtio-ports/%s", HDHA_GUEST_CHANNEL_NAME) < size &&
                         access(ret, F_OK) == 0)
                        r = 0;
                else
                        r = -ENODEV;
                break;
        }
        closedir(d);
        return r;
}

static int port_open(void) {
        char path[PATH_MAX];
        int fd, r;

        if (arg_port) {
                if (strlen(arg_port) >= sizeof(path))
                        return -ENAMETOOLONG;
                strcpy(path, arg_port);
        } else {
                r = port_find(path, sizeof(path));
                if (r < 0)
                        return r;
        }
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return fd;
}

/* Writes one whole line before the deadline. -ENOTCONN: the host side is
 * not there (writes would block, or it hung up). */
static int send_line(int fd, const char *line, size_t n, uint64_t deadline) {
        while (n > 0) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                ssize_t k = write(fd, line, n);
                uint64_t now;

                if (k > 0) {
                        line += k;
                        n -= (size_t) k;
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno != EAGAIN)
                        return -errno;
                now = now_ms();
                if (now >= deadline)
                        return -ENOTCONN;
                if (poll(&p, 1, (int) MIN(deadline - now, (uint64_t) INT_MAX)) < 0 && errno != EINTR)
                        return -errno;
                if ((p.revents & (POLLHUP | POLLOUT)) == POLLHUP)
                        return -ENOTCONN;
        }
        return 0;
}

static int send_request(int fd, HdhaGuestVerb verb, uint64_t deadline) {
        char buf[HDHA_GUEST_LINE_MAX + 1];
        HdhaGuestRequest req = { .verb = verb, .version = HDHA_GUEST_PROTOCOL_VERSION };
        int n;

        n = hdha_guest_format_request(&req, buf, sizeof(buf));
        if (n < 0)
                return n;
        return send_line(fd, buf, (size_t) n, deadline);
}

/* Waiting for the answer to verb. */
typedef struct Wait {
        HdhaGuestVerb verb;
        HdhaGuestReply reply;
        bool done;
} Wait;

static int on_reply_line(void *userdata, HdhaGuestLineResult result, const char *line, size_t n) {
        Wait *w = userdata;
        HdhaGuestReply reply;

        if (result != HDHA_GUEST_LINE_OK)
                return 0;
        result = hdha_guest_parse_reply(line, n, &reply);
        if (result != HDHA_GUEST_LINE_OK) {
                say("ignoring a line from the host: %s", hdha_guest_line_result_to_string(result));
                return 0;
        }
        if (w->verb == HDHA_GUEST_STATUS ? reply.kind != HDHA_GUEST_REPLY_STATUS
                                         : reply.kind == HDHA_GUEST_REPLY_STATUS || reply.verb != w->verb)
                return 0;
        w->reply = reply;
        w->done = true;
        return -ECANCELED; /* stop: the answer is here */
}

/* Reads until the answer to w->verb came or the deadline passed. With w
 * NULL, reads (and drops) whatever came until the deadline. -ENOTCONN: the
 * host hung up; -ETIMEDOUT: no answer. */
static int read_until(int fd, HdhaGuestLineBuffer *lb, Wait *w, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[256];
                uint64_t now = now_ms();
                ssize_t k;

                if (now >= deadline)
                        return w ? -ETIMEDOUT : 0;
                if (poll(&p, 1, (int) MIN(deadline - now, (uint64_t) INT_MAX)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p.revents == 0)
                        continue;
                if (!(p.revents & POLLIN))
                        return -ENOTCONN;
                k = read(fd, buf, sizeof(buf));
                if (k == 0)
                        return -ENOTCONN;
                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return -errno;
                }
                if (w) {
                        (void) hdha_guest_line_buffer_feed(lb, buf, (size_t) k, on_reply_line, w);
                        if (w->done)
                                return 0;
                }
        }
}

static GuestExit refusal_exit(HdhaGuestRefusal refusal) {
        switch (refusal) {
        case HDHA_GUEST_REFUSED_NOT_ALLOWED:
                return GUEST_EXIT_ACCESS;
        case HDHA_GUEST_REFUSED_NOT_ACTIVE:
                return GUEST_EXIT_NOTHING_TO_DO;
        case HDHA_GUEST_REFUSED_NOT_STANDBY:
                return GUEST_EXIT_NOT_STANDBY;
        case HDHA_GUEST_REFUSED_BUSY:
        case HDHA_GUEST_REFUSED_RATE_LIMIT:
                return GUEST_EXIT_BUSY;
        case HDHA_GUEST_REFUSED_FROZEN:
                return GUEST_EXIT_FROZEN;
        default:
                return GUEST_EXIT_FAILURE;
        }
}

/* status, release, takeover: one question, one answer. */
static int run_request(HdhaGuestVerb verb) {
        HdhaGuestLineBuffer lb = {};
        Wait w = { .verb = verb };
        uint64_t deadline = now_ms() + arg_timeout_ms;
        int fd, r;

        fd = port_open();
        if (fd < 0) {
                say("cannot open the port '%s': %s", arg_port ?: HDHA_GUEST_CHANNEL_NAME, strerror(-fd));
                return GUEST_EXIT_NOT_RUNNING;
        }
        r = send_request(fd, HDHA_GUEST_HELLO, deadline);
        if (r >= 0)
                r = send_request(fd, verb, deadline);
        if (r >= 0)
                r = read_until(fd, &lb, &w, deadline);
        close(fd);
        if (r == -ENOTCONN || r == -ETIMEDOUT) {
                say("no answer from hostdev-had on the host (%s)",
                    r == -ENOTCONN ? "not connected" : "timed out");
                return GUEST_EXIT_NOT_RUNNING;
        }
        if (r < 0) {
                say("%s failed: %s", hdha_guest_verb_to_string(verb), strerror(-r));
                return GUEST_EXIT_FAILURE;
        }

        switch (w.reply.kind) {
        case HDHA_GUEST_REPLY_STATUS:
                printf("%s\n", w.reply.role);
                return GUEST_EXIT_OK;
        case HDHA_GUEST_REPLY_OK:
                printf("%s: accepted\n", hdha_guest_verb_to_string(verb));
                return GUEST_EXIT_OK;
        default:
                say("%s refused: %s", hdha_guest_verb_to_string(verb),
                    hdha_guest_refusal_to_string(w.reply.refusal));
                return refusal_exit(w.reply.refusal);
        }
}

/* Runs the health check; true if it exited 0. */
static bool check_ok(const char *cmd) {
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0) {
                say("cannot run the check: %s", strerror(errno));
                return false;
        }
        if (pid == 0) {
                execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return false;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* heartbeat: every interval, "heartbeat" (or "failed" when the check
 * fails). The host side going away (the daemon restarted) is waited out:
 * the port is opened again on the next beat, and hello said again. */
_noreturn_ static void run_heartbeat(void) {
        HdhaGuestLineBuffer lb = {};
        bool connected = false, said_gone = false, healthy = true;
        int fd = -1, r;

        for (;;) {
                uint64_t start = now_ms(), deadline = start + arg_interval_ms;
                bool ok = arg_check ? check_ok(arg_check) : true;

                if (ok != healthy) {
                        if (ok)
                                say("the check '%s' passes again", arg_check);
                        else
                                say("the check '%s' failed: reporting a failure", arg_check);
                        healthy = ok;
                }
                if (fd < 0) {
                        fd = port_open();
                        if (fd < 0 && !said_gone) {
                                say("cannot open the port: %s, trying again every beat", strerror(-fd));
                                said_gone = true;
                        }
                }
                if (fd >= 0) {
                        r = connected ? 0 : send_request(fd, HDHA_GUEST_HELLO, deadline);
                        if (r >= 0)
                                r = send_request(fd, ok ? HDHA_GUEST_HEARTBEAT : HDHA_GUEST_FAILED, deadline);
                        if (r >= 0 && !connected) {
                                say("connected to hostdev-had");
                                connected = true;
                                said_gone = false;
                        }
                        if (r >= 0)
                                /* Drop what the host sends; notice it going. */
                                r = read_until(fd, &lb, NULL, deadline);
                        if (r < 0) {
                                if (connected || !said_gone)
                                        say("hostdev-had is not there (%s), trying again every beat",
                                            r == -ENOTCONN ? "not connected" : strerror(-r));
                                connected = false;
                                said_gone = true;
                                (void) hdha_guest_line_buffer_end(&lb);
                                close(fd);
                                fd = -1;
                        }
                }
                if (now_ms() < deadline)
                        sleep_ms(deadline - now_ms());
        }
}

static int parse_ms(const char *s, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

static void help(void) {
        printf("Usage: hostdev-ha-guest [OPTION...] VERB\n"
               "\n"
               "The guest's side of hostdev-ha: talks to hostdev-had on the host over the\n"
               "virtio-serial port " HDHA_GUEST_CHANNEL_NAME ".\n"
               "\n"
               "Verbs:\n"
               "  status                 print this domain's role (active, standby, ...)\n"
               "  release                give the device to a standby (from the active domain)\n"
               "  takeover               the active domain failed: give the device here\n"
               "                         (from a standby; needs GuestRequests=takeover)\n"
               "  heartbeat              send a heartbeat every interval, in the foreground\n"
               "\n"
               "Options:\n"
               "  -h --help              show this help\n"
               "     --port PATH         the port's device (default: found in " SYSFS_PORTS ")\n"
               "     --timeout MS        how long to wait for an answer (default %u)\n"
               "     --interval MS       heartbeat: time between beats (default %u)\n"
               "     --check CMD         heartbeat: run CMD (/bin/sh -c) before each beat; a\n"
               "                         non-zero exit reports this domain failed\n"
               "\n"
               "Exit status: 0 done, 1 failed, 2 usage, 4 busy or rate-limited, 5 not allowed\n"
               "by GuestRequests=, 6 no port or no answer from hostdev-had, 7 the group is frozen,\n"
               "8 nothing to do (release from a domain without the device), 9 not a standby.\n",
               DEFAULT_TIMEOUT_MS, DEFAULT_INTERVAL_MS);
}

int main(int argc, char *argv[]) {
        enum { ARG_PORT = 0x100, ARG_TIMEOUT, ARG_INTERVAL, ARG_CHECK };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "port", required_argument, NULL, ARG_PORT },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "interval", required_argument, NULL, ARG_INTERVAL },
                { "check", required_argument, NULL, ARG_CHECK },
                {},
        };
        HdhaGuestVerb verb;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return GUEST_EXIT_OK;
                case ARG_PORT:
                        arg_port = optarg;
                        break;
                case ARG_TIMEOUT:
                        if (parse_ms(optarg, 1, 3600000, &arg_timeout_ms) < 0) {
                                say("invalid --timeout '%s': milliseconds, 1..3600000", optarg);
                                return GUEST_EXIT_USAGE;
                        }
                        break;
                case ARG_INTERVAL:
                        if (parse_ms(optarg, 10, 3600000, &arg_interval_ms) < 0) {
                                say("invalid --interval '%s': milliseconds, 10..3600000", optarg);
                                return GUEST_EXIT_USAGE;
                        }
                        break;
                case ARG_CHECK:
                        arg_check = optarg;
                        break;
                default:
                        return GUEST_EXIT_USAGE;
                }

        if (optind + 1 != argc) {
                say(optind == argc ? "a verb is needed (--help lists them)" : "too many arguments");
                return GUEST_EXIT_USAGE;
        }
        verb = hdha_guest_verb_from_string(argv[optind]);
        if (!IN_SET(verb, HDHA_GUEST_STATUS, HDHA_GUEST_RELEASE, HDHA_GUEST_TAKEOVER, HDHA_GUEST_HEARTBEAT)) {
                say("unknown verb '%s' (--help lists them)", argv[optind]);
                return GUEST_EXIT_USAGE;
        }
        if (arg_check && verb != HDHA_GUEST_HEARTBEAT) {
                say("--check goes with heartbeat only");
                return GUEST_EXIT_USAGE;
        }
        if (verb == HDHA_GUEST_HEARTBEAT)
                run_heartbeat();
        return run_request(verb);
}
