/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's journal, STATEDIR/table.d/journal: records of
 * groups appended with one flush, replayed over the group files by a load
 * (table-store.c reads the files, table-file.c the JSON). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table-internal.h"

#define errmsg hdha_table_errmsg
#define MAGIC "HDHA-J1 "
/* The checksum: 8 hex digits and a space after MAGIC. */
#define SUM_END (strlen(MAGIC) + 9)
/* ... then the length (7 digits at most) and a space, a name, '\n'. */
#define HEADER_MAX (SUM_END + 8 + HDHA_TABLE_NAME_MAX + 1)

typedef struct Record {
        char name[HDHA_TABLE_NAME_MAX + 1];
        const char *json;
        size_t json_size;
        size_t size; /* of the whole record */
} Record;

/* FNV-1a, 32 bits: catches a torn or garbled record, nothing more. */
static uint32_t checksum(const char *p, size_t n) {
        uint32_t h = UINT32_C(2166136261);

        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) p[i];
                h *= UINT32_C(16777619);
        }
        return h;
}

/* Reads the unsigned number of digits at *p up to the character end;
 * false if there is none, or a character that is not a digit of base, or
 * more than max_digits. */
static bool read_number(const char **p, const char *limit, char end, unsigned base, size_t max_digits,
                        uint64_t *ret) {
        const char *q = *p;
        uint64_t v = 0;

        for (; q < limit && *q != end; q++) {
                const char *digits = "0123456789abcdef", *d = memchr(digits, *q, base);

                if (!d || (size_t) (q - *p) >= max_digits)
                        return false;
                v = v * base + (uint64_t) (d - digits);
        }
        if (q == *p || q == limit)
                return false;
        *p = q + 1;
        *ret = v;
        return true;
}

/* The record at p, n bytes before the journal's end: 1 and the record, 0
 * if the journal ends inside it, or -EBADMSG and what is wrong. */
static int read_record(const char *p, size_t n, Record *ret, const char **ret_what) {
        const char *nl = memchr(p, '\n', MIN(n, HEADER_MAX)), *q = p + strlen(MAGIC);
        uint64_t sum, length;
        size_t name_len, size;

        if (!nl) {
                if (n >= HEADER_MAX) {
                        *ret_what = "header too long";
                        return -EBADMSG;
                }
                return 0;
        }
        if ((size_t) (nl - p) < strlen(MAGIC) || memcmp(p, MAGIC, strlen(MAGIC)) != 0 ||
            !read_number(&q, nl, ' ', 16, 8, &sum) || q != p + SUM_END ||
            !read_number(&q, nl, ' ', 10, 7, &length) ||
            length > HDHA_TABLE_FILE_MAX) {
                *ret_what = "bad header";
                return -EBADMSG;
        }
        name_len = (size_t) (nl - q);
        if (name_len > HDHA_TABLE_NAME_MAX || memchr(q, 0, name_len)) {
                *ret_what = "invalid group name";
                return -EBADMSG;
        }
        memcpy(ret->name, q, name_len);
        ret->name[name_len] = 0;
        if (!hdha_table_group_file_name_ok(ret->name)) {
                *ret_what = "invalid group name";
                return -EBADMSG;
        }

        size = (size_t) (nl + 1 - p) + length + 1;
        if (size > n)
                return 0;
        if (p[size - 1] != '\n') {
                *ret_what = "no newline at the end";
                return -EBADMSG;
        }
        if (checksum(p + SUM_END, size - SUM_END) != sum) {
                *ret_what = "checksum mismatch";
                return -EBADMSG;
        }
        ret->json = nl + 1;
        ret->json_size = length;
        ret->size = size;
        return 1;
}

/* The first whole record after p's first byte, or NULL. A record the
 * journal seems to end inside is cut short in the middle (or its length
 * is wrong) if one follows: an append cut short is the last. */
static const char *record_after(const char *p, size_t n) {
        for (const char *q = p + 1; (q = memmem(q, n - (size_t) (q - p), MAGIC, strlen(MAGIC))); q++) {
                const char *what;
                Record rec;

                if (read_record(q, n - (size_t) (q - p), &rec, &what) > 0)
                        return q;
        }
        return NULL;
}

/* The record's group replaces t's of that name, unless it is older. */
static int apply_record(HdhaTable *t, const Record *rec, const char *where, char **reterr) {
        _cleanup_(hdha_table_freep) HdhaTable *scratch = NULL;
        const HdhaTableGroup *old;
        int r;

        r = hdha_table_new(&scratch);
        if (r < 0)
                return r;
        r = hdha_table_group_parse(scratch, rec->json, rec->json_size, where, rec->name, reterr);
        if (r < 0)
                return r;
        old = hdha_table_get_group(t, rec->name);
        if (old && scratch->groups[0]->generation < old->generation)
                return 0; /* a full save wrote a newer file after the record */
        r = hdha_table_move_group(t, scratch, rec->name);
        if (r == -E2BIG)
                return errmsg(reterr, r, "%s: more than %d groups", where, HDHA_TABLE_GROUPS_MAX);
        return r;
}

typedef struct Entry {
        size_t off;
        Record rec;
} Entry;

static int cmp_by_offset(const void *a, const void *b) {
        const Entry *x = a, *y = b;

        return x->off < y->off ? -1 : x->off > y->off;
}

/* By group, then in the journal's order. */
static int cmp_by_group(const void *a, const void *b) {
        const Entry *x = a, *y = b;
        int c = strcmp(x->rec.name, y->rec.name);

        return c != 0 ? c : cmp_by_offset(a, b);
}

/* Every whole record is checked (header, checksum, a cut in the middle),
 * but only each group's last one is parsed and applied: it holds the
 * group's whole state, so the result is the same as applying them all in
 * order, and a start-up after many writes does not parse each of them. */
int hdha_table_journal_replay(HdhaTable *t, const char *text, size_t size, const char *name, const char *group,
                              char **reterr_message) {
        _cleanup_free_ Entry *entries = NULL;
        size_t n = 0, allocated = 0, off = 0, last = 0;

        if (!t || (!text && size > 0) || !name)
                return -EINVAL;
        while (off < size) {
                const char *what = NULL;
                Record rec;
                int r;

                r = read_record(text + off, size - off, &rec, &what);
                if (r < 0)
                        return errmsg(reterr_message, r, "%s: record at byte %zu: %s", name, off, what);
                if (r == 0) {
                        const char *next = record_after(text + off, size - off);

                        if (next)
                                return errmsg(reterr_message, -EBADMSG,
                                              "%s: record at byte %zu: cut short before the record at byte %zu",
                                              name, off, (size_t) (next - text));
                        break; /* that append was never acknowledged: nothing acted on it */
                }
                if (!group || streq(rec.name, group)) {
                        if (n == allocated) {
                                Entry *e = reallocarray(entries, allocated ? allocated * 2 : 64, sizeof(*e));

                                if (!e)
                                        return -ENOMEM;
                                entries = e;
                                allocated = allocated ? allocated * 2 : 64;
                        }
                        entries[n++] = (Entry) { off, rec };
                }
                off += rec.size;
        }

        /* Each group's last record, then those in the journal's order: a
         * group the files do not have is added where its last record is. */
        if (n > 0)
                qsort(entries, n, sizeof(*entries), cmp_by_group);
        for (size_t i = 0; i < n; i++)
                if (i + 1 == n || !streq(entries[i].rec.name, entries[i + 1].rec.name))
                        entries[last++] = entries[i];
        if (last > 0)
                qsort(entries, last, sizeof(*entries), cmp_by_offset);
        for (size_t i = 0; i < last; i++) {
                _cleanup_free_ char *where = NULL;
                int r;

                if (asprintf(&where, "%s: record at byte %zu", name, entries[i].off) < 0)
                        return -ENOMEM;
                r = apply_record(t, &entries[i].rec, where, reterr_message);
                if (r < 0)
                        return r;
        }
        return 0;
}

size_t hdha_table_journal_whole(const char *text, size_t size) {
        size_t off = 0;

        while (off < size) {
                const char *what;
                Record rec;

                if (read_record(text + off, size - off, &rec, &what) <= 0)
                        break;
                off += rec.size;
        }
        return off;
}

int hdha_table_journal_format(const HdhaTableGroup *const *groups, size_t n, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *json = NULL, *rest = NULL;
                size_t len;
                char *a;
                int k, r;

                if (!hdha_table_group_file_name_ok(groups[i]->name))
                        return -EINVAL;
                r = hdha_table_group_format(groups[i], &json);
                if (r < 0)
                        return r;
                /* What the checksum covers: all that follows it. */
                k = asprintf(&rest, "%zu %s\n%s\n", strlen(json), groups[i]->name, json);
                if (k < 0)
                        return -ENOMEM;
                len = SUM_END + (size_t) k;
                if (len > HDHA_TABLE_FILE_MAX)
                        return -EFBIG;
                a = realloc(buf, size + len + 1);
                if (!a)
                        return -ENOMEM;
                buf = a;
                (void) snprintf(buf + size, len + 1, MAGIC "%08" PRIx32 " %s", checksum(rest, (size_t) k), rest);
                size += len;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* The journal of the folder path open to append, made (with the folder)
 * if it is missing. */
static int open_journal(const char *path, const char *file) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0)
                return TAKE_FD(fd);
        if (errno != ENOENT)
                return -errno;
        r = hdha_table_make_folder(path);
        if (r < 0)
                return r;
        fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0) /* whatever the umask */
                return -errno;
        r = hdha_table_fsync_folder(path);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int hdha_table_journal_append(const char *path, const HdhaTableGroup *const *groups, size_t n, uint64_t *ret_size) {
        _cleanup_free_ char *file = NULL, *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        size_t size = 0;
        int r;

        if (!path || (!groups && n > 0))
                return -EINVAL;
        r = hdha_table_journal_format(groups, n, &data, &size);
        if (r < 0)
                return r;
        if (asprintf(&file, "%s/" HDHA_TABLE_JOURNAL, path) < 0)
                return -ENOMEM;
        fd = open_journal(path, file);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size + size > HDHA_TABLE_JOURNAL_MAX)
                return -EFBIG;

        r = hdha_table_write_all(fd, data, size);
        if (r >= 0 && fdatasync(fd) < 0)
                r = -errno;
        if (r < 0) {
                /* A record cut short is ignored only at the end: the next
                 * append would put it in the middle. */
                (void) ftruncate(fd, st.st_size);
                return r;
        }
        if (ret_size)
                *ret_size = (uint64_t) st.st_size + size;
        return 0;
}
