// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - operations on regular files.  Reads, writes, mmap and splice
 * all go through the page cache, which fs/mpage.c fills and writes back
 * (see inode.c); O_DIRECT goes through blockdev_direct_IO().  As in ext2,
 * mmap writes need nothing of ours: filemap_page_mkwrite() dirties the
 * page and writeback allocates its blocks through mpagefs_get_block().
 */

#include <linux/fs.h>

#include "mpagefs.h"

/*
 * Lock ordering of mpagefs, outermost first (as the comment in ext2's
 * file.c gives ext2's); a lock may be taken while those above it are held,
 * never the other way round:
 *
 *   inode->i_rwsem			VFS: write, truncate, namespace changes
 *     folio lock of a file's page	fs/mpage.c, block_write_begin(),
 *					writeback; get_block runs under it;
 *					a directory's page likewise (dir.c:
 *					a record is changed under it)
 *       mpagefs_inode_info->i_map_sem	map.c: shared for lookups, exclusive
 *					for allocation and truncation
 *         mpagefs_sb_info->s_alloc_lock	balloc.c, ialloc.c: the bitmaps
 *					and the in-core free counts
 *           buffer lock		a metadata block being read or
 *					changed: bitmap, indirect, inode
 *					table, block 0 (super.c), with the
 *					block device's folio lock that
 *					sb_getblk() takes around it
 *
 * Truncation (mpagefs_setattr(), the failed-write path of inode.c) holds
 * i_rwsem, lets truncate_pagecache() wait for every page under writeback
 * beyond the new size, and only then takes i_map_sem exclusively to free
 * blocks: writeback never maps a block that truncation is freeing.
 * mpagefs_sync_super() takes s_alloc_lock, then the buffer lock of block
 * 0; mpagefs_error() may be called with any lock above held except that
 * buffer lock, which it takes to record the error, and writes block 0.
 *
 * The lab takes none of these: mpagefs_lab_get_block() (lab_get_block.c)
 * runs under the caller's folio lock and reads the injected faults under
 * RCU before mpagefs_get_blocks() takes i_map_sem; the allocation fault
 * hook runs under i_map_sem, before s_alloc_lock.  Netlink commands take
 * genl.c's mpagefs_mounts_lock, then fault.c's s_fault_lock (a spinlock),
 * and nothing of the I/O paths under either.
 */

/*
 * generic_file_fsync() writes the data, the indirect blocks attached to
 * the inode's buffer list and the inode, then flushes the device's cache.
 */
const struct file_operations mpagefs_file_operations = {
	.open		= generic_file_open,
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.write_iter	= generic_file_write_iter,
	.mmap		= generic_file_mmap,
	.fsync		= generic_file_fsync,
	.splice_read	= filemap_splice_read,
	.splice_write	= iter_file_splice_write,
};

/* getattr is the VFS's generic_fillattr() */
const struct inode_operations mpagefs_file_inode_operations = {
	.setattr	= mpagefs_setattr,
};
