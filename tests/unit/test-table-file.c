/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's files: round trips, corrupt and old formats,
 * one file per group, failed and interrupted saves, the journal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "macro.h"
#include "table.h"

#include "table-sample.h"
/* fsync() and rename() are wrapped at link time (-Wl,--wrap) so that a test
 * can make the n-th call fail. */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);

static int fsync_fail_at, fsync_calls, rename_fail_errno, rename_fail_at, rename_calls;

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

/* ---- helpers ------------------------------------------------------------ */

/* folder: the table's folder (STATEDIR/table.d); path: the single file of
 * formats 1 and 2 beside it; journal: the journal in the folder. */
static char dir[PATH_MAX], path[PATH_MAX + 16], folder[PATH_MAX + 16], journal[PATH_MAX + 32];

static int setup(void **state) {
        strcpy(dir, "/tmp/test-table-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        (void) snprintf(path, sizeof(path), "%s/" HDHA_TABLE_ONE_FILE, dir);
        (void) snprintf(folder, sizeof(folder), "%s/" HDHA_TABLE_DIR, dir);
        (void) snprintf(journal, sizeof(journal), "%s/" HDHA_TABLE_JOURNAL, folder);
        fsync_fail_at = fsync_calls = rename_fail_errno = rename_fail_at = rename_calls = 0;
        return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int teardown(void **state) {
        return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *p, const char *data, size_t n) {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_true(write(fd, data, n) == (ssize_t) n);
        assert_int_equal(close(fd), 0);
}

static char *slurp(const char *p, size_t *ret_n) {
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

/* Entries in a folder, hidden ones too: catches temporary files left behind. */
static int count_in(const char *where) {
        DIR *d = opendir(where);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static int count_entries(void) {
        return count_in(dir);
}

/* The path of a group's file. */
static const char *group_file(const char *group) {
        static char p[PATH_MAX + 300];

        (void) snprintf(p, sizeof(p), "%s/%s.json", folder, group);
        return p;
}

static void assert_contains(const char *s, const char *needle) {
        if (!s || !strstr(s, needle))
                fail_msg("'%s' does not contain '%s'", s ?: "(null)", needle);
}


/* ---- the file ------------------------------------------------------------- */

/* The group's file holds what t has of it. */
static void assert_group_read(const HdhaTable *t, const char *group) {
        _cleanup_(hdha_table_freep) HdhaTable *one = NULL, *want = NULL;

        assert_int_equal(hdha_table_load_group(folder, group, &one, NULL), 0);
        assert_int_equal(hdha_table_dup(t, &want), 0);
        for (size_t i = want->n_groups; i > 0; i--)
                if (!streq(want->groups[i - 1]->name, group))
                        assert_int_equal(hdha_table_remove_group(want, want->groups[i - 1]->name), 0);
        assert_true(hdha_table_equal(want, one));
}

static void test_round_trip(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *l = NULL, *e = NULL;
        _cleanup_free_ char *data = NULL;
        struct stat st;
        mode_t old_umask;
        size_t n;

        old_umask = umask(077);
        assert_int_equal(hdha_table_save(t, folder), 0);
        (void) umask(old_umask);
        assert_int_equal(stat(folder, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(stat(group_file("nic0"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(count_entries(), 1);
        assert_int_equal(count_in(folder), 3);

        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        /* Read in the order of the files' names. */
        assert_string_equal(l->groups[0]->name, "acc2");
        assert_string_equal(l->groups[1]->name, "hba \"1\"");
        assert_string_equal(l->groups[2]->name, "nic0");
        assert_int_equal(l->n_groups, 3);
        for (size_t i = 0; i < t->n_groups; i++)
                assert_group_read(t, t->groups[i]->name);
        assert_true(hdha_table_get_group(l, "acc2")->generation == UINT64_MAX - 1);
        assert_null(hdha_table_get_group(l, "hba \"1\"")->active);
        assert_null(hdha_table_get_group(l, "acc2")->op_target);
        assert_true(hdha_table_get_group(l, "nic0")->frozen);
        assert_false(hdha_table_get_group(l, "acc2")->frozen);
        assert_string_equal(hdha_table_get_group(l, "nic0")->members[1].resource, "hd:1");
        assert_null(hdha_table_get_group(l, "nic0")->members[2].resource);
        assert_null(hdha_table_get_group(l, "nic0")->members[2].node);

        data = slurp(group_file("nic0"), &n);
        assert_contains(data, "\"format\": 3");
        assert_contains(data, "\"group\": \"nic0\"");
        assert_contains(data, "\"step\": \"waiting-release\"");
        assert_contains(data, "\"frozen\": true");
        assert_contains(data, "\"resource\": \"hd:0\"");
        assert_contains(data, "\"node\": \"node1\"");
        assert_contains(data, "\"resource\": null");
        assert_contains(data, "\"node\": null");
        assert_true(data[n - 1] == '\n');
        data = mfree(data);
        data = slurp(group_file("hba \"1\""), &n);
        assert_contains(data, "\"active\": null");
        assert_contains(data, "\"frozen\": false");

        /* Writing one group touches its file only. */
        data = mfree(data);
        data = slurp(group_file("acc2"), &n);
        assert_int_equal(hdha_table_group_set_step(t->groups[0], HDHA_STEP_ATTACHING), 1);
        assert_int_equal(hdha_table_save_group(t->groups[0], folder), 0);
        l = hdha_table_free(l);
        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        assert_int_equal(hdha_table_get_group(l, "nic0")->step, HDHA_STEP_ATTACHING);
        {
                _cleanup_free_ char *again = NULL;
                size_t n_again;

                again = slurp(group_file("acc2"), &n_again);
                assert_true(n == n_again && memcmp(data, again, n) == 0);
        }
        assert_int_equal(count_in(folder), 3);

        /* A group gone from the table loses its file; an empty table, all. */
        assert_int_equal(hdha_table_remove_group(t, "acc2"), 0);
        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(count_in(folder), 2);
        assert_int_equal(access(group_file("acc2"), F_OK), -1);
        assert_int_equal(hdha_table_new(&e), 0);
        assert_int_equal(hdha_table_save(e, folder), 0);
        l = hdha_table_free(l);
        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        assert_int_equal(l->n_groups, 0);
        assert_int_equal(count_in(folder), 0);
        assert_int_equal(count_entries(), 1);
}

static void test_missing(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        char *msg = NULL, p[PATH_MAX + 32];

        assert_int_equal(hdha_table_load(folder, &t, &msg), HDHA_TABLE_MISSING);
        assert_non_null(t);
        assert_int_equal(t->n_groups, 0);
        assert_null(msg);
        t = hdha_table_free(t);
        assert_int_equal(hdha_table_load_group(folder, "nic0", &t, &msg), HDHA_TABLE_MISSING);
        assert_int_equal(t->n_groups, 0);
        assert_int_equal(count_entries(), 0);

        /* An empty folder: nothing allocated, not missing. */
        t = hdha_table_free(t);
        assert_int_equal(mkdir(folder, 0755), 0);
        assert_int_equal(hdha_table_load(folder, &t, &msg), 0);
        assert_int_equal(t->n_groups, 0);
        assert_int_equal(rmdir(folder), 0);

        /* A file where a folder should be is not "missing". */
        t = hdha_table_free(t);
        write_file(path, "x", 1);
        (void) snprintf(p, sizeof(p), "%s/table.json/t", dir);
        assert_int_equal(hdha_table_load(p, &t, &msg), -ENOTDIR);
        assert_null(t);
        assert_contains(msg, "cannot open");
        free(msg);
}

/* The JSON of one group in a valid file, with raw JSON for each field. */
static char *file_with(const char *name, const char *active, const char *gen, const char *op,
                       const char *step, const char *source, const char *target, const char *members) {
        char *s;

        assert_true(asprintf(&s,
                             "{\"format\": 1, \"groups\": [{\"group\": %s, \"active\": %s, \"generation\": %s, "
                             "\"operation\": %s, \"step\": %s, \"source\": %s, \"target\": %s, \"members\": %s}]}\n",
                             name ?: "\"g\"", active ?: "\"vm-a\"", gen ?: "3", op ?: "\"switch\"",
                             step ?: "\"attaching\"", source ?: "\"vm-a\"", target ?: "\"vm-b\"",
                             members ?: "[{\"domain\": \"vm-a\", \"role\": \"active\"}, "
                                        "{\"domain\": \"vm-b\", \"role\": \"standby\"}]") >= 0);
        return s;
}

#define MEMBER(d, r) "{\"domain\": \"" d "\", \"role\": \"" r "\"}"

/* head, then n items "prefix<i>suffix" separated by commas, then tail. */
static char *repeat(const char *head, const char *prefix, const char *suffix, int n, const char *tail) {
        size_t len = strlen(head) + (strlen(prefix) + strlen(suffix) + 16) * (size_t) n + strlen(tail) + 1, k;
        char *s = malloc(len);

        assert_non_null(s);
        k = (size_t) snprintf(s, len, "%s", head);
        for (int i = 0; i < n; i++)
                k += (size_t) snprintf(s + k, len - k, "%s%s%d%s", i ? "," : "", prefix, i, suffix);
        (void) snprintf(s + k, len - k, "%s", tail);
        return s;
}

static void check_bad_file(const char *content, size_t n, int error, const char *needle) {
        HdhaTable *t = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        char *msg = NULL;
        size_t n_after;

        write_file(path, content, n);
        before = slurp(path, &n);
        assert_int_equal(hdha_table_load(folder, &t, &msg), error);
        assert_null(t);
        assert_contains(msg, path);
        assert_contains(msg, needle);
        free(msg);
        /* Without a message wanted, the same error. */
        assert_int_equal(hdha_table_load(folder, &t, NULL), error);
        /* The file is left as it was. */
        after = slurp(path, &n_after);
        assert_true(n == n_after && memcmp(before, after, n) == 0);
        assert_int_equal(count_entries(), 1);
}

static void check_bad(char *content, const char *needle) {
        check_bad_file(content, strlen(content), -EBADMSG, needle);
        free(content);
}

static void test_corrupt(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *good = file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), *big = NULL;
        char long_name[HDHA_TABLE_NAME_MAX + 8], *deep;

        /* The base case is valid. */
        write_file(path, good, strlen(good));
        assert_int_equal(hdha_table_load(folder, &t, NULL), HDHA_TABLE_ONE_FILE_FOUND);
        assert_int_equal(t->groups[0]->step, HDHA_STEP_ATTACHING);

        /* Not JSON, or not all of it. */
        check_bad(strdup(""), "file is empty");
        check_bad(strdup(" \n"), "truncated");
        check_bad(strndup(good, strlen(good) / 2), "truncated");
        check_bad(strdup("not json"), "invalid JSON");
        check_bad(strdup("{\"format\": 1, \"groups\": [],}"), "invalid JSON");
        check_bad(strdup("{\"format\": 1, \"groups\": []} x"), "invalid JSON near byte 28");
        check_bad(strdup("{\"format\": 1, \"groups\": []}{}"), "invalid JSON near byte 27");
        check_bad(strdup("{\"format\": 1, \"groups\": [\"\xff\"]}"), "invalid JSON");
        check_bad_file("{\"format\": 1, \"groups\": []}\n\0", 29, -EBADMSG, "data after the JSON at byte 28");
        deep = malloc(101);
        assert_non_null(deep);
        memset(deep, '[', 100);
        deep[100] = 0;
        check_bad(deep, "invalid JSON");

        /* The top level. */
        check_bad(strdup("[]"), "top level is array, expected object");
        check_bad(strdup("{\"groups\": []}"), "missing key 'format'");
        check_bad(strdup("{\"format\": 3, \"groups\": [], \"new\": 1}"),
                  "format version 3 is not supported in table.json (expected 1 to 2)");
        check_bad(strdup("{\"format\": 0, \"groups\": []}"), "format version 0 is not supported");
        check_bad(strdup("{\"format\": \"1\", \"groups\": []}"), "format: is string, expected int");
        check_bad(strdup("{\"format\": 1}"), "missing key 'groups'");
        check_bad(strdup("{\"format\": 1, \"groups\": {}}"), "groups: is object, expected array");
        check_bad(strdup("{\"format\": 1, \"groups\": [], \"extra\": 0}"), "unknown key 'extra'");
        check_bad(strdup("{\"format\": 1, \"groups\": [1]}"), "groups[0]: is int, expected object");
        check_bad(repeat("{\"format\": 1, \"groups\": [", "", "", HDHA_TABLE_GROUPS_MAX + 1, "]}"),
                  "at most 1024");

        /* A group's fields. */
        check_bad(strdup("{\"format\": 1, \"groups\": [{\"group\": \"g\"}]}"), "missing key 'members'");
        check_bad(strdup("{\"format\": 1, \"groups\": [{\"group\": \"g\", \"x\": 1}]}"), "groups[0]: unknown key 'x'");
        check_bad(file_with("null", NULL, NULL, NULL, NULL, NULL, NULL, NULL), "groups[0].group: is null");
        check_bad(file_with("\"\"", NULL, NULL, NULL, NULL, NULL, NULL, NULL), "groups[0].group: invalid name");
        check_bad(file_with("\"a\\u0000b\"", NULL, NULL, NULL, NULL, NULL, NULL, NULL), "invalid name");
        check_bad(file_with("\"a\\nb\"", NULL, NULL, NULL, NULL, NULL, NULL, NULL), "invalid name");
        check_bad(file_with("\"a/b\"", NULL, NULL, NULL, NULL, NULL, NULL, NULL), "invalid name");
        memset(long_name, 'n', sizeof(long_name));
        long_name[0] = long_name[HDHA_TABLE_NAME_MAX + 2] = '"';
        long_name[HDHA_TABLE_NAME_MAX + 3] = 0;
        check_bad(file_with(long_name, NULL, NULL, NULL, NULL, NULL, NULL, NULL), "invalid name");
        check_bad(file_with(NULL, NULL, "-1", NULL, NULL, NULL, NULL, NULL), "generation: is negative");
        check_bad(file_with(NULL, NULL, "1.5", NULL, NULL, NULL, NULL, NULL), "generation: is double");
        check_bad(file_with(NULL, NULL, "\"3\"", NULL, NULL, NULL, NULL, NULL), "generation: is string");
        check_bad(file_with(NULL, NULL, "null", NULL, NULL, NULL, NULL, NULL), "generation: is null");
        check_bad(file_with(NULL, NULL, NULL, "\"migrate\"", NULL, NULL, NULL, NULL),
                  "operation: unknown operation 'migrate'");
        check_bad(file_with(NULL, NULL, NULL, NULL, "\"flying\"", NULL, NULL, NULL), "step: unknown step 'flying'");
        check_bad(file_with(NULL, NULL, NULL, NULL, "1", NULL, NULL, NULL), "step: is int, expected string");
        check_bad(file_with(NULL, "\"vm-z\"", NULL, NULL, NULL, NULL, NULL, NULL), "active: 'vm-z' is not a member");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, "\"vm-z\"", NULL, NULL), "source: 'vm-z' is not a member");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, "\"vm-z\"", NULL), "target: 'vm-z' is not a member");
        check_bad(file_with(NULL, NULL, NULL, "\"none\"", NULL, NULL, NULL, NULL), "operation none with a step");
        check_bad(file_with(NULL, NULL, NULL, "\"none\"", "\"none\"", "null", "\"vm-b\"", NULL),
                  "operation none with a step");

        /* Members. */
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL, "{}"), "members: is object, expected array");
        check_bad(file_with(NULL, "null", NULL, NULL, NULL, "null", "null", "[]"), "members: has 0 entries");
        big = repeat("[", "{\"domain\": \"vm", "\", \"role\": \"standby\"}", HDHA_TABLE_MEMBERS_MAX + 1, "]");
        check_bad(file_with(NULL, "null", NULL, NULL, NULL, "null", "null", big), "members: has 33 entries");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL, "[\"vm-a\"]"),
                  "groups[0].members[0]: is string, expected object");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL, "[" MEMBER("vm-a", "spare") "]"),
                  "groups[0].members[0].role: unknown role 'spare'");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL, "[{\"domain\": \"vm-a\"}]"),
                  "groups[0].members[0]: missing key 'role'");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                            "[{\"domain\": \"vm-a\", \"role\": \"active\", \"cpu\": 1}]"),
                  "members[0]: unknown key 'cpu'");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                            "[" MEMBER("vm-a", "active") "," MEMBER("vm-b", "standby") "," MEMBER("vm-a", "failed") "]"),
                  "members[2].domain: 'vm-a' is listed twice");
        check_bad(file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                            "[" MEMBER("vm-a", "active") "," MEMBER("vm-b", "active") "]"),
                  "members[1].role: a second member with role active");

        /* Two groups of one name. */
        check_bad(strdup("{\"format\": 1, \"groups\": ["
                         "{\"group\": \"g\", \"active\": null, \"generation\": 0, \"operation\": \"none\", "
                         "\"step\": \"none\", \"source\": null, \"target\": null, \"members\": [" MEMBER("a", "standby") "]},"
                         "{\"group\": \"g\", \"active\": null, \"generation\": 0, \"operation\": \"none\", "
                         "\"step\": \"none\", \"source\": null, \"target\": null, \"members\": [" MEMBER("a", "standby") "]}"
                         "]}"),
                  "groups[1].group: 'g' is listed twice");

        /* Too large, even if it were valid. */
        free(big);
        big = malloc(HDHA_TABLE_FILE_MAX + 1);
        assert_non_null(big);
        memset(big, ' ', HDHA_TABLE_FILE_MAX + 1);
        memcpy(big, "{\"format\": 1, \"groups\": []}", 27);
        check_bad_file(big, HDHA_TABLE_FILE_MAX + 1, -EFBIG, "larger than the limit");
        /* At the limit it is read. */
        t = hdha_table_free(t);
        write_file(path, big, HDHA_TABLE_FILE_MAX);
        assert_int_equal(hdha_table_load(folder, &t, NULL), HDHA_TABLE_ONE_FILE_FOUND);
        assert_int_equal(t->n_groups, 0);
}

#define MEMBER2(d, r, res, node) \
        "{\"domain\": \"" d "\", \"role\": \"" r "\", \"resource\": " res ", \"node\": " node "}"

/* A valid format 2 file, with raw JSON for frozen (NULL: true) and the
 * members (NULL: two, one with an instance). */
static char *file2_with(const char *frozen, const char *members) {
        char *s;

        assert_true(asprintf(&s,
                             "{\"format\": 2, \"groups\": [{\"group\": \"g\", \"active\": \"vm-a\", "
                             "\"generation\": 3, \"operation\": \"none\", \"step\": \"none\", \"source\": null, "
                             "\"target\": null, \"frozen\": %s, \"members\": %s}]}\n",
                             frozen ?: "true",
                             members ?: "[" MEMBER2("vm-a", "active", "\"hd:0\"", "\"node1\"") ","
                                        MEMBER2("vm-b", "standby", "null", "null") "]") >= 0);
        return s;
}

/* Format 2 read and refused; format 1 read and written as format 2. */
static void test_formats(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL, *l = NULL;
        _cleanup_free_ char *v2 = file2_with(NULL, NULL), *v1 = file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        _cleanup_free_ char *data = NULL;
        char *s;
        size_t n;

        write_file(path, v2, strlen(v2));
        assert_int_equal(hdha_table_load(folder, &t, NULL), HDHA_TABLE_ONE_FILE_FOUND);
        assert_true(t->groups[0]->frozen);
        assert_true(t->groups[0]->generation == 3);
        assert_string_equal(t->groups[0]->members[0].resource, "hd:0");
        assert_string_equal(t->groups[0]->members[0].node, "node1");
        assert_null(t->groups[0]->members[1].resource);
        assert_null(t->groups[0]->members[1].node);
        t = hdha_table_free(t);

        /* Format 1: not frozen, no instance known; upgraded by the next write. */
        write_file(path, v1, strlen(v1));
        assert_int_equal(hdha_table_load(folder, &t, NULL), HDHA_TABLE_ONE_FILE_FOUND);
        assert_false(t->groups[0]->frozen);
        assert_null(t->groups[0]->members[0].resource);
        assert_null(t->groups[0]->members[1].node);
        assert_int_equal(t->groups[0]->step, HDHA_STEP_ATTACHING);
        assert_true(t->groups[0]->generation == 3);
        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(access(path, F_OK), -1);
        data = slurp(group_file("g"), &n);
        assert_contains(data, "\"format\": 3");
        assert_contains(data, "\"frozen\": false");
        assert_contains(data, "\"resource\": null");
        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        assert_true(hdha_table_equal(t, l));
        assert_int_equal(unlink(group_file("g")), 0);
        assert_int_equal(rmdir(folder), 0);

        /* Every key of its format, and none of another. */
        s = file_with(NULL, NULL, NULL, NULL, NULL, NULL, NULL, "[" MEMBER2("vm-a", "active", "null", "null") ","
                      MEMBER("vm-b", "standby") "]");
        check_bad(s, "groups[0].members[0]: unknown key 'resource'");
        check_bad(strdup("{\"format\": 1, \"groups\": [{\"group\": \"g\", \"active\": null, \"generation\": 0, "
                         "\"operation\": \"none\", \"step\": \"none\", \"source\": null, \"target\": null, "
                         "\"frozen\": false, \"members\": [" MEMBER("a", "standby") "]}]}"),
                  "groups[0]: unknown key 'frozen'");
        check_bad(strdup("{\"format\": 2, \"groups\": [{\"group\": \"g\", \"active\": null, \"generation\": 0, "
                         "\"operation\": \"none\", \"step\": \"none\", \"source\": null, \"target\": null, "
                         "\"members\": [" MEMBER2("a", "standby", "null", "null") "]}]}"),
                  "groups[0]: missing key 'frozen'");
        check_bad(file2_with(NULL, "[" MEMBER("vm-a", "active") "]"), "groups[0].members[0]: missing key 'resource'");
        check_bad(file2_with(NULL, "[{\"domain\": \"vm-a\", \"role\": \"active\", \"resource\": null}]"),
                  "groups[0].members[0]: missing key 'node'");
        check_bad(file2_with(NULL, "[" MEMBER2("vm-a", "active", "null", "null") ","
                             "{\"domain\": \"vm-b\", \"role\": \"standby\", \"resource\": null, \"node\": null, "
                             "\"score\": 10}]"),
                  "groups[0].members[1]: unknown key 'score'");

        /* Their values. */
        check_bad(file2_with("1", NULL), "groups[0].frozen: is int, expected boolean");
        check_bad(file2_with("\"yes\"", NULL), "groups[0].frozen: is string, expected boolean");
        check_bad(file2_with("null", NULL), "groups[0].frozen: is null, expected boolean");
        check_bad(file2_with(NULL, "[" MEMBER2("vm-a", "active", "\"hd:0\"", "null") "]"),
                  "groups[0].members[0]: resource and node are both null or both names");
        check_bad(file2_with(NULL, "[" MEMBER2("vm-a", "active", "null", "\"node1\"") "]"),
                  "groups[0].members[0]: resource and node are both null or both names");
        check_bad(file2_with(NULL, "[" MEMBER2("vm-a", "active", "\"\"", "\"node1\"") "]"),
                  "groups[0].members[0].resource: invalid name");
        check_bad(file2_with(NULL, "[" MEMBER2("vm-a", "active", "\"hd:0\"", "\"a/b\"") "]"),
                  "groups[0].members[0].node: invalid name");
        check_bad(file2_with(NULL, "[" MEMBER2("vm-a", "active", "0", "\"node1\"") "]"),
                  "groups[0].members[0].resource: is int, expected string");
}

static void test_not_a_file(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample();
        HdhaTable *l = NULL;
        char *msg = NULL;

        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(hdha_table_load(folder, &l, &msg), -EBADMSG);
        assert_null(l);
        assert_contains(msg, path);
        assert_contains(msg, "not a regular file");
        free(msg);
        assert_int_equal(rmdir(path), 0);

        /* A folder where a group's file should be. */
        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(mkdir(group_file("x"), 0755), 0);
        assert_int_equal(hdha_table_load(folder, &l, &msg), -EBADMSG);
        assert_contains(msg, group_file("x"));
        assert_contains(msg, "not a regular file");
        free(msg);
}

/* The same three tables, group by group, whatever their order. */
static void assert_same_groups(const HdhaTable *a, const HdhaTable *b) {
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

/* A bad group file: a named error, every file left as it was. */
static void check_bad_group(const char *group, const char *content, const char *needle) {
        _cleanup_free_ char *before = NULL, *after = NULL;
        HdhaTable *t = NULL;
        char *msg = NULL;
        size_t n, n_after;
        int entries;

        write_file(group_file(group), content, strlen(content));
        before = slurp(group_file(group), &n);
        entries = count_in(folder);
        assert_int_equal(hdha_table_load(folder, &t, &msg), -EBADMSG);
        assert_null(t);
        assert_contains(msg, group_file(group));
        assert_contains(msg, needle);
        free(msg);
        after = slurp(group_file(group), &n_after);
        assert_true(n == n_after && memcmp(before, after, n) == 0);
        assert_int_equal(count_in(folder), entries);
        assert_int_equal(unlink(group_file(group)), 0);
}

static void test_group_files(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *l = NULL;
        _cleanup_free_ char *nic0 = NULL, *msg = NULL;
        char tmp[PATH_MAX + 64];
        size_t n;

        assert_int_equal(hdha_table_save(t, folder), 0);
        nic0 = slurp(group_file("nic0"), &n);

        check_bad_group("g", "not json", "invalid JSON");
        check_bad_group("g", "", "file is empty");
        check_bad_group("g", "[]", "top level is array, expected object");
        check_bad_group("g", "{\"group\": \"g\"}", "top level: missing key 'format'");
        check_bad_group("g", "{\"format\": 2, \"groups\": []}", "format version 2 is not supported in table.d "
                        "(expected 3)");
        check_bad_group("g", "{\"format\": 3, \"group\": \"g\", \"groups\": []}", "top level: unknown key 'groups'");
        check_bad_group("g", "{\"format\": 3, \"group\": \"g\", \"active\": null, \"generation\": 0, "
                        "\"operation\": \"none\", \"step\": \"none\", \"source\": null, \"target\": null, "
                        "\"members\": [" MEMBER2("a", "standby", "null", "null") "]}",
                        "top level: missing key 'frozen'");
        /* Its name says which group it holds. */
        check_bad_group("nic1", nic0, "holds group 'nic0', not 'nic1' as its name says");
        /* Files that are not a group's. */
        (void) snprintf(tmp, sizeof(tmp), "%s/.json", folder);
        write_file(tmp, "x", 1); /* hidden: skipped */
        (void) snprintf(tmp, sizeof(tmp), "%s/README", folder);
        write_file(tmp, "x", 1);
        assert_int_equal(hdha_table_load(folder, &l, &msg), -EBADMSG);
        assert_contains(msg, "README: not a group's file (NAME.json)");
        assert_int_equal(unlink(tmp), 0);

        /* A temporary file left by a write cut short is skipped. */
        (void) snprintf(tmp, sizeof(tmp), "%s/.nic0.json.Ab12Cd", folder);
        write_file(tmp, "{\"format\": 3", 12);
        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        assert_same_groups(t, l);
        l = hdha_table_free(l);

        /* One group's bad file does not keep the hook from reading another's. */
        write_file(group_file("nic0"), "x", 1);
        assert_int_equal(hdha_table_load_group(folder, "acc2", &l, NULL), 0);
        assert_int_equal(l->n_groups, 1);
        l = hdha_table_free(l);
        assert_int_equal(hdha_table_load_group(folder, "nic0", &l, NULL), -EBADMSG);
        assert_int_equal(hdha_table_load_group(folder, ".hidden", &l, NULL), -EINVAL);
        assert_null(l);
}

static void test_save_failures(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *l = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        HdhaTableGroup *g = t->groups[0];
        char p[PATH_MAX + 32];
        size_t n, n_after;

        /* No state folder, or a file in the way. */
        (void) snprintf(p, sizeof(p), "%s/missing/" HDHA_TABLE_DIR, dir);
        assert_int_equal(hdha_table_save_group(g, p), -ENOENT);
        assert_int_equal(count_entries(), 0);
        (void) snprintf(p, sizeof(p), "%s/file", dir);
        write_file(p, "x", 1);
        (void) snprintf(p, sizeof(p), "%s/file/" HDHA_TABLE_DIR, dir);
        assert_int_equal(hdha_table_save_group(g, p), -ENOTDIR);
        assert_int_equal(count_entries(), 1);
        (void) snprintf(p, sizeof(p), "%s/file", dir);
        assert_int_equal(unlink(p), 0);

        /* A group whose name cannot be a file's. */
        {
                _cleanup_(hdha_table_freep) HdhaTable *odd = NULL;
                HdhaTableGroup *h;

                assert_int_equal(hdha_table_new(&odd), 0);
                assert_int_equal(hdha_table_add_group(odd, ".x", &h), 0);
                assert_int_equal(hdha_table_save_group(h, folder), -EINVAL);
                assert_int_equal(count_entries(), 0);
        }

        assert_int_equal(hdha_table_save(t, folder), 0);
        before = slurp(group_file("nic0"), &n);
        assert_int_equal(hdha_table_group_set_step(g, HDHA_STEP_DEACTIVATING), 1);

        /* fsync of the file fails: the old file stays, no temporary file. */
        fsync_fail_at = 1;
        assert_int_equal(hdha_table_save_group(g, folder), -EIO);
        after = slurp(group_file("nic0"), &n_after);
        assert_true(n == n_after && memcmp(before, after, n) == 0);
        assert_int_equal(count_in(folder), 3);
        after = mfree(after);

        /* rename fails: the same. */
        fsync_fail_at = fsync_calls = 0;
        rename_fail_errno = EXDEV;
        assert_int_equal(hdha_table_save_group(g, folder), -EXDEV);
        after = slurp(group_file("nic0"), &n_after);
        assert_true(n == n_after && memcmp(before, after, n) == 0);
        assert_int_equal(count_in(folder), 3);
        after = mfree(after);
        rename_fail_errno = 0;

        /* fsync of the folder fails after the rename: reported, new file in place. */
        fsync_fail_at = 2;
        assert_int_equal(hdha_table_save_group(g, folder), -EIO);
        assert_int_equal(fsync_calls, 2);
        fsync_fail_at = 0;
        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        assert_same_groups(t, l);
        assert_int_equal(count_in(folder), 3);
}

/* The upgrade from the single file cut short after every write it makes
 * (the n-th fsync or rename fails, and nothing after it happens): the
 * table read afterwards is always the whole table, from the single file
 * until every group has its own file, then from the folder. */
static void test_upgrade_cut_short(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample();
        _cleanup_free_ char *text = NULL;
        bool finished = false;

        assert_int_equal(hdha_table_format(t, &text), 0);
        for (int k = 1; !finished; k++)
                for (int which = 0; which < 2; which++) {
                        _cleanup_(hdha_table_freep) HdhaTable *l = NULL;
                        int r;

                        write_file(path, text, strlen(text));
                        fsync_calls = rename_calls = 0;
                        fsync_fail_at = which == 0 ? k : 0;
                        rename_fail_at = which == 1 ? k : 0;
                        r = hdha_table_save(t, folder);
                        fsync_fail_at = rename_fail_at = 0;

                        r = hdha_table_load(folder, &l, NULL);
                        assert_true(r == 0 || r == HDHA_TABLE_ONE_FILE_FOUND);
                        assert_same_groups(t, l);
                        if (r == 0 && which == 0)
                                finished = true; /* the k-th fsync was past the last one */
                        /* Nothing hidden is left behind but what a crash leaves. */
                        assert_true(count_in(folder) <= 3);
                        if (r == 0)
                                assert_int_equal(access(path, F_OK), -1);
                        /* Start again from the single file alone. */
                        for (size_t i = 0; i < t->n_groups; i++)
                                (void) unlink(group_file(t->groups[i]->name));
                }
}

/* ---- the journal ------------------------------------------------------------ */

/* Appends a's record, and b's after it if b is not NULL, in one write:
 * the journal's size after. */
static uint64_t append(const HdhaTableGroup *a, const HdhaTableGroup *b) {
        const HdhaTableGroup *groups[] = { a, b };
        uint64_t size = 0;

        assert_int_equal(hdha_table_journal_append(folder, groups, b ? 2 : 1, &size), 0);
        return size;
}

/* A record written by hand (FNV-1a checksum), for the ones append() would
 * not write. */
static char *record(const char *group, const char *json) {
        _cleanup_free_ char *rest = NULL;
        uint32_t h = 2166136261u;
        char *s;

        assert_true(asprintf(&rest, "%zu %s\n%s\n", strlen(json), group, json) >= 0);
        for (const char *p = rest; *p; p++) {
                h ^= (unsigned char) *p;
                h *= 16777619u;
        }
        assert_true(asprintf(&s, "HDHA-J1 %08x %s", h, rest) >= 0);
        return s;
}

static void append_text(const char *text) {
        int fd = open(journal, O_WRONLY | O_APPEND | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_true(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        assert_int_equal(close(fd), 0);
}

static off_t journal_size(void) {
        struct stat st;

        assert_int_equal(stat(journal, &st), 0);
        return st.st_size;
}

/* Loading the whole table gives want, and so does each of its groups. */
static void assert_loads(const HdhaTable *want) {
        _cleanup_(hdha_table_freep) HdhaTable *l = NULL;

        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        assert_same_groups(want, l);
        for (size_t i = 0; i < want->n_groups; i++)
                assert_group_read(want, want->groups[i]->name);
}

static void test_journal_replay(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *old = NULL, *l = NULL;
        _cleanup_free_ char *json = NULL, *rec = NULL, *data = NULL;
        HdhaTableGroup *nic0 = t->groups[0], *acc2 = t->groups[2], *g;
        uint64_t size;
        struct stat st;
        mode_t old_umask;
        size_t n;

        assert_int_equal(hdha_table_save(t, folder), 0);

        /* The record is the group's file with a header. */
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_ATTACHING), 1);
        old_umask = umask(077);
        size = append(nic0, NULL);
        assert_int_equal(size, journal_size());
        (void) umask(old_umask);
        assert_int_equal(stat(journal, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(hdha_table_group_format(nic0, &json), 0);
        rec = record("nic0", json);
        data = slurp(journal, &n);
        assert_string_equal(data, rec);
        assert_loads(t);

        /* Several records of a group: the last wins; two groups in one append. */
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_LOWERING_QUOTA), 1);
        append(nic0, NULL);
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_DONE), 1);
        assert_int_equal(hdha_table_group_clear_operation(acc2), 1);
        append(acc2, nic0);
        assert_loads(t);

        /* A group that has no file yet. */
        assert_int_equal(hdha_table_add_group(t, "new one", &g), 0);
        assert_int_equal(hdha_table_group_add_member(g, "vm-n", HDHA_ROLE_STANDBY), 1);
        append(g, NULL);
        assert_loads(t);
        assert_int_equal(count_in(folder), 4);

        /* A record older than the file is skipped (a full save wrote the
         * file after it); one of the same generation is applied (frozen
         * does not change it). */
        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(hdha_table_dup(t, &old), 0);
        g = hdha_table_get_group(old, "nic0");
        assert_int_equal(hdha_table_group_set_step(g, HDHA_STEP_ATTACHING), 1);
        g->generation = nic0->generation - 1;
        append(g, NULL);
        assert_loads(t);
        assert_int_equal(hdha_table_group_set_frozen(nic0, false), 1);
        append(nic0, NULL);
        assert_loads(t);

        /* load_group applies its group's records only, and does not parse
         * the others' JSON; a whole load does. */
        rec = mfree(rec);
        rec = record("acc2", "{\"format\": 3}");
        append_text(rec);
        assert_int_equal(hdha_table_load_group(folder, "nic0", &l, NULL), 0);
        assert_int_equal(l->n_groups, 1);
        assert_string_equal(l->groups[0]->name, "nic0");
        assert_int_equal(l->groups[0]->generation, nic0->generation);
        l = hdha_table_free(l);
        assert_int_equal(hdha_table_load_group(folder, "nic1", &l, NULL), HDHA_TABLE_MISSING);
        assert_int_equal(l->n_groups, 0);
        l = hdha_table_free(l);
        assert_int_equal(hdha_table_load(folder, &l, NULL), -EBADMSG);

        /* A journal without any group file. */
        assert_int_equal(hdha_table_save(t, folder), 0);
        for (size_t i = 0; i < t->n_groups; i++)
                assert_int_equal(unlink(group_file(t->groups[i]->name)), 0);
        for (size_t i = 0; i < t->n_groups; i++)
                append(t->groups[i], NULL);
        assert_loads(t);
}

/* The journal holds text: a load fails with a message that names the
 * journal and the record, and leaves it as it was. */
static void check_bad_journal(const char *text, const char *needle) {
        _cleanup_free_ char *before = NULL, *after = NULL;
        HdhaTable *t = NULL;
        char *msg = NULL;
        size_t n, n_after;

        write_file(journal, text, strlen(text));
        before = slurp(journal, &n);
        assert_int_equal(hdha_table_load(folder, &t, &msg), -EBADMSG);
        assert_null(t);
        assert_contains(msg, journal);
        assert_contains(msg, needle);
        free(msg);
        assert_int_equal(hdha_table_load(folder, &t, NULL), -EBADMSG);
        after = slurp(journal, &n_after);
        assert_true(n == n_after && memcmp(before, after, n) == 0);
}

static void test_journal_torn(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *want = NULL;
        _cleanup_free_ char *full = NULL, *text = NULL, *json = NULL, *bad = NULL;
        HdhaTableGroup *nic0 = t->groups[0];
        uint64_t first, second;
        char needle[128], c;
        size_t n;

        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_ATTACHING), 1);
        first = append(nic0, NULL);
        assert_int_equal(hdha_table_dup(t, &want), 0);
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_DONE), 1);
        second = append(nic0, NULL);
        full = slurp(journal, &n);
        assert_int_equal(n, second);

        /* The journal ends anywhere inside the last record: the records
         * before it are the table. */
        for (uint64_t cut = first; cut < second; cut++) {
                write_file(journal, full, cut);
                assert_loads(want);
        }
        write_file(journal, full, second);
        assert_loads(t);

        /* Anything else is an error: a record garbled in the middle... */
        c = full[first / 2];
        full[first / 2] = c == 'x' ? 'y' : 'x';
        check_bad_journal(full, "record at byte 0: checksum mismatch");
        full[first / 2] = c;
        c = full[first + 12]; /* in the checksum of the last record, whole */
        full[first + 12] = c == '0' ? '1' : '0';
        (void) snprintf(needle, sizeof(needle), "record at byte %" PRIu64 ": checksum mismatch", first);
        check_bad_journal(full, needle);
        full[first + 12] = c;

        /* ... cut short in the middle (a record follows), or without the
         * newline its length says it ends with... */
        bad = record("x", "{}");
        assert_true(asprintf(&text, "%.*s%.*s%s", (int) first, full, (int) (first / 2), full, bad) >= 0);
        bad = mfree(bad);
        (void) snprintf(needle, sizeof(needle), "record at byte %" PRIu64 ": cut short before the record at byte %"
                        PRIu64, first, first + first / 2);
        check_bad_journal(text, needle);
        text = mfree(text);
        assert_true(asprintf(&text, "%.*s%.*sxx%s", (int) first, full, (int) (first - 2), full, full) >= 0);
        (void) snprintf(needle, sizeof(needle), "record at byte %" PRIu64 ": no newline at the end", first);
        check_bad_journal(text, needle);

        /* ... a bad header, a name that is not a group's, bad JSON (with
         * the name of the record in front of what the parser says). */
        check_bad_journal("HDHA-J2 00000000 2 g\n{}\n", "record at byte 0: bad header");
        check_bad_journal("HDHA-J1 0000000 2 g\n{}\n", "record at byte 0: bad header");
        check_bad_journal("HDHA-J1 0000000g 2 g\n{}\n", "record at byte 0: bad header");
        check_bad_journal("HDHA-J1 00000000 -2 g\n{}\n", "record at byte 0: bad header");
        check_bad_journal("HDHA-J1 00000000 2\n{}\n", "record at byte 0: bad header");
        check_bad_journal("HDHA-J1 00000000 99999999 g\n{}\n", "record at byte 0: bad header");
        bad = repeat("HDHA-J1 00000000 2 ", "", "", 300, "\n");
        check_bad_journal(bad, "record at byte 0: header too long");
        bad = mfree(bad);
        bad = record(".x", "{}");
        check_bad_journal(bad, "record at byte 0: invalid group name");
        bad = mfree(bad);
        bad = record("", "{}");
        check_bad_journal(bad, "record at byte 0: invalid group name");
        bad = mfree(bad);
        bad = record("nic0", "{\"format\": 3,}");
        check_bad_journal(bad, "record at byte 0: invalid JSON");
        bad = mfree(bad);
        assert_int_equal(hdha_table_group_format(t->groups[2], &json), 0);
        bad = record("nic0", json);
        check_bad_journal(bad, "record at byte 0: holds group 'acc2', not 'nic0'");

        /* Too large to be read. */
        assert_int_equal(truncate(journal, HDHA_TABLE_JOURNAL_MAX + 1), 0);
        {
                HdhaTable *l = NULL;
                _cleanup_free_ char *msg = NULL;

                assert_int_equal(hdha_table_load(folder, &l, &msg), -EFBIG);
                assert_contains(msg, journal);
                assert_contains(msg, "larger than the limit");
        }
}

/* A load applies each group's last record only, in the journal's order:
 * groups that only the journal has come in the order it wrote them, not
 * sorted by name. */
static void test_journal_order(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *back = NULL;
        HdhaTableGroup *nic0 = t->groups[0], *hba = t->groups[1];

        assert_string_equal(nic0->name, "nic0");
        assert_string_equal(hba->name, "hba \"1\"");
        (void) append(hba, nic0); /* no group files: the journal alone */
        assert_int_equal(hdha_table_group_set_frozen(hba, !hba->frozen), 1);
        (void) append(hba, NULL);
        assert_int_equal(hdha_table_load(folder, &back, NULL), 0);
        assert_int_equal(back->n_groups, 2);
        assert_string_equal(back->groups[0]->name, "nic0");
        assert_string_equal(back->groups[1]->name, "hba \"1\"");
        assert_int_equal(back->groups[1]->frozen, hba->frozen);
}

/* After a load, the first append needs a torn last record gone: trim cuts
 * it off (and only it), so that the next append follows the last whole
 * record. */
static void test_journal_trim(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *want = NULL;
        _cleanup_free_ char *full = NULL, *after = NULL;
        HdhaTableGroup *nic0 = t->groups[0];
        uint64_t first;
        size_t n;

        assert_int_equal(hdha_table_journal_trim(folder), 0); /* no journal */
        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_ATTACHING), 1);
        first = append(nic0, NULL);
        assert_int_equal(hdha_table_journal_trim(folder), 0); /* nothing torn */
        assert_int_equal(journal_size(), (off_t) first);
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_DONE), 1);
        (void) append(nic0, NULL);
        full = slurp(journal, &n);

        /* Torn after a few bytes of the second record: cut back to the
         * first; the next append follows it and loads. */
        write_file(journal, full, first + 5);
        assert_int_equal(hdha_table_journal_trim(folder), 1);
        assert_int_equal(journal_size(), (off_t) first);
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_RAISING_QUOTA), 1);
        assert_true(append(nic0, NULL) > first);
        assert_loads(t);

        /* A bad record before a torn one: left as it is, for the load to
         * name. */
        after = slurp(journal, &n);
        after[first / 2] = after[first / 2] == 'x' ? 'y' : 'x';
        write_file(journal, after, n - 3);
        assert_int_equal(hdha_table_journal_trim(folder), -EBADMSG);
        assert_int_equal(journal_size(), (off_t) (n - 3));
}

static void test_journal_append_failures(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *odd = NULL, *later = NULL;
        HdhaTableGroup *nic0 = t->groups[0], *h;
        const HdhaTableGroup *both[] = { t->groups[0], t->groups[2] };
        struct rlimit old_limit, limit;
        uint64_t size;

        /* No state folder; a group whose name cannot be a file's. */
        {
                char p[PATH_MAX + 32];

                (void) snprintf(p, sizeof(p), "%s/missing/" HDHA_TABLE_DIR, dir);
                assert_int_equal(hdha_table_journal_append(p, both, 2, NULL), -ENOENT);
        }
        assert_int_equal(hdha_table_new(&odd), 0);
        assert_int_equal(hdha_table_add_group(odd, ".x", &h), 0);
        assert_int_equal(hdha_table_journal_append(folder, (const HdhaTableGroup *const *) &h, 1, NULL), -EINVAL);
        assert_int_equal(count_entries(), 0);

        /* The fsync of the folder after the journal is made fails: it stays
         * empty. */
        assert_int_equal(hdha_table_save(t, folder), 0);
        fsync_fail_at = 1;
        assert_int_equal(hdha_table_journal_append(folder, both, 2, NULL), -EIO);
        fsync_fail_at = 0;
        assert_int_equal(journal_size(), 0);
        assert_loads(t);

        /* A write that fails half-way (the file size limit) is cut back. */
        assert_int_equal(hdha_table_group_set_step(nic0, HDHA_STEP_ATTACHING), 1);
        size = append(nic0, NULL);
        assert_int_equal(hdha_table_dup(t, &later), 0);
        assert_int_equal(hdha_table_group_set_step(later->groups[0], HDHA_STEP_DONE), 1);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
        limit = (struct rlimit) { .rlim_cur = size + 100, .rlim_max = old_limit.rlim_max };
        (void) signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
        assert_int_equal(hdha_table_journal_append(folder, (const HdhaTableGroup *const *) later->groups, 3, NULL),
                         -EFBIG);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
        (void) signal(SIGXFSZ, SIG_DFL);
        assert_int_equal(journal_size(), size);
        assert_loads(t);

        /* An append that would pass the journal's limit is refused. */
        assert_int_equal(truncate(journal, HDHA_TABLE_JOURNAL_MAX - 10), 0);
        assert_int_equal(hdha_table_journal_append(folder, both, 1, NULL), -EFBIG);
        assert_int_equal(journal_size(), HDHA_TABLE_JOURNAL_MAX - 10);
}

/* A full save empties the journal; cut short after any of its writes, the
 * table read is the newest, from the files and what is left of the
 * journal. */
static void test_journal_compaction(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *old = table_sample(), *t = table_sample();
        HdhaTableGroup *g;
        bool finished = false;

        assert_int_equal(hdha_table_group_set_step(t->groups[0], HDHA_STEP_ATTACHING), 1);
        assert_int_equal(hdha_table_group_set_frozen(t->groups[2], true), 1);
        assert_int_equal(hdha_table_add_group(t, "new", &g), 0);
        assert_int_equal(hdha_table_group_add_member(g, "vm-n", HDHA_ROLE_STANDBY), 1);

        for (int k = 1; !finished; k++)
                for (int which = 0; which < 2; which++) {
                        int r;

                        assert_int_equal(hdha_table_save(old, folder), 0);
                        assert_int_equal(access(journal, F_OK), -1);
                        append(t->groups[0], t->groups[2]);
                        append(g, NULL);

                        fsync_calls = rename_calls = 0;
                        fsync_fail_at = which == 0 ? k : 0;
                        rename_fail_at = which == 1 ? k : 0;
                        r = hdha_table_save(t, folder);
                        fsync_fail_at = rename_fail_at = 0;
                        assert_loads(t);
                        if (r == 0 && which == 0) {
                                finished = true; /* the k-th fsync was past the last one */
                                assert_int_equal(access(journal, F_OK), -1);
                                assert_int_equal(count_in(folder), 4);
                        }
                }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_save_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_upgrade_cut_short, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_replay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_torn, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_trim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_append_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_compaction, setup, teardown),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("table-file", tests, NULL, NULL);
}
