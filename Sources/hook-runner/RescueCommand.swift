import ArgumentParser
import FoundationEssentials
import GuardHooks
import GuardRender

/// `hook-runner rescue TARGET --to DIR`: moves hidden data out from under the storage.
struct RescueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rescue",
        abstract: "Move the data hidden under a mountpoint into DIR/<name>-<time>/.",
        discussion: """
            Each entry of the bare directory (read through a private clone of the parent mount: the
            storage on top is never touched) is renamed with renameat2(RENAME_NOREPLACE) into
            DIR/<name>-<RFC 3339 time>/. DIR must be on the same mount as the target's parent, so
            every move is a rename: nothing is copied, and an interrupted rescue leaves each entry
            in exactly one of the two places. Another filesystem is refused (65) unless --copy:
            then each entry is copied, verified byte for byte, and only then removed.
            A file some process has open for writing (a scan of /proc/*/fd) is not moved.
            Each rescue is recorded in the store and shown by history.
            Exit 0 all moved; 1 something stayed behind; 65 a bad target or destination.

            Example: hook-runner rescue /mnt/pve/nfs1 --to /var/lib/guard-hooks/rescued --dry-run
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @Option(help: ArgumentHelp("The directory to move the hidden entries into.", valueName: "dir")) var to: String
    @Flag(help: "Allow a destination on another filesystem: copy, verify, then remove.") var copy = false
    @Argument(help: "The mountpoint whose bare directory is emptied.") var target: String

    func run() throws {
        try requireRoot("rescue", dryRun: false)  // even a dry run looks under the storage (open_tree)
        let engine = try global.engine(actor: "hook-runner rescue")
        let result: RescueResult
        do {
            result = try engine.rescue(target, to: to, stamp: Timestamp.rfc3339(Date()), copy: copy, dryRun: dry.dryRun)
        } catch let refusal as RescueRefusal {
            throw CLIError.badTarget(refusal.description)
        }
        try finish(Render.rescueReport(result, json: global.json))
    }
}
