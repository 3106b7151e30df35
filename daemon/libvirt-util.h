/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Helpers for hypervisor-libvirt.c that know nothing of its state. */

/* Process-wide libvirt set-up, once: virInitialize(), a quiet error handler
 * (libvirt never writes to stderr), libvirt's default event implementation
 * and libxml2's parser. */
int hdha_libvirt_init(void);

/* libvirt's default event loop runs in a thread of its own while at least one
 * reference is held; the last unref stops and joins it. Loop thread only. */
int hdha_libvirt_event_thread_ref(void);
void hdha_libvirt_event_thread_unref(void);

/* The calling thread's last libvirt error as -errno, and its text as
 * "MESSAGE (code N)" in *ret_message (NULL if out of memory). Call it on the
 * thread that made the failed call, right after it. */
int hdha_libvirt_last_error(char **ret_message);
/* The code (virErrorNumber) of the calling thread's last libvirt error, 0 if
 * none. */
int hdha_libvirt_last_error_code(void);

/* The alias (<alias name='...'/>) of a device given as XML; -ENOENT if it
 * has none, -EINVAL if the XML does not parse. */
int hdha_device_xml_alias(const char *device_xml, char **ret_alias);

/* Whether a domain's XML describes a running domain (its root carries
 * id='N'), and whether an element below <devices> has <alias name='ALIAS'/>. */
int hdha_domain_xml_find_alias(const char *domain_xml, const char *alias, bool *ret_live,
                               bool *ret_found);
