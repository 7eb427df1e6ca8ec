import Foundation

// Processes as /proc shows them: what a test checks after killing or timing out a hook.

/// Whether a process whose command line contains `argument` is running.
package func processRunning(argument: String) -> Bool {
    guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
    for pid in pids where pid.allSatisfy(\.isNumber) {
        if let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
           String(decoding: data, as: UTF8.self).contains(argument) { return true }
    }
    return false
}

/// Live (neither zombie nor dead) processes whose process group is `pgid`, from
/// /proc/PID/stat, each as `PID STATE PID (COMM`.
package func liveProcesses(inGroup pgid: Int32) -> [String] {
    guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return pids.compactMap { pid -> String? in
        guard Int32(pid) != nil, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state ppid pgrp ...
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, Int32(fields[2]) == pgid, fields[0] != "Z", fields[0] != "X" else { return nil }
        return "\(pid) \(fields[0]) \(stat[..<close])"
    }
}
