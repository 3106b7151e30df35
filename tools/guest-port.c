/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdev-ha-guest: the port org.hostdevha.guest.0 found, opened, written
 * and read, with deadlines (hostdev-ha-guest.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostdev-ha-guest.h"

void guest_say(const char *fmt, ...) {
        va_list ap;

        fputs("hostdev-ha-guest: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

uint64_t guest_now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000U + (uint64_t) ts.tv_nsec / 1000000U;
}

void guest_sleep_ms(uint64_t ms) {
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

int guest_port_open(void) {
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

int guest_send_line(int fd, const char *line, size_t n, uint64_t deadline) {
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
                now = guest_now_ms();
                if (now >= deadline)
                        return -ENOTCONN;
                if (poll(&p, 1, (int) MIN(deadline - now, (uint64_t) INT_MAX)) < 0 && errno != EINTR)
                        return -errno;
                if ((p.revents & (POLLHUP | POLLOUT)) == POLLHUP)
                        return -ENOTCONN;
        }
        return 0;
}

int guest_send_request(int fd, HdhaGuestVerb verb, uint64_t deadline) {
        char buf[HDHA_GUEST_LINE_MAX + 1];
        HdhaGuestRequest req = { .verb = verb, .version = HDHA_GUEST_PROTOCOL_VERSION };
        int n;

        n = hdha_guest_format_request(&req, buf, sizeof(buf));
        if (n < 0)
                return n;
        return guest_send_line(fd, buf, (size_t) n, deadline);
}


bool guest_reply_answers(HdhaGuestVerb verb, const HdhaGuestReply *reply) {
        if (verb == HDHA_GUEST_STATUS)
                return reply->kind == HDHA_GUEST_REPLY_STATUS;
        return reply->kind != HDHA_GUEST_REPLY_STATUS && reply->verb == verb;
}

static int on_reply_line(void *userdata, HdhaGuestLineResult result, const char *line, size_t n) {
        Wait *w = userdata;
        HdhaGuestReply reply;

        if (result != HDHA_GUEST_LINE_OK)
                return 0;
        result = hdha_guest_parse_reply(line, n, &reply);
        if (result != HDHA_GUEST_LINE_OK) {
                guest_say("ignoring a line from the host: %s", hdha_guest_line_result_to_string(result));
                return 0;
        }
        if (!guest_reply_answers(w->verb, &reply))
                return 0;
        w->reply = reply;
        w->done = true;
        return -ECANCELED; /* stop: the answer is here */
}

int guest_read_until(int fd, HdhaGuestLineBuffer *lb, Wait *w, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[256];
                uint64_t now = guest_now_ms();
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

