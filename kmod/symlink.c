// SPDX-License-Identifier: GPL-2.0
/*
 * symlink.c - symbolic links.  A target shorter than i_block (60 bytes)
 * lives in the inode itself (a fast symlink, i_link points at it); a
 * longer one is file data, read through the page cache.
 */

#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/pagemap.h>

#include "mpagefs.h"

const struct inode_operations mpagefs_symlink_inode_operations = {
	.get_link	= page_get_link,
	.setattr	= mpagefs_setattr,
};

const struct inode_operations mpagefs_fast_symlink_inode_operations = {
	.get_link	= simple_get_link,
	.setattr	= mpagefs_setattr,
};

/**
 * mpagefs_symlink_init() - store the target of a new symlink
 * @inode: the new symlink inode (i_size 0, no blocks)
 * @symname: the target
 * @len: strlen(@symname) + 1, at most the block size
 *
 * Where mpagefs_iget() will look for it: a target shorter than i_block
 * goes into i_data (a fast symlink, i_blocks stays 0); a longer one is
 * written as the first block of the file through the page cache
 * (page_symlink(), whose write_begin allocates the block through get_block),
 * the way page_get_link() reads it.  i_size is the target's length without
 * the NUL.
 *
 * Return: 0, or a negative error of page_symlink() (-ENOSPC, -ENOMEM).
 */
int mpagefs_symlink_init(struct inode *inode, const char *symname,
			 unsigned int len)
{
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);

	if (len > sizeof(ei->i_data)) {
		inode->i_op = &mpagefs_symlink_inode_operations;
		inode->i_link = NULL;
		inode_nohighmem(inode);
		inode->i_mapping->a_ops = &mpagefs_aops;
		return page_symlink(inode, symname, len);
	}
	inode->i_op = &mpagefs_fast_symlink_inode_operations;
	memset(ei->i_data, 0, sizeof(ei->i_data));
	memcpy(ei->i_data, symname, len);
	inode->i_link = (char *)ei->i_data;
	i_size_write(inode, len - 1);
	return 0;
}
