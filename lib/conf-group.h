/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the configuration loader: one groups.d/NAME.conf file. */

#include "conf.h"
#include "conf-parser.h"

/* What the checks across groups need to know about a group's file. */
typedef struct HdhaConfigGroupMeta {
        unsigned pci_line, xml_line, domains_line; /* where Device=, DeviceXML=, Domains= are set */
        bool pci_invalid;
        unsigned domain_lines[HDHA_GROUP_DOMAINS_MAX];
        char *xml_canonical; /* realpath() of DeviceXML= */
} HdhaConfigGroupMeta;

void hdha_config_group_done(HdhaGroupConfig *g);

/* Loads groups.d/fname (relative to gdfd) into g and m, appending problems
 * to e. Returns 1 when g was loaded (possibly with problems), 0 when the
 * file was skipped (a problem was reported), or -ENOMEM. Release g with
 * hdha_config_group_done() and m->xml_canonical with free() in every case. */
int hdha_config_group_load(HdhaConfig *c, int gdfd, const char *fname, HdhaGroupConfig *g, HdhaConfigGroupMeta *m,
                           HdhaConfigErrors *e);
