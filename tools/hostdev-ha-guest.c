/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdev-ha-guest: the guest's side of the channel org.hostdevha.guest.0
 * (docs/guest-channel.md). Runs inside a member domain, built static with
 * nothing but the C library. The command line, and the one-shot requests
 * (status, release, takeover): asked on the port, or through a running
 * heartbeat's relay (guest-heartbeat.c), which holds the port. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostdev-ha-guest.h"

const char *arg_port;
unsigned arg_timeout_ms = DEFAULT_TIMEOUT_MS;
unsigned arg_interval_ms = DEFAULT_INTERVAL_MS;
const char *arg_check;

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

/* status, release, takeover: one question, one answer; through a running
 * heartbeat's relay if there is one (it holds the port), else on the port. */
static int run_request(HdhaGuestVerb verb) {
        HdhaGuestLineBuffer lb = {};
        Wait w = { .verb = verb };
        uint64_t deadline = guest_now_ms() + arg_timeout_ms;
        bool relayed = false;
        int fd, r;

        fd = arg_port ? -ENOENT : guest_relay_connect();
        if (fd >= 0)
                relayed = true;
        else
                fd = guest_port_open();
        if (fd < 0) {
                guest_say("cannot open the port '%s': %s", arg_port ?: HDHA_GUEST_CHANNEL_NAME, strerror(-fd));
                return GUEST_EXIT_NOT_RUNNING;
        }
        r = relayed ? 0 : guest_send_request(fd, HDHA_GUEST_HELLO, deadline);
        if (r >= 0)
                r = guest_send_request(fd, verb, deadline);
        if (r >= 0)
                r = guest_read_until(fd, &lb, &w, deadline);
        close(fd);
        if (r == -ENOTCONN || r == -ETIMEDOUT) {
                guest_say("no answer from hostdev-had on the host (%s)",
                    r == -ENOTCONN ? "not connected" : "timed out");
                return GUEST_EXIT_NOT_RUNNING;
        }
        if (r < 0) {
                guest_say("%s failed: %s", hdha_guest_verb_to_string(verb), strerror(-r));
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
                guest_say("%s refused: %s", hdha_guest_verb_to_string(verb),
                    hdha_guest_refusal_to_string(w.reply.refusal));
                return refusal_exit(w.reply.refusal);
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
                                guest_say("invalid --timeout '%s': milliseconds, 1..3600000", optarg);
                                return GUEST_EXIT_USAGE;
                        }
                        break;
                case ARG_INTERVAL:
                        if (parse_ms(optarg, 10, 3600000, &arg_interval_ms) < 0) {
                                guest_say("invalid --interval '%s': milliseconds, 10..3600000", optarg);
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
                guest_say(optind == argc ? "a verb is needed (--help lists them)" : "too many arguments");
                return GUEST_EXIT_USAGE;
        }
        verb = hdha_guest_verb_from_string(argv[optind]);
        if (!IN_SET(verb, HDHA_GUEST_STATUS, HDHA_GUEST_RELEASE, HDHA_GUEST_TAKEOVER, HDHA_GUEST_HEARTBEAT)) {
                guest_say("unknown verb '%s' (--help lists them)", argv[optind]);
                return GUEST_EXIT_USAGE;
        }
        if (arg_check && verb != HDHA_GUEST_HEARTBEAT) {
                guest_say("--check goes with heartbeat only");
                return GUEST_EXIT_USAGE;
        }
        if (verb == HDHA_GUEST_HEARTBEAT)
                guest_run_heartbeat();
        return run_request(verb);
}
