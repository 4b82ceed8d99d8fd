import Foundation
import Testing
@testable import OrderStore
@testable import Payments

@Suite struct RecoveryTests {
    /// A crash after the journal record and before the rename leaves the order file one revision behind.
    @Test func journaledChangeMissingFromItsFileIsApplied() throws {
        let directory = temporaryDirectory("recover")
        let store = try OrderStore(directory: directory)
        _ = try store.create(newOrder("CMD-1"), at: .now(), lifetimeSeconds: 600)
        _ = try notify(store, ok("CMD-1"))
        let paid = try #require(try store.load(ref: "CMD-1"))
        // Put back the file as it was before the notification: the state a crash before the rename leaves.
        let created = try #require(try journalRecords(store).first?.order)
        let encoder = JSONEncoder()
        try encoder.encode(created).write(to: URL(fileURLWithPath: store.path(for: created.key)))
        #expect(try store.load(ref: "CMD-1")?.status == .pending)

        let report = try #require(try OrderStore(directory: directory).recover())
        #expect(report.ordersRestored == [paid.key])
        #expect(try store.load(ref: "CMD-1") == paid)
        // The checkpoint moved: a second pass reads nothing.
        #expect(try store.recover()?.recordsScanned == 0)
    }

    @Test func missingFileIsRestoredFromTheJournal() throws {
        let store = try OrderStore(directory: temporaryDirectory("missing"))
        _ = try store.create(newOrder("CMD-2"), at: .now(), lifetimeSeconds: 600)
        let order = try #require(try store.load(ref: "CMD-2"))
        unlink(store.path(for: order.key))
        #expect(try store.recover()?.ordersRestored == [order.key])
        #expect(try store.load(ref: "CMD-2") == order)
    }

    @Test func tornLastLineIsSkippedAndReported() throws {
        let store = try OrderStore(directory: temporaryDirectory("torn"))
        _ = try store.create(newOrder("CMD-3"), at: .now(), lifetimeSeconds: 600)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.journalPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"at":"2026-11-26T10:00:00Z","kind":"notification.app"#.utf8))
        try handle.close()
        let report = try #require(try store.recover())
        #expect(report.damagedLines.count == 1)
        #expect(report.recordsScanned == 1)
        #expect(try store.load(ref: "CMD-3")?.status == .pending)
        // After a restart, new records go on a line of their own after the torn one.
        let restarted = try OrderStore(directory: store.directory)
        _ = try notify(restarted, ok("CMD-3"))
        let (records, damaged, _) = try Journal.read(path: store.journalPath, from: 0)
        #expect(records.map(\.record.kind) == [.orderCreated, .notificationApplied])
        #expect(damaged.count == 1)
    }

    @Test func damagedOrderFileIsReportedAndNeverOverwritten() throws {
        let store = try OrderStore(directory: temporaryDirectory("damaged"))
        _ = try store.create(newOrder("CMD-4"), at: .now(), lifetimeSeconds: 600)
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
        let store = try OrderStore(directory: temporaryDirectory("tmp"))
        _ = try store.create(newOrder("CMD-5"), at: .now(), lifetimeSeconds: 600)
        let path = store.path(for: OrderKey(ref: "CMD-5"))
        // pid 2^22 + 1 is above Linux's pid_max default: no such process.
        FileManager.default.createFile(atPath: path + ".tmp.4194305.2", contents: Data("{".utf8))
        FileManager.default.createFile(atPath: path + ".tmp.\(getpid()).9", contents: Data("{".utf8))
        let report = store.sweep()
        #expect(report.temporaryFilesRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp.4194305.2"))
        #expect(FileManager.default.fileExists(atPath: path + ".tmp.\(getpid()).9"), "a live process may still be writing it")
        #expect(report.damagedFiles.isEmpty)
    }
}

@Suite struct JournalScanTests {
    /// A journal of several megabytes is read a piece at a time: records across the pieces' edges are whole.
    @Test func recordsAcrossChunkEdgesAreReadWhole() throws {
        let store = try OrderStore(directory: temporaryDirectory("scan"))
        let description = String(repeating: "riz ", count: 60)
        DispatchQueue.concurrentPerform(iterations: 4) { part in
            for index in 0..<1000 {
                var new = newOrder("SCAN-\(part)-\(index)")
                new = NewOrder(ref: new.ref, amount: new.amount, currency: new.currency, description: description, brand: new.brand,
                               phone: nil, language: .fr, text: nil, returnURLs: ReturnURLs())
                _ = try! store.create(new, at: .now(), lifetimeSeconds: 600)
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
