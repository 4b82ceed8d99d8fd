import Dispatch
import Foundation
import Testing
import Cashier
@testable import FlatFileStore
import OrderStorage
@testable import Payments
import TMoneyOnline

/// The journal in segments: rotation at the checkpoint, recovery across segments, a segment lost by hand,
/// retention, `cross journal verify`'s check.
@Suite struct JournalSegmentTests {
    /// Segments of 4 KiB: a few orders each.
    static let tiny = JournalSettings(segmentBytes: 4096)

    /// `count` orders, each created and then paid (every third by two payids: review), a checkpoint after each.
    private func trade(_ store: FlatFileStore, _ prefix: String, count: Int) throws {
        for n in 0..<count {
            let ref = "\(prefix)-\(n)"
            try create(store, newOrder(ref, amount: Int64(1000 + n)))
            _ = try notify(store, ok(ref, amount: Int64(1000 + n)))
            if n % 3 == 0 { _ = try notify(store, ok(ref, payid: "P2", amount: Int64(1000 + n))) }
            _ = try store.recover(thorough: false)
        }
    }

    @Test func theJournalRotatesAtTheCheckpointAndRecoveryReadsAcrossSegments() throws {
        let directory = temporaryDirectory("segments")
        let store = try FlatFileStore(directory: directory, journal: Self.tiny)
        try trade(store, "ROT", count: 40)
        let folder = store.journalFolder
        let present = folder.presentSegments()
        #expect(present.count >= 8, "40 orders of about 3 KB of journal each in 4 KiB segments")
        #expect(present == Array(1...present.count), "numbered without a gap")
        let manifest = try folder.readManifest()
        let checkpoint = try #require(folder.readCheckpoint())
        #expect(manifest.segments.map(\.segment) == Array(1..<checkpoint.segment), "every segment before the checkpoint's is closed")
        #expect(manifest.segments.allSatisfy { $0.firstAt != nil && $0.lastAt != nil && $0.bytes == folder.size($0.segment) })
        // Nothing lost or read twice at a boundary: one record per change, in order.
        let records = try journalRecords(store)
        #expect(records.filter { $0.kind == .orderCreated }.count == 40)
        #expect(records.filter { $0.kind == .eventApplied }.count == 40 + 14)

        // Every order file and the checkpoint gone: a new store rebuilds all of them from every segment.
        let before = store.allOrders().compactMap { try? $0.get() }
        #expect(before.count == 40)
        for order in before { unlink(store.path(for: order.key)) }
        unlink(folder.checkpointPath)
        try FileManager.default.removeItem(atPath: folder.manifestPath)
        let reopened = try FlatFileStore(directory: directory, journal: Self.tiny)
        let report = try #require(try reopened.recover())
        #expect(report.ordersRestored.count == 40)
        #expect(Set(reopened.allOrders().compactMap { try? $0.get() }.map(\.revision)) == Set(before.map(\.revision)))
        for order in before { #expect(try reopened.load(order.key) == order) }
    }

    /// Changes after the checkpoint, in a segment the crash left open, are redone at start: a file put back one
    /// change behind, in two segments, is brought forward.
    @Test func changesAfterTheCheckpointAreRedoneAcrossSegments() throws {
        let directory = temporaryDirectory("segments-redo")
        let store = try FlatFileStore(directory: directory, journal: Self.tiny)
        try trade(store, "OLD", count: 6)
        let checkpointBefore = try #require(store.journalFolder.readCheckpoint())
        // Two orders created, then a segment started by hand (as the checkpoint would, without its pass), then paid:
        // their changes lie across two segments after the checkpoint.
        try create(store, newOrder("NEW-1"))
        try create(store, newOrder("NEW-2"))
        let created = try [#require(try store.load(ref: "NEW-1")), #require(try store.load(ref: "NEW-2"))]
        try Journal.startSegment(after: store.journalFolder.presentSegments().last!, in: store.journalFolder)
        _ = try notify(store, ok("NEW-1"))
        _ = try notify(store, ok("NEW-2"))
        #expect(store.journalFolder.presentSegments().last! > checkpointBefore.segment)
        let paid = try created.map { try #require(try store.load($0.key)) }
        // The crash: the files as they were before the payments, one of them missing.
        try Data(JSONBytes.encode(created[0]) + [10]).write(to: URL(fileURLWithPath: store.path(for: created[0].key)))
        unlink(store.path(for: created[1].key))
        let report = try #require(try FlatFileStore(directory: directory, journal: Self.tiny).recover())
        #expect(Set(report.ordersRestored) == Set(paid.map(\.key)))
        for order in paid { #expect(try store.load(order.key) == order) }
    }

    @Test func aSegmentRemovedByHandIsDetectedAtStart() throws {
        let directory = temporaryDirectory("segments-missing")
        let store = try FlatFileStore(directory: directory, journal: Self.tiny)
        try trade(store, "GAP", count: 12)
        let folder = store.journalFolder
        let newest = try #require(folder.presentSegments().last)
        #expect(newest >= 4)
        let inspection = JournalInspection(dataDirectory: directory)

        // A closed segment in the middle, moved away.
        let aside = directory + "/aside.jsonl"
        try FileSystem.rename(folder.segmentPath(2), aside)
        let refused = #expect(throws: StoreError.self) { try FlatFileStore(directory: directory, journal: Self.tiny) }
        #expect("\(refused!)".contains("segment-000002.jsonl is missing"))
        #expect("\(refused!)".contains("cross journal forget 2"))
        #expect(try inspection.segments().segments.first { $0.segment == 2 }?.state == .missing)
        #expect(try !inspection.verify().passed)
        // Put back, it opens again.
        try FileSystem.rename(aside, folder.segmentPath(2))
        _ = try FlatFileStore(directory: directory, journal: Self.tiny)

        // The checkpoint's segment, moved away: its changes may be in no order file; it cannot be forgotten.
        let checkpoint = try #require(folder.readCheckpoint())
        try FileSystem.rename(folder.segmentPath(checkpoint.segment), aside)
        let needed = #expect(throws: StoreError.self) { try FlatFileStore(directory: directory, journal: Self.tiny) }
        #expect("\(needed!)".contains("the checkpoint (segment \(checkpoint.segment)"))
        #expect(throws: StoreError.self) { try inspection.forget(checkpoint.segment) }
        #expect(!FileSystem.exists(folder.segmentPath(checkpoint.segment)), "no empty segment made in its place")

        // "Rotated by hand": an empty file where it was. The checkpoint lies past its end.
        if checkpoint.offset > 0 {
            FileManager.default.createFile(atPath: folder.segmentPath(checkpoint.segment), contents: Data())
            let replaced = #expect(throws: StoreError.self) { try FlatFileStore(directory: directory, journal: Self.tiny) }
            #expect("\(replaced!)".contains("the checkpoint is at offset \(checkpoint.offset)"))
            unlink(folder.segmentPath(checkpoint.segment))
        }
        try FileSystem.rename(aside, folder.segmentPath(checkpoint.segment))

        // A closed segment lost for good, recorded as such: Cross starts, and says so.
        unlink(folder.segmentPath(1))
        #expect(throws: StoreError.self) { try FlatFileStore(directory: directory, journal: Self.tiny) }
        try inspection.forget(1)
        _ = try FlatFileStore(directory: directory, journal: Self.tiny)
        #expect(try inspection.segments().segments.first?.state == .removed)
        #expect(try inspection.segments().problems.isEmpty)
    }

    @Test func retentionRemovesOnlyClosedSegmentsOlderThanIt() throws {
        let directory = temporaryDirectory("segments-retention")
        let settings = JournalSettings(segmentBytes: 4096, retentionSeconds: 86_400)
        let store = try FlatFileStore(directory: directory, journal: settings)
        try trade(store, "RET", count: 12)
        let folder = store.journalFolder
        let checkpoint = try #require(folder.readCheckpoint())
        let closed = try folder.readManifest().segments.map(\.segment)
        #expect(closed.count >= 3)
        // Younger than the retention: nothing goes.
        #expect(try store.applyJournalRetention(now: .now()) == [])
        // Without a retention: nothing ever goes.
        let keeper = try FlatFileStore(directory: directory, journal: JournalSettings(segmentBytes: 4096))
        #expect(try keeper.applyJournalRetention(now: Timestamp.now().adding(seconds: 100 * 86_400)) == [])
        // Two days on: every closed segment goes, never the checkpoint's or a later one.
        let removed = try store.applyJournalRetention(now: Timestamp.now().adding(seconds: 2 * 86_400))
        #expect(removed == closed)
        #expect(folder.presentSegments().allSatisfy { $0 >= checkpoint.segment })
        #expect(folder.presentSegments().contains(checkpoint.segment))
        // Recorded as removed, not reported missing; the orders are all there and the store opens.
        let inspection = JournalInspection(dataDirectory: directory)
        #expect(try inspection.segments().problems.isEmpty)
        #expect(try inspection.segments().segments.filter { $0.state == .removed }.map(\.segment) == closed)
        let reopened = try FlatFileStore(directory: directory, journal: settings)
        #expect(try reopened.recover()?.ordersRestored == [])
        #expect(reopened.allOrders().count == 12)
        #expect(try inspection.verify().passed)
    }

    @Test func verifyCatchesAnOrderFileBehindItsRecord() throws {
        let directory = temporaryDirectory("verify")
        let store = try FlatFileStore(directory: directory, journal: Self.tiny)
        try trade(store, "VER", count: 5)
        let inspection = JournalInspection(dataDirectory: directory)
        let clean = try inspection.verify()
        #expect(clean.passed && clean.orders == 5 && clean.changes == 5 + 5 + 2 && clean.segmentsRead >= 2)
        // VER-0's file put back at its first revision (a crash before the rename, recovery not run yet).
        let first = try #require(try journalRecords(store).first { $0.ref == "VER-0" }?.order)
        try Data(JSONBytes.encode(first) + [10]).write(to: URL(fileURLWithPath: store.path(for: first.key)))
        // And a damaged line appended to the open segment.
        let handle = try #require(FileHandle(forWritingAtPath: store.journalPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"at":"2026-11-26T10:00:00Z","kind":"no.such.kind"}"#.utf8 + [10]))
        try handle.close()
        let found = try inspection.verify()
        #expect(!found.passed)
        #expect(found.behind.map(\.ref) == ["VER-0"])
        #expect(found.behind.first?.journalRevision == 3 && found.behind.first?.file == "revision 1")
        #expect(found.unparsed.count == 1)
        // An order moved to the archive (`cross orders archive`) is found there.
        let live = store.path(for: OrderKey(ref: "VER-1"))
        let archived = directory + "/archive/2026-12-01/" + OrderKey(ref: "VER-1").hex.prefix(3)
        try FileManager.default.createDirectory(atPath: archived, withIntermediateDirectories: true)
        try FileSystem.rename(live, archived + "/" + OrderKey(ref: "VER-1").hex + ".json")
        #expect(try inspection.verify().behind.map(\.ref) == ["VER-0"])
        // A missing file is behind too.
        unlink(archived + "/" + OrderKey(ref: "VER-1").hex + ".json")
        #expect(try inspection.verify().behind.map(\.file).sorted() == ["missing", "revision 1"])
    }

    /// A data folder of Cross before segments: its `journal.jsonl` becomes segment 1, its checkpoint (an offset
    /// alone) reads as one in that segment, and a change after it is redone.
    @Test func aJournalFromBeforeSegmentsIsUpgraded() throws {
        let directory = temporaryDirectory("upgrade")
        let store = try FlatFileStore(directory: directory)
        try create(store, newOrder("UP-1"))
        _ = try store.recover()
        let checkpoint = try #require(store.journalFolder.readCheckpoint())
        _ = try notify(store, ok("UP-1"))
        let paid = try #require(try store.load(ref: "UP-1"))
        let created = try #require(try journalRecords(store).first?.order)
        // Laid out as the earlier Cross left it, with the file one change behind.
        try FileSystem.rename(store.journalFolder.segmentPath(1), directory + "/journal/journal.jsonl")
        try Data(#"{"at":"\#(checkpoint.at.iso8601)","offset":\#(checkpoint.offset)}"#.utf8).write(to: URL(fileURLWithPath: directory + "/journal/checkpoint.json"))
        try Data(JSONBytes.encode(created) + [10]).write(to: URL(fileURLWithPath: store.path(for: created.key)))

        let upgraded = try FlatFileStore(directory: directory)
        #expect(!FileSystem.exists(directory + "/journal/journal.jsonl"))
        #expect(upgraded.journalFolder.presentSegments() == [1])
        #expect(upgraded.journalFolder.readCheckpoint() == Checkpoint(segment: 1, offset: checkpoint.offset, at: checkpoint.at))
        let report = try #require(try upgraded.recover())
        #expect(report.recordsScanned == 1, "only the change after the old checkpoint")
        #expect(try upgraded.load(ref: "UP-1") == paid)
    }
}
