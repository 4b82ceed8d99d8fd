import CLinux
import Foundation
import OrderStorage
import Payments

/// One line of the journal: a change of an order (`OrderChange`, with the order as it became, so that
/// recovery can restore an order file from the journal alone), or a refused call that reached no order.
struct JournalRecord: Sendable, Codable {
    enum Kind: String, Sendable, Codable {
        case orderCreated = "order.created"
        case attemptStarted = "attempt.started"
        case eventApplied = "event.applied"
        case eventDuplicate = "event.duplicate"
        case callbackReceived = "callback.received"
        case attemptChecked = "attempt.checked"
        case refundRequested = "refund.requested"
        case refundUpdated = "refund.updated"
        case callRefused = "call.refused"

        /// Also the names Cross 0.2 wrote, so that its records after the last checkpoint are redone after an upgrade.
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let name = try container.decode(String.self)
            switch name {
            case "notification.applied": self = .eventApplied
            case "notification.duplicate": self = .eventDuplicate
            case "notification.refused": self = .callRefused
            default:
                guard let kind = Kind(rawValue: name) else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a kind of journal record: \(name)")
                }
                self = kind
            }
        }
    }

    var at: Timestamp
    var kind: Kind
    var key: OrderKey?
    var ref: String?
    var revision: Int?
    var from: OrderStatus?
    var to: OrderStatus?
    /// The HTTP status given to the caller (operators' calls).
    var answer: Int?
    var remote: String?
    /// Why: a change's note, a refusal's reason.
    var reason: String?
    /// The operator's event that made the change.
    var paymentEvent: PaymentEvent?
    /// Which door a refused call knocked at (`notification`).
    var channel: String?
    /// A refused call's parameters as they came, in order (they may not parse).
    var parameters: [[String]]?
    var order: Order?
    /// The webhook event this change raises (`order.paid`, …): the store puts it in the outbox.
    var webhook: String?
    /// The process that wrote the record (changes only): the checkpoint trusts a change whose writer is alive
    /// to have finished, and redoes the rest of one whose writer died.
    var pid: Int32?
    /// Set on a copy of a change record, appended when the change was saved but its webhook event or index
    /// line could not be made (a full disk): the next recovery pass makes them.
    var unfinished: Bool?

    init(at: Timestamp, kind: Kind) {
        self.at = at
        self.kind = kind
    }

    init(_ change: OrderChange) {
        let kind: Kind = switch change.kind {
        case .created: .orderCreated
        case .attemptStarted: .attemptStarted
        case .eventApplied: .eventApplied
        case .eventDuplicate: .eventDuplicate
        case .callbackReceived: .callbackReceived
        case .attemptChecked: .attemptChecked
        case .refundRequested: .refundRequested
        case .refundUpdated: .refundUpdated
        }
        self.init(at: change.at, kind: kind)
        from = change.from
        to = change.to
        reason = change.note
        paymentEvent = change.event
        remote = change.remote
        answer = change.answer
        webhook = change.webhook
    }

    enum CodingKeys: String, CodingKey {
        case at, kind, key, ref, revision, from, to, answer, remote, reason
        case paymentEvent = "payment_event"
        case channel, parameters, order, webhook, pid, unfinished
    }

    /// Cross 0.2 named the webhook event `event` (the record's TMoney `notification` is not needed: the order
    /// it made is in `order`).
    private enum LegacyKeys: String, CodingKey {
        case event
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        at = try container.decode(Timestamp.self, forKey: .at)
        kind = try container.decode(Kind.self, forKey: .kind)
        key = try container.decodeIfPresent(OrderKey.self, forKey: .key)
        ref = try container.decodeIfPresent(String.self, forKey: .ref)
        revision = try container.decodeIfPresent(Int.self, forKey: .revision)
        from = try container.decodeIfPresent(OrderStatus.self, forKey: .from)
        to = try container.decodeIfPresent(OrderStatus.self, forKey: .to)
        answer = try container.decodeIfPresent(Int.self, forKey: .answer)
        remote = try container.decodeIfPresent(String.self, forKey: .remote)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        paymentEvent = try container.decodeIfPresent(PaymentEvent.self, forKey: .paymentEvent)
        channel = try container.decodeIfPresent(String.self, forKey: .channel)
        parameters = try container.decodeIfPresent([[String]].self, forKey: .parameters)
        order = try container.decodeIfPresent(Order.self, forKey: .order)
        pid = try container.decodeIfPresent(Int32.self, forKey: .pid)
        unfinished = try container.decodeIfPresent(Bool.self, forKey: .unfinished)
        webhook = try container.decodeIfPresent(String.self, forKey: .webhook)
            ?? decoder.container(keyedBy: LegacyKeys.self).decodeIfPresent(String.self, forKey: .event)
    }
}

/// The append-only JSON-lines journal: a sequence of segment files (`journal/segment-000001.jsonl`, …, see
/// `JournalFolder`), of which only the newest is written to. `append` returns only once the record is on disk
/// (fdatasync); appenders that arrive while a sync is running share the next one (group commit).
///
/// Each write holds `segments.lock` shared and first looks whether a newer segment exists: the checkpoint starts
/// one under that lock held exclusively, so that once it has, no process (several may serve one data folder)
/// writes to the old segment again, and the checkpoint can close it.
final class Journal: @unchecked Sendable {
    let folder: JournalFolder
    // Guarded by `mutex`, with `segment`, `fd` and what follows; `synced` wakes the appenders waiting for a sync.
    private var fd: Int32
    private var segment: Int
    /// Files of older segments still being synced by another thread: closed once no sync runs.
    private var retired: [Int32] = []
    private let segmentLock: Int32
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let syncDone = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var appended: UInt64 = 0
    private var synced: UInt64 = 0
    private var syncing = false
    private var failure: String?
    /// End of the space reserved with fallocate: a record is never half-written because the disk filled up.
    private var reservedEnd: Int64 = 0
    /// Set after a write that failed part-way: the next record starts with a line break of its own.
    private var mayBeTorn = false

    private static let reserveChunk: Int64 = 1 << 20
    private static let reserveMargin: Int64 = 64 << 10

    /// Opens the newest segment of the journal in `directory` (the first one of a new journal), after the upgrade
    /// of a journal from before segments and the check that no segment is missing.
    init(directory: String) throws(StoreError) {
        folder = JournalFolder(path: directory)
        fd = -1
        segment = 0
        segmentLock = open(folder.segmentLockPath, O_RDWR | O_CREAT | O_CLOEXEC, FileSystem.fileMode)
        let lockError = errno
        // Before anything can throw: a throwing init of a class runs `deinit`, which destroys them (destroying
        // an uninitialised condition waits forever; Cross hung at start on a read-only data folder).
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(syncDone, nil)
        guard segmentLock >= 0 else { throw .unavailable("cannot open \(folder.segmentLockPath): \(FileSystem.errorText(lockError))") }
        try folder.upgradeLegacyJournal()
        try folder.check()
        try FileLock.withSharedLock(folder.segmentLockPath) { () throws(StoreError) in
            try openSegment(newestSegment())
        }
    }

    /// The segment appenders write to: the newest present, else the one after the newest the folder knows of.
    private func newestSegment() throws(StoreError) -> Int {
        if let newest = folder.presentSegments().last { return newest }
        let known = try folder.readManifest().segments.map(\.segment) + [folder.readCheckpoint()?.segment ?? 0]
        return (known.max() ?? 0) + 1
    }

    /// Opens (creating if need be) `segment` for appending; called with the mutex held or before any append.
    private func openSegment(_ number: Int) throws(StoreError) {
        let path = folder.segmentPath(number)
        let created = !FileSystem.exists(path)
        let opened = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, FileSystem.fileMode)
        guard opened >= 0 else { throw .unavailable("cannot open the journal \(path): \(FileSystem.errorText())") }
        if created { try FileSystem.syncDirectory(folder.path) }
        if fd >= 0 {
            if syncing { retired.append(fd) } else { close(fd) }
        }
        fd = opened
        segment = number
        reservedEnd = 0
        // A segment that does not end with a line break was cut short (a crash mid-write, a full disk): the first
        // record starts on a line of its own rather than completing the torn one.
        let size = lseek(fd, 0, SEEK_END)
        mayBeTorn = false
        if size > 0 {
            var last: UInt8 = 0
            mayBeTorn = pread(fd, &last, 1, size - 1) == 1 && last != UInt8(ascii: "\n")
        }
    }

    /// The segment being written to.
    var path: String {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return folder.segmentPath(segment)
    }

    var currentSegment: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return segment
    }

    deinit {
        if fd >= 0 { close(fd) }
        for old in retired { close(old) }
        if segmentLock >= 0 { close(segmentLock) }
        pthread_cond_destroy(syncDone)
        pthread_mutex_destroy(mutex)
        syncDone.deallocate()
        mutex.deallocate()
    }

    /// Starts segment `current + 1` unless a newer one exists already, holding the segment lock exclusively: after
    /// this, every write of every process goes to the new segment (or a later one). Called by the checkpoint.
    static func startSegment(after current: Int, in folder: JournalFolder) throws(StoreError) {
        try FileLock.withLock(folder.segmentLockPath) { () throws(StoreError) in
            guard (folder.presentSegments().last ?? 0) <= current else { return }
            let path = folder.segmentPath(current + 1)
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, FileSystem.fileMode)
            guard fd >= 0 else { throw .unavailable("cannot create the journal segment \(path): \(FileSystem.errorText())") }
            let synced = fsync(fd) == 0
            close(fd)
            guard synced else { throw .unavailable("cannot sync \(path): \(FileSystem.errorText())") }
            // Its name durable before anyone writes to it: a record synced into a file whose name a power cut took
            // would be lost.
            try FileSystem.syncDirectory(folder.path)
        }
    }

    /// Moves to the newest segment if the checkpoint started one; called with the mutex and the shared segment
    /// lock held. What this process wrote to the old segment is synced first: later syncs are of the new file.
    private func followNewSegment() throws(StoreError) {
        guard FileSystem.exists(folder.segmentPath(segment + 1)) else { return }
        guard let newest = folder.presentSegments().last, newest > segment else { return }
        if appended > synced {
            guard fdatasync(fd) == 0 else {
                failure = "the journal could not be synced (\(FileSystem.errorText())); restart Cross to recover"
                throw .unavailable(failure!)
            }
            synced = appended
            pthread_cond_broadcast(syncDone)
        }
        try openSegment(newest)
    }

    /// Writes the record and waits until it is durable. `order`, the order's JSON as its file holds it, goes
    /// into the record's `order` field as it is, rather than being encoded a second time.
    func append(_ record: JournalRecord, order: [UInt8]? = nil) throws(StoreError) {
        var line = JSONBytes.encode(record, order: order)
        line.append(UInt8(ascii: "\n"))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let sequence = try write(line)
        // Wait for a sync that covers this record, or run one for everyone who has written so far.
        while synced < sequence {
            if let failure { throw .unavailable(failure) }
            if syncing {
                pthread_cond_wait(syncDone, mutex)
                continue
            }
            syncing = true
            let target = appended, group = appended - synced, started = DispatchTime.now().uptimeNanoseconds
            let file = fd
            pthread_mutex_unlock(mutex)
            let result = fdatasync(file)
            let code = errno
            JournalMetrics.synced(records: group, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
            pthread_mutex_lock(mutex)
            syncing = false
            for old in retired { close(old) }
            retired.removeAll()
            if result == 0 {
                synced = max(synced, target)
            } else {
                // After a failed fsync the kernel may have dropped the data: nothing more is promised until a
                // restart has checked the journal.
                failure = "the journal could not be synced (\(FileSystem.errorText(code))); restart Cross to recover"
            }
            pthread_cond_broadcast(syncDone)
        }
    }

    /// Appends one line with a single write; called with the mutex held, so records keep their order.
    private func write(_ line: [UInt8]) throws(StoreError) -> UInt64 {
        if let failure { throw .unavailable(failure) }
        while flock(segmentLock, LOCK_SH) != 0 {
            guard errno == EINTR else { throw .unavailable("cannot lock \(folder.segmentLockPath): \(FileSystem.errorText())") }
        }
        defer { flock(segmentLock, LOCK_UN) }
        try followNewSegment()
        var line = line
        let end = Int64(lseek(fd, 0, SEEK_END))
        if end + Int64(line.count) + Self.reserveMargin > reservedEnd {
            // Reserve ahead; on a full disk this fails here, before a byte of the record is written.
            if cross_reserve_space(fd, Int(end), Int(Self.reserveChunk)) != 0 && errno != EOPNOTSUPP {
                throw .unavailable("cannot reserve journal space: \(FileSystem.errorText())")
            }
            reservedEnd = end + Self.reserveChunk
        }
        if mayBeTorn { line.insert(UInt8(ascii: "\n"), at: 0) }
        let written = line.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, $0.count) }
        guard written == line.count else {
            mayBeTorn = written > 0
            throw .unavailable("cannot write the journal: \(written < 0 ? FileSystem.errorText() : "short write")")
        }
        mayBeTorn = false
        appended += 1
        return appended
    }

    /// Reads the complete records from `offset` on, a piece of the file at a time, handing each to `visit` in
    /// order: recovery keeps only what it needs, however long the journal has grown. A line that does not
    /// parse (a torn last line after a crash) is skipped and reported; `end` is where the last complete line
    /// ends.
    static func scan(
        path: String, from offset: Int64, _ visit: (_ offset: Int64, _ record: JournalRecord) throws(StoreError) -> Void
    ) throws(StoreError) -> (damaged: [Int64], end: Int64) {
        let decoder = JSONDecoder()
        var damaged: [Int64] = []
        let end = try scanLines(path: path, from: offset) { lineOffset, line throws(StoreError) in
            if let record = decode(line, with: decoder) {
                try visit(lineOffset, record)
            } else {
                damaged.append(lineOffset)
            }
        }
        return (damaged + end.cut, end.end)
    }

    static func decode(_ line: ArraySlice<UInt8>, with decoder: JSONDecoder = JSONDecoder()) -> JournalRecord? {
        try? decoder.decode(JournalRecord.self, from: Data(line))
    }

    /// The same, line by line as bytes, for a reader that decodes only the lines it needs. `cut` holds the
    /// offset of bytes after the last line break (a record whose write was cut short), if any.
    static func scanLines(
        path: String, from offset: Int64, _ visit: (_ offset: Int64, _ line: ArraySlice<UInt8>) throws(StoreError) -> Void
    ) throws(StoreError) -> (cut: [Int64], end: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return ([], offset) }
            throw .unavailable("cannot open the journal \(path): \(FileSystem.errorText())")
        }
        defer { close(fd) }
        // One buffer: a piece of the file is read in after what is left of the last piece, the complete lines
        // are handed out, and the rest moves to the front. It grows only for a line longer than itself.
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        var filled = 0
        var bufferStart = max(offset, 0)
        while true {
            if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let count = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(bufferStart + Int64(filled)))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unavailable("cannot read the journal \(path): \(FileSystem.errorText())")
            }
            if count == 0 { break }
            filled += count
            var lineStart = 0
            while let newline = buffer[lineStart..<filled].firstIndex(of: UInt8(ascii: "\n")) {
                if newline > lineStart { try visit(bufferStart + Int64(lineStart), buffer[lineStart..<newline]) }
                lineStart = newline + 1
            }
            buffer.withUnsafeMutableBytes { bytes in
                _ = memmove(bytes.baseAddress!, bytes.baseAddress! + lineStart, filled - lineStart)
            }
            filled -= lineStart
            bufferStart += Int64(lineStart)
        }
        // Bytes after the last line break: a record whose write was cut short. Reported, not applied.
        return (filled == 0 ? [] : [bufferStart], bufferStart)
    }
}
