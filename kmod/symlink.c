// SPDX-License-Identifier: GPL-2.0
/*
 * symlink.c - symbolic links.  A target shorter than i_block (60 bytes)
 * lives in the inode itself (a fast symlink, i_link points at it); a
 * longer one is file data, read through the page cache.
 */

#include <linux/fs.h>

#include "mpagefs.h"

const struct inode_operations mpagefs_symlink_inode_operations = {
	.get_link	= page_get_link,
};

const struct inode_operations mpagefs_fast_symlink_inode_operations = {
	.get_link	= simple_get_link,
};
