import Glibc
import CGuardSys
import SystemPackage

/// Starts one hook process per the contract with our own spawner (hookspawn.c: vfork, or
/// clone3 into the hook's cgroup): swift-subprocess cannot exec from a vetted fd, arm a
/// parent-death signal, keep the targets fd open or start a process in a cgroup. Called on the thread that then watches and reaps the hook, so the
/// parent-death signal (tied to the spawning thread) fires only if hook-runner dies.
enum HookSpawner {
    struct Spawned {
        let pid: pid_t
        let pidfd: Int32
        /// Whether the hook started inside the cgroup it was given.
        let inCgroup: Bool
    }

    /// Target lists longer than this (bytes, newline-joined) go to hooks as a file
    /// (`GUARD_HOOKS_TARGETS_FILE`) instead of argv and `GUARD_HOOKS_TARGETS`: one
    /// environment string may not exceed 128 KiB (MAX_ARG_STRLEN), and argv and the
    /// environment share the exec's limit, with room left for a hook's own calls.
    static let inlineTargetsLimit = 32 * 1024

    /// How often, and how far apart (microseconds), a spawn that failed with ETXTBSY is
    /// tried: about one second in all.
    static let textBusyAttempts = 40
    static let textBusyPause: UInt32 = 25_000

    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// Opens the file to execute: from the vetted directory fd with `O_NOFOLLOW`, then
    /// `fstat`: as root it must still be the root-owned, not group/world-writable,
    /// executable regular file discovery judged (same device and inode).
    static func openExecutable(_ hook: PlannedHook) throws -> Int32 {
        let fd: Int32
        if let origin = hook.origin {
            let flags = GS_O_PATH | GS_O_CLOEXEC | (origin.enforceOwnership ? GS_O_NOFOLLOW : 0)
            fd = openat(origin.directory.fd, origin.entry, flags)
        } else {
            fd = open(hook.path, GS_O_PATH | GS_O_CLOEXEC)
        }
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        guard let origin = hook.origin, origin.enforceOwnership else { return fd }
        var info = stat()
        var refusal: String? = nil
        if fstat(fd, &info) != 0 {
            refusal = "cannot stat: \(Errno(rawValue: errno))"
        } else if (info.st_mode & S_IFMT) != S_IFREG {
            refusal = "not a regular file at exec time"
        } else if UInt64(info.st_dev) != origin.device || UInt64(info.st_ino) != origin.inode {
            refusal = "replaced after discovery"
        } else if info.st_mode & 0o111 == 0 {
            refusal = "not executable at exec time"
        } else {
            refusal = HookSecurity.fileRefusal(info)
        }
        if let refusal {
            close(fd)
            throw Refusal(description: refusal.hasPrefix("refused") ? refusal : "refused: \(refusal)")
        }
        return fd
    }

    /// A memfd holding the targets, one per line, for `GUARD_HOOKS_TARGETS_FILE`.
    static func targetsFile(_ targets: [String]) throws -> Int32 {
        let fd = gs_memfd_create("guard-hooks-targets")
        guard fd >= 0 else { throw Errno(rawValue: -fd) }
        var text = targets.joined(separator: "\n") + "\n"
        do {
            try text.withUTF8 { _ = try FileDescriptor(rawValue: fd).writeAll(UnsafeRawBufferPointer($0)) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// `cgroupFD` (-1: none): start the hook inside that cgroup (clone3). When the kernel
    /// refuses that, cgroups are turned off for this process and the hook starts without.
    static func spawn(executable: Int32, argv: [String], environment: [String: String],
                      outputFD: Int32, keepFD: Int32, cgroupFD: Int32) throws -> Spawned {
        let devNull = open("/dev/null", O_RDONLY | GS_O_CLOEXEC)
        guard devNull >= 0 else { throw Errno(rawValue: errno) }
        defer { close(devNull) }
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        var cgroupFD = cgroupFD
        // ETXTBSY: some process has the file open for writing. Often that is a fork of
        // another thread of ours that has not reached its exec yet and holds a copy of a
        // descriptor that thread just wrote the file with (a program that writes hooks and
        // runs them); the copy goes with that exec, so a short retry is all it takes.
        var attempts = 0
        while true {
            var cloneFailed: Int32 = 0
            pid = withCStrings(argv) { cArgv in
                withCStrings(env) { cEnv in
                    gs_spawn_hook(executable, cArgv, cEnv, devNull, outputFD, keepFD, cgroupFD, &cloneFailed)
                }
            }
            if cloneFailed != 0 {
                // No CLONE_INTO_CGROUP (Linux < 5.7), or a cgroup that cannot take processes.
                HookCgroups.shared?.disable()
                cgroupFD = -1
                continue
            }
            attempts += 1
            guard pid == -ETXTBSY, attempts < Self.textBusyAttempts else { break }
            usleep(Self.textBusyPause)
        }
        guard pid > 0 else { throw Errno(rawValue: -pid) }
        let pidfd = gs_pidfd_open(pid)
        return Spawned(pid: pid, pidfd: pidfd >= 0 ? pidfd : -1, inCgroup: cgroupFD >= 0)
    }

    /// Reaps the hook: its exit status, or 128+signal in `signal`.
    static func reap(_ pid: pid_t) -> (exitCode: Int32?, signal: Int32?) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return (nil, nil) }
        }
        let low = status & 0x7F
        return low == 0 ? ((status >> 8) & 0xFF, nil) : (nil, low)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
