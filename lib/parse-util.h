/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Checked parsers for configuration values and bus arguments. Each returns
 * 0 and writes *ret on success, or -EINVAL (not a number, trailing garbage,
 * empty) or -ERANGE (outside [min, max]) and leaves *ret alone. */

int hdha_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
int hdha_parse_uint64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int hdha_parse_boolean(const char *s, bool *ret);

/* A PCI address, "0000:03:00.0" (domain optional: "03:00.0"), or a libvirt
 * node device name, "pci_0000_03_00_0". */
typedef struct HdhaPciAddress {
        uint16_t domain;
        uint8_t bus;
        uint8_t slot;     /* 0..31 */
        uint8_t function; /* 0..7 */
} HdhaPciAddress;

int hdha_parse_pci_address(const char *s, HdhaPciAddress *ret);

/* The same function: compared part by part, never with memcmp() (the
 * struct's padding byte holds no value and may differ). */
bool hdha_pci_address_equal(const HdhaPciAddress *a, const HdhaPciAddress *b);
