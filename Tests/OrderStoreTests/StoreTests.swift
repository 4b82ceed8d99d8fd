import Dispatch
import Foundation
import Testing
@testable import OrderStore
@testable import Payments

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "cross-store-tests/\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func newOrder(_ ref: String, amount: Int64 = 15000) -> NewOrder {
    NewOrder(
        ref: ref, amount: Amount(francs: amount)!, currency: "952", description: "Sac de riz", brand: "Boutique",
        phone: nil, language: .fr, text: nil, returnURLs: ReturnURLs())
}

func ok(_ ref: String, payid: String = "P1", amount: Int64 = 15000) -> Payments.Notification {
    Payments.Notification(
        purchaseref: ref, amount: amount, currency: "952", status: .ok, clientid: "C1", cname: "Kofi", mobile: "22890000001",
        paymentref: "PR-" + payid, payid: payid, timestamp: "1800000000", error: "")
}

/// Applies a notification through the store, as the notification endpoint does.
func notify(_ store: OrderStore, _ notification: Payments.Notification) throws -> NotificationEffect? {
    try store.update(OrderKey(ref: notification.purchaseref)) { order in
        let effect = OrderLifecycle.apply(notification, to: &order, at: .now())
        var record = JournalRecord(at: .now(), kind: effect == .duplicate ? .notificationDuplicate : .notificationApplied)
        record.notification = notification
        record.key = order.key
        record.ref = order.ref
        return (record, effect)
    }?.result
}

func journalRecords(_ store: OrderStore) throws -> [JournalRecord] {
    try Journal.read(path: store.journalPath, from: 0).records.map(\.record)
}

@Suite struct StoreTests {
    @Test func createdOrderIsAShardedJSONFile() throws {
        let store = try OrderStore(directory: temporaryDirectory("create"))
        guard case .created(let order) = try store.create(newOrder("CMD-1001"), at: .now(), lifetimeSeconds: 600) else {
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
        let store = try OrderStore(directory: temporaryDirectory("idempotent"))
        _ = try store.create(newOrder("CMD-1"), at: .now(), lifetimeSeconds: 600)
        guard case .existing = try store.create(newOrder("CMD-1"), at: .now().adding(seconds: 5), lifetimeSeconds: 600) else {
            Issue.record("expected the existing order")
            return
        }
        guard case .conflict(let existing) = try store.create(newOrder("CMD-1", amount: 16000), at: .now(), lifetimeSeconds: 600) else {
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
        let store = try OrderStore(directory: directory)
        _ = try store.create(newOrder(ref), at: .now(), lifetimeSeconds: 600)
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
        let store = try OrderStore(directory: temporaryDirectory("case"))
        for ref in ["CON", "con", "Con"] { _ = try store.create(newOrder(ref), at: .now(), lifetimeSeconds: 600) }
        #expect(store.allOrders().count == 3)
        #expect(Set(try ["CON", "con", "Con"].map { try store.load(ref: $0)!.ref }).count == 3)
    }

    @Test func updateWritesTheOrderAndJournalsTheChange() throws {
        let store = try OrderStore(directory: temporaryDirectory("update"))
        _ = try store.create(newOrder("CMD-7"), at: .now(), lifetimeSeconds: 600)
        #expect(try notify(store, ok("CMD-7")) == .applied(from: .pending, to: .paid, note: nil))
        #expect(try notify(store, ok("CMD-7")) == .duplicate)
        let order = try #require(try store.load(ref: "CMD-7"))
        #expect(order.status == .paid)
        #expect(order.revision == 2)
        let records = try journalRecords(store)
        #expect(records.map(\.kind) == [.orderCreated, .notificationApplied, .notificationDuplicate])
        #expect(records[1].order == order)
        #expect(records[2].order == nil, "a duplicate is journaled, not written")
        #expect(try notify(store, ok("CMD-missing")) == nil)
    }

    @Test func hundredIdenticalNotificationsFromThreadsMakeOneTransition() throws {
        let store = try OrderStore(directory: temporaryDirectory("parallel"))
        _ = try store.create(newOrder("CMD-100"), at: .now(), lifetimeSeconds: 600)
        let effects = Effects()
        DispatchQueue.concurrentPerform(iterations: 100) { _ in
            effects.add(try! notify(store, ok("CMD-100"))!)
        }
        #expect(effects.all.filter { $0 != .duplicate } == [.applied(from: .pending, to: .paid, note: nil)])
        #expect(effects.all.count == 100)
        let records = try journalRecords(store)
        #expect(records.filter { $0.kind == .notificationApplied }.count == 1)
        #expect(records.filter { $0.kind == .notificationDuplicate }.count == 99)
        #expect(try store.load(ref: "CMD-100")?.notifications.count == 1)
    }

    @Test func concurrentChangesToManyOrdersAllLand() throws {
        let store = try OrderStore(directory: temporaryDirectory("many"))
        let refs = (0..<200).map { "CMD-\($0)" }
        DispatchQueue.concurrentPerform(iterations: refs.count) { index in
            _ = try! store.create(newOrder(refs[index]), at: .now(), lifetimeSeconds: 600)
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
        let store = try OrderStore(directory: temporaryDirectory("lines"))
        _ = try store.create(newOrder("A\nB-not-allowed-but-store-does-not-care"), at: .now(), lifetimeSeconds: 600)
        let text = try String(contentsOfFile: store.journalPath, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty)
        #expect(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) is [String: Any])
    }
}

final class Effects: @unchecked Sendable {
    private let lock = NSLock()
    private var effects: [NotificationEffect] = []
    func add(_ effect: NotificationEffect) { lock.withLock { effects.append(effect) } }
    var all: [NotificationEffect] { lock.withLock { effects } }
}

@Suite struct OutboxAndIndexTests {
    func paid(_ store: OrderStore, _ ref: String, payid: String = "P1") throws {
        _ = try store.update(OrderKey(ref: ref)) { order in
            let effect = OrderLifecycle.apply(ok(ref, payid: payid, amount: order.amount.francs), to: &order, at: .now())
            var record = JournalRecord(at: .now(), kind: .notificationApplied)
            if let (from, to) = effect.transition { record.from = from; record.to = to; record.event = "order." + to.rawValue }
            return (record, effect)
        }
    }

    @Test func aChangeWithAnEventPutsItInTheOutbox() throws {
        let store = try OrderStore(directory: temporaryDirectory("outbox"))
        _ = try store.create(newOrder("W-1"), at: .now(), lifetimeSeconds: 600)
        #expect(store.outbox.ids(in: .pending).isEmpty, "creating an order raises no event")
        let woken = Effects()
        store.onEvent { woken.add(.duplicate) }
        try paid(store, "W-1")
        let key = OrderKey(ref: "W-1")
        #expect(store.outbox.ids(in: .pending) == [key.hex + "-0000000002"])
        let (event, folder) = try #require(try store.outbox.load(key.hex + "-0000000002"))
        #expect(folder == .pending)
        #expect(event.type == "order.paid")
        #expect(event.order.status == .paid)
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
        let store = try OrderStore(directory: temporaryDirectory("listener"))
        let calls = Effects()
        store.onEvent { calls.add(.duplicate) }
        for _ in 0..<100_000 { store.tellEventListener() }
        #expect(calls.all.count == 100_000)
    }

    @Test func eventLostInACrashIsRaisedAgainByRecovery() throws {
        let store = try OrderStore(directory: temporaryDirectory("outbox-crash"))
        _ = try store.create(newOrder("W-2"), at: .now(), lifetimeSeconds: 600)
        try paid(store, "W-2")
        let id = OrderKey(ref: "W-2").hex + "-0000000002"
        unlink(store.outbox.directory + "/pending/" + id + ".json")
        #expect(store.outbox.find(id) == nil)
        _ = try OrderStore(directory: store.directory).recover()
        #expect(store.outbox.find(id) == .pending)
    }

    @Test func indexHasTheLatestRevisionOfEveryOrder() throws {
        let store = try OrderStore(directory: temporaryDirectory("index"))
        for index in 0..<5 { _ = try store.create(newOrder("I-\(index)", amount: 1000 + Int64(index)), at: .now(), lifetimeSeconds: 600) }
        try paid(store, "I-3")
        let (entries, end, _) = try store.index.read(from: 0)
        #expect(entries.count == 6)
        var latest: [OrderKey: OrderIndex.Entry] = [:]
        for entry in entries where (latest[entry.key]?.revision ?? 0) < entry.revision { latest[entry.key] = entry }
        #expect(latest.count == 5)
        let three = try #require(latest[OrderKey(ref: "I-3")])
        #expect(three.status == .paid && three.revision == 2 && three.amount == 1003 && three.ref == "I-3" && three.paidAt != nil)
        #expect(try store.index.read(from: end).entries.isEmpty)
    }

    @Test func rebuildWritesTheIndexFromTheOrderFiles() throws {
        let store = try OrderStore(directory: temporaryDirectory("rebuild"))
        for ref in ["a/b", "tab\there", "é é"] { _ = try store.create(newOrder(ref), at: .now(), lifetimeSeconds: 600) }
        unlink(store.index.path)
        let orders = store.allOrders().compactMap { try? $0.get() }
        #expect(try store.index.rebuild(from: orders) == 3)
        #expect(Set(try store.index.read(from: 0).entries.map(\.ref)) == ["a/b", "tab\there", "é é"])
    }
}
