/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "table.h"

/* The libvirt QEMU hook's decision (installed as
 * /etc/libvirt/hooks/qemu.d/hostdev-ha). libvirtd runs it as
 * "NAME OP SUBOP -" with the domain XML on stdin and waits for it, so it
 * decides from the configuration and the table file alone: it never calls
 * libvirt and never talks to the bus.
 *
 * Only "prepare begin" is looked at (it is the one that can veto a start,
 * restore or incoming migration); every other operation is allowed at once,
 * before any file is read. For prepare begin:
 *   - no configuration directory, or a domain outside every group: allowed,
 *     stdin not read;
 *   - a configuration with problems: allowed, with a warning (the hook
 *     cannot tell members from other domains, and a typo in hostdev-ha's
 *     files must not stop every domain of the host; the daemon refuses such
 *     a configuration too, so nothing is managed);
 *   - a member whose group's table entry gives the device to it or to
 *     nobody, and names no operation moving it elsewhere: allowed, stdin not
 *     read (a missing table file or group means nothing is allocated);
 *   - otherwise the domain XML is read (at most HDHA_HOOK_DOMAIN_XML_MAX
 *     bytes) and, when it carries the group's device (hook-match.h), the
 *     start is refused: the device is allocated to another domain, or an
 *     operation in flight is about to attach it to another, or the table
 *     cannot be read (fail closed; the message names the file). A domain
 *     XML that cannot be read is refused too.
 * The table cannot say whether its holder still runs (only libvirt knows):
 * the hook trusts the table. */

typedef enum HdhaHookVerdict {
        HDHA_HOOK_ALLOW,
        HDHA_HOOK_REFUSE,
} HdhaHookVerdict;

/* Decides for domain name, operation op and sub-operation subop, the
 * domain XML to be read from in when needed, with the configuration in
 * config_dir. Returns the verdict and, in *ret_message, NULL or one line
 * (no newline) for stderr: the reason of a refusal, or a warning. */
HdhaHookVerdict hdha_hook_run(const char *config_dir, const char *name, const char *op, const char *subop,
                              FILE *in, char **ret_message);

/* The domain other than domain that tg gives the device to (active), or
 * else the one an operation in flight is about to give it to (target);
 * NULL when there is none. *ret_moving tells which. tg may be NULL. */
const char *hdha_hook_other_holder(const HdhaTableGroup *tg, const char *domain, bool *ret_moving);

/* The refusal for domain carrying its group's device (named what), held by
 * holder (moving: an operation in flight is about to attach it there). */
int hdha_hook_refusal_message(const char *group, const char *domain, const char *what, const char *holder,
                              bool moving, const char *operation, char **ret);
