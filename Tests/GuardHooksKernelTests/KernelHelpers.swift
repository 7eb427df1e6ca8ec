import Foundation
import GuardTestSupport
import Testing

/// mountinfo's (old, reusable) mount id and source of each mount stacked at `path`,
/// read with a plain split rather than the parser under test.
func mountinfoIDs(at path: String) throws -> [(id: UInt64, source: String)] {
    guard let text = Sandbox.readProcFile("/proc/self/mountinfo") else { throw POSIXError(.EIO) }
    return text.split(separator: "\n").compactMap { line in
        let f = line.split(separator: " ", omittingEmptySubsequences: false)
        guard f.count > 4, f[4] == path, let dash = f.firstIndex(of: "-"), dash + 2 < f.count,
              let id = UInt64(f[0]) else { return nil }
        return (id, String(f[dash + 2]))
    }
}

/// The attribute column of `lsattr -d PATH`, which must succeed (the kernel tests read
/// the flag where lsattr can tell).
func lsattrFlags(_ path: String) throws -> String {
    String(try output(["lsattr", "-d", path]).split(separator: " ").first ?? "")
}

/// Storage mounted on a guard with a LOWER reusable mountinfo id than the guard's: whoever
/// unmounts "the highest id" or the bare path would take the storage.
struct MountIDTrap {
    let target: String
    let guardOldID: UInt64
    let storageOldID: UInt64
}

struct MountIDTrapNotSet: Error, CustomStringConvertible {
    let description: String
}

/// Sets the trap in `dir`: throwaway mounts hold low ids while `makeGuard(target)` runs;
/// freed afterwards, they are reused (ida: lowest free first) by the storage. Tests in
/// parallel mount too and may take the freed ids first, so each of up to five attempts
/// has a target of its own, and `undo(target)` (storage unmounted again) removes the
/// guard of an attempt whose trap did not close.
func setMountIDTrap(in dir: SandboxDirectory, makeGuard: (String) throws -> Void,
                    undo: (String) throws -> Void) throws -> MountIDTrap {
    var missed: [String] = []
    for attempt in 0..<5 {
        let target = try dir.mkdir("target\(attempt)")
        var throwaways: [String] = []
        for i in 0..<8 {
            let p = try dir.mkdir("throwaway\(attempt)-\(i)")
            try mountFS("tmpfs", source: "throwaway", at: p)
            throwaways.append(p)
        }
        try makeGuard(target)
        for p in throwaways { try unmount(p) }
        try mountFS("tmpfs", source: "storage", at: target)

        let stacked = try mountinfoIDs(at: target)
        let guardOldID = try #require(stacked.first { $0.source != "storage" }?.id)
        let storageOldID = try #require(stacked.first { $0.source == "storage" }?.id)
        if storageOldID < guardOldID {
            return MountIDTrap(target: target, guardOldID: guardOldID, storageOldID: storageOldID)
        }
        missed.append("storage \(storageOldID), guard \(guardOldID)")
        try unmount(target)
        try undo(target)
    }
    throw MountIDTrapNotSet(description: "trap not set in 5 attempts: \(missed)")
}
