/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DeviceXML= content (lib/device-xml.c): any text is validated as the
 * configuration loader does. Text it accepts must then work wherever the
 * daemon and the hook use it: the alias is set (once, idempotently), read
 * back, found in a domain that carries the result, and the hook matches
 * that domain to the group. */
#include <errno.h>

#include <libxml/parser.h>

#include "device-xml.h"
#include "fuzz-util.h"
#include "hook-match.h"
#include "macro.h"

#define GROUP "nic0"
#define ALIAS HDHA_DEVICE_ALIAS_PREFIX GROUP

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        xmlInitParser();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *xml = fuzz_strndup(data, size), *msg = NULL, *out = NULL, *again = NULL,
                            *alias = NULL, *domain = NULL, *what = NULL, *built = NULL;
        HdhaGroupConfig g = {
                .name = (char *) GROUP,
                .device_kind = HDHA_DEVICE_XML,
                .device_xml_path = (char *) "/etc/hostdev-ha/nic0.xml",
                .device_xml = xml,
        };
        bool live = false, found = false;
        int r;

        r = hdha_device_xml_validate(xml, size, "device.xml", &msg);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == -EINVAL)
                FUZZ_CHECK(msg && *msg);
        if (r < 0)
                return 0;

        /* Accepted: the configuration keeps the text up to its first NUL. */
        FUZZ_CHECK(strlen(xml) == size);

        r = hdha_device_xml_build(&g, &built);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0);
        r = hdha_device_xml_set_alias(xml, ALIAS, &out);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0 && streq(out, built));

        FUZZ_CHECK(hdha_device_xml_validate(out, strlen(out), "device.xml", NULL) == 0);
        r = hdha_device_xml_alias(out, &alias);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0 && streq(alias, ALIAS));
        r = hdha_device_xml_set_alias(out, ALIAS, &again);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0 && streq(again, out));

        if (asprintf(&domain, "<domain type='kvm' id='7'><name>vm-a</name><devices>%s</devices></domain>", out) < 0)
                return 0;
        r = hdha_device_xml_find_alias(domain, ALIAS, &live, &found);
        FUZZ_CHECK(r == 0 && live && found);
        r = hdha_hook_find_device(&g, domain, strlen(domain), &what);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 1 && what);
        return 0;
}
