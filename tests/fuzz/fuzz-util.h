/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the libFuzzer targets share: the entry point's prototype and the
 * check of an invariant, which aborts so that libFuzzer keeps the input. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                         \
        do {                                                                                     \
                if (!(cond)) {                                                                   \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                                 \
                }                                                                                \
        } while (0)

/* A NUL-terminated copy of the input (aborts when out of memory: the
 * fuzzer's own limit is what matters, not this copy). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        FUZZ_CHECK(s);
        if (size > 0)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}
