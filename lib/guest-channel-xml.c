/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest-channel-xml.h"
#include "guest-proto.h"
#include "macro.h"
#include "xml-util.h"

static bool is_guest_channel(xmlNodePtr n) {
        xmlNodePtr target = hdha_xml_child(n, "target");

        return hdha_xml_node_is(n, "channel") && hdha_xml_prop_is(n, "type", "unix") &&
               hdha_xml_prop_is(target, "type", "virtio") &&
               hdha_xml_prop_is(target, "name", HDHA_GUEST_CHANNEL_NAME);
}

int hdha_guest_channel_find_path(const char *domain_xml, char **ret) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        xmlNodePtr root, devices;

        if (!domain_xml || !ret)
                return -EINVAL;
        doc = hdha_xml_read(domain_xml, strlen(domain_xml), "domain.xml");
        root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!hdha_xml_node_is(root, "domain"))
                return -EINVAL;
        if (!xmlHasProp(root, BAD_CAST "id"))
                return 0; /* the persistent definition: not running */

        devices = hdha_xml_child(root, "devices");
        for (xmlNodePtr n = devices ? devices->children : NULL; n; n = n->next) {
                _cleanup_xml_ xmlChar *path = NULL;
                xmlNodePtr source;
                char *p;

                if (!is_guest_channel(n))
                        continue;
                source = hdha_xml_child(n, "source");
                if (!hdha_xml_prop_is(source, "mode", "bind"))
                        return 0;
                path = xmlGetProp(source, BAD_CAST "path");
                if (!path || path[0] != '/')
                        return 0;
                p = strdup((const char *) path);
                if (!p)
                        return -ENOMEM;
                *ret = p;
                return 1;
        }
        return 0;
}
