#!/bin/sh
# install-deps.sh - install every Debian package the project needs, once.
# Idempotent: does nothing (and needs no network) when all are present.
# The debug kernel (qemu/debug-kernel/build.sh, make check-debug / coverage)
# needs linux-source-6.1 and, to build it: build-essential (gcc-12 with its
# gcov), bc, bison, flex, libelf-dev, libssl-dev, perl, rsync, xz-utils, cpio
# and flock (util-linux, essential).
#
# Two kernel series (qemu/kver.sh, make KERNEL=6.1|6.12):
#   6.1   Debian 12's own: linux-image-amd64 and linux-headers-amd64 from bookworm
#         (or, where those metapackages come from backports, the newest
#         linux-image-6.1.0-NN-amd64 and its headers by name), linux-source-6.1.
#   6.12  the newest linux-image-6.12.NN+deb12-amd64 and
#         linux-headers-6.12.NN+deb12-amd64 by name, and linux-source-6.12:
#         bookworm-backports has them (6.12.95-1~bpo12+1 when this was written),
#         and so, newer, does bookworm-security (6.12.117-1~deb12u1); apt takes
#         the newest.  NN is resolved with apt-cache, never hard-coded.  The backports
#         metapackages (linux-image-amd64 from bookworm-backports) are never
#         installed: the host keeps its 6.1 kernel.
# bookworm-backports is enabled the standard Debian way, as a deb822 file
# /etc/apt/sources.list.d/debian-backports.sources with the mirror and key of
# the bookworm entry, written only if no source names bookworm-backports yet.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
PKGS="build-essential cmake g++ pkg-config googletest libgtest-dev nlohmann-json3-dev libcli11-dev libfmt-dev
libnl-genl-3-dev
linux-image-amd64 linux-headers-amd64 linux-source-6.1 linux-source-6.12 kmod bc bison flex libelf-dev
libssl-dev perl
dwarves sparse rsync xz-utils
qemu-system-x86 qemu-utils busybox-static cpio
blktrace e2fsprogs dosfstools dmsetup
python3 python3-pytest python3-matplotlib python3-docutils clang-tidy ccache"
BACKPORTS=/etc/apt/sources.list.d/debian-backports.sources

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done
# A kernel series counts as installed when kver.sh finds a release of it with
# its headers and its image.
series_missing=""
for s in 6.1 6.12; do
	"$HERE/kver.sh" "$s" >/dev/null 2>&1 || series_missing="$series_missing $s"
done
if [ -z "$missing" ] && [ -z "$series_missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages:$missing${series_missing:+ and kernel(s)$series_missing} (run as root, or: sudo make deps)" >&2
	exit 1
fi

# bookworm-backports, with the URI and Signed-By of the bookworm entry.
enable_backports() {
	. /etc/os-release
	if [ "$VERSION_CODENAME" != bookworm ]; then
		echo "install-deps.sh: this is $PRETTY_NAME, not Debian 12 (bookworm): the 6.12 kernel comes from bookworm-backports" >&2
		exit 1
	fi
	if grep -rqsw 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; then
		return 0
	fi
	uri="" key=""
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		# The first stanza whose Suites has the word "bookworm".
		set -- $(awk 'BEGIN { RS = ""; FS = "\n" }
			$0 ~ /(^|\n)Suites:([^\n]*[ \t])?bookworm([ \t]|\n|$)/ {
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
					if ($i ~ /^Signed-By:/) { split($i, a, /[ \t]+/); k = a[2] }
				}
				print u, k; exit
			}' "$f")
		if [ -n "${1:-}" ]; then
			uri=$1 key=${2:-}
			break
		fi
	done
	uri=${uri:-http://deb.debian.org/debian}
	key=${key:-/usr/share/keyrings/debian-archive-keyring.gpg}
	echo "install-deps.sh: enabling bookworm-backports ($BACKPORTS: $uri)"
	cat >"$BACKPORTS" <<EOF
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: $key
EOF
}

# The newest kernel of a series apt knows, as "linux-image-REL linux-headers-REL":
# REL matches the extended regex $1; both packages must have a candidate.
newest_kernel() {
	for img in $(apt-cache pkgnames linux-image- | sed -n 's/^linux-image-//p' |
		grep -E "$1" | sort -V -r); do
		if apt-cache show "linux-image-$img" >/dev/null 2>&1 &&
			apt-cache show "linux-headers-$img" >/dev/null 2>&1; then
			echo "linux-image-$img linux-headers-$img"
			return 0
		fi
	done
	return 1
}

export DEBIAN_FRONTEND=noninteractive
case "$missing $series_missing" in
*6.12*) enable_backports ;;
esac
apt-get update -q
for s in $series_missing; do
	case $s in
	6.1) re='^6\.1\.0-[0-9]+-amd64$' ;;
	6.12) re='^6\.12\.[0-9]+\+deb12-amd64$' ;;
	esac
	if ! k=$(newest_kernel "$re"); then
		echo "install-deps.sh: apt knows no $s kernel (linux-image-REL and linux-headers-REL with REL matching $re)" >&2
		exit 1
	fi
	missing="$missing $k"
done
echo "install-deps.sh: installing:$missing"
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
for s in 6.1 6.12; do
	"$HERE/kver.sh" "$s" >/dev/null
done
