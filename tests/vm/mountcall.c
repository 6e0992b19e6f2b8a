// SPDX-License-Identifier: GPL-2.0
/*
 * mountcall - one mount(2) call with flags busybox mount cannot choose, for
 * tests/vm/test_reliability.py.  Built static on the host, run in the VM.
 *
 *   mountcall DEV DIR TYPE silent|loud [OPTIONS]
 *
 * "silent" passes MS_SILENT, as mount(8) does when it tries one filesystem
 * type after another (and busybox mount always does); "loud" does not.
 * The mount is read-only.  Prints "mount ok" (and unmounts again) or
 * "mount ENAME"; exits 0 either way, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

int main(int argc, char **argv)
{
	unsigned long flags = MS_RDONLY;
	const char *name;

	if (argc < 5 || argc > 6 ||
	    (strcmp(argv[4], "silent") && strcmp(argv[4], "loud"))) {
		fprintf(stderr, "usage: mountcall DEV DIR TYPE silent|loud [OPTIONS]\n");
		return 2;
	}
	if (!strcmp(argv[4], "silent"))
		flags |= MS_SILENT;
	if (mount(argv[1], argv[2], argv[3], flags, argc == 6 ? argv[5] : NULL)) {
		name = strerrorname_np(errno);
		printf("mount %s\n", name ? name : "E?");
		return 0;
	}
	printf("mount ok\n");
	if (umount(argv[2]))
		perror("umount");
	return 0;
}
