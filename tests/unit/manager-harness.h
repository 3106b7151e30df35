/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The harness of the state machine's unit tests (test-manager,
 * test-manager-crash): a manager on the fake hypervisor and a virtual
 * clock, driven by the commands of the scenario files, one per line
 * (run_command()); the transcript (hypervisor calls, transitions,
 * signals, results) goes to the run's output.
 *
 * rename() and fdatasync() are wrapped at link time (-Wl,--wrap):
 * "state-dir full" and "state-dir read-only" make every write of the table
 * fail as a full or read-only state directory does (the journal's flush,
 * a file's rename), "state-dir ok" ends it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fake-hypervisor.h"
#include "manager.h"

typedef struct Timer Timer;

typedef struct Run {
        FILE *out;
        char dir[256];
        char table_path[300];
        HdhaHypervisor *hv;
        HdhaManager *m;
        uint64_t now;
        Timer *timers;
        bool batch; /* "batch": the manager gets idle_start, as in the daemon */
        unsigned failures;
        /* "cluster": the host is in a cluster; the token of one group,
         * whether this host holds it, and an acquire not answered yet. */
        bool cluster;
        bool token_held;
        HdhaOpDoneFn token_fn;
        void *token_fn_userdata;
} Run;

/* A run in a temporary folder of its own (configuration, table), its
 * transcript to out. */
void run_init(Run *run, FILE *out);
/* Ends the run, removes its folder; returns the violations of the
 * invariant the fake hypervisor saw. */
unsigned run_done(Run *run);
/* One command (a line of a scenario file). */
void run_command(Run *run, char *line);
/* Commands, one per line. */
void run_commands(Run *run, const char *script);
/* The table's write of a batch is waiting (with "batch"). */
bool run_idle_pending(const Run *run);
