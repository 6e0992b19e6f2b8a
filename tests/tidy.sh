#!/bin/sh
# tidy.sh - clang-tidy over the C++ library and CLI (userspace/.clang-tidy),
# failing on any finding.  Needs build/userspace/compile_commands.json
# (make userspace).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
db="$top/build/userspace"
if [ ! -f "$db/compile_commands.json" ]; then
	echo "tidy.sh: $db/compile_commands.json missing (run make userspace)" >&2
	exit 2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
find "$top/userspace/src" "$top/userspace/tools" -name '*.cpp' | sort |
	xargs -P "$(nproc)" -n 4 clang-tidy -p "$db" --quiet >"$log" 2>&1 || true
n=$(grep -c -E ': (warning|error): ' "$log" || true)
if [ "$n" -ne 0 ]; then
	grep -A3 -E ': (warning|error): ' "$log" >&2
	echo "tidy.sh: clang-tidy: $n finding(s)" >&2
	exit 1
fi
echo "tidy.sh: clang-tidy: clean ($(find "$top/userspace/src" "$top/userspace/tools" -name '*.cpp' | wc -l) files)"
