/* SPDX-License-Identifier: GPL-2.0 */
/*
 * counters.h - the per-mount counters of mpagefs, one line each:
 *
 *	MPAGEFS_COUNTER(ID, name)
 *
 *   ID    the counter is MPAGEFS_STAT_<ID> of enum mpagefs_stat (mpagefs.h)
 *         and travels as netlink attribute MPAGEFS_STAT_A_<ID> in the STATS
 *         nest of GET_STATS (genl.c), except GET_BLOCK_CALLS, which has no
 *         attribute: netlink users add GET_BLOCK_READ and GET_BLOCK_CREATE
 *   name  its file /sys/fs/mpagefs/<dev>/<name> and its line in the
 *         "stats" file there (sysfs.c)
 *
 * An X-macro table: a file defines MPAGEFS_COUNTER() and includes this one,
 * which expands it once per line, in order, and undefines it.  The lines
 * are in the order of the attributes, which are ABI (mpagefs_genl.h):
 * counter i is attribute i, which genl.c checks at build time.  A new
 * counter is a line at the end here and its attribute at the end of enum
 * mpagefs_stat_attr (and its name in mpagectl).
 */
#ifndef MPAGEFS_COUNTER
#error "define MPAGEFS_COUNTER(id, name) before including counters.h"
#endif

/* get_block calls */
MPAGEFS_COUNTER(GET_BLOCK_CALLS,	get_block_calls)
/* calls with create clear */
MPAGEFS_COUNTER(GET_BLOCK_READ,		get_block_read_calls)
/* calls with create set */
MPAGEFS_COUNTER(GET_BLOCK_CREATE,	get_block_create_calls)
/* blocks those calls mapped */
MPAGEFS_COUNTER(BLOCKS_MAPPED,		blocks_mapped)
/* calls that mapped more than one block */
MPAGEFS_COUNTER(MULTI_BLOCK,		multi_block_calls)
/* calls that set BH_Boundary */
MPAGEFS_COUNTER(BOUNDARY_SET,		boundary_set)
/* calls that found a hole */
MPAGEFS_COUNTER(HOLES,			holes)
/* indirect blocks get_block read from disk */
MPAGEFS_COUNTER(IND_READS,		ind_reads)
/* blocks taken from the bitmap */
MPAGEFS_COUNTER(BLOCKS_ALLOCATED,	blocks_allocated)
/* blocks given back to it */
MPAGEFS_COUNTER(BLOCKS_FREED,		blocks_freed)
/* inode numbers taken */
MPAGEFS_COUNTER(INODES_ALLOCATED,	inodes_allocated)
/* inode numbers given back */
MPAGEFS_COUNTER(INODES_FREED,		inodes_freed)
/* ->readahead calls */
MPAGEFS_COUNTER(READAHEAD_CALLS,	readahead_calls)
/* ->read_folio calls */
MPAGEFS_COUNTER(READ_FOLIO_CALLS,	read_folio_calls)
/* ->writepages calls */
MPAGEFS_COUNTER(WRITEPAGES_CALLS,	writepages_calls)
/* get_block calls for one of a page's own buffers (buffer-head I/O) */
MPAGEFS_COUNTER(BH_GET_BLOCK,		bh_get_block_calls)
/* of those, calls for a page's first buffer: pages done by buffer heads */
MPAGEFS_COUNTER(BH_PAGES,		bh_pages)
/* injected faults that fired */
MPAGEFS_COUNTER(FAULTS_HIT,		faults_hit)

#undef MPAGEFS_COUNTER
