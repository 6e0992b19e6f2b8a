// SPDX-License-Identifier: GPL-2.0
/*
 * hostile - mount a (deliberately corrupt) mpagefs and use it, for
 * tests/vm/test_hostile.py.  Built static on the host, run in the VM, one
 * process per image so that 500 images fit in a couple of boots.
 *
 *   hostile DEV MNT SEED
 *
 * For mode ro, then rw: writes "hostile: seed S mode M" to /dev/kmsg (the
 * host splits the kernel log at these marks), mounts DEV on MNT, walks
 * every file and directory (lstat, readdir, readlink, open + read of
 * regular files, a read near the end of a huge file), on rw also writes a
 * little (create + write + fsync, append to each regular file, rename,
 * unlink, mkdir, a create in each subdirectory), then unmounts.
 * Prints one line per failed call:
 *   ERR SEED MODE OP ENAME PATH
 * per mode "DONE SEED MODE mounted=0|1 calls=N", and after the rw unmount
 * "STATE SEED 0xS" (the superblock's s_state on the device).  A fifo or device is
 * only lstat'ed (opening one could block or reach a random driver).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH	8
#define MAX_ENTRIES	2000
#define READ_CAP	(1 << 20)

static const char *seed, *mode;
static int calls, entries, rw;
static char buf[65536];

static void fail(const char *op, const char *path)
{
	const char *name = strerrorname_np(errno);

	printf("ERR %s %s %s %s %s\n", seed, mode, op, name ? name : "E?", path);
}

static void kmsg(const char *text)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			fail("kmsg", "/dev/kmsg");
		close(fd);
	}
}

static void read_file(const char *path, const struct stat *st)
{
	long long done = 0;
	ssize_t n;
	int fd;

	calls++;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fail("open", path);
		return;
	}
	while (done < READ_CAP) {
		calls++;
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			fail("read", path);
			break;
		}
		if (n == 0)
			break;
		done += n;
	}
	/* A huge size over few blocks: map a block far away, too. */
	if (st->st_size > READ_CAP) {
		calls++;
		if (pread(fd, buf, 4096, st->st_size - 4096) < 0)
			fail("pread-end", path);
	}
	close(fd);
}

static void write_in(const char *dir)
{
	char path[PATH_MAX], to[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/hostile-new", dir);
	calls++;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fail("create", path);
		return;
	}
	calls += 2;
	if (write(fd, "hostile\n", 8) != 8)
		fail("write", path);
	if (fsync(fd) < 0)
		fail("fsync", path);
	close(fd);
	snprintf(to, sizeof(to), "%s/hostile-renamed", dir);
	calls += 2;
	if (rename(path, to) < 0)
		fail("rename", path);
	else if (unlink(to) < 0)
		fail("unlink", to);
}

static void walk(const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *d;
	struct stat st;
	DIR *dp;

	calls++;
	dp = opendir(dir);
	if (!dp) {
		fail("opendir", dir);
		return;
	}
	for (;;) {
		errno = 0;
		calls++;
		d = readdir(dp);
		if (!d) {
			if (errno)
				fail("readdir", dir);
			break;
		}
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (++entries > MAX_ENTRIES)
			break;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		calls++;
		if (lstat(path, &st) < 0) {
			fail("lstat", path);
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			calls++;
			if (readlink(path, buf, sizeof(buf)) < 0)
				fail("readlink", path);
		} else if (S_ISREG(st.st_mode)) {
			read_file(path, &st);
			if (rw) {
				int fd = open(path, O_WRONLY | O_APPEND);

				calls++;
				if (fd < 0) {
					fail("open-append", path);
				} else {
					calls++;
					if (write(fd, "+", 1) != 1)
						fail("append", path);
					close(fd);
				}
			}
		} else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			walk(path, depth + 1);
			if (rw)
				write_in(path);
		}
	}
	closedir(dp);
}

/* s_state as the unmount left it on the device (kmod/mpagefs_fs.h) */
static void print_state(const char *dev)
{
	unsigned char b[4];
	int fd = open(dev, O_RDONLY);

	if (fd < 0 || pread(fd, b, 4, 28) != 4) {
		fail("read-state", dev);
	} else {
		printf("STATE %s 0x%x\n", seed,
		       b[0] | b[1] << 8 | b[2] << 16 | (unsigned int)b[3] << 24);
	}
	if (fd >= 0)
		close(fd);
}

static void one_mode(const char *dev, const char *mnt, const char *m)
{
	char line[128], path[PATH_MAX];
	int mounted;

	mode = m;
	rw = !strcmp(m, "rw");
	calls = entries = 0;
	snprintf(line, sizeof(line), "hostile: seed %s mode %s\n", seed, mode);
	kmsg(line);
	mounted = mount(dev, mnt, "mpagefs", rw ? 0 : MS_RDONLY, NULL) == 0;
	if (!mounted) {
		fail("mount", dev);
	} else {
		walk(mnt, 0);
		if (rw) {
			write_in(mnt);
			snprintf(path, sizeof(path), "%s/hostile-dir", mnt);
			calls += 2;
			if (mkdir(path, 0755) < 0)
				fail("mkdir", path);
			else if (rmdir(path) < 0)
				fail("rmdir", path);
			calls++;
			sync();
		}
		if (umount2(mnt, 0) < 0) {
			fail("umount", mnt);
			/* Nothing else can be trusted: stop here. */
			printf("STUCK %s %s\n", seed, mode);
			exit(1);
		}
		if (rw)
			print_state(dev);
	}
	printf("DONE %s %s mounted=%d calls=%d\n", seed, mode, mounted, calls);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: hostile DEV MNT SEED\n");
		return 2;
	}
	seed = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	one_mode(argv[1], argv[2], "ro");
	one_mode(argv[1], argv[2], "rw");
	kmsg("hostile: end\n");
	return 0;
}
