/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster's wire format (lib/cluster-msg.c): any bytes are decoded;
 * what decodes encodes back to the very same bytes, and a refusal says why. */
#include <errno.h>

#include "cluster-msg.h"
#include "fuzz-util.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hdha_cluster_msg_freep) HdhaClusterMsg *m = NULL;
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ void *out = NULL;
        size_t n, out_size;
        int r;

        r = hdha_cluster_msg_decode(data, size, &m, &err);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == -EBADMSG)
                FUZZ_CHECK(err && *err);
        if (r < 0)
                return 0;

        FUZZ_CHECK(size <= HDHA_CLUSTER_MSG_SIZE_MAX);
        FUZZ_CHECK(hdha_cluster_msg_size(m, &n) == 0);
        FUZZ_CHECK(n == size);
        r = hdha_cluster_msg_encode_alloc(m, &out, &out_size);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return 0;
        FUZZ_CHECK(out_size == size);
        FUZZ_CHECK(memcmp(out, data, size) == 0);

        /* One byte short: refused, nothing written. */
        memset(out, 0xa5, out_size);
        FUZZ_CHECK(hdha_cluster_msg_encode(m, out, out_size - 1) == -ENOBUFS);
        for (size_t i = 0; i < out_size; i++)
                FUZZ_CHECK(((uint8_t *) out)[i] == 0xa5);
        return 0;
}
