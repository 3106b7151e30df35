/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "hypervisor.h"

/* HdhaHypervisor on libvirt.
 *
 * One connection to URI (NULL: libvirt's default), with keepalive (5 s x 3)
 * and a close callback. The first connect and every reconnect run in the
 * background with a backoff of 0.1 s doubling to 5 s; each success emits
 * HDHA_HV_EVENT_CONNECTED (domain event callbacks registered), each loss
 * HDHA_HV_EVENT_DISCONNECTED. Domain events of a new connection that arrive
 * before its CONNECTED are held back and delivered right after it.
 * Operations issued while disconnected complete with -ENOTCONN.
 *
 * Threads: libvirt's default event loop runs in a thread of its own; its
 * callbacks copy what they need and post it to the sd-event loop through an
 * eventfd. Blocking calls run on 4 worker threads and post their results the
 * same way. Events and completions are dispatched on the sd-event loop only.
 *
 * Errors: completions get -errno and "LIBVIRT MESSAGE (code N)". -ENOENT:
 * no such domain; -ENODEV: no such device (detach); -EOPNOTSUPP: e.g.
 * "host doesn't support passthrough of host PCI devices (code 67)";
 * -ECONNRESET/-ENOTCONN: the connection broke or is down; -EBUSY: the
 * domain is in the wrong state for it.
 *
 * detach: by alias (virDomainDetachDeviceAlias: hands the request over and
 * returns at once, even for a paused guest) when the XML has <alias/>, else
 * virDomainDetachDeviceFlags (blocks up to 5 s on a busy guest). destroy of a
 * shut-off domain and start of a running one succeed. inspect: an unknown
 * domain is r=0 with exists=false; info is always passed, meaningful only
 * when r >= 0. STARTED comes twice on a boot: "resumed" (QEMU starts its
 * vCPUs) then "booted".
 *
 * Freeing waits for the jobs that are running (a blocked detach: up to 5 s;
 * a hung libvirtd: until keepalive gives up, about 20 s), cancels the queued
 * ones and drops undelivered results: no completion or event handler is ever
 * called after free(), nor from inside it. Do not free it from inside a
 * completion or an event handler. */
int hdha_hypervisor_libvirt_new(sd_event *event, const char *uri, HdhaHypervisor **ret);
