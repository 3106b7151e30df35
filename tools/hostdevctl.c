/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdevctl: the command-line client of hostdev-had. Options, verbs and
 * their help; the verbs are in hostdevctl-*.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostdevctl.h"
#include "log.h"

bool arg_json;
bool arg_no_block;
bool arg_force;
bool arg_cluster;

typedef struct Verb {
        const char *name;
        const char *args; /* for the usage line */
        unsigned min_args, max_args;
        int (*fn)(int argc, char *argv[]);
        const char *summary;
        const char *help; /* details for "hostdevctl VERB --help"; NULL: hidden helper */
        bool json, no_block, force, cluster; /* the options it takes */
} Verb;

static const Verb verbs[] = {
        { "status", "[GROUP]", 0, 1, verb_status, "Show every group, or one group in detail",
          "Without GROUP: one line per group (device, active domain, every member's role,\n"
          "generation, operation in flight, policy, frozen). With GROUP: that group in\n"
          "detail. --json prints the same as JSON (see hostdevctl(1)).\n"
          "--cluster shows the cluster instead: whether this host is connected and\n"
          "quorate, one line per host and group (active domain, generation, operation,\n"
          "frozen) and each group's cluster token (its state, holder host and domain);\n"
          "with GROUP, that group's only. A host in no cluster shows its own groups.\n",
          true, false, false, true },
        { "switch", "GROUP DOMAIN", 2, 2, verb_operation, "Move the device of GROUP to the standby DOMAIN",
          "Detaches the device from the active domain, waits until the guest released it,\n"
          "attaches it to DOMAIN (a running standby) and swaps the CPU quotas. Waits until\n"
          "the switch has finished. --force switches even when the group is frozen.\n",
          true, true, true },
        { "release", "GROUP", 1, 1, verb_operation, "Detach the device of GROUP, keep it on no domain",
          "Detaches the device from the active domain and leaves it unallocated; the\n"
          "domain stays running as a standby.\n",
          true, true, false },
        { "activate", "DOMAIN", 1, 1, verb_operation, "Start DOMAIN as a standby of its group",
          "Starts a deactivated member domain without the device and gives it the standby\n"
          "CPU quota.\n",
          true, true, false },
        { "deactivate", "DOMAIN", 1, 1, verb_operation, "Stop (destroy) DOMAIN",
          "Stops the member domain at once (virDomainDestroy). If it held the device, the\n"
          "device is then on no domain.\n",
          true, true, false },
        { "rebuild", "DOMAIN", 1, 1, verb_operation, "Restart DOMAIN as a fresh standby",
          "Restarts a member domain that does not hold the device and gives it the standby\n"
          "CPU quota.\n",
          true, true, false },
        { "freeze", "GROUP", 1, 1, verb_operation, "Stop automatic actions on GROUP",
          "While frozen, hostdev-had takes no automatic action on the group and refuses\n"
          "switches without --force.\n",
          true, true, false },
        { "thaw", "GROUP", 1, 1, verb_operation, "Resume automatic actions on GROUP",
          "Undoes freeze.\n", true, true, false },
        { "reload", "", 0, 0, verb_reload, "Reread the configuration",
          "hostdev-had parses its configuration anew and uses it only if it is valid;\n"
          "a bad one is reported and the one in use is kept.\n",
          true, true, false },
        { "monitor", "", 0, 0, verb_monitor, "Print every signal of hostdev-had as it arrives",
          "One line per event (device moved, member failed, group property changed,\n"
          "groups added or removed, daemon started or stopped) with a timestamp, until\n"
          "SIGINT or SIGTERM. --json prints one JSON object per line.\n",
          true, false, false },
        { "list-groups", "", 0, 0, verb_list_groups, "Print the group names, one per line", NULL,
          false, false, false },
        { "list-domains", "[GROUP]", 0, 1, verb_list_domains, "Print the member domains, one per line", NULL,
          false, false, false },
};

static const char exit_table[] =
        "Exit status:\n"
        "   0  success\n"
        "   1  the operation failed (libvirt's message), the allocation table could\n"
        "      not be written, Pacemaker did not carry out the switch, the operation\n"
        "      was interrupted, or the configuration is bad; any other failure\n"
        "   2  usage error or invalid name\n"
        "   3  no such group or domain, or DOMAIN is not a member of GROUP\n"
        "   4  the group is busy with another operation\n"
        "   5  access denied (changing needs root, AdminGroup= or polkit)\n"
        "   6  hostdev-had is not running (no system bus, or nobody owns\n"
        "      org.hostdevha.Manager1)\n"
        "   7  the group is frozen\n"
        "   8  nothing to do (already so)\n"
        "   9  DOMAIN is not a running standby\n"
        "  10  hostdev-had is not connected to libvirt\n"
        "  11  another host of the cluster holds the group's device (cluster token)\n"
        "  12  this host is not in a quorate cluster partition\n";

static void help(void) {
        printf("Usage: hostdevctl [OPTION...] VERB [ARG...]\n\n"
               "Control hostdev-had, which keeps a shared PCI device on at most one domain of each\n"
               "group and moves it on failure or on request.\n\n"
               "Verbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (verbs[i].help) {
                        char left[64];

                        snprintf(left, sizeof(left), "%s %s", verbs[i].name, verbs[i].args);
                        printf("  %-24s %s\n", left, verbs[i].summary);
                }
        printf("\nHelpers for scripts and completion:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (!verbs[i].help) {
                        char left[64];

                        snprintf(left, sizeof(left), "%s %s", verbs[i].name, verbs[i].args);
                        printf("  %-24s %s\n", left, verbs[i].summary);
                }
        printf("\nOptions:\n"
               "  -h --help        show this help, or a verb's (hostdevctl VERB --help)\n"
               "     --version     show the version\n"
               "     --json        print state as JSON\n"
               "     --no-block    return once hostdev-had has started the operation\n"
               "     --force       switch even when the group is frozen\n"
               "     --cluster     status: show the cluster's view of every host's groups\n\n"
               "%s\n"
               "The system bus is used; DBUS_SYSTEM_BUS_ADDRESS overrides its address.\n"
               "See hostdevctl(1), hostdev-had(8), hostdev-ha.conf(5).\n",
               exit_table);
}

static void help_verb(const Verb *v) {
        printf("Usage: hostdevctl [OPTION...] %s%s%s\n\n%s\n%s", v->name, *v->args ? " " : "", v->args,
               v->summary, v->help ? "\n" : "");
        if (v->help)
                fputs(v->help, stdout);
        printf("\nOptions:\n  -h --help        show this help\n");
        if (v->json)
                printf("     --json        print %s as JSON\n",
                       streq(v->name, "monitor") ? "one object per event" : "the result");
        if (v->no_block && v->fn == verb_operation && !streq(v->name, "freeze") && !streq(v->name, "thaw"))
                printf("     --no-block    return once hostdev-had has started it (or refused it)\n");
        else if (v->no_block)
                printf("     --no-block    accepted; %s returns at once anyway\n", v->name);
        if (v->force)
                printf("     --force       switch even when the group is frozen\n");
        if (v->cluster)
                printf("     --cluster     show the cluster's view of every host's groups\n");
        printf("\n%s", exit_table);
}

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

/* Returns -1 to go on, or the exit status. */
static int parse_argv(int argc, char *argv[], bool *ret_help) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_BLOCK, ARG_FORCE, ARG_CLUSTER };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-block", no_argument, NULL, ARG_NO_BLOCK },
                { "force", no_argument, NULL, ARG_FORCE },
                { "cluster", no_argument, NULL, ARG_CLUSTER },
                {}
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        *ret_help = true;
                        break;
                case ARG_VERSION:
                        printf("hostdevctl %s\n", PACKAGE_VERSION);
                        return CTL_EXIT_OK;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_BLOCK:
                        arg_no_block = true;
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        break;
                case ARG_CLUSTER:
                        arg_cluster = true;
                        break;
                default:
                        log_error("Unknown option '%s'; see 'hostdevctl --help'.", argv[optind - 1]);
                        return CTL_EXIT_USAGE;
                }
        return -1;
}

int main(int argc, char *argv[]) {
        const Verb *v;
        bool help_asked = false;
        unsigned n;
        int r;

        hdha_log_open("hostdevctl");
        r = parse_argv(argc, argv, &help_asked);
        if (r >= 0)
                return r;

        if (optind >= argc) {
                if (help_asked) {
                        help();
                        return CTL_EXIT_OK;
                }
                /* Like systemctl: no verb is "status". */
                v = find_verb("status");
        } else {
                v = find_verb(argv[optind]);
                if (!v) {
                        log_error("Unknown verb '%s'; see 'hostdevctl --help'.", argv[optind]);
                        return CTL_EXIT_USAGE;
                }
                optind++;
        }
        if (help_asked) {
                help_verb(v);
                return CTL_EXIT_OK;
        }

        n = (unsigned) (argc - optind);
        if (n < v->min_args || n > v->max_args) {
                log_error("'%s' takes %s%s; see 'hostdevctl %s --help'.", v->name,
                          *v->args ? "the arguments " : "no arguments", v->args, v->name);
                return CTL_EXIT_USAGE;
        }
        if (arg_force && !v->force) {
                log_error("--force applies to switch only.");
                return CTL_EXIT_USAGE;
        }
        if (arg_cluster && !v->cluster) {
                log_error("--cluster applies to status only.");
                return CTL_EXIT_USAGE;
        }
        if (arg_json && !v->json) {
                log_error("'%s' has no JSON output.", v->name);
                return CTL_EXIT_USAGE;
        }
        if (arg_no_block && !v->no_block) {
                log_error("--no-block does not apply to '%s'.", v->name);
                return CTL_EXIT_USAGE;
        }

        /* The verb sees argv[0] = its name ("status" when none was given). */
        {
                char *args[1 + 2];

                args[0] = (char *) v->name;
                for (unsigned i = 0; i < n; i++)
                        args[1 + i] = argv[optind + i];
                return v->fn((int) n + 1, args);
        }
}
