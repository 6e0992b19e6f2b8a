// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - operations on regular files.  Reads, mmap and splice all go
 * through the page cache, which fs/mpage.c fills (see inode.c).  mmap is
 * read-only until the write path exists.
 */

#include <linux/fs.h>

#include "mpagefs.h"

const struct file_operations mpagefs_file_operations = {
	.open		= generic_file_open,
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.mmap		= generic_file_readonly_mmap,
	.splice_read	= generic_file_splice_read,
};

/* setattr (truncate) comes with the write path; getattr is the VFS's */
const struct inode_operations mpagefs_file_inode_operations = {
};
