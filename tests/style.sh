#!/bin/sh
# style.sh - kernel style checks of kmod/, run by `make style` (part of `make check`):
#   1. scripts/checkpatch.pl --no-tree -f on every kmod/*.[ch]: no errors, no warnings.
#      kmod/compat.h, the one file that tests LINUX_VERSION_CODE (checked here),
#      is exempt from the LINUX_VERSION_CODE and CONSTANT_COMPARISON warnings
#      about such tests, and only from those.
#   2. scripts/kernel-doc -none on kmod/*.[ch]: no kernel-doc warnings
#   3. a sparse build of the module (make module KMOD_FLAGS=C=2, i.e. sparse on
#      every file whether or not it is recompiled): no sparse or compiler warnings
# KERNEL (6.1, the default, or 6.12; make style KERNEL=... sets it) selects the
# kernel: checkpatch.pl, kernel-doc and their data files come from that kernel's
# Debian linux-source-$KERNEL tarball, extracted once into $BUILD/style/ (the
# Makefile passes the kernel's build directory as BUILD), and the sparse build is
# against that kernel's headers.
# Exits non-zero if any check finds a problem.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
# A BUILD from the caller is the build directory of the sparse build too.
BUILD_ARG=${BUILD:+BUILD=$BUILD}
BUILD=${BUILD:-$TOP/build}
KERNEL=${KERNEL:-6.1}
case $KERNEL in
6.1 | 6.12) ;;
*)
	echo "style.sh: unknown KERNEL '$KERNEL': expected 6.1 or 6.12" >&2
	exit 1
	;;
esac
SRC=linux-source-$KERNEL
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/$SRC.tar.xz}
STYLE=$BUILD/style
SCRIPTS=$STYLE/$SRC/scripts
fail=0

if [ ! -f "$SCRIPTS/checkpatch.pl" ] || [ ! -f "$SCRIPTS/kernel-doc" ]; then
	if [ ! -f "$TARBALL" ]; then
		echo "style.sh: $TARBALL missing (make deps installs $SRC)" >&2
		exit 1
	fi
	echo "style.sh: extracting checkpatch.pl and kernel-doc from $TARBALL"
	mkdir -p "$STYLE"
	tar -xJf "$TARBALL" -C "$STYLE" \
		$SRC/scripts/checkpatch.pl \
		$SRC/scripts/spelling.txt \
		$SRC/scripts/const_structs.checkpatch \
		$SRC/scripts/kernel-doc
fi

cd "$TOP"
files=$(ls kmod/*.c kmod/*.h)

# 1. checkpatch
log=$STYLE/checkpatch.log
perl "$SCRIPTS/checkpatch.pl" --no-tree --terse --show-types -f $(echo $files | tr ' ' '\n' | grep -vx kmod/compat.h) >"$log" 2>&1 || true
perl "$SCRIPTS/checkpatch.pl" --no-tree --terse --show-types \
	--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f kmod/compat.h >>"$log" 2>&1 || true
version_tests=$(grep -l 'LINUX_VERSION_CODE' $files | grep -vx kmod/compat.h || true)
if [ -n "$version_tests" ]; then
	echo "style.sh: LINUX_VERSION_CODE outside kmod/compat.h:" $version_tests
	fail=1
fi
if grep -E ': (ERROR|WARNING|CHECK):' "$log"; then
	echo "style.sh: checkpatch found problems (full output: $log)"
	fail=1
else
	echo "style.sh: checkpatch ($SRC): clean ($(echo $files | wc -w) files)"
fi

# 2. kernel-doc
log=$STYLE/kernel-doc.log
perl "$SCRIPTS/kernel-doc" -none $files >"$log" 2>&1 || true
if [ -s "$log" ]; then
	cat "$log"
	echo "style.sh: kernel-doc found problems"
	fail=1
else
	echo "style.sh: kernel-doc: clean"
fi

# 3. sparse (C=2 checks every file even when its object is up to date)
if ! command -v sparse >/dev/null 2>&1; then
	echo "style.sh: sparse is not installed (make deps)" >&2
	exit 1
fi
log=$STYLE/sparse.log
if ! make -C "$TOP" module KERNEL="$KERNEL" $BUILD_ARG KMOD_FLAGS=C=2 >"$log" 2>&1; then
	cat "$log"
	echo "style.sh: the sparse build failed"
	fail=1
elif ! grep -q 'CHECK' "$log"; then
	cat "$log"
	echo "style.sh: sparse did not run"
	fail=1
elif grep -E '(warning|error):' "$log"; then
	echo "style.sh: sparse or the compiler found problems (full output: $log)"
	fail=1
else
	echo "style.sh: sparse ($KERNEL): clean ($(grep -c 'CHECK' "$log") files checked)"
fi

exit $fail
