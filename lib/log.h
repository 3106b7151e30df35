/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Logging: structured journal entries when stderr is connected to the
 * journal ($JOURNAL_STREAM), plain lines on stderr otherwise.  The
 * *_errno() variants set errno from r (so "%m" prints it) and return
 * -abs(r), so that "return log_error_errno(r, ...)" logs and fails in one. */

void hdha_log_open(const char *ident);
void hdha_log_set_max_level(int level);
/* Lines on stderr start with the time they were logged (the journal keeps
 * its own). */
void hdha_log_set_time(bool on);

/* For tests: send every line to a callback instead. */
typedef void (*HdhaLogSink)(int level, const char *line, void *userdata);
void hdha_log_set_sink(HdhaLogSink sink, void *userdata);

int hdha_log_internal(int level, int error, const char *file, int line, const char *func,
                      const char *format, ...) _printf_(6, 7);

/* One transition of the state machine, with its parts as journal fields
 * (HOSTDEV_GROUP=, HOSTDEV_DOMAIN=, HOSTDEV_OLD_STATE=, HOSTDEV_EVENT=,
 * HOSTDEV_NEW_STATE=). */
void hdha_log_transition(const char *group, const char *domain, const char *old_state,
                         const char *event, const char *new_state);

#define log_full_errno(level, error, ...) \
        hdha_log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
