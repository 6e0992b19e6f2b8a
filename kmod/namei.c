// SPDX-License-Identifier: GPL-2.0
/*
 * namei.c - directory inode operations: lookup, create, mknod, symlink,
 * link, unlink, mkdir, rmdir, rename and tmpfile.  All knowledge of the
 * record format is in dir.c; this is the glue between the VFS and it, as
 * fs/ext2/namei.c is for ext2.
 *
 * The VFS holds the i_rwsem of every directory changed here (both parents
 * for a rename), so no two of these run on one directory at a time.  Link
 * counts follow ext2: a directory has 2 links (its name and its ".") plus
 * one per subdirectory (their "..").
 */

#include <linux/fs.h>
#include <linux/namei.h>

#include "mpagefs.h"

/*
 * Drops one link of @inode for a name that goes away.  A count already at
 * 0 means the image lied (two names, one link): say so and go on as ext4
 * does, rather than trip drop_nlink()'s warning.
 */
static void mpagefs_drop_link(struct inode *inode)
{
	if (!inode->i_nlink) {
		mpagefs_inode_error(inode, "removing a name of an inode with no links");
		set_nlink(inode, 1);
	}
	inode_dec_link_count(inode);
}

/*
 * Drops the link a subdirectory's ".." gave @dir.  A directory never goes
 * below its own 2 links (its name and "."), whatever a corrupt count says:
 * a live directory must not reach 0 links and be freed under its entries.
 */
static void mpagefs_drop_subdir_link(struct inode *dir)
{
	if (dir->i_nlink > 2)
		drop_nlink(dir);
	else
		mpagefs_inode_error(dir, "directory with a subdirectory has %u links",
				    dir->i_nlink);
	mark_inode_dirty(dir);
}

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

/*
 * Links a new inode that is not a directory into @dentry's directory and
 * instantiates the dentry; on failure the inode is dropped again, and
 * eviction gives its number (and any block) back.
 */
static int mpagefs_add_nondir(struct dentry *dentry, struct inode *inode)
{
	int err = mpagefs_add_link(dentry, inode);

	if (!err) {
		d_instantiate_new(dentry, inode);
		return 0;
	}
	inode_dec_link_count(inode);
	discard_new_inode(inode);
	return err;
}

static int mpagefs_create(struct mnt_idmap *idmap, struct inode *dir,
			  struct dentry *dentry, umode_t mode, bool excl)
{
	struct inode *inode;

	inode = mpagefs_new_inode(dir, mode, &dentry->d_name);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	mark_inode_dirty(inode);
	return mpagefs_add_nondir(dentry, inode);
}

static int mpagefs_tmpfile(struct mnt_idmap *idmap, struct inode *dir,
			   struct file *file, umode_t mode)
{
	struct inode *inode;

	inode = mpagefs_new_inode(dir, mode, NULL);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	mark_inode_dirty(inode);
	/* drops the link count to 0: the inode lives until its last close */
	d_tmpfile(file, inode);
	unlock_new_inode(inode);
	return finish_open_simple(file, 0);
}

static int mpagefs_mknod(struct mnt_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct inode *inode;

	inode = mpagefs_new_inode(dir, mode, &dentry->d_name);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	init_special_inode(inode, inode->i_mode, rdev);
	/* where mpagefs_iget() finds it: new_encode_dev() in i_block[0] */
	memset(MPAGEFS_I(inode)->i_data, 0, sizeof(MPAGEFS_I(inode)->i_data));
	if (S_ISCHR(mode) || S_ISBLK(mode))
		MPAGEFS_I(inode)->i_data[0] = cpu_to_le32(new_encode_dev(rdev));
	mark_inode_dirty(inode);
	return mpagefs_add_nondir(dentry, inode);
}

static int mpagefs_symlink(struct mnt_idmap *idmap, struct inode *dir,
			   struct dentry *dentry, const char *symname)
{
	unsigned int len = strlen(symname) + 1;
	struct inode *inode;
	int err;

	/* a slow symlink's target and its NUL fit one block, as in ext2 */
	if (len > dir->i_sb->s_blocksize)
		return -ENAMETOOLONG;
	inode = mpagefs_new_inode(dir, S_IFLNK | 0777, &dentry->d_name);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	err = mpagefs_symlink_init(inode, symname, len);
	if (err) {
		inode_dec_link_count(inode);
		discard_new_inode(inode);
		return err;
	}
	mark_inode_dirty(inode);
	return mpagefs_add_nondir(dentry, inode);
}

static int mpagefs_link(struct dentry *old_dentry, struct inode *dir,
			struct dentry *dentry)
{
	struct inode *inode = d_inode(old_dentry);
	int err;

	if (inode->i_nlink >= MPAGEFS_LINK_MAX)
		return -EMLINK;
	inode_set_ctime_current(inode);
	inode_inc_link_count(inode);
	ihold(inode);

	err = mpagefs_add_link(dentry, inode);
	if (!err) {
		d_instantiate(dentry, inode);
		return 0;
	}
	inode_dec_link_count(inode);
	iput(inode);
	return err;
}

static int mpagefs_mkdir(struct mnt_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, umode_t mode)
{
	struct inode *inode;
	int err;

	/* the new directory's ".." is one more link to @dir */
	if (dir->i_nlink >= MPAGEFS_LINK_MAX)
		return -EMLINK;
	inode_inc_link_count(dir);

	inode = mpagefs_new_inode(dir, S_IFDIR | mode, &dentry->d_name);
	err = PTR_ERR(inode);
	if (IS_ERR(inode))
		goto out_dir;
	/* its name and its "." */
	inode_inc_link_count(inode);

	err = mpagefs_make_empty(inode, dir);
	if (err)
		goto out_fail;
	err = mpagefs_add_link(dentry, inode);
	if (err)
		goto out_fail;
	d_instantiate_new(dentry, inode);
	return 0;

out_fail:
	inode_dec_link_count(inode);
	inode_dec_link_count(inode);
	discard_new_inode(inode);
out_dir:
	inode_dec_link_count(dir);
	return err;
}

static int mpagefs_unlink(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	struct mpagefs_dirent *de;
	struct folio *folio;
	int err;

	de = mpagefs_find_dirent(dir, &dentry->d_name, &folio);
	if (IS_ERR(de))
		return PTR_ERR(de);
	if (le32_to_cpu(de->inode) != inode->i_ino) {
		mpagefs_inode_error(dir, "entry \"%pd\" refers to inode %u, not %lu",
				    dentry, le32_to_cpu(de->inode),
				    inode->i_ino);
		folio_release_kmap(folio, de);
		return -EUCLEAN;
	}
	err = mpagefs_delete_entry(dir, de, folio);
	folio_release_kmap(folio, de);
	if (err)
		return err;
	inode_set_ctime_to_ts(inode, inode_get_ctime(dir));
	mpagefs_drop_link(inode);
	/* the name is gone whatever happens to the empty blocks after it */
	mpagefs_dir_trim(dir);
	return 0;
}

static int mpagefs_rmdir(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = mpagefs_empty_dir(inode);
	if (err)
		return err;
	err = mpagefs_unlink(dir, dentry);
	if (err)
		return err;
	/* nothing is left in it (not even "."); eviction frees its blocks */
	i_size_write(inode, 0);
	clear_nlink(inode);
	mark_inode_dirty(inode);
	mpagefs_drop_subdir_link(dir);
	return 0;
}

/*
 * RENAME_EXCHANGE: the two records swap inodes.  Moving directories
 * between parents also swaps their ".." and, if only one of the two is a
 * directory, one subdirectory link moves from one parent to the other.
 */
static int mpagefs_exchange(struct inode *old_dir, struct dentry *old_dentry,
			    struct inode *new_dir, struct dentry *new_dentry)
{
	struct inode *old_inode = d_inode(old_dentry);
	struct inode *new_inode = d_inode(new_dentry);
	bool old_is_dir = S_ISDIR(old_inode->i_mode);
	bool new_is_dir = S_ISDIR(new_inode->i_mode);
	struct folio *old_folio, *new_folio;
	struct folio *old_dd_folio = NULL, *new_dd_folio = NULL;
	struct mpagefs_dirent *old_de, *new_de;
	struct mpagefs_dirent *old_dd = NULL, *new_dd = NULL;
	int err;

	old_de = mpagefs_find_dirent(old_dir, &old_dentry->d_name, &old_folio);
	if (IS_ERR(old_de))
		return PTR_ERR(old_de);
	new_de = mpagefs_find_dirent(new_dir, &new_dentry->d_name, &new_folio);
	if (IS_ERR(new_de)) {
		err = PTR_ERR(new_de);
		goto out_old;
	}
	if (old_dir != new_dir) {
		err = -EMLINK;
		if (old_is_dir && !new_is_dir &&
		    new_dir->i_nlink >= MPAGEFS_LINK_MAX)
			goto out_new;
		if (new_is_dir && !old_is_dir &&
		    old_dir->i_nlink >= MPAGEFS_LINK_MAX)
			goto out_new;
		if (old_is_dir) {
			old_dd = mpagefs_dotdot(old_inode, &old_dd_folio);
			err = PTR_ERR(old_dd);
			if (IS_ERR(old_dd))
				goto out_new;
		}
		if (new_is_dir) {
			new_dd = mpagefs_dotdot(new_inode, &new_dd_folio);
			err = PTR_ERR(new_dd);
			if (IS_ERR(new_dd))
				goto out_dd;
		}
	}

	err = mpagefs_set_link(old_dir, old_de, old_folio, new_inode, true);
	err = mpagefs_set_link(new_dir, new_de, new_folio, old_inode,
			       true) ?: err;
	if (old_dd)
		err = mpagefs_set_link(old_inode, old_dd, old_dd_folio, new_dir,
				       false) ?: err;
	if (new_dd)
		err = mpagefs_set_link(new_inode, new_dd, new_dd_folio, old_dir,
				       false) ?: err;
	if (old_is_dir != new_is_dir && old_dir != new_dir) {
		if (old_is_dir) {
			inode_inc_link_count(new_dir);
			mpagefs_drop_subdir_link(old_dir);
		} else {
			inode_inc_link_count(old_dir);
			mpagefs_drop_subdir_link(new_dir);
		}
	}
	inode_set_ctime_to_ts(new_inode, inode_set_ctime_current(old_inode));
	mark_inode_dirty(old_inode);
	mark_inode_dirty(new_inode);

	/* mapped in this order: unmapped in the reverse one */
out_dd:
	if (!IS_ERR_OR_NULL(new_dd))
		folio_release_kmap(new_dd_folio, new_dd);
	if (!IS_ERR_OR_NULL(old_dd))
		folio_release_kmap(old_dd_folio, old_dd);
out_new:
	folio_release_kmap(new_folio, new_de);
out_old:
	folio_release_kmap(old_folio, old_de);
	return err;
}

static int mpagefs_rename(struct mnt_idmap *idmap,
			  struct inode *old_dir, struct dentry *old_dentry,
			  struct inode *new_dir, struct dentry *new_dentry,
			  unsigned int flags)
{
	struct inode *old_inode = d_inode(old_dentry);
	struct inode *new_inode = d_inode(new_dentry);
	struct folio *old_folio, *dir_folio = NULL;
	struct mpagefs_dirent *old_de, *dir_de = NULL;
	int err;

	/* RENAME_NOREPLACE is checked by the VFS; whiteouts are not ours */
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (flags & RENAME_EXCHANGE)
		return mpagefs_exchange(old_dir, old_dentry, new_dir,
					new_dentry);

	old_de = mpagefs_find_dirent(old_dir, &old_dentry->d_name, &old_folio);
	if (IS_ERR(old_de))
		return PTR_ERR(old_de);

	if (S_ISDIR(old_inode->i_mode)) {
		dir_de = mpagefs_dotdot(old_inode, &dir_folio);
		if (IS_ERR(dir_de)) {
			err = PTR_ERR(dir_de);
			dir_de = NULL;
			goto out_old;
		}
	}

	if (new_inode) {
		struct mpagefs_dirent *new_de;
		struct folio *new_folio;

		if (dir_de) {
			err = mpagefs_empty_dir(new_inode);
			if (err)
				goto out_dir;
		}
		new_de = mpagefs_find_dirent(new_dir, &new_dentry->d_name,
					     &new_folio);
		if (IS_ERR(new_de)) {
			err = PTR_ERR(new_de);
			goto out_dir;
		}
		err = mpagefs_set_link(new_dir, new_de, new_folio, old_inode,
				       true);
		folio_release_kmap(new_folio, new_de);
		if (err)
			goto out_dir;
		inode_set_ctime_current(new_inode);
		if (dir_de) {
			/* a replaced (empty) directory loses its "." too */
			clear_nlink(new_inode);
			mark_inode_dirty(new_inode);
		} else {
			mpagefs_drop_link(new_inode);
		}
	} else {
		err = -EMLINK;
		if (dir_de && new_dir != old_dir &&
		    new_dir->i_nlink >= MPAGEFS_LINK_MAX)
			goto out_dir;
		err = mpagefs_add_link(new_dentry, old_inode);
		if (err)
			goto out_dir;
		if (dir_de)
			inode_inc_link_count(new_dir);
	}

	/* like most Unix systems, the renamed inode's ctime changes */
	inode_set_ctime_current(old_inode);
	mark_inode_dirty(old_inode);

	err = mpagefs_delete_entry(old_dir, old_de, old_folio);
	if (dir_de) {
		if (old_dir != new_dir)
			err = mpagefs_set_link(old_inode, dir_de, dir_folio,
					       new_dir, false) ?: err;
		mpagefs_drop_subdir_link(old_dir);
	}

out_dir:
	if (dir_de)
		folio_release_kmap(dir_folio, dir_de);
out_old:
	folio_release_kmap(old_folio, old_de);
	/* with every page of old_dir released: its empty trailing blocks */
	if (!err)
		mpagefs_dir_trim(old_dir);
	return err;
}

const struct inode_operations mpagefs_dir_inode_operations = {
	.create		= mpagefs_create,
	.lookup		= mpagefs_lookup,
	.link		= mpagefs_link,
	.unlink		= mpagefs_unlink,
	.symlink	= mpagefs_symlink,
	.mkdir		= mpagefs_mkdir,
	.rmdir		= mpagefs_rmdir,
	.mknod		= mpagefs_mknod,
	.rename		= mpagefs_rename,
	.tmpfile	= mpagefs_tmpfile,
	.setattr	= mpagefs_setattr,
};
