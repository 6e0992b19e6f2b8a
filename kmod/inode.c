// SPDX-License-Identifier: GPL-2.0
/*
 * inode.c - reading and validating inodes, and the address_space
 * operations: file data is read by fs/mpage.c through mpagefs_get_block().
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/mpage.h>
#include <linux/namei.h>
#include <linux/time64.h>

#include "mpagefs.h"

static int mpagefs_read_folio(struct file *file, struct folio *folio)
{
	return mpage_read_folio(folio, mpagefs_get_block);
}

static void mpagefs_readahead(struct readahead_control *rac)
{
	mpage_readahead(rac, mpagefs_get_block);
}

static sector_t mpagefs_bmap(struct address_space *mapping, sector_t block)
{
	return generic_block_bmap(mapping, block, mpagefs_get_block);
}

/*
 * The write side (writepages = mpage_writepages, write_begin/end) comes
 * with the write path; dirty_folio and invalidate_folio are the buffer_head
 * helpers already, as block_read_full_folio() may attach buffers.
 */
const struct address_space_operations mpagefs_aops = {
	.dirty_folio		= block_dirty_folio,
	.invalidate_folio	= block_invalidate_folio,
	.read_folio		= mpagefs_read_folio,
	.readahead		= mpagefs_readahead,
	.bmap			= mpagefs_bmap,
	.migrate_folio		= buffer_migrate_folio,
	.is_partially_uptodate	= block_is_partially_uptodate,
	.error_remove_page	= generic_error_remove_page,
};

/* A symlink short enough for its target to live in i_block. */
static bool mpagefs_is_fast_symlink(umode_t mode, loff_t size)
{
	return S_ISLNK(mode) &&
	       size < (loff_t)sizeof_field(struct mpagefs_inode, i_block);
}

/* true if the inode's i_block[] holds block pointers */
static bool mpagefs_has_block_map(umode_t mode, loff_t size)
{
	return S_ISREG(mode) || S_ISDIR(mode) ||
	       (S_ISLNK(mode) && !mpagefs_is_fast_symlink(mode, size));
}

/*
 * Validates a raw inode before any of it is used; logs the first problem
 * found and returns -EUCLEAN.
 */
static int mpagefs_check_inode(struct inode *inode,
			       const struct mpagefs_inode *raw)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	umode_t mode = le16_to_cpu(raw->i_mode);
	u64 size = le64_to_cpu(raw->i_size);
	u32 blocks = le32_to_cpu(raw->i_blocks);
	int i;

	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		mpagefs_inode_error(inode, "unknown file type (mode 0%o)", mode);
		return -EUCLEAN;
	}
	if (!le16_to_cpu(raw->i_links_count)) {
		mpagefs_inode_error(inode, "link count is 0 (mode 0%o)", mode);
		return -EUCLEAN;
	}
	if (size > sb->s_maxbytes) {
		mpagefs_inode_error(inode, "size %llu exceeds the largest file (%lld bytes)",
				    size, sb->s_maxbytes);
		return -EUCLEAN;
	}
	if (S_ISDIR(mode) && (!size || (size & (sb->s_blocksize - 1)))) {
		mpagefs_inode_error(inode, "directory size %llu is not a positive multiple of the block size",
				    size);
		return -EUCLEAN;
	}
	if (S_ISLNK(mode) && (!size || size >= PATH_MAX)) {
		mpagefs_inode_error(inode, "bad symlink length %llu", size);
		return -EUCLEAN;
	}
	if ((S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) ||
	     S_ISSOCK(mode)) && size) {
		mpagefs_inode_error(inode, "special file with size %llu", size);
		return -EUCLEAN;
	}
	if (blocks > sbi->s_blocks_count - sbi->s_first_data_block ||
	    (!mpagefs_has_block_map(mode, size) && blocks)) {
		mpagefs_inode_error(inode, "i_blocks %u is impossible (data area: %u blocks)",
				    blocks,
				    sbi->s_blocks_count - sbi->s_first_data_block);
		return -EUCLEAN;
	}
	if (le32_to_cpu(raw->i_atime_nsec) >= NSEC_PER_SEC ||
	    le32_to_cpu(raw->i_mtime_nsec) >= NSEC_PER_SEC ||
	    le32_to_cpu(raw->i_ctime_nsec) >= NSEC_PER_SEC) {
		mpagefs_inode_error(inode, "nanoseconds out of range in a timestamp");
		return -EUCLEAN;
	}
	if (!mpagefs_has_block_map(mode, size))
		return 0;
	for (i = 0; i < MPAGEFS_N_BLOCKS; i++) {
		u32 blk = le32_to_cpu(raw->i_block[i]);

		if (blk && !mpagefs_data_block_valid(sbi, blk)) {
			mpagefs_inode_error(inode, "i_block[%d] = %u is outside the data area [%u, %u)",
					    i, blk, sbi->s_first_data_block,
					    sbi->s_blocks_count);
			return -EUCLEAN;
		}
	}
	return 0;
}

/* Copies a validated raw inode into @inode and picks its operations. */
static void mpagefs_fill_inode(struct inode *inode,
			       const struct mpagefs_inode *raw)
{
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);

	inode->i_mode = le16_to_cpu(raw->i_mode);
	i_uid_write(inode, le32_to_cpu(raw->i_uid));
	i_gid_write(inode, le32_to_cpu(raw->i_gid));
	set_nlink(inode, le16_to_cpu(raw->i_links_count));
	inode->i_size = le64_to_cpu(raw->i_size);
	inode->i_atime.tv_sec = le64_to_cpu(raw->i_atime);
	inode->i_atime.tv_nsec = le32_to_cpu(raw->i_atime_nsec);
	inode->i_mtime.tv_sec = le64_to_cpu(raw->i_mtime);
	inode->i_mtime.tv_nsec = le32_to_cpu(raw->i_mtime_nsec);
	inode->i_ctime.tv_sec = le64_to_cpu(raw->i_ctime);
	inode->i_ctime.tv_nsec = le32_to_cpu(raw->i_ctime_nsec);
	/* on disk in filesystem blocks, in the VFS in 512-byte units */
	inode->i_blocks = (blkcnt_t)le32_to_cpu(raw->i_blocks) <<
			  (inode->i_blkbits - 9);
	inode->i_generation = le32_to_cpu(raw->i_generation);
	/* kept little-endian, as ext2 does: pointers are converted on use */
	memcpy(ei->i_data, raw->i_block, sizeof(ei->i_data));

	if (S_ISREG(inode->i_mode)) {
		inode->i_op = &mpagefs_file_inode_operations;
		inode->i_fop = &mpagefs_file_operations;
		inode->i_mapping->a_ops = &mpagefs_aops;
	} else if (S_ISDIR(inode->i_mode)) {
		inode->i_op = &mpagefs_dir_inode_operations;
		inode->i_fop = &mpagefs_dir_operations;
		inode->i_mapping->a_ops = &mpagefs_aops;
	} else if (S_ISLNK(inode->i_mode)) {
		if (mpagefs_is_fast_symlink(inode->i_mode, inode->i_size)) {
			inode->i_link = (char *)ei->i_data;
			nd_terminate_link(ei->i_data, inode->i_size,
					  sizeof(ei->i_data) - 1);
			inode->i_op = &mpagefs_fast_symlink_inode_operations;
		} else {
			inode->i_op = &mpagefs_symlink_inode_operations;
			inode_nohighmem(inode);
			inode->i_mapping->a_ops = &mpagefs_aops;
		}
	} else {
		/* devices keep their number in i_block[0], new_encode_dev() */
		init_special_inode(inode, inode->i_mode,
				   new_decode_dev(le32_to_cpu(raw->i_block[0])));
	}
}

/**
 * mpagefs_iget() - get the in-core inode for an inode number
 * @sb: the filesystem
 * @ino: the inode number, 1 .. s_inodes_count
 *
 * Reads the inode from the inode table (a REQ_META read) and validates
 * it: a known file type, a non-zero link count, a size that fits the block
 * map, a plausible i_blocks and block pointers inside the data area.
 *
 * Return: the inode, or an ERR_PTR: -EUCLEAN for a corrupt or out-of-range
 * inode, -EIO for a failed read, -ENOMEM.
 */
struct inode *mpagefs_iget(struct super_block *sb, unsigned long ino)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	const struct mpagefs_inode *raw;
	struct buffer_head *bh;
	struct inode *inode;
	u32 block, index;
	int ret;

	if (ino < 1 || ino > sbi->s_inodes_count) {
		mpagefs_msg(sb, KERN_ERR, "inode number %lu is outside 1..%u",
			    ino, sbi->s_inodes_count);
		return ERR_PTR(-EUCLEAN);
	}
	inode = iget_locked(sb, ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW))
		return inode;

	index = (ino - 1) % sbi->s_inodes_per_block;
	block = sbi->s_inode_table + (ino - 1) / sbi->s_inodes_per_block;
	bh = mpagefs_read_meta(sb, block, NULL);
	if (IS_ERR(bh)) {
		ret = PTR_ERR(bh);
		goto bad;
	}
	raw = (const struct mpagefs_inode *)bh->b_data + index;
	ret = mpagefs_check_inode(inode, raw);
	if (!ret)
		mpagefs_fill_inode(inode, raw);
	brelse(bh);
	if (ret)
		goto bad;
	unlock_new_inode(inode);
	return inode;

bad:
	iget_failed(inode);
	return ERR_PTR(ret);
}
