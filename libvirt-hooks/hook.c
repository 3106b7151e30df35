/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hook-match.h"
#include "hook.h"
#include "macro.h"
#include "table.h"

#define READ_CHUNK (64U * 1024U)

const char *hdha_hook_other_holder(const HdhaTableGroup *tg, const char *domain, bool *ret_moving) {
        if (!tg || !domain)
                return NULL;
        if (tg->active && !streq(tg->active, domain)) {
                *ret_moving = false;
                return tg->active;
        }
        if (tg->op_target && !streq(tg->op_target, domain)) {
                *ret_moving = true;
                return tg->op_target;
        }
        return NULL;
}

int hdha_hook_refusal_message(const char *group, const char *domain, const char *what, const char *holder,
                              bool moving, const char *operation, char **ret) {
        int r;

        if (!group || !domain || !what || !holder)
                return -EINVAL;

        if (moving)
                r = asprintf(ret,
                             "hostdev-ha: domain '%s' has device %s of group '%s' in its definition, "
                             "but a %s in flight is attaching the device to '%s'; start it without the "
                             "device (hostdevctl activate %s), or wait for the %s to end and switch the "
                             "device (hostdevctl switch %s %s)",
                             domain, what, group, strna(operation), holder, domain, strna(operation), group,
                             domain);
        else
                r = asprintf(ret,
                             "hostdev-ha: domain '%s' has device %s of group '%s' in its definition, "
                             "but the device is allocated to '%s'; start it without the device "
                             "(hostdevctl activate %s) or switch the device first (hostdevctl switch %s %s)",
                             domain, what, group, holder, domain, group, domain);
        return r < 0 ? -ENOMEM : 0;
}

/* Reads all of in, refusing more than max bytes; NUL-terminated. */
static int read_bounded(FILE *in, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                size_t n;

                if (allocated - size < READ_CHUNK + 1) {
                        char *b;

                        if (allocated > max + 1)
                                return -EFBIG;
                        b = realloc(buf, allocated + READ_CHUNK + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated += READ_CHUNK + 1;
                }
                n = fread(buf + size, 1, READ_CHUNK, in);
                size += n;
                if (size > max)
                        return -EFBIG;
                if (n < READ_CHUNK) {
                        if (ferror(in))
                                return -EIO;
                        break;
                }
        }

        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* One line: libvirt appends it to its error message. */
static char *one_line(char *s) {
        for (char *c = s; c && *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f)
                        *c = ' ';
        return s;
}

static HdhaHookVerdict config_problem(const char *config_dir, const char *name, const HdhaConfigErrors *errors,
                                      int error, char **ret_message) {
        _cleanup_free_ char *first = NULL;

        if (errors->n_errors > 0)
                (void) hdha_config_error_format(&errors->errors[0], &first);
        if (asprintf(ret_message,
                     "hostdev-ha: warning: the configuration in '%s' has problems (%s), domain '%s' not "
                     "checked; hostdev-had --check-config --config-dir=%s lists them",
                     config_dir, first ?: strerror(-error), name, config_dir) < 0)
                *ret_message = NULL;
        one_line(*ret_message);
        return HDHA_HOOK_ALLOW;
}

static HdhaHookVerdict refuse(char *message, char **ret_message) {
        *ret_message = one_line(message);
        /* Out of memory while explaining: still refuse, tersely. */
        if (!*ret_message)
                *ret_message = strdup("hostdev-ha: out of memory, refusing the start");
        return HDHA_HOOK_REFUSE;
}

HdhaHookVerdict hdha_hook_run(const char *config_dir, const char *name, const char *op, const char *subop,
                              FILE *in, char **ret_message) {
        _cleanup_(hdha_config_errors_done) HdhaConfigErrors errors = {};
        _cleanup_(hdha_config_freep) HdhaConfig *c = NULL;
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *table_path = NULL, *table_error = NULL, *xml = NULL, *what = NULL;
        const HdhaGroupConfig *g;
        const HdhaTableGroup *tg = NULL;
        const char *holder = NULL;
        bool moving = false;
        char *m = NULL;
        size_t size;
        int r;

        *ret_message = NULL;

        /* Cheap first: nothing is read for any other operation. */
        if (!name || !op || !subop || !streq(op, "prepare") || !streq(subop, "begin"))
                return HDHA_HOOK_ALLOW;

        r = hdha_config_load(config_dir, &c, &errors);
        if (r == -ENOENT)
                return HDHA_HOOK_ALLOW; /* hostdev-ha is not configured here */
        if (r < 0)
                return config_problem(config_dir, name, &errors, r, ret_message);

        g = hdha_config_find_domain(c, name);
        if (!g)
                return HDHA_HOOK_ALLOW;

        if (hdha_table_path(c->state_directory, &table_path) < 0)
                return refuse(NULL, ret_message);
        r = hdha_table_load_group(table_path, g->name, &t, &table_error);
        if (r >= 0) {
                tg = hdha_table_get_group(t, g->name);
                holder = hdha_hook_other_holder(tg, name, &moving);
                if (!holder)
                        return HDHA_HOOK_ALLOW;
        } else if (!table_error && asprintf(&table_error, "%s: %s", table_path, strerror(-r)) < 0)
                return refuse(NULL, ret_message);

        /* Someone else holds the device, or nobody can tell: does this
         * domain carry it? */
        r = read_bounded(in, HDHA_HOOK_DOMAIN_XML_MAX, &xml, &size);
        if (r >= 0)
                r = hdha_hook_find_device(g, xml, size, &what);
        if (r < 0) {
                if (asprintf(&m,
                             "hostdev-ha: cannot tell whether domain '%s' of group '%s' carries the "
                             "group's device: %s%s; refusing to start it",
                             name, g->name,
                             r == -EFBIG ? "its XML on stdin is too large" :
                             r == -EINVAL ? "its XML on stdin is not a well-formed <domain>" :
                             "cannot read its XML on stdin: ",
                             IN_SET(r, -EFBIG, -EINVAL) ? "" : strerror(-r)) < 0)
                        m = NULL;
                return refuse(m, ret_message);
        }
        if (r == 0)
                return HDHA_HOOK_ALLOW; /* a member without the device always starts */

        if (table_error) {
                if (asprintf(&m,
                             "hostdev-ha: domain '%s' has device %s of group '%s' in its definition, "
                             "but the allocation table cannot be read (%s); repair or remove that file, "
                             "or remove the device from the domain's definition",
                             name, what, g->name, table_error) < 0)
                        m = NULL;
                return refuse(m, ret_message);
        }

        r = hdha_hook_refusal_message(g->name, name, what, holder, moving,
                                      hdha_operation_to_string(tg->operation), &m);
        return refuse(r < 0 ? NULL : m, ret_message);
}
