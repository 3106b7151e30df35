/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the state machine's files: manager.c (groups, the table kept
 * durable, the hypervisor's events), manager-operations.c (the operations'
 * entry points, policy auto), manager-plan.c (the plan of each operation),
 * manager-steps.c (the state x event table that runs a plan),
 * manager-reconcile.c (start-up, reconnect) and manager-pacemaker.c (policy
 * pacemaker). What they share is named manager_* and Manager*; what the
 * other modules call is in manager.h (hdha_manager_*, Hdha*). See
 * docs/architecture.md. */

#include "manager.h"

#define PLAN_MAX 8
/* The journal's size past which a write compacts it into the group files. */
#define JOURNAL_COMPACT_BYTES (8U * 1024 * 1024)
/* While waiting for a release, look again this often: the event may be lost
 * (libvirtd restarted) and so may the unplug request (guest still booting). */
#define RELEASE_RETRY_USEC (1000U * 1000U)
/* Policy auto: an automatic action that failed is tried again after 1 s,
 * then 2 s, 4 s, ... at most 60 s; never at once, or a member that cannot
 * start would be destroyed and started again in a loop. */
#define AUTO_RETRY_FIRST_USEC (1000U * 1000U)
#define AUTO_RETRY_MAX_USEC (60U * 1000U * 1000U)

typedef enum ManagerStepEvent {
        EV_JOB_DONE,        /* the step's hypervisor call succeeded */
        EV_JOB_FAILED,      /* ... or failed */
        EV_REMOVED,         /* DEVICE_REMOVED from the step's domain */
        EV_REMOVAL_FAILED,  /* DEVICE_REMOVAL_FAILED from the step's domain */
        EV_RELEASE_TIMEOUT, /* ReleaseTimeoutSec passed */
        EV_RETRY,           /* time to look again */
        EV_STOPPED,         /* the step's domain shut off */
        EV_GONE,            /* inspect: the device is not in the live XML */
        EV_PRESENT,         /* inspect: it still is */
        _EV_MAX,
} ManagerStepEvent;


typedef struct ManagerPlanStep {
        HdhaStep step;
        char *domain;
} ManagerPlanStep;

typedef struct ManagerGroup ManagerGroup;

/* An operation waiting for the group's cluster token (manager-cluster.c):
 * what to start once it is granted. Outlives its group if the group goes
 * first (group is then NULL) until the cluster answers. */
typedef struct ManagerTokenWait {
        ManagerGroup *group;
        HdhaOperation op;
        char *source, *target;
        bool force;
        HdhaOpDoneFn done;
        void *done_userdata;
} ManagerTokenWait;

/* Policy pacemaker: the promotion score last sent to Pacemaker for a
 * member's instance (scores are written only when they change). Which
 * instance stands for a member is in the table (HdhaTableMember's resource
 * and node), so that it outlives the daemon; the score is not: it is
 * derived, and its write may be lost with the daemon, so after a start
 * none counts as sent. */
typedef struct ManagerPcmkScore {
        char *domain;
        int score;
        bool sent;
} ManagerPcmkScore;

/* A call to the hypervisor in flight (a step's, or a reconciliation's
 * inspection): the userdata of its completion. Linked into its group so
 * that whatever is still out when the manager goes (the hypervisor drops
 * undelivered completions) is freed too. Named apart from the job queue's
 * jobs (job-queue.h), which is how one implementation runs a call. */
typedef struct ManagerHvCall {
        ManagerGroup *group;
        uint64_t step_id; /* the group's step_id when it was issued */
        size_t index;     /* reconciliation: which member */
        struct ManagerHvCall *prev, *next;
} ManagerHvCall;

struct ManagerGroup {
        HdhaManager *manager;
        char *name;
        const HdhaGroupConfig *config; /* into manager->config */
        HdhaTableGroup *table;         /* into manager->table */
        char *device_xml;
        char *alias;
        bool removed; /* left the configuration; freed when idle */
        bool dirty;   /* changed since the table was last written */
        bool vfio_bound;    /* Managed=no: the function is on vfio-pci */
        char *vfio_nodedev; /* its node device name */

        /* The operation in flight: its remaining steps and who waits. */
        ManagerPlanStep plan[PLAN_MAX];
        size_t n_plan, i_plan;
        HdhaOpDoneFn done;
        void *done_userdata;
        uint64_t step_id; /* completions of other steps are stale */
        void *release_timer;
        void *retry_timer;
        int error;
        char *error_message;
        bool any_target; /* a failover whose target the daemon chose: another may take its place */
        bool call_waits; /* the step's hypervisor call waits for the table's write */

        /* In the manager's list of groups the next write of the table takes. */
        ManagerGroup *commit_next;
        bool commit_queued;

        /* Policy auto: the automatic action last started, how many failed
         * in a row, and the pause before the next one (AUTO_RETRY_*). */
        HdhaOperation auto_op;
        unsigned auto_failures;
        void *auto_retry_timer;
        bool auto_starting; /* starting it: its start is written with its first step */

        /* Reconciling: inspections still out, and what they found. */
        bool reconciling;
        size_t n_inspect_pending;
        HdhaDomainInfo *infos; /* one per config domain */
        bool inspect_failed;
        ManagerHvCall *hv_calls; /* calls in flight */
        unsigned n_side_calls;   /* side calls (quotas, duplicates) in flight */

        /* Policy pacemaker: the instances, and a switch Pacemaker is asked
         * to carry out (its target, who waits, its deadline). */
        ManagerPcmkScore *pcmk_scores;
        size_t n_pcmk_scores;
        char *pcmk_target;
        char *pcmk_last_holder; /* the least preferred standby */
        HdhaOpDoneFn pcmk_done;
        void *pcmk_done_userdata;
        void *pcmk_timer;

        /* The cluster token asked for, not answered yet. */
        ManagerTokenWait *token_wait;
};

struct HdhaManager {
        HdhaHypervisor *hv;
        HdhaManagerEnv env;
        HdhaConfig *config;
        HdhaTable *table;
        char *table_path;
        ManagerGroup **groups;
        size_t n_groups;
        size_t n_removed; /* of them, removed ones not freed yet */
        bool connected;
        void *reconcile_retry_timer;

        /* The groups the next write of the table takes together, and the
         * source that makes it once the events already waiting are done. */
        ManagerGroup *commit_head, *commit_tail;
        void *commit_source;
        bool compact_needed; /* the next write is a full save (table_write()) */

        /* A reload that waits for every group to be idle (a newer one
         * replaces it), who waits for it, and the timer that swaps it in
         * from the loop, never from inside a group's event. */
        HdhaConfig *pending_config;
        HdhaOpDoneFn pending_done;
        void *pending_userdata;
        void *pending_timer;
};

/* manager.c */
/* A group went idle: a reload waiting for that is swapped in soon. */
void manager_reload_check(HdhaManager *m);
ManagerHvCall *manager_hv_call_new(ManagerGroup *g);
/* Unlinks and frees the call; returns its group. */
ManagerGroup *manager_hv_call_free(ManagerHvCall *call);
ManagerGroup *manager_get_group(HdhaManager *m, const char *name);
bool manager_group_is_busy(const ManagerGroup *g);
/* manager-commit.c */
/* Takes the group out of the queue of the next write (it is freed). */
void manager_group_commit_unqueue(ManagerGroup *g);
/* Writes the table now; returns -errno without logging. */
int manager_group_commit(ManagerGroup *g);
/* Queues the group for the next write of the table, made for every queued
 * group at once after the events already waiting (HdhaManagerEnv's
 * idle_start), or at once without it. A failure is logged; a step's call
 * that waits for the write is then not made (manager_group_step_written). */
void manager_group_commit_later(ManagerGroup *g);
/* Queues the write if roles or holder changed since the last one. */
void manager_group_flush(ManagerGroup *g);
/* Change the table in memory and log the transition; a failure (not a
 * member, out of memory) is logged, and the table lags until the next
 * reconciliation puts it right. */
void manager_group_set_role(ManagerGroup *g, const char *domain, HdhaRole role, const char *event);
void manager_group_set_holder(ManagerGroup *g, const char *domain, const char *event);
/* slot is &g->release_timer (fires EV_RELEASE_TIMEOUT) or &g->retry_timer
 * (fires EV_RETRY); a running timer in slot is restarted. */
void manager_group_timer_start(ManagerGroup *g, void **slot, uint64_t usec);
void manager_group_timers_stop(ManagerGroup *g);
const char *manager_group_first_standby(const ManagerGroup *g, const char *except);
/* An active or standby member failed: its role becomes failed, the bus
 * and (policy pacemaker) Pacemaker are told. What follows (policy auto's
 * failover or rebuild) is the caller's: manager_group_auto_check(). */
void manager_group_mark_failed(ManagerGroup *g, const char *domain, const char *event, const char *reason);

/* manager-operations.c */
void manager_group_operation_ended(ManagerGroup *g);
/* Policy auto: start what is due (failover of a failed holder, rebuild of
 * a failed member), one at a time. */
void manager_group_auto_check(ManagerGroup *g);
void manager_group_auto_stop(ManagerGroup *g);
/* The switch of a non-pacemaker group (and the agent's promote). */
int manager_group_switch_here(ManagerGroup *g, const char *domain, bool force, HdhaOpDoneFn done, void *userdata);

/* manager-plan.c */
/* Where a plan starts: a fresh operation, or one cut short and found by
 * reconciliation at this point. */
typedef enum ManagerPlanFrom {
        PLAN_FROM_START,    /* nothing done yet */
        PLAN_FROM_RELEASED, /* the source let go of the device (a rebuild: its target was stopped) */
        PLAN_FROM_ATTACHED, /* the target holds the device */
} ManagerPlanFrom;

typedef struct ManagerPlanRequest {
        HdhaOperation op;
        const char *source, *target; /* as in the table */
        bool force;                  /* a switch deactivates the source instead of asking it to let go */
        ManagerPlanFrom from;
        bool live; /* source_running and target_running are known (reconciliation) */
        bool source_running, target_running;
} ManagerPlanRequest;

/* The steps of an operation: the one description of each plan. Fills
 * plan (PLAN_MAX entries) and returns how many steps. */
size_t manager_plan(const ManagerPlanRequest *q, ManagerPlanStep *plan);
/* Takes over plan's domains. */
void manager_group_set_plan(ManagerGroup *g, const ManagerPlanStep *plan, size_t n);
void manager_group_plan_clear(ManagerGroup *g);
/* A source that was stopped during the operation is started again as a
 * standby before its quota is lowered. */
void manager_group_plan_insert_rebuild(ManagerGroup *g, const char *source);

/* manager-steps.c */
const char *manager_step_event_to_string(ManagerStepEvent e);
/* The table was written with the group's step (r < 0: it could not be):
 * the step's hypervisor call, if it waits, is made now, or the operation
 * fails without it. */
void manager_group_step_written(ManagerGroup *g, int r);
int manager_group_start_operation(ManagerGroup *g, HdhaOperation op, const char *source, const char *target,
                                  const ManagerPlanStep *plan, size_t n_plan, HdhaOpDoneFn done, void *userdata);
void manager_group_step_event(ManagerGroup *g, ManagerStepEvent ev, int r, const char *message);
void manager_group_finish(ManagerGroup *g, int r, const char *message);
void manager_group_run_plan(ManagerGroup *g, const char *event);

/* manager-pacemaker.c */
int manager_group_pcmk_switch(ManagerGroup *g, const char *domain, HdhaOpDoneFn done, void *userdata);
void manager_group_pcmk_member_failed(ManagerGroup *g, const char *domain, const char *reason);
void manager_group_pcmk_holder_changed(ManagerGroup *g, const char *old_holder);
/* After a reconciliation: every known instance gets its member's score, if
 * it is not the one last sent (after a start: all of them). */
void manager_group_pcmk_reconciled(ManagerGroup *g);
void manager_group_pcmk_free(ManagerGroup *g);

/* manager-cluster.c */
/* Starts op now, or first asks for the group's cluster token if the plan
 * attaches a member and this host does not hold it. */
int manager_group_start_planned(ManagerGroup *g, HdhaOperation op, const char *source, const char *target,
                                bool force, HdhaOpDoneFn done, void *userdata);
/* After an operation: give the token back if no member holds the device. */
void manager_group_token_check(ManagerGroup *g);
void manager_group_token_wait_drop(ManagerGroup *g);

/* manager-reconcile.c */
void manager_reconcile(HdhaManager *m);
void manager_group_reconcile(ManagerGroup *g);
/* Every running member gets the quota of its role (after a failed
 * operation, or a reconciliation). reconciled: the reconciliation has just
 * seen which members run, so a failed one that runs (waiting for its
 * rebuild) gets the standby quota too. */
void manager_group_reapply_quotas(ManagerGroup *g, bool reconciled);
/* The member gets the standby quota, as a side call. */
void manager_group_throttle(ManagerGroup *g, const char *domain);
