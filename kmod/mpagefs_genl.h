/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * mpagefs_genl.h - the generic netlink interface of mpagefs, shared by the
 * kernel module (kmod/genl.c) and mpagectl (userspace/).  Nothing else
 * defines it.  Numbers are ABI: append, never renumber.
 *
 * Family MPAGEFS_GENL_NAME, version MPAGEFS_GENL_VERSION.  One flat
 * attribute space (enum mpagefs_attr) with one strict policy at family
 * level; nested attributes have their own enums below.
 *
 * A mount is named by MPAGEFS_A_DEV, its device number encoded as
 * new_encode_dev() does ((minor & 0xff) | (major << 8) |
 * ((minor & ~0xff) << 12)), which is also the low 32 bits of glibc's
 * st_dev, so userspace stat()s a mount point and sends st_dev.
 *
 * Commands (-> what the kernel answers):
 *
 *   LIST_MOUNTS  dump, open to all -> one message per mounted mpagefs:
 *                DEV, DEV_NAME, BLOCK_SIZE, READONLY, BOUNDARY, MAXMAP,
 *                ALLOC
 *   GET_STATS    DEV required (or a dump: every mount), open to all ->
 *                DEV, DEV_NAME, STATS (nest of enum mpagefs_stat_attr,
 *                u64 each), RUN_HIST (nest: attribute i + 1 is a u64,
 *                the number of get_block calls that mapped a run of
 *                [2^i, 2^(i+1)) blocks, i = 0 .. MPAGEFS_RUN_HIST_BUCKETS-1,
 *                the last bucket open-ended)
 *   RESET_STATS  DEV; admin -> no payload (zeroes STATS and RUN_HIST)
 *   SET_POLICY   DEV and at least one of BOUNDARY, MAXMAP, ALLOC; admin;
 *                takes effect for the next get_block call, like a remount
 *                with the same mount options -> the policy now in force
 *                (BOUNDARY, MAXMAP, ALLOC)
 *   INJECT       DEV, FAULT (nest of enum mpagefs_fault_attr: KIND
 *                required; ERRNO required for GET_BLOCK; INO, FIRST,
 *                LAST, SIDE, ONCE optional); admin -> FAULT with its ID
 *   CLEAR_FAULTS DEV, optional FAULT_ID (else all); admin -> no payload
 *   GET_FAULTS   DEV; open to all -> one FAULT nest per armed fault,
 *                with ID and HITS
 *
 * Errors: missing or malformed attributes give -EINVAL with an extended
 * ack message (and the offending attribute), except an integer outside
 * the range the policy allows (MAXMAP, BOUNDARY, ALLOC, the FAULT fields),
 * which the netlink core answers with -ERANGE ("integer out of range",
 * the allowed range in the ack's NLMSGERR_ATTR_POLICY; CTRL_CMD_GETPOLICY
 * lists them all); an unknown DEV gives -ENODEV;
 * state-changing commands without CAP_SYS_ADMIN give -EPERM; more than
 * MPAGEFS_MAX_FAULTS armed faults give -ENOSPC.
 *
 * Tracepoints (system "mpagefs", in /sys/kernel/tracing/events/mpagefs/)
 * print one line each, in these formats (userspace parses them):
 *
 *   mpagefs_get_block: dev 253,32 ino 12 lblk 0 max 32 create 0 ret 0 pblk 1234 len 12 boundary 1 new 0
 *   mpagefs_alloc_block: dev 253,32 ino 12 goal 1230 pblk 1234 ret 0
 *   mpagefs_free_blocks: dev 253,32 ino 12 pblk 1234 count 3
 *
 * (get_block: len 0 and pblk 0 for a hole or an error; ret is 0 or a
 * negative errno; max is the blocks the caller asked for (b_size), before
 * the maxmap cap; boundary is BH_Boundary as set on the buffer.)
 */
#ifndef MPAGEFS_GENL_H
#define MPAGEFS_GENL_H

#define MPAGEFS_GENL_NAME	"mpagefs"
#define MPAGEFS_GENL_VERSION	1

#define MPAGEFS_RUN_HIST_BUCKETS 16
#define MPAGEFS_MAX_FAULTS	16

enum mpagefs_cmd {
	MPAGEFS_CMD_UNSPEC,
	MPAGEFS_CMD_LIST_MOUNTS,
	MPAGEFS_CMD_GET_STATS,
	MPAGEFS_CMD_RESET_STATS,
	MPAGEFS_CMD_SET_POLICY,
	MPAGEFS_CMD_INJECT,
	MPAGEFS_CMD_CLEAR_FAULTS,
	MPAGEFS_CMD_GET_FAULTS,
	__MPAGEFS_CMD_MAX,
};
#define MPAGEFS_CMD_MAX (__MPAGEFS_CMD_MAX - 1)

enum mpagefs_attr {
	MPAGEFS_A_UNSPEC,
	MPAGEFS_A_DEV,		/* u32, new_encode_dev() of the mount's device */
	MPAGEFS_A_DEV_NAME,	/* string, the kernel's name of it ("vdc") */
	MPAGEFS_A_BLOCK_SIZE,	/* u32, bytes */
	MPAGEFS_A_READONLY,	/* u8, 1 if mounted read-only */
	MPAGEFS_A_BOUNDARY,	/* u8, 0 or 1 (boundary=off|on) */
	MPAGEFS_A_MAXMAP,	/* u32, 0 = no limit (maxmap=N) */
	MPAGEFS_A_ALLOC,	/* u8, enum mpagefs_alloc_policy (alloc=) */
	MPAGEFS_A_STATS,	/* nest, enum mpagefs_stat_attr */
	MPAGEFS_A_RUN_HIST,	/* nest, u64 buckets numbered from 1 */
	MPAGEFS_A_FAULT,	/* nest, enum mpagefs_fault_attr */
	MPAGEFS_A_FAULT_ID,	/* u32, as INJECT answered */
	MPAGEFS_A_PAD,		/* padding for 64-bit attributes */
	__MPAGEFS_A_MAX,
};
#define MPAGEFS_A_MAX (__MPAGEFS_A_MAX - 1)

enum mpagefs_alloc_policy {
	MPAGEFS_ALLOC_CONTIG = 0,
	MPAGEFS_ALLOC_SCATTER = 1,
};

/* Largest MAXMAP SET_POLICY (and the maxmap= mount option) accepts. */
#define MPAGEFS_MAXMAP_MAX	65536

/*
 * Counters of one mount; every attribute is a u64.  The module lists its
 * counters in kmod/counters.h, in this order, with their sysfs names.
 */
enum mpagefs_stat_attr {
	MPAGEFS_STAT_A_UNSPEC,
	MPAGEFS_STAT_A_GET_BLOCK_READ,	  /* get_block calls with create=0 */
	MPAGEFS_STAT_A_GET_BLOCK_CREATE,  /* get_block calls with create=1 */
	MPAGEFS_STAT_A_BLOCKS_MAPPED,	  /* blocks those calls mapped */
	MPAGEFS_STAT_A_MULTI_BLOCK,	  /* calls that mapped more than one */
	MPAGEFS_STAT_A_BOUNDARY_SET,	  /* calls that set BH_Boundary */
	MPAGEFS_STAT_A_HOLES,		  /* calls that found a hole */
	MPAGEFS_STAT_A_IND_READS,	  /* indirect blocks read from disk */
	MPAGEFS_STAT_A_BLOCKS_ALLOCATED,
	MPAGEFS_STAT_A_BLOCKS_FREED,
	MPAGEFS_STAT_A_INODES_ALLOCATED,
	MPAGEFS_STAT_A_INODES_FREED,
	MPAGEFS_STAT_A_READAHEAD_CALLS,	  /* ->readahead (mpage_readahead) */
	MPAGEFS_STAT_A_READ_FOLIO_CALLS,  /* ->read_folio (mpage_read_folio) */
	MPAGEFS_STAT_A_WRITEPAGES_CALLS,  /* ->writepages (mpage_writepages) */
	/*
	 * get_block calls made for a page's own buffer heads: buffer-head
	 * I/O (mpage's "confused" fallback, write_begin, truncate...)
	 */
	MPAGEFS_STAT_A_BH_GET_BLOCK,
	/*
	 * of those, calls for the first buffer of a page: pages handled by
	 * buffer-head code
	 */
	MPAGEFS_STAT_A_BH_PAGES,
	MPAGEFS_STAT_A_FAULTS_HIT,	  /* injected faults that fired */
	__MPAGEFS_STAT_A_MAX,
};
#define MPAGEFS_STAT_A_MAX (__MPAGEFS_STAT_A_MAX - 1)

/* One injected fault. */
enum mpagefs_fault_attr {
	MPAGEFS_FAULT_A_UNSPEC,
	MPAGEFS_FAULT_A_ID,	/* u32, answered by INJECT and GET_FAULTS */
	MPAGEFS_FAULT_A_KIND,	/* u32, enum mpagefs_fault_kind */
	/*
	 * u32, positive errno get_block returns (1 ..
	 * MPAGEFS_FAULT_ERRNO_MAX); ignored for ALLOC_ENOSPC
	 */
	MPAGEFS_FAULT_A_ERRNO,
	MPAGEFS_FAULT_A_INO,	/* u64, 0 or absent = every inode */
	MPAGEFS_FAULT_A_FIRST,	/* u64, first logical block (default 0) */
	MPAGEFS_FAULT_A_LAST,	/* u64, last logical block (default: all) */
	/* u32, MPAGEFS_FAULT_SIDE_* mask (default both); GET_BLOCK only */
	MPAGEFS_FAULT_A_SIDE,
	MPAGEFS_FAULT_A_ONCE,	/* u8, 1 = disarm after the first hit */
	MPAGEFS_FAULT_A_HITS,	/* u64, times it fired (GET_FAULTS) */
	MPAGEFS_FAULT_A_PAD,
	__MPAGEFS_FAULT_A_MAX,
};
#define MPAGEFS_FAULT_A_MAX (__MPAGEFS_FAULT_A_MAX - 1)

/*
 * GET_BLOCK faults fire for regular files only: directories and symlinks
 * are read as metadata, whose callers treat some errnos (ENOENT) as
 * answers.  ALLOC_ENOSPC faults fire for every inode.
 */
enum mpagefs_fault_kind {
	/* get_block fails with ERRNO when asked for a block in [FIRST, LAST] of INO */
	MPAGEFS_FAULT_GET_BLOCK = 1,
	/* block allocation for INO reports ENOSPC */
	MPAGEFS_FAULT_ALLOC_ENOSPC = 2,
};

#define MPAGEFS_FAULT_SIDE_READ		0x1	/* get_block with create=0 */
#define MPAGEFS_FAULT_SIDE_CREATE	0x2	/* get_block with create=1 */

/*
 * Largest ERRNO a GET_BLOCK fault may return: the errnos userspace knows
 * (EHWPOISON).  The kernel's internal codes (ERESTARTSYS, EIOCBQUEUED...)
 * would restart or hang the system call instead of failing it.
 */
#define MPAGEFS_FAULT_ERRNO_MAX	133

#endif /* MPAGEFS_GENL_H */
