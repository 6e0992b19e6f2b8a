// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - per-mount counters in /sys/fs/mpagefs/<dev>/, one kobject per
 * superblock as ext4 does.  One file per counter of counters.h, "stats" with all of them as "name value" lines, "run_hist"
 * (the run-length histogram of get_block), a write-only "reset"
 * (CAP_SYS_ADMIN, as netlink's RESET_STATS), and the current values of the
 * boundary, maxmap and alloc mount options.  The same counters are served
 * over netlink (GET_STATS, genl.c).
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "mpagefs.h"

static struct kobject *mpagefs_root;

struct mpagefs_sysfs_attr {
	struct attribute attr;
	int stat;		/* enum mpagefs_stat for counter files */
	ssize_t (*show)(struct mpagefs_sb_info *sbi,
			const struct mpagefs_sysfs_attr *a, char *buf);
	ssize_t (*store)(struct mpagefs_sb_info *sbi, const char *buf,
			 size_t len);
};

static ssize_t mpagefs_counter_show(struct mpagefs_sb_info *sbi,
				    const struct mpagefs_sysfs_attr *a, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&sbi->s_stats[a->stat]));
}

static struct mpagefs_sysfs_attr mpagefs_counter_attrs[MPAGEFS_NR_STATS];

static ssize_t mpagefs_stats_show(struct mpagefs_sb_info *sbi,
				  const struct mpagefs_sysfs_attr *a, char *buf)
{
	int len = 0;
	int i;

	for (i = 0; i < MPAGEFS_NR_STATS; i++)
		len += sysfs_emit_at(buf, len, "%s %lld\n",
				     mpagefs_counter_attrs[i].attr.name,
				     (long long)atomic64_read(&sbi->s_stats[i]));
	return len;
}

/* "run_hist": one line per bucket, "<first block count> <calls>" */
static ssize_t mpagefs_run_hist_show(struct mpagefs_sb_info *sbi,
				     const struct mpagefs_sysfs_attr *a, char *buf)
{
	int len = 0;
	int i;

	for (i = 0; i < MPAGEFS_RUN_HIST_BUCKETS; i++)
		len += sysfs_emit_at(buf, len, "%u %lld\n", 1U << i,
				     (long long)atomic64_read(&sbi->s_run_hist[i]));
	return len;
}

/**
 * mpagefs_stats_reset() - zero the counters and the run-length histogram
 * @sbi: the mount
 */
void mpagefs_stats_reset(struct mpagefs_sb_info *sbi)
{
	int i;

	for (i = 0; i < MPAGEFS_NR_STATS; i++)
		atomic64_set(&sbi->s_stats[i], 0);
	for (i = 0; i < MPAGEFS_RUN_HIST_BUCKETS; i++)
		atomic64_set(&sbi->s_run_hist[i], 0);
}

/*
 * The file is 0200, so only uid 0 may open it; resetting also needs
 * CAP_SYS_ADMIN, as netlink's RESET_STATS does (genl.c): a root process
 * without capabilities (a container's root) changes nothing.
 */
static ssize_t mpagefs_reset_store(struct mpagefs_sb_info *sbi,
				   const char *buf, size_t len)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	mpagefs_stats_reset(sbi);
	return len;
}

static ssize_t mpagefs_boundary_show(struct mpagefs_sb_info *sbi,
				     const struct mpagefs_sysfs_attr *a, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  READ_ONCE(sbi->s_opts.boundary) ? "on" : "off");
}

static ssize_t mpagefs_maxmap_show(struct mpagefs_sb_info *sbi,
				   const struct mpagefs_sysfs_attr *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(sbi->s_opts.maxmap));
}

static ssize_t mpagefs_alloc_show(struct mpagefs_sb_info *sbi,
				  const struct mpagefs_sysfs_attr *a, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  READ_ONCE(sbi->s_opts.scatter) ? "scatter" : "contig");
}

/* The files of the counters, indexed by enum mpagefs_stat. */
#define MPAGEFS_COUNTER_ATTR(_name, _stat)				\
	{								\
		.attr = { .name = __stringify(_name), .mode = 0444 },	\
		.stat = _stat,						\
		.show = mpagefs_counter_show,				\
	}
static struct mpagefs_sysfs_attr mpagefs_counter_attrs[MPAGEFS_NR_STATS] = {
#define MPAGEFS_COUNTER(id, name)	\
	MPAGEFS_COUNTER_ATTR(name, MPAGEFS_STAT_##id),
#include "counters.h"
};

#define MPAGEFS_RO_ATTR(_name)						\
static struct mpagefs_sysfs_attr mpagefs_attr_##_name = {			\
	.attr = { .name = __stringify(_name), .mode = 0444 },		\
	.show = mpagefs_##_name##_show,					\
}

#define MPAGEFS_WO_ATTR(_name)						\
static struct mpagefs_sysfs_attr mpagefs_attr_##_name = {			\
	.attr = { .name = __stringify(_name), .mode = 0200 },		\
	.store = mpagefs_##_name##_store,				\
}

MPAGEFS_RO_ATTR(stats);
MPAGEFS_RO_ATTR(run_hist);
MPAGEFS_WO_ATTR(reset);
MPAGEFS_RO_ATTR(boundary);
MPAGEFS_RO_ATTR(maxmap);
MPAGEFS_RO_ATTR(alloc);

static struct attribute *mpagefs_attrs[] = {
#define MPAGEFS_COUNTER(id, ...)	\
	(&mpagefs_counter_attrs[MPAGEFS_STAT_##id].attr),
#include "counters.h"
	&mpagefs_attr_stats.attr,
	&mpagefs_attr_run_hist.attr,
	&mpagefs_attr_reset.attr,
	&mpagefs_attr_boundary.attr,
	&mpagefs_attr_maxmap.attr,
	&mpagefs_attr_alloc.attr,
	NULL,
};
ATTRIBUTE_GROUPS(mpagefs);

static ssize_t mpagefs_attr_show(struct kobject *kobj, struct attribute *attr,
				 char *buf)
{
	struct mpagefs_sb_info *sbi =
		container_of(kobj, struct mpagefs_sb_info, s_kobj);
	struct mpagefs_sysfs_attr *a = container_of(attr, struct mpagefs_sysfs_attr, attr);

	return a->show ? a->show(sbi, a, buf) : -EIO;
}

static ssize_t mpagefs_attr_store(struct kobject *kobj, struct attribute *attr,
				  const char *buf, size_t len)
{
	struct mpagefs_sb_info *sbi =
		container_of(kobj, struct mpagefs_sb_info, s_kobj);
	struct mpagefs_sysfs_attr *a = container_of(attr, struct mpagefs_sysfs_attr, attr);

	return a->store ? a->store(sbi, buf, len) : -EIO;
}

static const struct sysfs_ops mpagefs_attr_ops = {
	.show	= mpagefs_attr_show,
	.store	= mpagefs_attr_store,
};

static void mpagefs_sb_release(struct kobject *kobj)
{
	struct mpagefs_sb_info *sbi =
		container_of(kobj, struct mpagefs_sb_info, s_kobj);

	complete(&sbi->s_kobj_unregister);
}

static const struct kobj_type mpagefs_sb_ktype = {
	.default_groups	= mpagefs_groups,
	.sysfs_ops	= &mpagefs_attr_ops,
	.release	= mpagefs_sb_release,
};

/**
 * mpagefs_sysfs_register() - create /sys/fs/mpagefs/<dev> for a mount
 * @sb: the filesystem being mounted
 *
 * Return: 0 or a negative error; on error nothing is left to undo.
 */
int mpagefs_sysfs_register(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	int err;

	init_completion(&sbi->s_kobj_unregister);
	err = kobject_init_and_add(&sbi->s_kobj, &mpagefs_sb_ktype,
				   mpagefs_root, "%s", sb->s_id);
	if (err) {
		kobject_put(&sbi->s_kobj);
		wait_for_completion(&sbi->s_kobj_unregister);
	}
	return err;
}

/**
 * mpagefs_sysfs_unregister() - remove /sys/fs/mpagefs/<dev>
 * @sb: the filesystem
 *
 * Waits until the kobject is released, so the sb info may be freed after.
 */
void mpagefs_sysfs_unregister(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);

	kobject_del(&sbi->s_kobj);
	kobject_put(&sbi->s_kobj);
	wait_for_completion(&sbi->s_kobj_unregister);
}

/**
 * mpagefs_sysfs_init() - create /sys/fs/mpagefs at module load
 *
 * Return: 0 or -ENOMEM.
 */
int __init mpagefs_sysfs_init(void)
{
	mpagefs_root = kobject_create_and_add("mpagefs", fs_kobj);
	return mpagefs_root ? 0 : -ENOMEM;
}

/**
 * mpagefs_sysfs_exit() - remove /sys/fs/mpagefs at module unload
 */
void mpagefs_sysfs_exit(void)
{
	kobject_put(mpagefs_root);
	mpagefs_root = NULL;
}
