// SPDX-License-Identifier: GPL-2.0
/*
 * failio - the system calls tests/vm/test_failing_disk.py needs with exact
 * errno values (busybox reports neither the errno of fsync nor a second
 * fsync on the same descriptor).  Built static on the host, run in the VM.
 *
 *   failio write PATH SIZE SEED   create PATH, write SIZE bytes of a seeded
 *                                 pattern, then fsync twice on the same
 *                                 descriptor: "write OK|ENAME",
 *                                 "fsync1 OK|ENAME", "fsync2 OK|ENAME";
 *                                 with FAILIO_GO=FILE in the environment,
 *                                 waits between the two fsyncs until FILE
 *                                 exists (inotify on its directory, no
 *                                 polling; bounded: after 60 s it prints
 *                                 "go TIMEOUT" and goes on); then closes
 *                                 and fsyncs PATH's directory:
 *                                 "close OK|ENAME", "fsyncdir OK|ENAME"
 *   failio read PATH              read PATH to the end: "read OK BYTES" or
 *                                 "read ENAME"
 *   failio fsync PATH             open, fsync, close: "fsync OK|ENAME"
 * Every line is prefixed with PATH's last component.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static const char *tag;

static void result(const char *op, int ok)
{
	const char *e = strerrorname_np(errno);

	if (ok)
		printf("%s %s OK\n", tag, op);
	else
		printf("%s %s %s\n", tag, op, e ? e : "E?");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Wait until PATH exists: inotify on its directory (IN_CREATE, IN_MOVED_TO),
 * watched before the first look so that a creation in between is not missed.
 * Returns 1 once PATH exists, 0 after TIMEOUT_MS (a hang of the script, not a
 * race: the script creates the file once it has done its part).
 */
static int wait_for_file(const char *path, int timeout_ms)
{
	char dir[4096], buf[4096];
	const char *slash = strrchr(path, '/');
	long long end = now_ms() + timeout_ms;
	int fd, found = 0;

	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO) < 0) {
		perror("failio: inotify");
		exit(3);
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left;

		if (!access(path, F_OK)) {
			found = 1;
			break;
		}
		left = end - now_ms();
		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) > 0 && read(fd, buf, sizeof(buf)) < 0) {
			perror("failio: inotify read");
			exit(3);
		}
	}
	close(fd);
	return found;
}

static int do_write(const char *path, long long size, unsigned long long x)
{
	static unsigned char buf[65536];
	long long done = 0;
	int fd, ok = 1;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		result("open", 0);
		return 0;
	}
	while (done < size && ok) {
		size_t n = size - done < (long long)sizeof(buf) ?
			   (size_t)(size - done) : sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (unsigned char)x;
		}
		ok = write(fd, buf, n) == (ssize_t)n;
		done += n;
	}
	result("write", ok);
	result("fsync1", fsync(fd) == 0);
	if (getenv("FAILIO_GO") && !wait_for_file(getenv("FAILIO_GO"), 60000))
		printf("%s go TIMEOUT\n", tag);
	result("fsync2", fsync(fd) == 0);
	result("close", close(fd) == 0);
	/* POSIX: the new name is durable once its directory is fsync'ed */
	{
		char dir[4096];
		char *slash;
		int dfd;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), "%s", slash ? "/" : ".");
		dfd = open(dir, O_RDONLY | O_DIRECTORY);
		result("fsyncdir", dfd >= 0 && fsync(dfd) == 0);
		if (dfd >= 0)
			close(dfd);
	}
	return 0;
}

static int do_read(const char *path)
{
	static char buf[65536];
	long long done = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		result("open", 0);
		return 0;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		done += n;
	if (n < 0)
		result("read", 0);
	else
		printf("%s read OK %lld\n", tag, done);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *slash;

	if (argc < 3)
		goto usage;
	slash = strrchr(argv[2], '/');
	tag = slash ? slash + 1 : argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "write") && argc == 5)
		return do_write(argv[2], atoll(argv[3]), strtoull(argv[4], NULL, 0) | 1);
	if (!strcmp(argv[1], "read") && argc == 3)
		return do_read(argv[2]);
	if (!strcmp(argv[1], "fsync") && argc == 3) {
		int fd = open(argv[2], O_RDONLY);

		result("fsync", fd >= 0 && fsync(fd) == 0);
		return 0;
	}
usage:
	fprintf(stderr, "usage: failio write PATH SIZE SEED | read PATH | fsync PATH\n");
	return 2;
}
