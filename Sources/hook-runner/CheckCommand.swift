import ArgumentParser
import GuardHooks
import GuardRender

/// `hook-runner check TARGET...`: is the expected storage there? The drop-in for
/// `findmnt … || exit 75` and `mountpoint -q` that a bind guard cannot fool.
struct CheckCommand: ParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Tell whether each target's storage is mounted (online, offline, wrong-storage, unreachable).",
        discussion: """
            online: the expected storage is mounted ([storage."PATH"] in config.toml: fstype, source,
            uuid; without one, any storage that is not a guard). offline: nothing is mounted, or only
            a read-only bind guard (reported with its id when the store can be read). wrong-storage:
            another filesystem is mounted there. unreachable: mounted but the path did not answer
            within --deadline seconds.
            Exit 0 all online; 75 any offline or unreachable; 1 a wrong storage; 65 a bad target.
            Changes nothing, takes no lock, needs no root (the mount table is world-readable).

            Example (borgmatic): commands: [{before: repository, run: ["hook-runner check /mnt/backup"]}]
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Seconds the path may take to answer before it counts as unreachable.", valueName: "seconds"))
    var deadline: Double = 10
    @Argument(help: "Mountpoint directories to check.") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }

    func validate() throws {
        if allTargets.isEmpty { throw ValidationError("check needs at least one target") }
        guard deadline.isFinite, deadline > 0, deadline <= 3600 else {
            throw ValidationError("--deadline must be more than 0 and at most 3600 seconds")
        }
    }

    func run() throws {
        let engine = try global.engine(actor: "hook-runner check")
        try finish(Render.checkReport(engine.check(allTargets, deadline: deadline), json: global.json))
    }
}
