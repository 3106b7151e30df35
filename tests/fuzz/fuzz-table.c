/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's files (lib/table-file.c, lib/table-journal.c):
 * any text is read, as the single file of formats 1 and 2, as one group's
 * file (format 3) and as the journal; a table read obeys the table's
 * rules, and written out and read back it is the same table and the same
 * text, each of its groups in a file of its own and in a journal too. */
#include <errno.h>

#include "fuzz-util.h"
#include "macro.h"
#include "table-internal.h"
#include "table.h"

static void check_rules(const HdhaTable *t) {
        FUZZ_CHECK(t->n_groups <= HDHA_TABLE_GROUPS_MAX);
        for (size_t i = 0; i < t->n_groups; i++) {
                const HdhaTableGroup *g = t->groups[i];
                size_t n_active = 0;

                FUZZ_CHECK(hdha_table_name_is_valid(g->name));
                FUZZ_CHECK(hdha_table_get_group(t, g->name) == g);
                FUZZ_CHECK(g->n_members >= 1 && g->n_members <= HDHA_TABLE_MEMBERS_MAX);
                for (size_t j = 0; j < g->n_members; j++) {
                        FUZZ_CHECK(hdha_table_name_is_valid(g->members[j].domain));
                        FUZZ_CHECK(hdha_table_group_get_member(g, g->members[j].domain) == &g->members[j]);
                        FUZZ_CHECK(hdha_role_to_string(g->members[j].role));
                        n_active += g->members[j].role == HDHA_ROLE_ACTIVE;
                }
                FUZZ_CHECK(n_active <= 1);
                FUZZ_CHECK(!g->active || hdha_table_group_get_member(g, g->active));
                FUZZ_CHECK(!g->op_source || hdha_table_group_get_member(g, g->op_source));
                FUZZ_CHECK(!g->op_target || hdha_table_group_get_member(g, g->op_target));
                FUZZ_CHECK(hdha_operation_to_string(g->operation));
                FUZZ_CHECK(hdha_step_to_string(g->step));
                if (g->operation == HDHA_OPERATION_NONE)
                        FUZZ_CHECK(g->step == HDHA_STEP_NONE && !g->op_source && !g->op_target);
        }
}

/* Each group of t as its own file, read back: the same group. */
static void check_group_files(const HdhaTable *t) {
        for (size_t i = 0; i < t->n_groups; i++) {
                _cleanup_(hdha_table_freep) HdhaTable *one = NULL, *back = NULL;
                _cleanup_free_ char *text = NULL, *err = NULL;
                int r;

                if (hdha_table_dup(t, &one) < 0)
                        return;
                for (size_t k = one->n_groups; k > 0; k--)
                        if (!streq(one->groups[k - 1]->name, t->groups[i]->name))
                                (void) hdha_table_remove_group(one, one->groups[k - 1]->name);
                if (hdha_table_group_format(t->groups[i], &text) < 0 || hdha_table_new(&back) < 0)
                        return;
                r = hdha_table_group_parse(back, text, strlen(text), "g.json", t->groups[i]->name, &err);
                if (r == -ENOMEM)
                        return;
                if (r != 0)
                        fprintf(stderr, "written group not read back: %s\n", strna(err));
                FUZZ_CHECK(r == 0 && hdha_table_equal(one, back));
        }
}

/* t's groups as a journal (unless a name cannot be a file's), replayed:
 * the same table. */
static void check_journal(const HdhaTable *t) {
        _cleanup_(hdha_table_freep) HdhaTable *back = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        size_t n;
        int r;

        r = hdha_table_journal_format((const HdhaTableGroup *const *) t->groups, t->n_groups, &text, &n);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EFBIG || r == -ENOMEM);
        if (r < 0 || hdha_table_new(&back) < 0)
                return;
        r = hdha_table_journal_replay(back, text, n, "journal", NULL, &err);
        if (r == -ENOMEM)
                return;
        if (r != 0)
                fprintf(stderr, "written journal not read back: %s\n", strna(err));
        FUZZ_CHECK(r == 0 && hdha_table_equal(t, back));
}

/* The input as one group's file. */
static void fuzz_group_file(const uint8_t *data, size_t size) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        if (hdha_table_new(&t) < 0)
                return;
        r = hdha_table_group_parse(t, (const char *) data, size, "g.json", NULL, &err);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EFBIG || r == -ENOMEM);
        if (r == -EBADMSG || r == -EFBIG)
                FUZZ_CHECK(err && strncmp(err, "g.json: ", 8) == 0);
        if (r < 0)
                return;
        FUZZ_CHECK(t->n_groups == 1);
        check_rules(t);
        check_group_files(t);
        check_journal(t);
}

/* The input as a journal, replayed into an empty table; replayed for its
 * last group only, that group alone, the same. */
static void fuzz_journal(const uint8_t *data, size_t size) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL, *one = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        if (hdha_table_new(&t) < 0)
                return;
        r = hdha_table_journal_replay(t, (const char *) data, size, "journal", NULL, &err);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -E2BIG || r == -ENOMEM);
        if (r == -EBADMSG || r == -E2BIG)
                FUZZ_CHECK(err && strncmp(err, "journal: record at byte ", 24) == 0);
        if (r < 0)
                return;
        check_rules(t);
        check_journal(t);

        if (t->n_groups == 0 || hdha_table_new(&one) < 0)
                return;
        r = hdha_table_journal_replay(one, (const char *) data, size, "journal", t->groups[t->n_groups - 1]->name,
                                      NULL);
        if (r == -ENOMEM)
                return;
        for (size_t i = t->n_groups - 1; i > 0; i--)
                (void) hdha_table_remove_group(t, t->groups[i - 1]->name);
        FUZZ_CHECK(r == 0 && hdha_table_equal(t, one));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL, *back = NULL, *copy = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL, *text2 = NULL, *err2 = NULL;
        int r;

        fuzz_group_file(data, size);
        fuzz_journal(data, size);

        r = hdha_table_parse((const char *) data, size, "table.json", &t, &err);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EFBIG || r == -ENOMEM);
        if (r == -EBADMSG || r == -EFBIG)
                FUZZ_CHECK(err && strncmp(err, "table.json: ", 12) == 0);
        if (r < 0)
                return 0;

        /* JSON text has no NUL byte (a string escapes it as \u0000). */
        FUZZ_CHECK(!memchr(data, 0, size));
        check_rules(t);

        r = hdha_table_format(t, &text);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return 0;
        r = hdha_table_parse(text, strlen(text), "table.json", &back, &err2);
        if (r == -ENOMEM)
                return 0;
        if (r != 0)
                fprintf(stderr, "written table not read back: %s\n", strna(err2));
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(hdha_table_equal(t, back));
        r = hdha_table_format(back, &text2);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0 && streq(text, text2));

        r = hdha_table_dup(t, &copy);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0 && hdha_table_equal(t, copy));
        check_group_files(t);
        check_journal(t);
        return 0;
}
