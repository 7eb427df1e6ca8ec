// spawn-floor MODE PHASE HOOK...
//   subprocess: Subprocess.run per hook, in its own process group, cwd /, empty environment,
//               output discarded (what hook-runner asks of the library, minus the capture)
//   posix:      posix_spawn + waitpid per hook with the same settings (no library)
// Exits 1 if a hook fails. Timings are taken from outside, like every other command.
import Glibc
import Subprocess
import SystemPackage

let args = CommandLine.arguments
guard args.count >= 4, ["subprocess", "posix"].contains(args[1]) else {
    let usage = "usage: spawn-floor subprocess|posix PHASE HOOK...\n"
    _ = write(2, usage, usage.utf8.count); exit(64)
}
let phase = args[2], hooks = Array(args.dropFirst(3))
// cwd / for every child, as the runner gives hooks (inherited; the chdir file action is a
// GNU extension Swift's Glibc module does not import).
_ = chdir("/")

func posixSpawn(_ path: String) -> Int32 {
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attr, 0)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), strdup(phase), nil]
    let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
    let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
    posix_spawn_file_actions_destroy(&actions); posix_spawnattr_destroy(&attr)
    guard rc == 0 else { return 127 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
}

var failed = false
for hook in hooks {
    if args[1] == "posix" {
        failed = failed || posixSpawn(hook) != 0
    } else {
        var options = PlatformOptions()
        options.processGroupID = 0
        let result = try await Subprocess.run(
            .path(FilePath(hook)), arguments: Arguments([phase]),
            environment: .custom(["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]),
            workingDirectory: FilePath("/"), platformOptions: options,
            input: .none, output: .discarded, error: .discarded)
        failed = failed || !result.terminationStatus.isSuccess
    }
}
exit(failed ? 1 : 0)
