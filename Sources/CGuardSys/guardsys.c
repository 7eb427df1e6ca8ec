#define _GNU_SOURCE
#include "CGuardSys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/stat.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#ifndef SYS_listmount
#define SYS_listmount 458
#endif

// The header spells these out for Swift; make a wrong architecture fail to build.
_Static_assert(GS_O_PATH == O_PATH, "O_PATH");
_Static_assert(GS_O_DIRECTORY == O_DIRECTORY, "O_DIRECTORY");
_Static_assert(GS_O_NOFOLLOW == O_NOFOLLOW, "O_NOFOLLOW");
_Static_assert(GS_O_CLOEXEC == O_CLOEXEC, "O_CLOEXEC");
_Static_assert(GS_AT_EMPTY_PATH == AT_EMPTY_PATH, "AT_EMPTY_PATH");
_Static_assert(GS_AT_FDCWD == AT_FDCWD, "AT_FDCWD");
_Static_assert(GS_MS_BIND == MS_BIND && GS_MS_REMOUNT == MS_REMOUNT && GS_MS_RDONLY == MS_RDONLY
               && GS_MS_NOSUID == MS_NOSUID && GS_MS_NODEV == MS_NODEV && GS_MS_NOEXEC == MS_NOEXEC, "MS_*");
_Static_assert(GS_UMOUNT_NOFOLLOW == UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW");
_Static_assert(GS_MNT_DETACH == MNT_DETACH, "MNT_DETACH");
_Static_assert(GS_FS_IMMUTABLE_FL == FS_IMMUTABLE_FL, "FS_IMMUTABLE_FL");

static inline int neg_errno(long rc) { return rc < 0 ? -errno : (int)rc; }

int gs_statx(int dirfd, const char *path, int flags, uint32_t mask, gs_statx_result *out) {
    struct statx stx;
    memset(&stx, 0, sizeof stx);
    long rc = syscall(SYS_statx, dirfd, path, flags, mask, &stx);
    if (rc < 0) return -errno;
    out->mask = stx.stx_mask;
    out->mode = stx.stx_mode;
    out->attributes = stx.stx_attributes;
    out->attributes_mask = stx.stx_attributes_mask;
    out->ino = stx.stx_ino;
    out->dev_major = stx.stx_dev_major;
    out->dev_minor = stx.stx_dev_minor;
    // stx_mnt_id sits at the same offset for STATX_MNT_ID and STATX_MNT_ID_UNIQUE.
    out->mnt_id = stx.stx_mnt_id;
    return 0;
}

struct gs_open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };

int gs_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct gs_open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return neg_errno(syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int gs_openat(int dirfd, const char *path, int flags, uint32_t mode) {
    return neg_errno(openat(dirfd, path, flags, (mode_t)mode));
}

int gs_get_inode_flags(int fd, int *flags) {
    return ioctl(fd, FS_IOC_GETFLAGS, flags) < 0 ? -errno : 0;
}

int gs_set_inode_flags(int fd, int flags) {
    return ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0 ? -errno : 0;
}

int gs_open_tree(int dirfd, const char *path, uint32_t flags) {
    return neg_errno(syscall(SYS_open_tree, dirfd, path, flags));
}

struct gs_mount_attr { uint64_t attr_set; uint64_t attr_clr; uint64_t propagation; uint64_t userns_fd; };

int gs_mount_setattr(int dirfd, const char *path, uint32_t flags,
                     uint64_t attr_set, uint64_t attr_clr) {
    struct gs_mount_attr attr = { .attr_set = attr_set, .attr_clr = attr_clr };
    return neg_errno(syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr));
}

int gs_move_mount(int from_dirfd, const char *from_path,
                  int to_dirfd, const char *to_path, uint32_t flags) {
    return neg_errno(syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}

// Layouts from include/uapi/linux/mount.h as of Linux 6.18: the v0 request (24 bytes;
// `spare` must be 0) and the fixed 512-byte head of the reply (checked below). Only
// SB_BASIC|MNT_BASIC are asked for, so no strings are returned; `str` is slack.
struct gs_mnt_id_req { uint32_t size; uint32_t spare; uint64_t mnt_id; uint64_t param; };
struct gs_statmount_head {
    uint32_t size; uint32_t mnt_opts; uint64_t mask;
    uint32_t sb_dev_major; uint32_t sb_dev_minor; uint64_t sb_magic; uint32_t sb_flags;
    uint32_t fs_type; uint64_t mnt_id; uint64_t mnt_parent_id; uint32_t mnt_id_old;
    uint32_t mnt_parent_id_old; uint64_t mnt_attr; uint64_t mnt_propagation;
    uint64_t mnt_peer_group; uint64_t mnt_master; uint64_t propagate_from;
    uint32_t mnt_root; uint32_t mnt_point; uint64_t mnt_ns_id;
    uint64_t spare2[49];
    char str[64];
};
_Static_assert(sizeof(struct gs_mnt_id_req) == 24, "MNT_ID_REQ_SIZE_VER0");
_Static_assert(__builtin_offsetof(struct gs_statmount_head, mnt_attr) == 64, "statmount.mnt_attr");
_Static_assert(__builtin_offsetof(struct gs_statmount_head, mnt_ns_id) == 112, "statmount.mnt_ns_id");
_Static_assert(__builtin_offsetof(struct gs_statmount_head, str) == 512, "statmount fixed part");
#define GS_STATMOUNT_SB_BASIC  0x00000001U
#define GS_STATMOUNT_MNT_BASIC 0x00000002U

// The fields of a statmount reply that gs_mount_info carries (both statmount calls).
static void mount_info_from(const struct gs_statmount_head *h, gs_mount_info *out) {
    out->mnt_id = h->mnt_id;
    out->mnt_parent_id = h->mnt_parent_id;
    out->mnt_attr = h->mnt_attr;
    out->sb_dev_major = h->sb_dev_major;
    out->sb_dev_minor = h->sb_dev_minor;
}

int gs_statmount(uint64_t mnt_id_unique, gs_mount_info *out) {
    struct gs_mnt_id_req req = { .size = sizeof req, .mnt_id = mnt_id_unique,
                                 .param = GS_STATMOUNT_SB_BASIC | GS_STATMOUNT_MNT_BASIC };
    struct gs_statmount_head buf;
    memset(&buf, 0, sizeof buf);
    long rc = syscall(SYS_statmount, &req, &buf, sizeof buf, 0);
    if (rc < 0) return -errno;
    mount_info_from(&buf, out);
    return 0;
}

#define GS_STATMOUNT_MNT_POINT 0x00000010U

int gs_statmount_point(uint64_t mnt_id_unique, gs_mount_info *out, char *point, uint64_t size) {
    struct gs_mnt_id_req req = { .size = sizeof req, .mnt_id = mnt_id_unique,
                                 .param = GS_STATMOUNT_SB_BASIC | GS_STATMOUNT_MNT_BASIC | GS_STATMOUNT_MNT_POINT };
    // The fixed part, then the strings: room for a PATH_MAX mount point.
    size_t bufsize = sizeof(struct gs_statmount_head) + 4096 + 64;
    struct gs_statmount_head *buf = calloc(1, bufsize);
    if (buf == NULL) return -ENOMEM;
    long rc = syscall(SYS_statmount, &req, buf, bufsize, 0);
    if (rc < 0) { int e = errno; free(buf); return -e; }
    mount_info_from(buf, out);
    int result = 0;
    if (!(buf->mask & GS_STATMOUNT_MNT_POINT)) {
        result = -ENODATA;  // a kernel that does not report the mount point
    } else {
        size_t region = bufsize - __builtin_offsetof(struct gs_statmount_head, str);
        const char *p = buf->str + buf->mnt_point;
        size_t n = buf->mnt_point < region ? strnlen(p, region - buf->mnt_point) : region;
        if (n + 1 > size || buf->mnt_point >= region) result = -EOVERFLOW;
        else memcpy(point, p, n + 1);
    }
    free(buf);
    return result;
}

int gs_listmount(uint64_t mnt_id_unique, uint64_t *ids, uint64_t count) {
    // The v0 request: list the children of `mnt_id_unique`, starting after id 0.
    struct gs_mnt_id_req req = { .size = sizeof req, .mnt_id = mnt_id_unique, .param = 0 };
    return neg_errno(syscall(SYS_listmount, &req, ids, (size_t)count, 0));
}

int gs_umount2(const char *path, int flags) { return umount2(path, flags) < 0 ? -errno : 0; }

int gs_mount(const char *source, const char *target, const char *fstype,
             unsigned long flags, const char *data) {
    return mount(source, target, fstype, flags, data) < 0 ? -errno : 0;
}

int gs_mkdirat(int dirfd, const char *name, uint32_t mode) {
    return mkdirat(dirfd, name, (mode_t)mode) < 0 ? -errno : 0;
}

long gs_getdents64(int fd, void *buf, unsigned long size) {
    long rc = syscall(SYS_getdents64, fd, buf, size);
    return rc < 0 ? -errno : rc;
}

long gs_readlinkat(int dirfd, const char *path, char *buf, unsigned long size) {
    ssize_t rc = readlinkat(dirfd, path, buf, size);
    return rc < 0 ? -errno : (long)rc;
}

long gs_realpath(const char *path, char *out, unsigned long size) {
    char *r = realpath(path, NULL);
    if (r == NULL) return -errno;
    size_t n = strlen(r);
    if (n + 1 > size) { free(r); return -ENAMETOOLONG; }
    memcpy(out, r, n + 1);
    free(r);
    return (long)n;
}

int gs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    long rc = syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
    return rc < 0 ? -errno : 0;
}
