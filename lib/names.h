/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The names users give: groups, domains, unix groups. Shared by the
 * configuration, the bus (its callers' arguments) and hostdevctl. */

#define HDHA_GROUP_NAME_MAX 64U
#define HDHA_DOMAIN_NAME_MAX 128U

/* 1 to max characters of [A-Za-z0-9] and extra. */
bool hdha_name_chars_ok(const char *s, size_t max, const char *extra);

/* [A-Za-z0-9_.-]{1,64}, not starting with '.'. */
bool hdha_group_name_is_valid(const char *s);
/* [A-Za-z0-9_.:+@-]{1,128}, not starting with '.' or '-'. */
bool hdha_domain_name_is_valid(const char *s);
