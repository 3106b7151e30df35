/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "hypervisor.h"

/* A scripted hypervisor for deterministic tests of the state machine.
 * Operations are queued and complete only when the test says so
 * (fake_hv_run_one/fake_hv_run); their effect on the fake domains happens
 * at completion, like libvirt's. Every call and every event is written to
 * the transcript. Attaching the device to a domain while another running
 * domain holds it is recorded as a violation of the invariant. */

typedef enum FakeGuestRelease {
        FAKE_RELEASE_NORMAL,    /* lets go when asked: DEVICE_REMOVED follows */
        FAKE_RELEASE_NEVER,     /* holds on (paused, busy) */
        FAKE_RELEASE_LOST_ONCE, /* the first request is lost (still booting) */
        FAKE_RELEASE_REFUSE,    /* DEVICE_REMOVAL_FAILED */
} FakeGuestRelease;

typedef struct FakeDomain {
        char *name;
        bool running;
        bool has_device;
        FakeGuestRelease release;
        long long quota;
        char *fail_op;      /* the next such operation fails */
        char *fail_message;
        int fail_errno;     /* with this (negative) errno; 0: -EIO */
        char *alias;        /* its group's device (NULL: the hypervisor's alias) */
        size_t group_next;  /* 1 + the index of the next member of its group (a ring), 0: none */
} FakeDomain;

HdhaHypervisor *fake_hv_new(FILE *transcript);
FakeDomain *fake_hv_domain(HdhaHypervisor *hv, const char *name); /* created on first use */
/* Completes the oldest queued item; false if none. */
bool fake_hv_run_one(HdhaHypervisor *hv);
/* Completes queued items until none is left; returns how many. */
unsigned fake_hv_run(HdhaHypervisor *hv);
unsigned fake_hv_pending(HdhaHypervisor *hv);
/* Drops every queued completion (the daemon crashed: nobody listens). */
void fake_hv_drop_pending(HdhaHypervisor *hv);
/* The daemon crashed: queued operations take effect (libvirt carries on)
 * but nobody hears of it; queued events and inspections are lost. */
void fake_hv_crash_pending(HdhaHypervisor *hv);
/* Connection lost (operations then fail) or back; queues the event. */
void fake_hv_set_connected(HdhaHypervisor *hv, bool connected);
/* Queues an event, as libvirt would deliver it. */
void fake_hv_queue_event(HdhaHypervisor *hv, HdhaHvEventKind kind, const char *domain, const char *alias,
                         const char *reason);
/* A domain dies (QEMU killed): off, device gone, STOPPED queued. */
void fake_hv_kill(HdhaHypervisor *hv, const char *domain);
/* Violations of the invariant seen so far. */
unsigned fake_hv_violations(HdhaHypervisor *hv);
void fake_hv_set_alias(HdhaHypervisor *hv, const char *alias);
/* Many groups: the members of one group and the alias of its device. Their
 * events carry that alias, and an attach to one of them is checked against
 * the others only, not against every domain. */
void fake_hv_set_group(HdhaHypervisor *hv, const char *alias, const char *const *domains, size_t n);
