import Crypto
import FastCGI
import Foundation
@testable import FlatFileStore
import OrderStorage
import Payments
import Testing
import TestStack
@testable import AdminDashboard
@testable import Cashier
@testable import CheckoutWeb
@testable import CrossApp
@testable import MerchantAPI
import Support
import TMoneyOnline
import WebPages
@testable import Webhooks

/// A merchant endpoint played without a network: answers in the order given (the last one again when they
/// run out) and records every POST.
final class ScriptedTransport: WebhookTransport, @unchecked Sendable {
    struct Call {
        let url: String
        let headers: [String: String]
        let body: [UInt8]
    }

    private let lock = NSLock()
    private var answers: [String: [WebhookAnswer]]
    private var recorded: [Call] = []

    /// `answers` by endpoint URL.
    init(_ answers: [String: [WebhookAnswer]]) { self.answers = answers }

    func setAnswers(_ url: String, _ list: [WebhookAnswer]) { lock.withLock { answers[url] = list } }

    var calls: [Call] { lock.withLock { recorded } }

    func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) -> WebhookAnswer {
        lock.withLock {
            recorded.append(Call(url: url, headers: Dictionary(headers) { $1 }, body: body))
            var list = answers[url] ?? [.status(200, excerpt: "")]
            let answer = list.count > 1 ? list.removeFirst() : list[0]
            answers[url] = list
            return answer
        }
    }
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let value = Lock<Double>(Date().timeIntervalSince1970)
    var now: Double { value.withLock { $0 } }
    func advance(_ seconds: Double) { value.withLock { $0 += seconds } }
    func set(_ seconds: Double) { value.withLock { $0 = seconds } }
}

let hookA = "https://shop.example.tg/hooks/cross"
let hookB = "https://erp.example.tg/in/cross?token=t0ken"
let secretA = "whsec-shop-0123456789abcdef"
let secretB = "whsec-erp-0123456789abcdef"

/// Builds a world whose configuration names webhook endpoints, and a courier on a scripted transport.
func webhookWorld(
    _ endpoints: [(String, String)] = [(hookA, secretA)], extra: [String: Any] = [:], answers: [String: [WebhookAnswer]] = [:]
) throws -> (World, WebhookCourier, ScriptedTransport, ManualClock) {
    var settings: [String: Any] = [
        "webhooks": endpoints.map { ["url": $0.0, "secret": $0.1] }, "webhook_retry_base_seconds": 10,
    ]
    settings.merge(extra) { $1 }
    let world = try World(settings: settings)
    let transport = ScriptedTransport(answers)
    let clock = ManualClock()
    let courier = world.courier(transport: transport, clock: { clock.now }, jitter: { 1.0 })
    return (world, courier, transport, clock)
}

extension World {
    /// An order with a payment attempt (so that a refusal applies), then the notifications given.
    func order(_ ref: String, notifications: [[(String, String)]]) throws {
        let (_, path) = try createOrder(["purchaseref": ref, "amount": 15000])
        _ = send("GET", path)
        for parameters in notifications {
            let answer = notify(parameters)
            guard answer.status == .ok else { throw HTTPClientError(description: "notification refused: \(answer.text)") }
        }
    }

    func events(_ folder: OutboxFolder) -> [OutboxEvent] {
        store.outbox.ids(in: folder).compactMap { try? store.outbox.load($0)?.event }
    }
}

@Suite struct WebhookMessageTests {
    @Test func signatureIsHMACOfTimeDotBodyAndVerifies() throws {
        let body = Array(#"{"id":"x","type":"order.paid"}"#.utf8)
        let header = WebhookMessage.signature(secret: secretA, time: 1_800_000_000, body: body)
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("1800000000.".utf8) + body, using: SymmetricKey(data: Data(secretA.utf8)))
        #expect(header == "t=1800000000,v1=" + expected.map { String(format: "%02x", $0) }.joined())
        #expect(WebhookMessage.verify(header: header, body: body, secret: secretA, now: 1_800_000_100))
        #expect(!WebhookMessage.verify(header: header, body: body + [32], secret: secretA, now: 1_800_000_100), "a changed body")
        #expect(!WebhookMessage.verify(header: header, body: body, secret: secretB, now: 1_800_000_100), "another secret")
        #expect(!WebhookMessage.verify(header: header, body: body, secret: secretA, now: 1_800_000_301), "a replay after 5 minutes")
        #expect(!WebhookMessage.verify(header: "t=1800000000", body: body, secret: secretA, now: 1_800_000_000))
        #expect(!WebhookMessage.verify(header: "garbage", body: body, secret: secretA, now: 1_800_000_000))
    }

    @Test func retryDelayDoublesFromTheBaseUpToAnHourTimesTheJitter() {
        let delays = (1...12).map { WebhookMessage.retryDelay(attempts: $0, baseSeconds: 10, jitter: 1) }
        #expect(delays == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600])
        #expect(WebhookMessage.retryDelay(attempts: 3, baseSeconds: 10, jitter: 0.5) == 20)
        #expect(WebhookMessage.retryDelay(attempts: 10_000, baseSeconds: 10, jitter: 1.49) == 3600 * 1.49)
    }

    @Test func anEventsChainIsItsOrderOrItsPayout() {
        let a = String(repeating: "a", count: 32), b = String(repeating: "b", count: 32)
        #expect(ScheduledEvent.chain(of: a + "-0000000003") == Substring(a))
        #expect(ScheduledEvent.chain(of: a + "-0000000005") == ScheduledEvent.chain(of: a + "-0000000003"))
        #expect(ScheduledEvent.chain(of: "payout-" + a + "-0000000002") == Substring("payout-" + a))
        #expect(ScheduledEvent.chain(of: "payout-" + a + "-0000000002") != ScheduledEvent.chain(of: "payout-" + b + "-0000000002"), "payouts do not wait for each other")
    }
}

@Suite struct WebhookCourierTests {
    @Test func paidOrderIsPostedSignedToARealEndpointThenFiledAsSent() throws {
        let receiver = try HTTPStandIn { _ in .respond(status: 204, body: "") }
        defer { receiver.stop() }
        let url = receiver.url + "/hooks/cross?shop=1"
        let world = try World(settings: ["webhooks": [["url": url, "secret": secretA]]])
        let courier = world.courier()
        try world.order("WH-real", notifications: [World.okParameters("WH-real", payid: "P77")])
        let pending = world.events(.pending)
        #expect(pending.map(\.type) == ["order.paid"])
        #expect(pending.first?.deliveries.isEmpty == true, "nothing is sent from the notification's thread")
        let pass = try #require(courier.deliverDue())
        #expect(pass.attempts == 1 && pass.delivered == 1)
        let request = try #require(receiver.receivedRequests.first)
        #expect(request.requestLine.hasPrefix("POST /hooks/cross?shop=1 HTTP/1."))
        #expect(request.header("Content-Type") == "application/json")
        let id = try #require(pending.first?.id)
        #expect(request.header("Cross-Event-Id") == id)
        let signature = try #require(request.header("Cross-Signature"))
        #expect(WebhookMessage.verify(header: signature, body: request.body, secret: secretA, now: Int64(Date().timeIntervalSince1970)))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(Set(json.keys) == ["id", "type", "created_at", "order"])
        #expect(json["id"] as? String == id)
        #expect(json["type"] as? String == "order.paid")
        #expect(Timestamp(iso8601: json["created_at"] as? String ?? "") != nil)
        let order = try #require(json["order"] as? [String: Any])
        // The order as the API shows it: the same view, from the event's snapshot.
        let api = world.api("GET", "/api/orders/WH-real").json
        #expect(NSDictionary(dictionary: order).isEqual(to: api))
        #expect(order["status"] as? String == "paid")
        #expect((order["payment"] as? [String: Any])?["payid"] as? String == "P77")
        #expect((order["checkout_url"] as? String)?.hasPrefix("https://pay.example.tg/pay/") == true)
        // Delivered: moved to sent, with when and how.
        #expect(world.events(.pending).isEmpty)
        let sent = try #require(world.events(.sent).first)
        #expect(sent.deliveries.count == 1)
        #expect(sent.deliveries[0].endpoint == url)
        #expect(sent.deliveries[0].attempts == 1)
        #expect(sent.deliveries[0].lastStatus == 204)
        #expect(sent.deliveries[0].deliveredAt != nil)
        #expect(courier.deliverDue() == WebhookCourier.Pass(), "nothing left to do")
        #expect(receiver.receivedRequests.count == 1)
    }

    @Test func failedAttemptsAreRecordedAndRetriedOnScheduleUntilA2xx() throws {
        let (world, courier, transport, clock) = try webhookWorld(answers: [
            hookA: [.status(503, excerpt: "Service Unavailable"), .failure("Could not connect to the server."), .status(500, excerpt: ""), .status(200, excerpt: "ok")],
        ])
        try world.order("WH-retry", notifications: [World.okParameters("WH-retry")])
        let id = try #require(world.events(.pending).first?.id)
        var expectedAttempts = 0
        for (delay, status, error) in [
            (10.0, 503 as Int?, "HTTP 503: Service Unavailable"), (20, nil, "Could not connect to the server."), (40, 500, "HTTP 500"),
        ] {
            let start = clock.now
            let pass = try #require(courier.deliverDue())
            expectedAttempts += 1
            #expect(pass.attempts == 1 && pass.delivered == 0)
            let event = try #require(try world.store.outbox.load(id))
            #expect(event.folder == .pending)
            let delivery = event.event.deliveries[0]
            #expect(delivery.attempts == expectedAttempts)
            #expect(delivery.lastStatus == status)
            #expect(delivery.lastError == error)
            #expect(delivery.deliveredAt == nil)
            // base × 2^(attempts-1) × jitter (1 here), rounded up to the second.
            #expect(delivery.nextAttemptAt.seconds == Int64((start + delay).rounded(.up)))
            #expect(pass.nextDue == Double(delivery.nextAttemptAt.seconds))
            // Not before it is due.
            clock.set(Double(delivery.nextAttemptAt.seconds) - 0.5)
            #expect(courier.deliverDue()?.attempts == 0)
            clock.set(Double(delivery.nextAttemptAt.seconds))
        }
        let last = try #require(courier.deliverDue())
        #expect(last.delivered == 1 && last.sent == [id])
        let sent = try #require(try world.store.outbox.load(id))
        #expect(sent.folder == .sent)
        #expect(sent.event.deliveries[0].attempts == 4)
        #expect(sent.event.deliveries[0].lastStatus == 200)
        #expect(sent.event.deliveries[0].lastError == nil)
        #expect(transport.calls.count == 4)
        // The same body every time; a signature made at each attempt's own time.
        #expect(Set(transport.calls.map(\.body)).count == 1)
        #expect(transport.calls.allSatisfy { $0.headers["Cross-Event-Id"] == id && $0.headers["Content-Type"] == "application/json" })
    }

    @Test func theJitterSpreadsRetriesAndTheDelayIsCappedAtAnHour() throws {
        let settings: [String: Any] = ["webhooks": [["url": hookA, "secret": secretA]], "webhook_retry_base_seconds": 600]
        let world = try World(settings: settings)
        let transport = ScriptedTransport([hookA: [.status(502, excerpt: "")]])
        let clock = ManualClock()
        let jitters = Lock<[Double]>([0.5, 1.25, 1.0, 1.0, 1.0])
        let courier = world.courier(transport: transport, clock: { clock.now }, jitter: {
            jitters.withLock { $0.removeFirst() }
        })
        try world.order("WH-jitter", notifications: [World.okParameters("WH-jitter")])
        var delays: [Int64] = []
        for _ in 0..<5 {
            let start = clock.now
            courier.deliverDue()
            let next = try #require(world.events(.pending).first?.deliveries.first?.nextAttemptAt)
            delays.append(next.seconds - Int64(start.rounded(.up)))
            clock.set(Double(next.seconds))
        }
        // 600 × 0.5, 1200 × 1.25, 2400, then 3600 (not 4800, 9600).
        #expect(delays == [300, 1500, 2400, 3600, 3600])
    }

    @Test func anEventStillFailingAfterTheGiveUpPeriodIsSetAsideAsFailedAndRetryRevivesIt() throws {
        let (world, courier, transport, clock) = try webhookWorld(extra: ["webhook_give_up_hours": 1], answers: [hookA: [.status(500, excerpt: "")]])
        try world.order("WH-fail", notifications: [World.nokParameters("WH-fail", error: "PAYMENT_FAILED")])
        let id = try #require(world.events(.pending).first?.id)
        #expect(try world.store.outbox.load(id)?.event.type == "order.declined")
        var passes = 0
        while try world.store.outbox.load(id)?.folder == .pending, passes < 100 {
            let pass = try #require(courier.deliverDue())
            clock.set(pass.nextDue ?? clock.now + 1)
            passes += 1
        }
        let failed = try #require(try world.store.outbox.load(id))
        #expect(failed.folder == .failed)
        let delivery = failed.event.deliveries[0]
        // At 0, 10, 30, 70, … 2550 s (9 attempts), then the last one at the give-up time (3600 s).
        #expect(delivery.attempts == 10)
        #expect(delivery.lastError == "HTTP 500")
        #expect(Double(failed.event.createdAt.seconds + 3600) <= clock.now)
        // Set aside, it is not attempted again…
        clock.advance(86_400)
        #expect(courier.deliverDue()?.attempts == 0)
        // …until an operator puts it back (what `cross webhooks retry` does): one more attempt.
        var revived = failed.event
        revived.deliveries[0].nextAttemptAt = Timestamp(seconds: Int64(clock.now))
        try world.store.outbox.save(revived, in: .pending)
        transport.setAnswers(hookA, [.status(200, excerpt: "")])
        #expect(courier.deliverDue()?.sent == [id])
        #expect(try world.store.outbox.load(id)?.event.deliveries[0].attempts == 11, "attempts are kept")
    }

    @Test func eventsOfOneOrderGoInOrderAndOtherOrdersDoNotWait() throws {
        let (world, courier, transport, clock) = try webhookWorld(answers: [hookA: [.status(503, excerpt: "")]])
        // Cancelled, then a late payment: two events of one order.
        try world.order("WH-late", notifications: [World.nokParameters("WH-late", error: "CANCEL"), World.okParameters("WH-late")])
        let events = world.events(.pending)
        #expect(events.map(\.type) == ["order.cancelled", "order.paid"])
        let (cancelled, paid) = (events[0].id, events[1].id)
        let firstPass = try #require(courier.deliverDue())
        #expect(firstPass.attempts == 1, "only the first event of the order is attempted")
        #expect(try world.store.outbox.load(paid)?.event.deliveries.isEmpty == true)
        // Another order is not held up by this one.
        transport.setAnswers(hookA, [.status(200, excerpt: "")])
        try world.order("WH-other", notifications: [World.okParameters("WH-other")])
        #expect(try #require(courier.deliverDue()).sent.count == 1, "the other order's event goes; the failed one is not due yet")
        #expect(try world.store.outbox.load(cancelled)?.folder == .pending)
        #expect(try world.store.outbox.load(paid)?.event.deliveries.isEmpty == true)
        clock.advance(11)
        let pass = try #require(courier.deliverDue())
        #expect(pass.sent == [cancelled, paid], "once the first is delivered, the next follows in the same pass")
        let types = transport.calls.compactMap { call in
            (try? JSONSerialization.jsonObject(with: Data(call.body)) as? [String: Any]).map { "\($0["type"]!) \(($0["order"] as! [String: Any])["purchaseref"]!)" }
        }
        #expect(types == ["order.cancelled WH-late", "order.paid WH-other", "order.cancelled WH-late", "order.paid WH-late"])
    }

    @Test func everyEndpointHasItsOwnDeliveryAndSecret() throws {
        let (world, courier, transport, clock) = try webhookWorld([(hookA, secretA), (hookB, secretB)], answers: [
            hookB: [.failure("no answer within 10 s"), .status(201, excerpt: "")],
        ])
        try world.order("WH-two", notifications: [World.okParameters("WH-two")])
        courier.deliverDue()
        let event = try #require(world.events(.pending).first)
        #expect(event.deliveries.map(\.endpoint) == [hookA, hookB])
        #expect(event.deliveries[0].deliveredAt != nil)
        #expect(event.deliveries[1].deliveredAt == nil && event.deliveries[1].lastError == "no answer within 10 s")
        clock.advance(11)
        #expect(courier.deliverDue()?.sent == [event.id])
        // The two endpoints' first attempts run at once, in either order.
        let calls = transport.calls
        #expect(calls.filter { $0.url == hookA }.count == 1, "a delivered endpoint is not called again")
        #expect(calls.filter { $0.url == hookB }.count == 2)
        #expect(calls.last?.url == hookB)
        let now = Int64(clock.now)
        let toA = try #require(calls.first { $0.url == hookA }), toB = try #require(calls.last)
        #expect(WebhookMessage.verify(header: toA.headers["Cross-Signature"]!, body: toA.body, secret: secretA, now: now))
        #expect(WebhookMessage.verify(header: toB.headers["Cross-Signature"]!, body: toB.body, secret: secretB, now: now))
        #expect(!WebhookMessage.verify(header: toB.headers["Cross-Signature"]!, body: toB.body, secret: secretA, now: now))
    }

    @Test func anEndpointRemovedFromTheConfigurationSetsItsEventAsideAsFailed() throws {
        let (world, courier, _, _) = try webhookWorld(answers: [hookA: [.status(500, excerpt: "")]])
        try world.order("WH-gone", notifications: [World.okParameters("WH-gone")])
        courier.deliverDue()
        // The merchant now lists another endpoint only.
        let newWorld = try World(settings: ["webhooks": [["url": hookB, "secret": secretB]], "data_directory": world.directory + "/data"])
        let transport = ScriptedTransport([:])
        let newCourier = newWorld.courier(transport: transport)
        let pass = try #require(newCourier.deliverDue())
        #expect(pass.failed.count == 1)
        let failed = try #require(newWorld.events(.failed).first)
        #expect(failed.deliveries.map(\.endpoint) == [hookA])
        #expect(failed.deliveries[0].lastError == "endpoint no longer configured")
        #expect(transport.calls.isEmpty)
    }

    @Test func withNoEndpointNoEventIsRaised() throws {
        let world = try World()
        let transport = ScriptedTransport([:])
        let courier = world.courier(transport: transport)
        try world.order("WH-none", notifications: [World.okParameters("WH-none")])
        #expect(try world.store.load(ref: "WH-none")?.status == .paid)
        #expect(world.store.outbox.ids(in: .pending).isEmpty, "nobody to tell: no event is written")
        #expect(courier.deliverDue()?.sent.count == 0)
        #expect(transport.calls.isEmpty)
    }

    @Test func eventsLeftWhenTheLastEndpointIsRemovedAreFiledAsSent() throws {
        let (world, courier, _, _) = try webhookWorld()
        _ = courier
        try world.order("WH-gone", notifications: [World.okParameters("WH-gone")])
        #expect(world.store.outbox.ids(in: .pending).count == 1)
        // The merchant removes every endpoint: what was waiting is filed, there is nobody to send it to.
        let without = try World(settings: ["data_directory": world.directory + "/data"])
        let transport = ScriptedTransport([:])
        #expect(without.courier(transport: transport).deliverDue()?.sent.count == 1)
        #expect(without.events(.sent).first?.deliveries.isEmpty == true)
        #expect(transport.calls.isEmpty)
    }

    @Test func onlyOneCourierDeliversAtATime() throws {
        let (world, courier, transport, _) = try webhookWorld()
        try world.order("WH-lock", notifications: [World.okParameters("WH-lock")])
        // Another process (here: another open file description) holds outbox/courier.lock.
        let other = try #require(try world.store.outbox.leaseDeliveryLock())
        #expect(try world.store.outbox.leaseDeliveryLock() == nil, "one holder at a time")
        #expect(courier.deliverDue() == nil, "the pass is skipped while another holds the lock")
        #expect(transport.calls.isEmpty)
        other.release()
        #expect(courier.deliverDue()?.sent.count == 1)
    }

    @Test func theThreadDeliversAtOnceWhenWokenByANewEvent() throws {
        let receiver = try HTTPStandIn { _ in .respond(status: 200, body: "ok") }
        defer { receiver.stop() }
        let world = try World(settings: ["webhooks": [["url": receiver.url + "/in", "secret": secretA]]])
        // Polling only every minute: a delivery within seconds is the wake-up's doing (or the first pass's, if
        // it had not run yet when the event came).
        let courier = world.courier(pollSeconds: 60)
        world.store.onEvent { courier.wake() }
        courier.start()
        defer { courier.stop() }
        try world.order("WH-wake", notifications: [World.okParameters("WH-wake")])
        #expect(receiver.waitForRequests(1, timeout: 5), "woken, not polled")
        let deadline = Date().addingTimeInterval(5)
        while world.events(.sent).isEmpty && Date() < deadline { usleep(20_000) }
        #expect(world.events(.sent).count == 1)
    }

    @Test func redirectsAreNotFollowedAndTimeoutsAreFailures() throws {
        let target = try HTTPStandIn { _ in .respond(status: 200, body: "ok") }
        defer { target.stop() }
        let receiver = try HTTPStandIn { _ in .respondWithHeaders(status: 302, headers: [("Location", target.url + "/elsewhere")], body: "moved") }
        defer { receiver.stop() }
        let transport = HTTPWebhookTransport(timeoutSeconds: 0.5)
        let answer = transport.post(url: receiver.url + "/hook", headers: [("Content-Type", "application/json")], body: Array("{}".utf8), timeoutSeconds: 0.5)
        guard case .status(302, let excerpt) = answer else {
            Issue.record("expected the 302 itself, got \(answer)")
            return
        }
        #expect(excerpt.contains("redirects are not followed"))
        #expect(target.requests.isEmpty, "the redirect was not followed")
        receiver.setBehaviour { _ in .hang(seconds: 2) }
        let started = Date()
        let slow = transport.post(url: receiver.url + "/hook", headers: [], body: Array("{}".utf8), timeoutSeconds: 0.5)
        #expect(slow == .failure("no answer within 0.5 s"))
        #expect(Date().timeIntervalSince(started) < 1.5)
        let closed = try HTTPStandIn { _ in .close }
        closed.stop()
        if case .failure = transport.post(url: closed.url, headers: [], body: [], timeoutSeconds: 0.5) {} else {
            Issue.record("a closed port is a failure")
        }
    }
}
