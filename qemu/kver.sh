#!/bin/sh
# kver.sh - the kernel release the VM boots: the one Debian's linux-image-amd64
# metapackage currently depends on (6.1.0-NN-amd64).  Never hard-coded.
set -e
dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | sed -n 's/.*linux-image-\([0-9][^ ,|]*-amd64\).*/\1/p')
if [ -n "$dep" ] && [ -d "/lib/modules/$dep" ]; then
	echo "$dep"
	exit 0
fi
# Fallback: the newest installed 6.1 kernel with headers.
for d in $(ls -d /lib/modules/6.1.*-amd64 2>/dev/null | sort -V -r); do
	if [ -e "$d/build/Makefile" ]; then
		basename "$d"
		exit 0
	fi
done
echo "kver.sh: no linux-image-amd64 6.1 kernel with headers installed (run: make deps)" >&2
exit 1
