import Foundation
import Testing
import Cashier
@testable import FlatFileStore
import OrderStorage
@testable import Payments
import TMoneyOnline

@Suite struct RecoveryTests {
    /// A crash after the journal record and before the rename leaves the order file one revision behind.
    @Test func journaledChangeMissingFromItsFileIsApplied() throws {
        let directory = temporaryDirectory("recover")
        let store = try FlatFileStore(directory: directory)
        _ = try create(store, newOrder("CMD-1"))
        _ = try notify(store, ok("CMD-1"))
        let paid = try #require(try store.load(ref: "CMD-1"))
        // Put back the file as it was before the notification: the state a crash before the rename leaves.
        let created = try #require(try journalRecords(store).first?.order)
        let encoder = JSONEncoder()
        try encoder.encode(created).write(to: URL(fileURLWithPath: store.path(for: created.key)))
        #expect(try store.load(ref: "CMD-1")?.status == .pending)

        let report = try #require(try FlatFileStore(directory: directory).recover())
        #expect(report.ordersRestored == [paid.key])
        #expect(try store.load(ref: "CMD-1") == paid)
        // The checkpoint moved: a second pass reads nothing.
        #expect(try store.recover()?.recordsScanned == 0)
    }

    @Test func missingFileIsRestoredFromTheJournal() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("missing"))
        _ = try create(store, newOrder("CMD-2"))
        let order = try #require(try store.load(ref: "CMD-2"))
        unlink(store.path(for: order.key))
        #expect(try store.recover()?.ordersRestored == [order.key])
        #expect(try store.load(ref: "CMD-2") == order)
    }

    @Test func tornLastLineIsSkippedAndReported() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("torn"))
        _ = try create(store, newOrder("CMD-3"))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.journalPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"at":"2026-11-26T10:00:00Z","kind":"event.app"#.utf8))
        try handle.close()
        let report = try #require(try store.recover())
        #expect(report.damagedLines.count == 1)
        #expect(report.recordsScanned == 1)
        #expect(try store.load(ref: "CMD-3")?.status == .pending)
        // After a restart, new records go on a line of their own after the torn one.
        let restarted = try FlatFileStore(directory: store.directory)
        _ = try notify(restarted, ok("CMD-3"))
        let (records, damaged) = try readJournal(store)
        #expect(records.map(\.kind) == [.orderCreated, .eventApplied])
        #expect(damaged.count == 1)
    }

    @Test func damagedOrderFileIsReportedAndNeverOverwritten() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("damaged"))
        _ = try create(store, newOrder("CMD-4"))
        _ = try store.recover()
        let path = store.path(for: OrderKey(ref: "CMD-4"))
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = original.prefix(original.count / 2)
        try truncated.write(to: URL(fileURLWithPath: path))

        #expect(throws: StoreError.self) { try store.load(ref: "CMD-4") }
        #expect(throws: StoreError.self) { try notify(store, ok("CMD-4")) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == truncated, "a failed update leaves the file alone")
        let sweep = store.sweep()
        #expect(sweep.damagedFiles == [path])
        #expect(try store.recover()?.ordersRestored == [], "nothing in the journal since the checkpoint to restore it from")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == truncated)
    }

    @Test func leftoverTemporaryFilesOfDeadProcessesAreRemoved() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("tmp"))
        _ = try create(store, newOrder("CMD-5"))
        let path = store.path(for: OrderKey(ref: "CMD-5"))
        // pid 2^22 + 1 is above Linux's pid_max default: no such process.
        _ = FileManager.default.createFile(atPath: path + ".tmp.4194305.2", contents: Data("{".utf8))
        _ = FileManager.default.createFile(atPath: path + ".tmp.\(getpid()).9", contents: Data("{".utf8))
        let report = store.sweep()
        #expect(report.temporaryFilesRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp.4194305.2"))
        #expect(FileManager.default.fileExists(atPath: path + ".tmp.\(getpid()).9"), "a live process may still be writing it")
        #expect(report.damagedFiles.isEmpty)
    }
}

/// The regular checkpoint (`thorough: false`) reads most journal lines as bytes, without decoding them.
@Suite struct CheckpointTests {
    /// A paid order with its webhook event: created, then paid, through the store.
    private func paidOrder(_ store: FlatFileStore, _ ref: String) throws -> Order {
        _ = try create(store, newOrder(ref))
        #expect(try notify(store, ok(ref)) == .applied(from: .pending, to: .paid, note: nil))
        return try #require(try store.load(ref: ref))
    }

    private func indexRevisions(_ store: FlatFileStore) throws -> [OrderKey: Int] {
        var revisions: [OrderKey: Int] = [:]
        for (key, entry) in try indexSummaries(store) { revisions[key] = entry.revision }
        return revisions
    }

    /// Rewrites the journal with every change's `pid` replaced: the changes of another process.
    private func attributeJournal(_ store: FlatFileStore, to pid: Int32) throws {
        let text = try String(contentsOfFile: store.journalPath, encoding: .utf8)
        let replaced = text.replacingOccurrences(of: "\"pid\":\(getpid()),", with: "\"pid\":\(pid),")
        #expect(replaced != text)
        try replaced.write(toFile: store.journalPath, atomically: false, encoding: .utf8)
    }

    @Test func aChangeLineIsReadWithoutDecodingIt() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("line"))
        let order = try paidOrder(store, #"CMD-"quote"-\-{x}"#)
        var lines: [ArraySlice<UInt8>] = []
        _ = try Journal.scanLines(path: store.journalPath, from: 0) { _, line throws(StoreError) in lines.append(line) }
        let last = try #require(lines.last)
        let change = try #require(JournalLine(last))
        #expect(change.key == order.key && change.revision == 2 && change.pid == getpid() && !change.unfinished)
        let file = try FileSystem.read(store.path(for: order.key))
        #expect(Array(change.order) + [UInt8(ascii: "\n")] == file)
        #expect(change.writerFinished)
        // A refused notification carries no order: decoded instead.
        #expect(JournalLine(Array(#"{"answer":403,"at":"2026-11-26T10:00:00Z","kind":"call.refused"}"#.utf8)[...]) == nil)
    }

    /// A change whose file is behind is restored by either pass, with its event and index line.
    @Test func aFileBehindItsJournalIsRestoredByTheRegularCheckpoint() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("behind"))
        let paid = try paidOrder(store, "CMD-20")
        let created = try #require(try journalRecords(store).first?.order)
        try Data(JSONBytes.encode(created) + [10]).write(to: URL(fileURLWithPath: store.path(for: paid.key)))
        let report = try #require(try store.recover(thorough: false))
        #expect(report.ordersRestored == [paid.key])
        #expect(try store.load(ref: "CMD-20") == paid)
        #expect(report.recordsScanned == 2)
    }

    /// A file cut short after its `revision` key, with a change since the checkpoint: restored from the
    /// journal by the regular pass as by the thorough one (only the file's own bytes are trusted, never a
    /// number found in them).
    @Test func aDamagedFileWithAChangeSinceTheCheckpointIsRestored() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("damaged-regular"))
        let paid = try paidOrder(store, "CMD-24")
        let path = store.path(for: paid.key)
        let bytes = try #require(try FileSystem.read(path))
        let cut = Array(bytes.prefix(bytes.count - 40))
        #expect(String(decoding: cut, as: UTF8.self).contains("\"revision\":2"))
        try Data(cut).write(to: URL(fileURLWithPath: path))
        let report = try #require(try store.recover(thorough: false))
        #expect(report.ordersRestored == [paid.key])
        #expect(try store.load(ref: "CMD-24") == paid)
    }

    /// The writer died between its rename and its event and index line: its pid names no process any more, so
    /// the regular checkpoint makes them. Changes of a live writer are trusted to be complete.
    @Test func changesOfADeadWriterGetTheirEventAndIndexLine() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("dead"))
        let paid = try paidOrder(store, "CMD-21")
        let eventID = OutboxEvent.id(paid.key, revision: 2)
        try FileManager.default.removeItem(atPath: store.index.path)
        try FileManager.default.removeItem(atPath: store.files.path(eventID, .pending))

        _ = try #require(try store.recover(thorough: false))
        #expect(try indexRevisions(store)[paid.key] == nil, "a live writer's change: not redone")
        #expect(store.outbox.find(eventID) == nil)

        let checkpoint = store.directory + "/journal/checkpoint.json"
        try FileManager.default.removeItem(atPath: checkpoint)
        try attributeJournal(store, to: 4_194_305)  // above Linux's default pid_max: no such process
        let report = try #require(try store.recover(thorough: false))
        #expect(report.recordsScanned == 2 && report.ordersRestored.isEmpty)
        #expect(try indexRevisions(store)[paid.key] == 2)
        #expect(store.outbox.find(eventID) == .pending)
    }

    /// A change journaled again as `unfinished` (its event or index line failed) is redone by the regular
    /// checkpoint even though its writer lives; the thorough pass redoes everything.
    @Test func unfinishedChangesAreRedoneAndThoroughPassesRedoEverything() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("unfinished"))
        let paid = try paidOrder(store, "CMD-22")
        let other = try paidOrder(store, "CMD-23")
        _ = try store.recover(thorough: false)
        try FileManager.default.removeItem(atPath: store.index.path)

        var records = try journalRecords(store)
        var again = try #require(records.last { $0.key == paid.key && $0.revision == 2 })
        let snapshot = try #require(again.order)
        again.order = nil
        again.unfinished = true
        let line = JSONBytes.encode(again, order: JSONBytes.encode(snapshot)) + [10]
        let handle = try #require(FileHandle(forWritingAtPath: store.journalPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line))
        try handle.close()
        records = try journalRecords(store)
        #expect(records.last?.unfinished == true)

        _ = try #require(try store.recover(thorough: false))
        var index = try indexRevisions(store)
        #expect(index[paid.key] == 2 && index[other.key] == nil)

        try FileManager.default.removeItem(atPath: store.directory + "/journal/checkpoint.json")
        _ = try #require(try store.recover())
        index = try indexRevisions(store)
        #expect(index[paid.key] == 2 && index[other.key] == 2)
    }
}

@Suite struct UpgradeTests {
    /// Cross 0.2's records after its last checkpoint (its kinds, its `event`, its order files) are redone by the
    /// first recovery after an upgrade: the order file restored, the webhook event made.
    @Test func aJournalOfCross02IsRecovered() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("upgrade"))
        let key = OrderKey(ref: "OLD-1")
        let created = #"{"at":"2026-11-26T15:23:00Z","key":"\#(key.hex)","kind":"order.created","order":{"amount":15000,"attempts":[],"brand":"Boutique","created_at":"2026-11-26T15:23:00Z","currency":"952","description":"Riz","expires_at":"2026-12-03T15:23:00Z","key":"\#(key.hex)","language":"fr","notifications":[],"purchaseref":"OLD-1","return_urls":{},"review_reasons":[],"revision":1,"status":"pending","updated_at":"2026-11-26T15:23:00Z"},"pid":4194305,"ref":"OLD-1","revision":1,"to":"pending"}"#
        let paid = #"{"answer":200,"at":"2026-11-26T15:24:00Z","event":"order.paid","from":"pending","key":"\#(key.hex)","kind":"notification.applied","notification":{"amount":15000,"clientid":"C1","cname":"Kofi","currency":"952","error":"","mobile":"22890000001","payid":"P1","paymentref":"PR1","purchaseref":"OLD-1","status":"OK","timestamp":"1469024554"},"order":{"amount":15000,"attempts":[],"brand":"Boutique","created_at":"2026-11-26T15:23:00Z","currency":"952","description":"Riz","expires_at":"2026-12-03T15:23:00Z","key":"\#(key.hex)","language":"fr","notifications":[{"from":"pending","notification":{"amount":15000,"clientid":"C1","cname":"Kofi","currency":"952","error":"","mobile":"22890000001","payid":"P1","paymentref":"PR1","purchaseref":"OLD-1","status":"OK","timestamp":"1469024554"},"received_at":"2026-11-26T15:24:00Z","to":"paid"}],"payment":{"amount":15000,"clientid":"C1","cname":"Kofi","currency":"952","mobile":"22890000001","payid":"P1","paymentref":"PR1","received_at":"2026-11-26T15:24:00Z","timestamp":"1469024554"},"purchaseref":"OLD-1","return_urls":{},"review_reasons":[],"revision":2,"status":"paid","updated_at":"2026-11-26T15:24:00Z"},"pid":4194305,"ref":"OLD-1","remote":"127.0.0.1","revision":2,"to":"paid"}"#
        let refused = #"{"answer":403,"at":"2026-11-26T15:25:00Z","kind":"notification.refused","parameters":[["purchaseref","X"]],"reason":"source address 10.0.0.9 is not in notification_allowlist","remote":"10.0.0.9"}"#
        try Data((created + "\n" + paid + "\n" + refused + "\n").utf8).write(to: URL(fileURLWithPath: store.journalPath))
        let report = try #require(try FlatFileStore(directory: store.directory).recover())
        #expect(report.damagedLines.isEmpty, "every line of 0.2 reads")
        #expect(report.ordersRestored == [key])
        let order = try #require(try store.load(key))
        #expect(order.status == .paid && order.revision == 2 && order.payment?.transactionID == "P1" && order.details.description == "Riz")
        #expect(store.outbox.find(OutboxEvent.id(key, revision: 2)) == .pending, "its webhook event, made again")
        #expect(try journalRecords(store).map(\.kind) == [.orderCreated, .eventApplied, .callRefused])
    }
}

@Suite struct JournalScanTests {
    /// A journal of several megabytes is read a piece at a time: records across the pieces' edges are whole.
    @Test func recordsAcrossChunkEdgesAreReadWhole() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("scan"))
        let description = String(repeating: "riz ", count: 60)
        DispatchQueue.concurrentPerform(iterations: 4) { part in
            for index in 0..<1000 {
                _ = try! create(store, newOrder("SCAN-\(part)-\(index)", description: description))
            }
        }
        var size = stat()
        stat(store.journalPath, &size)
        #expect(size.st_size > 2 << 20, "more than two pieces of 1 MiB")
        var refs = Set<String>()
        let (damaged, end) = try Journal.scan(path: store.journalPath, from: 0) { _, record throws(StoreError) in
            refs.insert(record.ref ?? "")
        }
        #expect(damaged.isEmpty)
        #expect(refs.count == 4000)
        #expect(end == Int64(size.st_size))
        // From the middle of a line: that partial line is reported, the rest read.
        let (tail, tailEnd) = try Journal.scan(path: store.journalPath, from: 10) { _, _ throws(StoreError) in }
        #expect(tail == [10] && tailEnd == end)
    }
}

/// What the fuzz targets found in the store's byte-level readers, kept as regression tests.
@Suite struct ByteReaderTests {
    @Test func anIndexFieldPastInt64IsADamagedLineNotATrap() throws {
        let directory = temporaryDirectory("index-overflow")
        let path = directory + "/orders.tsv"
        let key = OrderKey(ref: "CMD-1001").hex
        try Data("\(key)\t9999999999999999999\t1795706608\t1795706608\tpending\t15000\t\t\tCMD-1001\n".utf8).write(to: URL(fileURLWithPath: path))
        let table = IndexTable()
        try table.refresh(path: path)
        #expect(table.count == 0 && table.skippedLines == 1)
    }

    @Test func aJournalNumberOfMoreThan18DigitsIsNotTruncated() throws {
        let key = OrderKey(ref: "CMD-1").hex
        let line = #"{"key":"\#(key)","kind":"event.applied","order":{"amount":1000},"pid":1,"revision":1234567890123456789}"#
        #expect(JournalLine(Array(line.utf8)[...]) == nil, "decoded instead, never read as 123456789012345678")
    }
}
