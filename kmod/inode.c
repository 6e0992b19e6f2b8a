// SPDX-License-Identifier: GPL-2.0
/*
 * inode.c - reading, validating and writing inodes, deleting them, size
 * changes, and the address_space operations: file data is read by
 * fs/mpage.c (mpage_readahead, mpage_read_folio) and written back by it
 * (mpage_writepages); the rest are the buffer_head helpers, as in ext2.
 * Every one of them maps blocks through mpagefs_lab_get_block(), the
 * plain mpagefs_get_block() (map.c) inside the lab's wrapper
 * (lab_get_block.c).
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/mpage.h>
#include <linux/namei.h>
#include <linux/time64.h>
#include <linux/uio.h>
#include <linux/writeback.h>

#include "mpagefs.h"

/* The three entry points of fs/mpage.c, each call counted. */
static int mpagefs_read_folio(struct file *file, struct folio *folio)
{
	mpagefs_stat_add(folio->mapping->host->i_sb,
			 MPAGEFS_STAT_READ_FOLIO_CALLS, 1);
	return mpage_read_folio(folio, mpagefs_lab_get_block);
}

static void mpagefs_readahead(struct readahead_control *rac)
{
	mpagefs_stat_add(rac->mapping->host->i_sb,
			 MPAGEFS_STAT_READAHEAD_CALLS, 1);
	mpage_readahead(rac, mpagefs_lab_get_block);
}

static int mpagefs_writepages(struct address_space *mapping,
			      struct writeback_control *wbc)
{
	mpagefs_stat_add(mapping->host->i_sb, MPAGEFS_STAT_WRITEPAGES_CALLS, 1);
	return mpage_writepages(mapping, wbc, mpagefs_lab_get_block);
}

/* Undoes the blocks a failed write allocated beyond EOF. */
static void mpagefs_write_failed(struct address_space *mapping, loff_t to)
{
	struct inode *inode = mapping->host;

	if (to > inode->i_size) {
		truncate_pagecache(inode, inode->i_size);
		mpagefs_truncate_blocks(inode, inode->i_size);
	}
}

static int mpagefs_write_begin(struct file *file,
			       struct address_space *mapping, loff_t pos,
			       unsigned int len, struct folio **foliop,
			       void **fsdata)
{
	int ret;

	ret = block_write_begin(mapping, pos, len, foliop,
				mpagefs_lab_get_block);
	if (ret < 0)
		mpagefs_write_failed(mapping, pos + len);
	return ret;
}

static int mpagefs_write_end(struct file *file, struct address_space *mapping,
			     loff_t pos, unsigned int len, unsigned int copied,
			     struct folio *folio, void *fsdata)
{
	int ret;

	ret = generic_write_end(file, mapping, pos, len, copied, folio, fsdata);
	if (ret < len)
		mpagefs_write_failed(mapping, pos + len);
	return ret;
}

DEFINE_FOLIO_WRITE_AOPS(mpagefs_write_begin, mpagefs_write_end);

static ssize_t mpagefs_direct_IO(struct kiocb *iocb, struct iov_iter *iter)
{
	struct address_space *mapping = iocb->ki_filp->f_mapping;
	struct inode *inode = mapping->host;
	size_t count = iov_iter_count(iter);
	loff_t offset = iocb->ki_pos;
	ssize_t ret;

	ret = blockdev_direct_IO(iocb, inode, iter, mpagefs_lab_get_block);
	if (ret < 0 && iov_iter_rw(iter) == WRITE)
		mpagefs_write_failed(mapping, offset + count);
	return ret;
}

static sector_t mpagefs_bmap(struct address_space *mapping, sector_t block)
{
	return generic_block_bmap(mapping, block, mpagefs_lab_get_block);
}

/*
 * No ->writepage: dirty pages are written only by mpage_writepages(), so
 * every data write goes through the code this lab is about.
 */
const struct address_space_operations mpagefs_aops = {
	.dirty_folio		= block_dirty_folio,
	.invalidate_folio	= block_invalidate_folio,
	.read_folio		= mpagefs_read_folio,
	.readahead		= mpagefs_readahead,
	.writepages		= mpagefs_writepages,
	.write_begin		= FOLIO_WRITE_AOP(mpagefs_write_begin),
	.write_end		= FOLIO_WRITE_AOP(mpagefs_write_end),
	.direct_IO		= mpagefs_direct_IO,
	.bmap			= mpagefs_bmap,
	.migrate_folio		= buffer_migrate_folio,
	.is_partially_uptodate	= block_is_partially_uptodate,
	.error_remove_folio	= generic_error_remove_folio,
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
	inode_set_atime(inode, le64_to_cpu(raw->i_atime),
			le32_to_cpu(raw->i_atime_nsec));
	inode_set_mtime(inode, le64_to_cpu(raw->i_mtime),
			le32_to_cpu(raw->i_mtime_nsec));
	inode_set_ctime(inode, le64_to_cpu(raw->i_ctime),
			le32_to_cpu(raw->i_ctime_nsec));
	/* on disk in filesystem blocks, in the VFS in 512-byte units */
	inode->i_blocks = (blkcnt_t)le32_to_cpu(raw->i_blocks) <<
			  (inode->i_blkbits - 9);
	inode->i_generation = le32_to_cpu(raw->i_generation);
	/* kept little-endian, as ext2 does: pointers are converted on use */
	memcpy(ei->i_data, raw->i_block, sizeof(ei->i_data));

	if (S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode))
		/* devices keep their number in i_block[0], new_encode_dev() */
		inode->i_rdev = new_decode_dev(le32_to_cpu(raw->i_block[0]));
	mpagefs_set_inode_ops(inode);
}

/**
 * mpagefs_set_inode_ops() - pick the operations of an inode by its mode
 * @inode: the inode; i_mode set, i_size set for symlinks (a target
 *	shorter than i_block makes a fast symlink, with i_link pointing at
 *	i_data), i_rdev set for device nodes
 */
void mpagefs_set_inode_ops(struct inode *inode)
{
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);

	if (S_ISREG(inode->i_mode)) {
		inode->i_op = &mpagefs_file_inode_operations;
		inode->i_fop = &mpagefs_file_operations;
		inode->i_mapping->a_ops = &mpagefs_aops;
	} else if (S_ISDIR(inode->i_mode)) {
		inode->i_op = &mpagefs_dir_inode_operations;
		inode->i_fop = &mpagefs_dir_operations;
		mpagefs_dir_init(inode);
	} else if (S_ISLNK(inode->i_mode)) {
		if (mpagefs_is_fast_symlink(inode->i_mode, inode->i_size)) {
			inode->i_link = (char *)ei->i_data;
			nd_terminate_link(ei->i_data, inode->i_size,
					  sizeof(ei->i_data) - 1);
			inode->i_op = &mpagefs_fast_symlink_inode_operations;
		} else {
			inode->i_link = NULL;
			inode->i_op = &mpagefs_symlink_inode_operations;
			inode_nohighmem(inode);
			inode->i_mapping->a_ops = &mpagefs_aops;
		}
	} else {
		inode->i_op = &mpagefs_special_inode_operations;
		init_special_inode(inode, inode->i_mode, inode->i_rdev);
	}
}

/**
 * mpagefs_iget() - get the in-core inode for an inode number
 * @sb: the filesystem
 * @ino: the inode number, 1 .. s_inodes_count
 *
 * Reads the inode from the inode table through the buffer cache
 * (mpagefs_read_meta()) and validates it: a known file type, a non-zero
 * link count, a size that fits the block map, a plausible i_blocks and
 * block pointers inside the data area.
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
		mpagefs_error(sb, "inode number %lu is outside 1..%u",
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

/* Copies the in-core inode into its slot of the inode table. */
static int __mpagefs_write_inode(struct inode *inode, bool do_sync)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);
	unsigned long ino = inode->i_ino;
	__le32 i_block[MPAGEFS_N_BLOCKS] = {};
	struct timespec64 atime = inode_get_atime(inode);
	struct timespec64 mtime = inode_get_mtime(inode);
	struct timespec64 ctime = inode_get_ctime(inode);
	struct mpagefs_inode *raw;
	struct buffer_head *bh;
	int err = 0;

	if (S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode)) {
		i_block[0] = cpu_to_le32(new_encode_dev(inode->i_rdev));
	} else if (!S_ISFIFO(inode->i_mode) && !S_ISSOCK(inode->i_mode)) {
		down_read(&ei->i_map_sem);
		memcpy(i_block, ei->i_data, sizeof(i_block));
		up_read(&ei->i_map_sem);
	}
	bh = mpagefs_read_meta(sb, sbi->s_inode_table +
				   (ino - 1) / sbi->s_inodes_per_block, NULL);
	if (IS_ERR(bh))
		return PTR_ERR(bh);
	raw = (struct mpagefs_inode *)bh->b_data +
	      (ino - 1) % sbi->s_inodes_per_block;

	lock_buffer(bh);
	raw->i_mode = cpu_to_le16(inode->i_mode);
	raw->i_links_count = cpu_to_le16(inode->i_nlink);
	raw->i_uid = cpu_to_le32(i_uid_read(inode));
	raw->i_gid = cpu_to_le32(i_gid_read(inode));
	raw->i_flags = 0;
	raw->i_size = cpu_to_le64(inode->i_size);
	raw->i_atime = cpu_to_le64(atime.tv_sec);
	raw->i_mtime = cpu_to_le64(mtime.tv_sec);
	raw->i_ctime = cpu_to_le64(ctime.tv_sec);
	raw->i_atime_nsec = cpu_to_le32(atime.tv_nsec);
	raw->i_mtime_nsec = cpu_to_le32(mtime.tv_nsec);
	raw->i_ctime_nsec = cpu_to_le32(ctime.tv_nsec);
	raw->i_blocks = cpu_to_le32(inode->i_blocks >> (inode->i_blkbits - 9));
	raw->i_generation = cpu_to_le32(inode->i_generation);
	memcpy(raw->i_block, i_block, sizeof(raw->i_block));
	unlock_buffer(bh);
	mark_buffer_dirty(bh);
	if (do_sync) {
		sync_dirty_buffer(bh);
		if (buffer_write_io_error(bh)) {
			mpagefs_msg(sb, KERN_ERR, "I/O error writing inode %lu",
				    ino);
			err = -EIO;
		}
	}
	brelse(bh);
	return err;
}

/**
 * mpagefs_write_inode() - super_operations.write_inode
 * @inode: the inode
 * @wbc: writeback control; WB_SYNC_ALL writes the inode table block now
 *
 * Return: 0 or -EIO.
 */
int mpagefs_write_inode(struct inode *inode, struct writeback_control *wbc)
{
	return __mpagefs_write_inode(inode, wbc->sync_mode == WB_SYNC_ALL);
}

/**
 * mpagefs_evict_inode() - super_operations.evict_inode
 * @inode: the inode leaving the cache
 *
 * An inode whose last link is gone is deleted here: its blocks are freed,
 * the cleared inode (link count 0, no blocks) is written to the table and
 * its number is freed.
 */
void mpagefs_evict_inode(struct inode *inode)
{
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);
	bool want_delete = !inode->i_nlink && !is_bad_inode(inode);

	truncate_inode_pages_final(&inode->i_data);
	if (want_delete) {
		sb_start_intwrite(inode->i_sb);
		if (mpagefs_has_block_map(inode->i_mode, inode->i_size))
			mpagefs_truncate_blocks(inode, 0);
		inode->i_size = 0;
		memset(ei->i_data, 0, sizeof(ei->i_data));
		inode->i_rdev = 0;
		__mpagefs_write_inode(inode, inode_needs_sync(inode));
	}
	invalidate_inode_buffers(inode);
	clear_inode(inode);
	if (want_delete) {
		mpagefs_free_inode_nr(inode->i_sb, inode->i_ino);
		sb_end_intwrite(inode->i_sb);
	}
}

/* Changes the size of a file: frees blocks past it, or leaves a hole. */
static int mpagefs_setsize(struct inode *inode, loff_t newsize)
{
	int err;

	if (!(S_ISREG(inode->i_mode) || S_ISDIR(inode->i_mode) ||
	      S_ISLNK(inode->i_mode)) ||
	    !mpagefs_has_block_map(inode->i_mode, inode->i_size))
		return -EINVAL;
	inode_dio_wait(inode);
	/* zero the tail of a partial last block, so growing shows zeroes */
	err = block_truncate_page(inode->i_mapping, newsize,
				  mpagefs_lab_get_block);
	if (err)
		return err;
	mpagefs_truncate_setsize(inode, newsize);
	mpagefs_truncate_blocks(inode, newsize);
	inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
	if (inode_needs_sync(inode)) {
		sync_mapping_buffers(inode->i_mapping);
		sync_inode_metadata(inode, 1);
	} else {
		mark_inode_dirty(inode);
	}
	return 0;
}

/**
 * mpagefs_setattr() - inode_operations.setattr: chmod, chown, utimes and
 *	truncate
 * @idmap: the idmapping of the mount
 * @dentry: the file
 * @iattr: what to change
 *
 * Return: 0 or a negative error.
 */
int mpagefs_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
		    struct iattr *iattr)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = setattr_prepare(idmap, dentry, iattr);
	if (err)
		return err;
	if ((iattr->ia_valid & ATTR_SIZE) && iattr->ia_size != inode->i_size) {
		err = mpagefs_setsize(inode, iattr->ia_size);
		if (err)
			return err;
	}
	setattr_copy(idmap, inode, iattr);
	mark_inode_dirty(inode);
	return 0;
}

/* device nodes, fifos and sockets: only attribute changes */
const struct inode_operations mpagefs_special_inode_operations = {
	.setattr	= mpagefs_setattr,
};
