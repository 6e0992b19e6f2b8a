#!/bin/sh
# kver.sh [SERIES] - the kernel release the project builds for and the VM boots,
# for kernel SERIES: 6.1 (Debian 12's own kernel, the default) or 6.12 (Debian 12's
# bookworm-backports kernel).  Prints the newest installed release of that series
# that has both its headers (/lib/modules/REL/build/Makefile) and its image
# (/boot/vmlinuz-REL); never hard-coded, and never taken from the linux-image-amd64
# metapackage (on a machine running the backports kernel that metapackage is
# 6.12's).  Otherwise prints one line naming what to install, and exits 1.
#
#   6.1   releases 6.1.0-NN-amd64        linux-image-6.1.0-NN-amd64, linux-headers-6.1.0-NN-amd64
#   6.12  releases 6.12.NN+deb12-amd64   linux-image-6.12.NN+deb12-amd64,
#                                        linux-headers-6.12.NN+deb12-amd64 (bookworm-backports)
# Only the plain amd64 flavour counts (not -cloud-amd64, -rt-amd64).
set -e
series=${1:-6.1}
case $series in
6.1)
	re='^6\.1\.0-[0-9]+-amd64$'
	pkgs="linux-image-6.1.0-*-amd64 and linux-headers-6.1.0-*-amd64"
	;;
6.12)
	# +bpo was the ABI suffix of the first 6.12 backports, +deb12 of the later ones.
	re='^6\.12\.[0-9]+\+(deb12|bpo)-amd64$'
	pkgs="linux-image-6.12.*+deb12-amd64 and linux-headers-6.12.*+deb12-amd64 from bookworm-backports"
	;;
*)
	echo "kver.sh: unknown kernel series '$series': expected 6.1 or 6.12" >&2
	exit 1
	;;
esac
for rel in $(ls /lib/modules 2>/dev/null | grep -E "$re" | sort -V -r); do
	if [ -e "/lib/modules/$rel/build/Makefile" ] && [ -e "/boot/vmlinuz-$rel" ]; then
		echo "$rel"
		exit 0
	fi
done
echo "kver.sh: no $series kernel with headers installed: run make deps (installs $pkgs)" >&2
exit 1
