/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-xml.h"
#include "hook-match.h"
#include "macro.h"
#include "xml-util.h"

/* What tells one device from another (see hook-match.h). Strings are owned;
 * MAC and UUID are lower case. */
typedef struct DeviceId {
        char *element;    /* "interface", "hostdev", ...; NULL: any (Device=) */
        char *alias;
        char *file_alias; /* the DeviceXML= file's own alias, if any */
        char *mac;
        bool has_pci;
        HdhaPciAddress pci;
        char *mdev_uuid;
} DeviceId;

static void device_id_done(DeviceId *d) {
        free(d->element);
        free(d->alias);
        free(d->file_alias);
        free(d->mac);
        free(d->mdev_uuid);
        *d = (DeviceId) {};
}

/* A copy of the attribute (lower-cased if asked): 0 and NULL when absent. */
static int prop_dup(xmlNodePtr n, const char *name, bool lower, char **ret) {
        _cleanup_xml_ xmlChar *v = NULL;
        char *s;

        if (!n) {
                *ret = NULL;
                return 0;
        }
        v = xmlGetProp(n, BAD_CAST name);
        if (!v) {
                *ret = NULL;
                return 0;
        }
        s = strdup((const char *) v);
        if (!s)
                return -ENOMEM;
        if (lower)
                for (char *c = s; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
        *ret = s;
        return 0;
}

/* libvirt reads address parts with base 0: "0x03", "3", "03". */
static int parse_part(xmlNodePtr n, const char *name, unsigned long max, bool optional, unsigned long *ret) {
        _cleanup_xml_ xmlChar *v = xmlGetProp(n, BAD_CAST name);
        unsigned long x;
        char *end;

        if (!v) {
                if (!optional)
                        return -EINVAL;
                *ret = 0;
                return 0;
        }
        if (!isdigit(v[0]))
                return -EINVAL;
        errno = 0;
        x = strtoul((const char *) v, &end, 0);
        if (errno != 0 || *end != '\0' || x > max)
                return -EINVAL;
        *ret = x;
        return 0;
}

/* <source><address [type='pci'] domain bus slot function/></source>:
 * true and the address when it is a complete PCI address. */
static bool source_pci_address(xmlNodePtr dev, HdhaPciAddress *ret) {
        xmlNodePtr a = hdha_xml_child(hdha_xml_child(dev, "source"), "address");
        _cleanup_xml_ xmlChar *type = NULL;
        unsigned long domain, bus, slot, function;

        if (!a)
                return false;
        type = xmlGetProp(a, BAD_CAST "type");
        if (type && !xmlStrEqual(type, BAD_CAST "pci"))
                return false;
        if (parse_part(a, "domain", 0xffff, true, &domain) < 0 ||
            parse_part(a, "bus", 0xff, false, &bus) < 0 ||
            parse_part(a, "slot", 0x1f, false, &slot) < 0 ||
            parse_part(a, "function", 0x7, false, &function) < 0)
                return false;

        *ret = (HdhaPciAddress) {
                .domain = (uint16_t) domain,
                .bus = (uint8_t) bus,
                .slot = (uint8_t) slot,
                .function = (uint8_t) function,
        };
        return true;
}

static int device_id_from_node(xmlNodePtr n, DeviceId *ret) {
        _cleanup_(device_id_done) DeviceId d = {};
        bool hostdev = hdha_xml_node_is(n, "hostdev"), interface = hdha_xml_node_is(n, "interface");
        int r;

        d.element = strdup((const char *) n->name);
        if (!d.element)
                return -ENOMEM;
        r = prop_dup(hdha_xml_child(n, "alias"), "name", false, &d.alias);
        if (r < 0)
                return r;
        if (interface) {
                r = prop_dup(hdha_xml_child(n, "mac"), "address", true, &d.mac);
                if (r < 0)
                        return r;
        }
        if ((hostdev && hdha_xml_prop_is(n, "type", "pci")) || (interface && hdha_xml_prop_is(n, "type", "hostdev")))
                d.has_pci = source_pci_address(n, &d.pci);
        if (hostdev && hdha_xml_prop_is(n, "type", "mdev")) {
                r = prop_dup(hdha_xml_child(hdha_xml_child(n, "source"), "address"), "uuid", true,
                             &d.mdev_uuid);
                if (r < 0)
                        return r;
        }

        *ret = d;
        d = (DeviceId) {};
        return 0;
}

static int group_device_id(const HdhaGroupConfig *g, DeviceId *ret) {
        _cleanup_(device_id_done) DeviceId d = {};
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        xmlNodePtr root;
        int r;

        if (g->device_kind == HDHA_DEVICE_PCI) {
                d.has_pci = true;
                d.pci = g->pci;
        } else {
                if (!g->device_xml)
                        return -EINVAL;
                doc = hdha_xml_read(g->device_xml, strlen(g->device_xml), g->device_xml_path);
                root = doc ? xmlDocGetRootElement(doc) : NULL;
                if (!root)
                        return -EINVAL;
                r = device_id_from_node(root, &d);
                if (r < 0)
                        return r;
                d.file_alias = TAKE_PTR(d.alias);
        }
        r = hdha_device_alias(g->name, &d.alias);
        if (r < 0)
                return r;

        *ret = d;
        d = (DeviceId) {};
        return 0;
}

/* 1 and how to name it when have is the device want describes. */
static int device_id_match(const DeviceId *want, const DeviceId *have, char **ret_what) {
        int r = 0;

        if (streq_set(have->alias, want->alias) || streq_set(have->alias, want->file_alias))
                r = asprintf(ret_what, "%s", have->alias);
        else if (want->has_pci && have->has_pci && hdha_pci_address_equal(&want->pci, &have->pci))
                r = asprintf(ret_what, "PCI %04x:%02x:%02x.%x", (unsigned) have->pci.domain,
                             (unsigned) have->pci.bus, (unsigned) have->pci.slot,
                             (unsigned) have->pci.function);
        else if (streq_set(have->mdev_uuid, want->mdev_uuid))
                r = asprintf(ret_what, "mdev %s", have->mdev_uuid);
        else if (streq_set(have->element, want->element) && streq_set(have->mac, want->mac))
                r = asprintf(ret_what, "<%s> with MAC %s", have->element, have->mac);
        else
                return 0;

        return r < 0 ? -ENOMEM : 1;
}

int hdha_hook_find_device(const HdhaGroupConfig *g, const char *domain_xml, size_t size, char **ret_what) {
        _cleanup_(device_id_done) DeviceId want = {};
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        xmlNodePtr root, devices;
        int r;

        if (!g || !domain_xml)
                return -EINVAL;
        if (size > HDHA_HOOK_DOMAIN_XML_MAX)
                return -EFBIG;

        r = group_device_id(g, &want);
        if (r < 0)
                return r;

        doc = hdha_xml_read(domain_xml, size, "domain.xml");
        root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!hdha_xml_node_is(root, "domain"))
                return -EINVAL;

        devices = hdha_xml_child(root, "devices");
        if (!devices)
                return 0;
        for (xmlNodePtr n = devices->children; n; n = n->next) {
                _cleanup_(device_id_done) DeviceId have = {};

                if (n->type != XML_ELEMENT_NODE)
                        continue;
                r = device_id_from_node(n, &have);
                if (r < 0)
                        return r;
                r = device_id_match(&want, &have, ret_what);
                if (r != 0)
                        return r;
        }
        return 0;
}
