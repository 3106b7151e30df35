/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One object per group, /org/hostdevha/Manager1/group/NAME (escaped), with
 * the interface org.hostdevha.Group1: a fallback vtable, its object finder
 * and node enumerator, and PropertiesChanged for what changed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "log.h"

const char *bus_operation_string(HdhaOperation o) {
        return o == HDHA_OPERATION_NONE ? "" : strna(hdha_operation_to_string(o));
}

const char *bus_step_string(HdhaStep s) {
        return s == HDHA_STEP_NONE ? "" : strna(hdha_step_to_string(s));
}

/* Device= as "0000:03:00.0", or the DeviceXML= path. */
int bus_group_device(const HdhaGroupConfig *c, char **ret) {
        char *s;

        if (c->device_kind == HDHA_DEVICE_PCI) {
                if (asprintf(&s, "%04x:%02x:%02x.%x", c->pci.domain, c->pci.bus, c->pci.slot, c->pci.function) < 0)
                        return -ENOMEM;
        } else {
                s = strdup(c->device_xml_path ?: "");
                if (!s)
                        return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static const char *member_role(const HdhaGroupStatus *s, const char *domain) {
        const HdhaTableMember *mem = hdha_table_group_get_member(s->table, domain);

        return mem ? strna(hdha_role_to_string(mem->role)) : "";
}

int bus_append_members(sd_bus_message *reply, const HdhaGroupStatus *s) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->config->n_domains; i++) {
                r = sd_bus_message_append(reply, "(ss)", s->config->domains[i],
                                          member_role(s, s->config->domains[i]));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* The group of an object path, as the manager has it now. */
static int group_from_path(HdhaBus *b, const char *path, HdhaGroupStatus *ret, sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = hdha_bus_group_from_path(path, &name);
        if (r < 0)
                return r;
        if (r == 0 || !b->manager || hdha_manager_find_group(b->manager, name, ret) < 0 || !ret->table)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NO_SUCH_GROUP, "No group at '%s'", path);
        return 0;
}

int bus_group_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                   sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        HdhaBus *b = userdata;
        HdhaGroupStatus s;
        int r;

        r = hdha_bus_group_from_path(path, &name);
        if (r <= 0)
                return r;
        if (!b->manager || hdha_manager_find_group(b->manager, name, &s) < 0 || !s.table)
                return 0;
        /* Getters and methods look the group up again from the path: a group
         * may go away on reload while a reference to it would be kept. */
        *ret_found = b;
        return 1;
}

int bus_group_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        HdhaBus *b = userdata;
        size_t n = b->manager ? hdha_manager_n_groups(b->manager) : 0, k = 0;
        HdhaGroupStatus s;
        char **nodes;
        int r;

        nodes = calloc(n + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        for (size_t i = 0; i < n && hdha_manager_group_status(b->manager, i, &s) >= 0; i++) {
                r = hdha_bus_group_path(s.name, &nodes[k]);
                if (r < 0) {
                        for (size_t j = 0; j < k; j++)
                                free(nodes[j]);
                        free(nodes);
                        return r;
                }
                k++;
        }
        *ret_nodes = nodes;
        return 0;
}

/* --- Properties ---------------------------------------------------------------- */

#define GROUP_GETTER(fname, body)                                                                         \
        static int fname(sd_bus *bus, const char *path, const char *interface, const char *property,     \
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {                   \
                HdhaGroupStatus s;                                                                        \
                int r;                                                                                    \
                                                                                                          \
                r = group_from_path(userdata, path, &s, error);                                          \
                if (r < 0)                                                                                \
                        return r;                                                                         \
                body                                                                                      \
        }

GROUP_GETTER(property_get_name, return sd_bus_message_append(reply, "s", s.name);)
GROUP_GETTER(property_get_device, {
        _cleanup_free_ char *d = NULL;

        r = bus_group_device(s.config, &d);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "s", d);
})
GROUP_GETTER(property_get_active, return sd_bus_message_append(reply, "s", s.table->active ?: "");)
GROUP_GETTER(property_get_generation, return sd_bus_message_append(reply, "t", s.table->generation);)
GROUP_GETTER(property_get_operation,
             return sd_bus_message_append(reply, "s", bus_operation_string(s.table->operation));)
GROUP_GETTER(property_get_step, return sd_bus_message_append(reply, "s", bus_step_string(s.table->step));)
GROUP_GETTER(property_get_members, return bus_append_members(reply, &s);)
GROUP_GETTER(property_get_policy, return sd_bus_message_append(reply, "s", hdha_policy_to_string(s.config->policy));)
GROUP_GETTER(property_get_frozen, return sd_bus_message_append(reply, "b", s.frozen);)
GROUP_GETTER(property_get_busy, return sd_bus_message_append(reply, "b", s.busy);)

static int property_get_guest_channels(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        HdhaBus *b = userdata;
        HdhaGroupStatus s;
        int r;

        r = group_from_path(b, path, &s, error);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sbt)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < s.config->n_domains; i++) {
                bool connected = false;
                uint64_t age = UINT64_MAX;

                if (!b->env.guest_state ||
                    b->env.guest_state(b->env.userdata, s.config->domains[i], &connected, &age) < 0) {
                        connected = false;
                        age = UINT64_MAX;
                }
                r = sd_bus_message_append(reply, "(sbt)", s.config->domains[i], connected, age);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* --- Methods ------------------------------------------------------------------------ */

/* The group name of the object the call is for; frees with the message. */
static int method_group_name(sd_bus_message *m, char **ret, sd_bus_error *error) {
        int r;

        r = hdha_bus_group_from_path(sd_bus_message_get_path(m), ret);
        if (r < 0)
                return r;
        if (r == 0)
                return sd_bus_error_setf(error, HDHA_BUS_ERROR_NO_SUCH_GROUP, "No group at '%s'",
                                         sd_bus_message_get_path(m));
        return 0;
}

static int method_group_op(sd_bus_message *m, void *userdata, BusOp op, sd_bus_error *error) {
        _cleanup_free_ char *group = NULL;
        int r;

        r = method_group_name(m, &group, error);
        if (r < 0)
                return r;
        return bus_method_operation(m, userdata, op, group, error);
}

static int method_switch(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_group_op(m, userdata, BUS_OP_SWITCH, error);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_group_op(m, userdata, BUS_OP_RELEASE, error);
}

static int method_freeze(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_group_op(m, userdata, BUS_OP_FREEZE, error);
}

static int method_thaw(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_group_op(m, userdata, BUS_OP_THAW, error);
}

const sd_bus_vtable bus_group_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Device", "s", property_get_device, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Active", "s", property_get_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Generation", "t", property_get_generation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Operation", "s", property_get_operation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Step", "s", property_get_step, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Members", "a(ss)", property_get_members, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Policy", "s", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Frozen", "b", property_get_frozen, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Busy", "b", property_get_busy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("GuestChannels", "a(sbt)", property_get_guest_channels, 0, 0),
        SD_BUS_METHOD_WITH_NAMES("Switch", "sb", SD_BUS_PARAM(domain) SD_BUS_PARAM(force), NULL, , method_switch,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Release", NULL, NULL, method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Freeze", NULL, NULL, method_freeze, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Thaw", NULL, NULL, method_thaw, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* --- PropertiesChanged ------------------------------------------------------------------ */

static void state_done(BusGroupState *st) {
        free(st->name);
        free(st->device);
        free(st->active);
        free(st->members);
        *st = (BusGroupState) {};
}

static int state_build(const HdhaGroupStatus *s, BusGroupState *ret) {
        _cleanup_free_ char *members = NULL;
        size_t size = 0;
        BusGroupState st = {
                .generation = s->table->generation,
                .operation = s->table->operation,
                .step = s->table->step,
                .policy = s->config->policy,
                .frozen = s->frozen,
                .busy = s->busy,
        };
        FILE *f;
        int r;

        f = open_memstream(&members, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < s->config->n_domains; i++)
                fprintf(f, "%s=%s ", s->config->domains[i], member_role(s, s->config->domains[i]));
        if (fclose(f) != 0)
                return -ENOMEM;

        st.name = strdup(s->name);
        st.active = s->table->active ? strdup(s->table->active) : NULL;
        r = bus_group_device(s->config, &st.device);
        if (r < 0 || !st.name || (s->table->active && !st.active)) {
                state_done(&st);
                return -ENOMEM;
        }
        st.members = TAKE_PTR(members);
        *ret = st;
        return 0;
}

static BusGroupState *state_find(HdhaBus *b, const char *name) {
        for (size_t i = 0; i < b->n_states; i++)
                if (streq(b->states[i].name, name))
                        return &b->states[i];
        return NULL;
}

static int state_add(HdhaBus *b, const HdhaGroupStatus *s) {
        BusGroupState *a;
        int r;

        a = realloc(b->states, (b->n_states + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        b->states = a;
        r = state_build(s, &b->states[b->n_states]);
        if (r < 0)
                return r;
        b->n_states++;
        return 0;
}

int bus_group_states_init(HdhaBus *b) {
        HdhaGroupStatus s;
        int r;

        bus_group_states_free(b);
        if (!b->manager)
                return 0;
        b->connected = hdha_manager_is_connected(b->manager);
        for (size_t i = 0; hdha_manager_group_status(b->manager, i, &s) >= 0; i++) {
                if (!s.table)
                        continue;
                r = state_add(b, &s);
                if (r < 0)
                        return r;
        }
        return 0;
}

void bus_group_states_free(HdhaBus *b) {
        for (size_t i = 0; i < b->n_states; i++)
                state_done(&b->states[i]);
        b->states = mfree(b->states);
        b->n_states = 0;
}

static void emit_group(HdhaBus *b, const char *name, char **names) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!b->bus) /* reconnecting: clients read afresh once it is back */
                return;
        r = hdha_bus_group_path(name, &path);
        if (r >= 0)
                r = sd_bus_emit_properties_changed_strv(b->bus, path, HDHA_BUS_GROUP_INTERFACE, names);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged for group '%s', ignoring: %m", name);
}

void bus_group_emit_changes(HdhaBus *b, const char *group) {
        const char *names[16];
        BusGroupState *old, st;
        HdhaGroupStatus s;
        size_t n = 0;

        if (hdha_manager_find_group(b->manager, group, &s) < 0 || !s.table)
                return; /* gone: hdha_bus_groups_changed() tells */
        old = state_find(b, group);
        if (!old)
                return bus_groups_emit_added_removed(b);
        if (state_build(&s, &st) < 0) {
                log_oom();
                return;
        }

        if (!streq(old->device, st.device))
                names[n++] = "Device";
        if (!streq_ptr(old->active, st.active))
                names[n++] = "Active";
        if (old->generation != st.generation)
                names[n++] = "Generation";
        if (old->operation != st.operation)
                names[n++] = "Operation";
        if (old->step != st.step)
                names[n++] = "Step";
        if (!streq(old->members, st.members))
                names[n++] = "Members";
        if (old->policy != st.policy)
                names[n++] = "Policy";
        if (old->frozen != st.frozen)
                names[n++] = "Frozen";
        if (old->busy != st.busy)
                names[n++] = "Busy";
        names[n] = NULL;

        state_done(old);
        *old = st;
        if (n > 0)
                emit_group(b, group, (char **) names);
}

void bus_groups_emit_added_removed(HdhaBus *b) {
        HdhaGroupStatus s;
        bool changed = false;
        int r;

        /* Gone. */
        for (size_t i = b->n_states; i > 0; i--) {
                BusGroupState *st = &b->states[i - 1];
                _cleanup_free_ char *path = NULL;

                if (hdha_manager_find_group(b->manager, st->name, &s) >= 0 && s.table)
                        continue;
                r = hdha_bus_group_path(st->name, &path);
                if (r >= 0 && b->bus)
                        r = sd_bus_emit_interfaces_removed(b->bus, path, HDHA_BUS_GROUP_INTERFACE, NULL);
                if (r < 0)
                        log_warning_errno(r, "Failed to emit InterfacesRemoved for group '%s', ignoring: %m",
                                          st->name);
                state_done(st);
                memmove(st, st + 1, (b->n_states - i) * sizeof(*st));
                b->n_states--;
                changed = true;
        }

        /* New, or changed. */
        for (size_t i = 0; hdha_manager_group_status(b->manager, i, &s) >= 0; i++) {
                _cleanup_free_ char *path = NULL;

                if (!s.table)
                        continue;
                if (state_find(b, s.name)) {
                        bus_group_emit_changes(b, s.name);
                        continue;
                }
                r = state_add(b, &s);
                if (r < 0) {
                        log_oom();
                        continue;
                }
                r = hdha_bus_group_path(s.name, &path);
                if (r >= 0 && b->bus)
                        r = sd_bus_emit_interfaces_added(b->bus, path, HDHA_BUS_GROUP_INTERFACE, NULL);
                if (r < 0)
                        log_warning_errno(r, "Failed to emit InterfacesAdded for group '%s', ignoring: %m", s.name);
                changed = true;
        }

        if (changed && b->bus) {
                r = sd_bus_emit_properties_changed(b->bus, HDHA_BUS_PATH, HDHA_BUS_MANAGER_INTERFACE, "Groups", NULL);
                if (r < 0)
                        log_warning_errno(r, "Failed to emit PropertiesChanged for Groups, ignoring: %m");
        }
}
