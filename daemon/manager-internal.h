/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the state machine's files: manager.c (groups, the table kept
 * durable, the hypervisor's events), manager-operations.c (the operations'
 * entry points, policy auto), manager-plan.c (the plan of each operation),
 * manager-steps.c (the state x event table that runs a plan),
 * manager-reconcile.c (start-up, reconnect) and manager-pacemaker.c (policy
 * pacemaker). See docs/architecture.md. */

#include "manager.h"

#define PLAN_MAX 8
/* While waiting for a release, look again this often: the event may be lost
 * (libvirtd restarted) and so may the unplug request (guest still booting). */
#define RELEASE_RETRY_USEC (1000U * 1000U)

typedef enum StepEvent {
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
} StepEvent;


typedef struct PlanStep {
        HdhaStep step;
        char *domain;
} PlanStep;

typedef struct Group Group;

/* Policy pacemaker: the resource instance the agent said stands for a
 * member. */
typedef struct PcmkInstance {
        char *domain;
        char *resource;
        char *node;
} PcmkInstance;

/* A call to the hypervisor in flight (a step's, or a reconciliation's
 * inspection): the userdata of its completion. Linked into its group so
 * that whatever is still out when the manager goes (the hypervisor drops
 * undelivered completions) is freed too. Named apart from the job queue's
 * jobs (job-queue.h), which is how one implementation runs a call. */
typedef struct ManagerHvCall {
        Group *group;
        uint64_t step_id; /* the group's step_id when it was issued */
        size_t index;     /* reconciliation: which member */
        struct ManagerHvCall *prev, *next;
} ManagerHvCall;

struct Group {
        HdhaManager *manager;
        char *name;
        const HdhaGroupConfig *config; /* into manager->config */
        HdhaTableGroup *table;         /* into manager->table */
        char *device_xml;
        char *alias;
        bool frozen;
        bool removed; /* left the configuration; freed when idle */
        bool dirty;   /* changed since the table was last written */
        bool vfio_bound;    /* Managed=no: the function is on vfio-pci */
        char *vfio_nodedev; /* its node device name */

        /* The operation in flight: its remaining steps and who waits. */
        PlanStep plan[PLAN_MAX];
        size_t n_plan, i_plan;
        HdhaOpDoneFn done;
        void *done_userdata;
        uint64_t step_id; /* completions of other steps are stale */
        void *release_timer;
        void *retry_timer;
        int error;
        char *error_message;

        /* Reconciling: inspections still out, and what they found. */
        bool reconciling;
        size_t n_inspect_pending;
        HdhaDomainInfo *infos; /* one per config domain */
        bool inspect_failed;
        ManagerHvCall *hv_calls; /* calls in flight */
        unsigned n_side_calls;   /* side calls (quotas, duplicates) in flight */

        /* Policy pacemaker: the instances, and a switch Pacemaker is asked
         * to carry out (its target, who waits, its deadline). */
        PcmkInstance *pcmk;
        size_t n_pcmk;
        char *pcmk_target;
        char *pcmk_last_holder; /* the least preferred standby */
        HdhaOpDoneFn pcmk_done;
        void *pcmk_done_userdata;
        void *pcmk_timer;
};

struct HdhaManager {
        HdhaHypervisor *hv;
        HdhaManagerEnv env;
        HdhaConfig *config;
        HdhaTable *table;
        char *table_path;
        Group **groups;
        size_t n_groups;
        bool connected;
        void *reconcile_retry_timer;
};

/* manager.c */
ManagerHvCall *manager_hv_call_new(Group *g);
/* Unlinks and frees the call; returns its group. */
Group *manager_hv_call_free(ManagerHvCall *call);
Group *manager_get_group(HdhaManager *m, const char *name);
bool group_is_busy(const Group *g);
/* Writes the table now; returns -errno without logging. */
int group_commit(Group *g);
/* Writes it if roles or holder changed since the last write (a failure is
 * logged). */
void group_flush(Group *g);
/* Change the table in memory and log the transition; a failure (not a
 * member, out of memory) is logged, and the table lags until the next
 * reconciliation puts it right. */
void group_set_role(Group *g, const char *domain, HdhaRole role, const char *event);
void group_set_holder(Group *g, const char *domain, const char *event);
/* slot is &g->release_timer (fires EV_RELEASE_TIMEOUT) or &g->retry_timer
 * (fires EV_RETRY); a running timer in slot is restarted. */
void group_timer_start(Group *g, void **slot, uint64_t usec);
void group_timers_stop(Group *g);
const char *group_first_standby(const Group *g, const char *except);

/* manager-operations.c */
void group_operation_ended(Group *g);
/* Policy auto: start what is due (failover of a failed holder, rebuild of
 * a failed member), one at a time. */
void group_auto_check(Group *g);
/* The switch of a non-pacemaker group (and the agent's promote). */
int group_switch_here(Group *g, const char *domain, bool force, HdhaOpDoneFn done, void *userdata);

/* manager-plan.c */
/* Where a plan starts: a fresh operation, or one cut short and found by
 * reconciliation at this point. */
typedef enum PlanFrom {
        PLAN_FROM_START,    /* nothing done yet */
        PLAN_FROM_RELEASED, /* the source let go of the device (a rebuild: its target was stopped) */
        PLAN_FROM_ATTACHED, /* the target holds the device */
} PlanFrom;

typedef struct PlanRequest {
        HdhaOperation op;
        const char *source, *target; /* as in the table */
        bool force;                  /* a switch deactivates the source instead of asking it to let go */
        PlanFrom from;
        bool live; /* source_running and target_running are known (reconciliation) */
        bool source_running, target_running;
} PlanRequest;

/* The steps of an operation: the one description of each plan. Fills
 * plan (PLAN_MAX entries) and returns how many steps. */
size_t group_plan(const PlanRequest *q, PlanStep *plan);
/* Takes over plan's domains. */
void group_set_plan(Group *g, const PlanStep *plan, size_t n);
void group_plan_clear(Group *g);
/* A source that was stopped during the operation is started again as a
 * standby before its quota is lowered. */
void group_plan_insert_rebuild(Group *g, const char *source);

/* manager-steps.c */
const char *step_event_to_string(StepEvent e);
int group_start_operation(Group *g, HdhaOperation op, const char *source, const char *target,
                          const PlanStep *plan, size_t n_plan, HdhaOpDoneFn done, void *userdata);
void group_step_event(Group *g, StepEvent ev, int r, const char *message);
void group_finish(Group *g, int r, const char *message);
void group_run_plan(Group *g, const char *event);

/* manager-pacemaker.c */
int group_pcmk_switch(Group *g, const char *domain, HdhaOpDoneFn done, void *userdata);
void group_pcmk_member_failed(Group *g, const char *domain, const char *reason);
void group_pcmk_holder_changed(Group *g, const char *old_holder);
void group_pcmk_free(Group *g);

/* manager-reconcile.c */
void manager_reconcile(HdhaManager *m);
void group_reconcile(Group *g);
/* Every running member gets the quota of its role (after a failed
 * operation, or a reconciliation). */
void group_reapply_quotas(Group *g);
