import CGuardSys
import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Synchronization
import Testing
import Glibc

/// Hazards: the engine against the kernel as it really behaves (races with mounting
/// storage, mounts below a target, failed rows, descriptor limits, the store's own
/// directory, moved guards, doctor's blind spots). Each test failed on the build before
/// the fix (RELIABILITY.md, "Issue 13").
extension EngineKernelTests {
    // MARK: storage mounting during an apply (issue 13 item 2)

    /// Storage mounting on targets while a 300-target apply runs must never end up under a
    /// guard: a guard that landed on a mount is undone and reported `skipped-mounted`; also
    /// on the older kernels' paths (item 9).
    @Test(sandboxed, arguments: OlderKernelPaths.allCases)
    func storageMountingDuringApplyIsNeverHidden(kernel: OlderKernelPaths) throws {
        let dir = try Sandbox.make("ek-race")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let targets = try (0..<300).map { try dir.mkdir("t\($0)") }
        let stop = Atomic<Bool>(false)
        let mounter = Thread {
            // Mount storage on the targets in turn until the apply has finished.
            var i = 0
            while !stop.load(ordering: .relaxed) && i < targets.count {
                _ = gs_mount("storage", targets[(i * 7) % targets.count], "tmpfs", 0, nil)
                i += 1
                usleep(200)
            }
        }
        mounter.start()
        let r = try runHookRunner(w, ["apply", "--kind", "bind"] + targets, kernel: kernel)
        stop.store(true, ordering: .relaxed)
        while mounter.isExecuting { usleep(1000) }
        #expect(r.status == 0, "\(r.stderr)")
        // A storage is hidden when a read-only guard sits on top of it.
        let hidden = try targets.filter { t in
            let stack = try findmnt(t)
            return stack.count >= 2 && stack.dropLast().contains { $0.hasPrefix("storage ") }
                && stack.last?.contains("ro,") == true
        }
        #expect(hidden.isEmpty, "storages hidden under a guard: \(hidden.count): \(hidden.prefix(5))")
    }

    // MARK: mounts below a target (item 3)

    @Test(sandboxed) func aTargetWithMountsBelowIsRefusedAndDoctorFlagsSuchAGuard() throws {
        let dir = try Sandbox.make("ek-below")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let pve = try dir.mkdir("pve")
        let nfs1 = try dir.mkdir("pve/nfs1")
        try mountFS("tmpfs", source: "storage", at: nfs1)
        let out = try w.engine.apply([pve])
        #expect(out.map(\.outcome) == [.refused], "\(out)")
        #expect(out.first?.reason?.contains(nfs1) == true, "\(out.first?.reason ?? "")")
        #expect(try findmnt(pve).isEmpty, "no guard over the live storage")
        #expect(try touchFailure("\(nfs1)/still-writable") == nil)

        // A guard made by hand over it is a finding.
        let k = LinuxKernel()
        let h = try k.openDirectory(pve)
        _ = try k.makeReadOnlyBind(h)
        k.close(h)
        let report = try w.engine.doctor(targets: [pve])
        let finding = report.findings.first { $0.path == pve && $0.code == "hides-mounts" }
        #expect(finding?.severity == .fail && finding?.message.contains(nfs1) == true, "\(report.findings)")
    }

    // MARK: failed immutable rows (item 4)

    /// chattr -i then +i by hand leaves a failed immutable row with the flag set: clear
    /// --all clears it and every other guard (exit 0), instead of exit 70 for all.
    @Test(sandboxed) func aFailedImmutableRowDoesNotBlockClearAll() throws {
        let dir = try Sandbox.make("ek-failed-row")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let t1 = try dir.mkdir("nfs1"), t2 = try dir.mkdir("nfs2"), t3 = try dir.mkdir("nfs3")
        #expect(try runHookRunner(w, ["apply", "--kind", "immutable", t1, t2, t3]).status == 0)
        try chattr("-i", t1)
        #expect(try runHookRunner(w, ["reconcile"]).status == 0)
        #expect(try w.row(t1)?.status == .failed)
        try chattr("+i", t1)
        // t3: the flag removed while the storage is mounted on it.
        try chattr("-i", t3)
        #expect(try runHookRunner(w, ["reconcile"]).status == 0)
        try chattr("+i", t3)
        try mountFS("tmpfs", source: "storage", at: t3)

        let r = try runHookRunner(w, ["clear", "--all"])
        #expect(r.status == 75, "t3 is mounted: deferred; \(r.stdout) \(r.stderr)")
        #expect(try !lsattrImmutable(t1) && !lsattrImmutable(t2))
        #expect(try w.row(t1) == nil && w.row(t2) == nil)
        #expect(try w.row(t3)?.status == .clearDeferred)
        try w.legalHistory(t1)
        try w.legalHistory(t3)
        try unmount(t3)
        #expect(try runHookRunner(w, ["clear", "--all"]).status == 0)
        #expect(try !lsattrImmutable(t3) && w.row(t3) == nil)
    }

    // MARK: descriptor limits (item 5)

    /// Under systemd's default soft limit of 1024 descriptors, 1100 targets all get bind
    /// guards: the soft limit is raised to the hard one, the kind never changes.
    @Test(sandboxed) func aLowDescriptorLimitNeverChangesTheKind() throws {
        let dir = try Sandbox.make("ek-nofile")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let targets = try (0..<1100).map { try dir.mkdir("t\($0)") }
        let r = try runHookRunner(w, ["apply"] + targets, prefix: ["prlimit", "--nofile=1024:8192", "--"])
        #expect(r.status == 0, "\(r.stderr.prefix(300))")
        #expect(try w.sql("SELECT kind || ' ' || count(*) FROM guards GROUP BY kind") == "bind 1100")
    }

    // MARK: the store's own directory (item 6)

    @Test(sandboxed, arguments: ["s//guards.db", "./s/guards.db", "link/guards.db"])
    func theStoreDirectoryCannotBeGuardedUnderAnotherSpelling(spelling: String) throws {
        let dir = try Sandbox.make("ek-store-spelling")
        defer { dir.cleanUp() }
        let s = try dir.mkdir("s")
        try #require(symlink(s, dir.sub("link")) == 0)
        let w = EngineKernelWorld(dir, storePath: "\(dir.path)/\(spelling)")
        #expect(try runHookRunner(w, ["guards"]).status == 0)
        let r = try runHookRunner(w, ["apply", s])
        #expect(r.status == 65, "\(r.stdout) \(r.stderr)")
        #expect(try findmnt(s).isEmpty)
        #expect(try runHookRunner(w, ["apply", try dir.mkdir("nfs1")]).status == 0, "the store stays writable")
    }

    // MARK: moved guards (item 7)

    @Test(sandboxed) func aMovedGuardIsDetectedAndRemovedWhereItIs() throws {
        let dir = try Sandbox.make("ek-moved")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let nfs1 = try dir.mkdir("pve/nfs1")
        #expect(try w.engine.apply([nfs1], kind: .bind).map(\.outcome) == [.applied])
        try #require(rename(dir.sub("pve"), dir.sub("pve.old")) == 0)
        _ = try dir.mkdir("pve/nfs1")
        #expect(try touchFailure("\(nfs1)/f") == nil, "the new directory is not guarded")
        let findings = try w.engine.doctor().findings.filter { $0.path == nfs1 }
        #expect(findings.contains { $0.code == "guard-moved" && $0.severity == .fail && $0.message.contains("pve.old/nfs1") },
                "\(findings)")

        let changes = try w.engine.reconcile(dryRun: true)
        #expect(changes.first?.reason.contains("pve.old/nfs1") == true, "\(changes)")
        let out = try w.engine.clear([nfs1])
        #expect(out.first?.outcome == .cleared && out.first?.reason?.contains("pve.old/nfs1") == true, "\(out)")
        #expect(try findmnt(dir.sub("pve.old/nfs1")).isEmpty, "the moved guard is removed")
        #expect(try w.row(nfs1) == nil)
        try w.legalHistory(nfs1)
    }

    @Test(sandboxed) func reconcileDoesNotAcceptAWritableBindAsTheGuard() throws {
        let dir = try Sandbox.make("ek-writable-bind")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let t = try dir.mkdir("nfs1")
        #expect(try runHookRunner(w, ["apply", "--kind", "bind", t], fault: .afterIntent).status == 137)
        try #require(gs_mount(t, t, nil, GS_MS_BIND, nil) == 0)
        let changes = try w.engine.reconcile()
        #expect(changes.map(\.to) == [.failed], "\(changes)")
    }

    // MARK: doctor's blind spots (item 8)

    @Test(sandboxed) func aSealOnAFilesystemWithoutTheFlagIsAFinding() throws {
        let dir = try Sandbox.make("ek-ramfs")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let ram = try dir.mkdir("ram")
        try mountFS("ramfs", source: "ram", at: ram)
        let nas = try dir.mkdir("ram/nas")
        let report = try w.engine.doctor(sealed: [nas])
        let mine = report.findings.filter { $0.path == nas }
        #expect(mine.contains { $0.code == "seal-unsupported" && $0.severity >= .warn }, "\(mine)")
    }

    @Test(sandboxed) func aPendingRowWhoseCommandIsGoneIsFlaggedAtOnce() throws {
        let dir = try Sandbox.make("ek-orphan")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let t = try dir.mkdir("nfs1")
        #expect(try runHookRunner(w, ["apply", t], fault: .afterIntent).status == 137)
        let report = try w.engine.doctor()
        #expect(report.findings.contains { $0.path == t && $0.code == "pending-orphaned" && $0.severity == .warn },
                "\(report.findings)")
    }

    @Test(sandboxed, arguments: OlderKernelPaths.allCases)
    func aSubmountInsideABindGuardDefersTheClear(kernel: OlderKernelPaths) throws {
        let dir = try Sandbox.make("ek-submount")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let t = try dir.mkdir("nfs1")
        let sub = try dir.mkdir("nfs1/sub")
        let applied = try runHookRunner(w, ["apply", "--kind", "bind", t], kernel: kernel)
        #expect(applied.status == 0)
        // The older path was really taken: the legacy bind says so in its outcome.
        #expect(applied.stdout.contains("legacy bind") == (kernel == .legacyBind || kernel == .both), "\(applied.stdout)")
        try mountFS("tmpfs", source: "inner", at: sub)
        let r = try runHookRunner(w, ["clear", t], kernel: kernel)
        #expect(r.status == 75, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("inside"), "\(r.stdout)")
        #expect(try w.row(t)?.status == .clearDeferred)
        try unmount(sub)
        #expect(try runHookRunner(w, ["clear", t], kernel: kernel).status == 0)
        try w.legalHistory(t)
    }

    @Test(sandboxed) func bareDoctorListsMountpointsThatHideData() throws {
        let dir = try Sandbox.make("ek-hidden")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let m = try dir.mkdir("nfs9")
        try makeFile("\(m)/written-while-offline")
        try mountFS("tmpfs", source: "storage", at: m)
        let report = try w.engine.doctor()
        #expect(report.findings.contains { $0.path == m && $0.code == "hidden-data" && $0.severity.rawValue == "info" },
                "\(report.findings)")
    }
}
