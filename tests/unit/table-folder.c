/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A state folder for the tests of the table's files and journal, with
 * fsync() and rename() that fail on demand. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "macro.h"
#include "table-folder.h"

char state_dir[PATH_MAX], one_file[PATH_MAX + 16], folder[PATH_MAX + 16], journal[PATH_MAX + 32];
int fsync_fail_at, fsync_calls, rename_fail_errno, rename_fail_at, rename_calls;

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);

int __wrap_fsync(int fd) {
        if (fsync_fail_at > 0 && ++fsync_calls == fsync_fail_at) {
                errno = EIO;
                return -1;
        }
        return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to) {
        if (rename_fail_errno > 0 || (rename_fail_at > 0 && ++rename_calls == rename_fail_at)) {
                errno = rename_fail_errno ?: EIO;
                return -1;
        }
        return __real_rename(from, to);
}

int table_folder_setup(void **state) {
        strcpy(state_dir, "/tmp/test-table-XXXXXX");
        if (!mkdtemp(state_dir))
                return -1;
        (void) snprintf(one_file, sizeof(one_file), "%s/" HDHA_TABLE_ONE_FILE, state_dir);
        (void) snprintf(folder, sizeof(folder), "%s/" HDHA_TABLE_DIR, state_dir);
        (void) snprintf(journal, sizeof(journal), "%s/" HDHA_TABLE_JOURNAL, folder);
        fsync_fail_at = fsync_calls = rename_fail_errno = rename_fail_at = rename_calls = 0;
        return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

int table_folder_teardown(void **state) {
        return nftw(state_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void write_file(const char *p, const char *data, size_t n) {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_true(write(fd, data, n) == (ssize_t) n);
        assert_int_equal(close(fd), 0);
}

char *slurp(const char *p, size_t *ret_n) {
        char *buf = malloc(HDHA_TABLE_FILE_MAX + 2);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t k;

        assert_non_null(buf);
        assert_true(fd >= 0);
        k = read(fd, buf, HDHA_TABLE_FILE_MAX + 1);
        assert_true(k >= 0);
        buf[k] = 0;
        (void) close(fd);
        *ret_n = (size_t) k;
        return buf;
}

static int count(const char *where, bool hidden_only) {
        DIR *d = opendir(where);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && (!hidden_only || de->d_name[0] == '.'))
                        n++;
        closedir(d);
        return n;
}

int count_in(const char *where) {
        return count(where, false);
}

int count_hidden_in(const char *where) {
        return count(where, true);
}

const char *group_file(const char *group) {
        static char p[PATH_MAX + 300];

        (void) snprintf(p, sizeof(p), "%s/%s.json", folder, group);
        return p;
}

char *repeat(const char *head, const char *prefix, const char *suffix, int n, const char *tail) {
        size_t len = strlen(head) + (strlen(prefix) + strlen(suffix) + 16) * (size_t) n + strlen(tail) + 1, k;
        char *s = malloc(len);

        assert_non_null(s);
        k = (size_t) snprintf(s, len, "%s", head);
        for (int i = 0; i < n; i++)
                k += (size_t) snprintf(s + k, len - k, "%s%s%d%s", i ? "," : "", prefix, i, suffix);
        (void) snprintf(s + k, len - k, "%s", tail);
        return s;
}

void assert_contains(const char *s, const char *needle) {
        if (!s || !strstr(s, needle))
                fail_msg("'%s' does not contain '%s'", s ?: "(null)", needle);
}

void assert_group_read(const HdhaTable *t, const char *group) {
        _cleanup_(hdha_table_freep) HdhaTable *one = NULL, *want = NULL;

        assert_int_equal(hdha_table_load_group(folder, group, &one, NULL), 0);
        assert_int_equal(hdha_table_dup(t, &want), 0);
        for (size_t i = want->n_groups; i > 0; i--)
                if (!streq(want->groups[i - 1]->name, group))
                        assert_int_equal(hdha_table_remove_group(want, want->groups[i - 1]->name), 0);
        assert_true(hdha_table_equal(want, one));
}

void assert_same_groups(const HdhaTable *a, const HdhaTable *b) {
        assert_int_equal(a->n_groups, b->n_groups);
        for (size_t i = 0; i < a->n_groups; i++) {
                _cleanup_(hdha_table_freep) HdhaTable *x = NULL, *y = NULL;
                const char *name = a->groups[i]->name;

                assert_int_equal(hdha_table_dup(a, &x), 0);
                assert_int_equal(hdha_table_dup(b, &y), 0);
                for (size_t k = x->n_groups; k > 0; k--)
                        if (!streq(x->groups[k - 1]->name, name))
                                assert_int_equal(hdha_table_remove_group(x, x->groups[k - 1]->name), 0);
                for (size_t k = y->n_groups; k > 0; k--)
                        if (!streq(y->groups[k - 1]->name, name))
                                assert_int_equal(hdha_table_remove_group(y, y->groups[k - 1]->name), 0);
                assert_true(hdha_table_equal(x, y));
        }
}
