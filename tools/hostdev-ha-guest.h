/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* hostdev-ha-guest: what its files share. guest-port.c reaches the port
 * org.hostdevha.guest.0; guest-heartbeat.c beats and relays the one-shot
 * requests of other invocations while it holds the port (a virtio-serial
 * port has one opener at a time); hostdev-ha-guest.c is the command line. */

#include <stdbool.h>
#include <stdint.h>

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

/* The relay of a running heartbeat: an abstract unix socket, root's
 * callers only. */
#define GUEST_RELAY_NAME "hostdev-ha-guest"

extern const char *arg_port;
extern unsigned arg_timeout_ms;
extern unsigned arg_interval_ms;
extern const char *arg_check;

_printf_(1, 2) void guest_say(const char *fmt, ...);
uint64_t guest_now_ms(void);
void guest_sleep_ms(uint64_t ms);

/* The port's fd (O_NONBLOCK), or -errno (-EBUSY: a heartbeat holds it). */
int guest_port_open(void);
/* One whole line before the deadline (ms of guest_now_ms()). -ENOTCONN:
 * the host side is not there. */
int guest_send_line(int fd, const char *line, size_t n, uint64_t deadline);
int guest_send_request(int fd, HdhaGuestVerb verb, uint64_t deadline);

/* Waiting for the answer to verb. */
typedef struct Wait {
        HdhaGuestVerb verb;
        HdhaGuestReply reply;
        bool done;
} Wait;

/* The reply answers a request for verb. */
bool guest_reply_answers(HdhaGuestVerb verb, const HdhaGuestReply *reply);
/* Reads until the answer to w->verb came or the deadline passed; with w
 * NULL reads and drops until the deadline. -ENOTCONN: the other side hung
 * up; -ETIMEDOUT: no answer. */
int guest_read_until(int fd, HdhaGuestLineBuffer *lb, Wait *w, uint64_t deadline);

/* heartbeat: never returns. */
_noreturn_ void guest_run_heartbeat(void);
/* A running heartbeat's relay: the connected socket, or -errno
 * (-ECONNREFUSED, -ENOENT: none runs). */
int guest_relay_connect(void);
