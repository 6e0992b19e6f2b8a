// SPDX-License-Identifier: GPL-2.0
/*
 * dir.c - directories: the directory's page cache, validating its pages,
 * readdir, the name search used by lookup, and the changes namei.c makes:
 * adding, removing and redirecting records, "..", the empty check, the
 * first block of a new directory and giving back empty trailing blocks
 * (the ext2 record format and the ext2 way of reading it, fs/ext2/dir.c).
 *
 * A directory is read through its own page cache, as ext2 reads it: its
 * address_space operations are fs/mpage.c's (mpagefs_dir_aops), so a cold
 * directory is read with readahead in bios of many blocks, and a page is
 * validated once, record by record, when it first comes in; a page that
 * passes is marked checked (the folio's "checked" flag) and is never
 * parsed for validity again while it stays in the cache.  A page that
 * fails is reported once through mpagefs_error() (the errors= policy
 * applies) and refused with -EUCLEAN at every access.
 *
 * Records are changed with ext2's prepare-chunk / commit-chunk pattern:
 * the folio is locked (and any writeback of it waited for, so the disk
 * never gets a half-made record), __block_write_begin() maps the blocks of
 * the range (allocating the block a growing directory needs), the records
 * are rewritten and block_write_end() dirties the buffers; writeback
 * writes directory pages with mpage_writepages().  Every namespace change
 * runs with the directory's i_rwsem held exclusively (readdir and lookup
 * hold it shared), so the page contents only change under that lock.
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/fs_types.h>
#include <linux/highmem.h>
#include <linux/mpage.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/writeback.h>

#include "mpagefs.h"

/* Most pages one directory readahead asks for (128 KiB). */
#define MPAGEFS_DIR_RA_PAGES	(SZ_128K >> PAGE_SHIFT)

/* One directory record, its fields read once from the page. */
struct mpagefs_dir_rec {
	u32 ino;
	unsigned int rec_len;
	unsigned int name_len;
	unsigned int file_type;
	const char *name;
};

/*
 * Decodes the record header at byte @offs of the directory block starting
 * at @block into @rec; the caller has checked that the header fits.
 */
static void mpagefs_decode_rec(const char *block, unsigned int offs,
			       struct mpagefs_dir_rec *rec)
{
	const struct mpagefs_dirent *de =
		(const struct mpagefs_dirent *)(block + offs);

	rec->ino = le32_to_cpu(de->inode);
	rec->rec_len = le16_to_cpu(de->rec_len);
	rec->name_len = de->name_len;
	rec->file_type = de->file_type;
	rec->name = de->name;
}

/*
 * Parses and validates the record at byte @offs of the directory block
 * starting at @block into @rec.  Returns NULL if the record is sound, else
 * what is wrong with it.
 */
static const char *mpagefs_parse_rec(struct super_block *sb,
				     const char *block, unsigned int offs,
				     struct mpagefs_dir_rec *rec)
{
	unsigned int room = sb->s_blocksize - offs;

	if (room < MPAGEFS_DIRENT_HEADER)
		return "record header crosses the end of the block";
	mpagefs_decode_rec(block, offs, rec);

	if (!rec->rec_len)
		return "rec_len is 0 (a hole or a zeroed block)";
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

/*
 * Reads the record at byte @offs of a block of a checked page into @rec,
 * without validating it again.  The length is still bounded, so a bug
 * elsewhere can never make a walk loop or leave the block.  Returns false
 * if it is out of bounds.
 */
static bool mpagefs_read_rec(struct super_block *sb, const char *block,
			     unsigned int offs, struct mpagefs_dir_rec *rec)
{
	if (sb->s_blocksize - offs < MPAGEFS_DIRENT_HEADER)
		return false;
	mpagefs_decode_rec(block, offs, rec);
	return rec->rec_len >= MPAGEFS_DIRENT_HEADER &&
	       rec->rec_len <= sb->s_blocksize - offs;
}

static void mpagefs_bad_rec(struct inode *dir, loff_t pos, const char *why,
			    const struct mpagefs_dir_rec *rec)
{
	mpagefs_inode_error(dir,
			    "bad directory record at offset %lld (block %lld): %s (inode %u, rec_len %u, name_len %u)",
			    pos, pos >> dir->i_blkbits, why, rec->ino,
			    rec->rec_len, rec->name_len);
}

/* Bytes of directory page @n that lie inside i_size. */
static unsigned int mpagefs_dir_last_byte(struct inode *dir, unsigned long n)
{
	loff_t pos = (loff_t)n << PAGE_SHIFT;
	loff_t size = i_size_read(dir);

	if (size <= pos)
		return 0;
	return min_t(loff_t, size - pos, PAGE_SIZE);
}

/*
 * The bit of i_dir_bad that stands for directory page @n: one per page
 * for the first pages, the last one shared by every page after them.
 */
static unsigned int mpagefs_dir_bad_bit(pgoff_t n)
{
	return min_t(pgoff_t, n, BITS_PER_LONG - 1);
}

/*
 * Validates every record of the blocks of @folio inside i_size (ext2's
 * ext2_check_folio(), with mpagefs's stricter record checks).  A sound
 * page is marked checked.  A bad one is reported the first time only
 * (i_dir_bad), so a directory block that stays corrupt is refused at
 * every access but logged, and counted against errors=, once.
 */
static bool mpagefs_check_folio(struct inode *dir, struct folio *folio,
				const char *kaddr)
{
	struct super_block *sb = dir->i_sb;
	struct mpagefs_inode_info *ei = MPAGEFS_I(dir);
	unsigned int limit = mpagefs_dir_last_byte(dir, folio->index);
	unsigned int bit = mpagefs_dir_bad_bit(folio->index);
	struct mpagefs_dir_rec rec = {};
	unsigned int boffs, offs = 0;
	const char *why = NULL;

	for (boffs = 0; boffs < limit && !why; boffs += sb->s_blocksize)
		for (offs = 0; offs < sb->s_blocksize; offs += rec.rec_len) {
			why = mpagefs_parse_rec(sb, kaddr + boffs, offs, &rec);
			if (why)
				break;
		}
	if (why) {
		boffs -= sb->s_blocksize;
		if (!test_and_set_bit(bit, &ei->i_dir_bad))
			mpagefs_bad_rec(dir, folio_pos(folio) + boffs + offs,
					why, &rec);
		return false;
	}
	if (bit < BITS_PER_LONG - 1 && test_bit(bit, &ei->i_dir_bad))
		clear_bit(bit, &ei->i_dir_bad);
	folio_set_checked(folio);
	return true;
}

/*
 * Starts readahead of the directory from page @n (at most
 * MPAGEFS_DIR_RA_PAGES, never past i_size) unless page @n is cached, so
 * a cold directory comes in through mpage_readahead() in large bios
 * instead of one read_folio() per page.
 */
static void mpagefs_dir_readahead(struct inode *dir, struct file_ra_state *ra,
				  struct file *file, unsigned long n,
				  unsigned long npages)
{
	loff_t start = (loff_t)n << PAGE_SHIFT;

	if (n >= npages ||
	    filemap_range_has_page(dir->i_mapping, start, start + PAGE_SIZE - 1))
		return;
	page_cache_sync_readahead(dir->i_mapping, ra, file, n,
				  min_t(unsigned long, npages - n,
					MPAGEFS_DIR_RA_PAGES));
}

/*
 * Gets directory page @n, read and validated, mapped with
 * kmap_local_folio().  Returns its address, *@foliop set (release both
 * with folio_release_kmap(), nested as kmap_local_folio() requires), or
 * an ERR_PTR: -EUCLEAN for a corrupt page, -EIO, -ENOMEM.
 */
static void *mpagefs_get_dir_folio(struct inode *dir, unsigned long n,
				   struct folio **foliop)
{
	struct folio *folio = read_mapping_folio(dir->i_mapping, n, NULL);
	void *kaddr;

	if (IS_ERR(folio))
		return ERR_CAST(folio);
	kaddr = kmap_local_folio(folio, 0);
	if (unlikely(!folio_test_checked(folio)) &&
	    !mpagefs_check_folio(dir, folio, kaddr)) {
		folio_release_kmap(folio, kaddr);
		return ERR_PTR(-EUCLEAN);
	}
	*foliop = folio;
	return kaddr;
}

/*
 * The get_block of directory pages.  Lookups map runs of blocks for
 * mpage_readahead(), uncounted (the lab's counters and injected faults
 * are about file data); a hole inside i_size reads as zeroes, which
 * mpagefs_check_folio() refuses.  Only the allocation of a new block
 * (a growing directory) goes through mpagefs_get_block().
 */
static int mpagefs_dir_get_block(struct inode *dir, sector_t iblock,
				 struct buffer_head *bh, int create)
{
	struct super_block *sb = dir->i_sb;
	unsigned int want = min_t(size_t, bh->b_size >> dir->i_blkbits,
				  UINT_MAX);
	bool boundary;
	u32 bno;
	int ret;

	ret = mpagefs_map_blocks(dir, iblock, want, &bno, &boundary);
	if (ret < 0)
		return ret;
	if (!ret)
		return create ? mpagefs_get_block(dir, iblock, bh, create) : 0;
	map_bh(bh, sb, bno);
	bh->b_size = (size_t)ret << dir->i_blkbits;
	if (boundary && READ_ONCE(MPAGEFS_SB(sb)->s_opts.boundary))
		set_buffer_boundary(bh);
	return 0;
}

static int mpagefs_dir_read_folio(struct file *file, struct folio *folio)
{
	return mpage_read_folio(folio, mpagefs_dir_get_block);
}

static void mpagefs_dir_readahead_aop(struct readahead_control *rac)
{
	mpage_readahead(rac, mpagefs_dir_get_block);
}

static int mpagefs_dir_writepages(struct address_space *mapping,
				  struct writeback_control *wbc)
{
	return mpage_writepages(mapping, wbc, mpagefs_dir_get_block);
}

/*
 * The address_space operations of directories: fs/mpage.c reads and
 * writes back their pages; changes go through mpagefs_prepare_chunk().
 */
static const struct address_space_operations mpagefs_dir_aops = {
	.dirty_folio		= block_dirty_folio,
	.invalidate_folio	= block_invalidate_folio,
	.read_folio		= mpagefs_dir_read_folio,
	.readahead		= mpagefs_dir_readahead_aop,
	.writepages		= mpagefs_dir_writepages,
	.migrate_folio		= buffer_migrate_folio,
	.is_partially_uptodate	= block_is_partially_uptodate,
	.error_remove_folio	= generic_error_remove_folio,
};

/**
 * mpagefs_dir_init() - set up the in-core state of a directory inode
 * @dir: a directory inode whose i_mode is set
 *
 * Sets its address_space operations and forgets any page found bad and
 * where the last lookup succeeded.
 */
void mpagefs_dir_init(struct inode *dir)
{
	struct mpagefs_inode_info *ei = MPAGEFS_I(dir);

	dir->i_mapping->a_ops = &mpagefs_dir_aops;
	ei->i_dir_start_lookup = 0;
	ei->i_dir_bad = 0;
}

/*
 * Locks nothing: @folio is locked by the caller.  Waits for writeback of
 * the folio (the disk must never get a half-made record) and maps the
 * blocks of [@pos, @pos + @len), allocating a new block of a growing
 * directory.
 */
static int mpagefs_prepare_chunk(struct folio *folio, loff_t pos,
				 unsigned int len)
{
	folio_wait_writeback(folio);
	return __block_write_begin(folio, pos, len, mpagefs_dir_get_block);
}

/*
 * Dirties [@pos, @pos + @len) of the locked @folio, grows i_size over it
 * if it lies beyond, and unlocks the folio (ext2_commit_chunk()).
 */
static void mpagefs_commit_chunk(struct folio *folio, loff_t pos,
				 unsigned int len)
{
	struct address_space *mapping = folio->mapping;
	struct inode *dir = mapping->host;

	block_write_end(NULL, mapping, pos, len, len, folio, NULL);
	if (pos + len > dir->i_size) {
		i_size_write(dir, pos + len);
		mark_inode_dirty(dir);
	}
	folio_unlock(folio);
}

/*
 * Finishes a change of directory @dir: times, the inode dirtied and, in a
 * DIRSYNC directory, its pages, indirect blocks and inode written before
 * we return (ext2_handle_dirsync()).
 */
static int mpagefs_dir_changed(struct inode *dir, bool update_times)
{
	int err;

	if (update_times)
		inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	mark_inode_dirty(dir);
	if (!IS_DIRSYNC(dir))
		return 0;
	err = filemap_write_and_wait(dir->i_mapping);
	if (!err)
		err = sync_mapping_buffers(dir->i_mapping);
	if (!err)
		err = sync_inode_metadata(dir, 1);
	return err;
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
	const unsigned int bs = sb->s_blocksize;
	unsigned long npages = dir_pages(dir);
	struct mpagefs_dir_rec rec;

	while (ctx->pos < dir->i_size) {
		unsigned long n = ctx->pos >> PAGE_SHIFT;
		unsigned int in_page = ctx->pos & ~PAGE_MASK;
		unsigned int want = in_page & (bs - 1);
		unsigned int last, boffs, offs;
		struct folio *folio;
		char *kaddr;

		/* a huge directory of empty blocks must stay killable */
		if (fatal_signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
		mpagefs_dir_readahead(dir, &file->f_ra, file, n, npages);
		kaddr = mpagefs_get_dir_folio(dir, n, &folio);
		if (IS_ERR(kaddr))
			return PTR_ERR(kaddr);
		last = mpagefs_dir_last_byte(dir, n);
		for (boffs = in_page & ~(bs - 1); boffs < last;
		     boffs += bs, want = 0) {
			for (offs = 0; offs < bs; offs += rec.rec_len) {
				if (!mpagefs_read_rec(sb, kaddr + boffs, offs,
						      &rec)) {
					mpagefs_bad_rec(dir, folio_pos(folio) +
							boffs + offs,
							"changed in a checked page",
							&rec);
					folio_release_kmap(folio, kaddr);
					return -EUCLEAN;
				}
				if (offs < want || !rec.ino)
					continue;
				ctx->pos = folio_pos(folio) + boffs + offs;
				if (!dir_emit(ctx, rec.name, rec.name_len,
					      rec.ino,
					      fs_ftype_to_dtype(rec.file_type))) {
					folio_release_kmap(folio, kaddr);
					return 0;
				}
			}
		}
		folio_release_kmap(folio, kaddr);
		ctx->pos = ((loff_t)n << PAGE_SHIFT) + last;
	}
	return 0;
}

/*
 * Whether the record @de of a checked page holds @name.  The length and
 * the inode number come first, as in ext2_match(); then the last byte,
 * before the whole name: the names of a large directory often share
 * everything but their last characters (mail-0001, mail-0002, ...), and a
 * lookup or a create compares @name with every record of that length.
 * A record in use on a checked page has a name of at least one byte;
 * the dirent's name is char, the qstr's unsigned char, hence the cast.
 */
static inline bool mpagefs_match(const struct mpagefs_dirent *de,
				 const struct qstr *name)
{
	unsigned int len = name->len;

	return de->name_len == len && de->inode &&
	       (u8)de->name[len - 1] == name->name[len - 1] &&
	       !memcmp(de->name, name->name, len - 1);
}

/*
 * The length of the record at byte @offs of a block of a checked page, or
 * 0 if it is out of bounds: the header or the record would cross the end
 * of the block, or the length could not move a walk on.  A checked page
 * never has such a record; the bound is kept so that a bug elsewhere can
 * never make a walk loop or leave the block.  The hot loops (lookup and
 * the room search of a create) read the record in place with this, not
 * through mpagefs_read_rec(): they run over every record of a directory.
 */
static unsigned int mpagefs_rec_len(unsigned int bs, const char *block,
				    unsigned int offs)
{
	const struct mpagefs_dirent *de =
		(const struct mpagefs_dirent *)(block + offs);
	unsigned int rec_len;

	if (unlikely(bs - offs < MPAGEFS_DIRENT_HEADER))
		return 0;
	rec_len = le16_to_cpu(de->rec_len);
	if (unlikely(rec_len < MPAGEFS_DIRENT_HEADER || rec_len > bs - offs))
		return 0;
	return rec_len;
}

/* Searches the blocks of one checked directory page for @name. */
static struct mpagefs_dirent *mpagefs_search_page(struct inode *dir,
						  char *kaddr,
						  unsigned int last,
						  const struct qstr *name)
{
	const unsigned int bs = dir->i_sb->s_blocksize;
	unsigned int boffs, offs, rec_len;

	for (boffs = 0; boffs < last; boffs += bs) {
		char *block = kaddr + boffs;

		for (offs = 0; offs < bs; offs += rec_len) {
			struct mpagefs_dirent *de =
				(struct mpagefs_dirent *)(block + offs);

			rec_len = mpagefs_rec_len(bs, block, offs);
			if (!rec_len)
				break;
			if (mpagefs_match(de, name))
				return de;
		}
	}
	return NULL;
}

/**
 * mpagefs_find_dirent() - find the record of a name in a directory
 * @dir: the directory
 * @name: the name
 * @foliop: receives the directory page holding the record
 *
 * As ext2_find_entry(), the search starts at the page where the previous
 * one succeeded (lookups in readdir order find each name on the first
 * page they look at) and wraps around.  Every page it reads is validated
 * first (mpagefs_get_dir_folio()), so the caller may change the record it
 * gets.
 *
 * Return: the record, inside *@foliop, mapped (release with
 * folio_release_kmap(*@foliop, record), nested as kmap_local_folio()
 * requires), or an ERR_PTR: -ENOENT if there is none, -EUCLEAN for a
 * corrupt directory, -EIO.
 */
struct mpagefs_dirent *mpagefs_find_dirent(struct inode *dir,
					   const struct qstr *name,
					   struct folio **foliop)
{
	struct mpagefs_inode_info *ei = MPAGEFS_I(dir);
	unsigned long npages = dir_pages(dir);
	struct file_ra_state ra;
	unsigned long start, n;

	if (!npages)
		return ERR_PTR(-ENOENT);
	file_ra_state_init(&ra, dir->i_mapping);
	start = READ_ONCE(ei->i_dir_start_lookup);
	if (start >= npages)
		start = 0;
	n = start;
	do {
		struct mpagefs_dirent *de;
		char *kaddr;

		if (fatal_signal_pending(current))
			return ERR_PTR(-ERESTARTSYS);
		cond_resched();
		mpagefs_dir_readahead(dir, &ra, NULL, n, npages);
		kaddr = mpagefs_get_dir_folio(dir, n, foliop);
		if (IS_ERR(kaddr))
			return ERR_CAST(kaddr);
		de = mpagefs_search_page(dir, kaddr,
					 mpagefs_dir_last_byte(dir, n), name);
		if (de) {
			WRITE_ONCE(ei->i_dir_start_lookup, n);
			return de;
		}
		folio_release_kmap(*foliop, kaddr);
		if (++n >= npages)
			n = 0;
	} while (n != start);
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
	struct folio *folio;

	de = mpagefs_find_dirent(dir, name, &folio);
	if (IS_ERR(de))
		return PTR_ERR(de);
	*ino = le32_to_cpu(de->inode);
	folio_release_kmap(folio, de);
	return 0;
}

/*
 * Looks for room for a record of @need bytes in the blocks of the locked,
 * checked directory page at @kaddr, @last bytes of it inside i_size.  On
 * success *@offs is the record to use or split, *@used the bytes of it to
 * keep (0 for a free record), *@rec_len its length; a block at or past
 * @last is a new block: *@rec_len is a whole block.  Returns 0, -ENOSPC
 * if the page has no room, -EEXIST if the name is there, or -EUCLEAN.
 */
static int mpagefs_find_room(struct inode *dir, char *kaddr,
			     unsigned int last, const struct qstr *name,
			     unsigned int *offs, unsigned int *used,
			     unsigned int *rec_len)
{
	const unsigned int bs = dir->i_sb->s_blocksize;
	unsigned int need = MPAGEFS_DIRENT_LEN(name->len);
	unsigned int boffs, o, len, keep;

	for (boffs = 0; boffs < PAGE_SIZE; boffs += bs) {
		char *block = kaddr + boffs;

		if (boffs >= last) {
			*offs = boffs;
			*used = 0;
			*rec_len = bs;
			return 0;
		}
		for (o = 0; o < bs; o += len) {
			struct mpagefs_dirent *de =
				(struct mpagefs_dirent *)(block + o);

			len = mpagefs_rec_len(bs, block, o);
			if (!len)
				return -EUCLEAN;
			if (mpagefs_match(de, name))
				return -EEXIST;
			keep = de->inode ? MPAGEFS_DIRENT_LEN(de->name_len) : 0;
			if (len >= keep + need) {
				*offs = boffs + o;
				*used = keep;
				*rec_len = len;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

/**
 * mpagefs_add_link() - add a record for a dentry's name to its directory
 * @dentry: the new name, in a directory whose i_rwsem the caller holds
 * @inode: the inode the name is to refer to
 *
 * Like ext2_add_link(): the first free record large enough is used, or a
 * record with enough slack after its name is split; failing both, the
 * block after the last one is added to the directory (allocated by
 * mpagefs_prepare_chunk()).  The directory's mtime and ctime are updated.
 * Positions of existing records never move, so readdir offsets (telldir
 * cookies) stay valid.
 *
 * Return: 0, -EEXIST if the name is there already, -ENAMETOOLONG, -EFBIG,
 * -ENOSPC when no block can be allocated, -EUCLEAN for a corrupt
 * directory, -EIO.
 */
int mpagefs_add_link(struct dentry *dentry, struct inode *inode)
{
	struct inode *dir = d_inode(dentry->d_parent);
	const struct qstr *name = &dentry->d_name;
	struct super_block *sb = dir->i_sb;
	unsigned int need = MPAGEFS_DIRENT_LEN(name->len);
	unsigned long npages = dir_pages(dir);
	unsigned int offs = 0, used = 0, rec_len = 0;
	struct mpagefs_dirent *de;
	struct folio *folio;
	unsigned long n;
	char *kaddr;
	loff_t pos;
	int err;

	if (name->len > MPAGEFS_NAME_LEN)
		return -ENAMETOOLONG;
	/* page npages lies past i_size: its first block is a new one */
	for (n = 0; n <= npages; n++) {
		if (fatal_signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
		kaddr = mpagefs_get_dir_folio(dir, n, &folio);
		if (IS_ERR(kaddr))
			return PTR_ERR(kaddr);
		folio_lock(folio);
		err = mpagefs_find_room(dir, kaddr, mpagefs_dir_last_byte(dir, n),
					name, &offs, &used, &rec_len);
		if (err != -ENOSPC)
			break;
		folio_unlock(folio);
		folio_release_kmap(folio, kaddr);
	}
	/* cannot happen: the first block of page npages is a new one */
	if (n > npages)
		return -EIO;
	if (err)
		goto out_unlock;

	pos = folio_pos(folio) + offs;
	if (pos >= dir->i_size && pos + sb->s_blocksize > sb->s_maxbytes) {
		err = -EFBIG;
		goto out_unlock;
	}
	err = mpagefs_prepare_chunk(folio, pos, rec_len);
	if (err)
		goto out_unlock;
	de = (struct mpagefs_dirent *)(kaddr + offs);
	if (pos >= dir->i_size) {
		/* whatever the page held past i_size, nothing of it is ours */
		memset(de, 0, rec_len);
		de->rec_len = cpu_to_le16(rec_len);
	}
	if (used) {
		struct mpagefs_dirent *de1 = (struct mpagefs_dirent *)
					      ((char *)de + used);

		de1->rec_len = cpu_to_le16(rec_len - used);
		de->rec_len = cpu_to_le16(used);
		de = de1;
	}
	de->name_len = name->len;
	de->file_type = fs_umode_to_ftype(inode->i_mode);
	memcpy(de->name, name->name, name->len);
	memset(de->name + name->len, 0,
	       need - MPAGEFS_DIRENT_HEADER - name->len);
	de->inode = cpu_to_le32(inode->i_ino);
	mpagefs_commit_chunk(folio, pos, rec_len);
	err = mpagefs_dir_changed(dir, true);
	folio_release_kmap(folio, kaddr);
	return err;

out_unlock:
	folio_unlock(folio);
	folio_release_kmap(folio, kaddr);
	return err;
}

/**
 * mpagefs_delete_entry() - remove a record from a directory
 * @dir: the directory, i_rwsem held
 * @de: the record, as found by mpagefs_find_dirent()
 * @folio: the directory page holding @de
 *
 * As ext2_delete_entry() does, the record is merged into the one before it
 * in the block; the first record of a block is marked free (inode 0)
 * instead.  Records after it do not move, so readdir offsets stay valid: a
 * position at the deleted record resumes at the record after it.
 * Trailing blocks left empty are given back by mpagefs_dir_trim(), which
 * the caller calls once it has released @folio.
 *
 * Return: 0, -EUCLEAN if @de is not a record of its block, or an error of
 * a DIRSYNC directory.
 */
int mpagefs_delete_entry(struct inode *dir, struct mpagefs_dirent *de,
			 struct folio *folio)
{
	struct super_block *sb = dir->i_sb;
	unsigned int target = offset_in_folio(folio, de);
	unsigned int bstart = target & ~(sb->s_blocksize - 1);
	char *block = (char *)de - (target - bstart);
	struct mpagefs_dirent *pde = NULL;
	struct mpagefs_dir_rec rec = {};
	unsigned int offs, from, to;
	loff_t pos;
	int err;

	for (offs = 0; offs < target - bstart; offs += rec.rec_len) {
		if (!mpagefs_read_rec(sb, block, offs, &rec))
			break;
		pde = (struct mpagefs_dirent *)(block + offs);
	}
	if (offs != target - bstart) {
		mpagefs_inode_error(dir, "record to delete at offset %lld (block %lld) is not on the record chain",
				    folio_pos(folio) + target,
				    (folio_pos(folio) + target) >> dir->i_blkbits);
		return -EUCLEAN;
	}
	from = pde ? (char *)pde - block + bstart : target;
	to = target + le16_to_cpu(de->rec_len);
	pos = folio_pos(folio) + from;
	folio_lock(folio);
	err = mpagefs_prepare_chunk(folio, pos, to - from);
	if (err) {
		folio_unlock(folio);
		return err;
	}
	if (pde)
		pde->rec_len = cpu_to_le16(to - from);
	de->inode = 0;
	mpagefs_commit_chunk(folio, pos, to - from);
	return mpagefs_dir_changed(dir, true);
}

/**
 * mpagefs_set_link() - make a directory record refer to another inode
 * @dir: the directory holding the record
 * @de: the record, as found by mpagefs_find_dirent() or mpagefs_dotdot()
 * @folio: the directory page holding @de
 * @inode: the inode the record is to refer to
 * @update_times: also update @dir's mtime and ctime (not for the ".." of a
 *	directory moved by rename, which does not change what it lists)
 *
 * Return: 0, or an error of the page or of a DIRSYNC directory.
 */
int mpagefs_set_link(struct inode *dir, struct mpagefs_dirent *de,
		     struct folio *folio, struct inode *inode,
		     bool update_times)
{
	loff_t pos = folio_pos(folio) + offset_in_folio(folio, de);
	unsigned int len = le16_to_cpu(de->rec_len);
	int err;

	folio_lock(folio);
	err = mpagefs_prepare_chunk(folio, pos, len);
	if (err) {
		folio_unlock(folio);
		return err;
	}
	de->inode = cpu_to_le32(inode->i_ino);
	de->file_type = fs_umode_to_ftype(inode->i_mode);
	mpagefs_commit_chunk(folio, pos, len);
	return mpagefs_dir_changed(dir, update_times);
}

/**
 * mpagefs_dotdot() - the ".." record of a directory
 * @dir: the directory
 * @foliop: receives the directory's first page
 *
 * The first block of a directory starts with "." and "..", as mkfs and
 * mpagefs_make_empty() write it.
 *
 * Return: the ".." record inside *@foliop, mapped (release with
 * folio_release_kmap()), or an ERR_PTR: -EUCLEAN if the block does not
 * start with "." and "..", -EIO.
 */
struct mpagefs_dirent *mpagefs_dotdot(struct inode *dir, struct folio **foliop)
{
	struct super_block *sb = dir->i_sb;
	struct mpagefs_dir_rec dot, dotdot;
	char *kaddr;

	kaddr = mpagefs_get_dir_folio(dir, 0, foliop);
	if (IS_ERR(kaddr))
		return ERR_CAST(kaddr);
	if (mpagefs_parse_rec(sb, kaddr, 0, &dot) ||
	    dot.name_len != 1 || dot.name[0] != '.' ||
	    mpagefs_parse_rec(sb, kaddr, dot.rec_len, &dotdot) ||
	    !dotdot.ino || dotdot.name_len != 2 || memcmp(dotdot.name, "..", 2)) {
		mpagefs_inode_error(dir, "the first directory block does not start with \".\" and \"..\"");
		folio_release_kmap(*foliop, kaddr);
		return ERR_PTR(-EUCLEAN);
	}
	return (struct mpagefs_dirent *)(kaddr + dot.rec_len);
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
	struct folio *folio;
	char *kaddr;
	int err;

	folio = filemap_grab_folio(inode->i_mapping, 0);
	if (IS_ERR(folio))
		return PTR_ERR(folio);
	err = mpagefs_prepare_chunk(folio, 0, sb->s_blocksize);
	if (err) {
		folio_unlock(folio);
		goto out;
	}
	kaddr = kmap_local_folio(folio, 0);
	memset(kaddr, 0, sb->s_blocksize);
	de = (struct mpagefs_dirent *)kaddr;
	de->inode = cpu_to_le32(inode->i_ino);
	de->rec_len = cpu_to_le16(dot_len);
	de->name_len = 1;
	de->file_type = MPAGEFS_FT_DIR;
	de->name[0] = '.';
	de = (struct mpagefs_dirent *)(kaddr + dot_len);
	de->inode = cpu_to_le32(parent->i_ino);
	de->rec_len = cpu_to_le16(sb->s_blocksize - dot_len);
	de->name_len = 2;
	de->file_type = MPAGEFS_FT_DIR;
	de->name[0] = '.';
	de->name[1] = '.';
	kunmap_local(kaddr);
	mpagefs_commit_chunk(folio, 0, sb->s_blocksize);
	err = mpagefs_dir_changed(inode, false);
out:
	folio_put(folio);
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
	const unsigned int bs = sb->s_blocksize;
	unsigned long npages = dir_pages(inode);
	struct mpagefs_dir_rec rec;
	struct file_ra_state ra;
	unsigned long n;

	file_ra_state_init(&ra, inode->i_mapping);
	for (n = 0; n < npages; n++) {
		unsigned int last, boffs, offs;
		struct folio *folio;
		char *kaddr;
		int err = 0;

		if (fatal_signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
		mpagefs_dir_readahead(inode, &ra, NULL, n, npages);
		kaddr = mpagefs_get_dir_folio(inode, n, &folio);
		if (IS_ERR(kaddr))
			return PTR_ERR(kaddr);
		last = mpagefs_dir_last_byte(inode, n);
		for (boffs = 0; boffs < last && !err; boffs += bs)
			for (offs = 0; offs < bs && !err; offs += rec.rec_len) {
				bool dot, dotdot;

				if (!mpagefs_read_rec(sb, kaddr + boffs, offs,
						      &rec)) {
					err = -EUCLEAN;
					break;
				}
				if (!rec.ino)
					continue;
				dot = rec.name_len == 1 && rec.name[0] == '.' &&
				      rec.ino == inode->i_ino;
				dotdot = rec.name_len == 2 &&
					 !memcmp(rec.name, "..", 2);
				if (!dot && !dotdot)
					err = -ENOTEMPTY;
			}
		folio_release_kmap(folio, kaddr);
		if (err)
			return err;
	}
	return 0;
}

/**
 * mpagefs_dir_trim() - give back the empty blocks at the end of a directory
 * @dir: the directory, its i_rwsem held exclusively
 *
 * ext2 never shrinks a directory; mpagefs gives back the blocks at its end
 * that hold no record in use (a block whose names were all removed is one
 * free record spanning the block), down to block 0, which holds "." and
 * "..".  As a truncate: i_size is lowered first, the page cache past it
 * dropped (truncate_pagecache() waits for writeback of those pages), then
 * the blocks and any indirect block left empty are freed
 * (mpagefs_truncate_blocks(), under i_map_sem).  Readdir and lookup hold
 * i_rwsem shared, so none of them runs meanwhile; a readdir position past
 * the new end ends the listing, and no record before it moves.  A page
 * that cannot be read or is corrupt stops the trim where it is.
 *
 * Return: 0, or an error of a DIRSYNC directory.
 */
int mpagefs_dir_trim(struct inode *dir)
{
	struct super_block *sb = dir->i_sb;
	const unsigned int bs = sb->s_blocksize;
	u64 nblocks = dir->i_size >> dir->i_blkbits;
	u64 keep = nblocks;
	loff_t size;

	while (keep > 1) {
		loff_t pos = (loff_t)(keep - 1) << dir->i_blkbits;
		struct mpagefs_dir_rec rec;
		struct folio *folio;
		bool empty = true;
		unsigned int offs;
		char *kaddr;

		kaddr = mpagefs_get_dir_folio(dir, pos >> PAGE_SHIFT, &folio);
		if (IS_ERR(kaddr))
			break;
		for (offs = 0; offs < bs && empty; offs += rec.rec_len)
			if (!mpagefs_read_rec(sb, kaddr + (pos & ~PAGE_MASK),
					      offs, &rec) || rec.ino)
				empty = false;
		folio_release_kmap(folio, kaddr);
		if (!empty)
			break;
		keep--;
	}
	if (keep == nblocks)
		return 0;
	size = (loff_t)keep << dir->i_blkbits;
	i_size_write(dir, size);
	truncate_pagecache(dir, size);
	mpagefs_truncate_blocks(dir, size);
	return mpagefs_dir_changed(dir, false);
}

const struct file_operations mpagefs_dir_operations = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= mpagefs_readdir,
	.fsync		= generic_file_fsync,
};
