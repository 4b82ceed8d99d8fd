import Foundation
import Logging
import OrderStorage
import Payments
import Support

/// Delivers the outbox's webhook events to the merchant's endpoints, from a thread of its own (`start()`), so
/// that no notification ever waits for a merchant's server.
///
/// Delivery is at least once, from the durable outbox. On its first pass an event gets one delivery per
/// configured endpoint; a delivery counts only after a 2xx. A failed attempt is recorded in the event
/// (`attempts`, `last_status`, `last_error`) with its next attempt `min(base × 2^(attempts-1), 1 h) × jitter`
/// later (jitter in [0.5, 1.5)), and the event is saved back to `pending` after every attempt, so a restart
/// resumes where it was. Delivered everywhere → `sent`; still failing once older than the give-up period →
/// `failed` (`cross webhooks retry` revives it). The events of one order go out in order: only the lowest
/// pending revision of an order is attempted, the next waits until it is sent or failed. Each pass holds
/// `outbox/courier.lock`, so that one process delivers when several share the data folder.
public final class WebhookCourier: BackgroundJob, @unchecked Sendable {
    public typealias Clock = @Sendable () -> Double
    public typealias Jitter = @Sendable () -> Double

    public let settings: WebhookSettings
    let outbox: any WebhookOutbox
    let links: OrderLink
    private let transport: any WebhookTransport
    private let clock: Clock
    private let jitter: Jitter
    private let logger: Logger
    private var job: PeriodicJob!
    /// Damaged event files already reported (once each per process, not every second).
    private let reportedDamaged = Lock<Set<String>>([])

    /// What one pass did.
    public struct Pass: Sendable, Equatable {
        /// Attempts made, and how many of them got a 2xx.
        public var attempts = 0
        public var delivered = 0
        /// Events moved to `sent`, and to `failed`.
        public var sent: [String] = []
        public var failed: [String] = []
        /// When the earliest delivery left waiting is due (Unix seconds), if any is.
        public var nextDue: Double?
    }

    /// A pass at start, then whenever `wake()` is called, and at least every `pollSeconds` (sooner when a retry is
    /// due sooner): other processes' events are found by polling.
    public init(
        settings: WebhookSettings, outbox: any WebhookOutbox, links: OrderLink, transport: (any WebhookTransport)? = nil,
        clock: @escaping Clock = { Date().timeIntervalSince1970 },
        jitter: @escaping Jitter = { Double.random(in: 0.5..<1.5) },
        pollSeconds: Double = 1, logger: Logger = Logger(label: "cross.webhooks")
    ) {
        self.settings = settings
        self.outbox = outbox
        self.links = links
        self.transport = transport ?? HTTPWebhookTransport(timeoutSeconds: settings.timeoutSeconds)
        self.clock = clock
        self.jitter = jitter
        self.logger = logger
        job = PeriodicJob(name: "webhooks", interval: pollSeconds) { [unowned self] in
            deliverDue()?.nextDue.map { $0 - clock() }
        }
    }

    // MARK: - The thread

    public var name: String { job.name }

    public func start() { job.start() }

    /// A new event is in the outbox: deliver it now rather than at the next poll.
    public func wake() { job.wake() }

    /// Ends the thread after its current pass.
    @discardableResult
    public func stop(timeout: Double = 10) -> Bool { job.stop(timeout: timeout) }

    // MARK: - A pass

    /// Attempts every delivery that is due, holding the outbox's delivery lock; nil when another process
    /// holds it (or it cannot be taken).
    @discardableResult
    public func deliverDue() -> Pass? {
        var pass = Pass()
        do {
            let ran = try outbox.withDeliveryLock { () throws(StoreError) in
                for ids in Self.byOrder(outbox.ids(in: .pending)) {
                    // The order's next event follows as soon as the one before it is sent or failed.
                    for id in ids {
                        process(id, &pass)
                        if outbox.find(id) == .pending { break }
                    }
                }
            }
            return ran ? pass : nil
        } catch {
            logger.error("webhook courier cannot lock the outbox", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Pending event ids grouped by order, each group oldest first: only the first of a group may be attempted.
    static func byOrder(_ ids: [String]) -> [[String]] {
        var groups: [[String]] = []
        var previous: Substring?
        for id in ids.sorted() {
            let key = id.prefix { $0 != "-" }
            if key == previous { groups[groups.count - 1].append(id) } else { groups.append([id]) }
            previous = key
        }
        return groups
    }

    private func endpoint(_ url: String) -> WebhookSettings.Endpoint? {
        settings.endpoints.first { $0.url == url }
    }

    private func process(_ id: String, _ pass: inout Pass) {
        let loaded: (event: OutboxEvent, folder: OutboxFolder)?
        do {
            loaded = try outbox.load(id)
        } catch {
            let first = reportedDamaged.withLock { $0.insert(id).inserted }
            if first {
                logger.error("webhook event cannot be read; it and the later events of its order wait", metadata: [
                    "event": "\(id)", "error": "\(error)",
                ])
            }
            return
        }
        guard let (found, folder) = loaded, folder == .pending else { return }
        var event = found
        do {
            try deliver(&event, &pass)
        } catch {
            // A full or read-only disk: what was delivered may be delivered again, which at-least-once allows.
            logger.error("webhook event cannot be saved", metadata: ["event": "\(id)", "error": "\(error)"])
        }
    }

    private func deliver(_ event: inout OutboxEvent, _ pass: inout Pass) throws(StoreError) {
        if event.deliveries.isEmpty {
            guard !settings.endpoints.isEmpty else {
                // No endpoint to tell: filed as sent (with no deliveries) rather than piling up in pending.
                try outbox.save(event, in: .sent)
                pass.sent.append(event.id)
                logger.debug("webhook event filed: no endpoint configured", metadata: ["event": "\(event.id)"])
                return
            }
            let now = Timestamp(seconds: Int64(clock().rounded(.down)))
            event.deliveries = settings.endpoints.map { OutboxEvent.Delivery(endpoint: $0.url, nextAttemptAt: now) }
        }
        let giveUpAt = Double(event.createdAt.seconds + settings.giveUpSeconds)
        var body: [UInt8]?
        var failedNow = false
        for index in event.deliveries.indices where event.deliveries[index].deliveredAt == nil {
            guard let endpoint = endpoint(event.deliveries[index].endpoint) else { continue }
            guard Double(event.deliveries[index].nextAttemptAt.seconds) <= clock() else { continue }
            let bytes = body ?? WebhookMessage.body(event, links: links)
            body = bytes
            let sentAt = clock()
            let time = Int64(sentAt.rounded(.down))
            let headers = [
                ("Content-Type", "application/json"),
                ("Cross-Event-Id", event.id),
                ("Cross-Signature", WebhookMessage.signature(secret: endpoint.secret, time: time, body: bytes)),
                ("User-Agent", "Cross/\(settings.version) (webhooks)"),
            ]
            let answer = transport.post(url: endpoint.url, headers: headers, body: bytes, timeoutSeconds: settings.timeoutSeconds)
            let now = clock()
            var delivery = event.deliveries[index]
            delivery.attempts += 1
            pass.attempts += 1
            var status: Int?
            var problem: String?
            switch answer {
            case .status(let code, let excerpt):
                status = code
                if !(200..<300).contains(code) { problem = "HTTP \(code)" + (excerpt.isEmpty ? "" : ": " + excerpt) }
            case .failure(let reason):
                problem = reason
            }
            delivery.lastStatus = status
            delivery.lastError = problem
            var metadata: Logger.Metadata = [
                "event": "\(event.id)", "type": "\(event.type)", "ref": "\(event.subject)",
                "endpoint": "\(Self.host(endpoint.url))", "status": "\(status.map(String.init) ?? "-")",
                "attempt": "\(delivery.attempts)",
            ]
            if problem == nil {
                delivery.deliveredAt = Timestamp(seconds: Int64(now.rounded(.down)))
                pass.delivered += 1
                metadata["next"] = "none"
                logger.info("webhook delivered", metadata: metadata)
            } else {
                failedNow = true
                let delay = WebhookMessage.retryDelay(attempts: delivery.attempts, baseSeconds: settings.retryBaseSeconds, jitter: jitter())
                // Times are kept to the second: rounded up, so never earlier than the schedule says; the last
                // attempt is at the give-up time at the latest.
                let next = max(min((now + delay).rounded(.up), giveUpAt.rounded(.up)), now.rounded(.up))
                delivery.nextAttemptAt = Timestamp(seconds: Int64(next))
                metadata["next"] = "\(now >= giveUpAt ? "none (given up)" : delivery.nextAttemptAt.iso8601)"
                metadata["error"] = "\(problem!)"
                logger.warning("webhook delivery failed", metadata: metadata)
            }
            event.deliveries[index] = delivery
            try outbox.save(event, in: .pending)
        }
        let waiting = event.deliveries.filter { $0.deliveredAt == nil }
        if waiting.isEmpty {
            try outbox.save(event, in: .sent)
            pass.sent.append(event.id)
            return
        }
        if waiting.allSatisfy({ endpoint($0.endpoint) == nil }) {
            // Every delivery left is to an endpoint no longer in the configuration: nothing can send it.
            for index in event.deliveries.indices where event.deliveries[index].deliveredAt == nil {
                event.deliveries[index].lastError = "endpoint no longer configured"
            }
            try outbox.save(event, in: .failed)
            pass.failed.append(event.id)
            logger.error("webhook event set aside as failed: its endpoints are no longer configured", metadata: [
                "event": "\(event.id)", "type": "\(event.type)", "ref": "\(event.subject)",
            ])
            return
        }
        if failedNow && clock() >= giveUpAt {
            try outbox.save(event, in: .failed)
            pass.failed.append(event.id)
            logger.error("webhook event set aside as failed: not delivered within the give-up period", metadata: [
                "event": "\(event.id)", "type": "\(event.type)", "ref": "\(event.subject)",
                "hours": "\(Double(settings.giveUpSeconds) / 3600)",
            ])
            return
        }
        for delivery in waiting where endpoint(delivery.endpoint) != nil {
            let due = Double(delivery.nextAttemptAt.seconds)
            pass.nextDue = min(pass.nextDue ?? due, due)
        }
    }

    /// `host` or `host:port` of an endpoint, for the log (never its path, which may hold a token).
    static func host(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "?" }
        return components.port.map { host + ":" + String($0) } ?? host
    }
}
