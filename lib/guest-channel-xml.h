/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where a running domain's guest channel (org.hostdevha.guest.0) ends on
 * the host: the path of the unix socket QEMU listens on, read from the
 * domain's live XML:
 *
 *   <channel type='unix'>
 *     <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/...'/>
 *     <target type='virtio' name='org.hostdevha.guest.0'/>
 *   </channel>
 *
 * Returns 1 and *ret (a copy) when the domain is running (the XML carries
 * an id) and has such a channel in bind mode with an absolute path; 0 when
 * it has none (or is not running); -EINVAL when the XML does not parse or
 * is no <domain>; -ENOMEM. */
int hdha_guest_channel_find_path(const char *domain_xml, char **ret);
