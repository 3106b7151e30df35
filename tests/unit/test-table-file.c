/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's files: round trips, corrupt and old formats,
 * one file per group, failed and interrupted saves. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "macro.h"
#include "table.h"

#include "table-folder.h"
#include "table-sample.h"

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
        assert_int_equal(count_in(state_dir), 1);
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
        assert_int_equal(count_in(state_dir), 1);
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
        assert_int_equal(count_in(state_dir), 0);

        /* An empty folder: nothing allocated, not missing. */
        t = hdha_table_free(t);
        assert_int_equal(mkdir(folder, 0755), 0);
        assert_int_equal(hdha_table_load(folder, &t, &msg), 0);
        assert_int_equal(t->n_groups, 0);
        assert_int_equal(rmdir(folder), 0);

        /* A file where a folder should be is not "missing". */
        t = hdha_table_free(t);
        write_file(one_file, "x", 1);
        (void) snprintf(p, sizeof(p), "%s/table.json/t", state_dir);
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

static void check_bad_file(const char *content, size_t n, int error, const char *needle) {
        HdhaTable *t = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        char *msg = NULL;
        size_t n_after;

        write_file(one_file, content, n);
        before = slurp(one_file, &n);
        assert_int_equal(hdha_table_load(folder, &t, &msg), error);
        assert_null(t);
        assert_contains(msg, one_file);
        assert_contains(msg, needle);
        free(msg);
        /* Without a message wanted, the same error. */
        assert_int_equal(hdha_table_load(folder, &t, NULL), error);
        /* The file is left as it was. */
        after = slurp(one_file, &n_after);
        assert_true(n == n_after && memcmp(before, after, n) == 0);
        assert_int_equal(count_in(state_dir), 1);
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
        write_file(one_file, good, strlen(good));
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
        write_file(one_file, big, HDHA_TABLE_FILE_MAX);
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

        write_file(one_file, v2, strlen(v2));
        assert_int_equal(hdha_table_load(folder, &t, NULL), HDHA_TABLE_ONE_FILE_FOUND);
        assert_true(t->groups[0]->frozen);
        assert_true(t->groups[0]->generation == 3);
        assert_string_equal(t->groups[0]->members[0].resource, "hd:0");
        assert_string_equal(t->groups[0]->members[0].node, "node1");
        assert_null(t->groups[0]->members[1].resource);
        assert_null(t->groups[0]->members[1].node);
        t = hdha_table_free(t);

        /* Format 1: not frozen, no instance known; upgraded by the next write. */
        write_file(one_file, v1, strlen(v1));
        assert_int_equal(hdha_table_load(folder, &t, NULL), HDHA_TABLE_ONE_FILE_FOUND);
        assert_false(t->groups[0]->frozen);
        assert_null(t->groups[0]->members[0].resource);
        assert_null(t->groups[0]->members[1].node);
        assert_int_equal(t->groups[0]->step, HDHA_STEP_ATTACHING);
        assert_true(t->groups[0]->generation == 3);
        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(access(one_file, F_OK), -1);
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

        assert_int_equal(mkdir(one_file, 0755), 0);
        assert_int_equal(hdha_table_load(folder, &l, &msg), -EBADMSG);
        assert_null(l);
        assert_contains(msg, one_file);
        assert_contains(msg, "not a regular file");
        free(msg);
        assert_int_equal(rmdir(one_file), 0);

        /* A folder where a group's file should be. */
        assert_int_equal(hdha_table_save(t, folder), 0);
        assert_int_equal(mkdir(group_file("x"), 0755), 0);
        assert_int_equal(hdha_table_load(folder, &l, &msg), -EBADMSG);
        assert_contains(msg, group_file("x"));
        assert_contains(msg, "not a regular file");
        free(msg);
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
        (void) snprintf(p, sizeof(p), "%s/missing/" HDHA_TABLE_DIR, state_dir);
        assert_int_equal(hdha_table_save_group(g, p), -ENOENT);
        assert_int_equal(count_in(state_dir), 0);
        (void) snprintf(p, sizeof(p), "%s/file", state_dir);
        write_file(p, "x", 1);
        (void) snprintf(p, sizeof(p), "%s/file/" HDHA_TABLE_DIR, state_dir);
        assert_int_equal(hdha_table_save_group(g, p), -ENOTDIR);
        assert_int_equal(count_in(state_dir), 1);
        (void) snprintf(p, sizeof(p), "%s/file", state_dir);
        assert_int_equal(unlink(p), 0);

        /* A group whose name cannot be a file's. */
        {
                _cleanup_(hdha_table_freep) HdhaTable *odd = NULL;
                HdhaTableGroup *h;

                assert_int_equal(hdha_table_new(&odd), 0);
                assert_int_equal(hdha_table_add_group(odd, ".x", &h), 0);
                assert_int_equal(hdha_table_save_group(h, folder), -EINVAL);
                assert_int_equal(count_in(state_dir), 0);
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

                        write_file(one_file, text, strlen(text));
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
                                assert_int_equal(access(one_file, F_OK), -1);
                        /* Start again from the single file alone. */
                        for (size_t i = 0; i < t->n_groups; i++)
                                (void) unlink(group_file(t->groups[i]->name));
                }
}

/* The temporary files of a write cut short go; nothing else does. */
static void test_remove_temporaries(void **state) {
        _cleanup_(hdha_table_freep) HdhaTable *t = table_sample(), *l = NULL;
        static const char *const kept[] = { ".keep", ".json.abcdef", ".nic0.json.abc", ".nic0.json" };
        char p[PATH_MAX + 64];

        assert_int_equal(hdha_table_remove_temporaries(folder), 0); /* no folder yet */
        assert_int_equal(hdha_table_save(t, folder), 0);
        for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                (void) snprintf(p, sizeof(p), "%s/%s", folder, kept[i]);
                write_file(p, "x", 1);
        }
        (void) snprintf(p, sizeof(p), "%s/.nic0.json.Ab12Cd", folder);
        write_file(p, "{", 1);
        (void) snprintf(p, sizeof(p), "%s/.hba \"1\".json.x9Y8z7", folder);
        write_file(p, "", 0);
        assert_int_equal(count_hidden_in(folder), 6);

        assert_int_equal(hdha_table_remove_temporaries(folder), 2);
        assert_int_equal(count_hidden_in(folder), 4);
        assert_int_equal(count_in(folder), 7);
        assert_int_equal(hdha_table_load(folder, &l, NULL), 0);
        assert_same_groups(t, l);
        assert_int_equal(hdha_table_remove_temporaries(folder), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                table_folder_test(test_round_trip),
                table_folder_test(test_missing),
                table_folder_test(test_corrupt),
                table_folder_test(test_formats),
                table_folder_test(test_not_a_file),
                table_folder_test(test_group_files),
                table_folder_test(test_save_failures),
                table_folder_test(test_upgrade_cut_short),
                table_folder_test(test_remove_temporaries),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("table-file", tests, NULL, NULL);
}
