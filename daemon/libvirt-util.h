/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers for hypervisor-libvirt.c that know nothing of its state. */

/* Process-wide libvirt set-up, once: virInitialize(), a quiet error handler
 * (libvirt never writes to stderr), libvirt's default event implementation
 * and libxml2's parser. */
int hdha_libvirt_init(void);

/* libvirt's default event loop runs in a thread of its own while at least one
 * reference is held; the last unref stops and joins it. Loop thread only. */
int hdha_libvirt_event_thread_ref(void);
void hdha_libvirt_event_thread_unref(void);

/* The calling thread's last libvirt error as -errno, and its text as
 * "MESSAGE (code N)" in *ret_message (NULL if out of memory). Call it on the
 * thread that made the failed call, right after it. */
int hdha_libvirt_last_error(char **ret_message);
