/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mpagefs.h - in-core structures of mpagefs: superblock and inode info,
 * mount options, per-mount statistics and the prototypes shared by the
 * files of the module.  The on-disk format lives in mpagefs_fs.h, the list
 * of counters in counters.h.
 *
 * Errors, in every file: a function that returns a pointer returns the
 * object or an ERR_PTR(), never NULL (except where a VFS operation's
 * contract says NULL); one that returns a number returns it or a negative
 * errno.  No function reports an error through an argument.
 */
#ifndef MPAGEFS_H
#define MPAGEFS_H

#include <linux/atomic.h>
#include <linux/buffer_head.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "compat.h"
#include "mpagefs_fs.h"
#include "mpagefs_genl.h"

/**
 * struct mpagefs_mount_opts - options that change how blocks are mapped
 * @boundary: set BH_Boundary when a mapped run ends at the last pointer of
 *	its pointer block (mount option boundary=on|off)
 * @maxmap: most blocks one get_block call maps, 0 for no limit
 *	(mount option maxmap=N)
 * @scatter: allocate new blocks with a gap after each one, so that no two
 *	blocks written one after the other are adjacent on disk
 *	(mount option alloc=scatter; alloc=contig is the default)
 * @gb_uptodate: get_block copies the block into the page when fs/mpage.c's
 *	read path asks, as filesystems that copy data in get_block do
 *	(mount option gb_uptodate=on|off, emulate.c)
 * @reqmeta: tag metadata reads (indirect, inode table and bitmap
 *	blocks; directory pages are read by fs/mpage.c, as ext2's are,
 *	untagged) REQ_META, so block traces show them as "RM" (mount
 *	option reqmeta=on|off, default off).  Off by default because, with
 *	CONFIG_BLK_CGROUP, blk_cgroup_mergeable() never merges a REQ_META
 *	bio with a plain one: an indirect block read between two runs of
 *	file data would cost two extra requests, which ext2 does not pay.
 * @truncate_wb: a shrinking truncate writes back the dirty pages beyond
 *	the new size after lowering i_size and before dropping them, as a
 *	flusher running inside truncate_setsize() would (mount option
 *	truncate_wb=on|off, default off, emulate.c)
 * @stats: update the counters and the run-length histogram (mount
 *	option stats=on|off, default on); off, they keep their values
 * @errors: what mpagefs_error() does after reporting corruption:
 *	MPAGEFS_ERRORS_CONTINUE, _RO or _PANIC (mount option
 *	errors=continue|remount-ro|panic; by default the superblock's
 *	s_errors, as in ext2)
 *
 * All may change on remount while I/O is running, so readers use
 * READ_ONCE() and the remount path WRITE_ONCE().
 */
struct mpagefs_mount_opts {
	bool boundary;
	u32 maxmap;
	bool scatter;
	bool gb_uptodate;
	bool reqmeta;
	bool truncate_wb;
	bool stats;
	u32 errors;
};

/* i_links_count is 16 bits; ext2 stops at 32000 too */
#define MPAGEFS_LINK_MAX	32000

/*
 * Per-mount counters, exported in /sys/fs/mpagefs/<dev>/ and over netlink:
 * MPAGEFS_STAT_<ID> for each line of counters.h, in its order.
 */
enum mpagefs_stat {
#define MPAGEFS_COUNTER(id, ...)	MPAGEFS_STAT_##id,
#include "counters.h"
	MPAGEFS_NR_STATS
};

/* Bits of an allocation bitmap block (balloc.c, ialloc.c). */
#define MPAGEFS_BITS_PER_BLOCK(sb)	((u64)(sb)->s_blocksize * 8)

/**
 * struct mpagefs_sb_info - in-core superblock
 * @s_sbh: the buffer of block 0, pinned from mount to unmount (ext2's
 *	s_sbh): a change made to the device through its page cache while
 *	the filesystem is mounted read-only (fsck --repair) is what the next
 *	read-write remount finds, never overwritten by a stale copy
 * @s_es: the on-disk superblock, in @s_sbh's data.  Changed only under
 *	lock_buffer(@s_sbh), the checksum with it, so that block 0 is
 *	consistent whenever the buffer cache writes it
 * @s_free_blocks: free blocks, under @s_alloc_lock; loaded from @s_es at
 *	mount and at a read-write remount that finds block 0 rewritten, and
 *	stored into it when the superblock is written (as ext2_sync_super()
 *	stores its counters)
 * @s_free_inodes: free inodes, as @s_free_blocks
 * @s_sb_csum: the checksum of block 0 as mpagefs last read or wrote it,
 *	under the lock of @s_sbh: a different one means block 0 was
 *	rewritten underneath
 * @s_blocks_count: blocks in the filesystem
 * @s_inodes_count: inodes 1 .. @s_inodes_count exist
 * @s_inode_table: first block of the inode table
 * @s_first_data_block: first block after the metadata
 * @s_inodes_per_block: inodes in one block of the inode table
 * @s_addr_per_block_bits: log2 of the block numbers in an indirect block
 * @s_block_bitmap: first block of the block bitmap
 * @s_inode_bitmap: first block of the inode bitmap
 * @s_alloc_lock: serialises changes to the bitmaps and the free counts
 * @s_next_goal: where the next allocation without a better goal starts
 * @s_next_generation: the generation the next new inode gets (random at
 *	mount, then counted up, as ext2's s_next_generation)
 * @s_mount_state: s_state found at the last read-write (re)mount, put
 *	back on disk at unmount
 * @s_opts: mount options
 * @s_stats: counters, indexed by enum mpagefs_stat
 * @s_err_ratelimit: limits the messages of mpagefs_error()
 * @s_run_hist: get_block calls that mapped [2^i, 2^(i+1)) blocks in
 *	bucket i, the last bucket open-ended
 * @s_kobj: /sys/fs/mpagefs/<dev>
 * @s_kobj_unregister: completed when @s_kobj is released
 * @s_sb: the VFS superblock
 * @s_mounts: entry in the registry of mounts the netlink family serves
 *	(genl.c), under its mutex; empty when not registered
 * @s_faults: armed injected faults (fault.c), an RCU list changed under
 *	@s_fault_lock
 * @s_fault_lock: serialises changes to @s_faults
 * @s_nr_faults: entries in @s_faults: get_block looks no further when 0
 * @s_next_fault_id: the ID the next injected fault gets
 */
struct mpagefs_sb_info {
	struct buffer_head *s_sbh;
	struct mpagefs_super_block *s_es;
	u32 s_free_blocks;
	u32 s_free_inodes;
	u32 s_sb_csum;
	u32 s_blocks_count;
	u32 s_inodes_count;
	u32 s_inode_table;
	u32 s_first_data_block;
	unsigned int s_inodes_per_block;
	unsigned int s_addr_per_block_bits;
	u32 s_block_bitmap;
	u32 s_inode_bitmap;
	struct mutex s_alloc_lock;
	u32 s_next_goal;
	atomic_t s_next_generation;
	u32 s_mount_state;
	struct mpagefs_mount_opts s_opts;
	atomic64_t s_stats[MPAGEFS_NR_STATS];
	struct ratelimit_state s_err_ratelimit;
	atomic64_t s_run_hist[MPAGEFS_RUN_HIST_BUCKETS];
	struct kobject s_kobj;
	struct completion s_kobj_unregister;
	struct super_block *s_sb;
	struct list_head s_mounts;
	struct list_head s_faults;
	spinlock_t s_fault_lock;
	atomic_t s_nr_faults;
	u32 s_next_fault_id;
};

/**
 * struct mpagefs_inode_info - in-core inode
 * @i_data: the block map (or fast symlink text), kept little-endian as on
 *	disk
 * @i_map_sem: guards @i_data and the file's indirect blocks: lookups take
 *	it shared, allocation and truncation exclusive (ext2's
 *	truncate_mutex and i_meta_lock in one)
 * @i_next_alloc_block: logical block after the last one allocated
 * @i_next_alloc_goal: physical block after the last one allocated; the
 *	goal when the next allocation is for @i_next_alloc_block
 * @i_first_goal: where a block with no mapped block before it is looked
 *	for: the first block of the directory the inode was created in, 0
 *	when unknown (balloc.c, mpagefs_first_goal())
 * @i_dir_start_lookup: directories: the page where the last lookup found
 *	its name, where the next one starts (ext2's i_dir_start_lookup)
 * @i_dir_bad: directories: pages found corrupt and reported, bit n for
 *	page n, the last bit for every page from BITS_PER_LONG - 1 on
 *	(dir.c reports a bad page once, then refuses it without a word)
 * @vfs_inode: the VFS inode
 */
struct mpagefs_inode_info {
	__le32 i_data[MPAGEFS_N_BLOCKS];
	struct rw_semaphore i_map_sem;
	u32 i_next_alloc_block;
	u32 i_next_alloc_goal;
	u32 i_first_goal;
	unsigned long i_dir_start_lookup;
	unsigned long i_dir_bad;
	struct inode vfs_inode;
};

static inline struct mpagefs_sb_info *MPAGEFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct mpagefs_inode_info *MPAGEFS_I(struct inode *inode)
{
	return container_of(inode, struct mpagefs_inode_info, vfs_inode);
}

/* Adds @n to a counter of the mount, unless it is mounted stats=off. */
static inline void mpagefs_stat_add(struct super_block *sb,
				    enum mpagefs_stat stat, s64 n)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);

	if (READ_ONCE(sbi->s_opts.stats))
		atomic64_add(n, &sbi->s_stats[stat]);
}

/**
 * struct mpagefs_fault_info - one injected fault, as netlink describes it
 * @id: its ID within the mount (from 1)
 * @kind: enum mpagefs_fault_kind
 * @err: the positive errno get_block returns (GET_BLOCK)
 * @ino: the inode it applies to, 0 for every inode
 * @first: first logical block of the range it applies to (GET_BLOCK)
 * @last: last logical block of that range, inclusive
 * @side: MPAGEFS_FAULT_SIDE_* mask of the get_block calls it applies to
 * @once: disarm after the first hit
 * @hits: times it fired
 */
struct mpagefs_fault_info {
	u32 id;
	u32 kind;
	u32 err;
	u64 ino;
	u64 first;
	u64 last;
	u32 side;
	bool once;
	u64 hits;
};

/*
 * Corruption found in an inode or in the blocks it maps: mpagefs_error()
 * with "inode <ino>: " before the message.
 */
#define mpagefs_inode_error(inode, fmt, ...)				\
	mpagefs_error((inode)->i_sb, "inode %lu: " fmt, (inode)->i_ino,	\
		      ##__VA_ARGS__)

/* true if @blk may hold file data, a directory or an indirect block */
static inline bool mpagefs_data_block_valid(struct mpagefs_sb_info *sbi,
					    u64 blk)
{
	return blk >= sbi->s_first_data_block && blk < sbi->s_blocks_count;
}

/* super.c */
__printf(3, 4)
void mpagefs_msg(struct super_block *sb, const char *level,
		 const char *fmt, ...);
__printf(2, 3)
void mpagefs_error(struct super_block *sb, const char *fmt, ...);
struct buffer_head *mpagefs_read_meta(struct super_block *sb, u32 blocknr,
				      bool *cached);
int mpagefs_sync_super(struct super_block *sb, bool wait);

/* balloc.c */
s64 mpagefs_new_block(struct inode *inode, u32 goal);
void mpagefs_free_blocks(struct inode *inode, u32 block, u32 count);
u32 mpagefs_first_goal(struct inode *inode);

/* ialloc.c */
struct inode *mpagefs_new_inode(struct inode *dir, umode_t mode,
				const struct qstr *qstr);
void mpagefs_free_inode_nr(struct super_block *sb, unsigned long ino);

/* inode.c */
struct inode *mpagefs_iget(struct super_block *sb, unsigned long ino);
void mpagefs_set_inode_ops(struct inode *inode);
int mpagefs_write_inode(struct inode *inode, struct writeback_control *wbc);
void mpagefs_evict_inode(struct inode *inode);
int mpagefs_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
		    struct iattr *iattr);
extern const struct address_space_operations mpagefs_aops;
extern const struct inode_operations mpagefs_special_inode_operations;

/**
 * struct mpagefs_map - a question to mpagefs_get_blocks() and its answer
 * @lblk: first logical block to map
 * @len: most blocks to map (0 is taken as 1)
 * @pblk: out: the physical block of @lblk, when a run was mapped
 * @new: out: @pblk was allocated by this call
 * @boundary: out: the run ends at the last pointer of its pointer block (or
 *	of i_data): mapping the block after it needs another indirect block
 * @ind_reads: out: indirect blocks the walk read from disk (not cached)
 */
struct mpagefs_map {
	sector_t lblk;
	unsigned int len;
	u32 pblk;
	bool new;
	bool boundary;
	unsigned int ind_reads;
};

/* map.c */
int mpagefs_get_blocks(struct inode *inode, struct mpagefs_map *map,
		       bool create);
int mpagefs_get_block(struct inode *inode, sector_t iblock,
		      struct buffer_head *bh_result, int create);
int mpagefs_map_blocks(struct inode *inode, sector_t iblock,
		       unsigned int maxblocks, u32 *bno, bool *boundary);
void mpagefs_truncate_blocks(struct inode *inode, loff_t size);

/*
 * lab_get_block.c: the get_block that the address_space operations call,
 * mpagefs_get_block() with the lab's counters, fault injection, tracepoint
 * and emulation around it.  Built with MPAGEFS_LAB=0 (make module-nolab,
 * make bench's baseline) it is mpagefs_get_block() itself.
 */
#ifndef MPAGEFS_LAB
#define MPAGEFS_LAB 1
#endif
#if MPAGEFS_LAB
int mpagefs_lab_get_block(struct inode *inode, sector_t iblock,
			  struct buffer_head *bh_result, int create);
#else
#define mpagefs_lab_get_block mpagefs_get_block
#endif

/* fault.c */
void mpagefs_faults_init(struct mpagefs_sb_info *sbi);
void mpagefs_faults_free(struct mpagefs_sb_info *sbi);
int mpagefs_fault_add(struct mpagefs_sb_info *sbi,
		      const struct mpagefs_fault_info *spec, u32 *id);
int mpagefs_fault_clear(struct mpagefs_sb_info *sbi, u32 id);
int mpagefs_fault_snapshot(struct mpagefs_sb_info *sbi,
			   struct mpagefs_fault_info *out, int max);
int __mpagefs_fault_get_block(struct inode *inode, sector_t iblock,
			      unsigned int *maxblocks, int create);
bool __mpagefs_fault_alloc(struct inode *inode);

/*
 * The hooks of the I/O paths: one atomic read of the mount's fault count
 * when nothing is armed.
 */
static inline int mpagefs_fault_get_block(struct inode *inode,
					  sector_t iblock,
					  unsigned int *maxblocks, int create)
{
	if (likely(!atomic_read(&MPAGEFS_SB(inode->i_sb)->s_nr_faults)))
		return 0;
	return __mpagefs_fault_get_block(inode, iblock, maxblocks, create);
}

static inline bool mpagefs_fault_alloc(struct inode *inode)
{
	if (likely(!atomic_read(&MPAGEFS_SB(inode->i_sb)->s_nr_faults)))
		return false;
	return __mpagefs_fault_alloc(inode);
}

/* genl.c */
int mpagefs_genl_init(void);
void mpagefs_genl_exit(void);
void mpagefs_register_mount(struct super_block *sb);
void mpagefs_unregister_mount(struct super_block *sb);

/* emulate.c */
int mpagefs_emulate_get_block(struct inode *inode, sector_t iblock,
			      struct buffer_head *bh_result);
void mpagefs_truncate_setsize(struct inode *inode, loff_t newsize);

/* dir.c */
void mpagefs_dir_init(struct inode *dir);
int mpagefs_find_entry(struct inode *dir, const struct qstr *name, u32 *ino);
struct mpagefs_dirent *mpagefs_find_dirent(struct inode *dir,
					   const struct qstr *name,
					   struct folio **foliop);
int mpagefs_add_link(struct dentry *dentry, struct inode *inode);
int mpagefs_delete_entry(struct inode *dir, struct mpagefs_dirent *de,
			 struct folio *folio);
int mpagefs_set_link(struct inode *dir, struct mpagefs_dirent *de,
		     struct folio *folio, struct inode *inode,
		     bool update_times);
struct mpagefs_dirent *mpagefs_dotdot(struct inode *dir, struct folio **foliop);
int mpagefs_make_empty(struct inode *inode, struct inode *parent);
int mpagefs_empty_dir(struct inode *inode);
int mpagefs_dir_trim(struct inode *dir);
extern const struct file_operations mpagefs_dir_operations;

/* namei.c */
extern const struct inode_operations mpagefs_dir_inode_operations;

/* file.c */
extern const struct file_operations mpagefs_file_operations;
extern const struct inode_operations mpagefs_file_inode_operations;

/* symlink.c */
extern const struct inode_operations mpagefs_fast_symlink_inode_operations;
extern const struct inode_operations mpagefs_symlink_inode_operations;
int mpagefs_symlink_init(struct inode *inode, const char *symname,
			 unsigned int len);

/* sysfs.c */
int mpagefs_sysfs_init(void);
void mpagefs_sysfs_exit(void);
int mpagefs_sysfs_register(struct super_block *sb);
void mpagefs_sysfs_unregister(struct super_block *sb);
void mpagefs_stats_reset(struct mpagefs_sb_info *sbi);

#endif /* MPAGEFS_H */
