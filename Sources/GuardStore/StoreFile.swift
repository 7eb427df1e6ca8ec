import FileIO
import Glibc

/// The file side of the store: creating a new store safely, and checking an existing file's
/// bytes before SQLite is allowed near it. Nothing here writes to an existing file.
enum StoreFile {
    static let magic: [UInt8] = Array("SQLite format 3".utf8) + [0]

    // MARK: Checking an existing file

    /// Refuses anything that is not plausibly a whole SQLite database: empty, short, no magic,
    /// a bad page size, or fewer bytes than the header's own page count. Reads only.
    static func checkHeader(path: String) throws {
        // Before the size and the header: see the page count check below.
        let walBefore = walStamp(path)
        // O_NONBLOCK|O_NOFOLLOW: a FIFO must not block the open, a symlink is not followed.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            let err = errno
            throw StoreError.notADatabase(path: path, reason: "cannot read it: \(String(cString: strerror(err)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw StoreError.fileSystem(path: path, operation: "fstat", errno: errno)
        }
        try StoreTrust.requireRegularFile(path, st)
        try StoreTrust.requireRootOnly(path, st, what: "store")
        let size = Int64(st.st_size)
        guard size > 0 else {
            // Only a file we create ourselves is initialized; an empty one may be a failed copy.
            throw StoreError.notADatabase(path: path, reason: "empty file (0 bytes)")
        }
        var header = [UInt8](repeating: 0, count: 100)
        let got = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 100, 0) }
        guard got == 100 else {
            throw StoreError.notADatabase(path: path, reason: "too short for a SQLite header (\(size) bytes)")
        }
        guard Array(header[0..<16]) == magic else {
            throw StoreError.notADatabase(path: path, reason: "no \"SQLite format 3\" header")
        }
        let rawPageSize = Int64(header[16]) << 8 | Int64(header[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        guard pageSize >= 512, pageSize <= 65_536, pageSize & (pageSize - 1) == 0 else {
            throw StoreError.notADatabase(path: path, reason: "invalid page size \(rawPageSize)")
        }
        guard size % pageSize == 0 else {
            throw StoreError.notADatabase(
                path: path, reason: "truncated: \(size) bytes is not a whole number of \(pageSize)-byte pages")
        }
        // The in-header page count is valid when the change counter matches "version valid for".
        // With a non-empty -wal the main file may legitimately lag (frames not yet checkpointed),
        // so the count is only compared when there is no WAL content. And only when the -wal
        // did not change while we read: another process's checkpoint (the last connection's,
        // at its close, after its command released the writers' lock) writes page 1 with the
        // new count before the pages that extend the file, then truncates the -wal to 0 bytes;
        // reading the size, then the header, then seeing an empty -wal refused a sound store.
        let changeCounter = bigEndian32(header, 24), validFor = bigEndian32(header, 92)
        let pages = Int64(bigEndian32(header, 28))
        if pages > 0, changeCounter == validFor, walBefore.size == 0, walStamp(path) == walBefore,
           pages * pageSize > size {
            throw StoreError.notADatabase(
                path: path, reason: "truncated: header says \(pages) pages (\(pages * pageSize) bytes), file has \(size)")
        }
    }

    private static func bigEndian32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    /// What changes whenever the `-wal` is written, truncated or replaced (a missing one
    /// reads as empty).
    private struct WALStamp: Equatable {
        var size: Int64 = 0, inode: UInt = 0
        var modified = [Int](), changed = [Int]()
    }

    private static func walStamp(_ path: String) -> WALStamp {
        var st = stat()
        guard stat(path + "-wal", &st) == 0 else { return WALStamp() }
        return WALStamp(size: Int64(st.st_size), inode: UInt(st.st_ino),
                        modified: [st.st_mtim.tv_sec, st.st_mtim.tv_nsec], changed: [st.st_ctim.tv_sec, st.st_ctim.tv_nsec])
    }

    /// Gives the store's `-wal` and `-shm` the store file's permission bits, on every writer
    /// open: a `chmod 0644` of the store then lets non-root users query it (issue 16), and a
    /// `chmod 0600` takes that back. Opened without following symlinks or blocking, and
    /// called before the connection opens: closing any fd to a file drops the process's
    /// POSIX locks on it, SQLite's included (SQLITE_PROTOCOL under concurrent writers).
    static func giveCompanionsStoreMode(_ path: String) throws {
        var store = stat()
        guard stat(path, &store) == 0 else { throw StoreError.fileSystem(path: path, operation: "stat", errno: errno) }
        for file in [path + "-wal", path + "-shm"] {
            let fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
            guard fd >= 0 else { continue }  // not created yet: SQLite creates it with the store's mode
            defer { close(fd) }
            try StoreTrust.check(openFile: fd, path: file)
            guard fchmod(fd, store.st_mode & 0o777) == 0 else {
                throw StoreError.fileSystem(path: file, operation: "fchmod", errno: errno)
            }
        }
    }

    // MARK: Creating a new store

    /// Creates and fully initializes a store at `path`, which must not exist. The store is
    /// built under a temporary name in the same directory and linked into place only once its
    /// schema is committed, so no half-initialized (or empty) store is ever visible at `path`:
    /// a crash leaves at most a stray temporary file. Returns false when another process
    /// linked its store first (then `path` is theirs and is opened like any existing store).
    @discardableResult
    static func create(at path: String, configure: (Database) throws -> Void) throws -> Bool {
        let directory = FileIO.parentDirectory(path), name = FileIO.lastComponent(path) ?? ""
        try ensureDirectory(directory)
        let temporary = "\(directory)/.\(name).new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.fileSystem(path: temporary, operation: "create", errno: errno) }
        // The mode must not depend on the caller's umask.
        let chmodFailed = fchmod(fd, 0o600) != 0
        let chmodErrno = errno
        close(fd)
        defer { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) } }
        if chmodFailed { throw StoreError.fileSystem(path: temporary, operation: "fchmod", errno: chmodErrno) }

        do {
            let db = try Database(path: temporary, mode: .readWrite)
            try configure(db)
            try Schema.migrate(db, from: 0)
            db.close()  // last connection: checkpoints the WAL into the file and removes it
        }
        try fsyncPath(temporary, flags: O_RDONLY)
        // link(2) never replaces an existing file, unlike rename(2).
        if link(temporary, path) != 0 {
            let err = errno
            if err == EEXIST { return false }
            throw StoreError.fileSystem(path: path, operation: "link new store to", errno: err)
        }
        try fsyncPath(directory, flags: O_RDONLY | O_DIRECTORY)
        return true
    }

    /// Creates `directory` (and missing ancestors) when absent. The directory holding the
    /// store is made 0700 whatever the umask; existing directories are left as they are.
    static func ensureDirectory(_ directory: String) throws {
        var st = stat()
        if stat(directory, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw StoreError.fileSystem(path: directory, operation: "use as directory", errno: ENOTDIR)
            }
            return
        }
        let parent = FileIO.parentDirectory(directory)
        if parent != directory { try ensureDirectory(parent) }
        if mkdir(directory, 0o700) != 0 {
            let err = errno
            if err == EEXIST { return }  // another process made it meanwhile
            throw StoreError.fileSystem(path: directory, operation: "mkdir", errno: err)
        }
        guard chmod(directory, 0o700) == 0 else {
            throw StoreError.fileSystem(path: directory, operation: "chmod", errno: errno)
        }
    }

    private static func fsyncPath(_ path: String, flags: Int32) throws {
        let fd = open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.fileSystem(path: path, operation: "open for fsync", errno: errno) }
        defer { close(fd) }
        guard retryingInterrupts({ fsync(fd) }) == 0 else { throw StoreError.fileSystem(path: path, operation: "fsync", errno: errno) }
    }
}
