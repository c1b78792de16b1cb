/*
 * Shared between filecache.bpf.c and its TypeScript reader (src/kernel/pagecache/inode-walk.ts): keep the
 * FC_* values in step with INODE_WALK there (a test reads this file and compares).
 *
 * The iterator writes text records, one per line, to its seq_file; numbers are decimal:
 *
 *   S <dev> <magic> <fstype>\n                 a super block starts (dev = kernel s_dev, MAJOR<<20|MINOR)
 *   D <id> <parent> <name>\0\n                 a directory dentry, named once; parent 0 = the super
 *                                              block's root, 1 = unknown (disconnected or too deep)
 *   F <ino> <mode> <nlink> <nrpages> <size> <rdev> <parent> <flags> <name>\0\n
 *                                              an inode of the current super block with page cache
 *   E <dev> <inodes> <files> <status>\n        the super block ends (FC_SB_*)
 *   Z <sbs> <inodes> <files> <dirs> <races> <status>\n   the walk is complete (FC_Z_* bits)
 *
 * Names are the raw bytes of the dentry name (any byte but NUL and '/'), ended by a NUL.
 */
#ifndef OSCOPE_FILECACHE_H
#define OSCOPE_FILECACHE_H

/* Dentry ids: 0 = root of the super block, 1 = unknown, then one per directory dentry named. */
#define FC_ROOT_ID 0
#define FC_UNKNOWN_ID 1
#define FC_FIRST_ID 2

/* Path components named per file (directories above are "unknown"). */
#define FC_MAX_DEPTH 32

/* F record flags. */
#define FC_F_NO_DENTRY 1    /* no dentry (the dentry cache dropped it): no name */
#define FC_F_TRUNCATED 2    /* deeper than FC_MAX_DEPTH new directories: the top is unknown */
#define FC_F_DISCONNECTED 4 /* the dentry tree ends in a root that is not the super block's */
#define FC_F_UNHASHED 8     /* the name was removed from the dentry hash (unlinked or never hashed) */

/* E record status. */
#define FC_SB_COMPLETE 0
#define FC_SB_LIMIT 1   /* stopped after max_sb_inodes inodes */
#define FC_SB_RACE 2    /* the inode list changed under the walk (an inode or the super block went away) */
#define FC_SB_SKIPPED 3 /* a pseudo file system without page cache (proc, sysfs, sockfs, ...) */

/* Z record status bits. */
#define FC_Z_SB_LIMIT 1  /* more super blocks than max_sbs, or the list could not be followed */
#define FC_Z_IDS_FULL 2  /* the directory id map was full: some directories were named more than once */

#endif
