#!/bin/sh
# install-deps.sh - install every Debian package the project needs, once.
# Idempotent: does nothing (and needs no network) when all are present.
# The debug kernel (qemu/debug-kernel/build.sh, make check-debug / coverage)
# needs linux-source-6.1 and, to build it: build-essential (gcc-12 with its
# gcov), bc, bison, flex, libelf-dev, libssl-dev, perl, rsync, xz-utils, cpio
# and flock (util-linux, essential).
set -e
PKGS="build-essential cmake g++ pkg-config googletest libgtest-dev nlohmann-json3-dev libcli11-dev
libnl-genl-3-dev
linux-image-amd64 linux-headers-amd64 linux-source-6.1 kmod bc bison flex libelf-dev libssl-dev perl
dwarves sparse rsync xz-utils
qemu-system-x86 qemu-utils busybox-static cpio
blktrace e2fsprogs dosfstools dmsetup
python3 python3-pytest python3-matplotlib clang-tidy ccache"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages:$missing (run as root, or: sudo make deps)" >&2
	exit 1
fi
echo "install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
