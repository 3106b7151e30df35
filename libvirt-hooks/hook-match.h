/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "conf.h"

/* Does a domain definition carry a group's device?
 *
 * A device element of the domain (a child of <domain><devices>) is the
 * group's device when one of these holds:
 *   - its <alias name=.../> is the group's alias (ua-hostdev-GROUP, the one
 *     the daemon attaches with) or, for DeviceXML= groups, the alias written
 *     in the DeviceXML= file (the file attached by hand);
 *   - both name a host PCI function, and it is the same one: Device=
 *     groups, <hostdev type='pci'> and <interface type='hostdev'> (an
 *     SR-IOV VF) through <source><address domain bus slot function/>,
 *     compared as numbers (so a VF given either way is one device);
 *   - both are <hostdev type='mdev'> with the same source UUID
 *     (case-insensitive);
 *   - both are <interface> elements with the same <mac address=.../>
 *     (case-insensitive).
 * Anything else (model, type='user' vs 'network', a missing alias) does not
 * tell two devices apart and is not looked at. */

/* Domain definitions read from the hook's stdin are refused above this. */
#define HDHA_HOOK_DOMAIN_XML_MAX (8U * 1024U * 1024U)

/* Looks for g's device in domain_xml (size bytes, a <domain> document).
 * Returns 1 and, in *ret_what, how the device is named in the refusal
 * ("ua-hostdev-nic0", "PCI 0000:03:00.0", "<interface> with MAC ...",
 * "mdev UUID"); 0 when the domain does not carry it; -EINVAL when
 * domain_xml is malformed or not a <domain>, or when g's DeviceXML= cannot
 * be parsed; -EFBIG when size exceeds HDHA_HOOK_DOMAIN_XML_MAX; -ENOMEM. */
int hdha_hook_find_device(const HdhaGroupConfig *g, const char *domain_xml, size_t size, char **ret_what);
