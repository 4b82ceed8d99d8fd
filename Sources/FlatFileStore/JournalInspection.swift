import Foundation
import OrderStorage
import Payments

/// One segment of the journal as `cross journal list` shows it.
public struct JournalSegmentInfo: Sendable {
    public enum State: String, Sendable {
        /// Being written to (the newest), or not yet wholly before the checkpoint.
        case open
        /// Wholly before the checkpoint: every change in it is in the order files, synced.
        case closed
        /// Removed by retention (or recorded as lost with `cross journal forget`).
        case removed
        /// Neither there nor recorded as removed.
        case missing
    }

    public let segment: Int
    public let name: String
    public let bytes: Int64?
    public let firstAt: Timestamp?
    public let lastAt: Timestamp?
    public let state: State
}

/// What `cross journal verify` found.
public struct JournalVerification: Sendable {
    public struct Behind: Sendable {
        public let ref: String
        public let path: String
        public let journalRevision: Int
        /// nil: the file is missing; else its revision, or the reason it does not parse.
        public let file: String
    }

    public var segmentsRead = 0
    public var records = 0
    public var changes = 0
    public var orders = 0
    /// Lines that do not parse and do not end like a record: a write cut short by a crash (skipped by recovery).
    public var torn: [String] = []
    /// Lines that end like a record and still do not parse: damage.
    public var unparsed: [String] = []
    /// Order files behind (or without) their latest change in the journal.
    public var behind: [Behind] = []
    /// Segments missing, a checkpoint past its segment's end (see `JournalFolder.problems`).
    public var problems: [String] = []

    public var passed: Bool { unparsed.isEmpty && behind.isEmpty && problems.isEmpty }
}

/// The journal read from the outside, by `cross journal list|verify|forget` and `cross backup`: works on a journal
/// the store refuses to open (a segment missing), to say what is wrong with it.
public struct JournalInspection: Sendable {
    public let dataDirectory: String
    let folder: JournalFolder

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
        folder = JournalFolder(path: dataDirectory + "/journal")
    }

    public func segmentPath(_ segment: Int) -> String { folder.segmentPath(segment) }

    /// Where the checkpoint stands, if there is one that parses.
    public var checkpoint: (segment: Int, offset: Int64)? { folder.readCheckpoint().map { ($0.segment, $0.offset) } }

    /// Every segment the folder has or knows of, oldest first, and what is wrong, if anything.
    public func segments() throws(StoreError) -> (segments: [JournalSegmentInfo], problems: [String]) {
        let manifest = try folder.readManifest()
        let present = folder.presentSegments()
        let checkpoint = folder.readCheckpoint()
        let known = Set(present).union(manifest.segments.map(\.segment)).union(checkpoint.map { [$0.segment] } ?? [])
        var segments: [JournalSegmentInfo] = []
        for segment in known.sorted() {
            let entry = manifest.entry(segment)
            let name = JournalFolder.segmentName(segment)
            if !present.contains(segment) {
                segments.append(JournalSegmentInfo(
                    segment: segment, name: name, bytes: entry?.bytes, firstAt: entry?.firstAt, lastAt: entry?.lastAt,
                    state: entry?.gone == true ? .removed : .missing))
                continue
            }
            let times = entry.map { ($0.firstAt, $0.lastAt) } ?? folder.recordTimes(segment)
            let closed = entry != nil || (checkpoint.map { segment < $0.segment } ?? false)
            segments.append(JournalSegmentInfo(
                segment: segment, name: name, bytes: folder.size(segment), firstAt: times.0, lastAt: times.1,
                state: entry?.gone == true ? .removed : closed ? .closed : .open))
        }
        return (segments, try folder.problems())
    }

    /// Reads every line of every segment there, and checks that each change is in its order file (the file's
    /// revision at least the change's). A file that looks behind is read again under the order's lock, which a
    /// live writer holds from its journal record to its rename: run on a live data folder, only a change whose
    /// writer died before its file was written (recovery has not run yet) is reported.
    public func verify() throws(StoreError) -> JournalVerification {
        var result = JournalVerification()
        result.problems = try folder.problems()
        var latest: [OrderKey: (revision: Int, ref: String)] = [:]
        let decoder = JSONDecoder()
        for segment in folder.presentSegments() {
            result.segmentsRead += 1
            let path = folder.segmentPath(segment)
            let (cut, _) = try Journal.scanLines(path: path, from: 0) { offset, line throws(StoreError) in
                guard let record = Journal.decode(line, with: decoder) else {
                    let place = "\(JournalFolder.segmentName(segment)) offset \(offset)"
                    if line.last == UInt8(ascii: "}") { result.unparsed.append(place) } else { result.torn.append(place) }
                    return
                }
                result.records += 1
                guard let order = record.order else { return }
                result.changes += 1
                if order.revision >= (latest[order.key]?.revision ?? 0) { latest[order.key] = (order.revision, order.ref) }
            }
            // Bytes after the last line break: a write cut short, unless it is the newest segment's and a writer is
            // at work on it right now.
            for offset in cut { result.torn.append("\(JournalFolder.segmentName(segment)) offset \(offset) (no line break)") }
        }
        result.orders = latest.count
        for (key, change) in latest.sorted(by: { $0.key.hex < $1.key.hex }) {
            let path = orderFile(key)
            func state() -> (upToDate: Bool, file: String) {
                guard let bytes = try? FileSystem.read(path) else { return (false, "missing") }
                guard let order = try? decoder.decode(Order.self, from: Data(bytes)) else { return (false, "does not parse") }
                return (order.revision >= change.revision, "revision \(order.revision)")
            }
            var found = state()
            if !found.upToDate {
                found = try FileLock.withByteLock(dataDirectory + "/orders.lock", offset: FlatFileStore.lockOffset(key)) { () throws(StoreError) in state() }
            }
            if !found.upToDate {
                result.behind.append(JournalVerification.Behind(ref: change.ref, path: path, journalRevision: change.revision, file: found.file))
            }
        }
        return result
    }

    /// The order's file: in the live folder, else in the archive of `cross orders archive`
    /// (`archive/<date>/<shard>/<key>.json`, newest date first), where an order moved out of the live folders
    /// still is its journal's order.
    private func orderFile(_ key: OrderKey) -> String {
        let live = FlatFileStore.orderPath(dataDirectory, key)
        if FileSystem.exists(live) { return live }
        return FlatFileStore.archivedPath(in: dataDirectory, key) ?? live
    }

    /// Records a closed segment lost by hand as gone, so that the store opens again; refuses a segment that is
    /// there, or one the checkpoint still needs (its changes may be nowhere else).
    public func forget(_ segment: Int) throws(StoreError) {
        try FileLock.withLock(folder.recoveryLockPath) { () throws(StoreError) in
            let name = JournalFolder.segmentName(segment)
            guard !folder.presentSegments().contains(segment) else { throw .unavailable("\(name) is there: nothing to forget") }
            guard let checkpoint = folder.readCheckpoint(), segment < checkpoint.segment else {
                throw .unavailable("\(name) is not wholly before the checkpoint: its changes may be in no order file; it must be put back")
            }
            var manifest = try folder.readManifest()
            let now = Timestamp.now()
            if let index = manifest.segments.firstIndex(where: { $0.segment == segment }) {
                guard manifest.segments[index].removedAt == nil else { throw .unavailable("\(name) is recorded as removed already") }
                manifest.segments[index].removedAt = now
                manifest.segments[index].forgotten = true
            } else {
                manifest.segments.append(SegmentManifest.Entry(segment: segment, bytes: 0, closedAt: now, removedAt: now, forgotten: true))
                manifest.segments.sort { $0.segment < $1.segment }
            }
            try folder.writeManifest(manifest)
        }
    }
}
