import GuardHooks
import Testing

/// The vzdump phase → our phase mapping, as a table.
@Suite struct VzdumpMapping {
    typealias V = Vzdump

    static let roots = ["/mnt", "/media", "/run/media"]

    /// (phase, argv tail, DUMPDIR, expected phase or nil for nothing)
    static let table: [(String, [String], String?, String?)] = [
        ("job-init", [], nil, nil),                                   // DUMPDIR unknown before activation
        ("job-init", [], "/mnt/usb", "pre-backup"),                   // --dumpdir given directly
        ("job-start", [], "/mnt/pve/nfs1/dump", "pre-backup"),
        ("backup-start", ["snapshot", "101"], "/mnt/pve/nfs1/dump", "pre-backup"),
        ("pre-stop", ["snapshot", "101"], "/mnt/pve/nfs1/dump", nil),
        ("pre-restart", ["snapshot", "101"], "/mnt/pve/nfs1/dump", nil),
        ("post-restart", ["snapshot", "101"], "/mnt/pve/nfs1/dump", nil),
        ("backup-end", ["snapshot", "101"], "/mnt/pve/nfs1/dump", nil),
        ("backup-abort", ["stop", "101"], "/mnt/pve/nfs1/dump", nil),
        ("log-end", ["snapshot", "101"], "/mnt/pve/nfs1/dump", nil),
        ("job-end", [], "/mnt/pve/nfs1/dump", "post-backup"),
        ("job-abort", [], "/mnt/pve/nfs1/dump", "post-backup"),
        ("job-start", [], nil, nil),                                  // PBS storage: no DUMPDIR
        ("job-start", [], "/var/lib/vz/dump", nil),                   // local storage: outside the roots
        ("some-future-phase", [], "/mnt/pve/nfs1/dump", nil),
    ]

    @Test(arguments: 0..<table.count) func phaseTable(_ i: Int) {
        let (phase, tail, dumpDir, expected) = Self.table[i]
        var env = ["STOREID": "nfs1"]
        if let dumpDir { env["DUMPDIR"] = dumpDir }
        let call = V.Invocation(arguments: [phase] + tail, environment: env)
        let action = V.plan(call, configuredTargets: [], allowedRoots: Self.roots)
        switch (action, expected) {
        case (.run(let ours, let targets), .some(let want)):
            #expect(ours == want, "\(phase)")
            #expect(targets == [V.mountpoint(forDumpDir: dumpDir!)!])
        case (.nothing(let why), nil):
            #expect(!why.isEmpty)
        default:
            Issue.record("\(phase) DUMPDIR=\(dumpDir ?? "-"): got \(action), expected \(expected ?? "nothing")")
        }
    }

    @Test func everyPhaseIsMapped() {
        for p in V.Phase.allCases {
            let ours = V.ourPhase(for: p)
            switch p {
            case .jobInit, .jobStart, .backupStart: #expect(ours == "pre-backup")
            case .jobEnd, .jobAbort: #expect(ours == "post-backup")
            default: #expect(ours == nil, "\(p)")
            }
            #expect(p.isGuestPhase == ![.jobInit, .jobStart, .jobEnd, .jobAbort].contains(p))
        }
    }

    @Test(arguments: [
        ("/mnt/pve/nfs1/dump", "/mnt/pve/nfs1"),
        ("/mnt/pve/nfs1/dump/", "/mnt/pve/nfs1"),
        ("/mnt//backup/./dump", "/mnt/backup"),
        ("/mnt/usb", "/mnt/usb"),
        ("/mnt/usb/vzdump", "/mnt/usb/vzdump"),
        ("/dump", "/dump"),
    ])
    func mountpointFromDumpDir(_ dumpDir: String, _ want: String) {
        #expect(V.mountpoint(forDumpDir: dumpDir) == want)
    }

    @Test(arguments: ["relative/dump", "", "/mnt/a\n/dump", "/mnt/../etc/dump"])
    func invalidDumpDirGuardsNothing(_ dumpDir: String) {
        #expect(V.mountpoint(forDumpDir: dumpDir) == nil)
        let action = V.plan(V.Invocation(phase: "job-start", dumpDir: dumpDir), configuredTargets: [])
        guard case .nothing = action else { Issue.record("\(action)"); return }
    }

    @Test func configuredTargetsWinAndAreNotFiltered() {
        let call = V.Invocation(arguments: ["job-init"], environment: ["STOREID": "nfs1"])
        #expect(V.plan(call, configuredTargets: ["/mnt/pve/nfs1", "/mnt/a"]) == .run(phase: "pre-backup", targets: ["/mnt/pve/nfs1", "/mnt/a"]))
        // Outside the roots but configured: passed on, so the engine refuses it loudly.
        let start = V.Invocation(arguments: ["job-start"], environment: ["DUMPDIR": "/mnt/x/dump"])
        #expect(V.plan(start, configuredTargets: ["/srv/backup"]) == .run(phase: "pre-backup", targets: ["/srv/backup"]))
    }

    @Test func invocationFromArgvAndEnvironment() {
        let call = V.Invocation(arguments: ["backup-end", "stop", "102"],
                                environment: ["STOREID": "", "DUMPDIR": "/mnt/usb", "VMTYPE": "lxc"])
        #expect(call == V.Invocation(phase: "backup-end", mode: "stop", vmid: "102", storeID: nil, dumpDir: "/mnt/usb"))
        #expect(call.summary == "backup-end vmid 102 (stop)")
    }
}
