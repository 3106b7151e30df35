/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Shared by table-file.c (the text) and table-store.c (the files): writes
 * a message to *reterr (if reterr is not NULL) and returns r. */
_printf_(3, 4) int hdha_table_errmsg(char **reterr, int r, const char *fmt, ...);
