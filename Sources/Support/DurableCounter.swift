import Foundation

/// A number that only ever grows, across threads, processes and restarts (Flooz's key index, which the operator
/// refuses when it does not increase): each value is written and synced to its file before it is handed out.
/// A value is at least the current Unix time in milliseconds, so that even a lost file does not make it go back.
public final class DurableCounter: Sendable {
    public let path: String
    private let lock = Lock<Void>(())

    public init(path: String) {
        self.path = path
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case file(String)
        public var description: String {
            switch self {
            case .file(let reason): "the counter file cannot be used: \(reason)"
            }
        }
    }

    /// The next value, durable before it is returned.
    public func next() throws(Failure) -> Int64 {
        do {
            return try lock.withLock { _ in try unlockedNext() }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .file("\(error)")
        }
    }

    private func unlockedNext() throws(Failure) -> Int64 {
        // Its folder (`data/flooz/`) is made on first use.
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .file("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // Across processes: an exclusive lock on the file for the read, the write and the sync.
        guard flock(fd, LOCK_EX) == 0 else { throw .file("cannot lock \(path): \(String(cString: strerror(errno)))") }
        defer { flock(fd, LOCK_UN) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
        guard count >= 0 else { throw .file("cannot read \(path): \(String(cString: strerror(errno)))") }
        let text = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = Int64(text) ?? 0
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let value = max(stored + 1, now)
        let line = Array((String(value) + "\n").utf8)
        let written = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, line.count, 0) }
        guard written == line.count, ftruncate(fd, off_t(line.count)) == 0, fsync(fd) == 0 else {
            throw .file("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return value
    }
}
