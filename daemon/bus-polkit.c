/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorization by polkit, the way systemd's daemons ask it: a changing call
 * from a caller who is neither root nor in AdminGroup= is held while
 * polkit's CheckAuthorization runs asynchronously; its answer is kept and
 * the call is dispatched again (sd_bus_enqueue_for_read()), which finds the
 * answer and goes on or is refused. The loop never waits for polkit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "log.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorization's flags: AllowUserInteraction. */
#define POLKIT_ALLOW_USER_INTERACTION 1U

/* Calls held for polkit at most; more are refused at once. */
#define BUS_POLKIT_QUERIES_MAX 64U

struct BusPolkitQuery {
        HdhaBus *bus;
        sd_bus_message *request; /* the held call, dispatched again on the answer */
        sd_bus_slot *slot;       /* the CheckAuthorization call in flight */
        bool done;
        int result; /* once done: 1 authorized, -EACCES refused, -EOPNOTSUPP no polkit */
        bool challenge; /* refused, but polkit would authorize after an authentication */
        BusPolkitQuery *next;
};

static BusPolkitQuery *polkit_query_free(BusPolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        return mfree(q);
}

static inline void polkit_query_freep(BusPolkitQuery **q) {
        polkit_query_free(*q);
}

static void polkit_query_unlink(HdhaBus *b, BusPolkitQuery *q) {
        for (BusPolkitQuery **p = &b->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        b->n_polkit_queries--;
                        return;
                }
}

static int polkit_on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusPolkitQuery *q = userdata;
        int authorized = false, challenge = false, r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->done = true;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                /* No polkit on this bus (or the bus will not let us ask it):
                 * the caller is refused as without polkit. */
                log_debug("polkit cannot be asked (%s: %s); refusing as without polkit.", e->name,
                          strna(e->message));
                q->result = -EOPNOTSUPP;
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        log_warning_errno(r, "Failed to read polkit's answer, refusing: %m");
                        authorized = false;
                }
                q->result = authorized ? 1 : -EACCES;
                q->challenge = !authorized && challenge;
        }

        /* The held call again, from the start: its handler finds the answer. */
        r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_warning_errno(r, "Failed to dispatch a call again after polkit's answer: %m");
                (void) sd_bus_reply_method_errorf(q->request, HDHA_BUS_ERROR_ACCESS_DENIED,
                                                  "Cannot tell whether polkit allows the change");
                polkit_query_unlink(q->bus, q);
                polkit_query_free(q);
        }
        return 0;
}

static int polkit_query_start(HdhaBus *b, sd_bus_message *m, const char *action) {
        _cleanup_(polkit_query_freep) BusPolkitQuery *q = NULL;
        const char *sender = sd_bus_message_get_sender(m);
        uint32_t flags = 0;
        int r;

        if (!sender || !b->bus)
                return -EOPNOTSUPP; /* a direct connection: no bus name polkit could look up */
        if (b->n_polkit_queries >= BUS_POLKIT_QUERIES_MAX)
                return -EBUSY;
        if (sd_bus_message_get_allow_interactive_authorization(m) > 0)
                flags |= POLKIT_ALLOW_USER_INTERACTION;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->bus = b;
        q->request = sd_bus_message_ref(m);
        r = sd_bus_call_method_async(b->bus, &q->slot, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                                     "CheckAuthorization", polkit_on_reply, q, "(sa{sv})sa{ss}us",
                                     "system-bus-name", (size_t) 1, "name", "s", sender, action, (size_t) 0, flags,
                                     "");
        if (r < 0)
                return r;
        log_info("Asking polkit whether '%s' may %s; the call waits for its answer.", sender, action);
        q->next = b->polkit_queries;
        b->polkit_queries = TAKE_PTR(q);
        b->n_polkit_queries++;
        return 0;
}

int bus_verify_polkit_async(HdhaBus *b, sd_bus_message *m, const char *action, bool *ret_challenge) {
        BusPolkitQuery *q;
        int r;

        for (q = b->polkit_queries; q; q = q->next)
                if (q->request == m)
                        break;
        if (q && !q->done)
                return 0; /* still waiting (not dispatched again before the answer) */
        if (q) {
                r = q->result;
                if (ret_challenge)
                        *ret_challenge = q->challenge;
                polkit_query_unlink(b, q);
                polkit_query_free(q);
                return r;
        }

        r = polkit_query_start(b, m, action);
        if (r < 0) {
                if (r != -EOPNOTSUPP)
                        log_warning_errno(r, "Failed to ask polkit, refusing: %m");
                if (ret_challenge)
                        *ret_challenge = false;
                return r == -EOPNOTSUPP ? r : -EACCES;
        }
        return 0;
}

void bus_polkit_queries_free(HdhaBus *b) {
        while (b->polkit_queries) {
                BusPolkitQuery *q = b->polkit_queries;

                b->polkit_queries = q->next;
                polkit_query_free(q);
        }
        b->n_polkit_queries = 0;
}
