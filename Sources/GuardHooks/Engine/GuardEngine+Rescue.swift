import CGuardSys
import FileIO
import Glibc
import GuardStore

/// What `rescue` did (or, in a dry run, would do) for one target.
package struct RescueResult: Sendable, Hashable {
    package var target: String
    package var path: String
    /// `DIR/<name>-<time>`.
    package var destination: String
    package var method: RescueRecord.Method
    package var dryRun: Bool
    /// The entries moved (or that would move).
    package var moved: [RescueRecord.Entry]
    /// Entries that stay in the bare directory, and why (open for writing, a failed move).
    package var leftBehind: [LeftBehind]
    package var rescueID: Int64?

    package struct LeftBehind: Sendable, Hashable {
        package var name: String
        package var reason: String
    }
}

/// A rescue that cannot start: a bad target, or a destination a rename cannot reach (exit 65).
package struct RescueRefusal: Error, Sendable, CustomStringConvertible {
    package var description: String
}

extension GuardEngine {
    /// Moves what lies in `target`'s bare directory (under the mounted storage, seen through
    /// a private clone of the parent mount) into `dir/<name>-<stamp>/`. Same mount as the
    /// parent: one `renameat2(RENAME_NOREPLACE)` per entry, so an interruption leaves each
    /// entry in exactly one of the two places. Another filesystem: refused unless `copy`,
    /// then copy, verify, and only then remove. A file open for writing stays. The storage
    /// on top is never touched. Recorded in the store before anything moves and settled after.
    package func rescue(_ target: String, to dir: String, stamp: String, copy: Bool,
                       dryRun: Bool) throws -> RescueResult {
        // The same checks as `hidden` (policy, the parent resolved, the bare directory there);
        // the moves themselves happen in `RescueView`'s clone.
        let path: String
        do throws(HiddenFailure) {
            let found = try openBare(target)
            kernel.close(found.bare)
            path = found.path
        } catch {
            throw RescueRefusal(description: "\(error.path ?? target): \(error.reason)")
        }
        let destinationParent: String
        do { destinationParent = try kernel.resolve(dir) } catch { throw RescueRefusal(description: "--to \(dir): \(error)") }
        if destinationParent == path || PathPolicy.isStrictlyBelow(destinationParent, path) {
            throw RescueRefusal(description: "--to \(destinationParent) lies inside \(path): it would move into the storage")
        }
        let name = FileIO.lastComponent(path) ?? "rescue"
        let destination = (destinationParent == "/" ? "" : destinationParent) + "/\(name)-\(stamp)"

        let view = try RescueView(path: path, destinationParent: destinationParent, kernel: kernel)
        defer { view.close() }
        let method: RescueRecord.Method = view.sameMount ? .rename : .copy
        if !view.sameMount && !copy {
            throw RescueRefusal(description: "--to \(destinationParent) is on another filesystem or mount than \(FileIO.parentDirectory(path)): "
                                + "a rename cannot move there (give --copy to copy, verify, then remove)")
        }
        let scan: HiddenScan
        do { scan = try HiddenScanner.scan(view.bare, path: path, budget: Int.max) } catch {
            throw RescueRefusal(description: "\(path): \(error)")
        }
        let writers = OpenWriters.scan()
        var result = RescueResult(target: target, path: path, destination: destination, method: method, dryRun: dryRun,
                                  moved: [], leftBehind: [])
        var plan: [HiddenEntry] = []
        for entry in scan.top {
            if let pid = writers.writer(view.bare, Array(entry.name.utf8)) {
                result.leftBehind.append(.init(name: entry.name, reason: "open for writing by pid \(pid)"))
            } else {
                plan.append(entry)
            }
        }
        if dryRun || plan.isEmpty {
            result.moved = plan.map { RescueRecord.Entry(name: $0.name, bytes: $0.bytes, entries: $0.entries) }
            return result
        }
        return try mappingStoreErrors {
            let session = try openSession(forWriting: true)
            defer { session.lock?.release() }
            guard let store = session.store else { throw GuardEngineError.store("no store") }
            let id = try store.beginRescue(path: path, destination: destination, method: method,
                                           runID: configuration.runID, actor: actor)
            result.rescueID = id
            let into = try view.makeDestination(Array("\(name)-\(stamp)".utf8))
            defer { closeFD(into) }
            for entry in plan {
                let bytes = Array(entry.name.utf8)
                do throws(KernelError) {
                    if method == .rename {
                        try TreeOps.move(view.bare, bytes, to: into)
                    } else {
                        try TreeOps.copy(view.bare, bytes, to: into)
                        guard try TreeOps.same(view.bare, into, bytes) else {
                            result.leftBehind.append(.init(name: entry.name, reason: "the copy differs from the original: original kept"))
                            continue
                        }
                        try TreeOps.remove(view.bare, bytes)
                    }
                    result.moved.append(RescueRecord.Entry(name: entry.name, bytes: entry.bytes, entries: entry.entries))
                    if result.moved.count == 3 { crashIfFaultPoint(.rescueMidway) }
                } catch {
                    result.leftBehind.append(.init(name: entry.name, reason: "\(error)"))
                }
            }
            let left = result.leftBehind.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
            try store.finishRescue(id: id, moved: result.moved, leftBehind: left.isEmpty ? nil : left)
            return result
        }
    }

    /// Past rescues, newest last.
    package func rescues(path: String? = nil, limit: Int? = nil) throws -> [RescueRecord] {
        try reading { store in try store.rescues(path: path, limit: limit) } ?? []
    }
}

/// The bare directory and the destination's parent, both inside one private clone of the
/// mount that holds the target's parent: a rename needs both ends on the same mount, and
/// the real tree has the storage on top of the bare directory. With a destination on
/// another mount, the destination is opened in the real tree (for a copy).
struct RescueView {
    let bare: Int32
    let destinationParent: Int32
    let sameMount: Bool

    init(path: String, destinationParent destinationPath: String, kernel: any KernelOperations) throws {
        let linux = LinuxKernel()
        let parentPath = FileIO.parentDirectory(path)
        let pathFlags = Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC)
        func mountID(_ p: String) throws -> UInt64 {
            let fd = try linux.openNoSymlinks(p, flags: pathFlags)
            defer { closeFD(fd) }
            let st = try linux.statx(fd, p, mask: GS_STATX_MNT_ID)
            guard st.mask & GS_STATX_MNT_ID != 0 else { throw RescueRefusal(description: "\(p): statx gives no mount id") }
            return st.mnt_id
        }
        let parentMount = try mountID(parentPath)
        sameMount = try mountID(destinationPath) == parentMount
        guard let mount = try kernel.mountInfo().first(where: { $0.mountID == parentMount }) else {
            throw RescueRefusal(description: "\(parentPath): its mount is not in the mount table")
        }
        // A clone of the whole mount, so both paths can be reached below its root.
        let top = try linux.openNoSymlinks(mount.mountPoint, flags: pathFlags)
        defer { closeFD(top) }
        guard try linux.statx(top, mount.mountPoint, mask: GS_STATX_MNT_ID).mnt_id == parentMount else {
            throw RescueRefusal(description: "\(mount.mountPoint): another mount is stacked on the parent's mount point")
        }
        let tree = try sys("open_tree(OPEN_TREE_CLONE)", mount.mountPoint) {
            gs_open_tree(top, "", GS_OPEN_TREE_CLONE | UInt32(GS_OPEN_TREE_CLOEXEC) | UInt32(GS_AT_EMPTY_PATH))
        }
        defer { closeFD(tree) }
        func relative(_ p: String) -> String { mount.mountPoint == "/" ? p : String(p.dropFirst(mount.mountPoint.count)) }
        bare = try TreeOps.openRelative(tree, relative(path))
        do {
            destinationParent = sameMount ? try TreeOps.openRelative(tree, relative(destinationPath))
                                          : try kernel.openDirectory(destinationPath).fd
        } catch {
            closeFD(bare)
            throw error
        }
    }

    /// Creates the rescue directory (mode 0700: what it holds was the storage's) and opens it.
    func makeDestination(_ name: [UInt8]) throws(KernelError) -> Int32 {
        try HiddenScanner.cString(name) { n throws(KernelError) in
            try sys("mkdirat", TreeOps.text(name)) { gs_mkdirat(destinationParent, n, 0o700) }
        }
        return try TreeOps.openDirectory(destinationParent, name)
    }

    func close() { closeFD(bare); closeFD(destinationParent) }
}

extension RescueResult: Encodable {
    /// The target as typed is not part of the document (`path` is what it names).
    enum CodingKeys: String, CodingKey { case path, destination, method, dryRun, moved, leftBehind, rescueID }
}
extension RescueResult.LeftBehind: Encodable {}
