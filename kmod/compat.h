/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every difference between the kernel APIs mpagefs is built
 * against: Debian 12's 6.1 and bookworm-backports' 6.12.  The rest of the
 * module is written for 6.12; each shim below gives an older kernel the
 * 6.12 name or signature, and names the version (and upstream commit)
 * that changed it.  This is the only file that tests LINUX_VERSION_CODE.
 *
 * Differences that need no shim:
 * - 6.8 made SLAB_MEM_SPREAD a no-op and 6.9 removed it ("mm, slab:
 *   deprecate SLAB_MEM_SPREAD flag"); mpagefs no longer passes it.  On
 *   6.1 only the SLAB allocator read it, and Debian's 6.1 (like the
 *   debug kernel) uses SLUB, whose kmem_cache_create() masks it off.
 * - mpage_readahead(), mpage_read_folio() and mpage_writepages() keep
 *   their 6.1 signatures in 6.12 (a get_block_t each; writepages also
 *   the writeback_control).
 * - a generic netlink family with resv_start_op 0 gets strict validation
 *   of every command on both kernels (the field exists since 6.1).
 */
#ifndef MPAGEFS_COMPAT_H
#define MPAGEFS_COMPAT_H

#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/version.h>

/*
 * 6.12: <asm/unaligned.h> moved to <linux/unaligned.h> (commit
 * 5f60d5f6bbc1 "move asm/unaligned.h to linux/unaligned.h").
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * Inode timestamps behind accessors.  6.6: ctime (commit 9b6304c1d537
 * "fs: add ctime accessors infrastructure"), also in 6.1.64 and later
 * 6.1 stable releases, Debian 12's 6.1.0-NN among them.  6.7: atime and
 * mtime (commit 077c212f0344 "fs: new accessor methods for atime and
 * mtime"); 6.11 then made the fields private.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 64)
static inline struct timespec64 inode_get_ctime(const struct inode *inode)
{
	return inode->i_ctime;
}

static inline struct timespec64 inode_set_ctime_to_ts(struct inode *inode,
						      struct timespec64 ts)
{
	inode->i_ctime = ts;
	return ts;
}

static inline struct timespec64 inode_set_ctime(struct inode *inode,
						time64_t sec, long nsec)
{
	struct timespec64 ts = { .tv_sec = sec, .tv_nsec = nsec };

	return inode_set_ctime_to_ts(inode, ts);
}

static inline struct timespec64 inode_set_ctime_current(struct inode *inode)
{
	return inode_set_ctime_to_ts(inode, current_time(inode));
}
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
static inline struct timespec64 inode_get_atime(const struct inode *inode)
{
	return inode->i_atime;
}

static inline struct timespec64 inode_set_atime_to_ts(struct inode *inode,
						      struct timespec64 ts)
{
	inode->i_atime = ts;
	return ts;
}

static inline struct timespec64 inode_set_atime(struct inode *inode,
						time64_t sec, long nsec)
{
	struct timespec64 ts = { .tv_sec = sec, .tv_nsec = nsec };

	return inode_set_atime_to_ts(inode, ts);
}

static inline struct timespec64 inode_get_mtime(const struct inode *inode)
{
	return inode->i_mtime;
}

static inline struct timespec64 inode_set_mtime_to_ts(struct inode *inode,
						      struct timespec64 ts)
{
	inode->i_mtime = ts;
	return ts;
}

static inline struct timespec64 inode_set_mtime(struct inode *inode,
						time64_t sec, long nsec)
{
	struct timespec64 ts = { .tv_sec = sec, .tv_nsec = nsec };

	return inode_set_mtime_to_ts(inode, ts);
}
#endif

/*
 * 6.3: inode operations, setattr_prepare(), setattr_copy() and
 * inode_init_owner() take the mount's struct mnt_idmap instead of its
 * user namespace (commits c1632a0f1120 "fs: port ->setattr() to pass
 * mnt_idmap", 6c960e68aaed "fs: port ->create() to pass mnt_idmap",
 * f2d40141d5d9 "fs: port inode_init_owner() to mnt_idmap" and their
 * siblings); nop_mnt_idmap is the identity mapping init_user_ns was.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#define mnt_idmap	user_namespace
#define nop_mnt_idmap	init_user_ns
#endif

/*
 * 6.2: the pre_doit hook of a generic netlink family gets the command's
 * struct genl_split_ops, the do/dump-split form of struct genl_ops.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define genl_split_ops	genl_ops
#endif

/*
 * 6.5: generic_file_splice_read() gave way to filemap_splice_read()
 * (commit c6585011bc1d "splice: Remove generic_file_splice_read()"),
 * same arguments.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define filemap_splice_read	generic_file_splice_read
#endif

/*
 * 6.8: aops->error_remove_page became ->error_remove_folio (commit
 * af7628d6ec19 "fs: convert error_remove_page to error_remove_folio").
 * The 6.1 hook and helper take a page, and mpagefs names only the helper,
 * so renaming both keeps the types right.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define error_remove_folio		error_remove_page
#define generic_error_remove_folio	generic_error_remove_page
#endif

/*
 * 6.12: aops->write_begin and ->write_end take a folio, and so do
 * block_write_begin() and generic_write_end() (commits 1da86618bdce
 * "fs: Convert aops->write_begin to take a folio" and a225800f322a "fs:
 * Convert aops->write_end to take a folio").  mpagefs writes both hooks
 * for folios.  DEFINE_FOLIO_WRITE_AOPS(begin, end) checks that they have
 * the types of the hooks and FOLIO_WRITE_AOP(fn) names the hook to put
 * in the address_space_operations.  On older kernels
 * DEFINE_FOLIO_WRITE_AOPS() defines begin_page() and end_page(), the
 * page-taking hooks those kernels call, FOLIO_WRITE_AOP() names them,
 * and block_write_begin() and generic_write_end() get folio wrappers.
 * A folio here is always one page (mpagefs has no large folios), so
 * &folio->page is the page.
 */
#define FOLIO_WRITE_AOPS_CHECK(begin, end)				\
	static_assert(__same_type(&(begin),				\
		((const struct address_space_operations *)NULL)->write_begin) &&	\
		__same_type(&(end),					\
		((const struct address_space_operations *)NULL)->write_end))

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define DEFINE_FOLIO_WRITE_AOPS(begin, end)	FOLIO_WRITE_AOPS_CHECK(begin, end)
#define FOLIO_WRITE_AOP(fn)			(fn)
#else
static inline int folio_block_write_begin(struct address_space *mapping,
					  loff_t pos, unsigned int len,
					  struct folio **foliop,
					  get_block_t *get_block)
{
	struct page *page;
	int ret;

	ret = block_write_begin(mapping, pos, len, &page, get_block);
	if (!ret)
		*foliop = page_folio(page);
	return ret;
}

static inline int folio_generic_write_end(struct file *file,
					  struct address_space *mapping,
					  loff_t pos, unsigned int len,
					  unsigned int copied,
					  struct folio *folio, void *fsdata)
{
	return generic_write_end(file, mapping, pos, len, copied,
				 &folio->page, fsdata);
}

#define block_write_begin	folio_block_write_begin
#define generic_write_end	folio_generic_write_end

#define DEFINE_FOLIO_WRITE_AOPS(begin, end)				\
static int begin##_page(struct file *file,				\
			struct address_space *mapping, loff_t pos,	\
			unsigned int len, struct page **pagep,		\
			void **fsdata)					\
{									\
	struct folio *folio;						\
	int ret;							\
									\
	ret = begin(file, mapping, pos, len, &folio, fsdata);		\
	if (!ret)							\
		*pagep = &folio->page;					\
	return ret;							\
}									\
									\
static int end##_page(struct file *file, struct address_space *mapping,\
		      loff_t pos, unsigned int len, unsigned int copied,\
		      struct page *page, void *fsdata)			\
{									\
	return end(file, mapping, pos, len, copied, page_folio(page),	\
		   fsdata);						\
}									\
FOLIO_WRITE_AOPS_CHECK(begin##_page, end##_page)
#define FOLIO_WRITE_AOP(fn)	(fn##_page)
#endif

/*
 * Directory pages (dir.c) are changed with ext2's prepare-chunk /
 * commit-chunk pattern.  By 6.12 the buffer_head helpers behind it take a
 * folio: __block_write_begin() and block_write_end() (the latter with the
 * write_end conversion, commit a225800f322a above); 6.1's take a page.
 * 6.12 also has filemap_grab_folio() (an ERR_PTR on failure) and
 * folio_release_kmap(); 6.1 has neither: __filemap_get_folio() with
 * FGP_LOCK | FGP_ACCESSED | FGP_CREAT is what filemap_grab_folio() calls,
 * and returns NULL on 6.1.  mpagefs directory folios are single pages.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
static inline int folio___block_write_begin(struct folio *folio, loff_t pos,
					    unsigned int len,
					    get_block_t *get_block)
{
	return __block_write_begin(&folio->page, pos, len, get_block);
}

static inline int folio_block_write_end(struct file *file,
					struct address_space *mapping,
					loff_t pos, unsigned int len,
					unsigned int copied,
					struct folio *folio, void *fsdata)
{
	return block_write_end(file, mapping, pos, len, copied, &folio->page,
			       fsdata);
}

static inline struct folio *folio_filemap_grab_folio(struct address_space *mapping,
						     pgoff_t index)
{
	struct folio *folio;

	folio = __filemap_get_folio(mapping, index,
				    FGP_LOCK | FGP_ACCESSED | FGP_CREAT,
				    mapping_gfp_mask(mapping));
	return folio ? folio : ERR_PTR(-ENOMEM);
}

static inline void folio_release_kmap(struct folio *folio, void *addr)
{
	kunmap_local(addr);
	folio_put(folio);
}

#define __block_write_begin	folio___block_write_begin
#define block_write_end		folio_block_write_end
#define filemap_grab_folio	folio_filemap_grab_folio
#endif

#endif /* MPAGEFS_COMPAT_H */
