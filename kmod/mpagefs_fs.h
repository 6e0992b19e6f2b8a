/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * mpagefs_fs.h - the on-disk format of mpagefs, shared by the kernel module
 * (kmod/) and the C++ tools (userspace/).  Nothing else defines the format.
 *
 * All multi-byte fields are little-endian.  Block numbers are 32-bit and
 * absolute (block 0 is the first block of the device).
 *
 * Layout of a filesystem of N blocks of size B (1024, 2048 or 4096):
 *
 *   block 0                     superblock (struct mpagefs_super_block at
 *                               offset 0, rest of the block zero)
 *   s_block_bitmap ...          block bitmap: bit b set <=> block b in use;
 *                               every metadata block is marked in use
 *   s_inode_bitmap ...          inode bitmap: bit (ino - 1) set <=> in use
 *   s_inode_table ...           s_inodes_count inodes of MPAGEFS_INODE_SIZE
 *                               bytes; inode ino is at index ino - 1
 *   s_first_data_block ... N-1  data: file data, directory blocks and
 *                               indirect blocks
 *
 * Bitmaps are little-endian bit strings (bit b is bit b % 8 of byte b / 8),
 * the same convention as ext2, so the kernel's *_bit_le helpers apply.
 *
 * Inodes map file blocks like ext2: MPAGEFS_NDIR_BLOCKS direct pointers,
 * then one single-, one double- and one triple-indirect pointer.  An
 * indirect block is an array of B / 4 __le32 block numbers; 0 is a hole.
 *
 * Directories hold ext2-style records that never cross a block boundary:
 * struct mpagefs_dirent followed by the name, rec_len a multiple of 4
 * covering any slack up to the next record.  inode == 0 marks a free record.
 */
#ifndef MPAGEFS_FS_H
#define MPAGEFS_FS_H

#include <linux/types.h>

#define MPAGEFS_MAGIC		0x4D504746	/* "FGPM" on disk: 'M' 'P' 'G' 'F' as le32 */
#define MPAGEFS_VERSION		1

#define MPAGEFS_MIN_BLOCK_LOG	10
#define MPAGEFS_MAX_BLOCK_LOG	12
#define MPAGEFS_SUPER_BLOCKNR	0
#define MPAGEFS_INODE_SIZE	128
#define MPAGEFS_ROOT_INO	1
#define MPAGEFS_NAME_LEN	255

/* i_block[] slots, as in ext2 */
#define MPAGEFS_NDIR_BLOCKS	12
#define MPAGEFS_IND_BLOCK	MPAGEFS_NDIR_BLOCKS
#define MPAGEFS_DIND_BLOCK	(MPAGEFS_IND_BLOCK + 1)
#define MPAGEFS_TIND_BLOCK	(MPAGEFS_DIND_BLOCK + 1)
#define MPAGEFS_N_BLOCKS	(MPAGEFS_TIND_BLOCK + 1)

/* s_state */
#define MPAGEFS_STATE_CLEAN	0x0001	/* unmounted cleanly */
#define MPAGEFS_STATE_ERRORS	0x0002	/* errors were detected */

/*
 * s_errors: what the kernel does when it finds corruption, unless the mount
 * option errors= says otherwise.  The values and the default are ext2's:
 * mkfs writes MPAGEFS_ERRORS_CONTINUE (as mke2fs), and a superblock with 0
 * or an unknown value is mounted with remount-ro (as ext2_fill_super()).
 */
#define MPAGEFS_ERRORS_CONTINUE	1	/* log it and go on */
#define MPAGEFS_ERRORS_RO	2	/* remount read-only */
#define MPAGEFS_ERRORS_PANIC	3	/* panic the kernel */
#define MPAGEFS_ERRORS_MKFS	MPAGEFS_ERRORS_CONTINUE	/* what mkfs writes */
#define MPAGEFS_ERRORS_UNSET	MPAGEFS_ERRORS_RO	/* for 0 or unknown */

/*
 * Feature flags.  An unknown incompat bit refuses the mount, an unknown
 * ro_compat bit refuses a read-write mount, unknown compat bits are ignored.
 */
#define MPAGEFS_FEATURE_COMPAT_SUPP	0
#define MPAGEFS_FEATURE_INCOMPAT_SUPP	0
#define MPAGEFS_FEATURE_RO_COMPAT_SUPP	0

/* d_file_type, the same values as ext2 (and fs_ftypes.h) */
#define MPAGEFS_FT_UNKNOWN	0
#define MPAGEFS_FT_REG_FILE	1
#define MPAGEFS_FT_DIR		2
#define MPAGEFS_FT_CHRDEV	3
#define MPAGEFS_FT_BLKDEV	4
#define MPAGEFS_FT_FIFO		5
#define MPAGEFS_FT_SOCK		6
#define MPAGEFS_FT_SYMLINK	7
#define MPAGEFS_FT_MAX		8

struct mpagefs_super_block {
	__le32	s_magic;		/* MPAGEFS_MAGIC */
	__le32	s_version;		/* MPAGEFS_VERSION */
	__le32	s_log_block_size;	/* block size = 1 << s_log_block_size */
	__le32	s_inode_size;		/* MPAGEFS_INODE_SIZE */
	__le32	s_feature_compat;
	__le32	s_feature_incompat;
	__le32	s_feature_ro_compat;
	__le32	s_state;		/* MPAGEFS_STATE_* */
	__le32	s_blocks_count;		/* blocks in the filesystem */
	__le32	s_free_blocks_count;
	__le32	s_inodes_count;		/* inodes 1 .. s_inodes_count */
	__le32	s_free_inodes_count;
	__le32	s_block_bitmap;		/* first block of the block bitmap */
	__le32	s_block_bitmap_blocks;
	__le32	s_inode_bitmap;		/* first block of the inode bitmap */
	__le32	s_inode_bitmap_blocks;
	__le32	s_inode_table;		/* first block of the inode table */
	__le32	s_inode_table_blocks;
	__le32	s_first_data_block;	/* first block after the metadata */
	__le32	s_root_ino;		/* MPAGEFS_ROOT_INO */
	__le32	s_mount_count;
	__le32	s_errors;		/* MPAGEFS_ERRORS_*, 0 = unset */
	__le64	s_mkfs_time;		/* seconds since the epoch */
	__le64	s_mount_time;
	__le64	s_write_time;
	__u8	s_uuid[16];
	char	s_volume_name[16];
	__le32	s_reserved[27];
	__le32	s_checksum;		/* crc32c of the bytes before this field */
};

#define MPAGEFS_SUPER_SIZE	256
#define MPAGEFS_SUPER_CSUM_OFFSET	(MPAGEFS_SUPER_SIZE - 4)

struct mpagefs_inode {
	__le16	i_mode;			/* S_IF* | permission bits */
	__le16	i_links_count;
	__le32	i_uid;
	__le32	i_gid;
	__le32	i_flags;		/* reserved, 0 */
	__le64	i_size;			/* bytes */
	__le64	i_atime;		/* seconds */
	__le64	i_mtime;
	__le64	i_ctime;
	__le32	i_atime_nsec;
	__le32	i_mtime_nsec;
	__le32	i_ctime_nsec;
	__le32	i_blocks;		/* fs blocks held, data and indirect */
	__le32	i_block[MPAGEFS_N_BLOCKS];	/* block map; fast symlink text */
	__le32	i_generation;
};

struct mpagefs_dirent {
	__le32	inode;			/* 0: free record */
	__le16	rec_len;		/* bytes to the next record */
	__u8	name_len;
	__u8	file_type;		/* MPAGEFS_FT_* */
	char	name[];			/* not NUL-terminated */
};

#define MPAGEFS_DIRENT_HEADER	8
/* Record length for a name of @len bytes: header + name, rounded up to 4. */
#define MPAGEFS_DIRENT_LEN(len)	(((len) + MPAGEFS_DIRENT_HEADER + 3) & ~3)

#ifdef __cplusplus
static_assert(sizeof(struct mpagefs_super_block) == MPAGEFS_SUPER_SIZE, "superblock size");
static_assert(sizeof(struct mpagefs_inode) == MPAGEFS_INODE_SIZE, "inode size");
#else
_Static_assert(sizeof(struct mpagefs_super_block) == MPAGEFS_SUPER_SIZE, "superblock size");
_Static_assert(sizeof(struct mpagefs_inode) == MPAGEFS_INODE_SIZE, "inode size");
#endif

#endif /* MPAGEFS_FS_H */
