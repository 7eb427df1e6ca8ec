import ArgumentParser
import FoundationEssentials
import FileIO
import GuardHooks
import SystemPackage
import GuardRender
import Glibc

/// `hook-runner metrics`: the store's state in the Prometheus text format, on stdout or
/// atomically into a node_exporter textfile-collector file.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print guard and run metrics in the Prometheus text format.",
        discussion: """
            Reads the store read-only (no lock; works for any user who can read the store). No store
            yet: every value is zero. A store that cannot be read: guard_hooks_store_up 0 is still
            written, then the error is reported (exit 70). Doctor's findings by severity and the
            configured seals not in force come from one doctor run (bounded by probe_timeout per
            storage that does not answer).
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
        let settings = try global.settings()
        let engine = global.engine(settings, actor: "hook-runner metrics")
        let now = Date()
        var snapshot: MetricsSnapshot
        var failure: Error?
        do {
            snapshot = try engine.metricsSnapshot(now: now)
        } catch {
            snapshot = MetricsSnapshot(storeUp: false, now: now)
            failure = error
        }
        snapshot.hiddenBytes = engine.hiddenBytes(sealed: settings.sealed)
        if let doctor = engine.doctorMetrics(sealed: settings.sealed) {
            snapshot.doctorFindings = doctor.findings
            snapshot.sealMissing = doctor.sealMissing
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
        let dir = FileIO.parentDirectory(path), name = FileIO.lastComponent(path) ?? path
        // node_exporter reads only *.prom: the temporary name must not end so.
        let temp = (dir == "/" ? "" : dir) + "/.\(name).\(getpid()).tmp"
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(temp), .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec, .noFollow],
                                         permissions: FilePermissions(rawValue: 0o644))
        } catch {
            throw CLIError.usage("metrics: \(temp): \(error)")
        }
        func fail(_ what: String, _ error: any Error) -> Error {
            unlink(temp)
            return CLIError.usage("metrics: \(what): \(error)")
        }
        do { try fd.writeAll(text.utf8) } catch { try? fd.close(); throw fail("write \(temp)", error) }
        _ = fchmod(fd.rawValue, 0o644)   // the umask must not narrow it
        if retryingInterrupts({ fsync(fd.rawValue) }) != 0 {
            let e = Errno(rawValue: errno)
            try? fd.close()
            throw fail("fsync \(temp)", e)
        }
        try? fd.close()
        if rename(temp, path) != 0 { throw fail("rename \(temp) to \(path)", Errno(rawValue: errno)) }
        if let dfd = try? FileDescriptor.open(FilePath(dir), .readOnly, options: [.directory, .closeOnExec]) {
            _ = retryingInterrupts { fsync(dfd.rawValue) }
            try? dfd.close()
        }
    }
}
