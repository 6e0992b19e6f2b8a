#!/bin/sh
# build.sh - build (or reuse) the mpagefs debug kernel of a kernel series:
# Debian's linux-source-<series>, x86_64 defconfig + kvm_guest.config +
# debug.config (KASAN, lockdep, kmemleak, gcov of fs/mpage.o and fs/buffer.o,
# ...) + debug-<series>.config if there is one.
#
#   qemu/debug-kernel/build.sh          build unless cached, print the tree
#   qemu/debug-kernel/build.sh --dir    only print the tree's path (no build)
#
# The series is $MPAGEFS_KERNEL_SERIES (the Makefile's KERNEL=, exported), 6.1
# by default.  The tree lives outside the clone, in
#   ${MPAGEFS_CACHE:-$HOME/.cache/mpagefs}/debug-kernel/<key>/linux-source-<series>
# where <key> is the linux-source-<series> package version and a hash of this
# script and the fragments: a package upgrade or an edited fragment builds a
# new tree, anything else reuses the old one (stamp file .built).  The tree
# is also the KDIR that out-of-tree modules build against (make M=...), and
# it keeps the .gcno files that gcov needs next to the guest's .gcda files.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SERIES=${MPAGEFS_KERNEL_SERIES:-6.1}
SRC=linux-source-$SERIES
TARBALL=${TARBALL:-/usr/src/$SRC.tar.xz}
CACHE=${MPAGEFS_CACHE:-$HOME/.cache/mpagefs}
FRAGMENTS=$HERE/debug.config
[ ! -f "$HERE/debug-$SERIES.config" ] || FRAGMENTS="$FRAGMENTS $HERE/debug-$SERIES.config"

die() { echo "debug-kernel: $*" >&2; exit 1; }

case $SERIES in
6.1 | 6.12) ;;
*) die "no debug kernel for series '$SERIES' (6.1 or 6.12)" ;;
esac
pkgver=$(dpkg-query -W -f='${Version}' "$SRC" 2>/dev/null) ||
	die "$SRC is not installed (make deps)"
# shellcheck disable=SC2086 # FRAGMENTS: paths without spaces
hash=$(cat "$HERE/build.sh" $FRAGMENTS | sha256sum | cut -c1-12)
KEYDIR=$CACHE/debug-kernel/$pkgver-$hash
TREE=$KEYDIR/$SRC
STAMP=$KEYDIR/.built
LOG=$KEYDIR/build.log

if [ "${1:-}" = "--dir" ]; then
	echo "$TREE"
	exit 0
fi

[ -r "$TARBALL" ] || die "$TARBALL missing (make deps installs $SRC)"
mkdir -p "$KEYDIR"
# One build per key at a time (several checkouts may share the cache).
exec 9>"$KEYDIR/.lock"
flock 9

if [ -f "$STAMP" ] && [ -f "$TREE/arch/x86/boot/bzImage" ] && [ -f "$TREE/Module.symvers" ]; then
	echo "debug-kernel: cached $TREE"
	exit 0
fi

start=$(date +%s)
phase() { echo "debug-kernel: [$(( $(date +%s) - start ))s] $*"; }
fail() {
	echo "debug-kernel: FAILED: $* (log: $LOG), last lines:" >&2
	tail -n 40 "$LOG" >&2
	exit 1
}
: >>"$LOG"

# .extracted: the tree is unpacked and patched; an interrupted build resumes
# in it (Kbuild rebuilds only what the configuration or sources changed).
if [ -f "$KEYDIR/.extracted" ] && [ -d "$TREE" ]; then
	phase "resuming in the extracted tree $TREE"
else
	phase "extracting $TARBALL ($SRC $pkgver) into $KEYDIR"
	rm -rf "$TREE" "$STAMP"
	# xz -T0: the tarball is compressed in blocks, decompressed on every CPU
	# (6.6 s against 10.5 s single-threaded for 6.12 here).
	xz -T0 -dc "$TARBALL" | tar -C "$KEYDIR" -xf - >>"$LOG" 2>&1 || fail "extract"
	[ -d "$TREE" ] || die "the tarball has no $SRC/ directory"

	phase "fs/Makefile: gcov profiling of fs/mpage.o and fs/buffer.o only"
	printf '\n# mpagefs debug kernel: gcov for the files the lab exercises.\nGCOV_PROFILE_mpage.o := y\nGCOV_PROFILE_buffer.o := y\n' \
		>>"$TREE/fs/Makefile"
	touch "$KEYDIR/.extracted"
fi

cd "$TREE"
phase "configuring: defconfig + kvm_guest.config + $(echo "$FRAGMENTS" | sed "s|$HERE/||g")"
# The fragments are appended to defconfig's .config and resolved in one
# olddefconfig: Kconfig takes a symbol's last assignment, which is what
# "make kvm_guest.config" and merge_config.sh do in three passes (the same
# .config on 6.1 and 6.12, in 17 s instead of 34 s here).
kvm_guest=kernel/configs/kvm_guest.config
[ ! -f arch/x86/configs/kvm_guest.config ] || kvm_guest="$kvm_guest arch/x86/configs/kvm_guest.config"
{
	make -j"$(nproc)" defconfig &&
	# shellcheck disable=SC2086
	cat $kvm_guest $FRAGMENTS >>.config &&
	make -j"$(nproc)" olddefconfig
} >>"$LOG" 2>&1 || fail "configuration"

# Every option of the fragments (and what it implies) must have survived the
# dependency resolution of olddefconfig.  A symbol's last assignment is the
# one wanted, as in Kconfig: debug-<series>.config may override debug.config.
bad=""
check() { grep -qx "$1" .config || bad="$bad
  wanted '$1', .config has: '$(grep -E "(^|# )${2}[= ]" .config || echo "(absent)")'"; }
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		check "$line" "${line%%=*}" ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		if grep -qE "^$opt=" .config; then
			bad="$bad
  wanted '$line', .config has: '$(grep -E "^$opt=" .config)'"
		fi ;;
	esac
done <<FRAGMENTS
$(cat $FRAGMENTS | sed -n -E 's/^(CONFIG_[A-Za-z0-9_]+)=.*/\1 &/p; s/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1 &/p' |
	awk '{ k = $1; sub(/^[^ ]+ /, ""); if (!(k in v)) o[++n] = k; v[k] = $0 }
	     END { for (i = 1; i <= n; i++) print v[o[i]] }')
FRAGMENTS
for opt in TRACEPOINTS EVENT_TRACING STACKTRACE KALLSYMS BLK_DEV_INITRD DEVTMPFS; do
	check "CONFIG_$opt=y" "CONFIG_$opt"
done
[ -z "$bad" ] || die "options dropped by Kconfig dependencies:$bad"
phase "configuration verified ($(grep -c '=y' .config) options built in)"

# One job more than CPUs: the compile phase left a fifth of 2 CPUs idle
# (166% at -j2) while jobs wait on the disk.
jobs=$(( $(nproc) + 1 ))
phase "building bzImage + modules with -j$jobs (log: $LOG)"
nice -n 10 make -j"$jobs" bzImage modules >>"$LOG" 2>&1 || fail "kernel build"
[ -f Module.symvers ] || fail "no Module.symvers after the build"
release=$(make -s kernelrelease)
phase "built $release: $TREE/arch/x86/boot/bzImage"
echo "$release" >"$STAMP"
