/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "hypervisor.h"
#include "macro.h"
#include "string-table.h"

static const char *const hv_event_table[_HDHA_HV_EVENT_MAX] = {
        [HDHA_HV_EVENT_STARTED] = "started",
        [HDHA_HV_EVENT_STOPPED] = "stopped",
        [HDHA_HV_EVENT_CRASHED] = "crashed",
        [HDHA_HV_EVENT_IO_ERROR] = "io-error",
        [HDHA_HV_EVENT_WATCHDOG] = "watchdog",
        [HDHA_HV_EVENT_PANIC] = "panic",
        [HDHA_HV_EVENT_DEVICE_REMOVED] = "device-removed",
        [HDHA_HV_EVENT_DEVICE_REMOVAL_FAILED] = "device-removal-failed",
        [HDHA_HV_EVENT_CONNECTED] = "connected",
        [HDHA_HV_EVENT_DISCONNECTED] = "disconnected",
};

DEFINE_STRING_TABLE_LOOKUP(hdha_hv_event, HdhaHvEventKind, hv_event_table);
