// The hook spawner: what swift-subprocess cannot do (exec from a vetted fd, a parent-death
// signal, keeping one extra fd, starting inside a cgroup). The vfork child only makes system calls before exec or
// _exit, so it is async-signal-safe in a multi-threaded process.
#define _GNU_SOURCE
#include "CGuardSys.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdint.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#include <sys/resource.h>

// The child's steps between fork and exec; it only returns by exec or _exit. Only system
// calls: in a vfork child it shares our memory and stack until then.
static void __attribute__((noreturn))
become_hook(int exec_fd, char *const argv[], char *const envp[], int in_fd, int out_fd, int keep_fd,
            pid_t parent, int max_fd, volatile int *child_errno) {
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        struct sigaction sa = {0};
        sa.sa_handler = SIG_DFL;
        sigaction(s, &sa, NULL);
    }
    if (setpgid(0, 0) != 0) goto fail;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
    if (getppid() != parent) _exit(127);  // the runner died before the signal was armed
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) goto fail;
    // The hook inherits 0-2 and the two descriptors it is given, nothing else: a
    // descriptor another thread of the caller opened without O_CLOEXEC (a file it is
    // writing, say) must not live on in the hook, where it would keep that file busy.
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < max_fd; fd++) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0) goto fail;
    if (fcntl(exec_fd, F_SETFD, 0) < 0) goto fail;
    if (chdir("/") != 0) goto fail;
    sigprocmask(SIG_SETMASK, &none, NULL);
    syscall(SYS_execveat, exec_fd, "", argv, envp, AT_EMPTY_PATH);
fail:
    *child_errno = errno ? errno : ENOEXEC;
    _exit(127);
}

// struct clone_args (include/uapi/linux/sched.h, CLONE_ARGS_SIZE_VER2).
struct gs_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

// clone3 that runs `fn(arg)` in the child on the stack `args` names: the vfork kind of clone
// (CLONE_VM|CLONE_VFORK) can only be had from C with a trampoline, because the child may not
// return through the syscall wrapper's frame the parent still needs. glibc exports no
// clone3. Returns the child's pid in the parent, or -1 with errno (ENOSYS: no trampoline for
// this architecture, and then the caller spawns without a cgroup).
long gs_clone3_run(struct gs_clone_args *args, unsigned long size, int (*fn)(void *), void *arg);
#if defined(__x86_64__)
__asm__(
    ".pushsection .text\n"
    ".type gs_clone3_trampoline,@function\n"
    "gs_clone3_trampoline:\n"
    "    mov %rcx, %r8\n"          // arg: rcx is clobbered by syscall
    "    mov $435, %eax\n"         // SYS_clone3
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    ret\n"                    // the parent, or an error (-errno in rax)
    "1:  xor %ebp, %ebp\n"         // the child, on its own stack: fn(arg), then exit
    "    mov %r8, %rdi\n"
    "    call *%rdx\n"
    "    mov %eax, %edi\n"
    "    mov $60, %eax\n"          // SYS_exit
    "    syscall\n"
    "    hlt\n"
    ".popsection\n");
#define GS_HAVE_CLONE3_TRAMPOLINE 1
#elif defined(__aarch64__)
__asm__(
    ".pushsection .text\n"
    ".type gs_clone3_trampoline,%function\n"
    "gs_clone3_trampoline:\n"
    "    mov x8, #435\n"           // SYS_clone3
    "    svc #0\n"
    "    cbz x0, 1f\n"
    "    ret\n"
    "1:  mov x29, xzr\n"
    "    mov x0, x3\n"
    "    blr x2\n"
    "    mov x8, #93\n"            // SYS_exit
    "    svc #0\n"
    "    brk #0\n"
    ".popsection\n");
#define GS_HAVE_CLONE3_TRAMPOLINE 1
#endif
#ifdef GS_HAVE_CLONE3_TRAMPOLINE
long gs_clone3_trampoline(struct gs_clone_args *args, unsigned long size, int (*fn)(void *), void *arg);
long gs_clone3_run(struct gs_clone_args *args, unsigned long size, int (*fn)(void *), void *arg) {
    long r = gs_clone3_trampoline(args, size, fn, arg);
    if (r < 0) { errno = (int)-r; return -1; }
    return r;
}
#else
long gs_clone3_run(struct gs_clone_args *args, unsigned long size, int (*fn)(void *), void *arg) {
    (void)args; (void)size; (void)fn; (void)arg;
    errno = ENOSYS;
    return -1;
}
#endif

struct hook_exec {
    int exec_fd, in_fd, out_fd, keep_fd, max_fd;
    char *const *argv;
    char *const *envp;
    pid_t parent;
    volatile int *child_errno;
};

static int become_hook_in_cgroup(void *raw) {
    struct hook_exec *h = raw;
    become_hook(h->exec_fd, h->argv, h->envp, h->in_fd, h->out_fd, h->keep_fd, h->parent, h->max_fd, h->child_errno);
}

// The child starts inside the cgroup (CLONE_INTO_CGROUP), so no process of the hook ever
// exists outside it; like vfork it shares our memory (CLONE_VM) and we wait until it execs or
// exits (CLONE_VFORK), here on a stack of its own carved from ours, idle until then.
static pid_t clone_into_cgroup(int cgroup_fd, struct hook_exec *h) {
    _Alignas(16) char stack[32 * 1024];
    struct gs_clone_args args = {0};
    args.flags = CLONE_VM | CLONE_VFORK | GS_CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = sizeof stack;
    args.cgroup = (uint64_t)cgroup_fd;
    return (pid_t)gs_clone3_run(&args, sizeof args, become_hook_in_cgroup, h);
}

int gs_spawn_hook(int exec_fd, char *const argv[], char *const envp[], int in_fd, int out_fd, int keep_fd,
                  int cgroup_fd, int *clone_failed) {
    sigset_t all, old;
    sigfillset(&all);
    // No handler of ours may run in the child (it shares our memory until exec).
    pthread_sigmask(SIG_BLOCK, &all, &old);
    volatile int failed_step = 0;
    volatile int *child_errno = &failed_step;
    pid_t parent = getpid();
    // Without close_range (Linux < 5.11) the child marks descriptors one by one up to the limit.
    struct rlimit files = {0};
    int max_fd = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536 ? (int)files.rlim_cur : 65536;
    *clone_failed = 0;
    pid_t pid;
    if (cgroup_fd >= 0) {
        struct hook_exec h = {exec_fd, in_fd, out_fd, keep_fd, max_fd, argv, envp, parent, child_errno};
        pid = clone_into_cgroup(cgroup_fd, &h);
    } else {
        pid = vfork();
        if (pid == 0) become_hook(exec_fd, argv, envp, in_fd, out_fd, keep_fd, parent, max_fd, child_errno);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        *clone_failed = cgroup_fd >= 0;
        return -saved;
    }
    if (*child_errno != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return -*child_errno;
    }
    return pid;
}

int gs_pidfd_open(int pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int gs_memfd_create(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int gs_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -errno;
}

static volatile sig_atomic_t interrupt_signal = 0;
static int interrupt_fd = -1;

static void on_interrupt(int sig) {
    int saved = errno;
    if (interrupt_signal == 0) interrupt_signal = sig;
    char byte = (char)sig;
    if (interrupt_fd >= 0) (void)!write(interrupt_fd, &byte, 1);
    errno = saved;
}

int gs_install_interrupt_handlers(int notify_fd) {
    interrupt_fd = notify_fd;
    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (sigaction(signals[i], &sa, NULL) != 0) return -errno;
    }
    return 0;
}

int gs_interrupt_signal(void) { return interrupt_signal; }
