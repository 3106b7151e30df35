/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cluster-probe: daemon/cluster.c on an sd-event loop, for the lab tests.
 * Prints one line per callback on stdout:
 *
 *   connected yes node=ID name=NAME quorate=yes|no
 *   connected no
 *   quorate yes|no
 *   membership ring=SEQ n=N members=ID:NAME,ID:NAME...
 *   deliver from=ID TEXT
 *   deliver from=ID hex=HEX   (a message with a byte that is not printable)
 *
 * and runs the commands it reads on stdin, one a line:
 *
 *   send TEXT           multicast TEXT; prints "sent TEXT" or
 *                       "send-failed TEXT error=ERRNO-NAME"
 *   sendhex HEX         multicast the bytes HEX spells (two hex digits a
 *                       byte: the daemon's messages, good or bad); prints
 *                       "sent hex=HEX" or "send-failed hex=HEX error=ERRNO-NAME"
 *   burst N PREFIX      send "PREFIX-1" .. "PREFIX-N" at once (the queue's
 *                       test); prints "burst N sent=K failed=F"
 *   status              prints "status connected=yes|no quorate=yes|no
 *                       node=ID name=NAME ring=SEQ members=..."
 *
 * Names are printed with blanks as '_'. Logs go to stderr. Exit status 0 at
 * the end of stdin, 1 when the loop cannot be set up (or hostdev-ha was
 * built without Corosync). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "cluster.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

#define LINE_MAX_BYTES 4096

static sd_event *loop;
static HdhaCluster *cluster;
static char inbuf[LINE_MAX_BYTES * 4];
static size_t inlen;

/* A name as one word. */
static void print_name(const char *s) {
        for (; s && *s; s++)
                putchar(*s == ' ' || *s == '\t' ? '_' : *s);
}

static void print_members(const HdhaClusterMember *m, size_t n) {
        printf("members=");
        for (size_t i = 0; i < n; i++) {
                printf("%s%" PRIu32 ":", i > 0 ? "," : "", m[i].nodeid);
                print_name(m[i].name);
        }
}

static void on_connected(HdhaCluster *c, bool connected, void *userdata) {
        HdhaClusterStatus st;

        if (!connected) {
                printf("connected no\n");
                return;
        }
        hdha_cluster_get_status(c, &st);
        printf("connected yes node=%" PRIu32 " name=", st.local_nodeid);
        print_name(st.local_name);
        printf(" quorate=%s\n", st.quorate ? "yes" : "no");
}

static void on_quorum(HdhaCluster *c, bool quorate, void *userdata) {
        printf("quorate %s\n", quorate ? "yes" : "no");
}

static void on_membership(HdhaCluster *c, uint64_t ring_seq, const HdhaClusterMember *members, size_t n,
                          void *userdata) {
        printf("membership ring=%" PRIu64 " n=%zu ", ring_seq, n);
        print_members(members, n);
        printf("\n");
}

static bool printable(const uint8_t *p, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (p[i] < 0x20 || p[i] >= 0x7f)
                        return false;
        return true;
}

static void on_deliver(HdhaCluster *c, uint32_t nodeid, const void *buf, size_t len, void *userdata) {
        const uint8_t *p = buf;

        len = MIN(len, (size_t) LINE_MAX_BYTES);
        if (printable(p, len)) {
                printf("deliver from=%" PRIu32 " %.*s\n", nodeid, (int) len, (const char *) buf);
                return;
        }
        printf("deliver from=%" PRIu32 " hex=", nodeid);
        for (size_t i = 0; i < len; i++)
                printf("%02x", p[i]);
        printf("\n");
}

static void send_text(const char *text) {
        int r = hdha_cluster_send(cluster, text, strlen(text));

        if (r < 0)
                printf("send-failed %s error=%s\n", text, strerrorname_np(-r) ?: "?");
        else
                printf("sent %s\n", text);
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static void send_hex(const char *hex) {
        uint8_t bytes[LINE_MAX_BYTES / 2];
        size_t n = strlen(hex) / 2;
        int r;

        if (strlen(hex) % 2 != 0 || n == 0 || n > sizeof(bytes)) {
                printf("error bad hex '%s'\n", hex);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);

                if (hi < 0 || lo < 0) {
                        printf("error bad hex '%s'\n", hex);
                        return;
                }
                bytes[i] = (uint8_t) (hi << 4 | lo);
        }
        r = hdha_cluster_send(cluster, bytes, n);
        if (r < 0)
                printf("send-failed hex=%s error=%s\n", hex, strerrorname_np(-r) ?: "?");
        else
                printf("sent hex=%s\n", hex);
}

static void burst(const char *args) {
        char prefix[256];
        unsigned n, sent = 0, failed = 0;

        if (sscanf(args, "%u %255s", &n, prefix) != 2 || n > 100000) {
                printf("error bad burst '%s'\n", args);
                return;
        }
        for (unsigned i = 1; i <= n; i++) {
                char text[300];

                (void) snprintf(text, sizeof(text), "%s-%u", prefix, i);
                if (hdha_cluster_send(cluster, text, strlen(text)) < 0)
                        failed++;
                else
                        sent++;
        }
        printf("burst %u sent=%u failed=%u\n", n, sent, failed);
}

static void status(void) {
        HdhaClusterStatus st;

        hdha_cluster_get_status(cluster, &st);
        printf("status connected=%s quorate=%s node=%" PRIu32 " name=", st.connected ? "yes" : "no",
               st.quorate ? "yes" : "no", st.local_nodeid);
        print_name(st.local_name ?: "-");
        printf(" ring=%" PRIu64 " ", st.ring_seq);
        print_members(st.members, st.n_members);
        printf("\n");
}

static void execute(char *line) {
        if (strncmp(line, "send ", 5) == 0)
                send_text(line + 5);
        else if (strncmp(line, "sendhex ", 8) == 0)
                send_hex(line + 8);
        else if (strncmp(line, "burst ", 6) == 0)
                burst(line + 6);
        else if (streq(line, "status"))
                status();
        else if (*line)
                printf("error unknown command '%s'\n", line);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ssize_t k;
        char *nl;

        k = read(fd, inbuf + inlen, sizeof(inbuf) - inlen - 1);
        if (k < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (k == 0)
                return sd_event_exit(loop, 0);
        inlen += (size_t) k;
        inbuf[inlen] = '\0';
        while ((nl = strchr(inbuf, '\n'))) {
                *nl = '\0';
                execute(inbuf);
                inlen -= (size_t) (nl + 1 - inbuf);
                memmove(inbuf, nl + 1, inlen + 1);
        }
        if (inlen >= sizeof(inbuf) - 1) {
                printf("error line too long\n");
                inlen = 0;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        static const HdhaClusterCallbacks callbacks = {
                .connected_changed = on_connected,
                .quorum_changed = on_quorum,
                .membership = on_membership,
                .deliver = on_deliver,
        };
        sd_event_source *in = NULL;
        int r;

        if (argc != 1) {
                fprintf(stderr, "usage: %s <COMMANDS\n", argv[0]);
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        hdha_log_open("cluster-probe");
        hdha_log_set_max_level(getenv("PROBE_DEBUG") ? LOG_DEBUG : LOG_INFO);

        r = sd_event_default(&loop);
        if (r < 0)
                return log_error_errno(r, "Failed to get the event loop: %m"), 1;
        r = hdha_cluster_new(loop, &callbacks, NULL, &cluster);
        if (r == -EOPNOTSUPP)
                return log_error("hostdev-ha was built without Corosync"), 1;
        if (r < 0)
                return log_error_errno(r, "Failed to set up the cluster link: %m"), 1;
        r = sd_event_add_io(loop, &in, STDIN_FILENO, EPOLLIN, on_stdin, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch stdin: %m"), 1;

        r = sd_event_loop(loop);
        sd_event_source_unref(in);
        cluster = hdha_cluster_free(cluster);
        sd_event_unref(loop);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        return 0;
}
