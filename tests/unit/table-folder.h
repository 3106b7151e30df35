/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stddef.h>

#include "table.h"

/* A state folder of its own for each test of the table's files and
 * journal (table_folder_setup/teardown as cmocka's setup and teardown):
 * state_dir is the daemon's STATEDIR; one_file the single file of formats
 * 1 and 2 in it; folder the table's folder (STATEDIR/table.d); journal the
 * journal in the folder. */
extern char state_dir[PATH_MAX], one_file[PATH_MAX + 16], folder[PATH_MAX + 16], journal[PATH_MAX + 32];

/* fsync() and rename() are wrapped at link time (-Wl,--wrap=fsync
 * -Wl,--wrap=rename) so that a test can make the n-th call fail (EIO), or
 * every rename with rename_fail_errno. The counts start at 0 in setup. */
extern int fsync_fail_at, fsync_calls, rename_fail_errno, rename_fail_at, rename_calls;

int table_folder_setup(void **state);
int table_folder_teardown(void **state);

void write_file(const char *p, const char *data, size_t n);
/* The file's content (at most HDHA_TABLE_FILE_MAX + 1 bytes), NUL-ended. */
char *slurp(const char *p, size_t *ret_n);
/* Entries in a folder, hidden ones too: catches temporary files left behind. */
int count_in(const char *where);
/* Hidden entries in a folder: temporary files left behind. */
int count_hidden_in(const char *where);
/* The path of a group's file (a static buffer). */
const char *group_file(const char *group);
/* head, then n items "prefix<i>suffix" separated by commas, then tail. */
char *repeat(const char *head, const char *prefix, const char *suffix, int n, const char *tail);

void assert_contains(const char *s, const char *needle);
/* The group's file holds what t has of it. */
void assert_group_read(const HdhaTable *t, const char *group);
/* The same tables, group by group, whatever their order. */
void assert_same_groups(const HdhaTable *a, const HdhaTable *b);

/* A test of its own state folder, for cmocka's table of tests. */
#define table_folder_test(f) cmocka_unit_test_setup_teardown(f, table_folder_setup, table_folder_teardown)
