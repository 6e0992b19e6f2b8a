// SPDX-License-Identifier: GPL-2.0
/*
 * dir.c - directories: reading directory blocks, validating their records,
 * readdir and the name search used by lookup.
 *
 * Directory blocks are read through the block device's buffer cache with
 * REQ_META (so block traces show them as metadata), not through the
 * directory's page cache: only regular file data goes through fs/mpage.c.
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
	struct super_block *sb = dir->i_sb;
	u64 nblocks = dir->i_size >> dir->i_blkbits;
	struct mpagefs_dir_rec rec;
	u64 lblk;

	for (lblk = 0; lblk < nblocks; lblk++) {
		struct buffer_head *bh;
		unsigned int offs;

		if (fatal_signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
		bh = mpagefs_dir_bread(dir, lblk);
		if (IS_ERR(bh))
			return PTR_ERR(bh);
		for (offs = 0; offs < sb->s_blocksize; offs += rec.rec_len) {
			if (mpagefs_parse_rec(sb, bh->b_data, offs, &rec))
				break;	/* changed under us: not found here */
			if (rec.ino && rec.name_len == name->len &&
			    !memcmp(rec.name, name->name, name->len)) {
				*ino = rec.ino;
				brelse(bh);
				return 0;
			}
		}
		brelse(bh);
	}
	return -ENOENT;
}

const struct file_operations mpagefs_dir_operations = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= mpagefs_readdir,
};
