/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hypervisor-libvirt.h"
#include "hypervisor-libvirt-internal.h"
#include "job-queue.h"
#include "libvirt-util.h"
#include "log.h"
#include "macro.h"

#define N_WORKERS 4
#define KEEPALIVE_INTERVAL_SEC 5
#define KEEPALIVE_COUNT 3
#define BACKOFF_MIN_USEC UINT64_C(100000)
#define BACKOFF_MAX_USEC UINT64_C(5000000)
#define N_DOMAIN_CALLBACKS 5

typedef struct HdhaHvLibvirt HvLibvirt;

/* One connection (or attempt). libvirt's callbacks get it as their opaque
 * pointer, so it lives until the hypervisor is freed. */
typedef struct LvConn {
        HvLibvirt *hv;
        virConnectPtr conn; /* set by the connect job; closed by the close job or free() */
        int callback_ids[N_DOMAIN_CALLBACKS];
        bool close_registered;
        bool lost;          /* loop: closed before its CONNECTED */
        int r;              /* the connect job's result */
        char *message;
        struct LvConn *next;
} LvConn;

/* An event, copied on libvirt's event thread, dispatched on the loop. */
typedef struct LvEvent {
        LvConn *c;
        HdhaHvEventKind kind;
        char *domain, *alias, *reason;
        bool held;
        struct LvEvent *next;
} LvEvent;

struct HdhaHvLibvirt {
        HdhaHypervisor public;
        sd_event *event;
        char *uri;
        HdhaJobQueue *queue;
        bool event_thread;

        pthread_mutex_t lock;
        virConnectPtr conn; /* under lock: what jobs use; NULL while down */

        /* Loop thread only. */
        LvConn *current;    /* connected, CONNECTED emitted */
        LvConn *connecting; /* attempt in flight */
        LvConn *all;
        LvEvent *held_head, *held_tail; /* events of 'connecting', before its CONNECTED */
        sd_event_source *retry;
        uint64_t backoff;
        bool failing;       /* the last attempt failed and that was logged */
};

/* ---- Events: libvirt's thread ---------------------------------------- */

static void event_free(void *data) {
        LvEvent *ev = data;

        if (!ev || ev->held)
                return;
        free(ev->domain);
        free(ev->alias);
        free(ev->reason);
        free(ev);
}

static void event_dispatch(void *data);

static void post_event(LvConn *c, HdhaHvEventKind kind, virDomainPtr dom, const char *alias,
                       const char *reason) {
        const char *name = dom ? virDomainGetName(dom) : NULL;
        LvEvent *ev;

        /* Out of memory on libvirt's thread: nothing to do but drop it. The
         * manager re-reads the live XML on deadlines and on CONNECTED. */
        ev = calloc(1, sizeof(*ev));
        if (!ev)
                return;
        *ev = (LvEvent) {
                .c = c,
                .kind = kind,
                .domain = name ? strdup(name) : NULL,
                .alias = alias ? strdup(alias) : NULL,
                .reason = reason ? strdup(reason) : NULL,
        };
        if ((name && !ev->domain) || (alias && !ev->alias) || (reason && !ev->reason) ||
            hdha_job_queue_post(c->hv->queue, event_dispatch, event_free, ev) < 0)
                event_free(ev);
}

static const char *detail_string(const char *const *table, size_t n, int detail) {
        if (detail < 0 || (size_t) detail >= n || !table[detail])
                return "unknown";
        return table[detail];
}

static const char *const started_detail[] = {
        [VIR_DOMAIN_EVENT_STARTED_BOOTED] = "booted",
        [VIR_DOMAIN_EVENT_STARTED_MIGRATED] = "migrated",
        [VIR_DOMAIN_EVENT_STARTED_RESTORED] = "restored",
        [VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT] = "from-snapshot",
        [VIR_DOMAIN_EVENT_STARTED_WAKEUP] = "wakeup",
};

static const char *const stopped_detail[] = {
        [VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "destroyed",
        [VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "crashed",
        [VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "migrated",
        [VIR_DOMAIN_EVENT_STOPPED_SAVED] = "saved",
        [VIR_DOMAIN_EVENT_STOPPED_FAILED] = "failed",
        [VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "from-snapshot",
};

static const char *const watchdog_action[] = {
        [VIR_DOMAIN_EVENT_WATCHDOG_NONE] = "none",
        [VIR_DOMAIN_EVENT_WATCHDOG_PAUSE] = "pause",
        [VIR_DOMAIN_EVENT_WATCHDOG_RESET] = "reset",
        [VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF] = "poweroff",
        [VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_EVENT_WATCHDOG_DEBUG] = "debug",
        [VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI] = "inject-nmi",
};

static const char *const close_reason[] = {
        [VIR_CONNECT_CLOSE_REASON_ERROR] = "error",
        [VIR_CONNECT_CLOSE_REASON_EOF] = "eof",
        [VIR_CONNECT_CLOSE_REASON_KEEPALIVE] = "keepalive",
        [VIR_CONNECT_CLOSE_REASON_CLIENT] = "client",
};

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        LvConn *c = opaque;

        switch (event) {
        case VIR_DOMAIN_EVENT_STARTED:
                post_event(c, HDHA_HV_EVENT_STARTED, dom, NULL,
                           detail_string(started_detail, ELEMENTSOF(started_detail), detail));
                break;
        case VIR_DOMAIN_EVENT_RESUMED:
                post_event(c, HDHA_HV_EVENT_STARTED, dom, NULL, "resumed");
                break;
        case VIR_DOMAIN_EVENT_STOPPED:
                post_event(c, HDHA_HV_EVENT_STOPPED, dom, NULL,
                           detail_string(stopped_detail, ELEMENTSOF(stopped_detail), detail));
                break;
        case VIR_DOMAIN_EVENT_CRASHED:
                if (detail == VIR_DOMAIN_EVENT_CRASHED_PANICKED)
                        post_event(c, HDHA_HV_EVENT_PANIC, dom, NULL, "panicked");
                else
                        post_event(c, HDHA_HV_EVENT_CRASHED, dom, NULL, "crashloaded");
                break;
        case VIR_DOMAIN_EVENT_SUSPENDED:
                if (detail == VIR_DOMAIN_EVENT_SUSPENDED_IOERROR)
                        post_event(c, HDHA_HV_EVENT_IO_ERROR, dom, NULL, "paused on I/O error");
                break;
        default:
                /* DEFINED, UNDEFINED, SHUTDOWN (the guest is shutting down:
                 * STOPPED follows), PMSUSPENDED: nothing to act on. */
                break;
        }
        return 0;
}

static void on_watchdog(virConnectPtr conn, virDomainPtr dom, int action, void *opaque) {
        post_event(opaque, HDHA_HV_EVENT_WATCHDOG, dom, NULL,
                   detail_string(watchdog_action, ELEMENTSOF(watchdog_action), action));
}

static void on_io_error(virConnectPtr conn, virDomainPtr dom, const char *src_path, const char *dev_alias,
                        int action, const char *reason, void *opaque) {
        if (action == VIR_DOMAIN_EVENT_IO_ERROR_PAUSE)
                post_event(opaque, HDHA_HV_EVENT_IO_ERROR, dom, dev_alias, reason);
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *dev_alias, void *opaque) {
        post_event(opaque, HDHA_HV_EVENT_DEVICE_REMOVED, dom, dev_alias, NULL);
}

static void on_device_removal_failed(virConnectPtr conn, virDomainPtr dom, const char *dev_alias,
                                     void *opaque) {
        post_event(opaque, HDHA_HV_EVENT_DEVICE_REMOVAL_FAILED, dom, dev_alias, NULL);
}

static void on_close(virConnectPtr conn, int reason, void *opaque) {
        post_event(opaque, HDHA_HV_EVENT_DISCONNECTED, NULL, NULL,
                   detail_string(close_reason, ELEMENTSOF(close_reason), reason));
}

static const struct {
        int id;
        virConnectDomainEventGenericCallback cb;
} domain_callbacks[N_DOMAIN_CALLBACKS] = {
        { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle) },
        { VIR_DOMAIN_EVENT_ID_WATCHDOG, VIR_DOMAIN_EVENT_CALLBACK(on_watchdog) },
        /* Not IO_ERROR as well: libvirt sends both for one error. */
        { VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, VIR_DOMAIN_EVENT_CALLBACK(on_io_error) },
        { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removed) },
        { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removal_failed) },
};

/* ---- Connection: workers and loop ------------------------------------ */

static virConnectPtr conn_get(HvLibvirt *hv) {
        virConnectPtr c;

        pthread_mutex_lock(&hv->lock);
        c = hv->conn;
        if (c && virConnectRef(c) < 0)
                c = NULL;
        pthread_mutex_unlock(&hv->lock);
        return c;
}

static void conn_set(HvLibvirt *hv, virConnectPtr c) {
        pthread_mutex_lock(&hv->lock);
        hv->conn = c;
        pthread_mutex_unlock(&hv->lock);
}

/* Blocking: a worker, or free(). */
static void conn_close(void *data) {
        LvConn *c = data;

        if (!c->conn)
                return;
        for (size_t i = 0; i < N_DOMAIN_CALLBACKS; i++)
                if (c->callback_ids[i] >= 0) {
                        (void) virConnectDomainEventDeregisterAny(c->conn, c->callback_ids[i]);
                        c->callback_ids[i] = -1;
                }
        if (c->close_registered)
                (void) virConnectUnregisterCloseCallback(c->conn, on_close);
        c->close_registered = false;
        (void) virConnectClose(c->conn);
        c->conn = NULL;
}

static void connect_work(void *data) {
        LvConn *c = data;

        c->conn = virConnectOpen(c->hv->uri);
        if (!c->conn)
                goto fail;
        /* 1: the server does not do keepalive; and a driver without a
         * server (test:///) has none to keep alive: fine either way. */
        if (virConnectSetKeepAlive(c->conn, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT) < 0 &&
            virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
                goto fail;
        if (virConnectRegisterCloseCallback(c->conn, on_close, c, NULL) < 0)
                goto fail;
        c->close_registered = true;
        for (size_t i = 0; i < N_DOMAIN_CALLBACKS; i++) {
                c->callback_ids[i] = virConnectDomainEventRegisterAny(c->conn, NULL, domain_callbacks[i].id,
                                                                      domain_callbacks[i].cb, c, NULL);
                if (c->callback_ids[i] < 0)
                        goto fail;
        }
        c->r = 0;
        return;

fail:
        c->r = hdha_libvirt_last_error(&c->message);
        conn_close(c);
}

static void emit(HvLibvirt *hv, HdhaHvEventKind kind, const char *domain, const char *alias,
                 const char *reason) {
        HdhaHvEvent e = { .kind = kind, .domain = domain, .alias = alias, .reason = reason };

        hdha_hypervisor_emit(&hv->public, &e);
}

static void held_drop(HvLibvirt *hv) {
        while (hv->held_head) {
                LvEvent *ev = hv->held_head;

                hv->held_head = ev->next;
                ev->held = false;
                event_free(ev);
        }
        hv->held_tail = NULL;
}

static void connect_done(void *data);

static int connect_start(HvLibvirt *hv) {
        LvConn *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->hv = hv;
        for (size_t i = 0; i < N_DOMAIN_CALLBACKS; i++)
                c->callback_ids[i] = -1;

        r = hdha_job_queue_submit(hv->queue, connect_work, connect_done, NULL, c);
        if (r < 0) {
                free(c);
                return r;
        }
        c->next = hv->all;
        hv->all = c;
        hv->connecting = c;
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        HvLibvirt *hv = userdata;
        int r;

        r = connect_start(hv);
        if (r < 0)
                log_error_errno(r, "Failed to start connecting to libvirt at '%s', giving up: %m",
                                hv->uri ?: "default");
        return 0;
}

/* Arms the retry timer with the current backoff, then doubles it. */
static void connect_retry_later(HvLibvirt *hv) {
        int r;

        if (hv->retry) {
                r = sd_event_source_set_time_relative(hv->retry, hv->backoff);
                if (r >= 0)
                        r = sd_event_source_set_enabled(hv->retry, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(hv->event, &hv->retry, CLOCK_MONOTONIC, hv->backoff, 0,
                                               on_retry, hv);
        if (r < 0)
                log_error_errno(r, "Failed to arm the libvirt reconnect timer, not reconnecting: %m");

        hv->backoff = hv->backoff * 2 > BACKOFF_MAX_USEC ? BACKOFF_MAX_USEC : hv->backoff * 2;
}

static void connect_done(void *data) {
        LvConn *c = data;
        HvLibvirt *hv = c->hv;

        hv->connecting = NULL;

        if (c->r >= 0 && c->lost) {
                c->r = -ECONNRESET;
                free(c->message);
                c->message = strdup("connection closed while setting it up");
                if (hdha_job_queue_submit(hv->queue, conn_close, NULL, NULL, c) < 0)
                        log_debug("Cannot close the lost libvirt connection now, at exit then.");
        }

        if (c->r < 0) {
                if (!hv->failing)
                        log_warning_errno(c->r, "Failed to connect to libvirt at '%s': %s; retrying in the background.",
                                          hv->uri ?: "default", c->message ?: "out of memory");
                else
                        log_debug_errno(c->r, "Failed to connect to libvirt at '%s': %s",
                                        hv->uri ?: "default", c->message ?: "out of memory");
                hv->failing = true;
                held_drop(hv);
                connect_retry_later(hv);
                return;
        }

        if (hv->failing)
                log_info("Connected to libvirt at '%s' again.", hv->uri ?: "default");
        else
                log_info("Connected to libvirt at '%s'.", hv->uri ?: "default");
        hv->failing = false;
        hv->backoff = BACKOFF_MIN_USEC;
        hv->current = c;
        conn_set(hv, c->conn);
        emit(hv, HDHA_HV_EVENT_CONNECTED, NULL, NULL, NULL);

        /* The events that came in while the callbacks were being registered. */
        while (hv->held_head && hv->current == c) {
                LvEvent *ev = hv->held_head;

                hv->held_head = ev->next;
                if (!hv->held_head)
                        hv->held_tail = NULL;
                emit(hv, ev->kind, ev->domain, ev->alias, ev->reason);
                ev->held = false;
                event_free(ev);
        }
}

static void conn_lost(HvLibvirt *hv, LvConn *c, const char *reason) {
        if (c == hv->connecting) {
                c->lost = true;
                return;
        }
        if (c != hv->current)
                return;

        log_warning("Lost the connection to libvirt at '%s' (%s), reconnecting.", hv->uri ?: "default", reason);
        conn_set(hv, NULL);
        hv->current = NULL;
        /* Closing even a dead connection talks to the socket: not on the loop. */
        if (hdha_job_queue_submit(hv->queue, conn_close, NULL, NULL, c) < 0)
                log_debug("Cannot close the lost libvirt connection now, at exit then.");

        emit(hv, HDHA_HV_EVENT_DISCONNECTED, NULL, NULL, reason);
        hv->backoff = BACKOFF_MIN_USEC;
        connect_retry_later(hv);
}

static void event_dispatch(void *data) {
        LvEvent *ev = data;
        HvLibvirt *hv = ev->c->hv;

        if (ev->kind == HDHA_HV_EVENT_DISCONNECTED) {
                conn_lost(hv, ev->c, ev->reason);
                return;
        }
        if (ev->c == hv->connecting) {
                ev->held = true;
                ev->next = NULL;
                if (hv->held_tail)
                        hv->held_tail->next = ev;
                else
                        hv->held_head = ev;
                hv->held_tail = ev;
                return;
        }
        if (ev->c != hv->current)
                return; /* from a connection that is gone */

        emit(hv, ev->kind, ev->domain, ev->alias, ev->reason);
}

HdhaJobQueue *hdha_hv_libvirt_queue(HvLibvirt *hv) {
        return hv->queue;
}

virConnectPtr hdha_hv_libvirt_conn_ref(HvLibvirt *hv) {
        return conn_get(hv);
}

/* ---- Life cycle ------------------------------------------------------- */

static HdhaHypervisor *hv_free(HdhaHypervisor *p) {
        HvLibvirt *hv = (HvLibvirt *) p;

        if (!hv)
                return NULL;

        hv->retry = sd_event_source_disable_unref(hv->retry);
        /* Running jobs finish, queued ones are cancelled: no completion is
         * called from here on. */
        hdha_job_queue_stop_workers(hv->queue);
        conn_set(hv, NULL);
        for (LvConn *c = hv->all; c; c = c->next)
                conn_close(c);
        /* No callback can run any more: nothing posts to the queue. */
        if (hv->event_thread)
                hdha_libvirt_event_thread_unref();
        hv->queue = hdha_job_queue_free(hv->queue);
        held_drop(hv);
        while (hv->all) {
                LvConn *c = hv->all;

                hv->all = c->next;
                free(c->message);
                free(c);
        }
        free(hv->uri);
        sd_event_unref(hv->event);
        pthread_mutex_destroy(&hv->lock);
        free(hv);
        return NULL;
}

static const HdhaHypervisorOps libvirt_ops = {
        .name = "libvirt",
        .free = hv_free,
        .attach = hdha_hv_libvirt_attach,
        .detach = hdha_hv_libvirt_detach,
        .destroy = hdha_hv_libvirt_destroy,
        .start = hdha_hv_libvirt_start,
        .set_vcpu_quota = hdha_hv_libvirt_set_vcpu_quota,
        .inspect = hdha_hv_libvirt_inspect,
        .guest_channel = hdha_hv_libvirt_guest_channel,
        .bind_vfio = hdha_hv_libvirt_bind_vfio,
};

int hdha_hypervisor_libvirt_new(sd_event *event, const char *uri, HdhaHypervisor **ret) {
        HvLibvirt *hv;
        int r;

        if (!event || !ret)
                return -EINVAL;

        r = hdha_libvirt_init();
        if (r < 0)
                return r;

        hv = calloc(1, sizeof(*hv));
        if (!hv)
                return -ENOMEM;
        pthread_mutex_init(&hv->lock, NULL);
        hv->public.ops = &libvirt_ops;
        hv->event = sd_event_ref(event);
        hv->backoff = BACKOFF_MIN_USEC;
        if (uri) {
                hv->uri = strdup(uri);
                if (!hv->uri) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        r = hdha_job_queue_new(event, N_WORKERS, &hv->queue);
        if (r < 0)
                goto fail;
        r = hdha_libvirt_event_thread_ref();
        if (r < 0)
                goto fail;
        hv->event_thread = true;

        r = connect_start(hv);
        if (r < 0)
                goto fail;

        *ret = &hv->public;
        return 0;

fail:
        hv_free(&hv->public);
        return r;
}
