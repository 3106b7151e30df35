/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager object /org/hostdevha/Manager1: its vtable and handlers, and
 * the connection's life. The group objects are in bus-group.c, the changing
 * calls (authorization, waiting for the operation) in bus-operation.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "log.h"

/* --- Manager1 methods ------------------------------------------------------------ */

static int method_list_groups(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        HdhaBus *b = userdata;
        HdhaGroupStatus s;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        for (size_t i = 0; hdha_manager_group_status(b->manager, i, &s) >= 0; i++) {
                _cleanup_free_ char *path = NULL;

                r = hdha_bus_group_path(s.name, &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(so)", s.name, path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_group(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        HdhaBus *b = userdata;
        HdhaGroupStatus s;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = bus_group_name_check(name, error);
        if (r < 0)
                return r;
        if (hdha_manager_find_group(b->manager, name, &s) < 0)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NO_SUCH_GROUP, "No group '%s'", name);
        r = hdha_bus_group_path(name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", path);
}

/* GetStatus() -> b connected, a(ssstssa(ss)sbb) groups: name, device, active,
 * generation, operation, step, members (domain, role), policy, frozen, busy. */
static int method_get_status(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        HdhaBus *b = userdata;
        HdhaGroupStatus s;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "b", hdha_manager_is_connected(b->manager));
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssstssa(ss)sbb)");
        if (r < 0)
                return r;
        for (size_t i = 0; hdha_manager_group_status(b->manager, i, &s) >= 0; i++) {
                _cleanup_free_ char *device = NULL;

                r = bus_group_device(s.config, &device);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(reply, 'r', "ssstssa(ss)sbb");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "ssstss", s.name, device, s.table->active ?: "",
                                          s.table->generation, bus_operation_string(s.table->operation),
                                          bus_step_string(s.table->step));
                if (r < 0)
                        return r;
                r = bus_append_members(reply, &s);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "sbb", hdha_policy_to_string(s.config->policy), s.frozen, s.busy);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_cluster_view(HdhaBus *b, HdhaClusterView *ret) {
        _cleanup_(hdha_cluster_view_done) HdhaClusterView v = {};
        int r;

        if (!b->env.cluster_status)
                return -EOPNOTSUPP;
        r = b->env.cluster_status(b->env.userdata, &v);
        if (r < 0)
                return r;
        *ret = v;
        v = (HdhaClusterView) {};
        return 0;
}

/* GetClusterStatus() -> b connected, b quorate, s node, a(ssstssb) groups,
 * a(sssst) tokens: per (host, group) host, group, active, generation,
 * operation, step, frozen; per group its token's group, state, holder host,
 * holder domain, generation. "" for none. */
static int method_get_cluster_status(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(hdha_cluster_view_done) HdhaClusterView v = {};
        HdhaBus *b = userdata;
        int r;

        r = bus_cluster_view(b, &v);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "The cluster view is not available here");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot tell the cluster's state: %s", strerror(-r));

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "bbs", v.connected, v.quorate, v.node ?: "");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssstssb)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < v.n_groups; i++) {
                const HdhaClusterViewGroup *g = &v.groups[i];

                r = sd_bus_message_append(reply, "(ssstssb)", g->host, g->group, g->active ?: "", g->generation,
                                          g->operation ?: "", g->step ?: "", g->frozen);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssst)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < v.n_tokens; i++) {
                const HdhaClusterViewToken *t = &v.tokens[i];

                r = sd_bus_message_append(reply, "(sssst)", t->group, t->state, t->holder_host ?: "",
                                          t->holder_domain ?: "", t->generation);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_switch(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_SWITCH, NULL, error);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_RELEASE, NULL, error);
}

static int method_freeze(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_FREEZE, NULL, error);
}

static int method_thaw(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_THAW, NULL, error);
}

static int method_activate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_ACTIVATE, NULL, error);
}

static int method_deactivate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_DEACTIVATE, NULL, error);
}

static int method_rebuild(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_REBUILD, NULL, error);
}

/* The resource agent's: PacemakerInstance(s group, u instance, s resource,
 * s node) -> s domain, s role, b holder, i score. */
static int method_pacemaker_instance(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *group, *resource, *node;
        HdhaBus *b = userdata;
        HdhaPcmkMember mem;
        uint32_t instance;
        uid_t uid;
        int r;

        r = sd_bus_message_read(m, "suss", &group, &instance, &resource, &node);
        if (r < 0)
                return r;
        r = bus_group_name_check(group, error);
        if (r < 0)
                return r;
        r = bus_verify_admin(b, m, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: held for polkit, dispatched again */
        r = hdha_manager_pacemaker_instance(b->manager, group, instance, resource, node, &mem);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NO_SUCH_GROUP, "No group '%s'", group);
        if (r == -ERANGE)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_INVALID_ARGUMENT,
                                         "Group '%s' has no member number %u (clone-max is larger than the "
                                         "number of its domains?)", group, instance);
        if (r == -EINVAL)
                return sd_bus_error_set(error, HDHA_BUS_ERROR_INVALID_ARGUMENT,
                                        "Invalid resource or node name: expected 1 to 255 bytes without a control character or '/'");
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "ssbi", mem.domain, hdha_role_to_string(mem.role), mem.holder,
                                          mem.score);
}

static int method_pacemaker_promote(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_operation(m, userdata, BUS_OP_PROMOTE, NULL, error);
}

/* Replies once the configuration is applied: at once, or when the last
 * busy group went idle. */
static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *message = NULL, *what = NULL;
        HdhaBus *b = userdata;
        BusCall *c;
        uid_t uid;
        int r;

        r = bus_verify_admin(b, m, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: held for polkit, dispatched again */
        if (!b->env.reload)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Reloading is not supported here");
        log_info("Reload asked for over the bus by uid %u.", (unsigned) uid);

        what = strdup("reload");
        if (!what)
                return -ENOMEM;
        r = bus_call_new(b, m, TAKE_PTR(what), &c);
        if (r < 0)
                return r;
        r = b->env.reload(b->env.userdata, bus_call_done, c, &message);
        if (r == 1)
                return 1; /* c replies */
        bus_call_free(c);
        if (r < 0)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_BAD_CONFIGURATION,
                                         "The configuration was not reloaded: %s", message ?: strerror(-r));
        hdha_bus_groups_changed(b);
        return sd_bus_reply_method_return(m, NULL);
}

/* --- Manager1 properties ----------------------------------------------------------- */

static int property_get_connected(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        HdhaBus *b = userdata;

        return sd_bus_message_append(reply, "b", hdha_manager_is_connected(b->manager));
}

static int property_get_groups(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        HdhaBus *b = userdata;
        HdhaGroupStatus s;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (size_t i = 0; hdha_manager_group_status(b->manager, i, &s) >= 0; i++) {
                _cleanup_free_ char *p = NULL;

                r = hdha_bus_group_path(s.name, &p);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "o", p);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(HdhaBus, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Connected", "b", property_get_connected, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Groups", "ao", property_get_groups, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_NAMES("ListGroups", NULL, , "a(so)", SD_BUS_PARAM(groups), method_list_groups,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetGroup", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(path), method_get_group,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetStatus", NULL, , "ba(ssstssa(ss)sbb)",
                                 SD_BUS_PARAM(connected) SD_BUS_PARAM(groups), method_get_status,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetClusterStatus", NULL, , "bbsa(ssstssb)a(sssst)",
                                 SD_BUS_PARAM(connected) SD_BUS_PARAM(quorate) SD_BUS_PARAM(node)
                                         SD_BUS_PARAM(groups) SD_BUS_PARAM(tokens),
                                 method_get_cluster_status, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Switch", "ssb", SD_BUS_PARAM(group) SD_BUS_PARAM(domain) SD_BUS_PARAM(force), NULL, ,
                                 method_switch, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Release", "s", SD_BUS_PARAM(group), NULL, , method_release,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Activate", "s", SD_BUS_PARAM(domain), NULL, , method_activate,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Deactivate", "s", SD_BUS_PARAM(domain), NULL, , method_deactivate,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Rebuild", "s", SD_BUS_PARAM(domain), NULL, , method_rebuild,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Freeze", "s", SD_BUS_PARAM(group), NULL, , method_freeze,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Thaw", "s", SD_BUS_PARAM(group), NULL, , method_thaw, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("PacemakerInstance", "suss",
                                 SD_BUS_PARAM(group) SD_BUS_PARAM(instance) SD_BUS_PARAM(resource) SD_BUS_PARAM(node),
                                 "ssbi", SD_BUS_PARAM(domain) SD_BUS_PARAM(role) SD_BUS_PARAM(holder) SD_BUS_PARAM(score),
                                 method_pacemaker_instance, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("PacemakerPromote", "ss", SD_BUS_PARAM(group) SD_BUS_PARAM(domain), NULL, ,
                                 method_pacemaker_promote, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("ConnectionChanged", "ssst",
                                 SD_BUS_PARAM(group) SD_BUS_PARAM(old_holder) SD_BUS_PARAM(new_holder)
                                         SD_BUS_PARAM(generation), 0),
        SD_BUS_SIGNAL_WITH_NAMES("MemberFailed", "sss", SD_BUS_PARAM(group) SD_BUS_PARAM(domain) SD_BUS_PARAM(reason),
                                 0),
        SD_BUS_SIGNAL_WITH_NAMES("GuestRequest", "sssbs",
                                 SD_BUS_PARAM(group) SD_BUS_PARAM(domain) SD_BUS_PARAM(request)
                                 SD_BUS_PARAM(accepted) SD_BUS_PARAM(reason), 0),
        SD_BUS_VTABLE_END,
};

/* --- The connection ------------------------------------------------------------------ */

/* The loop is exiting: answer the calls still waiting while the connection
 * is open (sd-bus flushes and closes it in its own exit source, after this
 * one). The calls stay known until their operation ends or the bus goes. */
static int bus_on_exit(sd_event_source *s, void *userdata) {
        bus_calls_interrupt(userdata);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error);

static uint64_t monotonic_usec(HdhaBus *b) {
        uint64_t t = 0;

        (void) sd_event_now(b->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* A connection with every object on it, attached to the loop; the name
 * requested too if it was before. */
static int bus_connect(HdhaBus *b) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_description(bus, "hostdev-had");

        r = sd_bus_add_object_vtable(bus, NULL, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, manager_vtable, b);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, HDHA_BUS_GROUP_PREFIX, HDHA_BUS_GROUP_INTERFACE, bus_group_vtable,
                                       bus_group_find, b);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, HDHA_BUS_GROUP_PREFIX, bus_group_enumerate, b);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(bus, NULL, HDHA_BUS_PATH);
        if (r < 0)
                return r;
        /* sd-bus says a closed connection with this local signal. */
        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, b);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        if (b->name_wanted) {
                r = sd_bus_request_name(bus, HDHA_BUS_NAME, 0);
                if (r < 0)
                        return r;
        }
        b->bus = TAKE_PTR(bus);
        return 0;
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        HdhaBus *b = userdata;
        int r;

        b->reconnect_timer = sd_event_source_disable_unref(b->reconnect_timer);
        r = bus_connect(b);
        if (r < 0) {
                log_debug_errno(r, "The system bus is still away: %m; trying again in %" PRIu64 " ms.",
                                b->reconnect_usec / 1000U);
                r = sd_event_add_time_relative(b->event, &b->reconnect_timer, CLOCK_MONOTONIC, b->reconnect_usec, 0,
                                               on_reconnect, b);
                if (r < 0)
                        log_error_errno(r, "Failed to schedule reconnecting to the system bus: %m");
                b->reconnect_usec = MIN(b->reconnect_usec * 2, (uint64_t) HDHA_BUS_RECONNECT_MAX_USEC);
                return 0;
        }
        log_info("Connected to the system bus again after %" PRIu64 " ms%s.", (monotonic_usec(b) - b->lost_at) / 1000U,
                 b->name_wanted ? ", " HDHA_BUS_NAME " is ours again" : "");
        b->lost_at = 0;
        if (b->env.bus_connected)
                b->env.bus_connected(b->env.userdata, true);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        HdhaBus *b = userdata;
        int r;

        log_warning("Lost the connection to the system bus (the bus daemon stopped or restarted); reconnecting. "
                    "Operations in flight go on; their callers get no reply.");
        b->lost_at = monotonic_usec(b);
        /* The calls waiting for their operation keep their messages, and
         * through them this connection, until the operation ends. */
        bus_polkit_queries_free(b);
        (void) sd_bus_detach_event(b->bus);
        b->bus = sd_bus_flush_close_unref(b->bus);
        b->reconnect_usec = HDHA_BUS_RECONNECT_FIRST_USEC;
        r = sd_event_add_time_relative(b->event, &b->reconnect_timer, CLOCK_MONOTONIC, b->reconnect_usec, 0,
                                       on_reconnect, b);
        if (r < 0)
                log_error_errno(r, "Failed to schedule reconnecting to the system bus: %m");
        b->reconnect_usec *= 2;
        if (b->env.bus_connected)
                b->env.bus_connected(b->env.userdata, false);
        return 0;
}

int hdha_bus_new(sd_event *event, HdhaManager *m, const HdhaBusEnv *env, HdhaBus **ret) {
        _cleanup_(hdha_bus_freep) HdhaBus *b = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->event = sd_event_ref(event);
        b->manager = m;
        b->env = *env;
        b->version = PACKAGE_VERSION;

        r = hdha_bus_error_register();
        if (r < 0)
                return r;
        r = bus_connect(b);
        if (r < 0)
                return r;
        r = sd_event_add_exit(event, &b->exit_source, bus_on_exit, b);
        if (r >= 0)
                r = sd_event_source_set_priority(b->exit_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;

        r = bus_group_states_init(b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

int hdha_bus_request_name(HdhaBus *b) {
        int r;

        b->name_wanted = true;
        if (!b->bus)
                return 0; /* asked for once the connection is back */
        r = sd_bus_request_name(b->bus, HDHA_BUS_NAME, 0);
        if (r < 0)
                return r;
        return 0;
}

bool hdha_bus_is_connected(const HdhaBus *b) {
        return b && b->bus;
}

uint64_t hdha_bus_lost_since(const HdhaBus *b) {
        return b ? b->lost_at : 0;
}

HdhaBus *hdha_bus_free(HdhaBus *b) {
        if (!b)
                return NULL;
        bus_calls_interrupt(b);
        bus_calls_free(b);
        bus_polkit_queries_free(b);
        sd_event_source_disable_unref(b->exit_source);
        sd_event_source_disable_unref(b->reconnect_timer);
        sd_bus_flush_close_unref(b->bus);
        bus_group_states_free(b);
        sd_event_unref(b->event);
        return mfree(b);
}

void hdha_bus_set_admin_gid(HdhaBus *b, bool set, gid_t gid) {
        b->admin_gid_set = set;
        b->admin_gid = gid;
}

void hdha_bus_connected_changed(HdhaBus *b) {
        bool c;
        int r;

        if (!b || !b->manager)
                return;
        c = hdha_manager_is_connected(b->manager);
        if (c == b->connected)
                return;
        b->connected = c;
        if (!b->bus)
                return;
        r = sd_bus_emit_properties_changed(b->bus, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "Connected", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged for Connected, ignoring: %m");
}

void hdha_bus_group_changed(HdhaBus *b, const char *group) {
        if (!b || !b->manager)
                return;
        hdha_bus_connected_changed(b);
        bus_group_emit_changes(b, group);
}

void hdha_bus_groups_changed(HdhaBus *b) {
        if (!b || !b->manager)
                return;
        hdha_bus_connected_changed(b);
        bus_groups_emit_added_removed(b);
}

void hdha_bus_connection_changed(HdhaBus *b, const char *group, const char *old_holder, const char *new_holder,
                                 uint64_t generation) {
        int r;

        if (!b || !b->bus)
                return;
        r = sd_bus_emit_signal(b->bus, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "ConnectionChanged", "ssst", group,
                               old_holder ?: "", new_holder ?: "", generation);
        if (r < 0)
                log_warning_errno(r, "Failed to emit ConnectionChanged for group '%s', ignoring: %m", group);
}

void hdha_bus_member_failed(HdhaBus *b, const char *group, const char *domain, const char *reason) {
        int r;

        if (!b || !b->bus)
                return;
        r = sd_bus_emit_signal(b->bus, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "MemberFailed", "sss", group,
                               domain, reason ?: "");
        if (r < 0)
                log_warning_errno(r, "Failed to emit MemberFailed for '%s' of group '%s', ignoring: %m", domain, group);
}

void hdha_bus_guest_request(HdhaBus *b, const char *group, const char *domain, const char *request, bool accepted,
                            const char *reason) {
        int r;

        if (!b || !b->bus)
                return;
        r = sd_bus_emit_signal(b->bus, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "GuestRequest", "sssbs", group,
                               domain, request, accepted, reason ?: "");
        if (r < 0)
                log_warning_errno(r, "Failed to emit GuestRequest for '%s' of group '%s', ignoring: %m", domain,
                                  group);
}
