/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by bus.c (the manager object, calls waiting for an operation,
 * authorization) and bus-group.c (the group objects). */

#include "bus-util.h"
#include "bus.h"

/* What a group object's properties were when last sent, to emit only what
 * changed. */
typedef struct BusGroupState {
        char *name;
        char *device;
        char *active;
        char *members; /* "domain=role ..." */
        uint64_t generation;
        HdhaOperation operation;
        HdhaStep step;
        HdhaPolicy policy;
        bool frozen;
        bool busy;
} BusGroupState;

typedef struct BusCall BusCall;
typedef struct BusPolkitQuery BusPolkitQuery;

struct HdhaBus {
        sd_event *event;
        sd_bus *bus; /* NULL while the connection is lost and being made again */
        bool name_wanted; /* org.hostdevha.Manager1 asked for: asked again on every new connection */
        sd_event_source *reconnect_timer;
        uint64_t reconnect_usec; /* the next backoff */
        uint64_t lost_at;        /* CLOCK_MONOTONIC, when the connection was lost */
        sd_event_source *exit_source;
        const char *version; /* PACKAGE_VERSION, for the property */
        HdhaManager *manager;
        HdhaBusEnv env;
        bool admin_gid_set;
        gid_t admin_gid;
        bool connected; /* as last sent */
        BusGroupState *states;
        size_t n_states;
        BusCall *calls; /* waiting for their operation to finish */
        BusPolkitQuery *polkit_queries; /* calls held for polkit's answer */
        unsigned n_polkit_queries;
};

/* The changing methods; bus-operation.c has their table (name in messages,
 * arguments, what starts them). */
typedef enum BusOp {
        BUS_OP_SWITCH,
        BUS_OP_RELEASE,
        BUS_OP_ACTIVATE,
        BUS_OP_DEACTIVATE,
        BUS_OP_REBUILD,
        BUS_OP_FREEZE,
        BUS_OP_THAW,
        BUS_OP_PROMOTE,
        _BUS_OP_MAX,
} BusOp;

/* bus.c */
/* The cluster view of env.cluster_status, or -EOPNOTSUPP without one. */
int bus_cluster_view(HdhaBus *b, HdhaClusterView *ret);

/* bus-operation.c */
/* May the caller change things? uid 0, a member of AdminGroup=, or one
 * polkit authorizes for org.hostdevha.manage: 1. Not known yet: 0, the
 * call is held until polkit answers and then dispatched again (the handler
 * returns 1, replying later). Refused: < 0, AccessDenied set. */
int bus_verify_admin(HdhaBus *b, sd_bus_message *m, uid_t *ret_uid, sd_bus_error *error);
/* The handler of op's method: reads its arguments (the group is
 * object_group on a group object, else the first argument), validates the
 * names, authorizes the caller and starts op; replies later (returns 1) or
 * fails at once (< 0, error set). */
int bus_method_operation(sd_bus_message *m, HdhaBus *b, BusOp op, const char *object_group, sd_bus_error *error);
int bus_group_name_check(const char *group, sd_bus_error *error);
/* At shutdown: the calls still waiting get Interrupted (once). */
void bus_calls_interrupt(HdhaBus *b);
/* A method call that replies later, when done is called with it (a
 * reload that waits): what names it in messages and is taken. */
int bus_call_new(HdhaBus *b, sd_bus_message *m, char *what, BusCall **ret);
BusCall *bus_call_free(BusCall *c);
void bus_call_done(void *userdata, int r, const char *message);
/* Forgets them; only once the manager is gone. */
void bus_calls_free(HdhaBus *b);

/* bus-polkit.c */
#define HDHA_POLKIT_ACTION_MANAGE "org.hostdevha.manage"
/* Asks polkit whether the sender of m may do action, without waiting: 0
 * when the question is sent (m is held and dispatched again once polkit
 * answered), and on that second dispatch the answer: 1 authorized, -EACCES
 * refused (ret_challenge: polkit would authorize after an authentication),
 * -EOPNOTSUPP when polkit cannot be asked (not on the bus). */
int bus_verify_polkit_async(HdhaBus *b, sd_bus_message *m, const char *action, bool *ret_challenge);
/* Forgets the held calls (they get no reply), at disconnection and exit. */
void bus_polkit_queries_free(HdhaBus *b);

/* bus-group.c */
extern const sd_bus_vtable bus_group_vtable[];
int bus_group_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                   sd_bus_error *error);
int bus_group_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error);
int bus_group_device(const HdhaGroupConfig *c, char **ret);
/* Appends a(ss): (domain, role) in the configured order. */
int bus_append_members(sd_bus_message *reply, const HdhaGroupStatus *s);
const char *bus_operation_string(HdhaOperation o);
const char *bus_step_string(HdhaStep s);
/* Records every group's properties as sent (no emission). */
int bus_group_states_init(HdhaBus *b);
void bus_group_states_free(HdhaBus *b);
void bus_group_emit_changes(HdhaBus *b, const char *group);
void bus_groups_emit_added_removed(HdhaBus *b);
