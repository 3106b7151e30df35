/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Hand ownership on: returns the pointer and clears the variable, so its
 * cleanup attribute no longer frees it. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _p_ = (p);        \
                (p) = NULL;                     \
                _p_;                            \
        })

static inline void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* TAKE_PTR() for a file descriptor: the variable becomes -EBADF. */
#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd_ = (fd);                \
                (fd) = -EBADF;                  \
                _fd_;                           \
        })

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* x equals one of the arguments after it. */
#define IN_SET(x, ...)                                                  \
        ({                                                              \
                const __typeof__(x) _set_[] = { __VA_ARGS__ };          \
                bool _found_ = false;                                   \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(_set_); _i_++)    \
                        if (_set_[_i_] == (x)) {                        \
                                _found_ = true;                         \
                                break;                                  \
                        }                                               \
                _found_;                                                \
        })

#define streq(a, b) (strcmp((a), (b)) == 0)
/* Both NULL, or equal strings. */
static inline bool streq_ptr(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}
/* Both set and equal: an absent value matches nothing. */
static inline bool streq_set(const char *a, const char *b) {
        return a && b && streq(a, b);
}
