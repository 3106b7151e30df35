/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>

#include "xml-util.h"

xmlDocPtr hdha_xml_read(const char *xml, size_t size, const char *url) {
        if (!xml || size > INT32_MAX)
                return NULL;
        return xmlReadMemory(xml, (int) size, url, NULL, HDHA_XML_PARSE_OPTIONS);
}

bool hdha_xml_node_is(xmlNodePtr n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, BAD_CAST name);
}

xmlNodePtr hdha_xml_child(xmlNodePtr n, const char *name) {
        for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
                if (hdha_xml_node_is(c, name))
                        return c;
        return NULL;
}

bool hdha_xml_prop_is(xmlNodePtr n, const char *name, const char *value) {
        _cleanup_xml_ xmlChar *v = n ? xmlGetProp(n, BAD_CAST name) : NULL;

        return v && xmlStrEqual(v, BAD_CAST value);
}
