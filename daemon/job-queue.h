/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

/* A small pool of worker threads for blocking calls, plus a mailbox back to
 * one sd-event loop. Workers start when jobs come (up to n_workers at once)
 * and end after 30 s without one: an idle daemon has none.
 *
 *  - hdha_job_queue_submit(): work() runs on a worker thread, then done()
 *    runs on the loop's thread (FIFO with everything else posted), then
 *    free_data().
 *  - hdha_job_queue_post(): from any thread, done() runs on the loop. This is
 *    how foreign threads (libvirt's event thread) hand data to the loop.
 *
 * The mailbox is an eventfd watched by the loop (sd_event_add_io).
 *
 * Shutdown: hdha_job_queue_stop_workers() lets the running jobs finish
 * (their work() cannot be interrupted) and cancels the queued ones. After
 * that, and in hdha_job_queue_free(), done() is never called again: jobs that
 * were cancelled or finished but not yet dispatched only get free_data().
 * Posting stays possible until hdha_job_queue_free(); the caller makes sure
 * no other thread posts after that. Do not free the queue from inside a
 * done() callback. */

typedef struct HdhaJobQueue HdhaJobQueue;

typedef void (*HdhaJobFn)(void *data);

int hdha_job_queue_new(sd_event *event, unsigned n_workers, HdhaJobQueue **ret);
void hdha_job_queue_stop_workers(HdhaJobQueue *q);
HdhaJobQueue *hdha_job_queue_free(HdhaJobQueue *q);

/* Loop thread only. -ESHUTDOWN after stop_workers(), -ENOMEM, or the
 * errno of pthread_create() when no worker runs and none can start. On
 * failure nothing is called and data stays the caller's. */
int hdha_job_queue_submit(HdhaJobQueue *q, HdhaJobFn work, HdhaJobFn done, HdhaJobFn free_data, void *data);
/* Any thread. -ENOMEM; on failure data stays the caller's. */
int hdha_job_queue_post(HdhaJobQueue *q, HdhaJobFn done, HdhaJobFn free_data, void *data);
