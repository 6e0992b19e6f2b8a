// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - injected faults: make get_block (mpagefs_lab_get_block(),
 * lab_get_block.c) fail with a chosen errno for an inode and a range of
 * logical blocks, or make block allocation report ENOSPC, on one mount,
 * armed and cleared through the netlink family (genl.c).
 *
 * Each mount keeps at most MPAGEFS_MAX_FAULTS faults in an RCU list: the
 * I/O paths walk it under rcu_read_lock() (get_block may be called with
 * page locks and i_map_sem held, so nothing here sleeps), netlink adds
 * and removes entries under s_fault_lock.  s_nr_faults counts the
 * entries, so a mount without faults pays one atomic read per call.  A
 * fault armed "once" stays listed after it fired (GET_FAULTS shows its
 * hits) but never fires again.
 *
 * GET_BLOCK faults apply to regular files only: directory and symlink
 * blocks are read as metadata by callers that take some errnos (ENOENT)
 * as answers, not failures.  The I/O paths are expected to leave the
 * filesystem consistent whatever get_block answers: an allocation that
 * fails frees what it allocated (mpagefs_alloc_branch()), a failed
 * write_begin or direct write truncates the blocks it added past EOF
 * (mpagefs_write_failed()), and a failed writeback leaves a hole.
 */

#include <linux/fs.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "mpagefs.h"

/*
 * struct mpagefs_fault - an armed fault
 * @list: entry in sbi->s_faults
 * @rcu: for kfree_rcu()
 * @info: what it does; @info.hits is not used (see @hits)
 * @spent: set when a fault armed once has fired
 * @hits: times it fired
 */
struct mpagefs_fault {
	struct list_head list;
	struct rcu_head rcu;
	struct mpagefs_fault_info info;
	atomic_t spent;
	atomic64_t hits;
};

/**
 * mpagefs_faults_init() - set up the fault list of a new mount
 * @sbi: the mount's in-core superblock
 */
void mpagefs_faults_init(struct mpagefs_sb_info *sbi)
{
	INIT_LIST_HEAD(&sbi->s_faults);
	spin_lock_init(&sbi->s_fault_lock);
	atomic_set(&sbi->s_nr_faults, 0);
	sbi->s_next_fault_id = 1;
}

/**
 * mpagefs_fault_add() - arm a fault
 * @sbi: the mount
 * @spec: the fault; @spec->id and @spec->hits are ignored
 * @id: receives the ID of the new fault
 *
 * Return: 0, -ENOSPC when MPAGEFS_MAX_FAULTS are armed already, -ENOMEM.
 */
int mpagefs_fault_add(struct mpagefs_sb_info *sbi,
		      const struct mpagefs_fault_info *spec, u32 *id)
{
	struct mpagefs_fault *f;
	int err = 0;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->info = *spec;
	f->info.hits = 0;
	spin_lock(&sbi->s_fault_lock);
	if (atomic_read(&sbi->s_nr_faults) >= MPAGEFS_MAX_FAULTS) {
		err = -ENOSPC;
	} else {
		f->info.id = sbi->s_next_fault_id++;
		if (!sbi->s_next_fault_id)
			sbi->s_next_fault_id = 1;
		*id = f->info.id;
		list_add_tail_rcu(&f->list, &sbi->s_faults);
		atomic_inc(&sbi->s_nr_faults);
	}
	spin_unlock(&sbi->s_fault_lock);
	if (err)
		kfree(f);
	return err;
}

/**
 * mpagefs_fault_clear() - disarm faults
 * @sbi: the mount
 * @id: the fault to remove, 0 for all of them
 *
 * Return: 0, or -ENOENT when no fault has ID @id.
 */
int mpagefs_fault_clear(struct mpagefs_sb_info *sbi, u32 id)
{
	struct mpagefs_fault *f, *tmp;
	int err = id ? -ENOENT : 0;

	spin_lock(&sbi->s_fault_lock);
	list_for_each_entry_safe(f, tmp, &sbi->s_faults, list) {
		if (id && f->info.id != id)
			continue;
		list_del_rcu(&f->list);
		atomic_dec(&sbi->s_nr_faults);
		kfree_rcu(f, rcu);
		err = 0;
	}
	spin_unlock(&sbi->s_fault_lock);
	return err;
}

/**
 * mpagefs_faults_free() - disarm every fault of a mount being unmounted
 * @sbi: the mount, no longer doing I/O
 */
void mpagefs_faults_free(struct mpagefs_sb_info *sbi)
{
	mpagefs_fault_clear(sbi, 0);
}

/**
 * mpagefs_fault_snapshot() - copy the armed faults of a mount
 * @sbi: the mount
 * @out: receives up to @max faults, with their hits
 * @max: room in @out
 *
 * Return: the number of faults copied.
 */
int mpagefs_fault_snapshot(struct mpagefs_sb_info *sbi,
			   struct mpagefs_fault_info *out, int max)
{
	struct mpagefs_fault *f;
	int n = 0;

	rcu_read_lock();
	list_for_each_entry_rcu(f, &sbi->s_faults, list) {
		if (n >= max)
			break;
		out[n] = f->info;
		out[n].hits = atomic64_read(&f->hits);
		n++;
	}
	rcu_read_unlock();
	return n;
}

/* Claims one firing of @f: false if it was armed once and has fired. */
static bool mpagefs_fault_fire(struct super_block *sb, struct mpagefs_fault *f)
{
	if (f->info.once && atomic_xchg(&f->spent, 1))
		return false;
	atomic64_inc(&f->hits);
	mpagefs_stat_add(sb, MPAGEFS_STAT_FAULTS_HIT, 1);
	return true;
}

static bool mpagefs_fault_live(const struct mpagefs_fault *f, u32 kind,
			       struct inode *inode)
{
	return f->info.kind == kind &&
	       (!f->info.ino || f->info.ino == inode->i_ino) &&
	       !(f->info.once && atomic_read(&f->spent));
}

/**
 * __mpagefs_fault_get_block() - the fault hook of mpagefs_lab_get_block()
 * @inode: the inode being mapped
 * @iblock: the first logical block asked for
 * @maxblocks: the blocks the call may map; lowered so that the run stops
 *	before the first block of an armed range after @iblock, so a block
 *	in a range always fails when it is asked for, never mapped as part
 *	of a run that started before it
 * @create: the create argument of get_block
 *
 * Return: 0, or the negative errno of the first armed fault whose inode,
 * side and range match @iblock.
 */
int __mpagefs_fault_get_block(struct inode *inode, sector_t iblock,
			      unsigned int *maxblocks, int create)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(inode->i_sb);
	u32 side = create ? MPAGEFS_FAULT_SIDE_CREATE : MPAGEFS_FAULT_SIDE_READ;
	u64 blk = iblock;
	struct mpagefs_fault *f;
	int err = 0;

	if (!S_ISREG(inode->i_mode))
		return 0;
	rcu_read_lock();
	list_for_each_entry_rcu(f, &sbi->s_faults, list) {
		if (!mpagefs_fault_live(f, MPAGEFS_FAULT_GET_BLOCK, inode) ||
		    !(f->info.side & side) || blk > f->info.last)
			continue;
		if (blk < f->info.first) {
			if (f->info.first - blk < *maxblocks)
				*maxblocks = f->info.first - blk;
			continue;
		}
		if (mpagefs_fault_fire(inode->i_sb, f)) {
			err = -(int)f->info.err;
			break;
		}
	}
	rcu_read_unlock();
	return err;
}

/**
 * __mpagefs_fault_alloc() - the fault hook of block allocation
 * @inode: the inode a block is allocated for
 *
 * Return: true if an armed ALLOC_ENOSPC fault for @inode fired: the
 * allocation is to fail with -ENOSPC.
 */
bool __mpagefs_fault_alloc(struct inode *inode)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(inode->i_sb);
	struct mpagefs_fault *f;
	bool fired = false;

	rcu_read_lock();
	list_for_each_entry_rcu(f, &sbi->s_faults, list) {
		if (mpagefs_fault_live(f, MPAGEFS_FAULT_ALLOC_ENOSPC, inode) &&
		    mpagefs_fault_fire(inode->i_sb, f)) {
			fired = true;
			break;
		}
	}
	rcu_read_unlock();
	return fired;
}
