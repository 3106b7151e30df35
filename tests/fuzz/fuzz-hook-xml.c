/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML the libvirt hook reads on stdin, given to the function
 * the hook decides with (hdha_hook_find_device(), libvirt-hooks/hook-match.c)
 * for groups of every kind of device. A domain is well-formed for all of
 * them or for none, a match names the device, and a device carrying a
 * group's alias is always a match (the daemon finds its own devices by that
 * alias: hdha_device_xml_find_alias() must agree with the hook). */
#include <errno.h>

#include <libxml/parser.h>

#include "device-xml.h"
#include "fuzz-util.h"
#include "hook-match.h"
#include "macro.h"

static const HdhaGroupConfig groups[] = {
        {
                .name = (char *) "nic0",
                .device_kind = HDHA_DEVICE_PCI,
                .pci = { .domain = 0, .bus = 3, .slot = 0, .function = 0 },
        },
        {
                .name = (char *) "nic1",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml_path = (char *) "/etc/hostdev-ha/nic1.xml",
                .device_xml = (char *) "<interface type='user'><mac address='52:54:00:Aa:bB:01'/>"
                                       "<model type='e1000e'/><alias name='ua-my-nic'/></interface>",
        },
        {
                .name = (char *) "gpu",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml_path = (char *) "/etc/hostdev-ha/gpu.xml",
                .device_xml = (char *) "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
                                       "<address uuid='C2177883-F1BB-47F0-914D-32A22E3A8804'/></source></hostdev>",
        },
        {
                .name = (char *) "vf",
                .device_kind = HDHA_DEVICE_XML,
                .device_xml_path = (char *) "/etc/hostdev-ha/vf.xml",
                .device_xml = (char *) "<interface type='hostdev' managed='yes'><source><address type='pci' "
                                       "domain='0x0000' bus='0x04' slot='0x10' function='0x1'/></source>"
                                       "</interface>",
        },
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        xmlInitParser();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *xml = fuzz_strndup(data, size);
        int first = 0;

        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                _cleanup_free_ char *what = NULL, *alias = NULL;
                bool live, found;
                int r, k;

                r = hdha_hook_find_device(&groups[i], xml, size, &what);
                if (r == -ENOMEM)
                        return 0;
                FUZZ_CHECK(r == 0 || r == 1 || r == -EINVAL);
                FUZZ_CHECK((r == 1) == !!what);
                if (i == 0)
                        first = r;
                FUZZ_CHECK((r < 0) == (first < 0));

                /* The daemon's view of the same text (it reads libvirt's XML
                 * as a string, up to its first NUL). */
                if (r < 0 || memchr(data, 0, size))
                        continue;
                FUZZ_CHECK(hdha_device_alias(groups[i].name, &alias) == 0);
                k = hdha_device_xml_find_alias(xml, alias, &live, &found);
                FUZZ_CHECK(k == 0);
                if (found)
                        FUZZ_CHECK(r == 1);
        }
        return 0;
}
