import Dispatch
import Foundation
import Testing
import Cashier
@testable import FlatFileStore
import OrderStorage
@testable import Payments
import Support
import TMoneyOnline

/// Runs `body` on a thread of its own (the global queue has as many threads as cores, and the load must not
/// starve the checkpoint), entered in `group`.
private func onThread(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    Thread {
        body()
        group.leave()
    }.start()
}

/// Every answer the dashboard can get from the index: each page of each query at a few page sizes, the CSV
/// export's rows, the paid totals.
private struct DashboardAnswers: Equatable {
    var pages: [String]
    var totals: [DayTotal]
}

private func dashboardAnswers(_ listing: any OrderListing, createdFrom: Int64) throws -> DashboardAnswers {
    var queries = [OrderQuery(), OrderQuery(createdFrom: createdFrom, createdUntil: createdFrom + 2), OrderQuery(search: "cmp-1"),
                   OrderQuery(search: "90 00"), OrderQuery(search: "é")]
    queries += OrderStatus.allCases.map { OrderQuery(status: $0) }
    queries += Operator.allCases.map { OrderQuery(operator: $0) }
    queries.append(OrderQuery(status: .paid, operator: .flooz, search: "CMP"))
    var answers: [String] = []
    for query in queries {
        for size in [1, 7, 50] {
            var number = 1
            while true {
                let page = try listing.page(query, number: number, size: size)
                answers.append("\(query) size \(size) page \(number): \(page.total) \(page.number) \(page.orders)")
                if page.number < number || page.orders.count < size { break }
                number += 1
            }
        }
        var rows: [String] = []
        try listing.export(query, estimate: { rows.append("estimate \($0) \($1)") }) { row in
            rows.append("\(row.key) \(String(decoding: row.ref, as: UTF8.self)) \(String(decoding: row.phone, as: UTF8.self)) \(row.createdAt) \(String(describing: row.paidAt)) \(row.status) \(row.amount) \(String(describing: row.operator))")
        }
        answers.append("\(query) export: \(rows)")
    }
    // Compared as values: a dictionary's description has no fixed order.
    return DashboardAnswers(pages: answers, totals: try listing.paidTotals(from: nil, until: nil))
}

private func lineCount(_ path: String) throws -> Int {
    try #require(try FileSystem.read(path)).filter { $0 == UInt8(ascii: "\n") }.count
}

@Suite struct IndexCompactionTests {
    /// Orders with many changes each (created in the same seconds, paid, paid twice, cancelled then retried and
    /// paid by Flooz), so that the index has many lines per order and ties of creation time.
    @Test func compactionWhenASegmentClosesKeepsEveryDashboardAnswer() throws {
        let directory = temporaryDirectory("compact")
        let store = try FlatFileStore(directory: directory)
        let startedAt = Timestamp.now().seconds
        for n in 0..<120 {
            let ref = n % 10 == 0 ? "CMP-é-\(n)" : "CMP-\(n)"
            try create(store, newOrder(ref, amount: Int64(500 + n)))
            switch n % 5 {
            case 0: break
            case 1: _ = try notify(store, ok(ref, amount: Int64(500 + n)))
            case 2:
                _ = try notify(store, ok(ref, amount: Int64(500 + n)))
                _ = try notify(store, ok(ref, payid: "P2", amount: Int64(500 + n)))
            case 3:
                let cancel = TMoneyOnline.Notification(
                    purchaseref: ref, amount: Int64(500 + n), currency: "952", status: .nok, clientid: "C1", cname: "Kofi",
                    mobile: "22890000001", paymentref: "", payid: "", timestamp: "1800000000", error: "CANCEL")
                _ = try notify(store, cancel)
            default: try floozPaid(store, ref, amount: Int64(500 + n), transaction: "F\(n)")
            }
        }
        let before = try dashboardAnswers(store.listing, createdFrom: startedAt)
        let linesBefore = try lineCount(store.index.path)
        #expect(linesBefore > 120 + 100, "a line per change")

        // The same folder with tiny segments: the checkpoint starts a new one, closes the first, compacts.
        let rotating = try FlatFileStore(directory: directory, journal: JournalSettings(segmentBytes: 4096))
        let report = try #require(try rotating.recover(thorough: false))
        #expect(report.segmentsStarted == 1 && report.segmentsClosed == [1])
        #expect(report.indexCompactedTo == 120)
        #expect(try lineCount(store.index.path) == 120, "one line per order")

        // The dashboard that was running (it notices the new file) and one starting afresh answer the same.
        #expect(try dashboardAnswers(store.listing, createdFrom: startedAt) == before)
        #expect(try dashboardAnswers(try FlatFileStore(directory: directory).listing, createdFrom: startedAt) == before)
        // A change after the compaction lands in the compacted index as before.
        _ = try notify(store, ok("CMP-5", amount: 505))
        #expect(try store.listing.page(OrderQuery(search: "CMP-5"), number: 1, size: 10).orders.first { $0.ref == "CMP-5" }?.status == .paid)
    }

    /// Lines appended while the compaction reads the index are carried over: none is lost.
    @Test func linesAppendedDuringACompactionAreKept() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("compact-live"))
        for n in 0..<50 { try create(store, newOrder("LIVE-\(n)")) }
        let done = Lock(false)
        let writer = DispatchGroup()
        onThread(writer) {
            var n = 0
            while !done.withLock({ $0 }) || n < 200 {
                _ = try? notify(store, ok("LIVE-\(n % 50)", payid: "P\(n)"))
                n += 1
            }
        }
        for _ in 0..<20 { _ = try store.index.compact() }
        done.withLock { $0 = true }
        writer.wait()
        let files = Dictionary(uniqueKeysWithValues: store.allOrders().compactMap { try? $0.get() }.map { ($0.key, $0.revision) })
        let index = try indexSummaries(store).mapValues(\.revision)
        #expect(index == files)
    }
}

@Suite struct BackupTests {
    /// A backup taken while four threads create and pay orders (and the checkpoint rotates tiny segments)
    /// restores to a folder where recovery runs, `cross journal verify` passes, and every change acknowledged
    /// before the backup's journal point is there.
    @Test func aBackupTakenUnderLoadRestoresEveryAcknowledgedChange() throws {
        let directory = temporaryDirectory("backup-source")
        let settings = JournalSettings(segmentBytes: 16 << 10)
        let store = try FlatFileStore(directory: directory, journal: settings)
        let acknowledged = Lock<[(ref: String, revision: Int, at: UInt64)]>([])
        let stop = Lock(false)
        let load = DispatchGroup()
        for writer in 0..<4 {
            onThread(load) {
                var n = 0
                while !stop.withLock({ $0 }) {
                    let ref = "BK-\(writer)-\(n)"
                    if case .created(let order)? = try? create(store, newOrder(ref)) {
                        acknowledged.withLock { $0.append((ref, order.revision, DispatchTime.now().uptimeNanoseconds)) }
                    }
                    if (try? notify(store, ok(ref))) != nil {
                        acknowledged.withLock { $0.append((ref, 2, DispatchTime.now().uptimeNanoseconds)) }
                    }
                    n += 1
                }
            }
        }
        onThread(load) {
            while !stop.withLock({ $0 }) { _ = try? store.recover(thorough: false) }
        }
        // Some load first, so that there are closed segments, an index and an outbox to copy.
        let deadline = Date().addingTimeInterval(30)
        while acknowledged.withLock({ $0.count }) < 600 && Date() < deadline { usleep(1000) }
        let copy = temporaryDirectory("backup-copy") + "/data"
        let report = try DataFolderBackup(source: directory, destination: copy).run()
        // More load after the copy, which it must not have and need not have.
        let after = acknowledged.withLock { $0.count }
        while acknowledged.withLock({ $0.count }) < after + 100 && Date() < deadline { usleep(1000) }
        stop.withLock { $0 = true }
        load.wait()

        #expect(report.segments >= 2, "the load rotated the journal")
        #expect(FileManager.default.fileExists(atPath: copy + "/journal/checkpoint.json"))
        #expect(!FileManager.default.fileExists(atPath: copy + "/orders.lock"))
        // The restore: the copy is the data folder, Cross starts (recovery), verify passes.
        let restored = try FlatFileStore(directory: copy, journal: settings)
        _ = try #require(try restored.recover())
        let verification = try JournalInspection(dataDirectory: copy).verify()
        #expect(verification.passed, "\(verification.behind.map(\.ref)) \(verification.unparsed) \(verification.problems)")
        #expect(verification.torn.isEmpty, "the copy stops at the last complete record")
        let before = acknowledged.withLock { $0 }.filter { $0.at < report.journalPointUptimeNanoseconds }
        #expect(before.count >= 600)
        var missing: [String] = []
        for change in before where (try? restored.load(ref: change.ref))??.revision ?? 0 < change.revision {
            missing.append("\(change.ref)@\(change.revision)")
        }
        #expect(missing.isEmpty, "acknowledged before the journal point, missing from the restore: \(missing.prefix(10))")
        // Every restored order is also in the restored index.
        let index = try indexSummaries(restored)
        #expect(restored.allOrders().allSatisfy { (try? $0.get()).map { index[$0.key]?.revision == $0.revision } ?? false })
    }
}
