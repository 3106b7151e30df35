/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libvirt/libvirt.h>

#include "hypervisor.h"
#include "job-queue.h"

/* Between hypervisor-libvirt.c (connection, events, life cycle) and
 * hypervisor-libvirt-ops.c (the operations, run as jobs). */

typedef struct HdhaHvLibvirt HdhaHvLibvirt;

/* Loop thread. */
HdhaJobQueue *hdha_hv_libvirt_queue(HdhaHvLibvirt *hv);
/* Any thread: a new reference to the current connection, NULL while down;
 * release it with virConnectClose(). */
virConnectPtr hdha_hv_libvirt_conn_ref(HdhaHvLibvirt *hv);

/* The table's operations, on HdhaHypervisor of libvirt. */
int hdha_hv_libvirt_attach(HdhaHypervisor *p, const char *domain, const char *device_xml,
                           HdhaHvDoneFn done, void *userdata);
int hdha_hv_libvirt_detach(HdhaHypervisor *p, const char *domain, const char *device_xml,
                           HdhaHvDoneFn done, void *userdata);
int hdha_hv_libvirt_destroy(HdhaHypervisor *p, const char *domain, HdhaHvDoneFn done, void *userdata);
int hdha_hv_libvirt_start(HdhaHypervisor *p, const char *domain, HdhaHvDoneFn done, void *userdata);
int hdha_hv_libvirt_set_vcpu_quota(HdhaHypervisor *p, const char *domain, int64_t quota, uint64_t period,
                                   HdhaHvDoneFn done, void *userdata);
int hdha_hv_libvirt_bind_vfio(HdhaHypervisor *p, const char *nodedev, HdhaHvDoneFn done, void *userdata);
int hdha_hv_libvirt_inspect(HdhaHypervisor *p, const char *domain, const char *alias,
                            HdhaHvInspectFn done, void *userdata);
int hdha_hv_libvirt_guest_channel(HdhaHypervisor *p, const char *domain, HdhaHvChannelFn done, void *userdata);
