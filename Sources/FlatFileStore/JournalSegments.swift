import Foundation
import OrderStorage
import Payments

/// How the journal is cut into segments and how long closed ones are kept (`journal_segment_mb`,
/// `journal_retention_days`).
public struct JournalSettings: Sendable {
    /// A new segment starts at the checkpoint after the current one passes this size.
    public var segmentBytes: Int64
    /// A closed segment whose last record is older than this is removed; nil: kept for ever (the journal is the
    /// payment record: the operator chooses).
    public var retentionSeconds: Int64?

    public init(segmentBytes: Int64 = 64 << 20, retentionSeconds: Int64? = nil) {
        self.segmentBytes = segmentBytes
        self.retentionSeconds = retentionSeconds
    }
}

/// Where the journal checkpoint stands: every change journaled before `offset` of segment `segment` (and in every
/// earlier segment) is in its order file, and the order files are synced.
struct Checkpoint: Codable, Equatable {
    let segment: Int
    let offset: Int64
    let at: Timestamp

    init(segment: Int, offset: Int64, at: Timestamp) {
        self.segment = segment
        self.offset = offset
        self.at = at
    }

    /// A checkpoint written before segments (`{"offset":…,"at":…}`) is one in the first segment: the old
    /// `journal.jsonl` becomes `segment-000001.jsonl`.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        segment = try container.decodeIfPresent(Int.self, forKey: .segment) ?? 1
        offset = try container.decode(Int64.self, forKey: .offset)
        at = try container.decode(Timestamp.self, forKey: .at)
    }
}

/// What the journal folder says of its segments, besides the files themselves (`journal/segments.json`): which
/// are closed (wholly before the checkpoint: every change in them is in the order files, synced) and which
/// retention removed, so that a removed segment is never reported as missing. Written only under
/// `journal/recovery.lock`, by a temporary file and a rename.
struct SegmentManifest: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var segment: Int
        var bytes: Int64
        /// The first and last records' times (nil: the segment is empty or its ends do not parse).
        var firstAt: Timestamp?
        var lastAt: Timestamp?
        var closedAt: Timestamp
        /// Set when retention removed the file.
        var removedAt: Timestamp?
        /// Set when an operator recorded a closed segment lost by hand as gone (`cross journal forget`).
        var forgotten: Bool?

        enum CodingKeys: String, CodingKey {
            case segment, bytes
            case firstAt = "first_at", lastAt = "last_at", closedAt = "closed_at", removedAt = "removed_at"
            case forgotten
        }

        var gone: Bool { removedAt != nil }
    }

    var segments: [Entry] = []

    func entry(_ segment: Int) -> Entry? { segments.first { $0.segment == segment } }
}

/// The journal's folder: segment files `segment-000001.jsonl`, `segment-000002.jsonl`, …, the checkpoint, the
/// manifest and the locks. Only the newest segment is written to; the others never change again.
struct JournalFolder: Sendable {
    let path: String

    static let legacyName = "journal.jsonl"

    var checkpointPath: String { path + "/checkpoint.json" }
    var manifestPath: String { path + "/segments.json" }
    var recoveryLockPath: String { path + "/recovery.lock" }
    /// Appenders hold it shared for each write, the checkpoint exclusively to start a new segment: once it has,
    /// no process writes to the old one again.
    var segmentLockPath: String { path + "/segments.lock" }

    func segmentPath(_ segment: Int) -> String { path + "/" + Self.segmentName(segment) }

    static func segmentName(_ segment: Int) -> String {
        let digits = String(segment)
        return "segment-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".jsonl"
    }

    static func segmentNumber(_ name: String) -> Int? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".jsonl") else { return nil }
        let digits = name.dropFirst("segment-".count).dropLast(".jsonl".count)
        guard digits.count >= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits), number > 0 else { return nil }
        return number
    }

    /// The segment files present, in order.
    func presentSegments() -> [Int] {
        FileSystem.listDirectory(path).compactMap(Self.segmentNumber).sorted()
    }

    func size(_ segment: Int) -> Int64? {
        var info = stat()
        guard stat(segmentPath(segment), &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// The checkpoint; nil when there is none or it is damaged (which costs a longer read, never a lost change).
    func readCheckpoint() -> Checkpoint? {
        guard let bytes = try? FileSystem.read(checkpointPath) else { return nil }
        return try? JSONDecoder().decode(Checkpoint.self, from: Data(bytes))
    }

    func writeCheckpoint(_ checkpoint: Checkpoint) throws(StoreError) {
        try replace(checkpointPath, with: checkpoint)
    }

    /// The manifest; an empty one when there is none. A damaged one is an error: it alone says which segments
    /// retention removed.
    func readManifest() throws(StoreError) -> SegmentManifest {
        guard let bytes = try FileSystem.read(manifestPath) else { return SegmentManifest() }
        do {
            return try JSONDecoder().decode(SegmentManifest.self, from: Data(bytes))
        } catch {
            throw .unavailable("the journal's manifest \(manifestPath) does not parse (\(FlatFileStore.brief(error))); it says which segments are closed and which retention removed: restore it from a backup")
        }
    }

    func writeManifest(_ manifest: SegmentManifest) throws(StoreError) {
        try replace(manifestPath, with: manifest)
    }

    private func replace(_ target: String, with value: some Encodable) throws(StoreError) {
        let bytes: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            bytes = Array(try encoder.encode(value))
        } catch {
            throw .unavailable("\(error)")
        }
        try FileSystem.replaceDurably(target, with: bytes, via: target + ".tmp.\(getpid())")
    }

    /// A journal written before segments (`journal/journal.jsonl`) becomes the first segment, by a rename under
    /// the segment lock: the same file, so that nothing in it is read twice or lost, and its checkpoint (an offset
    /// alone) reads as one in segment 1. An old Cross still appending to it would go on writing to the same
    /// file, now segment 1.
    func upgradeLegacyJournal() throws(StoreError) {
        let legacy = path + "/" + Self.legacyName
        guard FileSystem.exists(legacy) else { return }
        try FileLock.withLock(segmentLockPath) { () throws(StoreError) in
            guard FileSystem.exists(legacy) else { return }
            let present = presentSegments()
            guard present.isEmpty else {
                throw .unavailable("the journal folder \(path) holds both \(Self.legacyName) (a journal from before segments) and segment files \(present.map(Self.segmentName)); move one of them away after checking which is current")
            }
            try FileSystem.rename(legacy, segmentPath(1))
            try FileSystem.syncDirectory(path)
        }
    }

    /// What is wrong with the segments, in words an operator can act on; empty when nothing is. A segment that is
    /// neither present nor recorded as removed is missing (a gap, or the newest one gone); a checkpoint past the
    /// end of its segment means the segment was replaced (moved, rotated or truncated by hand).
    func problems() throws(StoreError) -> [String] {
        let manifest = try readManifest()
        let present = Set(presentSegments())
        let checkpoint = readCheckpoint()
        let known = present.union(manifest.segments.map(\.segment)).union(checkpoint.map { [$0.segment] } ?? [])
        guard let newest = known.max() else { return [] }
        var problems: [String] = []
        for segment in 1...newest where !present.contains(segment) {
            let entry = manifest.entry(segment)
            if entry?.gone == true { continue }
            let name = Self.segmentName(segment)
            if let checkpoint, segment >= checkpoint.segment {
                problems.append("\(name) is missing, and the checkpoint (segment \(checkpoint.segment), offset \(checkpoint.offset)) needs it: changes in it may not be in the order files yet; put it back in \(path)")
            } else if entry != nil {
                problems.append("\(name) is missing: it was closed (every change in it is in the order files), but it is the payment record of its time; put it back in \(path), or record it as lost with `cross journal forget \(segment)`")
            } else if checkpoint == nil {
                problems.append("\(name) is missing and there is no checkpoint to say whether the order files have its changes; put it back in \(path)")
            } else {
                problems.append("\(name) is missing: it lies before the checkpoint but was never recorded as closed; put it back in \(path), or record it as lost with `cross journal forget \(segment)`")
            }
        }
        if let checkpoint, present.contains(checkpoint.segment), let size = size(checkpoint.segment), size < checkpoint.offset {
            problems.append("\(Self.segmentName(checkpoint.segment)) has \(size) bytes but the checkpoint is at offset \(checkpoint.offset) of it: the segment was replaced, truncated or rotated by hand; put the original back in \(path)")
        }
        return problems
    }

    /// Refuses a journal with a problem: the store does not open on a journal that may have lost changes.
    func check() throws(StoreError) {
        let problems = try problems()
        guard problems.isEmpty else {
            throw .unavailable("the journal is incomplete, Cross does not open it (see `cross journal list`): " + problems.joined(separator: "; "))
        }
    }

    /// The times of a segment's first and last records, read from its two ends only.
    func recordTimes(_ segment: Int) -> (first: Timestamp?, last: Timestamp?) {
        let fd = open(segmentPath(segment), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (nil, nil) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { return (nil, nil) }
        let size = Int64(info.st_size)
        let window = Int64(256 << 10)
        func chunk(at offset: Int64, count: Int64) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: Int(count))
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, Int(count), off_t(offset)) }
            return got > 0 ? Array(bytes[..<got]) : []
        }
        struct Stamp: Decodable { let at: Timestamp }
        let decoder = JSONDecoder()
        func time(_ line: ArraySlice<UInt8>) -> Timestamp? { try? decoder.decode(Stamp.self, from: Data(line)).at }
        let head = chunk(at: 0, count: min(size, window))
        let first = head.split(separator: UInt8(ascii: "\n")).lazy.compactMap(time).first
        let tailStart = max(0, size - window)
        var tail = chunk(at: tailStart, count: size - tailStart)[...]
        // The tail's first piece may be the end of a line that starts before the window.
        if tailStart > 0, let newline = tail.firstIndex(of: UInt8(ascii: "\n")) { tail = tail[(newline + 1)...] }
        let last = tail.split(separator: UInt8(ascii: "\n")).reversed().lazy.compactMap(time).first
        return (first, last)
    }
}
