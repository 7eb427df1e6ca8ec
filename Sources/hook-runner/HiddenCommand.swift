import ArgumentParser
import GuardHooks
import GuardRender

/// `hook-runner hidden [TARGET...]`: what lies in the bare directory under each mountpoint.
struct HiddenCommand: ParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "hidden",
        abstract: "List data hidden in the bare directory under each mountpoint (written while the storage was away).",
        discussion: """
            Reads the bare directory through a private clone of the parent mount, so the storage
            mounted on top is never unmounted or touched; an offline target's bare directory is
            what the path shows. Default targets: every recorded guard's path, every
            [storage."PATH"] and every sealed mountpoint of the config file.
            Exit 0 nothing hidden; 1 something is hidden (for monitoring); 65 a bad target.
            Looking under mounted storage needs root.

            Example: hook-runner hidden /mnt/pve/nfs1 --limit 5
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Show at most the N largest entries per target.") var limit: Int = 10
    @Argument(help: "Mountpoint directories (default: recorded and configured ones).") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let settings = try global.settings()
        let engine = global.engine(settings, actor: "hook-runner hidden")
        let targets = allTargets.isEmpty ? engine.recordedAndConfiguredMountpoints(sealed: settings.sealed) : allTargets
        if targets.isEmpty && !global.json {
            Render.line("no recorded or configured mountpoints: name the targets to look at")
            return
        }
        try finish(Render.hiddenReport(engine.hidden(targets), limit: limit, json: global.json))
    }
}
