/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdev-ha-guest heartbeat: a beat every interval ("failed" when the
 * check fails), and, as it holds the port, the relay for the one-shot
 * requests of other invocations (status, release, takeover): one caller at
 * a time, root only, its line checked and passed on, the host's answer to
 * it passed back. The host side going away (hostdev-had restarting) is
 * waited out: the port is opened again on the next beat, hello said again. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostdev-ha-guest.h"

typedef struct Heartbeat {
        int port;
        bool connected;       /* hello said on this port */
        HdhaGuestLineBuffer port_in;
        int listener;
        int client;
        HdhaGuestLineBuffer client_in;
        HdhaGuestVerb client_verb; /* what the client waits for; < 0: nothing yet */
        uint64_t client_deadline;
        bool said_gone, healthy;
} Heartbeat;

static socklen_t relay_address(struct sockaddr_un *sa) {
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        /* Abstract: sun_path[0] is NUL, no file needed. */
        memcpy(sa->sun_path + 1, GUEST_RELAY_NAME, strlen(GUEST_RELAY_NAME));
        return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + strlen(GUEST_RELAY_NAME));
}

int guest_relay_connect(void) {
        struct sockaddr_un sa;
        socklen_t len = relay_address(&sa);
        int fd, r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, len) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int relay_listen(void) {
        struct sockaddr_un sa;
        socklen_t len = relay_address(&sa);
        int fd, r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, len) < 0 || listen(fd, 8) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void client_close(Heartbeat *h) {
        if (h->client >= 0)
                close(h->client);
        h->client = -1;
        h->client_verb = _HDHA_GUEST_VERB_INVALID;
        (void) hdha_guest_line_buffer_end(&h->client_in);
}

static void port_close(Heartbeat *h, const char *why) {
        if (h->port < 0)
                return;
        if (h->connected || !h->said_gone)
                guest_say("hostdev-had is not there (%s), trying again every beat", why);
        h->said_gone = true;
        h->connected = false;
        close(h->port);
        h->port = -1;
        (void) hdha_guest_line_buffer_end(&h->port_in);
        /* Its question will get no answer. */
        client_close(h);
}

/* Runs the health check; true if it exited 0. */
static bool check_ok(const char *cmd) {
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0) {
                guest_say("cannot run the check: %s", strerror(errno));
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

static void beat(Heartbeat *h, uint64_t deadline) {
        bool ok = arg_check ? check_ok(arg_check) : true;
        int r;

        if (ok != h->healthy) {
                if (ok)
                        guest_say("the check '%s' passes again", arg_check);
                else
                        guest_say("the check '%s' failed: reporting a failure", arg_check);
                h->healthy = ok;
        }
        if (h->port < 0) {
                h->port = guest_port_open();
                if (h->port < 0) {
                        if (!h->said_gone)
                                guest_say("cannot open the port: %s, trying again every beat", strerror(-h->port));
                        h->said_gone = true;
                        return;
                }
        }
        r = h->connected ? 0 : guest_send_request(h->port, HDHA_GUEST_HELLO, deadline);
        if (r >= 0)
                r = guest_send_request(h->port, ok ? HDHA_GUEST_HEARTBEAT : HDHA_GUEST_FAILED, deadline);
        if (r < 0)
                return port_close(h, r == -ENOTCONN ? "not connected" : strerror(-r));
        if (!h->connected)
                guest_say("connected to hostdev-had");
        h->connected = true;
        h->said_gone = false;
}

/* A reply from the host: the client's answer, or dropped. */
static int on_port_line(void *userdata, HdhaGuestLineResult result, const char *line, size_t n) {
        Heartbeat *h = userdata;
        HdhaGuestReply reply;
        char buf[HDHA_GUEST_LINE_MAX + 1];
        int k;

        if (result != HDHA_GUEST_LINE_OK || h->client < 0 || h->client_verb < 0)
                return 0;
        if (hdha_guest_parse_reply(line, n, &reply) != HDHA_GUEST_LINE_OK ||
            !guest_reply_answers(h->client_verb, &reply))
                return 0;
        k = hdha_guest_format_reply(&reply, buf, sizeof(buf));
        if (k > 0)
                (void) guest_send_line(h->client, buf, (size_t) k, guest_now_ms() + 1000);
        client_close(h);
        return 0;
}

/* The client's question: one of the one-shot verbs, passed on. */
static int on_client_line(void *userdata, HdhaGuestLineResult result, const char *line, size_t n) {
        Heartbeat *h = userdata;
        HdhaGuestRequest req;
        int r;

        if (h->client_verb >= 0)
                return 0; /* one question per caller */
        if (result != HDHA_GUEST_LINE_OK || hdha_guest_parse_request(line, n, &req) != HDHA_GUEST_LINE_OK ||
            !IN_SET(req.verb, HDHA_GUEST_STATUS, HDHA_GUEST_RELEASE, HDHA_GUEST_TAKEOVER)) {
                client_close(h);
                return -EINVAL;
        }
        if (h->port < 0 || !h->connected) {
                client_close(h); /* it reports no answer */
                return -ENOTCONN;
        }
        r = guest_send_request(h->port, req.verb, guest_now_ms() + 1000);
        if (r < 0) {
                port_close(h, r == -ENOTCONN ? "not connected" : strerror(-r));
                return r;
        }
        h->client_verb = req.verb;
        return 0;
}

static void client_accept(Heartbeat *h) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        int fd;

        fd = accept4(h->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
                return;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                close(fd);
                return;
        }
        h->client = fd;
        h->client_verb = _HDHA_GUEST_VERB_INVALID;
        h->client_deadline = guest_now_ms() + arg_timeout_ms;
}

/* Reads what fd has; false when it hung up. */
static bool drain(int fd, HdhaGuestLineBuffer *lb, HdhaGuestLineFn fn, void *userdata) {
        char buf[256];
        ssize_t k = read(fd, buf, sizeof(buf));

        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                return false;
        if (k > 0)
                (void) hdha_guest_line_buffer_feed(lb, buf, (size_t) k, fn, userdata);
        return true;
}

void guest_run_heartbeat(void) {
        Heartbeat h = { .port = -1, .client = -1, .client_verb = _HDHA_GUEST_VERB_INVALID, .healthy = true };
        uint64_t next = guest_now_ms();

        h.listener = relay_listen();
        if (h.listener < 0)
                guest_say("cannot offer the relay (%s): another heartbeat runs? Requests then fail while this one "
                          "holds the port", strerror(-h.listener));

        for (;;) {
                struct pollfd p[3];
                size_t n = 0;
                int i_port = -1, i_listener = -1, i_client = -1;
                uint64_t now = guest_now_ms();

                if (now >= next) {
                        next = now + arg_interval_ms;
                        beat(&h, next);
                        now = guest_now_ms();
                }
                if (h.client >= 0 && now >= h.client_deadline)
                        client_close(&h);
                if (h.port >= 0) {
                        i_port = (int) n;
                        p[n++] = (struct pollfd) { .fd = h.port, .events = POLLIN };
                }
                if (h.client >= 0) {
                        i_client = (int) n;
                        p[n++] = (struct pollfd) { .fd = h.client, .events = POLLIN };
                } else if (h.listener >= 0) {
                        i_listener = (int) n;
                        p[n++] = (struct pollfd) { .fd = h.listener, .events = POLLIN };
                }
                if (poll(p, n, next > now ? (int) MIN(next - now, (uint64_t) 60000) : 0) <= 0)
                        continue;

                if (i_port >= 0 && p[i_port].revents) {
                        /* A hung-up host side keeps saying POLLHUP: close the
                         * port until the next beat rather than spin. */
                        if (!(p[i_port].revents & POLLIN) || !drain(h.port, &h.port_in, on_port_line, &h))
                                port_close(&h, "not connected");
                }
                if (i_client >= 0 && p[i_client].revents && h.client >= 0) {
                        if (!(p[i_client].revents & POLLIN) ||
                            !drain(h.client, &h.client_in, on_client_line, &h))
                                client_close(&h);
                }
                if (i_listener >= 0 && (p[i_listener].revents & POLLIN))
                        client_accept(&h);
        }
}
