/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace.h - tracepoints of mpagefs (system "mpagefs"): every get_block
 * call with what it was asked and what it answered, every block
 * allocation and every run of blocks freed.  The line formats are ABI:
 * mpagectl parses them from trace_pipe (see the header comment of
 * mpagefs_genl.h), so change them only together with it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mpagefs

#if !defined(_MPAGEFS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MPAGEFS_TRACE_H

#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/tracepoint.h>

TRACE_EVENT(mpagefs_get_block,
	TP_PROTO(struct inode *inode, u64 lblk, u32 max, int create, int ret,
		 u32 pblk, u32 len, bool boundary, bool new),
	TP_ARGS(inode, lblk, max, create, ret, pblk, len, boundary, new),
	TP_STRUCT__entry(
		__field(dev_t, dev)
		__field(u64, ino)
		__field(u64, lblk)
		__field(u32, max)
		__field(int, create)
		__field(int, ret)
		__field(u32, pblk)
		__field(u32, len)
		__field(bool, boundary)
		__field(bool, new)
	),
	TP_fast_assign(
		__entry->dev = inode->i_sb->s_dev;
		__entry->ino = inode->i_ino;
		__entry->lblk = lblk;
		__entry->max = max;
		__entry->create = create;
		__entry->ret = ret;
		__entry->pblk = pblk;
		__entry->len = len;
		__entry->boundary = boundary;
		__entry->new = new;
	),
	TP_printk("dev %d,%d ino %llu lblk %llu max %u create %d ret %d pblk %u len %u boundary %d new %d",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->lblk, __entry->max, __entry->create, __entry->ret,
		  __entry->pblk, __entry->len, __entry->boundary, __entry->new)
);

TRACE_EVENT(mpagefs_alloc_block,
	TP_PROTO(struct inode *inode, u32 goal, u32 pblk, int ret),
	TP_ARGS(inode, goal, pblk, ret),
	TP_STRUCT__entry(
		__field(dev_t, dev)
		__field(u64, ino)
		__field(u32, goal)
		__field(u32, pblk)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->dev = inode->i_sb->s_dev;
		__entry->ino = inode->i_ino;
		__entry->goal = goal;
		__entry->pblk = pblk;
		__entry->ret = ret;
	),
	TP_printk("dev %d,%d ino %llu goal %u pblk %u ret %d",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->goal, __entry->pblk, __entry->ret)
);

TRACE_EVENT(mpagefs_free_blocks,
	TP_PROTO(struct inode *inode, u32 pblk, u32 count),
	TP_ARGS(inode, pblk, count),
	TP_STRUCT__entry(
		__field(dev_t, dev)
		__field(u64, ino)
		__field(u32, pblk)
		__field(u32, count)
	),
	TP_fast_assign(
		__entry->dev = inode->i_sb->s_dev;
		__entry->ino = inode->i_ino;
		__entry->pblk = pblk;
		__entry->count = count;
	),
	TP_printk("dev %d,%d ino %llu pblk %u count %u",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->pblk, __entry->count)
);

#endif /* _MPAGEFS_TRACE_H */

/* an out-of-tree module: define_trace.h finds this file through -I$(src) */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
