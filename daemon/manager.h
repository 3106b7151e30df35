/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "guest-proto.h"
#include "hypervisor.h"
#include "table.h"

/* The failover state machine. It owns the allocation table, reaches the
 * hypervisor only through HdhaHypervisor, and the rest of the world (timers,
 * bus signals, Pacemaker) only through HdhaManagerEnv, so that the unit tests
 * drive it with a fake hypervisor and a virtual clock. No libvirt, no sd-bus
 * here (docs/architecture.md).
 *
 * Each cause of failure has one errno, so that the bus names it from one
 * table (lib/bus-util.c). An operation that cannot start returns:
 *   -ENOENT   no such group
 *   -ENXIO    no such domain (not a member of any group)
 *   -EXDEV    the domain is not a member of this group
 *   -EBUSY    the group has an operation in flight (or is reconciling)
 *   -EROFS    the group is frozen
 *   -EALREADY nothing to do (e.g. switch to the current holder)
 *   -EHOSTDOWN no connection to the hypervisor
 *   -ESRCH    the target is not a running standby
 *   -ENOTCONN policy pacemaker: no resource instance known for a member
 *   -EINVAL   invalid argument
 *   HDHA_MANAGER_STATE_WRITE_FAILED  the allocation table could not be
 *             written (the operation's first write, before any hypervisor
 *             call); the file keeps what it had, the cause is logged
 * A started operation that needs the group's cluster token (it attaches a
 * member, and this host does not hold the token) may also fail with:
 *   -EUSERS   another host holds the token (the message names that host
 *             and its domain)
 *   -ENOLINK  this host is not in a quorate cluster (or not joined yet
 *             with [Cluster] Enabled=yes)
 * A started operation that fails passes its completion:
 *   HDHA_MANAGER_HYPERVISOR_FAILED   a hypervisor job failed (whatever
 *                                    libvirt's errno); the message says how
 *   HDHA_MANAGER_STATE_WRITE_FAILED  the allocation table could not be written
 *   -ETIMEDOUT  policy pacemaker: Pacemaker did not promote the target in time
 *   -ECANCELED  interrupted (rolled back, or the device is elsewhere)
 */
#define HDHA_MANAGER_HYPERVISOR_FAILED (-EIO)
#define HDHA_MANAGER_STATE_WRITE_FAILED (-ENOSPC)

typedef struct HdhaManager HdhaManager;

typedef void (*HdhaOpDoneFn)(void *userdata, int r, const char *message);

typedef struct HdhaManagerEnv {
        /* A one-shot timer, in microseconds from now. */
        int (*timer_start)(void *userdata, uint64_t usec, void (*fn)(void *fn_userdata), void *fn_userdata,
                           void **ret_timer);
        void (*timer_stop)(void *userdata, void *timer);
        /* Runs fn once after the events already waiting are handled (the
         * table's writes of one burst of events are made together, one
         * flush of the disk for all); stopped with timer_stop. NULL: every
         * write is made at once. */
        int (*idle_start)(void *userdata, void (*fn)(void *fn_userdata), void *fn_userdata, void **ret_timer);
        /* Any property of the group changed (active, generation, operation,
         * step, roles, frozen). */
        void (*group_changed)(void *userdata, const char *group);
        /* The device moved: old and new holder may be NULL. */
        void (*connection_changed)(void *userdata, const char *group, const char *old_holder,
                                   const char *new_holder, uint64_t generation);
        /* A member failed (its role became failed). */
        void (*member_failed)(void *userdata, const char *group, const char *domain, const char *reason);
        /* A member domain started (booted, or resumed): its guest channel
         * can be connected. */
        void (*member_started)(void *userdata, const char *domain);
        /* The connection to the hypervisor came or went. */
        void (*connected_changed)(void *userdata, bool connected);
        /* The table was loaded, reconciled and is consistent with libvirt
         * for every group (after start-up or a reconnect). */
        void (*reconciled)(void *userdata);
        /* Policy pacemaker: set the promotion score of a resource instance
         * on a node (HDHA_PCMK_SCORE_NEVER is -INFINITY), and report a
         * failure of one to Pacemaker. Asynchronous, carried out in the
         * order asked. */
        void (*pacemaker_set_score)(void *userdata, const char *resource, const char *node, int score);
        void (*pacemaker_report_failure)(void *userdata, const char *resource, const char *node,
                                         const char *reason);
        /* The cluster (docs/cluster.md); all three NULL on a host outside
         * one, where every attach is allowed. cluster_holds: this host
         * holds the group's cluster token. cluster_acquire: ask for it on
         * behalf of domain, calling fn exactly once, never from inside
         * cluster_acquire: r = 0 granted, -EUSERS held by another host,
         * -ENOLINK no quorum (message says which host or why);
         * fn_userdata stays valid until then. cluster_release: no member
         * of this host holds the group's device any more. */
        bool (*cluster_holds)(void *userdata, const char *group);
        void (*cluster_acquire)(void *userdata, const char *group, const char *domain, HdhaOpDoneFn fn,
                                void *fn_userdata);
        void (*cluster_release)(void *userdata, const char *group);
        void *userdata;
} HdhaManagerEnv;

/* Start with an empty table, ignoring the file: the first reconciliation
 * rebuilds it from libvirt's live state (the operator's answer to a corrupt
 * table). */
#define HDHA_MANAGER_REBUILD_TABLE (1U << 0)

/* Takes ownership of config on success; table_path is where the allocation
 * table is kept. Loads the table: a missing one is empty, a corrupt one
 * fails with -EBADMSG and *reterr_message naming the file. Nothing is
 * reconciled before the hypervisor reports HDHA_HV_EVENT_CONNECTED. */
int hdha_manager_new(HdhaHypervisor *hv, const HdhaManagerEnv *env, HdhaConfig *config,
                     const char *table_path, unsigned flags, HdhaManager **ret, char **reterr_message);
/* Free the hypervisor first (it then calls nothing back), or keep it
 * quiet until a new manager takes its events: the manager does not touch
 * it on the way out. */
HdhaManager *hdha_manager_free(HdhaManager *m);

/* Swaps in a new configuration, taking ownership of it. Groups that
 * disappeared leave the table; new groups join it. While a group is busy
 * (an operation in flight, reconciling, waiting for the cluster token) the
 * new configuration waits and is swapped in once every group is idle, from
 * a timer of the loop; a second reload while one waits replaces it (the
 * first one's done gets -ECANCELED). Returns 0 when applied at once (done
 * is not called), or 1 when it waits: done is called exactly once, 0 when
 * applied. Freeing the manager drops a waiting configuration without
 * calling done. */
int hdha_manager_reload(HdhaManager *m, HdhaConfig *config, HdhaOpDoneFn done, void *userdata);
const HdhaConfig *hdha_manager_config(const HdhaManager *m);
const HdhaTable *hdha_manager_table(const HdhaManager *m);
bool hdha_manager_is_connected(const HdhaManager *m);

/* Operations. Each returns < 0 at once if it cannot start (and then does not
 * call done), or 0 and calls done exactly once when it finished. */
int hdha_manager_switch(HdhaManager *m, const char *group, const char *domain, bool force,
                        HdhaOpDoneFn done, void *userdata);
int hdha_manager_failover(HdhaManager *m, const char *group, const char *domain,
                          HdhaOpDoneFn done, void *userdata);
int hdha_manager_release(HdhaManager *m, const char *group, HdhaOpDoneFn done, void *userdata);
int hdha_manager_activate(HdhaManager *m, const char *domain, HdhaOpDoneFn done, void *userdata);
int hdha_manager_deactivate(HdhaManager *m, const char *domain, HdhaOpDoneFn done, void *userdata);
int hdha_manager_rebuild(HdhaManager *m, const char *domain, HdhaOpDoneFn done, void *userdata);
/* Kept in the allocation table: returns 1 when changed (the table written),
 * 0 when it already was so, HDHA_MANAGER_STATE_WRITE_FAILED if the table
 * could not be written (nothing changed). */
int hdha_manager_set_frozen(HdhaManager *m, const char *group, bool frozen);

/* --- Policy pacemaker (manager-pacemaker.c) ---
 * A group is a promotable clone; instance i (OCF_RESKEY_CRM_meta_clone) is
 * its i-th configured domain. The agent tells the manager which resource
 * instance on which node stands for which member on every action
 * (hdha_manager_pacemaker_instance), and gets the member's state and the
 * promotion score to set. On a pacemaker group, hdha_manager_switch() does
 * not move the device: it makes Pacemaker do it (the holder's score to
 * -INFINITY, the target's above the other standbys) and finishes once the
 * agent's promote of the target (hdha_manager_promote) moved it, or fails
 * with -ETIMEDOUT. A member that fails has its score set to -INFINITY and
 * its failure reported to Pacemaker at once. The instances are kept in the
 * allocation table, so they are known right after a restart. -ENOTCONN: no
 * resource instance known for a member involved (no agent call for it yet). */
#define HDHA_PCMK_SCORE_HOLDER 100
#define HDHA_PCMK_SCORE_TARGET 50
#define HDHA_PCMK_SCORE_STANDBY 10 /* plus one per member after it (up to 30): the first in order wins */
#define HDHA_PCMK_SCORE_LAST_HOLDER 5 /* a standby that held the device last: demoted, so not promoted again */
#define HDHA_PCMK_SCORE_NEVER (-1000000) /* -INFINITY */
#define HDHA_PCMK_SWITCH_TIMEOUT_USEC (45U * 1000U * 1000U)

typedef struct HdhaPcmkMember {
        const char *domain;
        HdhaRole role;
        bool holder; /* the table has the device on it */
        int score;
} HdhaPcmkMember;

/* -ERANGE: the group has no member number instance. */
int hdha_manager_pacemaker_instance(HdhaManager *m, const char *group, unsigned instance, const char *resource,
                                    const char *node, HdhaPcmkMember *ret);
/* The score last sent for that instance did not reach Pacemaker: it is sent
 * again the next time the agent asks (hdha_manager_pacemaker_instance). */
void hdha_manager_pacemaker_score_lost(HdhaManager *m, const char *resource, const char *node);
/* The agent's promote: moves the device to domain like a switch of a
 * non-pacemaker group, never through Pacemaker. */
int hdha_manager_promote(HdhaManager *m, const char *group, const char *domain, HdhaOpDoneFn done,
                         void *userdata);

/* --- The guests' own signals (manager-guest.c) ---
 * What a member's guest says on its channel (daemon/guest-channel.c), for
 * its own group only. */

/* The guest failed: its heartbeat was lost, or its health check failed.
 * Handled like a crash of an active or standby member (role failed,
 * reported; policy auto fails the holder over, rebuilds a standby).
 * Returns 1 when the member was marked failed; 0 when nothing is done
 * (another role, or an operation acts on it); -ENXIO not a member. */
int hdha_manager_guest_failed(HdhaManager *m, const char *domain, const char *reason);

/* A guest's request. release (from the active member): the device goes to
 * the first standby, through Pacemaker under policy pacemaker. takeover
 * (from a running standby): the active member is taken as failed and the
 * device goes to the asker (policy pacemaker: the failure is reported and
 * the asker's promotion score raised). Returns 0 when the operation
 * started, or -EPERM with *ret_refusal (lib/guest-proto.h) saying why not;
 * -ENXIO not a member. *ret_message says what happens or why not (static
 * text). */
int hdha_manager_guest_request(HdhaManager *m, const char *domain, HdhaGuestVerb verb, HdhaGuestRefusal *ret_refusal,
                               const char **ret_message);

/* The role of a member domain. -ENXIO: not a member of any group. */
int hdha_manager_member_role(const HdhaManager *m, const char *domain, HdhaRole *ret);

/* Read access for the bus. */
typedef struct HdhaGroupStatus {
        const char *name;
        const HdhaGroupConfig *config;
        const HdhaTableGroup *table;
        bool frozen;
        bool busy;
} HdhaGroupStatus;

size_t hdha_manager_n_groups(const HdhaManager *m);
int hdha_manager_group_status(const HdhaManager *m, size_t i, HdhaGroupStatus *ret);
int hdha_manager_find_group(const HdhaManager *m, const char *name, HdhaGroupStatus *ret);
