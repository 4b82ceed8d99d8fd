import CLinux
import Foundation
import OrderStorage

/// The few file operations the store is built on, each checked and each durable when it says so.
enum FileSystem {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Creates the folder and any missing parent.
    /// Files of the data folder: read and written by Cross's user, read by its group (backups), by no one else
    /// (orders hold shoppers' names and numbers).
    static let fileMode: mode_t = 0o640
    static let directoryMode: mode_t = 0o750

    static func makeDirectory(_ path: String) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(directoryMode)])
        } catch {
            throw .unavailable("cannot create \(path): \((error as NSError).localizedDescription)")
        }
    }

    /// Creates a directory and makes its name durable in its parent.
    static func makeDurableDirectory(_ path: String) throws(StoreError) {
        if mkdir(path, directoryMode) == 0 {
            try syncDirectory((path as NSString).deletingLastPathComponent)
        } else if errno != EEXIST {
            throw .unavailable("cannot create \(path): \(errorText())")
        }
    }

    static func syncDirectory(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .unavailable("cannot open \(path): \(errorText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .unavailable("cannot sync \(path): \(errorText())") }
    }

    /// Writes `bytes` to a new file at `path` (which must not exist), synced to disk when `sync` is set.
    static func writeNewFile(_ path: String, _ bytes: [UInt8], sync: Bool = true) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw .unavailable("cannot create \(path): \(errorText())") }
        do throws(StoreError) {
            try writeAll(fd, bytes, path: path)
            if sync {
                guard fsync(fd) == 0 else { throw StoreError.unavailable("cannot sync \(path): \(errorText())") }
            }
            close(fd)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    /// Replaces `path` with `bytes` whole and durably: written and synced in `temporary` (a name no other writer
    /// uses), renamed over `path`, then `path`'s folder synced. A crash leaves the old file or the new, never half.
    static func replaceDurably(_ path: String, with bytes: [UInt8], via temporary: String) throws(StoreError) {
        unlink(temporary)
        try writeNewFile(temporary, bytes, sync: true)
        try rename(temporary, path)
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Whether the process that named a leftover temporary file after itself is gone (so that nobody can
    /// finish that write any more); a name without a readable pid counts as gone.
    static func writerIsGone(_ pid: Int32?) -> Bool {
        pid.map { kill($0, 0) != 0 && errno == ESRCH } ?? true
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .unavailable("cannot write \(path): \(errorText())")
            }
            offset += written
        }
    }

    /// Flushes every file and folder of the filesystem holding `path`.
    static func syncFilesystem(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .unavailable("cannot open \(path): \(errorText())") }
        defer { close(fd) }
        guard cross_sync_filesystem(fd) == 0 else { throw .unavailable("cannot sync the filesystem of \(path): \(errorText())") }
    }

    static func rename(_ from: String, _ to: String) throws(StoreError) {
        guard Foundation.rename(from, to) == 0 else {
            let reason = errorText()
            unlink(from)
            throw .unavailable("cannot rename \(from) to \(to): \(reason)")
        }
    }

    /// The whole file, or nil if it does not exist.
    static func read(_ path: String) throws(StoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .unavailable("cannot open \(path): \(errorText())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unavailable("cannot stat \(path): \(errorText())") }
        // One byte more than the file, so that reading its end needs no bigger array (and no copy).
        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
        var offset = 0
        while true {
            if offset == bytes.count { bytes.append(contentsOf: repeatElement(0, count: 4096)) }
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unavailable("cannot read \(path): \(errorText())")
            }
            if count == 0 { break }
            offset += count
        }
        bytes.removeLast(bytes.count - offset)
        return bytes
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func listDirectory(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }
}

/// Exclusive locks on lock files, held across threads and processes alike: each holder opens the file
/// itself, and both kinds of lock used here belong to the open file, not to the process.
enum FileLock {
    /// Runs `body` holding a lock on one byte of the file at `path` (waiting for it): a lock per order in a
    /// single file.
    static func withByteLock<Result>(_ path: String, offset: Int, _ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        let fd = try lockByte(path, offset: offset)
        defer { close(fd) }  // closing the file releases the lock
        return try body()
    }

    static func withByteLock<Result>(_ path: String, offset: Int, _ body: () throws -> Result) throws -> Result {
        let fd = try lockByte(path, offset: offset)
        defer { close(fd) }
        return try body()
    }

    private static func lockByte(_ path: String, offset: Int) throws(StoreError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, FileSystem.fileMode)
        guard fd >= 0 else { throw .unavailable("cannot open lock \(path): \(FileSystem.errorText())") }
        while cross_lock_byte(fd, off_t(offset)) != 0 {
            if errno == EINTR { continue }
            let reason = FileSystem.errorText()
            close(fd)
            throw .unavailable("cannot lock \(path): \(reason)")
        }
        return fd
    }

    /// Runs `body` holding an exclusive `flock` on the whole file, waiting for it.
    static func withLock<Result>(_ path: String, _ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        let fd = try acquire(path, blocking: true, shared: false)!
        defer { close(fd) }
        return try body()
    }

    /// Runs `body` holding a shared `flock` (many holders at once, none while someone holds it exclusively).
    static func withSharedLock<Result>(_ path: String, _ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        let fd = try acquire(path, blocking: true, shared: true)!
        defer { close(fd) }
        return try body()
    }

    /// Runs `body` holding a `flock` on the whole file, or returns nil at once if another holder has it.
    static func withLockIfFree<Result>(_ path: String, _ body: () throws(StoreError) -> Result) throws(StoreError) -> Result? {
        guard let fd = try acquire(path, blocking: false, shared: false) else { return nil }
        defer { close(fd) }
        return try body()
    }

    /// The open lock file holding a `flock` (shared or exclusive), or nil when it is not free and `blocking` is
    /// false; closing the descriptor releases it.
    static func acquire(_ path: String, blocking: Bool, shared: Bool) throws(StoreError) -> Int32? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, FileSystem.fileMode)
        guard fd >= 0 else { throw .unavailable("cannot open lock \(path): \(FileSystem.errorText())") }
        while flock(fd, (shared ? LOCK_SH : LOCK_EX) | (blocking ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            if code == EWOULDBLOCK && !blocking { return nil }
            throw .unavailable("cannot lock \(path): \(FileSystem.errorText(code))")
        }
        return fd
    }
}
