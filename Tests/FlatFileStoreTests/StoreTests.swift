import Dispatch
import Foundation
import Testing
import Cashier
@testable import FlatFileStore
import OrderStorage
@testable import Payments
import TMoneyOnline

@Suite struct StoreTests {
    @Test func createdOrderIsAShardedJSONFile() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("create"))
        guard case .created(let order) = try create(store, newOrder("CMD-1001")) else {
            Issue.record("not created")
            return
        }
        let path = store.path(for: order.key)
        #expect(path.hasSuffix("/orders/\(order.key.hex.prefix(3))/\(order.key.hex).json"))
        let file = try JSONDecoder().decode(Order.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(file == order)
        #expect(try store.load(ref: "CMD-1001") == order)
        #expect(try store.load(ref: "CMD-1002") == nil)
        let records = try journalRecords(store)
        #expect(records.map(\.kind) == [.orderCreated])
        #expect(records[0].order == order)
    }

    @Test func sameRequestAgainIsTheSameOrderAndADifferentOneIsAConflict() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("idempotent"))
        _ = try create(store, newOrder("CMD-1"))
        guard case .existing = try create(store, newOrder("CMD-1")) else {
            Issue.record("expected the existing order")
            return
        }
        guard case .conflict(let existing) = try create(store, newOrder("CMD-1", amount: 16000)) else {
            Issue.record("expected a conflict")
            return
        }
        #expect(existing.amount.francs == 15000)
        #expect(try journalRecords(store).count == 1, "nothing is written for a repeat or a conflict")
    }

    @Test("awkward references are stored and read back", arguments: [
        "../../x", "a/b", "CON", "con", "NUL.txt", String(repeating: "é", count: 250), " lead", "trail ", "\"quote'",
        "😀 emoji", "..", ".", "a\\b",
    ])
    func awkwardReferences(ref: String) throws {
        let directory = temporaryDirectory("refs")
        let store = try FlatFileStore(directory: directory)
        _ = try create(store, newOrder(ref))
        #expect(try store.load(ref: ref)?.ref == ref)
        // Nothing outside the store's own folders, and every order file name is a key.
        let entries = try FileManager.default.subpathsOfDirectory(atPath: directory)
        let folders = ["orders", "journal", "outbox", "index"]
        for entry in entries {
            let top = String(entry.prefix(while: { $0 != "/" }))
            #expect(folders.contains(top) || entry == "orders.lock", "\(entry)")
        }
        let names = entries.filter { $0.hasSuffix(".json") && $0.hasPrefix("orders/") }.map { ($0 as NSString).lastPathComponent }
        #expect(names == [OrderKey(ref: ref).hex + ".json"])
    }

    @Test func caseVariantsAreDistinctOrders() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("case"))
        for ref in ["CON", "con", "Con"] { _ = try create(store, newOrder(ref)) }
        #expect(store.allOrders().count == 3)
        #expect(Set(try ["CON", "con", "Con"].map { try store.load(ref: $0)!.ref }).count == 3)
    }

    @Test func updateWritesTheOrderAndJournalsTheChange() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("update"))
        _ = try create(store, newOrder("CMD-7"))
        #expect(try notify(store, ok("CMD-7")) == .applied(from: .pending, to: .paid, note: nil))
        #expect(try notify(store, ok("CMD-7")) == .duplicate)
        let order = try #require(try store.load(ref: "CMD-7"))
        #expect(order.status == .paid)
        #expect(order.revision == 2)
        let records = try journalRecords(store)
        #expect(records.map(\.kind) == [.orderCreated, .eventApplied, .eventDuplicate])
        #expect(records[1].order == order)
        #expect(records[2].order == nil, "a duplicate is journaled, not written")
        #expect(try notify(store, ok("CMD-missing")) == nil)
    }

    @Test func hundredIdenticalNotificationsFromThreadsMakeOneTransition() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("parallel"))
        _ = try create(store, newOrder("CMD-100"))
        let effects = Effects()
        DispatchQueue.concurrentPerform(iterations: 100) { _ in
            effects.add(try! notify(store, ok("CMD-100"))!)
        }
        #expect(effects.all.filter { $0 != .duplicate } == [.applied(from: .pending, to: .paid, note: nil)])
        #expect(effects.all.count == 100)
        let records = try journalRecords(store)
        #expect(records.filter { $0.kind == .eventApplied }.count == 1)
        #expect(records.filter { $0.kind == .eventDuplicate }.count == 99)
        #expect(try store.load(ref: "CMD-100")?.events.count == 1)
    }

    @Test func concurrentChangesToManyOrdersAllLand() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("many"))
        let refs = (0..<200).map { "CMD-\($0)" }
        DispatchQueue.concurrentPerform(iterations: refs.count) { index in
            _ = try! create(store, newOrder(refs[index]))
        }
        DispatchQueue.concurrentPerform(iterations: refs.count) { index in
            _ = try! notify(store, ok(refs[index], payid: "P\(index)"))
        }
        let orders = store.allOrders().compactMap { try? $0.get() }
        #expect(orders.count == 200)
        #expect(orders.allSatisfy { $0.status == .paid && $0.revision == 2 })
        #expect(try journalRecords(store).count == 400)
    }

    @Test func journalIsOneJSONObjectPerLine() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("lines"))
        _ = try create(store, newOrder("A\nB-not-allowed-but-store-does-not-care"))
        let text = try String(contentsOfFile: store.journalPath, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty)
        #expect(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) is [String: Any])
    }
}

final class Effects: @unchecked Sendable {
    private let lock = NSLock()
    private var effects: [EventEffect] = []
    func add(_ effect: EventEffect) { lock.withLock { effects.append(effect) } }
    var all: [EventEffect] { lock.withLock { effects } }
}

@Suite struct OutboxAndIndexTests {
    func paid(_ store: FlatFileStore, _ ref: String, payid: String = "P1") throws {
        let amount = try #require(try store.load(ref: ref)).amount.francs
        #expect(try notify(store, ok(ref, payid: payid, amount: amount)) == .applied(from: .pending, to: .paid, note: nil))
    }

    @Test func aChangeWithAnEventPutsItInTheOutbox() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("outbox"))
        _ = try create(store, newOrder("W-1"))
        #expect(store.outbox.ids(in: .pending).isEmpty, "creating an order raises no event")
        let woken = Effects()
        store.onEvent { woken.add(.duplicate) }
        try paid(store, "W-1")
        let key = OrderKey(ref: "W-1")
        #expect(store.outbox.ids(in: .pending) == [key.hex + "-0000000002"])
        let (event, folder) = try #require(try store.outbox.load(key.hex + "-0000000002"))
        #expect(folder == .pending)
        #expect(event.type == "order.paid")
        #expect(event.order?.status == .paid)
        #expect(woken.all.count == 1)
        // Sent, it leaves pending; a replay of the journal does not raise it again.
        try store.outbox.save(event, in: .sent)
        #expect(store.outbox.ids(in: .pending).isEmpty)
        _ = try store.recover()
        #expect(store.outbox.ids(in: .pending).isEmpty)
        #expect(store.outbox.find(event.id) == .sent)
    }

    /// The listener was once kept so that every call wrapped it once more: after some 8,000 events, calling it
    /// overflowed a worker's stack.
    @Test(.timeLimit(.minutes(1))) func theEventListenerCostsTheSameOnItsHundredThousandthCall() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("listener"))
        let calls = Effects()
        store.onEvent { calls.add(.duplicate) }
        for _ in 0..<100_000 { store.tellEventListener() }
        #expect(calls.all.count == 100_000)
    }

    @Test func eventLostInACrashIsRaisedAgainByRecovery() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("outbox-crash"))
        _ = try create(store, newOrder("W-2"))
        try paid(store, "W-2")
        let id = OrderKey(ref: "W-2").hex + "-0000000002"
        unlink(store.files.directory + "/pending/" + id + ".json")
        #expect(store.outbox.find(id) == nil)
        _ = try FlatFileStore(directory: store.directory).recover()
        #expect(store.outbox.find(id) == .pending)
    }

    @Test func indexHasTheLatestRevisionOfEveryOrder() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("index"))
        for index in 0..<5 { _ = try create(store, newOrder("I-\(index)", amount: 1000 + Int64(index))) }
        try paid(store, "I-3")
        let lines = try String(contentsOfFile: store.index.path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6, "a line per change")
        let latest = try indexSummaries(store)
        #expect(latest.count == 5)
        let three = try #require(latest[OrderKey(ref: "I-3")])
        #expect(three.summary.status == .paid && three.revision == 2 && three.summary.amount == 1003 && three.summary.ref == "I-3")
        #expect(three.summary.paidAt != nil)
    }

    @Test func rebuildWritesTheIndexFromTheOrderFiles() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("rebuild"))
        for ref in ["a/b", "tab\there", "é é"] { _ = try create(store, newOrder(ref)) }
        unlink(store.index.path)
        let orders = store.allOrders().compactMap { try? $0.get() }
        #expect(orders.count == 3)
        try store.index.rebuild(from: orders)
        #expect(Set(try indexSummaries(store).values.map(\.summary.ref)) == ["a/b", "tab\there", "é é"])
    }
}

/// The index's operator field: `Order.operator` on every line, what a line written before the field reads as,
/// and the listing's operator filter and per-operator totals.
@Suite struct IndexOperatorTests {
    @Test func eachLineEndsWithTheOrdersOperator() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("index-operator"))
        for ref in ["NONE", "TM", "FL"] { _ = try create(store, newOrder(ref)) }
        _ = try notify(store, ok("TM"))
        try floozPaid(store, "FL")
        let fields = try String(contentsOfFile: store.index.path, encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(fields.allSatisfy { $0.count == 10 }, "ten fields, the operator last")
        #expect(fields.map { String($0[9]) } == ["", "", "", "tmoney", "flooz"])
        let summaries = try indexSummaries(store)
        #expect(summaries[OrderKey(ref: "NONE")]?.summary.operator == nil)
        #expect(summaries[OrderKey(ref: "TM")]?.summary.operator == .tmoney)
        #expect(summaries[OrderKey(ref: "FL")]?.summary.operator == .flooz)
        #expect(try #require(try store.load(ref: "FL")).operator == .flooz)
    }

    /// A line of nine fields: TMoney was the only operator, so any status but `pending` (reached only by an
    /// operator's word) is TMoney's; a `pending` line cannot tell and has none. A later line with the field wins.
    @Test func aLineWrittenBeforeTheFieldReadsAsTMoneyUnlessPending() throws {
        let directory = temporaryDirectory("index-old")
        let path = directory + "/orders.tsv"
        func line(_ ref: String, _ revision: Int, _ status: String, paidAt: String = "", _ operatorField: String? = nil) -> String {
            ([OrderKey(ref: ref).hex, String(revision), "1795706608", "1795706700", status, "15000", paidAt, "", ref] + (operatorField.map { [$0] } ?? []))
                .joined(separator: "\t") + "\n"
        }
        let old = line("P", 1, "pending") + line("D", 2, "declined") + line("X", 3, "expired") + line("R", 3, "review", paidAt: "1795706700")
            + line("Q", 3, "paid", paidAt: "1795706700") + line("U", 2, "pending")
        let upgraded = line("U", 3, "pending", "flooz") + line("Z", 1, "pending", "mpesa") + line("W", 1, "pending", "")
        try Data((old + upgraded).utf8).write(to: URL(fileURLWithPath: path))
        let table = IndexTable()
        try table.refresh(path: path)
        func operatorOf(_ ref: String) -> Operator?? { table.row(OrderKey(ref: ref)).map { table.summary($0).operator } }
        #expect(operatorOf("P") == .some(nil))
        #expect(operatorOf("D") == .tmoney && operatorOf("X") == .tmoney && operatorOf("R") == .tmoney && operatorOf("Q") == .tmoney)
        #expect(operatorOf("U") == .flooz, "the line with the field, of a higher revision")
        #expect(operatorOf("W") == .some(nil), "an empty field: no operator")
        #expect(operatorOf("Z") == nil && table.skippedLines == 1, "an operator this Cross does not know: the line is skipped")
    }

    @Test func theListingFiltersByOperatorAndSplitsTheTotals() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("index-filter"))
        for (index, ref) in ["T-1", "F-1", "T-2", "F-2", "N-1", "F-3"].enumerated() {
            _ = try create(store, newOrder(ref, amount: 1000 * Int64(index + 1)))
        }
        _ = try notify(store, ok("T-1", payid: "P1", amount: 1000))
        _ = try notify(store, ok("T-2", payid: "P2", amount: 3000))
        try floozPaid(store, "F-1", amount: 2000, transaction: "F1")
        try floozPaid(store, "F-2", amount: 4000, transaction: "F2")
        // A wrong amount: review, Flooz's but not in the paid totals.
        try floozPaid(store, "F-3", amount: 5, transaction: "F3")
        func refs(_ query: OrderQuery) throws -> Set<String> { Set(try store.listing.page(query, number: 1, size: 50).orders.map(\.ref)) }
        #expect(try refs(OrderQuery(operator: .flooz)) == ["F-1", "F-2", "F-3"])
        #expect(try refs(OrderQuery(operator: .tmoney)) == ["T-1", "T-2"])
        #expect(try refs(OrderQuery(status: .review, operator: .flooz)) == ["F-3"])
        #expect(try refs(OrderQuery(status: .review, operator: .tmoney)).isEmpty)
        #expect(try refs(OrderQuery()).count == 6, "no operator filter: every order, N-1 without an operator too")
        var exported: [String: Operator?] = [:]
        try store.listing.export(OrderQuery(operator: .flooz), estimate: { _, _ in }) { row in
            exported[String(decoding: row.ref, as: UTF8.self)] = row.operator
        }
        #expect(exported == ["F-1": .flooz, "F-2": .flooz, "F-3": .flooz])

        // Paid today (or, across midnight, over two days): summed over the days.
        let days = try store.listing.paidTotals(from: nil, until: nil)
        #expect(days.reduce(0) { $0 + $1.count } == 4 && days.reduce(0) { $0 + $1.sum } == 10_000)
        func sum(_ name: Operator) -> DayTotal.Sum {
            days.reduce(DayTotal.Sum(count: 0, sum: 0)) { DayTotal.Sum(count: $0.count + $1[name].count, sum: $0.sum + $1[name].sum) }
        }
        #expect(sum(.tmoney) == DayTotal.Sum(count: 2, sum: 4000))
        #expect(sum(.flooz) == DayTotal.Sum(count: 2, sum: 6000))
        for day in days {
            #expect(day.byOperator.values.reduce(0) { $0 + $1.count } == day.count, "the operators add up to the day")
        }
    }
}
