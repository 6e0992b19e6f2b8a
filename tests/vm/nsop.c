// SPDX-License-Identifier: GPL-2.0
/*
 * nsop - namespace system calls for the VM tests (tests/vm/test_namespace.py),
 * which busybox's applets cannot make (renameat2 flags, exact errno values,
 * thousands of files without a fork each, readdir while deleting).
 * Built static on the host by the test and run inside the VM.
 *
 *   nsop OP ARGS...   one call; prints "OP ok" or "OP ENAME" and exits 0
 *                     (OP: create mkdir rmdir unlink link symlink mknod-chr
 *                     mknod-fifo rename rename-noreplace rename-exchange
 *                     rename-whiteout readlink stat statfs,
 *                     tmpfile DIR NAME)
 *   nsop many DIR PREFIX N          create DIR/PREFIX0 .. PREFIX(N-1)
 *   nsop unlink-every DIR PREFIX N K  unlink names whose index % K == 0
 *   nsop readdir-delete DIR         readdir while unlinking (see below)
 *   nsop seekdir DIR                telldir/seekdir round trip (see below)
 *   nsop tree DIR                   every path under DIR in readdir order,
 *                                   with its inode, links, mode, size, times
 *                                   and, for a directory, its ".." record
 * Bulk commands print one summary line and exit 1 on the first failure.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EMLINK: return "EMLINK";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case EPERM: return "EPERM";
	case EXDEV: return "EXDEV";
	case EBUSY: return "EBUSY";
	case EIO: return "EIO";
	case EUCLEAN: return "EUCLEAN";
	default: return strerror(e);
	}
}

static int one(int argc, char **argv)
{
	const char *op = argv[1];
	int r = -1;

	if (!strcmp(op, "create") && argc == 3) {
		r = open(argv[2], O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (r >= 0)
			r = close(r);
	} else if (!strcmp(op, "mkdir") && argc == 3) {
		r = mkdir(argv[2], 0755);
	} else if (!strcmp(op, "rmdir") && argc == 3) {
		r = rmdir(argv[2]);
	} else if (!strcmp(op, "unlink") && argc == 3) {
		r = unlink(argv[2]);
	} else if (!strcmp(op, "link") && argc == 4) {
		r = link(argv[2], argv[3]);
	} else if (!strcmp(op, "symlink") && argc == 4) {
		r = symlink(argv[2], argv[3]);
	} else if (!strcmp(op, "mknod-chr") && argc == 5) {
		r = mknod(argv[2], S_IFCHR | 0600,
			  makedev(atoi(argv[3]), atoi(argv[4])));
	} else if (!strcmp(op, "mknod-fifo") && argc == 3) {
		r = mknod(argv[2], S_IFIFO | 0600, 0);
	} else if (!strcmp(op, "rename") && argc == 4) {
		r = renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], 0);
	} else if (!strcmp(op, "rename-noreplace") && argc == 4) {
		r = renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3],
			      RENAME_NOREPLACE);
	} else if (!strcmp(op, "rename-exchange") && argc == 4) {
		r = renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3],
			      RENAME_EXCHANGE);
	} else if (!strcmp(op, "rename-whiteout") && argc == 4) {
		r = renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3],
			      RENAME_WHITEOUT);
	} else if (!strcmp(op, "stat") && argc == 3) {
		struct stat st;

		if (!lstat(argv[2], &st)) {
			printf("%s ok ino %lu nlink %lu mode %o size %lld rdev %u:%u blocks %lld mtime %lld ctime %lld\n",
			       op, (unsigned long)st.st_ino,
			       (unsigned long)st.st_nlink, st.st_mode,
			       (long long)st.st_size, major(st.st_rdev),
			       minor(st.st_rdev), (long long)st.st_blocks,
			       st.st_mtim.tv_sec * 1000000000LL +
			       st.st_mtim.tv_nsec,
			       st.st_ctim.tv_sec * 1000000000LL +
			       st.st_ctim.tv_nsec);
			return 0;
		}
	} else if (!strcmp(op, "tmpfile") && argc == 4) {
		/* an unnamed file in DIR, written, then linked in as NAME */
		int fd = open(argv[2], O_TMPFILE | O_RDWR, 0644);

		r = fd;
		if (fd >= 0) {
			r = write(fd, "tmpfile\n", 8) == 8 ? 0 : -1;
			if (!r)
				r = linkat(fd, "", AT_FDCWD, argv[3],
					   AT_EMPTY_PATH);
			close(fd);
		}
	} else if (!strcmp(op, "statfs") && argc == 3) {
		struct statvfs sv;

		if (!statvfs(argv[2], &sv)) {
			printf("%s ok blocks %llu bfree %llu files %llu ffree %llu\n",
			       op, (unsigned long long)sv.f_blocks,
			       (unsigned long long)sv.f_bfree,
			       (unsigned long long)sv.f_files,
			       (unsigned long long)sv.f_ffree);
			return 0;
		}
	} else if (!strcmp(op, "readlink") && argc == 3) {
		static char buf[PATH_MAX + 1];
		ssize_t n = readlink(argv[2], buf, PATH_MAX);

		if (n >= 0) {
			buf[n] = 0;
			printf("%s ok %zd %s\n", op, n, buf);
			return 0;
		}
	} else {
		fprintf(stderr, "nsop: bad command %s\n", op);
		return 2;
	}
	printf("%s %s\n", op, errname(r < 0 ? errno : 0));
	return 0;
}

static int many(const char *dir, const char *prefix, long n)
{
	char path[PATH_MAX];
	long i;

	for (i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s%ld", dir, prefix, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || close(fd)) {
			printf("many failed at %s: %s\n", path, errname(errno));
			return 1;
		}
	}
	printf("many ok %ld\n", n);
	return 0;
}

static int unlink_every(const char *dir, const char *prefix, long n, long k)
{
	char path[PATH_MAX];
	long i, done = 0;

	for (i = 0; i < n; i += k) {
		snprintf(path, sizeof(path), "%s/%s%ld", dir, prefix, i);
		if (unlink(path)) {
			printf("unlink-every failed at %s: %s\n", path,
			       errname(errno));
			return 1;
		}
		done++;
	}
	printf("unlink-every ok %ld\n", done);
	return 0;
}

/*
 * Reads DIR (whose entries are named f0 .. fN-1) half-way, unlinks every
 * fI with an odd I (read already or not), then reads on.  Names never
 * unlinked must come exactly once in all, and no name may come twice.
 * Prints one line per name seen ("seen NAME") and a summary; the test
 * checks the rest.
 */
static int readdir_delete(const char *dirpath)
{
	char path[PATH_MAX];
	struct dirent *de;
	long total = 0, seen = 0, removed = 0;
	DIR *d;

	d = opendir(dirpath);
	if (!d) {
		printf("readdir-delete opendir %s\n", errname(errno));
		return 1;
	}
	while ((de = readdir(d)))
		total++;
	rewinddir(d);
	while (seen < total / 2 && (de = readdir(d))) {
		printf("seen %s\n", de->d_name);
		seen++;
	}
	/* remove names by pattern: what readdir returns next must cope */
	for (long i = 0; i < total; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", dirpath, i);
		if (i % 2 == 1 && !unlink(path))
			removed++;
	}
	while ((de = readdir(d))) {
		printf("seen %s\n", de->d_name);
		seen++;
	}
	closedir(d);
	printf("readdir-delete total %ld seen %ld removed %ld\n", total, seen,
	       removed);
	return 0;
}

/*
 * telldir/seekdir: remembers the position of every 7th entry, reads to the
 * end, then seeks back to each and checks the same name comes next.
 */
static int seekdir_check(const char *dirpath)
{
	enum { MAXPOS = 4096 };
	static long pos[MAXPOS];
	static char names[MAXPOS][256];
	struct dirent *de;
	int n = 0, i, bad = 0;
	long k = 0;
	DIR *d = opendir(dirpath);

	if (!d) {
		printf("seekdir opendir %s\n", errname(errno));
		return 1;
	}
	for (;;) {
		long p = telldir(d);

		de = readdir(d);
		if (!de)
			break;
		if (k++ % 7 == 0 && n < MAXPOS) {
			pos[n] = p;
			snprintf(names[n], sizeof(names[n]), "%s", de->d_name);
			n++;
		}
	}
	for (i = n - 1; i >= 0; i--) {
		seekdir(d, pos[i]);
		de = readdir(d);
		if (!de || strcmp(de->d_name, names[i])) {
			printf("seekdir mismatch at %ld: want %s got %s\n",
			       pos[i], names[i], de ? de->d_name : "(end)");
			bad++;
		}
	}
	closedir(d);
	printf("seekdir checked %d bad %d\n", n, bad);
	return bad != 0;
}

static int tree_one(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	unsigned long dotdot = 0;

	(void)ftw;
	/* ".." as the directory records it (path walks use the dcache) */
	if (flag == FTW_D) {
		DIR *d = opendir(path);
		struct dirent *de;

		while (d && (de = readdir(d)))
			if (!strcmp(de->d_name, ".."))
				dotdot = de->d_ino;
		if (d)
			closedir(d);
	}
	printf("%s ino %lu nlink %lu mode %o size %lld rdev %u:%u mtime %lld ctime %lld dotdot %lu\n",
	       path, (unsigned long)st->st_ino, (unsigned long)st->st_nlink,
	       st->st_mode, (long long)st->st_size, major(st->st_rdev),
	       minor(st->st_rdev),
	       st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
	       st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec,
	       dotdot);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "many"))
		return many(argv[2], argv[3], atol(argv[4]));
	if (argc >= 6 && !strcmp(argv[1], "unlink-every"))
		return unlink_every(argv[2], argv[3], atol(argv[4]),
				    atol(argv[5]));
	if (argc == 3 && !strcmp(argv[1], "readdir-delete"))
		return readdir_delete(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "tree"))
		return nftw(argv[2], tree_one, 16, FTW_PHYS) ? 1 : 0;
	if (argc == 3 && !strcmp(argv[1], "seekdir"))
		return seekdir_check(argv[2]);
	if (argc >= 3)
		return one(argc, argv);
	fprintf(stderr, "usage: nsop OP ARGS...\n");
	return 2;
}
