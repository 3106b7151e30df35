/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cluster-view.h"
#include "manager.h"

/* The D-Bus API of hostdev-had (dbus/org.hostdevha.Manager1.xml): vtables
 * and handlers only; every decision is the manager's. A handler validates
 * the names, authorizes the caller (uid 0 or AdminGroup=), starts the
 * operation, keeps the message and replies when the operation finished.
 *
 * Order at shutdown: free the hypervisor (no completion comes after it),
 * then the manager (it calls no completion on the way out), then the bus: a
 * call still waiting then gets the error Interrupted from hdha_bus_free(),
 * if the loop's exit did not already answer it. */

typedef struct HdhaBus HdhaBus;

/* What the bus needs from the daemon beyond the manager (main.c wires the
 * real ones). */
typedef struct HdhaBusEnv {
        /* Reload: 0 applied, 1 waiting until no group is busy (then done
         * is called exactly once: 0 applied, -ECANCELED replaced by a
         * newer reload, or -errno), or -errno and a message for the caller
         * (a configuration with a problem). NULL: Reload is not supported. */
        int (*reload)(void *userdata, HdhaOpDoneFn done, void *done_userdata, char **ret_message);
        /* The cluster as it is now (Manager1.GetClusterStatus(), and the
         * holder named in HeldElsewhere): fills *ret, which the bus passes
         * empty ({}) and frees with hdha_cluster_view_done(), in the order
         * to show (hdha_cluster_view_sort()). A host in no cluster answers
         * "not connected" with its own groups (hdha_cluster_view_add_local()).
         * 0 or -errno. NULL: GetClusterStatus is not supported. */
        int (*cluster_status)(void *userdata, HdhaClusterView *ret);
        /* The connection to the system bus was lost (connected false) or
         * made again, objects and name back (true). NULL: not told. */
        void (*bus_connected)(void *userdata, bool connected);
        /* A member's guest channel (Group1.GuestChannels): whether its
         * guest is connected and the µs since its last heartbeat
         * (UINT64_MAX: none). < 0, or NULL: not connected, none. */
        int (*guest_state)(void *userdata, const char *domain, bool *ret_connected, uint64_t *ret_age_usec);
        void *userdata;
} HdhaBusEnv;

/* Connects to the system bus (sd_bus_open_system() honours
 * DBUS_SYSTEM_BUS_ADDRESS), attaches it to event, adds the objects and the
 * object manager, but does not request the name yet. env is copied. These
 * two return -errno without logging.
 *
 * A lost connection (the bus daemon stopped or restarted) is noticed at
 * once (sd-bus's local Disconnected signal), logged, and made again with
 * backoff (HDHA_BUS_RECONNECT_FIRST_USEC doubling up to
 * HDHA_BUS_RECONNECT_MAX_USEC): the objects are added again and the name,
 * if it was requested, requested again. Operations in flight go on; the
 * callers of the lost connection get no reply. */
#define HDHA_BUS_RECONNECT_FIRST_USEC (100U * 1000U)
#define HDHA_BUS_RECONNECT_MAX_USEC (5U * 1000U * 1000U)
int hdha_bus_new(sd_event *event, HdhaManager *m, const HdhaBusEnv *env, HdhaBus **ret);
/* Requests org.hostdevha.Manager1: -EEXIST if another process has it. */
int hdha_bus_request_name(HdhaBus *b);
/* Whether the connection is up now, and since when it is down (0 when up). */
bool hdha_bus_is_connected(const HdhaBus *b);
uint64_t hdha_bus_lost_since(const HdhaBus *b);
HdhaBus *hdha_bus_free(HdhaBus *b);
static inline void hdha_bus_freep(HdhaBus **b) {
        *b = hdha_bus_free(*b);
}

/* AdminGroup= (set false: root only). */
void hdha_bus_set_admin_gid(HdhaBus *b, bool set, gid_t gid);

/* Forwarded from HdhaManagerEnv. */
/* PropertiesChanged (with values) for the properties of the group object
 * that changed since the last emission; also Manager1.Connected when the
 * hypervisor connection changed. */
void hdha_bus_group_changed(HdhaBus *b, const char *group);
/* The signal GuestRequest. */
void hdha_bus_guest_request(HdhaBus *b, const char *group, const char *domain, const char *request, bool accepted,
                            const char *reason);
/* The signal ConnectionChanged; "" for no holder. */
void hdha_bus_connection_changed(HdhaBus *b, const char *group, const char *old_holder, const char *new_holder,
                                 uint64_t generation);
/* The signal MemberFailed. */
void hdha_bus_member_failed(HdhaBus *b, const char *group, const char *domain, const char *reason);
/* After a reload: InterfacesAdded/InterfacesRemoved for groups that came
 * and went, PropertiesChanged for Manager1.Groups and for groups whose
 * settings (Device, Policy, Members) changed. */
void hdha_bus_groups_changed(HdhaBus *b);
/* Emits Manager1.Connected if it differs from the last value sent. */
void hdha_bus_connected_changed(HdhaBus *b);
