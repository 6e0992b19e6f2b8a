// SPDX-License-Identifier: GPL-2.0
/*
 * genl.c - the generic netlink family "mpagefs": list the mounts, read and
 * reset their counters, change their mapping policy and inject faults,
 * without a remount.  The interface (commands, attributes, errors) is
 * defined in mpagefs_genl.h, shared with mpagectl.
 *
 * One strict policy at family level validates every attribute before a
 * handler runs (types, lengths, integer ranges, the FAULT nest);
 * attributes that only the kernel sends are rejected on input.  The core
 * answers a wrong length or type with -EINVAL, an integer out of its
 * range with -ERANGE, both with an extended ack naming the attribute;
 * the handlers answer missing or inconsistent attributes with -EINVAL.  resv_start_op is 0, so
 * the core also refuses unknown attributes, a non-zero reserved header
 * field and stray nlmsg flags for every command.  State-changing commands
 * carry GENL_ADMIN_PERM (CAP_NET_ADMIN, checked by the core) and, as the
 * interface promises, need CAP_SYS_ADMIN too (mpagefs_genl_pre_doit()).
 *
 * Mounts are found through a registry: fill_super adds a mount as its
 * last step, put_super (or kill_sb after a failed mount) removes it
 * before anything is freed.  Every handler looks a mount up and uses it
 * with the registry mutex held, so an unmount waits for the command and
 * a command never sees a mount being torn down.  Nothing done under the
 * mutex waits for I/O or for an unmount.
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "mpagefs.h"

static LIST_HEAD(mpagefs_mounts);
static DEFINE_MUTEX(mpagefs_mounts_lock);

/**
 * mpagefs_register_mount() - make a mount visible to the netlink family
 * @sb: the filesystem, fully set up
 */
void mpagefs_register_mount(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);

	mutex_lock(&mpagefs_mounts_lock);
	list_add_tail(&sbi->s_mounts, &mpagefs_mounts);
	mutex_unlock(&mpagefs_mounts_lock);
}

/**
 * mpagefs_unregister_mount() - hide a mount from the netlink family
 * @sb: the filesystem; may never have been registered
 *
 * Waits for a command using the mount to finish.
 */
void mpagefs_unregister_mount(struct super_block *sb)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);

	mutex_lock(&mpagefs_mounts_lock);
	list_del_init(&sbi->s_mounts);
	mutex_unlock(&mpagefs_mounts_lock);
}

/* --- policy ---------------------------------------------------------- */

/*
 * Integer ranges are in the policy, so the core checks them (answering
 * -ERANGE with "integer out of range" and the allowed range in the
 * extended ack) and CTRL_CMD_GETPOLICY shows them to userspace.  Not
 * NLA_POLICY_VALIDATE_FN() for integers: in 6.1 the policy dump (of an
 * extended ack, or of GETPOLICY) reads such an entry's min/max, which
 * alias the function pointer, and WARNs.
 */
static struct netlink_range_validation mpagefs_maxmap_range = {
	.min = 0,
	.max = MPAGEFS_MAXMAP_MAX,
};

static const struct nla_policy mpagefs_fault_policy[MPAGEFS_FAULT_A_MAX + 1] = {
	[MPAGEFS_FAULT_A_ID]	= { .type = NLA_REJECT },
	[MPAGEFS_FAULT_A_KIND]	= NLA_POLICY_RANGE(NLA_U32,
						   MPAGEFS_FAULT_GET_BLOCK,
						   MPAGEFS_FAULT_ALLOC_ENOSPC),
	[MPAGEFS_FAULT_A_ERRNO]	= NLA_POLICY_RANGE(NLA_U32, 1,
						   MPAGEFS_FAULT_ERRNO_MAX),
	[MPAGEFS_FAULT_A_INO]	= { .type = NLA_U64 },
	[MPAGEFS_FAULT_A_FIRST]	= { .type = NLA_U64 },
	[MPAGEFS_FAULT_A_LAST]	= { .type = NLA_U64 },
	[MPAGEFS_FAULT_A_SIDE]	= NLA_POLICY_RANGE(NLA_U32,
						   MPAGEFS_FAULT_SIDE_READ,
						   MPAGEFS_FAULT_SIDE_READ |
						   MPAGEFS_FAULT_SIDE_CREATE),
	[MPAGEFS_FAULT_A_ONCE]	= NLA_POLICY_MAX(NLA_U8, 1),
	[MPAGEFS_FAULT_A_HITS]	= { .type = NLA_REJECT },
	[MPAGEFS_FAULT_A_PAD]	= { .type = NLA_REJECT },
};

static const struct nla_policy mpagefs_genl_policy[MPAGEFS_A_MAX + 1] = {
	[MPAGEFS_A_DEV]		= { .type = NLA_U32 },
	[MPAGEFS_A_DEV_NAME]	= { .type = NLA_REJECT },
	[MPAGEFS_A_BLOCK_SIZE]	= { .type = NLA_REJECT },
	[MPAGEFS_A_READONLY]	= { .type = NLA_REJECT },
	[MPAGEFS_A_BOUNDARY]	= NLA_POLICY_MAX(NLA_U8, 1),
	[MPAGEFS_A_MAXMAP]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&mpagefs_maxmap_range),
	[MPAGEFS_A_ALLOC]	= NLA_POLICY_MAX(NLA_U8, MPAGEFS_ALLOC_SCATTER),
	[MPAGEFS_A_STATS]	= { .type = NLA_REJECT },
	[MPAGEFS_A_RUN_HIST]	= { .type = NLA_REJECT },
	[MPAGEFS_A_FAULT]	= NLA_POLICY_NESTED(mpagefs_fault_policy),
	[MPAGEFS_A_FAULT_ID]	= NLA_POLICY_MIN(NLA_U32, 1),
	[MPAGEFS_A_PAD]		= { .type = NLA_REJECT },
};

static struct genl_family mpagefs_genl_family;

/* --- helpers --------------------------------------------------------- */

/* -EINVAL with an extended ack naming the attribute, if it is missing. */
#define MPAGEFS_REQUIRE(info, attr, msg) ({				\
	struct genl_info *__i = (info);					\
	int __err = 0;							\
									\
	if (!__i->attrs[attr]) {					\
		NL_SET_ERR_MSG(__i->extack, msg);			\
		NL_SET_ERR_ATTR_MISS(__i->extack, NULL, attr);		\
		__err = -EINVAL;					\
	}								\
	__err;								\
})

/*
 * The mount MPAGEFS_A_DEV names, or an ERR_PTR (-EINVAL without DEV,
 * -ENODEV for a device no mpagefs is mounted on).  Called with
 * mpagefs_mounts_lock held; the mount stays valid until it is dropped.
 */
static struct mpagefs_sb_info *mpagefs_genl_find(struct genl_info *info)
{
	struct mpagefs_sb_info *sbi;
	u32 dev;
	int err;

	lockdep_assert_held(&mpagefs_mounts_lock);
	err = MPAGEFS_REQUIRE(info, MPAGEFS_A_DEV,
			      "MPAGEFS_A_DEV (the mount's device number) is required");
	if (err)
		return ERR_PTR(err);
	dev = nla_get_u32(info->attrs[MPAGEFS_A_DEV]);
	list_for_each_entry(sbi, &mpagefs_mounts, s_mounts)
		if (new_encode_dev(sbi->s_sb->s_dev) == dev)
			return sbi;
	NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[MPAGEFS_A_DEV],
			    "no mpagefs is mounted on this device");
	return ERR_PTR(-ENODEV);
}

static int mpagefs_put_dev(struct sk_buff *skb, struct mpagefs_sb_info *sbi)
{
	struct super_block *sb = sbi->s_sb;

	if (nla_put_u32(skb, MPAGEFS_A_DEV, new_encode_dev(sb->s_dev)) ||
	    nla_put_string(skb, MPAGEFS_A_DEV_NAME, sb->s_id))
		return -EMSGSIZE;
	return 0;
}

static int mpagefs_put_policy(struct sk_buff *skb, struct mpagefs_sb_info *sbi)
{
	if (nla_put_u8(skb, MPAGEFS_A_BOUNDARY,
		       READ_ONCE(sbi->s_opts.boundary)) ||
	    nla_put_u32(skb, MPAGEFS_A_MAXMAP, READ_ONCE(sbi->s_opts.maxmap)) ||
	    nla_put_u8(skb, MPAGEFS_A_ALLOC,
		       READ_ONCE(sbi->s_opts.scatter) ?
		       MPAGEFS_ALLOC_SCATTER : MPAGEFS_ALLOC_CONTIG))
		return -EMSGSIZE;
	return 0;
}

/*
 * The STATS attribute of each counter, from counters.h: counter i is
 * attribute i.  MPAGEFS_STAT_ATTR() stops the build when a line of the
 * table is out of the attributes' order, and the static_assert when one is
 * missing, so every attribute carries exactly one counter.  Counter 0,
 * get_block_calls, has none (attribute 0, UNSPEC, is not sent).
 */
#define MPAGEFS_STAT_A_GET_BLOCK_CALLS	MPAGEFS_STAT_A_UNSPEC
#define MPAGEFS_STAT_ATTR(id)						\
	(MPAGEFS_STAT_A_##id +						\
	 BUILD_BUG_ON_ZERO((int)MPAGEFS_STAT_A_##id != (int)MPAGEFS_STAT_##id))
static const u8 mpagefs_stat_attr[] = {
#define MPAGEFS_COUNTER(id, ...)	MPAGEFS_STAT_ATTR(id),
#include "counters.h"
};
static_assert(ARRAY_SIZE(mpagefs_stat_attr) == MPAGEFS_STAT_A_MAX + 1);

static int mpagefs_put_stats(struct sk_buff *skb, struct mpagefs_sb_info *sbi)
{
	struct nlattr *nest;
	int i;

	nest = nla_nest_start(skb, MPAGEFS_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(mpagefs_stat_attr); i++)
		if (mpagefs_stat_attr[i] != MPAGEFS_STAT_A_UNSPEC &&
		    nla_put_u64_64bit(skb, mpagefs_stat_attr[i],
				      atomic64_read(&sbi->s_stats[i]),
				      MPAGEFS_STAT_A_UNSPEC))
			goto cancel;
	nla_nest_end(skb, nest);

	nest = nla_nest_start(skb, MPAGEFS_A_RUN_HIST);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < MPAGEFS_RUN_HIST_BUCKETS; i++)
		if (nla_put_u64_64bit(skb, i + 1,
				      atomic64_read(&sbi->s_run_hist[i]), 0))
			goto cancel;
	nla_nest_end(skb, nest);
	return 0;

cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int mpagefs_put_fault(struct sk_buff *skb,
			     const struct mpagefs_fault_info *f)
{
	struct nlattr *nest = nla_nest_start(skb, MPAGEFS_A_FAULT);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, MPAGEFS_FAULT_A_ID, f->id) ||
	    nla_put_u32(skb, MPAGEFS_FAULT_A_KIND, f->kind) ||
	    nla_put_u32(skb, MPAGEFS_FAULT_A_ERRNO, f->err) ||
	    nla_put_u64_64bit(skb, MPAGEFS_FAULT_A_INO, f->ino,
			      MPAGEFS_FAULT_A_PAD) ||
	    nla_put_u64_64bit(skb, MPAGEFS_FAULT_A_FIRST, f->first,
			      MPAGEFS_FAULT_A_PAD) ||
	    nla_put_u64_64bit(skb, MPAGEFS_FAULT_A_LAST, f->last,
			      MPAGEFS_FAULT_A_PAD) ||
	    nla_put_u32(skb, MPAGEFS_FAULT_A_SIDE, f->side) ||
	    nla_put_u8(skb, MPAGEFS_FAULT_A_ONCE, f->once) ||
	    nla_put_u64_64bit(skb, MPAGEFS_FAULT_A_HITS, f->hits,
			      MPAGEFS_FAULT_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Starts a reply to @info, or an ERR_PTR.  *@hdr receives the header, to
 * be ended (genlmsg_end) once the payload is in.
 */
static struct sk_buff *mpagefs_reply_new(struct genl_info *info, void **hdr)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);

	if (!msg)
		return ERR_PTR(-ENOMEM);
	*hdr = genlmsg_put_reply(msg, info, &mpagefs_genl_family, 0,
				 info->genlhdr->cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return ERR_PTR(-EMSGSIZE);
	}
	return msg;
}

/*
 * Ends the reply started by mpagefs_reply_new() and sends it, or, if
 * filling it failed with @err, drops it and returns @err.
 */
static int mpagefs_reply_send(struct sk_buff *msg, void *hdr,
			      struct genl_info *info, int err)
{
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* --- LIST_MOUNTS and GET_STATS dumps --------------------------------- */

/*
 * One message per mount, from the cb->args[0]-th on; @fill adds the
 * payload after DEV and DEV_NAME.  A mount that comes or goes between two
 * parts of a dump may be skipped or repeated, as in any netlink dump.
 */
static int mpagefs_dump_mounts(struct sk_buff *skb, struct netlink_callback *cb,
			       int (*fill)(struct sk_buff *skb,
					   struct mpagefs_sb_info *sbi))
{
	struct mpagefs_sb_info *sbi;
	long idx = 0;
	int err = 0;

	mutex_lock(&mpagefs_mounts_lock);
	list_for_each_entry(sbi, &mpagefs_mounts, s_mounts) {
		void *hdr;

		if (idx++ < cb->args[0])
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &mpagefs_genl_family,
				  NLM_F_MULTI, genl_dumpit_info(cb)->op.cmd);
		if (!hdr) {
			err = -EMSGSIZE;
			break;
		}
		if (mpagefs_put_dev(skb, sbi) || fill(skb, sbi)) {
			genlmsg_cancel(skb, hdr);
			err = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = idx;
	}
	mutex_unlock(&mpagefs_mounts_lock);
	/* a full skb ends this part; an empty one means the mount is too big */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ? err : skb->len;
}

static int mpagefs_fill_mount(struct sk_buff *skb, struct mpagefs_sb_info *sbi)
{
	struct super_block *sb = sbi->s_sb;

	if (nla_put_u32(skb, MPAGEFS_A_BLOCK_SIZE, sb->s_blocksize) ||
	    nla_put_u8(skb, MPAGEFS_A_READONLY, sb_rdonly(sb)))
		return -EMSGSIZE;
	return mpagefs_put_policy(skb, sbi);
}

static int mpagefs_genl_list_dump(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	return mpagefs_dump_mounts(skb, cb, mpagefs_fill_mount);
}

static int mpagefs_genl_stats_dump(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	return mpagefs_dump_mounts(skb, cb, mpagefs_put_stats);
}

/* --- commands -------------------------------------------------------- */

static int mpagefs_genl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct mpagefs_sb_info *sbi;
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = mpagefs_reply_new(info, &hdr);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	mutex_lock(&mpagefs_mounts_lock);
	sbi = mpagefs_genl_find(info);
	if (IS_ERR(sbi))
		err = PTR_ERR(sbi);
	else
		err = mpagefs_put_dev(msg, sbi) ?: mpagefs_put_stats(msg, sbi);
	mutex_unlock(&mpagefs_mounts_lock);
	return mpagefs_reply_send(msg, hdr, info, err);
}

static int mpagefs_genl_reset_stats(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct mpagefs_sb_info *sbi;
	int err = 0;

	mutex_lock(&mpagefs_mounts_lock);
	sbi = mpagefs_genl_find(info);
	if (IS_ERR(sbi))
		err = PTR_ERR(sbi);
	else
		mpagefs_stats_reset(sbi);
	mutex_unlock(&mpagefs_mounts_lock);
	return err;
}

static int mpagefs_genl_set_policy(struct sk_buff *skb,
				   struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct mpagefs_sb_info *sbi;
	struct sk_buff *msg;
	void *hdr;
	int err;

	if (!attrs[MPAGEFS_A_BOUNDARY] && !attrs[MPAGEFS_A_MAXMAP] &&
	    !attrs[MPAGEFS_A_ALLOC]) {
		NL_SET_ERR_MSG(info->extack,
			       "SET_POLICY needs at least one of MPAGEFS_A_BOUNDARY, MPAGEFS_A_MAXMAP, MPAGEFS_A_ALLOC");
		return -EINVAL;
	}
	msg = mpagefs_reply_new(info, &hdr);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	mutex_lock(&mpagefs_mounts_lock);
	sbi = mpagefs_genl_find(info);
	if (IS_ERR(sbi)) {
		err = PTR_ERR(sbi);
	} else {
		/* as mpagefs_reconfigure() does for the mount options */
		if (attrs[MPAGEFS_A_ALLOC])
			WRITE_ONCE(sbi->s_opts.scatter,
				   nla_get_u8(attrs[MPAGEFS_A_ALLOC]) ==
				   MPAGEFS_ALLOC_SCATTER);
		if (attrs[MPAGEFS_A_BOUNDARY])
			WRITE_ONCE(sbi->s_opts.boundary,
				   !!nla_get_u8(attrs[MPAGEFS_A_BOUNDARY]));
		if (attrs[MPAGEFS_A_MAXMAP])
			WRITE_ONCE(sbi->s_opts.maxmap,
				   nla_get_u32(attrs[MPAGEFS_A_MAXMAP]));
		err = mpagefs_put_dev(msg, sbi) ?: mpagefs_put_policy(msg, sbi);
	}
	mutex_unlock(&mpagefs_mounts_lock);
	return mpagefs_reply_send(msg, hdr, info, err);
}

/* Fills @f from the FAULT nest of INJECT; -EINVAL with a message if bad. */
static int mpagefs_parse_fault(struct genl_info *info,
			       struct mpagefs_fault_info *f)
{
	struct nlattr *nest = info->attrs[MPAGEFS_A_FAULT];
	struct nlattr *tb[MPAGEFS_FAULT_A_MAX + 1];
	int err;

	err = MPAGEFS_REQUIRE(info, MPAGEFS_A_FAULT,
			      "MPAGEFS_A_FAULT (the fault to inject) is required");
	if (err)
		return err;
	err = nla_parse_nested(tb, MPAGEFS_FAULT_A_MAX, nest,
			       mpagefs_fault_policy, info->extack);
	if (err)
		return err;
	if (!tb[MPAGEFS_FAULT_A_KIND]) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest,
				    "MPAGEFS_FAULT_A_KIND is required");
		NL_SET_ERR_ATTR_MISS(info->extack, nest, MPAGEFS_FAULT_A_KIND);
		return -EINVAL;
	}
	memset(f, 0, sizeof(*f));
	f->kind = nla_get_u32(tb[MPAGEFS_FAULT_A_KIND]);
	f->last = U64_MAX;
	f->side = MPAGEFS_FAULT_SIDE_READ | MPAGEFS_FAULT_SIDE_CREATE;
	if (f->kind == MPAGEFS_FAULT_GET_BLOCK) {
		if (!tb[MPAGEFS_FAULT_A_ERRNO]) {
			NL_SET_ERR_MSG_ATTR(info->extack, nest,
					    "MPAGEFS_FAULT_A_ERRNO is required for a GET_BLOCK fault");
			NL_SET_ERR_ATTR_MISS(info->extack, nest,
					     MPAGEFS_FAULT_A_ERRNO);
			return -EINVAL;
		}
		f->err = nla_get_u32(tb[MPAGEFS_FAULT_A_ERRNO]);
	} else {
		f->err = ENOSPC;
	}
	if (tb[MPAGEFS_FAULT_A_INO])
		f->ino = nla_get_u64(tb[MPAGEFS_FAULT_A_INO]);
	if (tb[MPAGEFS_FAULT_A_FIRST])
		f->first = nla_get_u64(tb[MPAGEFS_FAULT_A_FIRST]);
	if (tb[MPAGEFS_FAULT_A_LAST])
		f->last = nla_get_u64(tb[MPAGEFS_FAULT_A_LAST]);
	if (f->first > f->last) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    tb[MPAGEFS_FAULT_A_LAST] ?:
				    tb[MPAGEFS_FAULT_A_FIRST],
				    "MPAGEFS_FAULT_A_FIRST is after MPAGEFS_FAULT_A_LAST");
		return -EINVAL;
	}
	if (tb[MPAGEFS_FAULT_A_SIDE])
		f->side = nla_get_u32(tb[MPAGEFS_FAULT_A_SIDE]);
	if (tb[MPAGEFS_FAULT_A_ONCE])
		f->once = nla_get_u8(tb[MPAGEFS_FAULT_A_ONCE]);
	return 0;
}

static int mpagefs_genl_inject(struct sk_buff *skb, struct genl_info *info)
{
	struct mpagefs_fault_info f;
	struct mpagefs_sb_info *sbi;
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = mpagefs_parse_fault(info, &f);
	if (err)
		return err;
	msg = mpagefs_reply_new(info, &hdr);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	mutex_lock(&mpagefs_mounts_lock);
	sbi = mpagefs_genl_find(info);
	if (IS_ERR(sbi)) {
		err = PTR_ERR(sbi);
	} else {
		err = mpagefs_fault_add(sbi, &f, &f.id);
		if (err == -ENOSPC)
			NL_SET_ERR_MSG(info->extack,
				       "too many faults armed on this mount (MPAGEFS_MAX_FAULTS)");
		if (!err)
			err = mpagefs_put_dev(msg, sbi) ?:
			      mpagefs_put_fault(msg, &f);
	}
	mutex_unlock(&mpagefs_mounts_lock);
	return mpagefs_reply_send(msg, hdr, info, err);
}

static int mpagefs_genl_clear_faults(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct nlattr *id_attr = info->attrs[MPAGEFS_A_FAULT_ID];
	struct mpagefs_sb_info *sbi;
	int err;

	mutex_lock(&mpagefs_mounts_lock);
	sbi = mpagefs_genl_find(info);
	if (IS_ERR(sbi)) {
		err = PTR_ERR(sbi);
	} else {
		err = mpagefs_fault_clear(sbi, id_attr ?
					  nla_get_u32(id_attr) : 0);
		if (err)
			NL_SET_ERR_MSG_ATTR(info->extack, id_attr,
					    "no fault with this ID is armed on this mount");
	}
	mutex_unlock(&mpagefs_mounts_lock);
	return err;
}

static int mpagefs_genl_get_faults(struct sk_buff *skb,
				   struct genl_info *info)
{
	struct mpagefs_fault_info *faults;
	struct mpagefs_sb_info *sbi;
	struct sk_buff *msg;
	void *hdr;
	int err, i, n;

	/* not on the stack: it is large under KASAN */
	faults = kcalloc(MPAGEFS_MAX_FAULTS, sizeof(*faults), GFP_KERNEL);
	if (!faults)
		return -ENOMEM;
	msg = mpagefs_reply_new(info, &hdr);
	if (IS_ERR(msg)) {
		kfree(faults);
		return PTR_ERR(msg);
	}
	mutex_lock(&mpagefs_mounts_lock);
	sbi = mpagefs_genl_find(info);
	if (IS_ERR(sbi)) {
		err = PTR_ERR(sbi);
	} else {
		n = mpagefs_fault_snapshot(sbi, faults, MPAGEFS_MAX_FAULTS);
		err = mpagefs_put_dev(msg, sbi);
		for (i = 0; i < n && !err; i++)
			err = mpagefs_put_fault(msg, &faults[i]);
	}
	mutex_unlock(&mpagefs_mounts_lock);
	kfree(faults);
	return mpagefs_reply_send(msg, hdr, info, err);
}

/*
 * GENL_ADMIN_PERM makes the core check CAP_NET_ADMIN; changing a
 * filesystem's behaviour is a CAP_SYS_ADMIN matter, as for a remount.
 * Both the socket's opener and the sender must have it.
 */
static int mpagefs_genl_pre_doit(const struct genl_split_ops *ops,
				 struct sk_buff *skb, struct genl_info *info)
{
	if ((ops->flags & GENL_ADMIN_PERM) &&
	    !netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(info->extack, "CAP_SYS_ADMIN is required");
		return -EPERM;
	}
	return 0;
}

static const struct genl_small_ops mpagefs_genl_ops[] = {
	{
		.cmd	= MPAGEFS_CMD_LIST_MOUNTS,
		.dumpit	= mpagefs_genl_list_dump,
	},
	{
		.cmd	= MPAGEFS_CMD_GET_STATS,
		.doit	= mpagefs_genl_get_stats,
		.dumpit	= mpagefs_genl_stats_dump,
	},
	{
		.cmd	= MPAGEFS_CMD_RESET_STATS,
		.flags	= GENL_ADMIN_PERM,
		.doit	= mpagefs_genl_reset_stats,
	},
	{
		.cmd	= MPAGEFS_CMD_SET_POLICY,
		.flags	= GENL_ADMIN_PERM,
		.doit	= mpagefs_genl_set_policy,
	},
	{
		.cmd	= MPAGEFS_CMD_INJECT,
		.flags	= GENL_ADMIN_PERM,
		.doit	= mpagefs_genl_inject,
	},
	{
		.cmd	= MPAGEFS_CMD_CLEAR_FAULTS,
		.flags	= GENL_ADMIN_PERM,
		.doit	= mpagefs_genl_clear_faults,
	},
	{
		.cmd	= MPAGEFS_CMD_GET_FAULTS,
		.doit	= mpagefs_genl_get_faults,
	},
};

static struct genl_family mpagefs_genl_family __ro_after_init = {
	.name		= MPAGEFS_GENL_NAME,
	.version	= MPAGEFS_GENL_VERSION,
	.maxattr	= MPAGEFS_A_MAX,
	.policy		= mpagefs_genl_policy,
	.module		= THIS_MODULE,
	.pre_doit	= mpagefs_genl_pre_doit,
	.small_ops	= mpagefs_genl_ops,
	.n_small_ops	= ARRAY_SIZE(mpagefs_genl_ops),
	/* every command is new: strict validation, reserved fields zero */
	.resv_start_op	= 0,
};

/**
 * mpagefs_genl_init() - register the generic netlink family at module load
 *
 * Return: 0 or a negative error.
 */
int __init mpagefs_genl_init(void)
{
	return genl_register_family(&mpagefs_genl_family);
}

/**
 * mpagefs_genl_exit() - unregister the family at module unload
 */
void mpagefs_genl_exit(void)
{
	genl_unregister_family(&mpagefs_genl_family);
}
