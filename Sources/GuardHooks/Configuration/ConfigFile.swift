import FileIO
import Glibc

/// The settings of `/etc/guard-hooks/config.toml`. Every key is optional; a key the file
/// does not set is nil and falls through to the built-in default (see `Settings`).
///
/// ```toml
/// allowed_roots = ["/mnt", "/srv/storage"]
/// store = "/var/lib/guard-hooks/guards.db"
/// hooks_dir = "/etc/guard-hooks/hooks.d"
/// timeout = 300        # seconds per hook
/// lock_timeout = 10    # seconds of waiting for the writers' lock
/// probe_timeout = 5    # seconds a call into a mounted storage may take (else: unreachable)
/// sealed = ["/mnt/storage", "/mnt/backup"]
/// phases = ["pre-verify"]  # phases beyond the standard ones that `run` accepts
///
/// [storage."/mnt/pve/nfs1"]   # the storage expected at a mountpoint (any subset of keys)
/// fstype = "nfs4"
/// source = "nas:/export/pve"
/// uuid = "…"                  # filesystem UUID, as blkid shows it
/// ```
package struct ConfigFile: Sendable, Hashable {
    package var allowedRoots: [String]?
    package var store: String?
    package var hooksDir: String?
    package var timeout: Double?
    package var lockTimeout: Double?
    /// Seconds after which `doctor` warns about a guard still held by a claim.
    package var claimWarnAfter: Double?
    package var probeTimeout: Double?
    package var sealed: [String]?
    package var phases: [String]?
    /// `[storage."PATH"]` tables, by normalized mountpoint.
    package var storage: [String: ExpectedStorage]
    /// Where Proxmox VE's storage list is (`doctor` reads it when it exists).
    package var pveStorageConfig: String?
    /// Where the filesystem UUID links are (a `uuid` of `[storage."PATH"]` is looked up there).
    package var diskByUUID: String?

    package init(allowedRoots: [String]? = nil, store: String? = nil, hooksDir: String? = nil,
                timeout: Double? = nil, lockTimeout: Double? = nil, probeTimeout: Double? = nil, sealed: [String]? = nil,
                phases: [String]? = nil, storage: [String: ExpectedStorage] = [:]) {
        self.allowedRoots = allowedRoots; self.store = store; self.hooksDir = hooksDir
        self.timeout = timeout; self.lockTimeout = lockTimeout; self.probeTimeout = probeTimeout
        self.sealed = sealed; self.phases = phases; self.storage = storage
    }

    /// The file read when neither `--config` nor `GUARD_HOOKS_CONFIG` names one.
    package static let defaultPath = "/etc/guard-hooks/config.toml"

    /// The keys the file may hold, in the order the README documents them.
    package static let keys = ["allowed_roots", "store", "hooks_dir", "timeout", "lock_timeout", "probe_timeout", "sealed",
                              "claim_warn_after", "phases", "pve_storage_cfg", "disk_by_uuid"]

    /// Parses and checks the text of a config file. `file` only names it in errors.
    package static func parse(_ text: String, file: String) throws(ConfigError) -> ConfigFile {
        let entries: [TOMLSubset.Entry]
        do { entries = try TOMLSubset.parse(text) } catch { throw ConfigError(file: file, line: error.line, message: error.message) }
        var config = ConfigFile()
        for entry in entries {
            func fail(_ message: String) -> ConfigError { ConfigError(file: file, line: entry.line, message: message) }
            if let table = entry.table {
                try storageEntry(entry, table, into: &config, file: file)
                continue
            }
            switch entry.key {
            case "allowed_roots":
                let roots = try strings(entry, fail)
                if roots.isEmpty { throw fail("allowed_roots is empty: no target could ever be guarded (leave the key out for the default)") }
                config.allowedRoots = try roots.map { root throws(ConfigError) in
                    switch PathPolicy.validateRoot(root) {
                    case .success(let r): return r
                    case .failure(let why): throw fail("allowed_roots: \(root): \(why)")
                    }
                }
            case "store":
                config.store = try absolutePath(entry, fail)
            case "hooks_dir":
                config.hooksDir = try absolutePath(entry, fail)
            case "pve_storage_cfg":
                config.pveStorageConfig = try absolutePath(entry, fail)
            case "disk_by_uuid":
                config.diskByUUID = try absolutePath(entry, fail)
            case "timeout":
                config.timeout = try seconds(entry, fail, zeroAllowed: false, upTo: 86_400)
            case "lock_timeout":
                config.lockTimeout = try seconds(entry, fail, zeroAllowed: true, upTo: 86_400)
            case "claim_warn_after":
                config.claimWarnAfter = try seconds(entry, fail, zeroAllowed: false, upTo: 31_536_000)
            case "probe_timeout":
                config.probeTimeout = try seconds(entry, fail, zeroAllowed: false, upTo: 86_400)
            case "sealed":
                let paths = try strings(entry, fail)
                for p in paths {
                    if case .failure(let why) = PathPolicy.normalize(p) { throw fail("sealed: \(p.debugDescription): \(why)") }
                }
                config.sealed = paths
            case "phases":
                let names = try strings(entry, fail)
                for name in names where !PhasesHeader.isPhaseName(name) {
                    throw fail("phases: \(name.debugDescription): use lower-case letters, digits and '-'")
                }
                config.phases = names
            default:
                throw fail("unknown key \"\(entry.key)\" (known: \(keys.joined(separator: ", ")))")
            }
        }
        return config
    }

    /// Reads and parses `path`. A missing file is nil when `required` is false (the default
    /// file is optional), an error when it is true (a file named by `--config` or
    /// `GUARD_HOOKS_CONFIG`). Any other read error is an error either way.
    package static func load(path: String, required: Bool) throws(ConfigError) -> ConfigFile? {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readFile(path, limit: 1_048_576)
        } catch {
            switch error {
            case .open(.noSuchFileOrDirectory) where !required: return nil
            case .open(let e), .read(let e): throw ConfigError(file: path, line: nil, message: e.description)
            case .notRegularFile: throw ConfigError(file: path, line: nil, message: "not a regular file")
            case .tooLarge: throw ConfigError(file: path, line: nil, message: "larger than 1 MiB: not a config file")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            // The line of the first invalid byte, so the operator can find it.
            let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            let line = (lines.firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0) + 1
            throw ConfigError(file: path, line: line, message: "not valid UTF-8")
        }
        return try parse(text, file: path)
    }

    private static func strings(_ entry: TOMLSubset.Entry, _ fail: (String) -> ConfigError) throws(ConfigError) -> [String] {
        guard case .array(let items) = entry.value else {
            throw fail("\(entry.key) must be an array of strings, not \(entry.value.typeName)")
        }
        return try items.map { item throws(ConfigError) in
            guard case .string(let s) = item else { throw fail("\(entry.key) must hold strings only, not \(item.typeName)") }
            return s
        }
    }

    private static func absolutePath(_ entry: TOMLSubset.Entry, _ fail: (String) -> ConfigError) throws(ConfigError) -> String {
        guard case .string(let s) = entry.value else { throw fail("\(entry.key) must be a string, not \(entry.value.typeName)") }
        guard s.hasPrefix("/") else { throw fail("\(entry.key) must be an absolute path: \(s.debugDescription)") }
        guard !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw fail("\(entry.key) contains a control character")
        }
        return s
    }

    /// A number of seconds in (0, max], or [0, max] when `zeroAllowed`.
    private static func seconds(_ entry: TOMLSubset.Entry, _ fail: (String) -> ConfigError, zeroAllowed: Bool,
                                upTo max: Double) throws(ConfigError) -> Double {
        let t: Double
        switch entry.value {
        case .integer(let n): t = Double(n)
        case .float(let f): t = f
        default: throw fail("\(entry.key) must be a number of seconds, not \(entry.value.typeName)")
        }
        guard t.isFinite, zeroAllowed ? t >= 0 : t > 0, t <= max else {
            throw fail(zeroAllowed ? "\(entry.key) must be between 0 and \(Int(max)) seconds"
                                   : "\(entry.key) must be more than 0 and at most \(Int(max)) seconds")
        }
        return t
    }
}

/// A config file that cannot be used: names the file and, where it applies, the line.
package struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    package var file: String
    package var line: Int?
    package var message: String

    package init(file: String, line: Int?, message: String) {
        self.file = file; self.line = line; self.message = message
    }

    /// `config.toml:7: unknown key "timout" …`, the form compilers use.
    package var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}
