// SPDX-License-Identifier: GPL-2.0
/*
 * fibmap FILE SECONDS - the get_block loop of `make bench` (tests/bench/gbcost.py).
 *
 * Asks FIBMAP for every block of FILE, in order, round after round, for at
 * least SECONDS.  Each FIBMAP is one call of the filesystem's get_block
 * (bmap -> generic_block_bmap(), one block, no page), and after the first
 * round, which is not timed, every indirect block it needs is in the
 * buffer cache: the loop measures get_block on cached metadata, not I/O.
 *
 * Prints one JSON line: calls timed, seconds, calls per second, and the sum
 * of the physical block numbers of one round (the two builds compared must
 * map the same blocks).  Exit status 0, 1 on an error (message on stderr),
 * 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One FIBMAP per block; the sum of the answers, or -1 on an error. */
static long long one_round(int fd, unsigned long blocks)
{
	long long sum = 0;
	unsigned long b;

	for (b = 0; b < blocks; b++) {
		int blk = (int)b;

		if (ioctl(fd, FIBMAP, &blk) < 0) {
			fprintf(stderr, "fibmap: FIBMAP of block %lu: %s\n", b, strerror(errno));
			return -1;
		}
		sum += (unsigned int)blk;
	}
	return sum;
}

int main(int argc, char **argv)
{
	unsigned long long calls = 0;
	unsigned long blocks;
	double seconds, t0, t;
	long long sum, s;
	struct stat st;
	int fd, bsz;

	if (argc != 3 || (seconds = strtod(argv[2], NULL)) <= 0) {
		fprintf(stderr, "usage: fibmap FILE SECONDS\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || ioctl(fd, FIGETBSZ, &bsz) || bsz <= 0) {
		fprintf(stderr, "fibmap: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	blocks = (st.st_size + bsz - 1) / bsz;
	if (!blocks) {
		fprintf(stderr, "fibmap: %s is empty\n", argv[1]);
		return 1;
	}
	sum = one_round(fd, blocks);	/* warms the buffer cache */
	if (sum < 0)
		return 1;
	t0 = now();
	do {
		s = one_round(fd, blocks);
		if (s != sum) {
			if (s >= 0)
				fprintf(stderr, "fibmap: the map changed between rounds\n");
			return 1;
		}
		calls += blocks;
		t = now();
	} while (t - t0 < seconds);
	printf("{\"calls\": %llu, \"seconds\": %.6f, \"calls_per_s\": %.1f, \"blocks\": %lu, "
	       "\"block_sum\": %lld}\n", calls, t - t0, calls / (t - t0), blocks, sum);
	return 0;
}
