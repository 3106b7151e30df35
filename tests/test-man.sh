#!/bin/bash
# The manual pages cover what they document: every verb and option that
# "hostdevctl --help" lists is in hostdevctl(1), every option of
# "hostdev-had --help" in hostdev-had(8), and every configuration key of the
# parser's key tables (lib/conf.c, lib/conf-group.c) in
# hostdev-ha.conf(5) with a default and an example; the pages are built.
set -u
top=${abs_top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
build=${abs_top_builddir:-$top/build}
CTL=$build/hostdevctl
HAD=$build/hostdev-had
GUEST=$build/hostdev-ha-guest
for f in "$CTL" "$HAD" "$GUEST"; do
	[ -x "$f" ] || { echo "Bail out! '$f' is not built"; exit 1; }
done

n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
# page NAME: the generated page, in the build tree or (from a tarball) the
# source tree.
page() {
	if [ -r "$build/man/$1" ]; then echo "$build/man/$1"; else echo "$top/man/$1"; fi
}

for p in hostdevctl.1 hostdev-had.8 hostdev-ha.conf.5 hostdev-ha-guest.1; do
	f=$(page "$p")
	[ -s "$f" ] && grep -q '^\.TH' "$f"; ok $? "$p is built (roff)"
	[ -r "$top/man/$p.scd" ]; ok $? "$p.scd exists"
done

# Verbs: the indented first words of the "Verbs:" and "Helpers" blocks.
mapfile -t verbs < <("$CTL" --help | awk '/^Verbs:|^Helpers/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }')
[ "${#verbs[@]}" -ge 10 ]; ok $? "hostdevctl --help lists ${#verbs[@]} verbs"
for v in "${verbs[@]}"; do
	grep -qE "^\*$v\*( |$)" "$top/man/hostdevctl.1.scd"; ok $? "hostdevctl(1) documents the verb '$v'"
	"$CTL" "$v" --help >/dev/null; ok $? "hostdevctl $v --help"
done
mapfile -t opts < <("$CTL" --help | grep -oE '^ +(-[a-z] )?--[a-z-]+' | grep -oE -- '--[a-z-]+')
for o in "${opts[@]}"; do
	grep -qF -- "*$o*" "$top/man/hostdevctl.1.scd"; ok $? "hostdevctl(1) documents $o"
done
# The exit statuses of --help are the page's.
mapfile -t codes < <("$CTL" --help | awk '/^Exit status:/ { on = 1; next } /^$/ { on = 0 } on && /^ +[0-9]+ / { print $1 }')
[ "${#codes[@]}" -ge 7 ]; ok $? "hostdevctl --help lists ${#codes[@]} exit statuses"
for c in "${codes[@]}"; do
	grep -qE "^\|  $c\$" "$top/man/hostdevctl.1.scd"; ok $? "hostdevctl(1) documents exit status $c"
done
# Every org.hostdevha.Error.* of lib/bus-util.h has its row in hostdevctl's
# table (tools/hostdevctl-util.c) and its exit status in the page.
mapfile -t errs < <(sed -nE 's/^#define (HDHA_BUS_ERROR_[A-Z_]+) "org\.hostdevha\.Error\.([A-Za-z]+)".*/\1 \2/p' \
	"$top/lib/bus-util.h")
[ "${#errs[@]}" -ge 10 ]; ok $? "lib/bus-util.h names ${#errs[@]} errors"
statuses=$(awk '/^# EXIT STATUS/ { on = 1; next } /^# / { on = 0 } on' "$top/man/hostdevctl.1.scd")
for e in "${errs[@]}"; do
	grep -qE "\{ ${e% *}, CTL_EXIT_[A-Z_]+ \}" "$top/tools/hostdevctl-util.c"; ok $? "hostdevctl maps ${e#* }"
	grep -qw -- "${e#* }" <<<"$statuses"; ok $? "hostdevctl(1) gives the exit status of ${e#* }"
done

mapfile -t dopts < <("$HAD" --help | grep -oE -- '--[a-z-]+')
[ "${#dopts[@]}" -ge 5 ]; ok $? "hostdev-had --help lists ${#dopts[@]} options"
for o in "${dopts[@]}"; do
	grep -qF -- "*$o*" "$top/man/hostdev-had.8.scd"; ok $? "hostdev-had(8) documents $o"
done

# The guest tool: its verbs, options and exit statuses in hostdev-ha-guest(1).
gpage=$top/man/hostdev-ha-guest.1.scd
mapfile -t gverbs < <("$GUEST" --help | awk '/^Verbs:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }')
[ "${#gverbs[@]}" -ge 4 ]; ok $? "hostdev-ha-guest --help lists ${#gverbs[@]} verbs"
for v in "${gverbs[@]}"; do
	grep -qE "^\*$v\*$" "$gpage"; ok $? "hostdev-ha-guest(1) documents the verb '$v'"
done
mapfile -t gopts < <("$GUEST" --help | grep -oE '^ +(-[a-z] )?--[a-z-]+' | grep -oE -- '--[a-z-]+')
[ "${#gopts[@]}" -ge 5 ]; ok $? "hostdev-ha-guest --help lists ${#gopts[@]} options"
for o in "${gopts[@]}"; do
	grep -qF -- "*$o*" "$gpage"; ok $? "hostdev-ha-guest(1) documents $o"
done
mapfile -t gcodes < <("$GUEST" --help | sed -n '/^Exit status:/,/^$/p' | grep -oE '(^|, |: )[0-9]+ ' | grep -oE '[0-9]+')
[ "${#gcodes[@]}" -ge 8 ]; ok $? "hostdev-ha-guest --help lists ${#gcodes[@]} exit statuses"
for c in "${gcodes[@]}"; do
	grep -qE "^\|  $c\$" "$gpage"; ok $? "hostdev-ha-guest(1) documents exit status $c"
done

# Keys: the entries of the parser's key tables ({ "Key", parse_..., }).
mapfile -t keys < <(sed -nE 's/^[[:space:]]*\{ "([A-Z][A-Za-z]*)", (hdha_config_)?parse_.*/\1/p' \
	"$top/lib/conf.c" "$top/lib/conf-group.c")
[ "${#keys[@]}" -ge 12 ]; ok $? "the key tables have ${#keys[@]} keys"
conf=$top/man/hostdev-ha.conf.5.scd
for k in "${keys[@]}"; do
	# Its entry: from "*Key=*" to the next entry.
	entry=$(awk -v h="*$k=*" '$0 == h { on = 1; print; next } on && /^\*[A-Za-z]+=\*$/ { on = 0 } on && /^#/ { on = 0 } on' "$conf")
	[ -n "$entry" ]; ok $? "hostdev-ha.conf(5) documents $k="
	grep -qE 'Default|Required|No default' <<<"$entry"; ok $? "... with its default"
	grep -qF "Example: _$k=" <<<"$entry"; ok $? "... and an example"
done

echo "1..$n"
exit $failed
