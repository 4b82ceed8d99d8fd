import DequeModule
import Foundation
import HeapModule
import Logging
import OrderStorage
import Payments
import Support

/// Delivers the outbox's webhook events to the merchant's endpoints, from threads of its own (`start()`), so
/// that no notification ever waits for a merchant's server, and no endpoint waits for another.
///
/// Delivery is at least once, from the durable outbox. On its first attempt an event gets one delivery per
/// configured endpoint; a delivery counts only after a 2xx. A failed attempt is recorded in the event
/// (`attempts`, `last_status`, `last_error`) with its next attempt `min(base × 2^(attempts-1), 1 h) × jitter`
/// later (jitter in [0.5, 1.5)), and the event is saved back to `pending` after every attempt, so a restart
/// resumes where it was. Delivered everywhere → `sent`; still failing once older than the give-up period →
/// `failed` (`cross webhooks retry` revives it).
///
/// Attempts run concurrently, each on a thread of its own, at most `concurrencyPerEndpoint` at a time at one
/// endpoint: an endpoint that hangs holds its own places only. The events of one order go to an endpoint in
/// order: an event is attempted at an endpoint only once every earlier pending event of its order was delivered
/// there (or left `pending`). What is due is kept in memory, loaded once from `pending` and fed by the store's
/// new events, by each attempt's outcome, and by a listing of `pending` every `pollSeconds` that reads only the
/// events whose file changed (another process's, `cross webhooks retry`): a pass reads no event that is not due.
/// The files stay the truth: every attempt reads its event, and writes its outcome into the event as it then is,
/// under `outbox/events.lock`.
///
/// One process delivers when several share the data folder: the one holding `outbox/courier.lock`, for as long
/// as its courier runs; the others take it over within `pollSeconds` when it goes.
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
    private let pollSeconds: Double
    private var job: PeriodicJob!
    private var retention: PeriodicJob?
    /// The schedule, the places in use, the lease; `changed` is signalled when an attempt ends.
    private let changed = NSCondition()
    private var schedule: Schedule
    private var lease: (any OutboxLease)?
    private var running = false
    /// Set by `stop()`: a retention pass in progress ends at its next file.
    private let stopping = Lock(false)
    private var lastListing = -Double.infinity
    /// What the current `deliverDue()` did, while one runs.
    private var recording: Pass?
    /// Damaged event files already reported (once each per process, not every second).
    private var reportedDamaged: Set<String> = []

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

    /// The backlog, for monitoring: how many events are pending, and when the oldest was created.
    public struct Backlog: Sendable, Equatable {
        public var pending: Int
        public var oldestCreatedAt: Timestamp?
    }

    /// A pass at start, then whenever `wake()` is called or an attempt ends, when the next delivery is due, and
    /// at least every `pollSeconds`, when `pending` is listed to find other processes' events.
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
        self.pollSeconds = pollSeconds
        schedule = Schedule(endpoints: settings.endpoints.count)
        job = PeriodicJob(name: "webhooks", interval: pollSeconds) { [unowned self] in backgroundPass() }
        if let keep = settings.sentRetentionSeconds {
            // Hourly, at a low priority: one stat per sent event, a read only for those old enough to go.
            retention = PeriodicJob(name: "webhook-retention", interval: 3600, lowerPriority: true) { [unowned self] in
                removeSent(olderThan: keep)
                return nil
            }
        }
    }

    // MARK: - The threads

    public var name: String { job.name }

    public func start() {
        changed.withLock { running = true }
        stopping.withLock { $0 = false }
        job.start()
        retention?.start()
    }

    /// A new event is in the outbox: deliver it now rather than at the next poll.
    public func wake() { job.wake() }

    /// Ends the threads: no new attempt starts, those in flight end (within `timeout`), the lock is released.
    @discardableResult
    public func stop(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        stopping.withLock { $0 = true }
        var stopped = job.stop(timeout: timeout)
        if let retention { stopped = retention.stop(timeout: max(0, deadline.timeIntervalSinceNow)) && stopped }
        return changed.withLock {
            running = false
            while schedule.inFlightTotal > 0 && changed.wait(until: deadline) {}
            lease?.release()
            lease = nil
            return stopped && schedule.inFlightTotal == 0
        }
    }

    /// The pending events this process knows of (all of them once it has listed `pending`).
    public var backlog: Backlog {
        changed.withLock { Backlog(pending: schedule.entries.count, oldestCreatedAt: schedule.oldestCreatedAt.map { Timestamp(seconds: $0) }) }
    }

    private func backgroundPass() -> Double? {
        let leader = takeLease()
        let now = clock()
        let full = changed.withLock { now - lastListing >= pollSeconds || schedule.needsListing }
        reconcile(listing: full)
        if leader { dispatchDue() }
        return changed.withLock { () -> Double in
            let listing = lastListing + pollSeconds - now
            guard leader, let due = schedule.nextDue() else { return listing }
            return min(listing, due - now)
        }
    }

    /// True when this courier holds the delivery lock (taking it if it is free). A courier that takes it over
    /// lists `pending` first: another held it, and the files may have moved meanwhile.
    private func takeLease() -> Bool {
        if changed.withLock({ lease != nil }) { return true }
        do {
            guard let taken = try outbox.leaseDeliveryLock() else { return false }
            changed.withLock {
                lease = taken
                schedule.needsListing = true
            }
            return true
        } catch {
            logger.error("webhook courier cannot lock the outbox", metadata: ["error": "\(error)"])
            return false
        }
    }

    // MARK: - A pass, for the tests and tools

    /// Attempts every delivery that is due, and those that become due as others end (an order's next event),
    /// holding the outbox's delivery lock; nil when another process holds it (or it cannot be taken). Returns
    /// once every attempt it started has ended.
    @discardableResult
    public func deliverDue() -> Pass? {
        guard takeLease() else { return nil }
        changed.withLock { recording = Pass() }
        reconcile(listing: true)
        while true {
            let started = dispatchDue()
            let idle = changed.withLock { () -> Bool in
                while schedule.inFlightTotal > 0 { changed.wait() }
                return schedule.toFile.isEmpty
            }
            if started == 0 && idle { break }
        }
        return changed.withLock {
            var pass = recording!
            recording = nil
            pass.nextDue = schedule.nextDue()
            if !running {
                // Outside `cross serve`'s thread the lock is held for the pass only, as by `cross webhooks retry`.
                lease?.release()
                lease = nil
            }
            return pass
        }
    }

    // MARK: - Keeping the schedule

    /// Brings the schedule up to the outbox: this process's new events, and with `listing`, every pending event
    /// whose stamp changed (read again), appeared (read) or went (dropped). Events being attempted are left alone:
    /// their attempt's outcome updates them.
    private func reconcile(listing: Bool) {
        let created = outbox.takeNewlyCreated()
        let stamps = listing ? outbox.pendingStamps() : nil
        var toRead: [String: OutboxStamp?] = [:]
        changed.withLock {
            for id in created where schedule.entries[id] == nil { toRead[id] = .some(nil) }
            guard let stamps else { return }
            lastListing = clock()
            schedule.needsListing = false
            var known = 0
            for (id, stamp) in stamps {
                guard let entry = schedule.entries[id] else {
                    toRead[id] = stamp
                    continue
                }
                known += 1
                if entry.stamp == nil { schedule.entries[id]!.stamp = stamp }
                else if entry.stamp != stamp && entry.inFlight.isEmpty { toRead[id] = stamp }
            }
            // Gone from pending (filed elsewhere by another process, or by hand): only looked for when some are.
            if schedule.entries.count > known {
                for id in schedule.entries.keys where stamps[id] == nil {
                    if schedule.entries[id]!.inFlight.isEmpty && !schedule.toFile.contains(id) { schedule.remove(id) }
                }
            }
        }
        for (id, stamp) in toRead.sorted(by: { $0.key < $1.key }) {
            let loaded: (event: OutboxEvent, folder: OutboxFolder)?
            do {
                loaded = try outbox.load(id)
            } catch {
                reportDamaged(id, error)
                changed.withLock { if schedule.entries[id]?.inFlight.isEmpty ?? true { schedule.install(.damaged(id, stamp: stamp)) } }
                continue
            }
            changed.withLock {
                guard schedule.entries[id]?.inFlight.isEmpty ?? true else { return }
                guard let (event, folder) = loaded, folder == .pending else {
                    schedule.remove(id)
                    return
                }
                install(event, stamp: stamp)
            }
        }
    }

    /// The event's place in the schedule, from what its file says. Called holding `changed`.
    private func install(_ event: OutboxEvent, stamp: OutboxStamp?) {
        var entry = ScheduledEvent(id: event.id, createdAt: event.createdAt.seconds, stamp: stamp)
        if event.deliveries.isEmpty {
            // Not attempted yet: due at once at every endpoint, oldest first.
            entry.attempted = false
            for index in settings.endpoints.indices { entry.due[index] = event.createdAt.seconds }
        } else {
            for delivery in event.deliveries where delivery.deliveredAt == nil {
                if let index = endpointIndex(delivery.endpoint) { entry.due[index] = delivery.nextAttemptAt.seconds }
            }
        }
        schedule.install(entry)
        // Nothing to attempt, yet pending: no endpoint at all, delivered everywhere, or owed only to endpoints
        // no longer configured. Filed by the courier that delivers.
        if entry.due.isEmpty { schedule.toFile.insert(event.id) }
    }

    private func endpointIndex(_ url: String) -> Int? {
        settings.endpoints.firstIndex { $0.url == url }
    }

    private func reportDamaged(_ id: String, _ error: any Error) {
        let first = changed.withLock { reportedDamaged.insert(id).inserted }
        if first {
            logger.error("webhook event cannot be read; it and the later events of its order wait", metadata: [
                "event": "\(id)", "error": "\(error)",
            ])
        }
    }

    // MARK: - Dispatching

    /// Files what has nothing left to attempt, then starts every due attempt that has a free place at its
    /// endpoint. Returns how many it started.
    @discardableResult
    private func dispatchDue() -> Int {
        let filing = changed.withLock { () -> [String] in
            defer { schedule.toFile = [] }
            return schedule.toFile.sorted()
        }
        for id in filing { file(id) }
        let starts = changed.withLock { () -> [(String, Int)] in
            guard running || recording != nil else { return [] }
            return schedule.takeDue(now: clock(), limit: max(1, settings.concurrencyPerEndpoint))
        }
        for (id, endpoint) in starts {
            startThread { [self] in attempt(id, endpoint) }
        }
        return starts.count
    }

    /// An event with nothing left to attempt leaves `pending`: to `sent` when it was delivered everywhere (or
    /// had no endpoint to go to), to `failed` when what it still owes is to endpoints no longer configured, or
    /// when an attempt found it past its give-up time while another was in flight.
    private func file(_ id: String) {
        let givingUp = changed.withLock { schedule.entries[id]?.givingUp ?? false }
        do {
            let filed = try outbox.withEventLock { () throws(StoreError) -> (OutboxEvent, OutboxFolder)? in
                guard let (found, folder) = try outbox.load(id), folder == .pending else { return nil }
                var event = found
                let waiting = event.deliveries.indices.filter { event.deliveries[$0].deliveredAt == nil }
                if givingUp && !waiting.isEmpty {
                    try outbox.save(event, in: .failed)
                    return (event, .failed)
                }
                if event.deliveries.isEmpty && !settings.endpoints.isEmpty { return nil }  // became attemptable
                if waiting.contains(where: { endpointIndex(event.deliveries[$0].endpoint) != nil }) { return nil }
                if waiting.isEmpty {
                    try outbox.save(event, in: .sent)
                    return (event, .sent)
                }
                for index in waiting { event.deliveries[index].lastError = "endpoint no longer configured" }
                try outbox.save(event, in: .failed)
                return (event, .failed)
            }
            changed.withLock {
                guard let (event, folder) = filed else {
                    schedule.needsListing = true
                    return
                }
                schedule.remove(id)
                if folder == .sent { recording?.sent.append(id) } else { recording?.failed.append(id) }
                if folder == .sent && event.deliveries.isEmpty {
                    logger.debug("webhook event filed: no endpoint configured", metadata: ["event": "\(id)"])
                } else if folder == .failed && givingUp {
                    logger.error("webhook event set aside as failed: not delivered within the give-up period", metadata: [
                        "event": "\(event.id)", "type": "\(event.type)", "ref": "\(event.subject)",
                        "hours": "\(Double(settings.giveUpSeconds) / 3600)",
                    ])
                } else if folder == .failed {
                    logger.error("webhook event set aside as failed: its endpoints are no longer configured", metadata: [
                        "event": "\(id)", "type": "\(event.type)", "ref": "\(event.subject)",
                    ])
                }
            }
        } catch {
            reportDamaged(id, error)
        }
    }

    // MARK: - One attempt

    /// Posts the event to one endpoint, on its own thread, then writes the outcome into the event as it is now.
    private func attempt(_ id: String, _ index: Int) {
        let endpoint = settings.endpoints[index]
        var outcome: Outcome = .untouched
        defer { finish(id, index, outcome) }
        let event: OutboxEvent
        do {
            guard let (found, folder) = try outbox.load(id), folder == .pending else {
                outcome = .gone
                return
            }
            event = found
        } catch {
            reportDamaged(id, error)
            outcome = .damaged
            return
        }
        if let delivery = event.deliveries.first(where: { $0.endpoint == endpoint.url }),
            delivery.deliveredAt != nil || Double(delivery.nextAttemptAt.seconds) > clock()
        {
            outcome = .reread  // changed since the schedule was made
            return
        }
        let body = WebhookMessage.body(event, links: links)
        let time = Int64(clock().rounded(.down))
        let headers = [
            ("Content-Type", "application/json"),
            ("Cross-Event-Id", event.id),
            ("Cross-Signature", WebhookMessage.signature(secret: endpoint.secret, time: time, body: body)),
            ("User-Agent", "Cross/\(settings.version) (webhooks)"),
        ]
        let answer = transport.post(url: endpoint.url, headers: headers, body: body, timeoutSeconds: settings.timeoutSeconds)
        do {
            outcome = try outbox.withEventLock { () throws(StoreError) -> Outcome in try record(answer, of: id, at: index) }
        } catch {
            // A full or read-only disk: what was delivered may be delivered again, which at-least-once allows.
            logger.error("webhook event cannot be saved", metadata: ["event": "\(id)", "error": "\(error)"])
            outcome = .attempted(delivered: false, saved: nil)
        }
    }

    /// The attempt's outcome, written into the event as its file now says (another endpoint's attempt, or a
    /// `cross webhooks retry`, may have changed it since it was read). Called holding the event lock.
    private func record(_ answer: WebhookAnswer, of id: String, at index: Int) throws(StoreError) -> Outcome {
        let endpoint = settings.endpoints[index]
        guard let (found, folder) = try outbox.load(id), folder == .pending else { return .gone }
        var event = found
        let now = clock()
        if event.deliveries.isEmpty {
            // The endpoints an event goes to are fixed at its first attempt.
            let first = Timestamp(seconds: Int64(now.rounded(.down)))
            event.deliveries = settings.endpoints.map { OutboxEvent.Delivery(endpoint: $0.url, nextAttemptAt: first) }
        }
        guard let position = event.deliveries.firstIndex(where: { $0.endpoint == endpoint.url }) else { return .reread }
        var delivery = event.deliveries[position]
        delivery.attempts += 1
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
        let giveUpAt = Double(event.createdAt.seconds + settings.giveUpSeconds)
        if problem == nil {
            delivery.deliveredAt = Timestamp(seconds: Int64(now.rounded(.down)))
            metadata["next"] = "none"
            logger.info("webhook delivered", metadata: metadata)
        } else {
            let delay = WebhookMessage.retryDelay(attempts: delivery.attempts, baseSeconds: settings.retryBaseSeconds, jitter: jitter())
            // Times are kept to the second: rounded up, so never earlier than the schedule says; the last
            // attempt is at the give-up time at the latest.
            let next = max(min((now + delay).rounded(.up), giveUpAt.rounded(.up)), now.rounded(.up))
            delivery.nextAttemptAt = Timestamp(seconds: Int64(next))
            metadata["next"] = "\(now >= giveUpAt ? "none (given up)" : delivery.nextAttemptAt.iso8601)"
            metadata["error"] = "\(problem!)"
            logger.warning("webhook delivery failed", metadata: metadata)
        }
        event.deliveries[position] = delivery
        let waiting = event.deliveries.filter { $0.deliveredAt == nil }
        let (othersInFlight, givingUp) = changed.withLock {
            (schedule.entries[id].map { $0.inFlight.count > 1 } ?? false, schedule.entries[id]?.givingUp ?? false)
        }
        let giveUp = (problem != nil && now >= giveUpAt) || givingUp
        var folderNow = OutboxFolder.pending
        if waiting.isEmpty {
            folderNow = .sent
        } else if !othersInFlight && (giveUp || waiting.allSatisfy({ endpointIndex($0.endpoint) == nil })) {
            folderNow = .failed
            if giveUp {
                logger.error("webhook event set aside as failed: not delivered within the give-up period", metadata: [
                    "event": "\(event.id)", "type": "\(event.type)", "ref": "\(event.subject)",
                    "hours": "\(Double(settings.giveUpSeconds) / 3600)",
                ])
            } else {
                for position in event.deliveries.indices where event.deliveries[position].deliveredAt == nil {
                    event.deliveries[position].lastError = "endpoint no longer configured"
                }
                logger.error("webhook event set aside as failed: its endpoints are no longer configured", metadata: [
                    "event": "\(event.id)", "type": "\(event.type)", "ref": "\(event.subject)",
                ])
            }
        }
        let stamp = try outbox.save(event, in: folderNow)
        return .attempted(delivered: problem == nil, saved: (event, folderNow, stamp, giveUp))
    }

    private enum Outcome {
        /// Not attempted: nothing changed.
        case untouched
        /// Not in `pending` any more.
        case gone
        /// Its file cannot be read.
        case damaged
        /// Its file says otherwise than the schedule: read again at the next listing.
        case reread
        /// Posted; the event as saved (nil when it could not be).
        case attempted(delivered: Bool, saved: (event: OutboxEvent, folder: OutboxFolder, stamp: OutboxStamp, givingUp: Bool)?)
    }

    /// The attempt's place is free again; the schedule takes its outcome.
    private func finish(_ id: String, _ index: Int, _ outcome: Outcome) {
        changed.withLock {
            switch outcome {
            case .untouched:
                break
            case .gone:
                schedule.entries[id]?.due[index] = nil
                if schedule.entries[id]?.inFlight == [index] { schedule.remove(id) }
            case .damaged:
                schedule.install(.damaged(id, stamp: nil))
            case .reread:
                // Not attempted again before the next listing has read its file.
                schedule.entries[id]?.due[index] = nil
                schedule.entries[id]?.stamp = 0
                schedule.needsListing = true
            case .attempted(let delivered, let saved):
                recording?.attempts += 1
                if delivered { recording?.delivered += 1 }
                guard let (event, folder, stamp, givingUp) = saved else {
                    // Not saved (a full disk): attempted again once the next listing has read its file.
                    schedule.entries[id]?.due[index] = nil
                    schedule.entries[id]?.stamp = 0
                    schedule.needsListing = true
                    break
                }
                switch folder {
                case .sent:
                    schedule.remove(id)
                    recording?.sent.append(id)
                case .failed:
                    schedule.remove(id)
                    recording?.failed.append(id)
                case .pending:
                    let wasGivingUp = schedule.entries[id]?.givingUp ?? false
                    install(event, stamp: stamp)
                    // Past its give-up time while another attempt of it was in flight: filed as failed once the
                    // last one ends (unless that one delivered the rest).
                    if wasGivingUp || givingUp {
                        schedule.entries[id]?.givingUp = true
                        if schedule.entries[id]?.inFlight == [index] { schedule.toFile.insert(id) }
                    }
                }
            }
            schedule.endAttempt(id, index)
            changed.broadcast()
        }
        job.wake()
    }

    // MARK: - Retention

    /// Removes the events delivered more than `seconds` ago from `outbox/sent/`.
    @discardableResult
    public func removeSent(olderThan seconds: Int64) -> OutboxSweep {
        let cutoff = Timestamp(seconds: Int64(clock().rounded(.down)) - seconds)
        let started = Date()
        let sweep = outbox.removeSent(filedBefore: cutoff) { !stopping.withLock { $0 } }
        for problem in sweep.problems {
            logger.warning("webhook sent event kept: cannot be read or removed", metadata: ["error": "\(problem)"])
        }
        if sweep.removed > 0 {
            logger.info("webhook sent events removed", metadata: [
                "removed": "\(sweep.removed)", "kept": "\(sweep.kept)", "before": "\(cutoff.iso8601)",
                "ms": "\(Int(Date().timeIntervalSince(started) * 1000))",
            ])
        }
        return sweep
    }

    /// `host` or `host:port` of an endpoint, for the log (never its path, which may hold a token).
    static func host(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "?" }
        return components.port.map { host + ":" + String($0) } ?? host
    }
}

// MARK: - The schedule

/// A pending event as the courier keeps it in memory: when each of its deliveries is due, not its order.
struct ScheduledEvent {
    let id: String
    let createdAt: Int64
    /// The file's stamp when it was read or written; nil: take the next listing's.
    var stamp: OutboxStamp?
    /// Configured endpoint (its index) → when its delivery is next due (Unix seconds), for deliveries not made yet.
    var due: [Int: Int64] = [:]
    /// Endpoints being attempted now.
    var inFlight: Set<Int> = []
    /// An attempt found it past its give-up time while another was in flight: failed once that one ends.
    var givingUp = false
    /// Cannot be read: it holds up the later events of its order at every endpoint.
    var damaged = false
    /// False until its first attempt: then due at once, whatever the clock says of its creation time.
    var attempted = true
    /// Grows with each change, so that a queued reference to an older state is known stale.
    var generation = 0

    init(id: String, createdAt: Int64, stamp: OutboxStamp?) {
        self.id = id
        self.createdAt = createdAt
        self.stamp = stamp
    }

    static func damaged(_ id: String, stamp: OutboxStamp?) -> ScheduledEvent {
        var entry = ScheduledEvent(id: id, createdAt: 0, stamp: stamp)
        entry.damaged = true
        return entry
    }

    /// The events of one order (or one payout), which go to each endpoint in order: the id less its revision.
    static func chain(of id: String) -> Substring {
        id.lastIndex(of: "-").map { id[..<$0] } ?? Substring(id)
    }
}

/// Which deliveries are due, in the order they fell due, and which wait for their order's earlier events or a
/// free place at their endpoint. Every operation costs in proportion to what it changes, never to the backlog.
struct Schedule {
    struct Due: Comparable {
        /// A first attempt: before every retry, oldest first.
        let first: Bool
        let at: Int64
        let id: String
        let endpoint: Int
        let generation: Int

        static func < (lhs: Due, rhs: Due) -> Bool {
            lhs.first != rhs.first ? lhs.first : (lhs.at, lhs.id, lhs.endpoint) < (rhs.at, rhs.id, rhs.endpoint)
        }

        func isDue(_ now: Double) -> Bool { first || Double(at) <= now }
    }

    struct ChainKey: Hashable {
        let chain: Substring
        let endpoint: Int
    }

    var entries: [String: ScheduledEvent] = [:]
    /// For each order and endpoint, the pending events that still owe it a delivery, oldest revision first: only
    /// the first may be attempted there.
    var chains: [ChainKey: [String]] = [:]
    /// Heads of their chains, by due time (entries made stale by a change are skipped when they come up).
    var heap = Heap<Due>()
    /// Per endpoint: fell due, waiting for a free place, in the order they fell due.
    var waiting: [Deque<Due>]
    var inFlight: [Int]
    var inFlightTotal = 0
    /// Pending events with nothing to attempt, for the delivering courier to file.
    var toFile: Set<String> = []
    /// A file said otherwise than the schedule: list `pending` at the next pass.
    var needsListing = false

    init(endpoints: Int) {
        waiting = Array(repeating: Deque(), count: endpoints)
        inFlight = Array(repeating: 0, count: endpoints)
    }

    var oldestCreatedAt: Int64? { entries.values.lazy.filter { !$0.damaged }.map(\.createdAt).min() }

    /// Puts the event in (replacing what was known of it).
    mutating func install(_ entry: ScheduledEvent) {
        let previous = entries[entry.id]
        if previous != nil { leaveChains(entry.id) }
        var entry = entry
        entry.generation = (previous?.generation ?? 0) + 1
        entry.inFlight = previous?.inFlight ?? []
        entries[entry.id] = entry
        let chain = ScheduledEvent.chain(of: entry.id)
        let endpoints = entry.damaged ? Array(waiting.indices) : Array(entry.due.keys)
        for endpoint in endpoints {
            let key = ChainKey(chain: chain, endpoint: endpoint)
            var ids = chains[key] ?? []
            // New events are the order's latest revision: almost always an append.
            if let last = ids.last, last > entry.id {
                ids.insert(entry.id, at: ids.firstIndex { $0 > entry.id }!)
            } else {
                ids.append(entry.id)
            }
            chains[key] = ids
        }
        reschedule(entry.id)
    }

    mutating func remove(_ id: String) {
        guard entries[id] != nil else { return }
        leaveChains(id)
        entries[id] = nil
        toFile.remove(id)
    }

    /// Takes the event out of its chains; the next event of each becomes its head, and is scheduled.
    private mutating func leaveChains(_ id: String) {
        let chain = ScheduledEvent.chain(of: id)
        for endpoint in waiting.indices {
            let key = ChainKey(chain: chain, endpoint: endpoint)
            guard var ids = chains[key], let position = ids.firstIndex(of: id) else { continue }
            ids.remove(at: position)
            chains[key] = ids.isEmpty ? nil : ids
            if position == 0, let head = ids.first { schedule(head, endpoint) }
        }
    }

    /// Schedules each delivery of the event that heads its chain.
    mutating func reschedule(_ id: String) {
        guard let entry = entries[id] else { return }
        for endpoint in entry.due.keys { schedule(id, endpoint) }
    }

    private mutating func schedule(_ id: String, _ endpoint: Int) {
        guard let entry = entries[id], !entry.damaged, let at = entry.due[endpoint], !entry.inFlight.contains(endpoint),
            chains[ChainKey(chain: ScheduledEvent.chain(of: id), endpoint: endpoint)]?.first == id
        else { return }
        heap.insert(Due(first: !entry.attempted, at: at, id: id, endpoint: endpoint, generation: entry.generation))
    }

    private func isCurrent(_ due: Due) -> Bool {
        guard let entry = entries[due.id] else { return false }
        return entry.generation == due.generation && !entry.damaged && entry.due[due.endpoint] == due.at
            && !entry.inFlight.contains(due.endpoint)
            && chains[ChainKey(chain: ScheduledEvent.chain(of: due.id), endpoint: due.endpoint)]?.first == due.id
    }

    /// The deliveries to attempt now, marked in flight: those due by `now` at an endpoint with a free place.
    mutating func takeDue(now: Double, limit: Int) -> [(String, Int)] {
        while let first = heap.min, first.isDue(now) {
            let due = heap.removeMin()
            if isCurrent(due) { waiting[due.endpoint].append(due) }
        }
        var starts: [(String, Int)] = []
        for endpoint in waiting.indices {
            while inFlight[endpoint] < limit, let due = waiting[endpoint].popFirst() {
                guard isCurrent(due) else { continue }
                entries[due.id]!.inFlight.insert(endpoint)
                inFlight[endpoint] += 1
                inFlightTotal += 1
                starts.append((due.id, endpoint))
            }
        }
        return starts
    }

    mutating func endAttempt(_ id: String, _ endpoint: Int) {
        inFlight[endpoint] -= 1
        inFlightTotal -= 1
        if entries[id] != nil {
            entries[id]!.inFlight.remove(endpoint)
            entries[id]!.generation += 1
            reschedule(id)
        }
    }

    /// When the earliest delivery not started yet falls due (those waiting for a place start when one ends).
    mutating func nextDue() -> Double? {
        while let first = heap.min, !isCurrent(first) { heap.removeMin() }
        return heap.min.map { Double($0.at) }
    }
}
