/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "parse-util.h"

/* The libvirt device XML the daemon attaches for a group, with a user alias
 * ("ua-...") so the device can be found in events and in live XML.
 *
 * libxml2 keeps global state: a program calls xmlInitParser() once in its
 * main thread before it starts other threads. */

#define HDHA_DEVICE_ALIAS_PREFIX "ua-hostdev-"

/* "ua-hostdev-GROUP" with every character libvirt refuses in an alias
 * (it allows [A-Za-z0-9_-]) mapped to '_'. Two groups may map to the same
 * alias ("a.b", "a_b"): harmless, since an alias only has to be unique
 * within a domain and a domain belongs to one group. */
int hdha_device_alias(const char *group, char **ret);

/* "ua-" followed by [A-Za-z0-9_-]+. */
bool hdha_device_alias_is_valid(const char *alias);

/* <hostdev mode='subsystem' type='pci' managed='yes|no'><source><address
 * domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
 * <alias name='ALIAS'/></hostdev>, on one line. */
int hdha_device_xml_pci(const HdhaPciAddress *a, bool managed, const char *alias, char **ret);

/* Parses xml (one element) and returns it with exactly one <alias name=ALIAS/>
 * child of the root element: an existing alias is renamed, extra ones are
 * dropped. -EINVAL if xml is malformed, its root element in a namespace,
 * or alias invalid. Elements in a namespace are not libvirt's: an
 * <x:alias/> is left alone. */
int hdha_device_xml_set_alias(const char *xml, const char *alias, char **ret);

/* Checks that xml of size bytes is well-formed, has no NUL byte, a root
 * element in no namespace and no DOCTYPE. Returns 0, -EINVAL with a message for the user in *ret_message
 * ("line N: ..."), or -ENOMEM. url names the document in libxml2's state. */
int hdha_device_xml_validate(const char *xml, size_t size, const char *url, char **ret_message);

/* The XML to attach for group g, alias included. */
int hdha_device_xml_build(const HdhaGroupConfig *g, char **ret);

/* The alias (<alias name='...'/>) of a device given as XML; -ENOENT if it
 * has none, -EINVAL if the XML does not parse. */
int hdha_device_xml_alias(const char *device_xml, char **ret_alias);

/* Whether a domain's XML describes a running domain (its root carries
 * id='N'), and whether an element below <devices> has <alias name='ALIAS'/>. */
int hdha_device_xml_find_alias(const char *domain_xml, const char *alias, bool *ret_live, bool *ret_found);
