/// `[storage."PATH"]` tables of config.toml: the storage expected at a mountpoint.
extension ConfigFile {
    /// The keys a `[storage."PATH"]` table may hold.
    package static let storageKeys = ["fstype", "source", "uuid"]

    static func storageEntry(_ entry: TOMLSubset.Entry, _ table: TOMLSubset.Table, into config: inout ConfigFile,
                             file: String) throws(ConfigError) {
        func fail(_ message: String, line: Int? = nil) -> ConfigError {
            ConfigError(file: file, line: line ?? entry.line, message: message)
        }
        guard table.name == "storage" else {
            throw fail("unknown table [\(table.name).…] (known: [storage.\"PATH\"])", line: table.line)
        }
        let path: String
        switch PathPolicy.normalize(table.quoted) {
        case .success(let p): path = p
        case .failure(let why): throw fail("[storage.\(table.quoted.debugDescription)]: \(why)", line: table.line)
        }
        guard case .string(let value) = entry.value else {
            throw fail("storage \(entry.key) must be a string, not \(entry.value.typeName)")
        }
        if value.isEmpty { throw fail("storage \(entry.key) is empty (leave the key out to accept any)") }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw fail("storage \(entry.key) contains a control character")
        }
        var expected = config.storage[path] ?? ExpectedStorage()
        switch entry.key {
        case "fstype":
            guard value.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || "._-".unicodeScalars.contains($0) }) else {
                throw fail("storage fstype \(value.debugDescription) is not a filesystem type (like ext4, nfs4, fuse.sshfs)")
            }
            expected.fsType = value
        case "source":
            expected.source = value
        case "uuid":
            guard value.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit || $0 == "-" }) else {
                throw fail("storage uuid \(value.debugDescription) is not a filesystem UUID (hex digits and dashes, as blkid shows it)")
            }
            expected.uuid = value
        default:
            throw fail("unknown key \"\(entry.key)\" in [storage.\(table.quoted.debugDescription)] (known: \(storageKeys.joined(separator: ", ")))")
        }
        config.storage[path] = expected
    }
}
