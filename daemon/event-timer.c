/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "event-timer.h"

typedef struct Timer {
        sd_event_source *source;
        void (*fn)(void *userdata);
        void *userdata;
} Timer;

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Timer *t = userdata;
        void (*fn)(void *) = t->fn;
        void *fn_userdata = t->userdata;

        hdha_event_timer_stop(t);
        fn(fn_userdata);
        return 0;
}

static int on_idle(sd_event_source *s, void *userdata) {
        return on_timer(s, 0, userdata);
}

static Timer *timer_new(void (*fn)(void *userdata), void *userdata) {
        Timer *t = calloc(1, sizeof(*t));

        if (t)
                *t = (Timer) { .fn = fn, .userdata = userdata };
        return t;
}

int hdha_event_idle_start(sd_event *event, void (*fn)(void *userdata), void *userdata, void **ret_timer) {
        Timer *t = timer_new(fn, userdata);
        int r;

        if (!t)
                return -ENOMEM;
        r = sd_event_add_defer(event, &t->source, on_idle, t);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret_timer = t;
        return 0;
}

int hdha_event_timer_start(sd_event *event, uint64_t usec, void (*fn)(void *userdata), void *userdata,
                           void **ret_timer) {
        Timer *t = timer_new(fn, userdata);
        int r;

        if (!t)
                return -ENOMEM;
        r = sd_event_add_time_relative(event, &t->source, CLOCK_MONOTONIC, usec, 0, on_timer, t);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret_timer = t;
        return 0;
}

void hdha_event_timer_stop(void *timer) {
        Timer *t = timer;

        sd_event_source_disable_unref(t->source);
        free(t);
}
