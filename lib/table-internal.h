/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <unistd.h>

#include "macro.h"
#include "table.h"

/* Shared by table-file.c (the text) and table-store.c (the files): writes
 * a message to *reterr (if reterr is not NULL) and returns r. */
_printf_(3, 4) int hdha_table_errmsg(char **reterr, int r, const char *fmt, ...);

/* table.c: moves the group name from src to dst, in place of dst's group
 * of that name (freed) or else last. -ENOENT if src has no such group,
 * -E2BIG or -ENOMEM (nothing moved). */
int hdha_table_move_group(HdhaTable *dst, HdhaTable *src, const char *name);

/* table-store.c, for table-journal.c's writes. A group's name can be a
 * file's name in table.d (not hidden, room for ".json"); write_all()
 * writes everything or fails; make_folder() makes the folder path (0755)
 * durably if it is missing. */
bool hdha_table_group_file_name_ok(const char *group);
int hdha_table_write_all(int fd, const char *p, size_t n);
int hdha_table_fsync_folder(const char *dir);
int hdha_table_make_folder(const char *path);

/* table-journal.c: the records of n groups, one after the other
 * (-EINVAL for a name that cannot be a file's, -EFBIG for a record over
 * HDHA_TABLE_FILE_MAX); and the records of a journal's text applied to t
 * in order, all of them or (group not NULL) only that group's. name is
 * where the text came from, at the start of every message. */
int hdha_table_journal_format(const HdhaTableGroup *const *groups, size_t n, char **ret, size_t *ret_size);
int hdha_table_journal_replay(HdhaTable *t, const char *text, size_t size, const char *name, const char *group,
                              char **reterr_message);
/* The bytes of a journal's text that are whole records, from its start. */
size_t hdha_table_journal_whole(const char *text, size_t size);
