#!/bin/sh
# style.sh - kernel style checks of kmod/, run by `make style` (part of `make check`):
#   1. scripts/checkpatch.pl --no-tree -f on every kmod/*.[ch]: no errors, no warnings
#   2. scripts/kernel-doc -none on kmod/*.[ch]: no kernel-doc warnings
#   3. a sparse build of the module (make module KMOD_FLAGS=C=2, i.e. sparse on
#      every file whether or not it is recompiled): no sparse or compiler warnings
# checkpatch.pl, kernel-doc and their data files come from Debian's
# linux-source-6.1 tarball, extracted once into build/style/.
# Exits non-zero if any check finds a problem.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
STYLE=$BUILD/style
SCRIPTS=$STYLE/linux-source-6.1/scripts
fail=0

if [ ! -f "$SCRIPTS/checkpatch.pl" ] || [ ! -f "$SCRIPTS/kernel-doc" ]; then
	if [ ! -f "$TARBALL" ]; then
		echo "style.sh: $TARBALL missing (make deps installs linux-source-6.1)" >&2
		exit 1
	fi
	echo "style.sh: extracting checkpatch.pl and kernel-doc from $TARBALL"
	mkdir -p "$STYLE"
	tar -xJf "$TARBALL" -C "$STYLE" \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch \
		linux-source-6.1/scripts/kernel-doc
fi

cd "$TOP"
files=$(ls kmod/*.c kmod/*.h)

# 1. checkpatch
log=$STYLE/checkpatch.log
perl "$SCRIPTS/checkpatch.pl" --no-tree --terse --show-types -f $files >"$log" 2>&1 || true
if grep -E ': (ERROR|WARNING|CHECK):' "$log"; then
	echo "style.sh: checkpatch found problems (full output: $log)"
	fail=1
else
	echo "style.sh: checkpatch: clean ($(echo $files | wc -w) files)"
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
if ! make -C "$TOP" module KMOD_FLAGS=C=2 >"$log" 2>&1; then
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
	echo "style.sh: sparse: clean ($(grep -c 'CHECK' "$log") files checked)"
fi

exit $fail
