// SPDX-License-Identifier: GPL-2.0
/*
 * dir.c - directories: reading directory blocks, validating their records,
 * readdir, the name search used by lookup, and the changes namei.c makes:
 * adding, removing and redirecting records, "..", the empty check and the
 * first block of a new directory (the ext2 record format, fs/ext2/dir.c).
 *
 * Directory blocks are read through the block device's buffer cache with
 * REQ_META (so block traces show them as metadata), not through the
 * directory's page cache: only regular file data goes through fs/mpage.c.
 * Changed blocks are marked dirty against the directory inode, so fsync()
 * of the directory writes them.  Every namespace change runs with the
 * directory's i_rwsem held exclusively (readdir and lookup hold it shared),
 * and the buffer is locked while a record is rewritten, so writeback never
 * catches a half-made record.
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/fs_types.h>
#include <linux/sched/signal.h>

#include "mpagefs.h"

/* One directory record, its fields read once from the buffer. */
struct mpagefs_dir_rec {
	u32 ino;
	unsigned int rec_len;
	unsigned int name_len;
	unsigned int file_type;
	const char *name;
};

/*
 * Parses the record at byte @offs of directory block @kaddr into @rec.
 * Returns NULL if the record is sound, else what is wrong with it.
 */
static const char *mpagefs_parse_rec(struct super_block *sb,
				     const char *kaddr, unsigned int offs,
				     struct mpagefs_dir_rec *rec)
{
	const struct mpagefs_dirent *de;
	unsigned int room = sb->s_blocksize - offs;

	if (room < MPAGEFS_DIRENT_HEADER)
		return "record header crosses the end of the block";
	de = (const struct mpagefs_dirent *)(kaddr + offs);
	rec->ino = le32_to_cpu(de->inode);
	rec->rec_len = le16_to_cpu(de->rec_len);
	rec->name_len = de->name_len;
	rec->file_type = de->file_type;
	rec->name = de->name;

	if (rec->rec_len & 3)
		return "rec_len is not a multiple of 4";
	if (rec->rec_len < MPAGEFS_DIRENT_LEN(rec->name_len))
		return "rec_len is too small for name_len";
	if (rec->rec_len > room)
		return "record crosses the end of the block";
	if (!rec->ino)
		return NULL;	/* a free record: only its length matters */
	if (!rec->name_len)
		return "empty name";
	/* readdir's filldir would refuse it with a bare -EIO, lookup never match */
	if (memchr(rec->name, '/', rec->name_len) ||
	    memchr(rec->name, '\0', rec->name_len))
		return "'/' or NUL in the name";
	if (rec->ino > MPAGEFS_SB(sb)->s_inodes_count)
		return "inode number out of range";
	if (rec->file_type >= MPAGEFS_FT_MAX)
		return "unknown file type";
	return NULL;
}

static void mpagefs_bad_rec(struct inode *dir, u64 lblk, unsigned int offs,
			    const char *why, const struct mpagefs_dir_rec *rec)
{
	mpagefs_inode_error(dir,
			    "bad directory record at offset %llu: %s (inode %u, rec_len %u, name_len %u)",
			    (lblk << dir->i_blkbits) + offs, why, rec->ino,
			    rec->rec_len, rec->name_len);
}

/*
 * Reads logical block @lblk of directory @dir and validates every record
 * in it.  Directories have no holes.  Returns the buffer or an ERR_PTR.
 */
static struct buffer_head *mpagefs_dir_bread(struct inode *dir, u64 lblk)
{
	struct super_block *sb = dir->i_sb;
	struct mpagefs_dir_rec rec = {};
	struct buffer_head *bh;
	unsigned int offs;
	bool boundary;
	const char *why;
	u32 bno;
	int ret;

	ret = mpagefs_map_blocks(dir, lblk, 1, &bno, &boundary);
	if (ret < 0)
		return ERR_PTR(ret);
	if (!ret) {
		mpagefs_inode_error(dir, "hole at directory block %llu", lblk);
		return ERR_PTR(-EUCLEAN);
	}
	bh = mpagefs_read_meta(sb, bno, NULL);
	if (IS_ERR(bh))
		return bh;

	for (offs = 0; offs < sb->s_blocksize; offs += rec.rec_len) {
		why = mpagefs_parse_rec(sb, bh->b_data, offs, &rec);
		if (why) {
			mpagefs_bad_rec(dir, lblk, offs, why, &rec);
			brelse(bh);
			return ERR_PTR(-EUCLEAN);
		}
	}
	return bh;
}

/*
 * readdir.  ctx->pos is the byte offset of the next record in the
 * directory, so telldir()/seekdir() work across calls.  A position that is
 * not the start of a record (a stale or made-up seekdir) resumes at the
 * next record of that block, so no position can make us misparse a block.
 */
static int mpagefs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct super_block *sb = dir->i_sb;
	const unsigned int bits = dir->i_blkbits;
	struct mpagefs_dir_rec rec;

	while (ctx->pos < dir->i_size) {
		u64 lblk = ctx->pos >> bits;
		unsigned int want = ctx->pos & (sb->s_blocksize - 1);
		struct buffer_head *bh;
		unsigned int offs;
		const char *why;

		/* a huge directory of empty blocks must stay killable */
		if (fatal_signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
		bh = mpagefs_dir_bread(dir, lblk);
		if (IS_ERR(bh))
			return PTR_ERR(bh);
		for (offs = 0; offs < sb->s_blocksize; offs += rec.rec_len) {
			why = mpagefs_parse_rec(sb, bh->b_data, offs, &rec);
			if (why) {
				/* the block changed under us on the device */
				mpagefs_bad_rec(dir, lblk, offs, why, &rec);
				brelse(bh);
				return -EUCLEAN;
			}
			if (offs < want || !rec.ino)
				continue;
			ctx->pos = (lblk << bits) + offs;
			if (!dir_emit(ctx, rec.name, rec.name_len, rec.ino,
				      fs_ftype_to_dtype(rec.file_type))) {
				brelse(bh);
				return 0;
			}
		}
		brelse(bh);
		ctx->pos = (lblk + 1) << bits;
	}
	return 0;
}

/* The record at byte @offs of directory block @bh, for changing it. */
static struct mpagefs_dirent *mpagefs_rec_at(struct buffer_head *bh,
					     unsigned int offs)
{
	return (struct mpagefs_dirent *)(bh->b_data + offs);
}

/*
 * Finishes a change to directory block @bh of @dir.  The buffer is dirtied
 * and tied to the directory (mark_buffer_dirty_inode()), so fsync() of the
 * directory writes it; in a DIRSYNC directory the block and the directory
 * inode reach the disk before we return, as ext2_commit_chunk() does.
 */
static int mpagefs_dir_commit(struct inode *dir, struct buffer_head *bh,
			      bool update_times)
{
	int err = 0;

	if (update_times)
		inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	mark_buffer_dirty_inode(bh, dir);
	mark_inode_dirty(dir);
	if (IS_DIRSYNC(dir)) {
		err = sync_dirty_buffer(bh);
		if (!err)
			err = sync_inode_metadata(dir, 1);
	}
	return err;
}

/**
 * mpagefs_find_dirent() - find the record of a name in a directory
 * @dir: the directory
 * @name: the name
 * @bhp: receives the directory block holding the record
 *
 * Every record of each block read is validated first (mpagefs_dir_bread()),
 * so the caller may change the record it gets.
 *
 * Return: the record, inside (*@bhp)->b_data (release *@bhp with brelse()),
 * or an ERR_PTR: -ENOENT if there is none, -EUCLEAN for a corrupt
 * directory, -EIO.
 */
struct mpagefs_dirent *mpagefs_find_dirent(struct inode *dir,
					   const struct qstr *name,
					   struct buffer_head **bhp)
{
	struct super_block *sb = dir->i_sb;
	u64 nblocks = dir->i_size >> dir->i_blkbits;
	struct mpagefs_dir_rec rec;
	u64 lblk;

	for (lblk = 0; lblk < nblocks; lblk++) {
		struct buffer_head *bh;
		unsigned int offs;

		if (fatal_signal_pending(current))
			return ERR_PTR(-ERESTARTSYS);
		cond_resched();
		bh = mpagefs_dir_bread(dir, lblk);
		if (IS_ERR(bh))
			return ERR_CAST(bh);
		for (offs = 0; offs < sb->s_blocksize; offs += rec.rec_len) {
			if (mpagefs_parse_rec(sb, bh->b_data, offs, &rec))
				break;	/* changed under us: not found here */
			if (rec.ino && rec.name_len == name->len &&
			    !memcmp(rec.name, name->name, name->len)) {
				*bhp = bh;
				return mpagefs_rec_at(bh, offs);
			}
		}
		brelse(bh);
	}
	return ERR_PTR(-ENOENT);
}

/**
 * mpagefs_find_entry() - look a name up in a directory
 * @dir: the directory
 * @name: the name
 * @ino: receives the inode number of the entry
 *
 * Return: 0 if found, -ENOENT if not, or a negative error (-EUCLEAN for a
 * corrupt directory block).
 */
int mpagefs_find_entry(struct inode *dir, const struct qstr *name, u32 *ino)
{
	struct mpagefs_dirent *de;
	struct buffer_head *bh;

	de = mpagefs_find_dirent(dir, name, &bh);
	if (IS_ERR(de))
		return PTR_ERR(de);
	*ino = le32_to_cpu(de->inode);
	brelse(bh);
	return 0;
}

/*
 * Appends block @lblk to directory @dir as one free record spanning the
 * block, and grows i_size over it.
 */
static struct buffer_head *mpagefs_dir_grow(struct inode *dir, u64 lblk)
{
	struct super_block *sb = dir->i_sb;
	struct buffer_head *bh;
	int err = 0;

	if ((lblk + 1) << dir->i_blkbits > sb->s_maxbytes)
		return ERR_PTR(-EFBIG);
	bh = mpagefs_bread(dir, lblk, true);
	if (IS_ERR_OR_NULL(bh))
		return ERR_PTR(bh ? PTR_ERR(bh) : (err ? err : -EIO));
	/* whatever the block held before, nothing of it is ours now */
	lock_buffer(bh);
	memset(bh->b_data, 0, sb->s_blocksize);
	mpagefs_rec_at(bh, 0)->rec_len = cpu_to_le16(sb->s_blocksize);
	set_buffer_uptodate(bh);
	unlock_buffer(bh);
	i_size_write(dir, (lblk + 1) << dir->i_blkbits);
	return bh;
}

/**
 * mpagefs_add_link() - add a record for a dentry's name to its directory
 * @dentry: the new name, in a directory whose i_rwsem the caller holds
 * @inode: the inode the name is to refer to
 *
 * Like ext2_add_link(): the first free record large enough is used, or a
 * record with enough slack after its name is split; failing both, a new
 * block is appended to the directory.  The directory's mtime and ctime
 * are updated.  Positions of existing records never move, so readdir
 * offsets (telldir cookies) stay valid.
 *
 * Return: 0, -EEXIST if the name is there already, -ENAMETOOLONG, -ENOSPC
 * when no block can be allocated, -EUCLEAN for a corrupt directory, -EIO.
 */
int mpagefs_add_link(struct dentry *dentry, struct inode *inode)
{
	struct inode *dir = d_inode(dentry->d_parent);
	const struct qstr *name = &dentry->d_name;
	struct super_block *sb = dir->i_sb;
	unsigned int need = MPAGEFS_DIRENT_LEN(name->len);
	u64 nblocks = dir->i_size >> dir->i_blkbits;
	struct mpagefs_dir_rec rec = {};
	struct mpagefs_dirent *de;
	struct buffer_head *bh;
	unsigned int offs, used = 0;
	u64 lblk;
	int err;

	if (name->len > MPAGEFS_NAME_LEN)
		return -ENAMETOOLONG;
	for (lblk = 0; lblk < nblocks; lblk++) {
		if (fatal_signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
		bh = mpagefs_dir_bread(dir, lblk);
		if (IS_ERR(bh))
			return PTR_ERR(bh);
		for (offs = 0; offs < sb->s_blocksize; offs += rec.rec_len) {
			if (mpagefs_parse_rec(sb, bh->b_data, offs, &rec)) {
				brelse(bh);
				return -EUCLEAN;
			}
			if (rec.ino && rec.name_len == name->len &&
			    !memcmp(rec.name, name->name, name->len)) {
				brelse(bh);
				return -EEXIST;
			}
			used = rec.ino ? MPAGEFS_DIRENT_LEN(rec.name_len) : 0;
			if (rec.rec_len >= used + need)
				goto got_it;
		}
		brelse(bh);
	}
	bh = mpagefs_dir_grow(dir, nblocks);
	if (IS_ERR(bh))
		return PTR_ERR(bh);
	offs = 0;
	used = 0;
	rec.rec_len = sb->s_blocksize;

got_it:
	/* locked so that writeback never sees a half-made record */
	lock_buffer(bh);
	de = mpagefs_rec_at(bh, offs);
	if (used) {
		struct mpagefs_dirent *de1 = mpagefs_rec_at(bh, offs + used);

		de1->rec_len = cpu_to_le16(rec.rec_len - used);
		de->rec_len = cpu_to_le16(used);
		de = de1;
	}
	de->name_len = name->len;
	de->file_type = fs_umode_to_ftype(inode->i_mode);
	memcpy(de->name, name->name, name->len);
	memset(de->name + name->len, 0,
	       need - MPAGEFS_DIRENT_HEADER - name->len);
	de->inode = cpu_to_le32(inode->i_ino);
	unlock_buffer(bh);
	err = mpagefs_dir_commit(dir, bh, true);
	brelse(bh);
	return err;
}

/**
 * mpagefs_delete_entry() - remove a record from a directory
 * @dir: the directory, i_rwsem held
 * @de: the record, as found by mpagefs_find_dirent()
 * @bh: the directory block holding @de
 *
 * As ext2_delete_entry() does, the record is merged into the one before it
 * in the block; the first record of a block is marked free (inode 0)
 * instead.  Records after it do not move, so readdir offsets stay valid: a
 * position at the deleted record resumes at the record after it.
 *
 * Return: 0, or -EUCLEAN if @de is not a record of the block.
 */
int mpagefs_delete_entry(struct inode *dir, struct mpagefs_dirent *de,
			 struct buffer_head *bh)
{
	struct super_block *sb = dir->i_sb;
	unsigned int target = (char *)de - bh->b_data;
	struct mpagefs_dirent *pde = NULL;
	struct mpagefs_dir_rec rec;
	unsigned int offs;
	const char *why;

	for (offs = 0; offs < target; offs += rec.rec_len) {
		why = mpagefs_parse_rec(sb, bh->b_data, offs, &rec);
		if (why) {
			mpagefs_inode_error(dir, "bad directory record at byte %u of block %llu: %s",
					    offs, (u64)bh->b_blocknr, why);
			return -EUCLEAN;
		}
		pde = mpagefs_rec_at(bh, offs);
	}
	if (offs != target) {
		mpagefs_inode_error(dir, "record to delete at byte %u of block %llu is not on the record chain",
				    target, (u64)bh->b_blocknr);
		return -EUCLEAN;
	}
	lock_buffer(bh);
	if (pde)
		pde->rec_len = cpu_to_le16(target - ((char *)pde - bh->b_data) +
					   le16_to_cpu(de->rec_len));
	de->inode = 0;
	unlock_buffer(bh);
	return mpagefs_dir_commit(dir, bh, true);
}

/**
 * mpagefs_set_link() - make a directory record refer to another inode
 * @dir: the directory holding the record
 * @de: the record, as found by mpagefs_find_dirent() or mpagefs_dotdot()
 * @bh: the directory block holding @de
 * @inode: the inode the record is to refer to
 * @update_times: also update @dir's mtime and ctime (not for the ".." of a
 *	directory moved by rename, which does not change what it lists)
 *
 * Return: 0, or an I/O error of a DIRSYNC directory.
 */
int mpagefs_set_link(struct inode *dir, struct mpagefs_dirent *de,
		     struct buffer_head *bh, struct inode *inode,
		     bool update_times)
{
	lock_buffer(bh);
	de->inode = cpu_to_le32(inode->i_ino);
	de->file_type = fs_umode_to_ftype(inode->i_mode);
	unlock_buffer(bh);
	return mpagefs_dir_commit(dir, bh, update_times);
}

/**
 * mpagefs_dotdot() - the ".." record of a directory
 * @dir: the directory
 * @bhp: receives the directory's first block
 *
 * The first block of a directory starts with "." and "..", as mkfs and
 * mpagefs_make_empty() write it.
 *
 * Return: the ".." record inside (*@bhp)->b_data (release *@bhp with
 * brelse()), or an ERR_PTR: -EUCLEAN if the block does not start with
 * "." and "..", -EIO.
 */
struct mpagefs_dirent *mpagefs_dotdot(struct inode *dir,
				      struct buffer_head **bhp)
{
	struct super_block *sb = dir->i_sb;
	struct mpagefs_dir_rec dot, dotdot;
	struct buffer_head *bh;

	bh = mpagefs_dir_bread(dir, 0);
	if (IS_ERR(bh))
		return ERR_CAST(bh);
	if (mpagefs_parse_rec(sb, bh->b_data, 0, &dot) ||
	    dot.name_len != 1 || dot.name[0] != '.' ||
	    mpagefs_parse_rec(sb, bh->b_data, dot.rec_len, &dotdot) ||
	    !dotdot.ino || dotdot.name_len != 2 || memcmp(dotdot.name, "..", 2)) {
		mpagefs_inode_error(dir, "the first directory block does not start with \".\" and \"..\"");
		brelse(bh);
		return ERR_PTR(-EUCLEAN);
	}
	*bhp = bh;
	return mpagefs_rec_at(bh, dot.rec_len);
}

/**
 * mpagefs_make_empty() - write the first block of a new directory
 * @inode: the new directory (i_size 0, no blocks)
 * @parent: the directory it is created in
 *
 * The block holds "." (rec_len 12) and ".." stretching to the end of the
 * block, as mkfs writes them; i_size becomes one block.
 *
 * Return: 0, -ENOSPC when no block is free, -EIO.
 */
int mpagefs_make_empty(struct inode *inode, struct inode *parent)
{
	struct super_block *sb = inode->i_sb;
	const unsigned int dot_len = MPAGEFS_DIRENT_LEN(1);
	struct mpagefs_dirent *de;
	struct buffer_head *bh;
	int err;

	bh = mpagefs_dir_grow(inode, 0);
	if (IS_ERR(bh))
		return PTR_ERR(bh);
	lock_buffer(bh);
	de = mpagefs_rec_at(bh, 0);
	de->inode = cpu_to_le32(inode->i_ino);
	de->rec_len = cpu_to_le16(dot_len);
	de->name_len = 1;
	de->file_type = MPAGEFS_FT_DIR;
	de->name[0] = '.';
	de = mpagefs_rec_at(bh, dot_len);
	de->inode = cpu_to_le32(parent->i_ino);
	de->rec_len = cpu_to_le16(sb->s_blocksize - dot_len);
	de->name_len = 2;
	de->file_type = MPAGEFS_FT_DIR;
	de->name[0] = '.';
	de->name[1] = '.';
	unlock_buffer(bh);
	err = mpagefs_dir_commit(inode, bh, false);
	brelse(bh);
	return err;
}

/**
 * mpagefs_empty_dir() - check that a directory holds only "." and ".."
 * @inode: the directory
 *
 * Return: 0 if it is empty, -ENOTEMPTY if not, or a negative error
 * (-EUCLEAN for a corrupt directory: it is then not removed).
 */
int mpagefs_empty_dir(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	u64 nblocks = inode->i_size >> inode->i_blkbits;
	struct mpagefs_dir_rec rec;
	u64 lblk;

	for (lblk = 0; lblk < nblocks; lblk++) {
		struct buffer_head *bh;
		unsigned int offs;

		if (fatal_signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
		bh = mpagefs_dir_bread(inode, lblk);
		if (IS_ERR(bh))
			return PTR_ERR(bh);
		for (offs = 0; offs < sb->s_blocksize; offs += rec.rec_len) {
			bool dot, dotdot;

			if (mpagefs_parse_rec(sb, bh->b_data, offs, &rec)) {
				brelse(bh);
				return -EUCLEAN;
			}
			if (!rec.ino)
				continue;
			dot = rec.name_len == 1 && rec.name[0] == '.' &&
			      rec.ino == inode->i_ino;
			dotdot = rec.name_len == 2 && !memcmp(rec.name, "..", 2);
			if (!dot && !dotdot) {
				brelse(bh);
				return -ENOTEMPTY;
			}
		}
		brelse(bh);
	}
	return 0;
}

const struct file_operations mpagefs_dir_operations = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= mpagefs_readdir,
	.fsync		= generic_file_fsync,
};
