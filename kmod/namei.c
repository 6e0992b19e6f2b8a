// SPDX-License-Identifier: GPL-2.0
/*
 * namei.c - directory inode operations.  Only lookup for now; create,
 * mkdir, link, unlink and rename come with the write path.
 */

#include <linux/fs.h>

#include "mpagefs.h"

static struct dentry *mpagefs_lookup(struct inode *dir, struct dentry *dentry,
				     unsigned int flags)
{
	struct inode *inode = NULL;
	u32 ino;
	int err;

	if (dentry->d_name.len > MPAGEFS_NAME_LEN)
		return ERR_PTR(-ENAMETOOLONG);

	err = mpagefs_find_entry(dir, &dentry->d_name, &ino);
	if (!err)
		inode = mpagefs_iget(dir->i_sb, ino);
	else if (err != -ENOENT)
		return ERR_PTR(err);
	/* a negative dentry when not found; passes an ERR_PTR inode on */
	return d_splice_alias(inode, dentry);
}

const struct inode_operations mpagefs_dir_inode_operations = {
	.lookup		= mpagefs_lookup,
};
