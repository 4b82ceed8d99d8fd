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
