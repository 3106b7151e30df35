#!/bin/bash
# docs/dbus-api.md documents exactly the D-Bus API of
# dbus/org.hostdevha.Manager1.xml: every method, property and signal of each
# interface appears in that interface's section with its signature
# ("### method Name(type name, ...) -> type name, ...", "### property Name
# type", "### signal Name(type name, ...)"), the doc has no member the XML
# lacks, and every org.hostdevha.Error.* of lib/bus-util.h is in the doc.
set -u
top=${abs_top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
XML=${TEST_DOCS_XML:-$top/dbus/org.hostdevha.Manager1.xml}
DOC=${TEST_DOCS_DOC:-$top/docs/dbus-api.md}
ERRORS=${TEST_DOCS_ERRORS:-$top/lib/bus-util.h}
command -v xmllint >/dev/null || { echo "Bail out! xmllint is not installed (Debian package libxml2-utils)"; exit 1; }
for f in "$XML" "$DOC" "$ERRORS"; do
	[ -r "$f" ] || { echo "Bail out! '$f' is missing"; exit 1; }
done
if ! err=$(xmllint --noout "$XML" 2>&1); then
	echo "Bail out! '$XML' is not well-formed XML: $(head -n 1 <<<"$err")"
	exit 1
fi

n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

# xpath EXPR: the text of every node EXPR selects, one per line.
xpath() {
	xmllint --xpath "$1" "$XML" 2>/dev/null | grep -o '"[^"]*"' | tr -d '"'
}
# args IFACE KIND MEMBER [DIRECTION]: "type name, type name" of its args.
args() {
	local sel="//interface[@name='$1']/$2[@name='$3']/arg"
	[ -n "${4:-}" ] && sel="${sel}[@direction='$4']"
	local types names
	mapfile -t types < <(xpath "$sel/@type")
	mapfile -t names < <(xpath "$sel/@name")
	local i out=
	for i in "${!types[@]}"; do
		out="$out${out:+, }${types[$i]} ${names[$i]}"
	done
	printf '%s' "$out"
}
# section IFACE: the doc's lines from "## Interface IFACE" to the next "## ".
section() {
	awk -v h="## Interface $1" '$0 == h { on = 1; next } /^## / { on = 0 } on' "$DOC"
}

mapfile -t ifaces < <(xpath "//interface/@name")
[ "${#ifaces[@]}" -gt 0 ] || { echo "Bail out! no interface in '$XML'"; exit 1; }
for iface in "${ifaces[@]}"; do
	sec=$(section "$iface")
	[ -n "$sec" ]; ok $? "docs have a section for $iface"
	want=()
	mapfile -t methods < <(xpath "//interface[@name='$iface']/method/@name")
	for m in "${methods[@]}"; do
		line="### method $m($(args "$iface" method "$m" in))"
		out=$(args "$iface" method "$m" out)
		[ -n "$out" ] && line="$line -> $out"
		want+=("$line")
	done
	mapfile -t props < <(xpath "//interface[@name='$iface']/property/@name")
	for p in "${props[@]}"; do
		want+=("### property $p $(xmllint --xpath "string(//interface[@name='$iface']/property[@name='$p']/@type)" "$XML")")
	done
	mapfile -t signals < <(xpath "//interface[@name='$iface']/signal/@name")
	for s in "${signals[@]}"; do
		want+=("### signal $s($(args "$iface" signal "$s"))")
	done
	for w in "${want[@]}"; do
		grep -qxF -- "$w" <<<"$sec"; ok $? "$iface: '$w'"
	done
	# Nothing documented that the XML lacks.
	while IFS= read -r h; do
		found=1
		for w in "${want[@]}"; do [ "$w" = "$h" ] && found=0; done
		ok $found "$iface: documented '$h' is in the XML"
	done < <(grep -E '^### (method|property|signal) ' <<<"$sec")
done

mapfile -t errors < <(grep -o '"org\.hostdevha\.Error\.[A-Za-z]*"' "$ERRORS" | tr -d '"' | sort -u)
[ "${#errors[@]}" -gt 0 ]; ok $? "error names found in lib/bus-util.h"
for e in "${errors[@]}"; do
	grep -qF -- "\`$e\`" "$DOC"; ok $? "error $e documented"
done
while IFS= read -r e; do
	found=1
	for k in "${errors[@]}"; do [ "$k" = "$e" ] && found=0; done
	ok $found "documented error $e exists"
done < <(grep -o 'org\.hostdevha\.Error\.[A-Za-z]*' "$DOC" | sort -u)

echo "1..$n"
exit $failed
