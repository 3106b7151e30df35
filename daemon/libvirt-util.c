/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "libvirt-util.h"
#include "macro.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void quiet_error_handler(void *userdata, virErrorPtr error) {
        /* Errors are reported by whoever made the call, from virGetLastError(). */
}

static void init_once_fn(void) {
        if (virInitialize() < 0) {
                init_result = -EIO;
                return;
        }
        virSetErrorFunc(NULL, quiet_error_handler);
        if (virEventRegisterDefaultImpl() < 0) {
                init_result = -EIO;
                return;
        }
        xmlInitParser();
}

int hdha_libvirt_init(void) {
        (void) pthread_once(&init_once, init_once_fn);
        return init_result;
}

/* The event thread. libvirt has one default event implementation per
 * process, so there is one thread, shared by every connection. */
static pthread_t event_thread;
static unsigned event_thread_refs;
static atomic_bool event_thread_quit;

static void *event_thread_main(void *userdata) {
        while (!atomic_load(&event_thread_quit))
                if (virEventRunDefaultImpl() < 0)
                        break; /* Only fails on a broken poll(): nothing to retry. */
        return NULL;
}

static void wake_event_thread(int timer, void *userdata) {
}

int hdha_libvirt_event_thread_ref(void) {
        int r;

        if (event_thread_refs++ > 0)
                return 0;

        atomic_store(&event_thread_quit, false);
        r = -pthread_create(&event_thread, NULL, event_thread_main, NULL);
        if (r < 0)
                event_thread_refs = 0;
        return r;
}

void hdha_libvirt_event_thread_unref(void) {
        int timer;

        if (event_thread_refs == 0 || --event_thread_refs > 0)
                return;

        /* Set the flag, then add a timeout that is due at once: adding it
         * interrupts the thread's poll(), it runs one round, sees the flag. */
        atomic_store(&event_thread_quit, true);
        timer = virEventAddTimeout(0, wake_event_thread, NULL, NULL);
        pthread_join(event_thread, NULL);
        if (timer >= 0)
                (void) virEventRemoveTimeout(timer);
}

static int errno_from_libvirt(const virError *e) {
        switch (e->code) {
        case VIR_ERR_NO_DOMAIN:
                return -ENOENT;
        case VIR_ERR_DEVICE_MISSING:
                return -ENODEV;
        case VIR_ERR_CONFIG_UNSUPPORTED:
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
                return -EOPNOTSUPP;
        case VIR_ERR_XML_ERROR:
        case VIR_ERR_XML_DETAIL:
        case VIR_ERR_INVALID_ARG:
                return -EINVAL;
        case VIR_ERR_OPERATION_INVALID:
                return -EBUSY; /* wrong state for it: not running, already running, ... */
        case VIR_ERR_OPERATION_TIMEOUT:
        case VIR_ERR_AGENT_UNRESPONSIVE:
                return -ETIMEDOUT;
        case VIR_ERR_OPERATION_DENIED:
        case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_ACCESS_DENIED:
                return -EACCES;
        case VIR_ERR_NO_CONNECT:
        case VIR_ERR_INVALID_CONN:
                return -ENOTCONN;
        case VIR_ERR_RPC:
                return -ECONNRESET;
        case VIR_ERR_SYSTEM_ERROR:
                /* The connection broke under the call (VIR_FROM_RPC), or a
                 * system call failed in libvirtd. */
                if (e->domain == VIR_FROM_RPC || e->domain == VIR_FROM_REMOTE)
                        return -ECONNRESET;
                return -EIO;
        case VIR_ERR_NO_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

int hdha_libvirt_last_error(char **ret_message) {
        virErrorPtr e = virGetLastError();
        char *m;

        if (!e) {
                *ret_message = strdup("unknown libvirt error");
                return -EIO;
        }
        if (asprintf(&m, "%s (code %d)", e->message ?: "unknown libvirt error", e->code) < 0)
                m = NULL;
        *ret_message = m;
        return errno_from_libvirt(e);
}
