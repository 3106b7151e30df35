/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The operations of the libvirt hypervisor: each one is a job whose work
 * (blocking libvirt calls) runs on a worker thread and whose completion runs
 * on the loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "device-xml.h"
#include "guest-channel-xml.h"
#include "hypervisor-libvirt-internal.h"
#include "libvirt-util.h"
#include "macro.h"

typedef enum OpKind {
        OP_ATTACH,
        OP_DETACH,
        OP_DESTROY,
        OP_START,
        OP_QUOTA,
        OP_INSPECT,
        OP_BIND_VFIO,
        OP_GUEST_CHANNEL,
} OpKind;

typedef struct Op {
        HdhaHvLibvirt *hv;
        OpKind kind;
        char *domain, *xml, *alias;
        int64_t quota;
        uint64_t period;
        HdhaHvDoneFn done;
        HdhaHvInspectFn inspect_done;
        HdhaHvChannelFn channel_done;
        void *userdata;
        /* Written by the worker. */
        int r;
        char *message;
        HdhaDomainInfo info;
        char *channel_path;
} Op;

static void op_free(void *data) {
        Op *op = data;

        free(op->domain);
        free(op->xml);
        free(op->alias);
        free(op->message);
        free(op->channel_path);
        free(op);
}

/* A call failed: its error, unless the domain is (already) in the state
 * wanted, which counts as success. */
static int op_fail_unless_active(Op *op, virDomainPtr dom, int want_active) {
        int r = hdha_libvirt_last_error(&op->message);

        if (virDomainIsActive(dom) == want_active) {
                op->message = mfree(op->message);
                return 0;
        }
        return r;
}

/* A detach by alias failed: libvirt says "internal error" when the alias is
 * not there. If the running domain's live XML indeed lacks it, that is
 * -ENODEV (with libvirt's message). */
static int op_detach_failed(Op *op, virDomainPtr dom) {
        int r = hdha_libvirt_last_error(&op->message);
        bool live, found;
        char *xml;

        xml = virDomainGetXMLDesc(dom, 0);
        if (xml && hdha_device_xml_find_alias(xml, op->alias, &live, &found) >= 0 && live && !found)
                r = -ENODEV;
        free(xml);
        return r;
}

static int op_set_quota(Op *op, virDomainPtr dom) {
        virTypedParameterPtr params = NULL;
        int n = 0, max = 0, r = 0;

        if (virTypedParamsAddLLong(&params, &n, &max, VIR_DOMAIN_SCHEDULER_VCPU_QUOTA, op->quota) < 0 ||
            (op->period > 0 &&
             virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_SCHEDULER_VCPU_PERIOD, op->period) < 0) ||
            virDomainSetSchedulerParametersFlags(dom, params, n, VIR_DOMAIN_AFFECT_LIVE) < 0)
                r = hdha_libvirt_last_error(&op->message);
        virTypedParamsFree(params, n);
        return r;
}

static int op_inspect(Op *op, virDomainPtr dom) {
        int state, reason, active;
        bool live, found;
        char *xml;
        int r;

        op->info.exists = true;
        active = virDomainIsActive(dom);
        if (active < 0 || virDomainGetState(dom, &state, &reason, 0) < 0)
                return hdha_libvirt_last_error(&op->message);
        op->info.running = active > 0;
        op->info.paused = op->info.running && state == VIR_DOMAIN_PAUSED;
        if (!op->info.running || !op->alias)
                return 0;

        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml)
                return hdha_libvirt_last_error(&op->message);
        r = hdha_device_xml_find_alias(xml, op->alias, &live, &found);
        free(xml);
        if (r < 0) {
                op->message = strdup("cannot parse the domain's live XML");
                return r;
        }
        if (!live) /* it stopped in between: this was the persistent definition */
                op->info.running = op->info.paused = false;
        op->info.has_device = live && found;
        return 0;
}

static int op_guest_channel(Op *op, virDomainPtr dom) {
        char *xml;
        int r;

        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml)
                return hdha_libvirt_last_error(&op->message);
        r = hdha_guest_channel_find_path(xml, &op->channel_path);
        free(xml);
        if (r == -EINVAL)
                op->message = strdup("cannot parse the domain's live XML");
        return r < 0 ? r : 0;
}

/* op->domain is the node device's name here. */
static int op_bind_vfio(Op *op, virConnectPtr conn) {
        virNodeDevicePtr dev;
        int r = 0;

        dev = virNodeDeviceLookupByName(conn, op->domain);
        if (!dev)
                return hdha_libvirt_last_error(&op->message);
        if (virNodeDeviceDetachFlags(dev, "vfio", 0) < 0)
                r = hdha_libvirt_last_error(&op->message);
        (void) virNodeDeviceFree(dev);
        return r;
}

static void op_work(void *data) {
        Op *op = data;
        virConnectPtr conn;
        virDomainPtr dom;
        int r;

        conn = hdha_hv_libvirt_conn_ref(op->hv);
        if (!conn) {
                op->r = -ENOTCONN;
                op->message = strdup("not connected to libvirt");
                return;
        }

        if (op->kind == OP_BIND_VFIO) {
                op->r = op_bind_vfio(op, conn);
                (void) virConnectClose(conn);
                return;
        }

        dom = virDomainLookupByName(conn, op->domain);
        if (!dom) {
                r = hdha_libvirt_last_error(&op->message);
                if (r == -ENOENT && op->kind == OP_INSPECT) {
                        op->message = mfree(op->message);
                        r = 0; /* info.exists = false */
                }
                op->r = r;
                (void) virConnectClose(conn);
                return;
        }

        switch (op->kind) {
        case OP_ATTACH:
                r = virDomainAttachDeviceFlags(dom, op->xml, VIR_DOMAIN_AFFECT_LIVE) < 0 ?
                        hdha_libvirt_last_error(&op->message) : 0;
                break;
        case OP_DETACH:
                /* By alias when there is one: no matching of the XML's
                 * other fields against what libvirt filled in, and
                 * virDomainDetachDeviceAlias() only hands the request over
                 * (the XML variant waits up to 5 s for the guest, then
                 * returns 0 anyway). */
                if (op->alias)
                        r = virDomainDetachDeviceAlias(dom, op->alias, VIR_DOMAIN_AFFECT_LIVE) < 0 ?
                                op_detach_failed(op, dom) : 0;
                else
                        r = virDomainDetachDeviceFlags(dom, op->xml, VIR_DOMAIN_AFFECT_LIVE) < 0 ?
                                hdha_libvirt_last_error(&op->message) : 0;
                break;
        case OP_DESTROY:
                r = virDomainIsActive(dom);
                if (r > 0)
                        r = virDomainDestroy(dom) < 0 ? op_fail_unless_active(op, dom, 0) : 0;
                else if (r < 0)
                        r = hdha_libvirt_last_error(&op->message);
                break;
        case OP_START:
                r = virDomainIsActive(dom);
                if (r == 0)
                        r = virDomainCreate(dom) < 0 ? op_fail_unless_active(op, dom, 1) : 0;
                else if (r < 0)
                        r = hdha_libvirt_last_error(&op->message);
                else
                        r = 0;
                break;
        case OP_QUOTA:
                r = op_set_quota(op, dom);
                break;
        case OP_INSPECT:
                r = op_inspect(op, dom);
                break;
        case OP_GUEST_CHANNEL:
                r = op_guest_channel(op, dom);
                break;
        default:
                r = -EINVAL;
        }

        op->r = r;
        (void) virDomainFree(dom);
        (void) virConnectClose(conn);
}

static void op_done(void *data) {
        Op *op = data;

        if (op->kind == OP_INSPECT)
                op->inspect_done(op->userdata, op->r, op->message, &op->info);
        else if (op->kind == OP_GUEST_CHANNEL)
                op->channel_done(op->userdata, op->r, op->message, op->r >= 0 ? op->channel_path : NULL);
        else
                op->done(op->userdata, op->r, op->message);
}


/* Takes the domain name and fields of op; frees op on failure. */
static int op_submit(HdhaHvLibvirt *hv, Op *op, const char *domain) {
        int r;

        op->hv = hv;
        op->domain = strdup(domain);
        if (!op->domain) {
                op_free(op);
                return -ENOMEM;
        }
        r = hdha_job_queue_submit(hdha_hv_libvirt_queue(hv), op_work, op_done, op_free, op);
        if (r < 0)
                op_free(op);
        return r;
}

static Op *op_new(OpKind kind, HdhaHvDoneFn done, void *userdata) {
        Op *op = calloc(1, sizeof(*op));

        if (op)
                *op = (Op) { .kind = kind, .done = done, .userdata = userdata };
        return op;
}

int hdha_hv_libvirt_attach(HdhaHypervisor *p, const char *domain, const char *device_xml, HdhaHvDoneFn done,
                     void *userdata) {
        Op *op;

        if (!domain || !device_xml || !done)
                return -EINVAL;
        op = op_new(OP_ATTACH, done, userdata);
        if (!op)
                return -ENOMEM;
        op->xml = strdup(device_xml);
        if (!op->xml) {
                op_free(op);
                return -ENOMEM;
        }
        return op_submit((HdhaHvLibvirt *) p, op, domain);
}

int hdha_hv_libvirt_detach(HdhaHypervisor *p, const char *domain, const char *device_xml, HdhaHvDoneFn done,
                     void *userdata) {
        Op *op;
        int r;

        if (!domain || !device_xml || !done)
                return -EINVAL;
        op = op_new(OP_DETACH, done, userdata);
        if (!op)
                return -ENOMEM;
        op->xml = strdup(device_xml);
        /* No alias, or XML that does not parse: libvirt gets the XML and
         * says what is wrong with it. */
        r = hdha_device_xml_alias(device_xml, &op->alias);
        if (!op->xml || r == -ENOMEM) {
                op_free(op);
                return -ENOMEM;
        }
        return op_submit((HdhaHvLibvirt *) p, op, domain);
}

int hdha_hv_libvirt_destroy(HdhaHypervisor *p, const char *domain, HdhaHvDoneFn done, void *userdata) {
        Op *op;

        if (!domain || !done)
                return -EINVAL;
        op = op_new(OP_DESTROY, done, userdata);
        if (!op)
                return -ENOMEM;
        return op_submit((HdhaHvLibvirt *) p, op, domain);
}

int hdha_hv_libvirt_start(HdhaHypervisor *p, const char *domain, HdhaHvDoneFn done, void *userdata) {
        Op *op;

        if (!domain || !done)
                return -EINVAL;
        op = op_new(OP_START, done, userdata);
        if (!op)
                return -ENOMEM;
        return op_submit((HdhaHvLibvirt *) p, op, domain);
}

int hdha_hv_libvirt_set_vcpu_quota(HdhaHypervisor *p, const char *domain, int64_t quota, uint64_t period,
                             HdhaHvDoneFn done, void *userdata) {
        Op *op;

        if (!domain || !done)
                return -EINVAL;
        op = op_new(OP_QUOTA, done, userdata);
        if (!op)
                return -ENOMEM;
        op->quota = quota;
        op->period = period;
        return op_submit((HdhaHvLibvirt *) p, op, domain);
}

int hdha_hv_libvirt_inspect(HdhaHypervisor *p, const char *domain, const char *alias, HdhaHvInspectFn done,
                      void *userdata) {
        Op *op;

        if (!domain || !done)
                return -EINVAL;
        op = op_new(OP_INSPECT, NULL, userdata);
        if (!op)
                return -ENOMEM;
        op->inspect_done = done;
        if (alias) {
                op->alias = strdup(alias);
                if (!op->alias) {
                        op_free(op);
                        return -ENOMEM;
                }
        }
        return op_submit((HdhaHvLibvirt *) p, op, domain);
}

int hdha_hv_libvirt_bind_vfio(HdhaHypervisor *p, const char *nodedev, HdhaHvDoneFn done, void *userdata) {
        Op *op;

        if (!nodedev || !done)
                return -EINVAL;
        op = op_new(OP_BIND_VFIO, done, userdata);
        if (!op)
                return -ENOMEM;
        return op_submit((HdhaHvLibvirt *) p, op, nodedev);
}

int hdha_hv_libvirt_guest_channel(HdhaHypervisor *p, const char *domain, HdhaHvChannelFn done, void *userdata) {
        Op *op;

        if (!domain || !done)
                return -EINVAL;
        op = op_new(OP_GUEST_CHANNEL, NULL, userdata);
        if (!op)
                return -ENOMEM;
        op->channel_done = done;
        return op_submit((HdhaHvLibvirt *) p, op, domain);
}
