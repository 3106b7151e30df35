/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlerror.h>

#include "device-xml.h"
#include "macro.h"
#include "xml-util.h"

static void xml_free_parser_ctxtp(xmlParserCtxtPtr *p) {
        if (*p)
                xmlFreeParserCtxt(*p);
}

static void xml_buffer_freep(xmlBufferPtr *p) {
        if (*p)
                xmlBufferFree(*p);
}

static bool alias_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-';
}

bool hdha_device_alias_is_valid(const char *alias) {
        if (!alias || strncmp(alias, "ua-", 3) != 0 || alias[3] == '\0')
                return false;
        for (const char *c = alias + 3; *c; c++)
                if (!alias_char_ok(*c))
                        return false;
        return true;
}

int hdha_device_alias(const char *group, char **ret) {
        char *a;

        if (!group || !*group)
                return -EINVAL;

        if (asprintf(&a, HDHA_DEVICE_ALIAS_PREFIX "%s", group) < 0)
                return -ENOMEM;
        for (char *c = a + strlen(HDHA_DEVICE_ALIAS_PREFIX); *c; c++)
                if (!alias_char_ok(*c))
                        *c = '_';

        *ret = a;
        return 0;
}

int hdha_device_xml_pci(const HdhaPciAddress *a, bool managed, const char *alias, char **ret) {
        char *x;

        if (!a || !hdha_device_alias_is_valid(alias))
                return -EINVAL;

        if (asprintf(&x,
                     "<hostdev mode='subsystem' type='pci' managed='%s'>"
                     "<source><address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>"
                     "<alias name='%s'/>"
                     "</hostdev>",
                     managed ? "yes" : "no",
                     (unsigned) a->domain, (unsigned) a->bus, (unsigned) a->slot, (unsigned) a->function,
                     alias) < 0)
                return -ENOMEM;

        *ret = x;
        return 0;
}

typedef struct FirstError {
        int line;
        int code;
        char *message;
} FirstError;

/* libxml2 goes on after the first error and its "last error" is often a
 * consequence ("Premature end of data"): keep the first one. */
static void first_error_handler(void *userdata, xmlErrorPtr error) {
        xmlParserCtxtPtr ctxt = userdata;
        FirstError *f = ctxt ? ctxt->_private : NULL;

        if (!f || !error || f->code != 0)
                return;
        f->code = error->code ?: -1;
        f->line = error->line;
        f->message = error->message ? strdup(error->message) : NULL;
}

static int xml_parse(const char *xml, size_t size, const char *url, xmlDocPtr *ret, char **ret_message) {
        _cleanup_(xml_free_parser_ctxtp) xmlParserCtxtPtr ctxt = NULL;
        FirstError first = {};
        _cleanup_free_ char *m = NULL;
        xmlDocPtr doc;

        if (size > INT32_MAX)
                return -EFBIG;

        ctxt = xmlNewParserCtxt();
        if (!ctxt)
                return -ENOMEM;
        ctxt->_private = &first;
        if (ctxt->sax && ctxt->sax->initialized == XML_SAX2_MAGIC)
                ctxt->sax->serror = first_error_handler;

        doc = xmlCtxtReadMemory(ctxt, xml, (int) size, url, NULL, HDHA_XML_PARSE_OPTIONS);
        m = first.message;
        if (doc && ctxt->wellFormed) {
                *ret = doc;
                return 0;
        }

        if (doc)
                xmlFreeDoc(doc);
        if (first.code == XML_ERR_NO_MEMORY)
                return -ENOMEM;
        if (ret_message) {
                size_t l = m ? strlen(m) : 0;

                while (l > 0 && (m[l - 1] == '\n' || m[l - 1] == ' '))
                        m[--l] = '\0';
                if (asprintf(ret_message, "line %d: %s", first.line, l > 0 ? m : "not well-formed") < 0)
                        return -ENOMEM;
        }
        return -EINVAL;
}

/* The device element: the root, in no namespace (a root in one would put
 * the <alias/> added to it in it too, where neither libvirt nor
 * hdha_device_xml_alias() would see it). */
static const char *root_problem(xmlDocPtr doc) {
        xmlNodePtr root = xmlDocGetRootElement(doc);

        if (!root)
                return "no root element";
        if (root->ns)
                return "the root element is in a namespace";
        return NULL;
}

int hdha_device_xml_validate(const char *xml, size_t size, const char *url, char **ret_message) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        const char *problem = NULL;
        int r;

        if (!xml)
                return -EINVAL;
        /* libxml2 takes a NUL byte after the root element as the end; the
         * text is kept and used up to its first NUL: refuse it outright. */
        if (memchr(xml, 0, size)) {
                if (ret_message) {
                        char *m = strdup("contains a NUL byte");
                        if (!m)
                                return -ENOMEM;
                        *ret_message = m;
                }
                return -EINVAL;
        }

        r = xml_parse(xml, size, url, &doc, ret_message);
        if (r < 0)
                return r;

        if (doc->intSubset || doc->extSubset)
                problem = "DOCTYPE is not allowed";
        else
                problem = root_problem(doc);
        if (problem) {
                if (ret_message) {
                        char *m = strdup(problem);
                        if (!m)
                                return -ENOMEM;
                        *ret_message = m;
                }
                return -EINVAL;
        }
        return 0;
}

int hdha_device_xml_set_alias(const char *xml, const char *alias, char **ret) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        _cleanup_(xml_buffer_freep) xmlBufferPtr buf = NULL;
        xmlNodePtr root, found = NULL, next;
        char *x;
        int r;

        if (!xml || !hdha_device_alias_is_valid(alias))
                return -EINVAL;

        r = xml_parse(xml, strlen(xml), "device.xml", &doc, NULL);
        if (r < 0)
                return r;
        if (root_problem(doc))
                return -EINVAL;
        root = xmlDocGetRootElement(doc);

        for (xmlNodePtr n = root->children; n; n = next) {
                next = n->next;
                if (!hdha_xml_node_is(n, "alias"))
                        continue;
                if (!found) {
                        found = n;
                        continue;
                }
                xmlUnlinkNode(n);
                xmlFreeNode(n);
        }

        if (!found) {
                found = xmlNewChild(root, NULL, BAD_CAST "alias", NULL);
                if (!found)
                        return -ENOMEM;
        }
        if (!xmlSetProp(found, BAD_CAST "name", BAD_CAST alias))
                return -ENOMEM;

        buf = xmlBufferCreate();
        if (!buf)
                return -ENOMEM;
        if (xmlNodeDump(buf, doc, root, 0, 0) < 0)
                return -ENOMEM;

        x = strdup((const char *) xmlBufferContent(buf));
        if (!x)
                return -ENOMEM;
        *ret = x;
        return 0;
}

int hdha_device_xml_build(const HdhaGroupConfig *g, char **ret) {
        _cleanup_free_ char *alias = NULL;
        int r;

        if (!g)
                return -EINVAL;

        r = hdha_device_alias(g->name, &alias);
        if (r < 0)
                return r;

        switch (g->device_kind) {
        case HDHA_DEVICE_PCI:
                return hdha_device_xml_pci(&g->pci, g->managed, alias, ret);
        case HDHA_DEVICE_XML:
                return hdha_device_xml_set_alias(g->device_xml, alias, ret);
        default:
                return -EINVAL;
        }
}

int hdha_device_xml_alias(const char *device_xml, char **ret_alias) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        _cleanup_xml_ xmlChar *v = NULL;
        xmlNodePtr a;
        char *alias;

        if (!device_xml || !ret_alias)
                return -EINVAL;

        doc = hdha_xml_read(device_xml, strlen(device_xml), "device.xml");
        if (!doc)
                return -EINVAL;

        a = hdha_xml_child(xmlDocGetRootElement(doc), "alias");
        if (a)
                v = xmlGetProp(a, BAD_CAST "name");
        if (!v || !v[0])
                return -ENOENT;
        alias = strdup((const char *) v);
        if (!alias)
                return -ENOMEM;
        *ret_alias = alias;
        return 0;
}

static bool device_has_alias(xmlNodePtr device, const char *alias) {
        for (xmlNodePtr n = device->children; n; n = n->next)
                if (hdha_xml_node_is(n, "alias") && hdha_xml_prop_is(n, "name", alias))
                        return true;
        return false;
}

int hdha_device_xml_find_alias(const char *domain_xml, const char *alias, bool *ret_live, bool *ret_found) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        xmlNodePtr root, devices;
        bool found = false;

        if (!domain_xml || !ret_live || !ret_found)
                return -EINVAL;

        doc = hdha_xml_read(domain_xml, strlen(domain_xml), "domain.xml");
        root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!hdha_xml_node_is(root, "domain"))
                return -EINVAL;

        devices = hdha_xml_child(root, "devices");
        if (alias && devices)
                for (xmlNodePtr n = devices->children; n && !found; n = n->next)
                        found = n->type == XML_ELEMENT_NODE && device_has_alias(n, alias);

        *ret_live = xmlHasProp(root, BAD_CAST "id") != NULL;
        *ret_found = found;
        return 0;
}
