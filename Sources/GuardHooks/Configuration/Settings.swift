/// The settings a command runs with, each taken from the first layer that sets it:
/// command-line flag > environment variable > config file > built-in default.
/// Pure: the caller reads the environment and the file and passes them in.
package struct Settings: Sendable, Hashable {
    /// Where a value came from (for messages and tests).
    package enum Source: String, Sendable, Hashable { case flag, environment, file, `default` }

    package var storePath: String
    package var allowedRoots: [String]
    package var hooksDir: String
    /// Seconds one hook may run.
    package var timeout: Double
    /// Seconds of waiting for the writers' lock.
    package var lockTimeout: Double
    /// Seconds after which `doctor` warns about a guard still held by a claim.
    package var claimWarnAfter: Double
    /// Seconds a call into a possibly dead storage may take before its target is `unreachable`.
    package var probeTimeout: Double
    /// The mountpoints `seal` seals when given none, and `doctor` checks.
    package var sealed: [String]
    /// The storage expected at each configured mountpoint (`[storage."PATH"]`, file only).
    package var storage: [String: ExpectedStorage] = [:]
    /// Proxmox VE's storage list and the UUID link directory (file only, for tests and odd hosts).
    package var pveStorageConfig = Default.pveStorageConfig
    package var diskByUUID = Default.diskByUUID
    package var sources: [String: Source]
    /// Phases beyond the standard ones that `run` accepts (config `phases`; file only).
    package var phases: [String] = []

    /// The environment variables of each setting.
    package enum Variable {
        package static let config = "GUARD_HOOKS_CONFIG"
        package static let store = "GUARD_HOOKS_DB"
        package static let allowedRoots = "GUARD_HOOKS_ALLOW_ROOTS"
        package static let hooksDir = "GUARD_HOOKS_DIR"
        package static let timeout = "GUARD_HOOKS_TIMEOUT"
        package static let lockTimeout = "GUARD_HOOKS_LOCK_TIMEOUT"
        package static let sealed = "GUARD_HOOKS_SEAL"
        package static let claimWarnAfter = "GUARD_HOOKS_CLAIM_WARN_AFTER"
        package static let probeTimeout = "GUARD_HOOKS_PROBE_TIMEOUT"
    }

    package enum Default {
        package static let store = GuardEngineConfiguration.defaultStorePath
        package static let allowedRoots = PathPolicy.defaultAllowedRoots
        package static let hooksDir = "/etc/guard-hooks/hooks.d"
        package static let timeout = 300.0
        package static let lockTimeout = 10.0
        package static let sealed: [String] = []
        package static let claimWarnAfter = 86_400.0
        package static let pveStorageConfig = "/etc/pve/storage.cfg"
        package static let diskByUUID = "/dev/disk/by-uuid"
        package static let probeTimeout = 5.0
    }

    /// What the command line said; nil or empty: not given.
    package struct Flags: Sendable, Hashable {
        /// `--config`: a config file that must exist.
        package var config: String?
        package var store: String?
        package var allowedRoots: [String]
        package var hooksDir: String?
        package var timeout: Double?
        package init(config: String? = nil, store: String? = nil, allowedRoots: [String] = [], hooksDir: String? = nil,
                    timeout: Double? = nil) {
            self.config = config; self.store = store; self.allowedRoots = allowedRoots; self.hooksDir = hooksDir; self.timeout = timeout
        }
    }

    /// The config file to read: `--config`, else `GUARD_HOOKS_CONFIG`, else the default.
    /// `required` is true when it was named: then a missing file is an error.
    package static func configFile(flag: String?, environment: [String: String]) -> (path: String, required: Bool) {
        if let flag { return (flag, true) }
        if let env = environment[Variable.config], !env.isEmpty { return (env, true) }
        return (ConfigFile.defaultPath, false)
    }

    /// Resolves every setting once for a command, reading the config file that `flags` and
    /// `environment` name: the one caller of the config-file loader. A malformed or missing
    /// named file is a `SettingsError` (exit 64).
    package static func resolve(flags: Flags, environment: [String: String]) throws(SettingsError) -> Settings {
        let (path, required) = configFile(flag: flags.config, environment: environment)
        let file: ConfigFile?
        do { file = try ConfigFile.load(path: path, required: required) } catch { throw SettingsError(error.description) }
        return try resolve(flags: flags, environment: environment, file: file)
    }

    /// Resolves every setting from layers already read (pure). An environment variable set to
    /// the empty string counts as unset.
    static func resolve(flags: Flags, environment: [String: String], file: ConfigFile?) throws(SettingsError) -> Settings {
        var sources: [String: Source] = [:]
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func pick<T>(_ key: String, _ flag: T?, _ envValue: T?, _ fileValue: T?, _ fallback: T) -> T {
            if let flag { sources[key] = .flag; return flag }
            if let envValue { sources[key] = .environment; return envValue }
            if let fileValue { sources[key] = .file; return fileValue }
            sources[key] = .default
            return fallback
        }
        func seconds(_ name: String, positive: Bool) throws(SettingsError) -> Double? {
            guard let raw = env(name) else { return nil }
            guard let v = Double(raw), v.isFinite, positive ? v > 0 : v >= 0, v <= 86_400 else {
                throw SettingsError("\(name)=\(raw): want a number of seconds, \(positive ? "more than 0" : "0 or more") and at most 86400")
            }
            return v
        }
        func roots(_ raw: [String], from what: String) throws(SettingsError) -> [String] {
            try raw.map { root throws(SettingsError) in
                switch PathPolicy.validateRoot(root) {
                case .success(let r): return r
                case .failure(let why): throw SettingsError("\(what) \(root): \(why)")
                }
            }
        }
        func colonList(_ name: String) -> [String]? {
            env(name).map { $0.split(separator: ":").map(String.init) }.flatMap { $0.isEmpty ? nil : $0 }
        }

        let flagRoots = flags.allowedRoots.isEmpty ? nil : try roots(flags.allowedRoots, from: "--allow-root")
        let envRoots = try colonList(Variable.allowedRoots).map { list throws(SettingsError) in
            try roots(list, from: Variable.allowedRoots + ":")
        }
        let envTimeout = try seconds(Variable.timeout, positive: true)
        let envLock = try seconds(Variable.lockTimeout, positive: false)
        let envProbe = try seconds(Variable.probeTimeout, positive: true)
        var settings = Settings(
            storePath: pick("store", flags.store, env(Variable.store), file?.store, Default.store),
            allowedRoots: pick("allowed_roots", flagRoots, envRoots, file?.allowedRoots, Default.allowedRoots),
            hooksDir: pick("hooks_dir", flags.hooksDir, env(Variable.hooksDir), file?.hooksDir, Default.hooksDir),
            timeout: pick("timeout", flags.timeout, envTimeout, file?.timeout, Default.timeout),
            lockTimeout: pick("lock_timeout", nil, envLock, file?.lockTimeout, Default.lockTimeout),
            claimWarnAfter: pick("claim_warn_after", nil, try seconds(Variable.claimWarnAfter, positive: true),
                                 file?.claimWarnAfter, Default.claimWarnAfter),
            probeTimeout: pick("probe_timeout", nil, envProbe, file?.probeTimeout, Default.probeTimeout),
            sealed: pick("sealed", nil, colonList(Variable.sealed), file?.sealed, Default.sealed),
            sources: sources,
            phases: pick("phases", nil, nil, file?.phases, []))
        settings.storage = file?.storage ?? [:]
        settings.pveStorageConfig = file?.pveStorageConfig ?? Default.pveStorageConfig
        settings.diskByUUID = file?.diskByUUID ?? Default.diskByUUID
        return settings
    }
}

/// A setting from the command line or the environment that cannot be used (exit 64).
package struct SettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
