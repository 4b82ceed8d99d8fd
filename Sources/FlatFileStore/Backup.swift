import CLinux
import Dispatch
import Foundation
import OrderStorage
import Payments

/// A consistent copy of a live data folder (`cross backup DIR`), made from the journal's guarantees rather than by
/// stopping Cross:
///
/// 1. the recovery lock is taken, so that no checkpoint moves and no retention removes a segment meanwhile;
/// 2. the checkpoint and the manifest are copied first;
/// 3. then every other file (orders, payouts, outbox with `pending` first, index, …), each read whole (a file
///    replaced by rename meanwhile is read old or new, never mixed);
/// 4. then every journal segment, up to its last complete line at that moment: the journal point.
///
/// An order file copied in step 3 is at least as new as the checkpoint says and never newer than the journal
/// point (a change is journaled before its file is renamed). Recovery on the copy (`cross serve` at start) redoes
/// from the copied checkpoint every change up to the journal point, whatever the torn copy of step 3 missed, so
/// the copy holds every change acknowledged before the journal point. An event that moved from `pending` to `sent`
/// during the copy may be copied twice (delivered again after a restore, same id), never lost.
///
/// Not in the copy: the lock files (remade at start), temporary files of writes under way, and anything outside
/// the data folder: the configuration, its secrets (API keys, link, button and webhook secrets, operators'
/// passwords), nginx's files.
public struct DataFolderBackup: Sendable {
    public struct Report: Sendable {
        public var files = 0
        public var bytes: Int64 = 0
        public var segments = 0
        /// Where the copy's journal ends: the newest segment copied and its copied length.
        public var journalPoint: (segment: Int, offset: Int64)?
        /// `DispatchTime.now().uptimeNanoseconds` when the journal point was taken: every change acknowledged
        /// before it is in the copy.
        public var journalPointUptimeNanoseconds: UInt64 = 0
    }

    public let source: String
    public let destination: String

    public init(source: String, destination: String) {
        self.source = source
        self.destination = destination
    }

    public func run() throws(StoreError) -> Report {
        var report = Report()
        let folder = JournalFolder(path: source + "/journal")
        guard FileSystem.exists(folder.path) else { throw .unavailable("\(source) holds no journal: not a data folder of Cross") }
        if FileSystem.exists(destination) {
            guard FileSystem.listDirectory(destination).isEmpty else {
                throw .unavailable("\(destination) exists and is not empty: a backup goes into a new or empty folder")
            }
        }
        try FileSystem.makeDirectory(destination + "/journal")
        try FileLock.withLock(folder.recoveryLockPath) { () throws(StoreError) in
            for name in ["checkpoint.json", "segments.json"] where FileSystem.exists(folder.path + "/" + name) {
                report.bytes += try copy(folder.path + "/" + name, to: destination + "/journal/" + name)
                report.files += 1
            }
            // Pending events before the others: one that moves on during the copy is then copied twice, not missed.
            var tree = files(under: "")
            tree.sort { a, b in
                let pa = a.hasPrefix("outbox/pending/"), pb = b.hasPrefix("outbox/pending/")
                return pa != pb ? pa : a < b
            }
            for relative in tree {
                let copied: Int64
                do throws(StoreError) {
                    try FileSystem.makeDirectory(destination + "/" + (relative as NSString).deletingLastPathComponent)
                    copied = try copy(source + "/" + relative, to: destination + "/" + relative)
                } catch {
                    // Gone between the listing and the copy (an event moved on, a temporary renamed): its new place
                    // is copied, or the journal remakes it.
                    if !FileSystem.exists(source + "/" + relative) { continue }
                    throw error
                }
                report.files += 1
                report.bytes += copied
            }
            for segment in folder.presentSegments() {
                let path = folder.segmentPath(segment)
                let length = try completeLength(path)
                if segment == folder.presentSegments().last { report.journalPointUptimeNanoseconds = DispatchTime.now().uptimeNanoseconds }
                report.bytes += try copy(path, to: destination + "/journal/" + JournalFolder.segmentName(segment), limit: length)
                report.segments += 1
                report.journalPoint = (segment, length)
            }
        }
        try FileSystem.syncFilesystem(destination)
        return report
    }

    /// The data folder's files, relative, but the journal (copied apart), the locks and the temporary files of
    /// writes under way.
    private func files(under relative: String) -> [String] {
        var found: [String] = []
        let path = relative.isEmpty ? source : source + "/" + relative
        for name in FileSystem.listDirectory(path) {
            let child = relative.isEmpty ? name : relative + "/" + name
            if child == "journal" || child == "outbox/tmp" || name.hasSuffix(".lock") || name.contains(".tmp.")
                || name.contains(".rebuild.") || name.contains(".compact.") { continue }
            var info = stat()
            guard lstat(source + "/" + child, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                found += files(under: child)
            } else if (info.st_mode & S_IFMT) == S_IFREG {
                found.append(child)
            }
        }
        return found
    }

    /// The length of the file up to its last line break: a record being written right now is left out (it was
    /// not acknowledged yet, and its change is in no order file copied).
    private func completeLength(_ path: String) throws(StoreError) -> Int64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unavailable("cannot open \(path): \(FileSystem.errorText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unavailable("cannot stat \(path): \(FileSystem.errorText())") }
        var end = Int64(info.st_size)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while end > 0 {
            let start = max(0, end - Int64(buffer.count))
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, Int(end - start), off_t(start)) }
            guard got > 0 else { throw .unavailable("cannot read \(path): \(FileSystem.errorText())") }
            if let newline = buffer[..<got].lastIndex(of: UInt8(ascii: "\n")) { return start + Int64(newline) + 1 }
            end = start
        }
        return 0
    }

    /// Copies `from` (its first `limit` bytes, if given) to the new file `to`; returns the bytes copied.
    private func copy(_ from: String, to: String, limit: Int64? = nil) throws(StoreError) -> Int64 {
        let input = open(from, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .unavailable("cannot open \(from): \(FileSystem.errorText())") }
        defer { close(input) }
        let output = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FileSystem.fileMode)
        guard output >= 0 else { throw .unavailable("cannot create \(to): \(FileSystem.errorText())") }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var copied: Int64 = 0
        while limit.map({ copied < $0 }) ?? true {
            let wanted = min(buffer.count, Int((limit ?? Int64.max) - copied))
            let got = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, wanted) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw .unavailable("cannot read \(from): \(FileSystem.errorText())") }
            if got == 0 { break }
            try FileSystem.writeAll(output, Array(buffer[..<got]), path: to)
            copied += Int64(got)
        }
        return copied
    }
}
