/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

/* One-shot timers on an sd-event loop, in the shape HdhaManagerEnv wants:
 * a fired timer is gone before its callback runs, so the callback must not
 * stop it. */
int hdha_event_timer_start(sd_event *event, uint64_t usec, void (*fn)(void *userdata), void *userdata,
                           void **ret_timer);
/* fn once, after the events already pending on the loop (a defer source
 * of normal priority: it waits its turn behind them, and is never starved
 * by later ones); stopped like a timer. */
int hdha_event_idle_start(sd_event *event, void (*fn)(void *userdata), void *userdata, void **ret_timer);
void hdha_event_timer_stop(void *timer);
