/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

/* Pacemaker's command-line clients (crm_attribute, crm_resource) run from
 * the event loop without blocking it: one child at a time, in the order
 * queued, each watched by a child source and killed after a deadline. Needs
 * SIGCHLD blocked. Failures are logged. */

typedef struct HdhaPcmkExec HdhaPcmkExec;

int hdha_pcmk_exec_new(sd_event *event, HdhaPcmkExec **ret);
HdhaPcmkExec *hdha_pcmk_exec_free(HdhaPcmkExec *p);

/* Queues a copy of argv (NULL-terminated; argv[0] found in PATH).
 * -ENOBUFS when too many are waiting. */
int hdha_pcmk_exec_queue(HdhaPcmkExec *p, char *const argv[]);

/* Called when a score command could not run or failed: the score was not
 * written (Pacemaker may have none), so it must be sent again. */
typedef void (*HdhaPcmkScoreFailedFn)(void *userdata, const char *resource, const char *node);
void hdha_pcmk_exec_on_score_failed(HdhaPcmkExec *p, HdhaPcmkScoreFailedFn fn, void *userdata);

/* The commands the manager's environment needs. */
int hdha_pcmk_exec_set_score(HdhaPcmkExec *p, const char *resource, const char *node, int score);
int hdha_pcmk_exec_report_failure(HdhaPcmkExec *p, const char *resource, const char *node);
