#!/bin/sh
# check-layering.sh - the layering of userspace/ (userspace/README.md): no
# core file (include/mpagefs/**, src/<concern>/*, outside any sys/ folder)
# includes a system header or a header of the system layer.  Run by ctest
# (make unit-test) as the test "layering".
#
#   check-layering.sh USERSPACE_DIR   check that tree; exit 1 listing every
#                                     offending #include
#   check-layering.sh --self-test     run the check on a tree holding one
#                                     offending include of each kind and
#                                     fail unless it finds every one
#
# Allowed in the core: the C++ standard library (but not <fstream>,
# <filesystem>, <thread>, <iostream> or <csignal>: files by path, threads,
# the process's streams and signals are the system layer's), nlohmann/json,
# fmt (but not <fmt/os.h>, its files and pipes),
# the core's own headers ("mpagefs/..." and a private header next to the
# source), the shared format headers of kmod/ (mpagefs_fs.h, mpagefs_genl.h)
# and <linux/blktrace_api.h>, which defines the blktrace record, the format
# of a trace file (types and constants only, like mpagefs_fs.h).
set -eu

# Prints "FILE:LINE: #include ..." for every include a core file may not have.
violations() {
	top=$1
	find "$top/include" "$top/src" -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) \
		-not -path '*/sys/*' | sort | while read -r f; do
		grep -n -E '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed -E 's/^[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*//')
			case "$inc" in
			'<linux/blktrace_api.h>') continue ;;
			'<sys/'* | '<unistd.h>' | '<fcntl.h>' | '<netlink/'* | '<linux/'* | '<asm/'* | \
			'<poll.h>' | '<spawn.h>' | '<dirent.h>' | '<sched.h>' | '<signal.h>' | '<csignal>' | \
			'<pthread.h>' | '<dlfcn.h>' | '<mntent.h>' | '<termios.h>' | '<fstream>' | \
			'<filesystem>' | '<thread>' | '<iostream>' | '<CLI/'* | '<fmt/os.h>')
				echo "$f:$line" ;;
			'"mpagefs_fs.h"' | '"mpagefs_genl.h"' | '"mpagefs/'*) ;;
			'"'*'/sys/'* | '"'*sys/*)
				echo "$f:$line" ;;
			'"'*'/'*'"')
				echo "$f:$line (not a core header)" ;;
			'"'*)
				# A private header next to the source.
				name=$(printf '%s\n' "$inc" | tr -d '"')
				[ -f "$(dirname "$f")/$name" ] || echo "$f:$line (no such header beside it)" ;;
			esac
		done
	done
}

if [ "${1:-}" = "--self-test" ]; then
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	mkdir -p "$t/include/mpagefs/x" "$t/src/x/sys"
	printf '#include <vector>\n#include "mpagefs/x/a.hpp"\n' >"$t/include/mpagefs/x/a.hpp"
	printf '#include "x/sys/b.hpp"\n' >"$t/src/x/sys/b.hpp"
	n=0
	for bad in '<sys/stat.h>' '<unistd.h>' '<fcntl.h>' '<netlink/msg.h>' '<linux/fs.h>' \
		'<fstream>' '<CLI/CLI.hpp>' '<fmt/os.h>' '"x/sys/b.hpp"' '"../x/sys/b.hpp"' '"trace/other.hpp"'; do
		n=$((n + 1))
		printf '#include "mpagefs/x/a.hpp"\n#include <vector>\n#include %s\n' "$bad" >"$t/src/x/bad$n.cpp"
	done
	printf '#include "mpagefs/x/a.hpp"\n#include <linux/blktrace_api.h>\n#include <fmt/format.h>\n' >"$t/src/x/good.cpp"
	found=$(violations "$t" | wc -l)
	if [ "$found" -ne "$n" ]; then
		violations "$t" >&2
		echo "check-layering.sh --self-test: found $found of $n planted violations" >&2
		exit 1
	fi
	echo "check-layering.sh --self-test: all $n planted violations found"
	exit 0
fi

top=${1:?usage: check-layering.sh USERSPACE_DIR | --self-test}
out=$(violations "$top")
if [ -n "$out" ]; then
	printf '%s\n' "$out" >&2
	echo "check-layering.sh: $(printf '%s\n' "$out" | wc -l) include(s) of the system layer in core files (userspace/README.md)" >&2
	exit 1
fi
echo "check-layering.sh: core files include no system header ($(find "$top/include" "$top/src" -type f -not -path '*/sys/*' | wc -l) files)"
