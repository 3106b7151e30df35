/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table's journal: replay, torn and bad records, trim, failed
 * appends, compaction by a full save. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "table-folder.h"
#include "table-sample.h"

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

                (void) snprintf(p, sizeof(p), "%s/missing/" HDHA_TABLE_DIR, state_dir);
                assert_int_equal(hdha_table_journal_append(p, both, 2, NULL), -ENOENT);
        }
        assert_int_equal(hdha_table_new(&odd), 0);
        assert_int_equal(hdha_table_add_group(odd, ".x", &h), 0);
        assert_int_equal(hdha_table_journal_append(folder, (const HdhaTableGroup *const *) &h, 1, NULL), -EINVAL);
        assert_int_equal(count_in(state_dir), 0);

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
 * journal, and no temporary file is left. The files are flushed under
 * their temporary names, then renamed with one flush of the folder for
 * all. */
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
                        assert_int_equal(count_hidden_in(folder), 0);
                        if (r == 0 && which == 0) {
                                finished = true; /* the k-th fsync was past the last one */
                                assert_int_equal(access(journal, F_OK), -1);
                                assert_int_equal(count_in(folder), 4);
                                /* Three files changed: three flushes, one of the
                                 * folder, one for the journal's removal. */
                                assert_int_equal(fsync_calls, 5);
                        }
                }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                table_folder_test(test_journal_replay),
                table_folder_test(test_journal_torn),
                table_folder_test(test_journal_order),
                table_folder_test(test_journal_trim),
                table_folder_test(test_journal_append_failures),
                table_folder_test(test_journal_compaction),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("table-journal", tests, NULL, NULL);
}
