import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GuardHooks
import GuardRender
#if canImport(Glibc)
import Glibc
#endif

/// `hook-runner metrics`: the store's state in the Prometheus text format, on stdout or
/// atomically into a node_exporter textfile-collector file.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print guard and run metrics in the Prometheus text format.",
        discussion: """
            Reads the store read-only (no lock; works for any user who can read the store). No store
            yet: every value is zero. A store that cannot be read: guard_hooks_store_up 0 is still
            written, then the error is reported (exit 70).
            --textfile PATH writes the file atomically (a temporary file in the same directory,
            fsync, rename), for node_exporter's --collector.textfile.directory.

            Example (cron, every minute): hook-runner metrics --textfile /var/lib/node_exporter/textfile/guard_hooks.prom
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Write to this file atomically instead of stdout (name it *.prom).", valueName: "path"))
    var textfile: String?

    func validate() throws {
        if global.json { throw ValidationError("metrics prints the Prometheus text format; --json does not apply") }
        if let textfile, textfile.isEmpty || textfile.hasSuffix("/") { throw ValidationError("--textfile needs a file path") }
    }

    func run() throws {
        let engine = try global.engine(actor: "hook-runner metrics")
        let now = Date()
        let snapshot: MetricsSnapshot
        var failure: Error?
        do {
            snapshot = try engine.metricsSnapshot(now: now)
        } catch {
            snapshot = MetricsSnapshot(storeUp: false, now: now)
            failure = error
        }
        let text = PrometheusText.render(snapshot)
        if let textfile {
            try writeAtomically(text, to: textfile)
        } else {
            Render.write(Data(text.utf8))
        }
        if let failure {
            throw GuardEngineError.store("metrics: \(failure)")
        }
    }

    /// temp file beside the target (same filesystem), fsync, rename, fsync the directory.
    func writeAtomically(_ text: String, to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // node_exporter reads only *.prom: the temporary name must not end so.
        let temp = (dir == "/" ? "" : dir) + "/.\(name).\(getpid()).tmp"
        func fail(_ what: String) -> Error {
            let message = "metrics: \(what): \(String(cString: strerror(errno)))"
            unlink(temp)
            return CLIError.usage(message)
        }
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        if fd < 0 { throw CLIError.usage("metrics: \(temp): \(String(cString: strerror(errno)))") }
        var ok = true
        Array(text.utf8).withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; ok = false; return }
                off += n
            }
        }
        if !ok { close(fd); throw fail("write \(temp)") }
        _ = fchmod(fd, 0o644)
        if fsync(fd) != 0 { close(fd); throw fail("fsync \(temp)") }
        close(fd)
        if rename(temp, path) != 0 { throw fail("rename \(temp) to \(path)") }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}
