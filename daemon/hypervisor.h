/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* What the failover state machine needs from a hypervisor, as a table of
 * function pointers.  The libvirt implementation (hypervisor-libvirt.c) runs
 * every blocking call as a job on a worker thread; the fake one in the unit
 * tests is scripted.  Either way:
 *
 *  - every operation is asynchronous: it returns < 0 only when the job could
 *    not even be queued, and otherwise calls its completion exactly once,
 *    later, on the event loop's thread, never from inside the call;
 *  - events are delivered on the event loop's thread through on_event;
 *  - a failed job passes -errno and the hypervisor's own message (for
 *    libvirt: virGetLastErrorMessage() and its code in the text). */

typedef struct HdhaHypervisor HdhaHypervisor;

typedef enum HdhaHvEventKind {
        HDHA_HV_EVENT_STARTED,               /* domain booted (also: resumed) */
        HDHA_HV_EVENT_STOPPED,               /* shut off: destroyed, shut down, QEMU died */
        HDHA_HV_EVENT_CRASHED,               /* the guest crashed */
        HDHA_HV_EVENT_IO_ERROR,              /* paused on an I/O error */
        HDHA_HV_EVENT_WATCHDOG,              /* the watchdog fired */
        HDHA_HV_EVENT_PANIC,                 /* guest panic */
        HDHA_HV_EVENT_DEVICE_REMOVED,        /* the guest let go of a device */
        HDHA_HV_EVENT_DEVICE_REMOVAL_FAILED, /* the guest refused to let go */
        HDHA_HV_EVENT_CONNECTED,             /* (re)connected, callbacks registered */
        HDHA_HV_EVENT_DISCONNECTED,          /* connection lost; reconnecting */
        _HDHA_HV_EVENT_MAX,
        _HDHA_HV_EVENT_INVALID = -EINVAL,
} HdhaHvEventKind;

const char *hdha_hv_event_to_string(HdhaHvEventKind k);
HdhaHvEventKind hdha_hv_event_from_string(const char *s);

typedef struct HdhaHvEvent {
        HdhaHvEventKind kind;
        const char *domain; /* NULL for connection events */
        const char *alias;  /* device events: the device's alias */
        const char *reason; /* free text, e.g. "destroyed", "killed" */
} HdhaHvEvent;

/* A domain's live state, as the hypervisor reports it now. */
typedef struct HdhaDomainInfo {
        bool exists;
        bool running;    /* active (running or paused) */
        bool paused;
        bool has_device; /* the live XML holds a device with the asked alias */
} HdhaDomainInfo;

typedef void (*HdhaHvDoneFn)(void *userdata, int r, const char *message);
typedef void (*HdhaHvInspectFn)(void *userdata, int r, const char *message, const HdhaDomainInfo *info);
typedef void (*HdhaHvEventFn)(void *userdata, const HdhaHvEvent *event);
/* path: the host side of the domain's guest channel, NULL when it has none
 * (or is not running); valid during the call only. */
typedef void (*HdhaHvChannelFn)(void *userdata, int r, const char *message, const char *path);

typedef struct HdhaHypervisorOps {
        const char *name;
        HdhaHypervisor *(*free)(HdhaHypervisor *hv);

        /* Live only, never the persistent definition. attach completes when
         * the hypervisor has added the device. */
        int (*attach)(HdhaHypervisor *hv, const char *domain, const char *device_xml,
                      HdhaHvDoneFn done, void *userdata);
        /* Asks the guest to let go. Completes when the request was handed
         * over; that the device is gone is known only from a DEVICE_REMOVED
         * event or from inspect(). */
        int (*detach)(HdhaHypervisor *hv, const char *domain, const char *device_xml,
                      HdhaHvDoneFn done, void *userdata);
        /* Hard stop; completes when the domain is shut off. */
        int (*destroy)(HdhaHypervisor *hv, const char *domain, HdhaHvDoneFn done, void *userdata);
        /* Boots a defined domain; completes when it runs. */
        int (*start)(HdhaHypervisor *hv, const char *domain, HdhaHvDoneFn done, void *userdata);
        /* Per-vCPU quota (µs per period, -1 unlimited) and period, live. */
        int (*set_vcpu_quota)(HdhaHypervisor *hv, const char *domain, int64_t quota, uint64_t period,
                              HdhaHvDoneFn done, void *userdata);
        /* Binds a host PCI function, given as a libvirt node device name
         * (pci_0000_03_00_0), to vfio-pci, so that later attaches with
         * managed='no' never rebind host drivers. */
        int (*bind_vfio)(HdhaHypervisor *hv, const char *nodedev, HdhaHvDoneFn done, void *userdata);
        /* The domain's live state; alias selects the device to look for. */
        int (*inspect)(HdhaHypervisor *hv, const char *domain, const char *alias,
                       HdhaHvInspectFn done, void *userdata);
        /* Where the running domain's guest channel org.hostdevha.guest.0
         * ends on the host (lib/guest-channel-xml.h). May be NULL (an
         * implementation without guest channels). */
        int (*guest_channel)(HdhaHypervisor *hv, const char *domain, HdhaHvChannelFn done, void *userdata);
} HdhaHypervisorOps;

struct HdhaHypervisor {
        const HdhaHypervisorOps *ops;
        HdhaHvEventFn on_event;
        void *event_userdata;
};

static inline void hdha_hypervisor_set_event_handler(HdhaHypervisor *hv, HdhaHvEventFn fn, void *userdata) {
        hv->on_event = fn;
        hv->event_userdata = userdata;
}

static inline void hdha_hypervisor_emit(HdhaHypervisor *hv, const HdhaHvEvent *event) {
        if (hv->on_event)
                hv->on_event(hv->event_userdata, event);
}

static inline HdhaHypervisor *hdha_hypervisor_free(HdhaHypervisor *hv) {
        return hv ? hv->ops->free(hv) : NULL;
}
