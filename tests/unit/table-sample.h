/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "table.h"

/* Three groups: a switch in flight with Pacemaker's instances, frozen;
 * names JSON must escape, nothing allocated; a release without a target
 * and a generation beyond INT64_MAX. Asserts as it builds it. */
HdhaTable *table_sample(void);
