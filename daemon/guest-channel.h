/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "guest-proto.h"
#include "hypervisor.h"

/* The host side of the members' guest channels (org.hostdevha.guest.0,
 * docs/guest-channel.md): one non-blocking connection per running member
 * to the unix socket QEMU listens on, found in the live XML through the
 * hypervisor (ops->guest_channel). Everything a guest sends is untrusted:
 * lines are bounded (lib/guest-proto.h), at most HDHA_GUEST_LINES_PER_SEC
 * are read per second (the rest dropped and counted), a request
 * (release, takeover) at most every HDHA_GUEST_REQUEST_INTERVAL_USEC (the
 * rest refused with rate-limit), replies are dropped when the guest does
 * not read them (HDHA_GUEST_OUT_MAX bytes queued at most), each kind of
 * bad input is logged once per connection, and the channels' sources run
 * below every other source of the loop.
 *
 * Heartbeats: with GuestHeartbeatSec=N, a member whose guest sent a
 * heartbeat and then none for N s is reported failed ("guest heartbeat
 * lost") once; a "failed" line is reported at once ("guest health check
 * failed"). A closed channel (the domain stopped) is no failure: libvirt's
 * events tell. What to do with a failure or a request is the env's.
 *
 * Everything runs on the loop. Free it after the hypervisor (whose
 * completions it takes). */

#define HDHA_GUEST_LINES_PER_SEC 20U
#define HDHA_GUEST_REQUEST_INTERVAL_USEC (2U * 1000U * 1000U)
#define HDHA_GUEST_OUT_MAX 256U

typedef struct HdhaGuestChannels HdhaGuestChannels;

typedef struct HdhaGuestChannelsEnv {
        /* The member's guest failed. */
        void (*failed)(void *userdata, const char *domain, const char *reason);
        /* A guest's release or takeover: 0 accepted, or < 0 with
         * *ret_refusal and *ret_message (static text). */
        int (*request)(void *userdata, const char *domain, HdhaGuestVerb verb, HdhaGuestRefusal *ret_refusal,
                       const char **ret_message);
        /* The member's role for a status line ("active", ...), or NULL. */
        const char *(*role)(void *userdata, const char *domain);
        /* A request was answered (the bus's signal). */
        void (*requested)(void *userdata, const char *group, const char *domain, HdhaGuestVerb verb, bool accepted,
                          const char *reason);
        void *userdata;
} HdhaGuestChannelsEnv;

typedef struct HdhaGuestChannelState {
        bool connected;             /* connected, and the guest spoke on this connection */
        uint64_t heartbeat_age_usec; /* since the last heartbeat; UINT64_MAX: none on this connection */
        uint64_t n_dropped;         /* lines dropped or bad, replies lost, on this connection */
} HdhaGuestChannelState;

int hdha_guest_channels_new(sd_event *event, HdhaHypervisor *hv, const HdhaGuestChannelsEnv *env,
                            HdhaGuestChannels **ret);
HdhaGuestChannels *hdha_guest_channels_free(HdhaGuestChannels *c);

/* The members to watch and their groups' keys (at start-up and after a
 * reload; the config must outlive the next call). Members that left are
 * disconnected; new ones are connected if the hypervisor is. */
int hdha_guest_channels_set_config(HdhaGuestChannels *c, const HdhaConfig *config);
/* Look the member's channel up and connect to it (again, if its path
 * changed: the domain started anew). */
void hdha_guest_channels_connect(HdhaGuestChannels *c, const char *domain);
/* Every member not connected (start-up, after a libvirt reconnect). */
void hdha_guest_channels_connect_all(HdhaGuestChannels *c);
/* -ENXIO: not a member. */
int hdha_guest_channels_state(const HdhaGuestChannels *c, const char *domain, HdhaGuestChannelState *ret);
