// SPDX-License-Identifier: GPL-2.0
/*
 * super.c - mounting mpagefs: the fs_context mount API and its options,
 * reading and validating the superblock, writing it back (state, free
 * counts, times) at sync and unmount, statfs, the inode cache and the
 * module's init/exit.
 *
 * As in ext2, a read-write mount clears MPAGEFS_STATE_CLEAN on disk and a
 * clean unmount (or remount read-only) puts back the state found at mount
 * time, so a crash leaves the filesystem marked as not cleanly unmounted.
 * Corruption goes through mpagefs_error(), which records it on disk and
 * applies the errors= policy (continue, remount-ro or panic).
 */

#include <linux/blkdev.h>
#include <linux/crc32.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/timekeeping.h>

#include "mpagefs.h"

static struct kmem_cache *mpagefs_inode_cachep;

/**
 * mpagefs_msg() - log one line about a filesystem
 * @sb: the filesystem
 * @level: KERN_ERR (or more severe), KERN_WARNING or KERN_INFO
 * @fmt: printf-style message
 *
 * Prints "mpagefs (<dev>): <message>".
 */
void mpagefs_msg(struct super_block *sb, const char *level,
		 const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	switch (printk_get_level(level)) {
	case '0' ... '3':
		pr_err("mpagefs (%s): %pV\n", sb->s_id, &vaf);
		break;
	case '4':
		pr_warn("mpagefs (%s): %pV\n", sb->s_id, &vaf);
		break;
	default:
		pr_info("mpagefs (%s): %pV\n", sb->s_id, &vaf);
		break;
	}
	va_end(args);
}

/*
 * Seals the superblock and remembers the seal: the caller holds the lock of
 * its buffer.
 */
static void mpagefs_super_csum_set(struct mpagefs_sb_info *sbi)
{
	struct mpagefs_super_block *es = sbi->s_es;

	/* standard CRC32C: seed ~0, final inversion */
	es->s_checksum = cpu_to_le32(~__crc32c_le(~0U, (const u8 *)es,
						  MPAGEFS_SUPER_CSUM_OFFSET));
	sbi->s_sb_csum = le32_to_cpu(es->s_checksum);
}

/*
 * Writes the buffer of block 0 now and waits; a failed write is logged and
 * the buffer kept up to date (its data is still the truth in memory).
 */
static int mpagefs_write_sbh(struct super_block *sb, blk_opf_t op_flags)
{
	struct buffer_head *sbh = MPAGEFS_SB(sb)->s_sbh;

	__sync_dirty_buffer(sbh, op_flags);
	if (!buffer_write_io_error(sbh))
		return 0;
	mpagefs_msg(sb, KERN_ERR, "I/O error writing the superblock");
	clear_buffer_write_io_error(sbh);
	set_buffer_uptodate(sbh);
	return -EIO;
}

/*
 * Records MPAGEFS_STATE_ERRORS in block 0 and writes it at once, as
 * ext2_error() does, so that fsck and the next mount know even if the
 * system goes down before the next sync.  Only s_state and the checksum
 * change: the free counts stay what the last sync stored, which needs no
 * s_alloc_lock (the caller may hold it).
 */
static void mpagefs_mark_errors(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_super_block *es = sbi->s_es;
	bool recorded;

	if (!sbi->s_sbh || !es)
		return;
	lock_buffer(sbi->s_sbh);
	recorded = le32_to_cpu(es->s_state) & MPAGEFS_STATE_ERRORS;
	if (!recorded) {
		es->s_state |= cpu_to_le32(MPAGEFS_STATE_ERRORS);
		mpagefs_super_csum_set(sbi);
	}
	unlock_buffer(sbi->s_sbh);
	if (recorded)
		return;
	mark_buffer_dirty(sbi->s_sbh);
	mpagefs_write_sbh(sb, REQ_SYNC);
}

/**
 * mpagefs_error() - report corruption and apply the errors= policy
 * @sb: the filesystem
 * @fmt: printf-style message; it names the inode, block or field
 *
 * The one place that reports corruption, as ext2_error().  On a read-write
 * mount, MPAGEFS_STATE_ERRORS is recorded in the superblock, which is
 * written at once.  The message, "mpagefs (<dev>): <message>", is rate
 * limited per mount, because fs/mpage.c retries a failed mapping buffer
 * by buffer.  Then the policy of the mount option errors= (by default the
 * superblock's s_errors): continue returns to the caller, which fails its
 * operation with -EUCLEAN; remount-ro also makes the filesystem read-only
 * (as ext2, by setting SB_RDONLY: opening for write, creating and
 * remounting read-write need CAP_SYS_ADMIN's remount from then on);
 * panic panics the kernel.
 *
 * Context: process context, may sleep (it writes block 0).  Callers may
 * hold page locks, i_map_sem and s_alloc_lock (the lock order is in
 * file.c), never the buffer lock of block 0.
 */
void mpagefs_error(struct super_block *sb, const char *fmt, ...)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	u32 policy = READ_ONCE(sbi->s_opts.errors);
	struct va_format vaf;
	va_list args;

	if (!sb_rdonly(sb))
		mpagefs_mark_errors(sb);
	if (__ratelimit(&sbi->s_err_ratelimit)) {
		va_start(args, fmt);
		vaf.fmt = fmt;
		vaf.va = &args;
		pr_err("mpagefs (%s): %pV\n", sb->s_id, &vaf);
		va_end(args);
	}
	if (policy == MPAGEFS_ERRORS_PANIC)
		panic("mpagefs (%s): panic forced after error\n", sb->s_id);
	if (policy == MPAGEFS_ERRORS_RO && !sb_rdonly(sb)) {
		mpagefs_msg(sb, KERN_CRIT,
			    "error: remounting filesystem read-only");
		sb->s_flags |= SB_RDONLY;
	}
}

/**
 * mpagefs_read_meta() - read a metadata block through the buffer cache
 * @sb: the filesystem
 * @blocknr: the block
 * @cached: if not NULL, set to true when the block was already up to date
 *	(no I/O was issued)
 *
 * With the mount option reqmeta=on, metadata reads are tagged REQ_META,
 * so block traces show them as "RM"; by default they are plain reads, as
 * ext2's are, which the block layer may merge with adjacent file data.
 *
 * Return: the buffer (release with brelse()) or an ERR_PTR.
 */
struct buffer_head *mpagefs_read_meta(struct super_block *sb, u32 blocknr,
				      bool *cached)
{
	const struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct buffer_head *bh = sb_getblk(sb, blocknr);
	int ret;

	if (unlikely(!bh))
		return ERR_PTR(-ENOMEM);
	ret = bh_read(bh, sbi && READ_ONCE(sbi->s_opts.reqmeta) ? REQ_META : 0);
	if (ret < 0) {
		brelse(bh);
		mpagefs_msg(sb, KERN_ERR, "I/O error reading block %u",
			    blocknr);
		return ERR_PTR(-EIO);
	}
	if (cached)
		*cached = ret == 1;
	return bh;
}

/* --- inode cache ----------------------------------------------------- */

static struct inode *mpagefs_alloc_inode(struct super_block *sb)
{
	struct mpagefs_inode_info *ei;

	ei = alloc_inode_sb(sb, mpagefs_inode_cachep, GFP_KERNEL);
	if (!ei)
		return NULL;
	/* the cache's objects are reused: no hint of an earlier inode */
	ei->i_next_alloc_block = 0;
	ei->i_next_alloc_goal = 0;
	ei->i_first_goal = 0;
	ei->i_dir_start_lookup = 0;
	ei->i_dir_bad = 0;
	return &ei->vfs_inode;
}

static void mpagefs_free_inode(struct inode *inode)
{
	kmem_cache_free(mpagefs_inode_cachep, MPAGEFS_I(inode));
}

static void mpagefs_init_once(void *foo)
{
	struct mpagefs_inode_info *ei = foo;

	init_rwsem(&ei->i_map_sem);
	inode_init_once(&ei->vfs_inode);
}

static int __init mpagefs_init_inodecache(void)
{
	mpagefs_inode_cachep = kmem_cache_create_usercopy("mpagefs_inode_cache",
				sizeof(struct mpagefs_inode_info), 0,
				SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
				offsetof(struct mpagefs_inode_info, i_data),
				sizeof_field(struct mpagefs_inode_info, i_data),
				mpagefs_init_once);
	return mpagefs_inode_cachep ? 0 : -ENOMEM;
}

static void mpagefs_destroy_inodecache(void)
{
	/* make sure all delayed RCU frees of inodes are done */
	rcu_barrier();
	kmem_cache_destroy(mpagefs_inode_cachep);
}

/* --- writing the superblock ----------------------------------------- */

/**
 * mpagefs_sync_super() - write the superblock to block 0
 * @sb: the filesystem, mounted read-write
 * @wait: write it now, with a cache flush before and FUA, so that it and
 *	everything written before it are on stable storage when this returns
 *
 * Stores the free counts kept under s_alloc_lock (as ext2_sync_super()
 * stores its counters), a fresh s_write_time and the checksum into the
 * pinned buffer of block 0 and marks it dirty.
 *
 * Return: 0 or -EIO.
 */
int mpagefs_sync_super(struct super_block *sb, bool wait)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_super_block *es = sbi->s_es;

	/* lock order: s_alloc_lock, then the buffer lock */
	mutex_lock(&sbi->s_alloc_lock);
	lock_buffer(sbi->s_sbh);
	es->s_free_blocks_count = cpu_to_le32(sbi->s_free_blocks);
	es->s_free_inodes_count = cpu_to_le32(sbi->s_free_inodes);
	es->s_write_time = cpu_to_le64(ktime_get_real_seconds());
	mpagefs_super_csum_set(sbi);
	unlock_buffer(sbi->s_sbh);
	mutex_unlock(&sbi->s_alloc_lock);
	mark_buffer_dirty(sbi->s_sbh);
	if (!wait)
		return 0;
	return mpagefs_write_sbh(sb, REQ_SYNC | REQ_PREFLUSH | REQ_FUA);
}

/*
 * Marks the filesystem in use on disk at a read-write (re)mount.  When
 * block 0 is not what mpagefs last read or wrote (its checksum tells), it
 * was rewritten underneath while read-only (fsck --repair), and the free
 * counts are taken from it.  Otherwise the in-core counts stay: after
 * errors=remount-ro they are newer than the last sync stored.
 */
static int mpagefs_setup_rw(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_super_block *es = sbi->s_es;
	u32 state = le32_to_cpu(READ_ONCE(es->s_state));
	u32 ro_compat = le32_to_cpu(READ_ONCE(es->s_feature_ro_compat));

	if (ro_compat & ~MPAGEFS_FEATURE_RO_COMPAT_SUPP) {
		mpagefs_msg(sb, KERN_ERR,
			    "cannot mount read-write: unsupported ro_compat features 0x%x",
			    ro_compat & ~MPAGEFS_FEATURE_RO_COMPAT_SUPP);
		return -EROFS;
	}
	if (!(state & MPAGEFS_STATE_CLEAN))
		mpagefs_msg(sb, KERN_WARNING,
			    "was not cleanly unmounted, running fsck is recommended");
	if (state & MPAGEFS_STATE_ERRORS)
		mpagefs_msg(sb, KERN_WARNING,
			    "filesystem has errors recorded, running fsck is recommended");
	mutex_lock(&sbi->s_alloc_lock);
	lock_buffer(sbi->s_sbh);
	if (le32_to_cpu(es->s_checksum) != sbi->s_sb_csum) {
		sbi->s_free_blocks = le32_to_cpu(es->s_free_blocks_count);
		sbi->s_free_inodes = le32_to_cpu(es->s_free_inodes_count);
	}
	state = le32_to_cpu(es->s_state);
	sbi->s_mount_state = state;
	es->s_state = cpu_to_le32(state & ~MPAGEFS_STATE_CLEAN);
	le32_add_cpu(&es->s_mount_count, 1);
	es->s_mount_time = cpu_to_le64(ktime_get_real_seconds());
	mpagefs_super_csum_set(sbi);
	unlock_buffer(sbi->s_sbh);
	mutex_unlock(&sbi->s_alloc_lock);
	return mpagefs_sync_super(sb, true);
}

/* Puts back the state found at mount time (plus new errors) on disk. */
static int mpagefs_release_rw(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_super_block *es = sbi->s_es;

	lock_buffer(sbi->s_sbh);
	es->s_state = cpu_to_le32(sbi->s_mount_state |
				  (le32_to_cpu(es->s_state) &
				   MPAGEFS_STATE_ERRORS));
	mpagefs_super_csum_set(sbi);
	unlock_buffer(sbi->s_sbh);
	return mpagefs_sync_super(sb, true);
}

/* --- superblock operations ------------------------------------------- */

/*
 * Inodes deleted by evict_inodes() at umount dirtied bitmaps after the
 * last sync_fs: write those before the superblock that says "clean".
 */
static void mpagefs_put_super(struct super_block *sb)
{
	/* no netlink command sees this mount from here on */
	mpagefs_unregister_mount(sb);
	mpagefs_faults_free(MPAGEFS_SB(sb));
	if (!sb_rdonly(sb)) {
		sync_blockdev(sb->s_bdev);
		mpagefs_release_rw(sb);
	}
	mpagefs_sysfs_unregister(sb);
	brelse(MPAGEFS_SB(sb)->s_sbh);
	MPAGEFS_SB(sb)->s_sbh = NULL;
}

/*
 * Data and inodes have been written by the VFS before this is called.
 * With @wait, the bitmaps, indirect blocks and inode table go out first,
 * then the superblock with a cache flush, so all of it is durable.
 */
static int mpagefs_sync_fs(struct super_block *sb, int wait)
{
	int err;

	if (sb_rdonly(sb))
		return 0;
	if (wait) {
		err = sync_blockdev(sb->s_bdev);
		if (err)
			return err;
	}
	return mpagefs_sync_super(sb, wait);
}

static int mpagefs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_super_block *es = sbi->s_es;
	u64 fsid;

	buf->f_type = MPAGEFS_MAGIC;
	buf->f_bsize = sb->s_blocksize;
	buf->f_blocks = sbi->s_blocks_count;
	buf->f_bfree = READ_ONCE(sbi->s_free_blocks);
	buf->f_bavail = buf->f_bfree;
	buf->f_files = sbi->s_inodes_count;
	buf->f_ffree = READ_ONCE(sbi->s_free_inodes);
	buf->f_namelen = MPAGEFS_NAME_LEN;
	fsid = get_unaligned_le64(es->s_uuid) ^
	       get_unaligned_le64(es->s_uuid + sizeof(u64));
	buf->f_fsid = u64_to_fsid(fsid);
	return 0;
}

/* The policy of a superblock's s_errors: ext2's rule, RO unless 1 or 3. */
static u32 mpagefs_errors_default(const struct mpagefs_super_block *es)
{
	u32 errors = le32_to_cpu(READ_ONCE(es->s_errors));

	if (errors == MPAGEFS_ERRORS_CONTINUE || errors == MPAGEFS_ERRORS_PANIC)
		return errors;
	return MPAGEFS_ERRORS_UNSET;
}

static const char *mpagefs_errors_name(u32 errors)
{
	switch (errors) {
	case MPAGEFS_ERRORS_CONTINUE:
		return "continue";
	case MPAGEFS_ERRORS_PANIC:
		return "panic";
	default:
		return "remount-ro";
	}
}

static int mpagefs_show_options(struct seq_file *seq, struct dentry *root)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(root->d_sb);
	u32 maxmap = READ_ONCE(sbi->s_opts.maxmap);
	u32 errors = READ_ONCE(sbi->s_opts.errors);

	if (!READ_ONCE(sbi->s_opts.boundary))
		seq_puts(seq, ",boundary=off");
	if (maxmap)
		seq_printf(seq, ",maxmap=%u", maxmap);
	if (READ_ONCE(sbi->s_opts.scatter))
		seq_puts(seq, ",alloc=scatter");
	if (READ_ONCE(sbi->s_opts.gb_uptodate))
		seq_puts(seq, ",gb_uptodate=on");
	if (READ_ONCE(sbi->s_opts.reqmeta))
		seq_puts(seq, ",reqmeta=on");
	if (READ_ONCE(sbi->s_opts.truncate_wb))
		seq_puts(seq, ",truncate_wb=on");
	if (!READ_ONCE(sbi->s_opts.stats))
		seq_puts(seq, ",stats=off");
	/* as ext2: errors= only when it is not the superblock's default */
	if (errors != mpagefs_errors_default(sbi->s_es))
		seq_printf(seq, ",errors=%s", mpagefs_errors_name(errors));
	return 0;
}

static const struct super_operations mpagefs_sops = {
	.alloc_inode	= mpagefs_alloc_inode,
	.free_inode	= mpagefs_free_inode,
	.write_inode	= mpagefs_write_inode,
	.evict_inode	= mpagefs_evict_inode,
	.put_super	= mpagefs_put_super,
	.sync_fs	= mpagefs_sync_fs,
	.statfs		= mpagefs_statfs,
	.show_options	= mpagefs_show_options,
};

/* --- superblock validation ------------------------------------------- */

/* Logs why the superblock is refused; returns -EUCLEAN for convenience. */
static __printf(2, 3)
int mpagefs_bad_super(struct super_block *sb, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("mpagefs (%s): %pV\n", sb->s_id, &vaf);
	va_end(args);
	return -EUCLEAN;
}

/*
 * Checks that the region [start, start + len) of at least @min_len blocks
 * begins at or after *@next and ends inside the filesystem, then moves
 * *@next past it: regions come in order and never overlap.
 */
static int mpagefs_check_region(struct super_block *sb, const char *name,
				u32 start, u32 len, u64 min_len,
				u32 blocks_count, u64 *next)
{
	u64 end = (u64)start + len;

	if (len < min_len)
		return mpagefs_bad_super(sb, "%s has %u blocks, needs %llu",
					 name, len, min_len);
	if (start < *next)
		return mpagefs_bad_super(sb, "%s at block %u overlaps the region before it (which ends at block %llu)",
					 name, start, *next);
	if (end > blocks_count)
		return mpagefs_bad_super(sb, "%s (blocks %u..%llu) extends past s_blocks_count %u",
					 name, start, end - 1, blocks_count);
	*next = end;
	return 0;
}

/*
 * Validates every field of the on-disk superblock @es.  A wrong magic
 * number means "not an mpagefs" (-EINVAL, an info line when @silent); anything
 * else is corruption (-EUCLEAN) and logs one line naming the field.
 */
static int mpagefs_check_super(struct super_block *sb,
			       const struct mpagefs_super_block *es,
			       bool silent)
{
	u32 magic = le32_to_cpu(es->s_magic);
	u32 stored = le32_to_cpu(es->s_checksum);
	u32 computed, log, bs, blocks, inodes, incompat, first_data, root;
	u64 dev_blocks, next = MPAGEFS_SUPER_BLOCKNR + 1;
	int err;

	if (magic != MPAGEFS_MAGIC) {
		/*
		 * As ext2: a silent mount (MS_SILENT: mount(8) trying one
		 * type after another; busybox mount always sets it) says
		 * nothing about a device that is not an mpagefs.
		 */
		if (!silent)
			mpagefs_msg(sb, KERN_ERR,
				    "not an mpagefs (magic 0x%08x, expected 0x%08x)",
				    magic, MPAGEFS_MAGIC);
		return -EINVAL;
	}
	/* standard CRC32C: seed ~0, final inversion */
	computed = ~__crc32c_le(~0U, (const u8 *)es,
				MPAGEFS_SUPER_CSUM_OFFSET);
	if (computed != stored)
		return mpagefs_bad_super(sb, "superblock checksum mismatch (stored 0x%08x, computed 0x%08x)",
					 stored, computed);
	if (le32_to_cpu(es->s_version) != MPAGEFS_VERSION)
		return mpagefs_bad_super(sb, "unsupported version %u (expected %u)",
					 le32_to_cpu(es->s_version),
					 MPAGEFS_VERSION);
	log = le32_to_cpu(es->s_log_block_size);
	if (log < MPAGEFS_MIN_BLOCK_LOG || log > MPAGEFS_MAX_BLOCK_LOG)
		return mpagefs_bad_super(sb, "bad block size: s_log_block_size %u (must be %d..%d, 1024..4096 bytes)",
					 log, MPAGEFS_MIN_BLOCK_LOG,
					 MPAGEFS_MAX_BLOCK_LOG);
	bs = 1U << log;
	if (le32_to_cpu(es->s_inode_size) != MPAGEFS_INODE_SIZE)
		return mpagefs_bad_super(sb, "bad s_inode_size %u (expected %d)",
					 le32_to_cpu(es->s_inode_size),
					 MPAGEFS_INODE_SIZE);
	incompat = le32_to_cpu(es->s_feature_incompat);
	if (incompat & ~MPAGEFS_FEATURE_INCOMPAT_SUPP)
		return mpagefs_bad_super(sb, "unsupported incompat features 0x%x",
					 incompat & ~MPAGEFS_FEATURE_INCOMPAT_SUPP);
	/* unknown ro_compat features refuse read-write: mpagefs_setup_rw() */

	blocks = le32_to_cpu(es->s_blocks_count);
	inodes = le32_to_cpu(es->s_inodes_count);
	dev_blocks = bdev_nr_bytes(sb->s_bdev) >> log;
	if (blocks > dev_blocks)
		return mpagefs_bad_super(sb, "s_blocks_count %u is larger than the device (%llu blocks of %u bytes)",
					 blocks, dev_blocks, bs);
	if (!inodes)
		return mpagefs_bad_super(sb, "s_inodes_count is 0");

	err = mpagefs_check_region(sb, "block bitmap",
				   le32_to_cpu(es->s_block_bitmap),
				   le32_to_cpu(es->s_block_bitmap_blocks),
				   DIV_ROUND_UP((u64)blocks, 8ULL * bs),
				   blocks, &next);
	if (err)
		return err;
	err = mpagefs_check_region(sb, "inode bitmap",
				   le32_to_cpu(es->s_inode_bitmap),
				   le32_to_cpu(es->s_inode_bitmap_blocks),
				   DIV_ROUND_UP((u64)inodes, 8ULL * bs),
				   blocks, &next);
	if (err)
		return err;
	err = mpagefs_check_region(sb, "inode table",
				   le32_to_cpu(es->s_inode_table),
				   le32_to_cpu(es->s_inode_table_blocks),
				   DIV_ROUND_UP((u64)inodes * MPAGEFS_INODE_SIZE,
						bs),
				   blocks, &next);
	if (err)
		return err;
	first_data = le32_to_cpu(es->s_first_data_block);
	if (first_data != next)
		return mpagefs_bad_super(sb, "s_first_data_block %u is not the end of the inode table (%llu)",
					 first_data, next);
	if (first_data >= blocks)
		return mpagefs_bad_super(sb, "no data blocks (s_first_data_block %u, s_blocks_count %u)",
					 first_data, blocks);
	/*
	 * The free counts are capped by what can be free: the data area
	 * less the root directory's block, every inode but the root.  A
	 * larger count would send the allocator looking for blocks that
	 * cannot exist.
	 */
	if (le32_to_cpu(es->s_free_blocks_count) > blocks - first_data - 1)
		return mpagefs_bad_super(sb, "s_free_blocks_count %u > the %u blocks of the data area that can be free",
					 le32_to_cpu(es->s_free_blocks_count),
					 blocks - first_data - 1);
	if (le32_to_cpu(es->s_free_inodes_count) > inodes - 1)
		return mpagefs_bad_super(sb, "s_free_inodes_count %u > s_inodes_count %u less the root inode",
					 le32_to_cpu(es->s_free_inodes_count),
					 inodes);
	root = le32_to_cpu(es->s_root_ino);
	if (root != MPAGEFS_ROOT_INO)
		return mpagefs_bad_super(sb, "bad s_root_ino %u (expected %d)",
					 root, MPAGEFS_ROOT_INO);
	return 0;
}

/* Largest file the block map can address with blocks of 1 << @blkbits. */
static loff_t mpagefs_max_size(unsigned int blkbits)
{
	unsigned int bits = blkbits - 2;
	u64 blocks = MPAGEFS_NDIR_BLOCKS + (1ULL << bits) +
		     (1ULL << (2 * bits)) + (1ULL << (3 * bits));

	return min_t(u64, blocks << blkbits, MAX_LFS_FILESIZE);
}

/* --- mount options --------------------------------------------------- */

enum {
	Opt_boundary, Opt_maxmap, Opt_alloc, Opt_gb_uptodate, Opt_reqmeta,
	Opt_truncate_wb, Opt_stats, Opt_errors,
};

static const struct constant_table mpagefs_param_onoff[] = {
	{ "off",	0 },
	{ "on",		1 },
	{}
};

static const struct constant_table mpagefs_param_alloc[] = {
	{ "contig",	0 },
	{ "scatter",	1 },
	{}
};

static const struct constant_table mpagefs_param_errors[] = {
	{ "continue",	MPAGEFS_ERRORS_CONTINUE },
	{ "panic",	MPAGEFS_ERRORS_PANIC },
	{ "remount-ro",	MPAGEFS_ERRORS_RO },
	{}
};

static const struct fs_parameter_spec mpagefs_param_spec[] = {
	fsparam_enum("boundary", Opt_boundary, mpagefs_param_onoff),
	fsparam_u32("maxmap", Opt_maxmap),
	fsparam_enum("alloc", Opt_alloc, mpagefs_param_alloc),
	fsparam_enum("gb_uptodate", Opt_gb_uptodate, mpagefs_param_onoff),
	fsparam_enum("reqmeta", Opt_reqmeta, mpagefs_param_onoff),
	fsparam_enum("truncate_wb", Opt_truncate_wb, mpagefs_param_onoff),
	fsparam_enum("stats", Opt_stats, mpagefs_param_onoff),
	fsparam_enum("errors", Opt_errors, mpagefs_param_errors),
	{}
};

#define MPAGEFS_SPEC_BOUNDARY	BIT(0)
#define MPAGEFS_SPEC_MAXMAP	BIT(1)
#define MPAGEFS_SPEC_ALLOC	BIT(2)
#define MPAGEFS_SPEC_GB_UPTODATE	BIT(3)
#define MPAGEFS_SPEC_REQMETA	BIT(4)
#define MPAGEFS_SPEC_TRUNCATE_WB	BIT(5)
#define MPAGEFS_SPEC_ERRORS	BIT(6)
#define MPAGEFS_SPEC_STATS	BIT(7)

/*
 * The options of one mount or remount.  @spec records which were given,
 * so that a remount changes only those.
 */
struct mpagefs_fs_context {
	struct mpagefs_mount_opts opts;
	unsigned int spec;
};

static int mpagefs_parse_param(struct fs_context *fc,
			       struct fs_parameter *param)
{
	struct mpagefs_fs_context *ctx = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	/* -ENOPARAM lets the VFS handle "source" or refuse the option */
	opt = fs_parse(fc, mpagefs_param_spec, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case Opt_boundary:
		ctx->opts.boundary = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_BOUNDARY;
		break;
	case Opt_maxmap:
		if (result.uint_32 > MPAGEFS_MAXMAP_MAX)
			return invalfc(fc, "maxmap=%u is larger than %u",
				       result.uint_32, MPAGEFS_MAXMAP_MAX);
		ctx->opts.maxmap = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_MAXMAP;
		break;
	case Opt_alloc:
		ctx->opts.scatter = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_ALLOC;
		break;
	case Opt_gb_uptodate:
		ctx->opts.gb_uptodate = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_GB_UPTODATE;
		break;
	case Opt_reqmeta:
		ctx->opts.reqmeta = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_REQMETA;
		break;
	case Opt_truncate_wb:
		ctx->opts.truncate_wb = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_TRUNCATE_WB;
		break;
	case Opt_stats:
		ctx->opts.stats = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_STATS;
		break;
	case Opt_errors:
		ctx->opts.errors = result.uint_32;
		ctx->spec |= MPAGEFS_SPEC_ERRORS;
		break;
	default:
		return invalfc(fc, "unhandled option '%s'", param->key);
	}
	return 0;
}

/*
 * Reads block 0 at the current block size into the pinned sbi->s_sbh and
 * checks it.  On a read error s_sbh stays NULL; on a bad superblock it stays
 * set, for the caller's error path to release.
 */
static struct mpagefs_super_block *mpagefs_load_super(struct super_block *sb,
							int silent)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_super_block *es;
	int ret;

	sbi->s_sbh = mpagefs_read_meta(sb, MPAGEFS_SUPER_BLOCKNR, NULL);
	if (IS_ERR(sbi->s_sbh)) {
		ret = PTR_ERR(sbi->s_sbh);
		sbi->s_sbh = NULL;
		return ERR_PTR(ret);
	}
	es = (struct mpagefs_super_block *)sbi->s_sbh->b_data;
	ret = mpagefs_check_super(sb, es, silent);
	return ret ? ERR_PTR(ret) : es;
}

static int __mpagefs_fill_super(struct super_block *sb,
				struct fs_context *fc)
{
	struct mpagefs_fs_context *ctx = fc->fs_private;
	bool silent = fc->sb_flags & SB_SILENT;
	struct mpagefs_sb_info *sbi;
	struct mpagefs_super_block *es;
	struct inode *root;
	unsigned int log;
	int ret;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	/* freed by mpagefs_kill_sb(), also when this function fails */
	sb->s_fs_info = sbi;
	sbi->s_opts = ctx->opts;
	sbi->s_sb = sb;
	INIT_LIST_HEAD(&sbi->s_mounts);
	mpagefs_faults_init(sbi);
	mutex_init(&sbi->s_alloc_lock);
	atomic_set(&sbi->s_next_generation, (int)get_random_u32());
	ratelimit_state_init(&sbi->s_err_ratelimit, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);

	BUILD_BUG_ON(MPAGEFS_SUPER_SIZE > (1 << MPAGEFS_MIN_BLOCK_LOG));
	if (!sb_min_blocksize(sb, 1 << MPAGEFS_MIN_BLOCK_LOG)) {
		if (!silent)
			mpagefs_msg(sb, KERN_ERR, "unable to set the block size");
		return -EINVAL;
	}
	es = mpagefs_load_super(sb, silent);
	if (IS_ERR(es))
		return PTR_ERR(es);
	log = le32_to_cpu(es->s_log_block_size);
	if (sb->s_blocksize != (1UL << log)) {
		/* as ext2: the buffer of the old size goes, block 0 is re-read */
		brelse(sbi->s_sbh);
		sbi->s_sbh = NULL;
		if (!sb_set_blocksize(sb, 1 << log)) {
			mpagefs_msg(sb, KERN_ERR,
				    "block size %u is not supported by the device",
				    1U << log);
			return -EINVAL;
		}
		es = mpagefs_load_super(sb, silent);
		if (IS_ERR(es))
			return PTR_ERR(es);
		if (le32_to_cpu(es->s_log_block_size) != log)
			return mpagefs_bad_super(sb, "s_log_block_size changed while mounting");
	}
	sbi->s_es = es;
	if (!(ctx->spec & MPAGEFS_SPEC_ERRORS))
		sbi->s_opts.errors = mpagefs_errors_default(es);

	sbi->s_blocks_count = le32_to_cpu(es->s_blocks_count);
	sbi->s_inodes_count = le32_to_cpu(es->s_inodes_count);
	sbi->s_inode_table = le32_to_cpu(es->s_inode_table);
	sbi->s_first_data_block = le32_to_cpu(es->s_first_data_block);
	sbi->s_inodes_per_block = sb->s_blocksize / MPAGEFS_INODE_SIZE;
	sbi->s_addr_per_block_bits = log - 2;
	sbi->s_block_bitmap = le32_to_cpu(es->s_block_bitmap);
	sbi->s_inode_bitmap = le32_to_cpu(es->s_inode_bitmap);
	sbi->s_next_goal = sbi->s_first_data_block;
	sbi->s_free_blocks = le32_to_cpu(es->s_free_blocks_count);
	sbi->s_free_inodes = le32_to_cpu(es->s_free_inodes_count);
	sbi->s_sb_csum = le32_to_cpu(es->s_checksum);

	sb->s_magic = MPAGEFS_MAGIC;
	sb->s_op = &mpagefs_sops;
	sb->s_maxbytes = mpagefs_max_size(log);
	sb->s_time_gran = 1;
	sb->s_time_min = TIME64_MIN;
	sb->s_time_max = TIME64_MAX;
	sb->s_max_links = MPAGEFS_LINK_MAX;
	memcpy(&sb->s_uuid, es->s_uuid, sizeof(sb->s_uuid));
	if (sb_rdonly(sb) &&
	    (le32_to_cpu(es->s_state) & MPAGEFS_STATE_ERRORS))
		mpagefs_msg(sb, KERN_WARNING,
			    "filesystem has errors recorded, mounting anyway (read-only)");

	ret = mpagefs_sysfs_register(sb);
	if (ret)
		return ret;

	root = mpagefs_iget(sb, MPAGEFS_ROOT_INO);
	if (IS_ERR(root)) {
		ret = PTR_ERR(root);
		/* a corrupt inode has been logged by mpagefs_iget() */
		if (ret != -EUCLEAN)
			mpagefs_msg(sb, KERN_ERR,
				    "cannot read the root inode (error %d)", ret);
		goto out_sysfs;
	}
	if (!S_ISDIR(root->i_mode)) {
		mpagefs_msg(sb, KERN_ERR,
			    "root inode %d is not a directory (mode 0%o)",
			    MPAGEFS_ROOT_INO, root->i_mode);
		iput(root);
		ret = -EUCLEAN;
		goto out_sysfs;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root) {
		ret = -ENOMEM;
		goto out_sysfs;
	}
	if (!sb_rdonly(sb)) {
		ret = mpagefs_setup_rw(sb);
		if (ret)
			goto out_root;
	}
	mpagefs_register_mount(sb);
	return 0;

out_root:
	dput(sb->s_root);
	sb->s_root = NULL;

out_sysfs:
	mpagefs_sysfs_unregister(sb);
	return ret;
}

static int mpagefs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	int ret = __mpagefs_fill_super(sb, fc);
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);

	/* put_super releases it after a mount; kill_sb would be too late */
	if (ret && sbi) {
		brelse(sbi->s_sbh);
		sbi->s_sbh = NULL;
	}
	return ret;
}

static int mpagefs_get_tree(struct fs_context *fc)
{
	return get_tree_bdev(fc, mpagefs_fill_super);
}

/*
 * Before a read-only mount becomes read-write: block 0 may have been
 * rewritten underneath (fsck --repair through the block device), which the
 * pinned buffer shows.  It must still be a valid superblock of the same
 * layout, or the in-core geometry would lie.
 */
static int mpagefs_recheck_super(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_super_block *es;
	int ret;

	es = kmalloc(sizeof(*es), GFP_KERNEL);
	if (!es)
		return -ENOMEM;
	lock_buffer(sbi->s_sbh);
	memcpy(es, sbi->s_es, sizeof(*es));
	unlock_buffer(sbi->s_sbh);
	ret = mpagefs_check_super(sb, es, false);
	if (!ret &&
	    (le32_to_cpu(es->s_log_block_size) != sb->s_blocksize_bits ||
	     le32_to_cpu(es->s_blocks_count) != sbi->s_blocks_count ||
	     le32_to_cpu(es->s_inodes_count) != sbi->s_inodes_count ||
	     le32_to_cpu(es->s_block_bitmap) != sbi->s_block_bitmap ||
	     le32_to_cpu(es->s_inode_bitmap) != sbi->s_inode_bitmap ||
	     le32_to_cpu(es->s_inode_table) != sbi->s_inode_table ||
	     le32_to_cpu(es->s_first_data_block) != sbi->s_first_data_block))
		ret = mpagefs_bad_super(sb, "the superblock's layout changed while mounted read-only; unmount and mount again");
	kfree(es);
	return ret;
}

static int mpagefs_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	struct mpagefs_fs_context *ctx = fc->fs_private;
	bool to_ro = (fc->sb_flags & SB_RDONLY) && !sb_rdonly(sb);
	bool to_rw = !(fc->sb_flags & SB_RDONLY) && sb_rdonly(sb);
	int err;

	sync_filesystem(sb);
	if (to_ro) {
		err = mpagefs_release_rw(sb);
		if (err)
			return err;
	} else if (to_rw) {
		err = mpagefs_recheck_super(sb);
		if (err)
			return err;
		err = mpagefs_setup_rw(sb);
		if (err)
			return err;
	}
	if (ctx->spec & MPAGEFS_SPEC_ERRORS)
		WRITE_ONCE(sbi->s_opts.errors, ctx->opts.errors);
	if (ctx->spec & MPAGEFS_SPEC_ALLOC)
		WRITE_ONCE(sbi->s_opts.scatter, ctx->opts.scatter);
	if (ctx->spec & MPAGEFS_SPEC_BOUNDARY)
		WRITE_ONCE(sbi->s_opts.boundary, ctx->opts.boundary);
	if (ctx->spec & MPAGEFS_SPEC_MAXMAP)
		WRITE_ONCE(sbi->s_opts.maxmap, ctx->opts.maxmap);
	if (ctx->spec & MPAGEFS_SPEC_GB_UPTODATE)
		WRITE_ONCE(sbi->s_opts.gb_uptodate, ctx->opts.gb_uptodate);
	if (ctx->spec & MPAGEFS_SPEC_REQMETA)
		WRITE_ONCE(sbi->s_opts.reqmeta, ctx->opts.reqmeta);
	if (ctx->spec & MPAGEFS_SPEC_TRUNCATE_WB)
		WRITE_ONCE(sbi->s_opts.truncate_wb, ctx->opts.truncate_wb);
	if (ctx->spec & MPAGEFS_SPEC_STATS)
		WRITE_ONCE(sbi->s_opts.stats, ctx->opts.stats);
	return 0;
}

static void mpagefs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations mpagefs_context_ops = {
	.parse_param	= mpagefs_parse_param,
	.get_tree	= mpagefs_get_tree,
	.reconfigure	= mpagefs_reconfigure,
	.free		= mpagefs_free_fc,
};

static int mpagefs_init_fs_context(struct fs_context *fc)
{
	struct mpagefs_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->opts.boundary = true;
	ctx->opts.maxmap = 0;
	ctx->opts.stats = true;
	fc->fs_private = ctx;
	fc->ops = &mpagefs_context_ops;
	return 0;
}

static void mpagefs_kill_sb(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);

	kill_block_super(sb);
	if (sbi) {
		/* put_super did both, unless fill_super failed before them */
		mpagefs_unregister_mount(sb);
		mpagefs_faults_free(sbi);
		kfree(sbi);
	}
}

static struct file_system_type mpagefs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "mpagefs",
	.init_fs_context	= mpagefs_init_fs_context,
	.parameters		= mpagefs_param_spec,
	.kill_sb		= mpagefs_kill_sb,
	.fs_flags		= FS_REQUIRES_DEV,
};
MODULE_ALIAS_FS("mpagefs");

/* --- module ---------------------------------------------------------- */

static int __init mpagefs_init(void)
{
	int err;

	err = mpagefs_init_inodecache();
	if (err)
		return err;
	err = mpagefs_sysfs_init();
	if (err)
		goto out_cache;
	err = mpagefs_genl_init();
	if (err)
		goto out_sysfs;
	err = register_filesystem(&mpagefs_fs_type);
	if (err)
		goto out_genl;
	return 0;

out_genl:
	mpagefs_genl_exit();
out_sysfs:
	mpagefs_sysfs_exit();
out_cache:
	mpagefs_destroy_inodecache();
	return err;
}

static void __exit mpagefs_exit(void)
{
	unregister_filesystem(&mpagefs_fs_type);
	mpagefs_genl_exit();
	mpagefs_sysfs_exit();
	mpagefs_destroy_inodecache();
}

module_init(mpagefs_init);
module_exit(mpagefs_exit);

MODULE_AUTHOR("mpagefs authors");
MODULE_DESCRIPTION("mpagefs: a small ext2-like filesystem read through fs/mpage.c");
MODULE_LICENSE("GPL");
