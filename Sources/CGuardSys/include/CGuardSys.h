#ifndef GUARDHOOKS_CGUARDSYS_H
#define GUARDHOOKS_CGUARDSYS_H
// The few kernel calls Swift cannot import (variadic ioctl/syscall, _GNU_SOURCE-only
// statx, ioctl macros). Kernel headers stay in guardsys.c: <linux/fs.h> in an imported
// header makes MS_BIND ambiguous. Every function returns >= 0 on success and -errno on
// failure, so callers never read a thread-local errno after the fact.
#include <stdint.h>

// statx mask and attribute bits (values from include/uapi/linux/stat.h).
#define GS_STATX_TYPE          0x00000001U
#define GS_STATX_MODE          0x00000002U
#define GS_STATX_INO           0x00000100U
#define GS_STATX_BASIC_STATS   0x000007ffU
#define GS_STATX_MNT_ID        0x00001000U
#define GS_STATX_MNT_ID_UNIQUE 0x00004000U
#define GS_STATX_ATTR_IMMUTABLE  0x00000010ULL
#define GS_STATX_ATTR_MOUNT_ROOT 0x00002000ULL

// *at flags.
#define GS_AT_FDCWD            (-100)
#define GS_AT_EMPTY_PATH       0x1000
#define GS_AT_SYMLINK_NOFOLLOW 0x100
#define GS_AT_RECURSIVE        0x8000

// openat2 resolve flags.
#define GS_RESOLVE_NO_XDEV       0x01ULL
#define GS_RESOLVE_NO_MAGICLINKS 0x02ULL
#define GS_RESOLVE_NO_SYMLINKS   0x04ULL
#define GS_RESOLVE_BENEATH       0x08ULL

// open flags Swift's Glibc hides behind _GNU_SOURCE. O_DIRECTORY/O_NOFOLLOW differ by
// architecture; guardsys.c checks every value against <fcntl.h> at compile time.
#define GS_O_PATH      010000000
#if defined(__aarch64__) || defined(__arm__)
#define GS_O_DIRECTORY 040000
#define GS_O_NOFOLLOW  0100000
#else
#define GS_O_DIRECTORY 0200000
#define GS_O_NOFOLLOW  0400000
/// renameat2(2) through syscall(2), returning -errno. `GS_RENAME_NOREPLACE`: fail with
/// EEXIST rather than replace what is at the new name.
#define GS_RENAME_NOREPLACE 1U
int gs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

#endif
#define GS_O_CLOEXEC   02000000

// New mount API.
#define GS_OPEN_TREE_CLONE        1U
#define GS_OPEN_TREE_CLOEXEC      GS_O_CLOEXEC
#define GS_MOVE_MOUNT_F_EMPTY_PATH 0x00000004U
#define GS_MOVE_MOUNT_T_EMPTY_PATH 0x00000040U
#define GS_MOUNT_ATTR_RDONLY 0x00000001ULL
#define GS_MOUNT_ATTR_NOSUID 0x00000002ULL
#define GS_MOUNT_ATTR_NODEV  0x00000004ULL
#define GS_MOUNT_ATTR_NOEXEC 0x00000008ULL

// mount(2) flags for the bind + remount fallback (<sys/mount.h> imports them as enum
// cases that clash with <linux/fs.h> spellings; plain values are unambiguous).
#define GS_MS_RDONLY  1UL
#define GS_MS_NOSUID  2UL
#define GS_MS_NODEV   4UL
#define GS_MS_NOEXEC  8UL
#define GS_MS_REMOUNT 32UL
#define GS_MS_BIND    4096UL

// umount2(2): do not follow a symlink in the last component.
#define GS_UMOUNT_NOFOLLOW 8
// umount2(2): detach now, even while our own fd holds the mount (undoing a fresh guard).
#define GS_MNT_DETACH 2

// Inode flags (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS).
#define GS_FS_IMMUTABLE_FL 0x00000010

/// A plain copy of the struct statx fields we use.
typedef struct gs_statx_result {
    uint32_t mask;
    uint32_t mode;
    uint64_t attributes;
    uint64_t attributes_mask;
    uint64_t ino;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint64_t mnt_id;
} gs_statx_result;

/// statx(2) through syscall(2); `flags` are AT_* flags, `mask` STATX_* bits.
int gs_statx(int dirfd, const char *path, int flags, uint32_t mask, gs_statx_result *out);

/// openat2(2) with `struct open_how`. Returns the fd or -errno (-ENOSYS: no openat2).
int gs_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/// openat(2) with explicit flags (used for the component-wise O_NOFOLLOW fallback).
int gs_openat(int dirfd, const char *path, int flags, uint32_t mode);

/// FS_IOC_GETFLAGS / FS_IOC_SETFLAGS. The kernel reads and writes an int.
int gs_get_inode_flags(int fd, int *flags);
int gs_set_inode_flags(int fd, int flags);

/// open_tree(2), mount_setattr(2), move_mount(2) through syscall(2).
int gs_open_tree(int dirfd, const char *path, uint32_t flags);
int gs_mount_setattr(int dirfd, const char *path, uint32_t flags,
                     uint64_t attr_set, uint64_t attr_clr);
int gs_move_mount(int from_dirfd, const char *from_path,
                  int to_dirfd, const char *to_path, uint32_t flags);

/// statmount(2) (Linux 6.8+) for one mount by its unique id, in the caller's mount
/// namespace. Returns 0 and fills the fields, -ENOENT when no such mount exists here,
/// -ENOSYS when the kernel has no statmount.
typedef struct gs_mount_info {
    uint64_t mnt_id;         // unique id
    uint64_t mnt_parent_id;  // unique id of the parent mount
    uint64_t mnt_attr;       // MOUNT_ATTR_* bits
    uint32_t sb_dev_major;
    uint32_t sb_dev_minor;
} gs_mount_info;
int gs_statmount(uint64_t mnt_id_unique, gs_mount_info *out);

/// statmount(2) with the mount point: like gs_statmount, and the mount's path relative to
/// the caller's root copied into `point` (NUL-terminated). -EOVERFLOW when it does not fit.
int gs_statmount_point(uint64_t mnt_id_unique, gs_mount_info *out, char *point, uint64_t size);

/// AT_STATX_DONT_SYNC: statx answers from cached attributes, no round trip to a server.
#define GS_AT_STATX_DONT_SYNC 0x4000

/// listmount(2) (Linux 6.8+): up to `count` unique ids of the mounts whose parent is
/// `mnt_id_unique`. Returns how many were written, -ENOENT when no such mount exists
/// here, -ENOSYS when the kernel has no listmount.
int gs_listmount(uint64_t mnt_id_unique, uint64_t *ids, uint64_t count);

/// umount2(2) by path, returning -errno.
int gs_umount2(const char *path, int flags);

/// mount(2) by path, returning -errno (fallback bind + remount when the new API is absent).
int gs_mount(const char *source, const char *target, const char *fstype,
             unsigned long flags, const char *data);

/// mkdirat(2) returning -errno.
int gs_mkdirat(int dirfd, const char *name, uint32_t mode);

/// getdents64(2): fills `buf` with `struct linux_dirent64` records; returns the byte
/// count (0 at the end) or -errno.
long gs_getdents64(int fd, void *buf, unsigned long size);

/// readlinkat(2) returning the length (not NUL-terminated) or -errno.
long gs_readlinkat(int dirfd, const char *path, char *buf, unsigned long size);

/// Whether `path` answers within `timeout_ms`: a child process resolves it (realpath, then
/// stat, which asks the root of a mount at the path for its attributes) and is left behind,
/// blocked, when it does not finish in time. 1: answered (whatever the result), 0: no answer
/// in time, -errno: no child could be made (answers.c says why not a thread).
int gs_answers(const char *path, int timeout_ms);

/// realpath(3) into `out` (NUL-terminated); returns the length or -errno
/// (-ENAMETOOLONG when `size` is too small).
long gs_realpath(const char *path, char *out, unsigned long size);

// Hook processes (hookspawn.c).

/// clone3's CLONE_INTO_CGROUP (Linux 5.7).
#define GS_CLONE_INTO_CGROUP 0x200000000ULL

/// Spawns a hook: the child joins a process group of its own, gets
/// PR_SET_PDEATHSIG(SIGKILL) (it dies when the calling *thread* exits), stdin `in_fd`,
/// stdout and stderr `out_fd`, cwd `/`, default signal dispositions and an empty mask, keeps
/// `keep_fd` (-1: none) open, then execveat(exec_fd, "", AT_EMPTY_PATH). `exec_fd` stays
/// open in the hook: a script's interpreter reads the script through /dev/fd/N.
/// `cgroup_fd` -1: vfork. Otherwise clone3(CLONE_VFORK|CLONE_INTO_CGROUP) into the cgroup
/// directory `cgroup_fd`; when clone3 itself fails (no child made: an old kernel, a cgroup
/// that cannot take processes) `*clone_failed` is set to 1 and the caller may retry without.
/// Returns the pid or -errno (of the clone or of the child's failed step).
int gs_spawn_hook(int exec_fd, char *const argv[], char *const envp[], int in_fd, int out_fd, int keep_fd,
                  int cgroup_fd, int *clone_failed);

/// pidfd_open(2) returning the fd or -errno.
int gs_pidfd_open(int pid);

/// memfd_create(name, MFD_CLOEXEC) returning the fd or -errno.
int gs_memfd_create(const char *name);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants become our children. 0 or -errno.
int gs_become_subreaper(void);

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that remember the first signal and
/// write one byte to `notify_fd` (non-blocking pipe write end). 0 or -errno.
int gs_install_interrupt_handlers(int notify_fd);

/// The first of SIGINT/SIGTERM/SIGHUP received since the handlers were installed, or 0.
int gs_interrupt_signal(void);

/// renameat2(2) through syscall(2), returning -errno. `GS_RENAME_NOREPLACE`: fail with
/// EEXIST rather than replace what is at the new name.
#define GS_RENAME_NOREPLACE 1U
int gs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

#endif
