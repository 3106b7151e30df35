/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's files: one per group in STATEDIR/table.d, written
 * durably (temporary file, fsync, rename, fsync of the folder), and the
 * journal there replayed after them (table-journal.c), emptied by a full
 * save; the single file of older formats beside it read while it exists
 * and removed once every group has its own file. table-file.c reads and
 * writes the text. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "table-internal.h"
#include "table.h"

#define errmsg hdha_table_errmsg
#define SUFFIX ".json"

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* Removes the file named and frees the name: for temporary files that must
 * not outlive a failure. */
static void unlink_and_freep(char **p) {
        if (*p) {
                (void) unlink(*p);
                free(*p);
        }
}

/* ---- paths ------------------------------------------------------------------ */

int hdha_table_path(const char *state_directory, char **ret) {
        char *p;

        if (!state_directory)
                return -EINVAL;
        if (asprintf(&p, "%s/" HDHA_TABLE_DIR, state_directory) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* The folder that holds path ("." or "/" at the ends). */
static char *parent_of(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t) (slash - path));
}

/* The single file of the older formats, beside the folder path. */
static int one_file_path(const char *path, char **ret) {
        _cleanup_free_ char *dir = parent_of(path);

        if (!dir)
                return -ENOMEM;
        if (asprintf(ret, "%s/" HDHA_TABLE_ONE_FILE, streq(dir, "/") ? "" : dir) < 0)
                return -ENOMEM;
        return 0;
}

/* NAME.json with a NAME. */
static bool is_group_file(const char *name) {
        size_t len = strlen(name);

        return len > strlen(SUFFIX) && streq(name + len - strlen(SUFFIX), SUFFIX);
}

/* A group's file is its name and ".json"; a name starting with a dot would
 * be taken for a temporary file. */
bool hdha_table_group_file_name_ok(const char *group) {
        return hdha_table_name_is_valid(group) && group[0] != '.' &&
               strlen(group) + strlen(SUFFIX) <= HDHA_TABLE_NAME_MAX;
}

static int group_file_path(const char *path, const char *group, char **ret) {
        if (!hdha_table_group_file_name_ok(group))
                return -EINVAL;
        if (asprintf(ret, "%s/%s" SUFFIX, path, group) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- reading ---------------------------------------------------------------- */

/* Reads a whole regular file of at most max bytes: 1 and its content, 0 if
 * it does not exist, or -errno with a message. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_size, char **reterr) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        /* O_NONBLOCK: a FIFO put there must not hang the daemon. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return errmsg(reterr, -errno, "%s: cannot open: %s", path, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return errmsg(reterr, -errno, "%s: cannot stat: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return errmsg(reterr, -EBADMSG, "%s: not a regular file", path);
        if ((uintmax_t) st.st_size > max)
                return errmsg(reterr, -EFBIG, "%s: file is %jd bytes, larger than the limit of %zu",
                              path, (intmax_t) st.st_size, max);

        /* One byte more than it had, to see a file that grew meanwhile. */
        buf = malloc((size_t) st.st_size + 2);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t) st.st_size + 1) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errmsg(reterr, -errno, "%s: cannot read: %s", path, strerror(errno));
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > (size_t) st.st_size)
                return errmsg(reterr, -EBUSY, "%s: file grew while it was read", path);

        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 1;
}

/* Reads the group file path/name (NAME.json) into t; 0 if it does not
 * exist. */
static int load_group_file(HdhaTable *t, const char *path, const char *name, char **reterr) {
        _cleanup_free_ char *file = NULL, *buf = NULL, *group = NULL;
        size_t n;
        int r;

        if (asprintf(&file, "%s/%s", path, name) < 0)
                return -ENOMEM;
        group = strndup(name, strlen(name) - strlen(SUFFIX));
        if (!group)
                return -ENOMEM;
        r = read_file(file, HDHA_TABLE_FILE_MAX, &buf, &n, reterr);
        if (r <= 0)
                return r;
        r = hdha_table_group_parse(t, buf, n, file, group, reterr);
        return r < 0 ? r : 1;
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void free_names(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The names in the folder but hidden ones (temporary files start with a
 * dot) and the journal, sorted: 0, or 1 and none if the folder does not
 * exist. */
static int list_folder(const char *path, char ***ret, size_t *ret_n, char **reterr) {
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        d = opendir(path);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 1;
                }
                return errmsg(reterr, -errno, "%s: cannot open the folder: %s", path, strerror(errno));
        }
        while ((errno = 0, de = readdir(d))) {
                char **a;

                if (de->d_name[0] == '.' || streq(de->d_name, HDHA_TABLE_JOURNAL))
                        continue;
                if (n >= HDHA_TABLE_GROUPS_MAX) {
                        free_names(names, n);
                        return errmsg(reterr, -E2BIG, "%s: more than %d files", path, HDHA_TABLE_GROUPS_MAX);
                }
                a = realloc(names, (n + 1) * sizeof(*a));
                if (!a || !(a[n] = strdup(de->d_name))) {
                        free_names(a ?: names, n);
                        return -ENOMEM;
                }
                names = a;
                n++;
        }
        if (errno != 0) {
                int r = -errno;

                free_names(names, n);
                return errmsg(reterr, r, "%s: cannot read the folder: %s", path, strerror(-r));
        }
        if (n > 0)
                qsort(names, n, sizeof(*names), cmp_names);
        *ret = names;
        *ret_n = n;
        return 0;
}

/* While the single file of the older formats exists, it is the table:
 * 1 and the table, 0 if it does not exist, or -errno. */
static int load_one_file(const char *path, HdhaTable **ret, char **reterr) {
        _cleanup_free_ char *file = NULL, *buf = NULL;
        size_t n;
        int r;

        r = one_file_path(path, &file);
        if (r < 0)
                return r;
        r = read_file(file, HDHA_TABLE_FILE_MAX, &buf, &n, reterr);
        if (r <= 0)
                return r;
        r = hdha_table_parse(buf, n, file, ret, reterr);
        return r < 0 ? r : 1;
}

/* The journal's text (NULL and 0 if there is none) and its path. Read
 * before the group files: a full save that runs in between writes the
 * files before it empties the journal, so the files read are then at
 * least as new as the records. */
static int read_journal(const char *path, char **ret_file, char **ret, size_t *ret_size, char **reterr) {
        _cleanup_free_ char *file = NULL, *buf = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&file, "%s/" HDHA_TABLE_JOURNAL, path) < 0)
                return -ENOMEM;
        r = read_file(file, HDHA_TABLE_JOURNAL_MAX, &buf, &n, reterr);
        if (r < 0)
                return r;
        *ret_file = TAKE_PTR(file);
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

int hdha_table_journal_trim(const char *path) {
        _cleanup_(hdha_table_freep) HdhaTable *scratch = NULL;
        _cleanup_free_ char *file = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, keep;
        int r;

        if (!path)
                return -EINVAL;
        r = read_journal(path, &file, &text, &size, NULL);
        if (r < 0)
                return r;
        keep = hdha_table_journal_whole(text, size);
        if (keep == size)
                return 0;
        /* Only a torn last record goes: a bad one stays for the load to
         * name (the replay fails on it). */
        r = hdha_table_new(&scratch);
        if (r >= 0)
                r = hdha_table_journal_replay(scratch, text, size, file, NULL, NULL);
        if (r < 0)
                return r;
        fd = open(file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) keep) < 0 || fdatasync(fd) < 0)
                return -errno;
        return 1;
}

int hdha_table_load(const char *path, HdhaTable **ret, char **reterr_message) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *journal_file = NULL, *journal = NULL;
        char **names = NULL;
        size_t n = 0, journal_size;
        int r, missing;

        if (!path || !ret)
                return -EINVAL;
        r = load_one_file(path, &t, reterr_message);
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = TAKE_PTR(t);
                return HDHA_TABLE_ONE_FILE_FOUND;
        }

        r = read_journal(path, &journal_file, &journal, &journal_size, reterr_message);
        if (r < 0)
                return r;
        missing = list_folder(path, &names, &n, reterr_message);
        if (missing < 0)
                return missing;
        r = hdha_table_new(&t);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (!is_group_file(names[i]))
                        r = errmsg(reterr_message, -EBADMSG, "%s/%s: not a group's file (NAME" SUFFIX ")", path,
                                   names[i]);
                else
                        r = load_group_file(t, path, names[i], reterr_message);
        }
        free_names(names, n);
        if (r < 0)
                return r;
        r = hdha_table_journal_replay(t, journal, journal_size, journal_file, NULL, reterr_message);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return missing ? HDHA_TABLE_MISSING : 0;
}

int hdha_table_load_group(const char *path, const char *group, HdhaTable **ret, char **reterr_message) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL;
        _cleanup_free_ char *name = NULL, *journal_file = NULL, *journal = NULL;
        size_t journal_size;
        int r;

        if (!path || !ret || !hdha_table_group_file_name_ok(group))
                return -EINVAL;
        r = load_one_file(path, &t, reterr_message);
        if (r < 0)
                return r;
        if (r > 0) {
                /* Only the group asked for. */
                for (size_t i = t->n_groups; i > 0; i--)
                        if (!streq(t->groups[i - 1]->name, group))
                                (void) hdha_table_remove_group(t, t->groups[i - 1]->name);
                *ret = TAKE_PTR(t);
                return HDHA_TABLE_ONE_FILE_FOUND;
        }
        r = read_journal(path, &journal_file, &journal, &journal_size, reterr_message);
        if (r < 0)
                return r;
        r = hdha_table_new(&t);
        if (r < 0)
                return r;
        if (asprintf(&name, "%s" SUFFIX, group) < 0)
                return -ENOMEM;
        r = load_group_file(t, path, name, reterr_message);
        if (r < 0)
                return r;
        r = hdha_table_journal_replay(t, journal, journal_size, journal_file, group, reterr_message);
        if (r < 0)
                return r;
        r = t->n_groups == 0 ? HDHA_TABLE_MISSING : 0;
        *ret = TAKE_PTR(t);
        return r;
}

/* ---- writing ---------------------------------------------------------------- */

int hdha_table_write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int hdha_table_fsync_folder(const char *dir) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                return -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int hdha_table_make_folder(const char *path) {
        _cleanup_free_ char *parent = NULL;

        if (mkdir(path, 0755) < 0)
                return errno == EEXIST ? 0 : -errno;
        if (chmod(path, 0755) < 0) /* whatever the umask */
                return -errno;
        parent = parent_of(path);
        if (!parent)
                return -ENOMEM;
        return hdha_table_fsync_folder(parent);
}

/* data written and flushed to a new temporary file beside file, in dir:
 * *ret_tmp is its name, for the rename. On failure nothing is left. */
static int write_temporary(const char *dir, const char *file, const char *data, char **ret_tmp) {
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *base = strrchr(file, '/');
        int r;

        base = base ? base + 1 : file;
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                tmp = mfree(tmp); /* nothing was created */
                return r;
        }
        if (fchmod(fd, 0644) < 0)
                return -errno;
        r = hdha_table_write_all(fd, data, strlen(data));
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        if (close(TAKE_FD(fd)) < 0)
                return -errno;
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

/* g's file name in the folder path and its text; *ret_data NULL if
 * only_if_changed and the file already has that text. */
static int group_text(const HdhaTableGroup *g, const char *path, bool only_if_changed, char **ret_file,
                      char **ret_data) {
        _cleanup_free_ char *file = NULL, *data = NULL, *old = NULL;
        size_t n;
        int r;

        if (!g || !path)
                return -EINVAL;
        r = group_file_path(path, g->name, &file);
        if (r < 0)
                return r;
        r = hdha_table_group_format(g, &data);
        if (r < 0)
                return r;
        if (strlen(data) > HDHA_TABLE_FILE_MAX)
                return -EFBIG;
        if (only_if_changed && read_file(file, HDHA_TABLE_FILE_MAX, &old, &n, NULL) > 0 && streq(old, data))
                data = mfree(data);
        *ret_file = TAKE_PTR(file);
        *ret_data = TAKE_PTR(data);
        return 0;
}

int hdha_table_save_group(const HdhaTableGroup *g, const char *path) {
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        _cleanup_free_ char *file = NULL, *data = NULL;
        int r;

        r = group_text(g, path, false, &file, &data);
        if (r < 0)
                return r;
        r = hdha_table_make_folder(path);
        if (r < 0)
                return r;
        r = write_temporary(path, file, data, &tmp);
        if (r < 0)
                return r;
        if (rename(tmp, file) < 0)
                return -errno;
        tmp = mfree(tmp); /* renamed: nothing left to remove */
        return hdha_table_fsync_folder(path);
}

/* A group's new file, flushed under its temporary name, waiting for the
 * rename. */
typedef struct Replacement {
        char *tmp, *file;
} Replacement;

static void replacements_free(Replacement *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (r[i].tmp)
                        (void) unlink(r[i].tmp);
                free(r[i].tmp);
                free(r[i].file);
        }
        free(r);
}

/* Every group's file that differs, replaced durably with one fsync of the
 * folder for all: each new file written and flushed under a temporary
 * name, then each renamed over its old one, then the folder flushed. A
 * failure removes the temporary files not yet renamed; those renamed hold
 * the table too. */
static int replace_group_files(const HdhaTable *t, const char *path) {
        Replacement *reps;
        size_t n = 0;
        int r = 0;

        reps = calloc(t->n_groups ?: 1, sizeof(*reps));
        if (!reps)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < t->n_groups; i++) {
                _cleanup_free_ char *file = NULL, *data = NULL;

                r = group_text(t->groups[i], path, true, &file, &data);
                if (r < 0 || !data)
                        continue;
                if (n == 0)
                        r = hdha_table_make_folder(path);
                if (r >= 0)
                        r = write_temporary(path, file, data, &reps[n].tmp);
                if (r >= 0)
                        reps[n++].file = TAKE_PTR(file);
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (rename(reps[i].tmp, reps[i].file) < 0)
                        r = -errno;
                else
                        reps[i].tmp = mfree(reps[i].tmp);
        }
        if (r >= 0 && n > 0)
                r = hdha_table_fsync_folder(path);
        replacements_free(reps, n);
        return r;
}

/* ".NAME.json.XXXXXX", as write_temporary() names them. */
static bool is_temporary(const char *name) {
        const char *x = strrchr(name, '.');

        return name[0] == '.' && x && x > name + strlen(SUFFIX) && strlen(x + 1) == 6 &&
               strncmp(x - strlen(SUFFIX), SUFFIX, strlen(SUFFIX)) == 0;
}

int hdha_table_remove_temporaries(const char *path) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int n = 0;

        if (!path)
                return -EINVAL;
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((errno = 0, de = readdir(d))) {
                if (!is_temporary(de->d_name))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        return -errno;
                n++;
        }
        if (errno != 0)
                return -errno;
        return n;
}

/* Removes a file durably; a missing one is fine. */
static int remove_file(const char *dir, const char *file) {
        if (unlink(file) < 0)
                return errno == ENOENT ? 0 : -errno;
        return hdha_table_fsync_folder(dir);
}

int hdha_table_save(const HdhaTable *t, const char *path) {
        _cleanup_free_ char *journal = NULL, *one_file = NULL, *state_dir = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        if (!t || !path)
                return -EINVAL;
        r = replace_group_files(t, path);
        if (r < 0)
                return r;

        /* Files of groups the table no longer has. */
        r = list_folder(path, &names, &n, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *file = NULL;
                size_t len = strlen(names[i]);

                if (!is_group_file(names[i]))
                        continue; /* not ours: left for the operator */
                names[i][len - strlen(SUFFIX)] = 0;
                if (hdha_table_get_group(t, names[i]))
                        continue;
                if (asprintf(&file, "%s/%s" SUFFIX, path, names[i]) < 0)
                        r = -ENOMEM;
                else
                        r = remove_file(path, file);
        }
        free_names(names, n);
        if (r < 0)
                return r;

        /* Then the journal: the files hold all it says now. Removed, not
         * truncated: an unlink is atomic, a cut leaves the whole journal
         * (no newer than the files) or none. Before the older format's
         * file: while that exists, a journal is not read. */
        if (asprintf(&journal, "%s/" HDHA_TABLE_JOURNAL, path) < 0)
                return -ENOMEM;
        r = remove_file(path, journal);
        if (r < 0)
                return r;

        /* Last: the older format's file, which was the table until now. */
        r = one_file_path(path, &one_file);
        if (r < 0)
                return r;
        state_dir = parent_of(path);
        if (!state_dir)
                return -ENOMEM;
        return remove_file(state_dir, one_file);
}
