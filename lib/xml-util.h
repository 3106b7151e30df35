/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* libxml2 the same way everywhere: no network, nothing printed on stderr
 * (problems are returned), entities left alone (no XML_PARSE_NOENT). */
#define HDHA_XML_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static inline void hdha_xml_doc_freep(xmlDocPtr *p) {
        if (*p)
                xmlFreeDoc(*p);
}

static inline void hdha_xml_freep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}

#define _cleanup_xml_doc_ __attribute__((cleanup(hdha_xml_doc_freep)))
#define _cleanup_xml_ __attribute__((cleanup(hdha_xml_freep)))

/* The document of size bytes, or NULL if it does not parse (or is larger
 * than libxml2 takes); url names it in libxml2's state. */
xmlDocPtr hdha_xml_read(const char *xml, size_t size, const char *url);

/* n is an element called name, in no namespace: libvirt's elements have
 * none, and libvirt does not take <x:alias xmlns:x='...'> for <alias>. */
bool hdha_xml_node_is(xmlNodePtr n, const char *name);
/* The first child element of n called name, or NULL (also for n NULL). */
xmlNodePtr hdha_xml_child(xmlNodePtr n, const char *name);
/* n has the attribute name with this value. */
bool hdha_xml_prop_is(xmlNodePtr n, const char *name, const char *value);
