/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_ident = "hostdev-ha";
static int log_max_level = LOG_INFO;
static int log_to_journal = -1; /* -1: not decided yet */
static bool log_time;
static HdhaLogSink log_sink;
static void *log_sink_userdata;

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected to
 * stderr; only when stderr still is that stream do we write to the journal. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void hdha_log_open(const char *ident) {
        if (ident)
                log_ident = ident;
        log_to_journal = stderr_is_journal();
}

void hdha_log_set_max_level(int level) {
        log_max_level = level;
}

void hdha_log_set_time(bool on) {
        log_time = on;
}

void hdha_log_set_sink(HdhaLogSink sink, void *userdata) {
        log_sink = sink;
        log_sink_userdata = userdata;
}

static const char *level_prefix(int level) {
        switch (level) {
        case LOG_EMERG ... LOG_ERR:
                return "error: ";
        case LOG_WARNING:
                return "warning: ";
        default:
                return "";
        }
}

static void log_dispatch(int level, const char *file, int line, const char *func, const char *text,
                         const char *extra_fields[]) {
        if (log_sink) {
                log_sink(level, text, log_sink_userdata);
                return;
        }

        if (log_to_journal < 0)
                log_to_journal = stderr_is_journal();

        if (log_to_journal) {
                struct iovec iov[12];
                char pri[16], cfile[512], cline[32], cfunc[256], msg[4096], ident[128];
                size_t n = 0;

#define ADD_FIELD(buf, ...)                                             \
                do {                                                    \
                        int _k = snprintf(buf, sizeof(buf), __VA_ARGS__); \
                        iov[n++] = (struct iovec) { buf, (size_t) _k < sizeof(buf) ? (size_t) _k : sizeof(buf) - 1 }; \
                } while (0)

                ADD_FIELD(pri, "PRIORITY=%i", level);
                ADD_FIELD(ident, "SYSLOG_IDENTIFIER=%s", log_ident);
                ADD_FIELD(msg, "MESSAGE=%s", text);
                ADD_FIELD(cfile, "CODE_FILE=%s", file);
                ADD_FIELD(cline, "CODE_LINE=%i", line);
                ADD_FIELD(cfunc, "CODE_FUNC=%s", func);
#undef ADD_FIELD
                for (size_t i = 0; extra_fields && extra_fields[i] && n < ELEMENTSOF(iov); i++)
                        iov[n++] = (struct iovec) { (void *) extra_fields[i], strlen(extra_fields[i]) };

                if (sd_journal_sendv(iov, (int) n) >= 0)
                        return;
        }

        if (log_time) {
                /* UTC with microseconds: lines from several hosts and
                 * programs sort into one timeline. */
                struct timespec ts;
                struct tm tm;

                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s%s\n", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, level_prefix(level), text);
                return;
        }
        fprintf(stderr, "%s%s\n", level_prefix(level), text);
}

int hdha_log_internal(int level, int error, const char *file, int line, const char *func,
                      const char *format, ...) {
        char text[2048];
        va_list ap;

        error = error < 0 ? -error : error;
        if (level > log_max_level)
                return -error;

        errno = error;
        va_start(ap, format);
        vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);

        log_dispatch(level, file, line, func, text, NULL);
        return -error;
}

void hdha_log_transition(const char *group, const char *domain, const char *old_state,
                         const char *event, const char *new_state) {
        char text[1024], fg[160], fd[160], fo[96], fe[96], fn[96];
        const char *fields[] = { fg, fd, fo, fe, fn, NULL };

        if (LOG_INFO > log_max_level)
                return;

        snprintf(text, sizeof(text), "%s%s%s: %s --%s--> %s",
                 group, domain ? "/" : "", domain ?: "", old_state, event, new_state);
        snprintf(fg, sizeof(fg), "HOSTDEV_GROUP=%s", group);
        snprintf(fd, sizeof(fd), "HOSTDEV_DOMAIN=%s", domain ?: "");
        snprintf(fo, sizeof(fo), "HOSTDEV_OLD_STATE=%s", old_state);
        snprintf(fe, sizeof(fe), "HOSTDEV_EVENT=%s", event);
        snprintf(fn, sizeof(fn), "HOSTDEV_NEW_STATE=%s", new_state);

        log_dispatch(LOG_INFO, __FILE__, __LINE__, __func__, text, fields);
}
