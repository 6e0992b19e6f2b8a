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
