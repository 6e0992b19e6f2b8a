// SPDX-License-Identifier: GPL-2.0
/*
 * ialloc.c - the inode bitmap: allocating and freeing inode numbers, and
 * setting up new in-core inodes.  Bit (ino - 1) of the bitmap is set while
 * inode ino is in use.
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>

#include "mpagefs.h"

/*
 * Takes the first free inode number whose bit lies in [@from, @to);
 * s_alloc_lock held.  Returns it, -ENOSPC if that range of the bitmap has
 * none, or the error of reading it.  The scan is 64-bit: with
 * s_inodes_count near 2^32, a 32-bit cursor would wrap past the last bitmap
 * block to 0 and scan forever.
 */
static s64 mpagefs_take_inode_nr(struct super_block *sb, u64 from, u64 to)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	const u64 per_block = MPAGEFS_BITS_PER_BLOCK(sb);

	while (from < to) {
		u64 first = from - from % per_block;
		unsigned long limit = min(to - first, per_block);
		struct buffer_head *bh;
		unsigned long bit;

		bh = mpagefs_read_meta(sb, sbi->s_inode_bitmap + first / per_block,
				       NULL);
		if (IS_ERR(bh))
			return PTR_ERR(bh);
		bit = find_next_zero_bit_le(bh->b_data, limit, from - first);
		if (bit < limit) {
			set_bit_le(bit, bh->b_data);
			mark_buffer_dirty(bh);
			brelse(bh);
			return first + bit + 1;
		}
		brelse(bh);
		from = first + per_block;
	}
	return -ENOSPC;
}

/*
 * Takes a free inode number: the first at or after @near (the parent
 * directory's, so that a directory's inodes share inode table blocks with
 * it and with each other, ext2's find_group_other() with one group),
 * wrapping around to inode 1.  Returns it or a negative error.
 */
static s64 mpagefs_alloc_inode_nr(struct super_block *sb, unsigned long near)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	u64 from = near && near <= sbi->s_inodes_count ? near - 1 : 0;
	s64 ino = -ENOSPC;

	mutex_lock(&sbi->s_alloc_lock);
	if (sbi->s_free_inodes) {
		ino = mpagefs_take_inode_nr(sb, from, sbi->s_inodes_count);
		if (ino == -ENOSPC)
			ino = mpagefs_take_inode_nr(sb, 0, from);
	}
	if (ino > sbi->s_inodes_count) {
		/* cannot happen with the scan above: never use such a number */
		mpagefs_error(sb, "inode allocator returned inode %lld outside 1..%u",
			      ino, sbi->s_inodes_count);
		ino = -EUCLEAN;
	} else if (ino > 0) {
		sbi->s_free_inodes--;
	} else if (ino == -ENOSPC && sbi->s_free_inodes) {
		mpagefs_error(sb, "inode bitmap is full but s_free_inodes_count is %u",
			      sbi->s_free_inodes);
		sbi->s_free_inodes = 0;
	}
	mutex_unlock(&sbi->s_alloc_lock);
	if (ino > 0)
		mpagefs_stat_add(sb, MPAGEFS_STAT_INODES_ALLOCATED, 1);
	return ino;
}

/**
 * mpagefs_free_inode_nr() - give an inode number back to the bitmap
 * @sb: the filesystem
 * @ino: the inode number; its blocks must have been freed already
 */
void mpagefs_free_inode_nr(struct super_block *sb, unsigned long ino)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	const u64 per_block = MPAGEFS_BITS_PER_BLOCK(sb);
	struct buffer_head *bh;
	u32 bit;

	if (ino < 1 || ino > sbi->s_inodes_count || ino == MPAGEFS_ROOT_INO) {
		mpagefs_error(sb, "freeing reserved or out-of-range inode %lu",
			      ino);
		return;
	}
	bit = (ino - 1) % per_block;
	mutex_lock(&sbi->s_alloc_lock);
	bh = mpagefs_read_meta(sb, sbi->s_inode_bitmap + (ino - 1) / per_block,
			       NULL);
	if (IS_ERR(bh))
		goto out;
	if (test_and_clear_bit_le(bit, bh->b_data)) {
		sbi->s_free_inodes++;
		mpagefs_stat_add(sb, MPAGEFS_STAT_INODES_FREED, 1);
	} else {
		mpagefs_error(sb, "freeing inode %lu, which is already free",
			      ino);
	}
	mark_buffer_dirty(bh);
	brelse(bh);
out:
	mutex_unlock(&sbi->s_alloc_lock);
}

/**
 * mpagefs_new_inode() - allocate and set up a new inode
 * @dir: the directory it is created in (ownership and placement)
 * @mode: file type and permissions
 * @qstr: its name (unused)
 *
 * Takes the first free inode number at or after @dir's, initialises the in-core inode (owner
 * through inode_init_owner(), times, an empty block map, the mount's
 * next generation), sets its operations with mpagefs_set_inode_ops() and marks
 * it dirty.  As ext2_new_inode() does, the inode comes back hashed and
 * locked (I_NEW): the caller finishes with d_instantiate_new() or
 * unlock_new_inode(), or on failure drops the link count to 0,
 * unlock_new_inode() and iput(), which frees the number again.
 *
 * Return: the inode or an ERR_PTR (-ENOSPC when no inode is free).
 */
struct inode *mpagefs_new_inode(struct inode *dir, umode_t mode,
				const struct qstr *qstr)
{
	struct super_block *sb = dir->i_sb;
	struct mpagefs_inode_info *ei;
	struct inode *inode;
	s64 ino;

	inode = new_inode(sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	ino = mpagefs_alloc_inode_nr(sb, dir->i_ino);
	if (ino < 0) {
		iput(inode);
		return ERR_PTR(ino);
	}
	ei = MPAGEFS_I(inode);
	inode_init_owner(&nop_mnt_idmap, inode, dir, mode);
	inode->i_ino = ino;
	inode->i_blocks = 0;
	inode->i_size = 0;
	inode_set_mtime_to_ts(inode,
			      inode_set_atime_to_ts(inode,
						    inode_set_ctime_current(inode)));
	memset(ei->i_data, 0, sizeof(ei->i_data));
	ei->i_next_alloc_block = 0;
	ei->i_next_alloc_goal = 0;
	/* its first block goes near its directory's (mpagefs_first_goal()) */
	ei->i_first_goal = le32_to_cpu(MPAGEFS_I(dir)->i_data[0]);
	/*
	 * A counter from a random start, as ext2's: unique per mount for NFS
	 * file handles, without a random number per create (get_random_u32()
	 * runs ChaCha20 every 16th call: 3% of a create's instructions).
	 */
	inode->i_generation =
		(u32)atomic_inc_return(&MPAGEFS_SB(sb)->s_next_generation);
	if (insert_inode_locked(inode) < 0) {
		mpagefs_error(sb, "inode %lld is free in the bitmap but in use",
			      ino);
		make_bad_inode(inode);
		iput(inode);
		return ERR_PTR(-EUCLEAN);
	}
	mpagefs_set_inode_ops(inode);
	mark_inode_dirty(inode);
	return inode;
}
