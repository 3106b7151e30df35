/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fence watch (daemon/fence-history.c) on a real sd-event loop, with a
 * fake fencer and a fake wall clock: when a node entered the ring; a
 * fencing counts only if it completed after the node last entered the ring
 * (not the one of an incarnation before, not one in the second it entered,
 * never for a node in the ring); confirmed once, then no more questions;
 * the loop runs while a query blocks; one query at a time; a missing
 * library or fencer logged once; freed while a query blocks. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fence-history.h"
#include "log.h"
#include "macro.h"

/* --- The fake fencer, on the query's thread ----------------------------------- */

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t fake_fenced[8];   /* per node: the last fencing's completion */
static int fake_error;          /* answered instead, when not 0 */
static unsigned fake_block_ms;  /* how long a query blocks */
static unsigned fake_calls[8];
static unsigned fake_running, fake_running_max;
static time_t fake_now;

static int fake_last_fenced(uint32_t node, time_t *ret_when) {
        unsigned block;
        int r;

        pthread_mutex_lock(&fake_lock);
        fake_calls[node]++;
        fake_running++;
        fake_running_max = MAX(fake_running_max, fake_running);
        block = fake_block_ms;
        pthread_mutex_unlock(&fake_lock);
        usleep(block * 1000U);
        pthread_mutex_lock(&fake_lock);
        fake_running--;
        r = fake_error;
        if (r == 0)
                *ret_when = fake_fenced[node];
        pthread_mutex_unlock(&fake_lock);
        return r;
}

static time_t fake_clock(void) {
        return fake_now;
}

static const HdhaFenceOps fake_ops = { .last_fenced = fake_last_fenced, .now = fake_clock };

static unsigned calls(uint32_t node) {
        unsigned n;

        pthread_mutex_lock(&fake_lock);
        n = fake_calls[node];
        pthread_mutex_unlock(&fake_lock);
        return n;
}

static void fake_set(uint32_t node, time_t when, int error, unsigned block_ms) {
        pthread_mutex_lock(&fake_lock);
        fake_fenced[node] = when;
        fake_error = error;
        fake_block_ms = block_ms;
        pthread_mutex_unlock(&fake_lock);
}

static void fake_reset(void) {
        pthread_mutex_lock(&fake_lock);
        memset(fake_fenced, 0, sizeof(fake_fenced));
        memset(fake_calls, 0, sizeof(fake_calls));
        fake_error = 0;
        fake_block_ms = 0;
        fake_running = fake_running_max = 0;
        pthread_mutex_unlock(&fake_lock);
        fake_now = 1000;
}

/* --- What the watch tells, and the log ----------------------------------------- */

static unsigned n_confirmed;
static bool confirmed;
static uint32_t confirmed_node;
static time_t confirmed_when;

static void on_confirmed(void *userdata, uint32_t node, time_t when) {
        n_confirmed++;
        confirmed = true;
        confirmed_node = node;
        confirmed_when = when;
}

static unsigned n_log_unknown, n_log_library;

static void log_sink(int level, const char *line, void *userdata) {
        if (strstr(line, "Pacemaker's fencer cannot be asked"))
                n_log_unknown++;
        if (strstr(line, "library (libstonithd) could not be loaded"))
                n_log_library++;
}

/* --- The loop ------------------------------------------------------------------ */

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        *(bool *) userdata = true;
        return 0;
}

/* Runs the loop for ms milliseconds, or until *until is true. */
static void run(sd_event *e, unsigned ms, const bool *until) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *s = NULL;
        bool over = false;

        assert_int_equal(sd_event_add_time_relative(e, &s, CLOCK_MONOTONIC, ms * 1000ULL, 0, on_deadline, &over), 0);
        while (!over && !(until && *until))
                assert_true(sd_event_run(e, UINT64_MAX) >= 0);
}

typedef struct Fixture {
        sd_event *event;
        HdhaFenceWatch *watch;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        fake_reset();
        n_confirmed = n_log_unknown = n_log_library = 0;
        confirmed = false;
        confirmed_node = 0;
        confirmed_when = 0;
        hdha_log_set_sink(log_sink, NULL);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(hdha_fence_watch_new(f->event, &fake_ops, on_confirmed, NULL, &f->watch), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        hdha_fence_watch_free(f->watch);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

/* --- The tests ------------------------------------------------------------------ */

static void test_entered(void **state) {
        Fixture *f = *state;
        HdhaFenceWatch *w = f->watch;

        assert_int_equal(hdha_fence_watch_entered(w, 3), 0);
        fake_now = 1000;
        hdha_fence_watch_joined(w);
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2, 3 }, 3);
        /* There when this host joined: this host's join. */
        assert_int_equal(hdha_fence_watch_entered(w, 3), 1000);
        /* Never seen since: entered before this host joined. */
        assert_int_equal(hdha_fence_watch_entered(w, 5), 1000);
        fake_now = 1010;
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2 }, 2);
        assert_int_equal(hdha_fence_watch_entered(w, 3), 1000);
        fake_now = 1020;
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2, 3 }, 3);
        assert_int_equal(hdha_fence_watch_entered(w, 3), 1020);
        /* Still there in the next ring: not a new entry. */
        fake_now = 1025;
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2, 3, 4 }, 4);
        assert_int_equal(hdha_fence_watch_entered(w, 3), 1020);
        assert_int_equal(hdha_fence_watch_entered(w, 4), 1025);
        assert_int_equal(hdha_fence_watch_entered(w, 1), 1000);
        /* Joined again (Corosync restarted under this host): all forgotten. */
        fake_now = 1030;
        hdha_fence_watch_joined(w);
        assert_int_equal(hdha_fence_watch_entered(w, 4), 1030);
        assert_int_equal(hdha_fence_watch_entered(w, 3), 1030);
}

/* Node 3 fenced at 1005, back at 1020, gone again at 1030: the old fencing
 * does not count; one completed at 1031 does, once. */
static void test_fenced_before_reentry(void **state) {
        Fixture *f = *state;
        HdhaFenceWatch *w = f->watch;

        fake_now = 1000;
        hdha_fence_watch_joined(w);
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2, 3 }, 3);
        fake_now = 1004;
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2 }, 2);
        fake_now = 1020;
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2, 3 }, 3);
        fake_now = 1030;
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2 }, 2);
        fake_set(3, 1005, 0, 0);

        hdha_fence_watch_set_nodes(w, (const uint32_t[]) { 3 }, 1);
        /* Asked at once, then every second: not confirmed. */
        run(f->event, 200, NULL);
        assert_int_equal(calls(3), 1);
        run(f->event, 1000, NULL);
        assert_int_equal(calls(3), 2);
        assert_int_equal(n_confirmed, 0);

        /* Fenced in the second it entered: may be the incarnation before. */
        fake_set(3, 1020, 0, 0);
        run(f->event, 1000, NULL);
        assert_int_equal(calls(3), 3);
        assert_int_equal(n_confirmed, 0);

        fake_set(3, 1031, 0, 0);
        run(f->event, 1500, &confirmed);
        assert_int_equal(n_confirmed, 1);
        assert_int_equal(confirmed_node, 3);
        assert_int_equal(confirmed_when, 1031);
        /* No more questions about it. */
        run(f->event, 1200, NULL);
        assert_int_equal(calls(3), 4);
        assert_int_equal(n_confirmed, 1);
        assert_int_equal(n_log_unknown, 0);
}

/* A node back in the ring is not dead, whatever the fencer says; a node
 * no longer watched is not confirmed. */
static void test_in_ring_or_unwatched(void **state) {
        Fixture *f = *state;
        HdhaFenceWatch *w = f->watch;

        hdha_fence_watch_joined(w);
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2, 3 }, 3);
        fake_set(3, 2000, 0, 0);
        hdha_fence_watch_set_nodes(w, (const uint32_t[]) { 3 }, 1);
        run(f->event, 200, NULL);
        assert_int_equal(calls(3), 1);
        assert_int_equal(n_confirmed, 0);
        fake_set(2, 2000, 0, 300);

        /* Node 2 asked about, then dropped while the query runs. */
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 3 }, 2);
        hdha_fence_watch_set_nodes(w, (const uint32_t[]) { 2 }, 1);
        run(f->event, 100, NULL);
        assert_int_equal(calls(2), 1);
        hdha_fence_watch_set_nodes(w, NULL, 0);
        run(f->event, 1500, NULL);
        assert_int_equal(n_confirmed, 0);
        assert_int_equal(calls(2), 1);
}

/* The loop runs while a query blocks; never two queries at once. */
static void test_blocking_query(void **state) {
        Fixture *f = *state;
        HdhaFenceWatch *w = f->watch;
        bool ticked = false;
        unsigned running_max;
        _cleanup_(sd_event_source_unrefp) sd_event_source *s = NULL;

        hdha_fence_watch_joined(w);
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2 }, 2);
        fake_set(3, 0, 0, 2500);
        fake_set(4, 0, 0, 2500);
        hdha_fence_watch_set_nodes(w, (const uint32_t[]) { 3, 4 }, 2);
        assert_int_equal(sd_event_add_time_relative(f->event, &s, CLOCK_MONOTONIC, 100 * 1000U, 0, on_deadline,
                                                    &ticked),
                         0);
        run(f->event, 400, &ticked);
        assert_true(ticked);
        /* Seconds pass, the first still blocks: nothing else asked. */
        run(f->event, 2000, NULL);
        assert_int_equal(calls(3) + calls(4), 1);
        fake_set(3, 0, 0, 0);
        fake_set(4, 0, 0, 0);
        run(f->event, 2000, NULL);
        /* Then the nodes in turn. */
        assert_true(calls(3) >= 1 && calls(4) >= 1);
        pthread_mutex_lock(&fake_lock);
        running_max = fake_running_max;
        pthread_mutex_unlock(&fake_lock);
        assert_int_equal(running_max, 1);
        assert_int_equal(n_confirmed, 0);
}

/* No fencer: "unknown", logged once, asked again; back: logged, and a
 * fencing confirmed. */
static void test_no_fencer(void **state) {
        Fixture *f = *state;
        HdhaFenceWatch *w = f->watch;

        hdha_fence_watch_joined(w);
        hdha_fence_watch_ring(w, (const uint32_t[]) { 1, 2 }, 2);
        fake_set(3, 1500, -ECONNREFUSED, 0);
        hdha_fence_watch_set_nodes(w, (const uint32_t[]) { 3 }, 1);
        run(f->event, 1300, NULL);
        assert_int_equal(calls(3), 2);
        assert_int_equal(n_log_unknown, 1);
        assert_int_equal(n_confirmed, 0);
        fake_set(3, 1500, 0, 0);
        run(f->event, 1500, &confirmed);
        assert_int_equal(n_confirmed, 1);
        assert_int_equal(confirmed_when, 1500);
}

/* No library: logged once, asked no more. */
static void test_no_library(void **state) {
        Fixture *f = *state;
        HdhaFenceWatch *w = f->watch;

        hdha_fence_watch_joined(w);
        fake_set(3, 1500, -ELIBACC, 0);
        hdha_fence_watch_set_nodes(w, (const uint32_t[]) { 3 }, 1);
        run(f->event, 1300, NULL);
        assert_int_equal(calls(3), 1);
        assert_int_equal(n_log_library, 1);
        hdha_fence_watch_set_nodes(w, (const uint32_t[]) { 3, 4 }, 2);
        run(f->event, 1200, NULL);
        assert_int_equal(calls(3) + calls(4), 1);
        assert_int_equal(n_confirmed, 0);
}

/* Freed while a query blocks: the query finishes on its thread, nothing is
 * called. */
static void test_free_while_blocked(void **state) {
        Fixture *f = *state;

        hdha_fence_watch_joined(f->watch);
        fake_set(3, 5000, 0, 400);
        hdha_fence_watch_set_nodes(f->watch, (const uint32_t[]) { 3 }, 1);
        run(f->event, 100, NULL);
        assert_int_equal(calls(3), 1);
        f->watch = hdha_fence_watch_free(f->watch);
        usleep(600 * 1000);
        run(f->event, 100, NULL);
        assert_int_equal(n_confirmed, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_entered, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fenced_before_reentry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_in_ring_or_unwatched, setup, teardown),
                cmocka_unit_test_setup_teardown(test_blocking_query, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_fencer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_library, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_while_blocked, setup, teardown),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
