#!/bin/bash
# run.sh demo|check|bench [CONFIGURE-OPTION...]
# run.sh demo [--keep] [--hosts 2] [CONFIGURE-OPTION...]
#
# On a Debian 12 machine, as root: installs what is missing, configures and
# builds out of tree (in $BUILDDIR, default ./build), then runs the demo,
# the whole test suite, or the benchmarks. check builds our C code with
# AddressSanitizer and UBSan (--enable-sanitizers): every test, the lab's
# too, runs it under them; the demo and the benchmarks build without. --keep
# leaves the demo's lab up (see tests/lab/demo.sh); --hosts 2 runs the
# two-host demo (tests/lab/demo-hosts.sh). CHECK_TESTS=LIST: check runs only
# those tests (make check TESTS=LIST).
set -eu

usage() { echo "usage: $0 demo [--keep] [--hosts 2]|check|bench [CONFIGURE-OPTION...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
what=$1
shift
case $what in demo|check|bench) ;; *) usage ;; esac
demo_args=
while [ "$what" = demo ] && [ $# -gt 0 ]; do
	case $1 in
	--keep) demo_args="$demo_args --keep" ;;
	--hosts) [ $# -ge 2 ] || usage; demo_args="$demo_args --hosts $2"; shift ;;
	*) break ;;
	esac
	shift
done
demo_args=${demo_args# }

[ "$what" != check ] || set -- --enable-sanitizers "$@"

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build}
jobs=$(nproc)

"$top/scripts/setup-debian.sh"

cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ] || [ "${*:-}" != "$(cat .configure-options 2>/dev/null)" ]; then
	"$top/configure" --enable-werror "$@"
	printf '%s' "${*:-}" >.configure-options
fi
make -j"$jobs"

case $what in
demo) exec make demo DEMO_ARGS="$demo_args" ;;
check) exec make -j"$jobs" check ${CHECK_TESTS:+"TESTS=$CHECK_TESTS"} ;;
bench) exec make bench ;;
esac
