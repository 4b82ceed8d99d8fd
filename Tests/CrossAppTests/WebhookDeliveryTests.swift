import Foundation
@testable import FlatFileStore
import OrderStorage
import Payments
import Support
import Testing
import TestStack
@testable import Webhooks

/// The real outbox, counting the events it reads: what a courier's pass costs.
final class CountingOutbox: WebhookOutbox, @unchecked Sendable {
    let real: any WebhookOutbox
    private let counted = Lock(0)

    init(_ real: any WebhookOutbox) { self.real = real }

    var loads: Int { counted.withLock { $0 } }

    func ids(in folder: OutboxFolder) -> [String] { real.ids(in: folder) }
    func pendingStamps() -> [String: OutboxStamp] { real.pendingStamps() }
    func takeNewlyCreated() -> [String] { real.takeNewlyCreated() }
    func find(_ id: String) -> OutboxFolder? { real.find(id) }
    func load(_ id: String) throws(StoreError) -> (event: OutboxEvent, folder: OutboxFolder)? {
        counted.withLock { $0 += 1 }
        return try real.load(id)
    }
    @discardableResult
    func save(_ event: OutboxEvent, in folder: OutboxFolder) throws(StoreError) -> OutboxStamp { try real.save(event, in: folder) }
    func leaseDeliveryLock() throws(StoreError) -> (any OutboxLease)? { try real.leaseDeliveryLock() }
    func withEventLock<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result { try real.withEventLock(body) }
    func removeSent(filedBefore cutoff: Timestamp, while keepGoing: () -> Bool) -> OutboxSweep {
        real.removeSent(filedBefore: cutoff, while: keepGoing)
    }
}

/// How many requests an endpoint is answering at once, and the most it ever was.
final class ConcurrencyGauge: Sendable {
    private let state = Lock((now: 0, most: 0))

    func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var most: Int { state.withLock { $0.most } }
}

/// `purchaseref type` of each event a stand-in received, in the order they came.
private func arrivals(_ receiver: HTTPStandIn) -> [(ref: String, type: String)] {
    receiver.receivedRequests.compactMap { request in
        guard let json = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
            let order = json["order"] as? [String: Any], let ref = order["purchaseref"] as? String, let type = json["type"] as? String
        else { return nil }
        return (ref, type)
    }
}

private func waitUntil(_ timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        guard Date() < deadline else { return false }
        usleep(10_000)
    }
    return true
}

@Suite(.serialized) struct WebhookConcurrencyTests {
    @Test func anEndpointThatHangsDoesNotDelayAnotherEndpointsEvents() throws {
        let slow = try HTTPStandIn { _ in .hang(seconds: 6) }
        defer { slow.stop() }
        let fast = try HTTPStandIn { _ in .respond(status: 204, body: "") }
        defer { fast.stop() }
        let world = try World(settings: [
            "webhooks": [["url": slow.url + "/hang", "secret": secretA], ["url": fast.url + "/in", "secret": secretB]],
            "webhook_timeout_seconds": 5, "webhook_concurrency_per_endpoint": 2,
        ])
        let courier = world.courier()
        world.store.onEvent { courier.wake() }
        courier.start()
        defer { courier.stop(timeout: 10) }
        let started = Date()
        for number in 1...12 { try world.order("WH-fast-\(number)", notifications: [World.okParameters("WH-fast-\(number)")]) }
        // Twelve events while the slow endpoint holds its two places for 5 s each: the fast one has them all before
        // the slow one's first attempts have even timed out (one courier thread in turn would need 12 × 5 s).
        #expect(fast.waitForRequests(12, timeout: 4.5), "the fast endpoint got \(fast.requests.count) of 12 events while the other hung")
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 4.5)
        print("fast endpoint: 12 events in \(Int(elapsed * 1000)) ms while the slow one hung (slow got \(slow.requests.count))")
        #expect(slow.requests.count == 2, "no more than its bound of attempts at once at the hanging endpoint")
        #expect(Set(arrivals(fast).map(\.ref)).count == 12)
    }

    @Test func neverMoreThanTheBoundAtOneEndpointAndEachOrdersEventsInOrder() throws {
        let gauge = ConcurrencyGauge()
        let receiver = try HTTPStandIn { _ in
            gauge.enter()
            usleep(100_000)  // the endpoint's own work: keeps requests overlapping
            gauge.leave()
            return .respond(status: 200, body: "ok")
        }
        defer { receiver.stop() }
        let world = try World(settings: [
            "webhooks": [["url": receiver.url + "/in", "secret": secretA]], "webhook_concurrency_per_endpoint": 3,
        ])
        // Twenty orders cancelled then paid: forty events, two per order, written before the courier starts.
        for number in 1...20 {
            try world.order("WH-two-\(number)", notifications: [World.nokParameters("WH-two-\(number)", error: "CANCEL"), World.okParameters("WH-two-\(number)")])
        }
        #expect(world.store.outbox.ids(in: .pending).count == 40)
        let courier = world.courier()
        world.store.onEvent { courier.wake() }
        courier.start()
        defer { courier.stop() }
        #expect(receiver.waitForRequests(40, timeout: 20))
        #expect(waitUntil(5) { world.store.outbox.ids(in: .pending).isEmpty })
        #expect(gauge.most == 3, "at most 3 at once, and the 3 used (most seen: \(gauge.most))")
        let seen = arrivals(receiver)
        #expect(seen.count == 40)
        for number in 1...20 {
            let types = seen.filter { $0.ref == "WH-two-\(number)" }.map(\.type)
            #expect(types == ["order.cancelled", "order.paid"], "WH-two-\(number): \(types)")
        }
    }

    @Test func oneCourierDeliversWhileItRunsAndAnotherTakesOverWhenItStops() throws {
        let receiver = try HTTPStandIn { _ in .respond(status: 200, body: "ok") }
        defer { receiver.stop() }
        let world = try World(settings: ["webhooks": [["url": receiver.url + "/in", "secret": secretA]]])
        // Two couriers on one data folder, as two `cross serve` processes have (each its own lock file description).
        let first = world.courier(), second = world.courier()
        first.start()
        #expect(waitUntil(5) { (try? world.store.outbox.leaseDeliveryLock()).flatMap { $0 } == nil }, "the first holds outbox/courier.lock")
        second.start()
        defer { second.stop() }
        try world.order("WH-lead-1", notifications: [World.okParameters("WH-lead-1")])
        #expect(receiver.waitForRequests(1, timeout: 5))
        #expect(first.stop())
        try world.order("WH-lead-2", notifications: [World.okParameters("WH-lead-2")])
        // Nobody woke the second: its listing of pending finds the event, within a second of taking the lock over.
        #expect(receiver.waitForRequests(2, timeout: 5), "the second courier took over")
        #expect(waitUntil(5) { world.store.outbox.ids(in: .pending).isEmpty })
        #expect(receiver.requests.count == 2, "each event once")
        #expect(second.backlog == WebhookCourier.Backlog(pending: 0, oldestCreatedAt: nil))
    }

    @Test func anOrdersNextEventWaitsAtTheEndpointThatHasNotTheFirstOnly() throws {
        let (world, courier, transport, clock) = try webhookWorld([(hookA, secretA), (hookB, secretB)], answers: [
            hookB: [.status(503, excerpt: "")],
        ])
        try world.order("WH-pair", notifications: [World.nokParameters("WH-pair", error: "CANCEL"), World.okParameters("WH-pair")])
        let pass = try #require(courier.deliverDue())
        // A had both, in order; B refused the first, so the second waits for it there.
        #expect(transport.calls.filter { $0.url == hookA }.count == 2)
        #expect(transport.calls.filter { $0.url == hookB }.count == 1)
        #expect(pass.attempts == 3)
        let events = world.events(.pending)
        #expect(events.count == 2)
        #expect(events[1].deliveries.first { $0.endpoint == hookB }?.attempts == 0)
        transport.setAnswers(hookB, [.status(200, excerpt: "")])
        clock.advance(11)
        #expect(courier.deliverDue()?.sent == events.map(\.id))
        let toB = transport.calls.filter { $0.url == hookB }.map { $0.headers["Cross-Event-Id"]! }
        #expect(toB == [events[0].id, events[0].id, events[1].id])
    }

    @Test func withTenThousandEventsPendingInTheFutureAPassReadsNoEvent() throws {
        let world = try World(settings: ["webhooks": [["url": hookA, "secret": secretA]]])
        try world.order("WH-scan", notifications: [World.okParameters("WH-scan")])
        let order = try #require(try world.store.load(ref: "WH-scan"))
        let now = Int64(Date().timeIntervalSince1970)
        var oldest: Int64 = .max
        for number in 0..<10_000 {
            let key = String(format: "%032x", number + 1)
            var delivery = OutboxEvent.Delivery(endpoint: hookA, nextAttemptAt: Timestamp(seconds: now + 3600))
            delivery.attempts = 3
            let created = now - 600 + Int64(number % 500)
            oldest = min(oldest, created)
            try world.store.outbox.save(
                OutboxEvent(id: key + "-0000000002", type: "order.paid", createdAt: Timestamp(seconds: created), order: order, deliveries: [delivery]),
                in: .pending)
        }
        let outbox = CountingOutbox(world.store.outbox)
        let transport = ScriptedTransport([:])
        let courier = WebhookCourier(settings: world.application.configuration.webhookSettings, outbox: outbox, links: world.application.configuration.links, transport: transport)
        // The first pass reads every pending event once (and sends the one due: WH-scan's).
        let first = try #require(courier.deliverDue())
        #expect(first.sent.count == 1)
        let loadsAtStart = outbox.loads
        #expect(loadsAtStart >= 10_001)
        #expect(courier.backlog == WebhookCourier.Backlog(pending: 10_000, oldestCreatedAt: Timestamp(seconds: oldest)))
        // The next passes list pending, and read nothing: nothing is due.
        var times: [Double] = []
        for _ in 0..<5 {
            let started = Date()
            let pass = try #require(courier.deliverDue())
            times.append(Date().timeIntervalSince(started))
            #expect(pass.attempts == 0)
            #expect(pass.nextDue == Double(now + 3600))
        }
        #expect(outbox.loads == loadsAtStart, "a pass read \(outbox.loads - loadsAtStart) event files")
        #expect(transport.calls.count == 1)
        print("a pass over 10000 pending events not due: \(times.map { String(format: "%.1f", $0 * 1000) }.joined(separator: ", ")) ms, 0 event read")
        #expect(times.min()! < 1, "a listing of pending, not a read of every event")
        // A new event is read, alone.
        try world.order("WH-scan-2", notifications: [World.okParameters("WH-scan-2")])
        #expect(courier.deliverDue()?.sent.count == 1)
        #expect(outbox.loads - loadsAtStart <= 3, "read at its listing, at its attempt, and when its outcome is written")
    }
}

@Suite struct WebhookSentFolderTests {
    func sentEvent(_ world: World, _ order: Order, key: Int, deliveredAt: Int64?) -> OutboxEvent {
        var delivery = OutboxEvent.Delivery(endpoint: hookA, nextAttemptAt: Timestamp(seconds: 0))
        delivery.deliveredAt = deliveredAt.map { Timestamp(seconds: $0) }
        delivery.attempts = 1
        return OutboxEvent(id: String(format: "%032x", key) + "-0000000002", type: "order.paid", createdAt: Timestamp(seconds: (deliveredAt ?? 0) - 5), order: order, deliveries: [delivery])
    }

    /// Sets the file's modification time, as a file written that long ago has.
    func age(_ path: String, to seconds: Int64) {
        var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, 0)
    }

    @Test func sentEventsAreShardedAndAnEarlierFlatSentFolderStillReads() throws {
        let (world, courier, _, _) = try webhookWorld()
        try world.order("WH-shard", notifications: [World.okParameters("WH-shard")])
        let id = try #require(world.store.outbox.ids(in: .pending).first)
        #expect(courier.deliverDue()?.sent == [id])
        let outbox = world.directory + "/data/outbox"
        #expect(FileManager.default.fileExists(atPath: outbox + "/sent/" + id.prefix(3) + "/" + id + ".json"))
        #expect(!FileManager.default.fileExists(atPath: outbox + "/sent/" + id + ".json"))
        // An earlier version's flat sent/<id>.json: found, listed, read, and moved into its shard by the sweep.
        let order = try #require(try world.store.load(ref: "WH-shard"))
        let old = sentEvent(world, order, key: 0xabc, deliveredAt: Int64(Date().timeIntervalSince1970) - 86_400)
        try Data(JSONBytes.encode(old) + [10]).write(to: URL(fileURLWithPath: outbox + "/sent/" + old.id + ".json"))
        #expect(world.store.outbox.find(old.id) == .sent)
        #expect(world.store.outbox.ids(in: .sent) == [old.id, id].sorted())
        #expect(try world.store.outbox.load(old.id)?.event == old)
        let sweep = courier.removeSent(olderThan: 30 * 86_400)
        #expect(sweep.removed == 0 && sweep.kept == 2)
        #expect(FileManager.default.fileExists(atPath: outbox + "/sent/000/" + old.id + ".json"))
        #expect(!FileManager.default.fileExists(atPath: outbox + "/sent/" + old.id + ".json"))
        #expect(try world.store.outbox.load(old.id)?.folder == .sent)
    }

    @Test func retentionRemovesOnlySentEventsDeliveredBeforeIt() throws {
        let (world, courier, _, clock) = try webhookWorld()
        try world.order("WH-keep", notifications: [World.okParameters("WH-keep")])
        let order = try #require(try world.store.load(ref: "WH-keep"))
        let now = Int64(clock.now)
        let day: Int64 = 86_400
        let outbox = world.store.outbox
        // Sent 40 and 31 days ago (go), 29 days ago (stays), today (stays), 40 days ago in an earlier flat file (goes).
        let gone = [sentEvent(world, order, key: 1, deliveredAt: now - 40 * day), sentEvent(world, order, key: 2, deliveredAt: now - 31 * day)]
        let kept = [sentEvent(world, order, key: 3, deliveredAt: now - 29 * day), sentEvent(world, order, key: 4, deliveredAt: now)]
        for event in gone + kept { try outbox.save(event, in: .sent) }
        let flat = sentEvent(world, order, key: 5, deliveredAt: now - 40 * day)
        let flatPath = world.directory + "/data/outbox/sent/" + flat.id + ".json"
        try Data(JSONBytes.encode(flat) + [10]).write(to: URL(fileURLWithPath: flatPath))
        // Files as old as their events; one recent event in a file whose time says old (a copy): its own time counts.
        let data = world.directory + "/data/outbox/sent/000/"
        for event in gone + kept + [flat] {
            let seconds = event.deliveries[0].deliveredAt!.seconds
            age(event.id == flat.id ? flatPath : data + event.id + ".json", to: seconds)
        }
        age(data + kept[1].id + ".json", to: now - 90 * day)
        // Old events in pending and failed are never removed.
        var stale = sentEvent(world, order, key: 6, deliveredAt: nil)
        stale.deliveries[0].deliveredAt = nil
        try outbox.save(stale, in: .failed)
        age(world.directory + "/data/outbox/failed/" + stale.id + ".json", to: now - 90 * day)
        let sweep = courier.removeSent(olderThan: 30 * day)
        #expect(sweep.removed == 3)
        #expect(sweep.kept == 2)
        #expect(sweep.problems.isEmpty)
        for event in gone + [flat] { #expect(outbox.find(event.id) == nil, "\(event.id) delivered over 30 days ago") }
        for event in kept { #expect(outbox.find(event.id) == .sent, "\(event.id) delivered within 30 days") }
        #expect(outbox.find(stale.id) == .failed)
        #expect(outbox.ids(in: .pending).count == 1, "WH-keep's own event, not delivered yet")
        // A recovery reading an old stretch of the journal does not raise again what was removed: an event created
        // more than the longest give-up period (30 days) before the cutoff is not made again; a later one is.
        let files = try #require(outbox as? Outbox)
        let ancient = OutboxEvent(id: String(format: "%032x", 7) + "-0000000002", type: "order.paid", createdAt: Timestamp(seconds: now - 61 * day), order: order)
        try files.create(ancient)
        #expect(outbox.find(ancient.id) == nil)
        let recent = OutboxEvent(id: String(format: "%032x", 8) + "-0000000002", type: "order.paid", createdAt: Timestamp(seconds: now - 59 * day), order: order)
        try files.create(recent)
        #expect(outbox.find(recent.id) == .pending)
        #expect(try Outbox(directory: world.directory + "/data/outbox").removedBeforeSeconds == now - 30 * day, "the cutoff is kept on disk")
    }

    @Test func retentionSettingsAreReadAndChecked() throws {
        #expect(try World(settings: [:]).application.configuration.webhookSentRetentionSeconds == 30 * 86_400)
        #expect(try World(settings: ["webhook_sent_retention_days": 0]).application.configuration.webhookSentRetentionSeconds == nil)
        #expect(try World(settings: ["webhook_sent_retention_days": 7]).application.configuration.webhookSentRetentionSeconds == 7 * 86_400)
        #expect(try World(settings: [:]).application.configuration.webhookConcurrencyPerEndpoint == 4)
        #expect(throws: (any Error).self) { try World(settings: ["webhook_concurrency_per_endpoint": 0]) }
        #expect(throws: (any Error).self) { try World(settings: ["webhook_sent_retention_days": -1]) }
    }
}
