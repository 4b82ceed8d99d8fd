import FastCGI
import Foundation
import Logging
import Payments
import WebPages
import Support
import TMoneyOnline

/// TMoney Online as a merchant and its shoppers meet it: session ids for merchants' servers, payments that
/// open with an order form and end with a notification. One instance serves every worker thread: its state
/// sits behind one lock, and every change is saved before it counts.
public final class TMoneySandbox: Sendable {
    public let configuration: SandboxConfiguration
    let words: StringTable
    let logger: Logger
    private let state: Lock<SandboxState>
    private let file: StateFile
    private let dispatcher: any NotificationDispatcher
    private let callbacks: any CallbackDispatcher
    let clock: @Sendable () -> Timestamp
    /// Faults a test queued for the next MBANKING calls. Not in the state file: they are the test's, not TMoney's.
    let faults = FaultQueue<MBankingFault, MBankingCall>(name: "mbanking")
    /// Faults a test queued for the next Flooz calls.
    let floozFaults = FaultQueue<FloozFault, FloozCall>(name: "flooz")
    /// How the `timeout` and `lost_answer` faults hold a call; tests record the hold instead of waiting.
    let hold: @Sendable (Double) -> Void

    /// Loads the state file (a fresh state when there is none). `clock` is the time everything is measured
    /// by: tests move it instead of waiting. `callbacks` carries MBANKING's callbacks as `dispatcher` carries
    /// TMoney Online's notifications.
    public init(
        configuration: SandboxConfiguration, stateFile: StateFile, words: StringTable, dispatcher: any NotificationDispatcher,
        callbacks: any CallbackDispatcher, logger: Logger = Logger(label: "sandbox"),
        clock: @escaping @Sendable () -> Timestamp = { .now() },
        hold: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }
    ) throws(StateFile.Failure) {
        self.configuration = configuration
        self.words = words
        self.logger = logger
        self.file = stateFile
        self.dispatcher = dispatcher
        self.callbacks = callbacks
        self.clock = clock
        self.hold = hold
        state = Lock(try stateFile.load(configuration))
    }

    public enum Failure: Error, Sendable, Equatable {
        /// The order form names a merchant TMoney does not know: there is nobody to notify or send back to.
        case unknownMerchant(String)
        /// No payment has this key: a forged or stale page.
        case unknownPayment
        /// No MBANKING prompt with this id is open: it never was, or it has ended.
        case unknownPrompt
        /// The state file cannot be written: nothing was changed.
        case storage(String)
    }

    /// A copy of the state, for the sandbox's own pages.
    public func snapshot() -> SandboxState { state.withLock { $0 } }

    /// A look at the state under the lock, without copying all of it.
    func read<T>(_ body: (SandboxState) -> T) -> T { state.withLock { body($0) } }

    // MARK: - Session ids

    public enum SessionReply: Sendable, Equatable {
        case issued(String)
        /// `NOK:<code>`: UNKNOWN_MERCHANT, UNAUTHORIZED_ADDRESS.
        case refused(code: String)

        /// The body TMoney answers with.
        public var text: String {
            switch self {
            case .issued(let id): "OK:" + id
            case .refused(let code): "NOK:" + code
            }
        }
    }

    /// `GET online.php?merchantid=…`: a new session id of 32 random digits for a known merchant's server.
    public func issueSession(merchantID: String, remoteAddress: String) throws(Failure) -> SessionReply {
        guard let merchant = configuration.merchant(merchantID) else {
            logger.warning("session refused: unknown merchant", metadata: ["merchant": "\(merchantID.prefix(32))", "remote": "\(remoteAddress)"])
            return .refused(code: "UNKNOWN_MERCHANT")
        }
        guard merchant.allowedAddresses.allows(remoteAddress) else {
            logger.warning("session refused: address not allowed", metadata: ["merchant": "\(merchant.id)", "remote": "\(remoteAddress)"])
            return .refused(code: "UNAUTHORIZED_ADDRESS")
        }
        return try change { state, now throws(Failure) in
            state.prune(at: now)
            var id = SecureRandom.digits(32)
            while state.sessions[id] != nil { id = SecureRandom.digits(32) }
            let expiresAt = now.adding(seconds: configuration.sessionLifetimeSeconds)
            state.sessions[id] = IssuedSession(merchantID: merchant.id, issuedAt: now, expiresAt: expiresAt, usedAt: nil)
            logger.info("session issued", metadata: [
                "merchant": "\(merchant.id)", "session": "\(TMoneyOnline.SessionID(id)?.redacted ?? "")", "expires": "\(expiresAt.iso8601)",
            ])
            return (.issued(id), [])
        }
    }

    // MARK: - Payments

    /// `POST online.php`: uses up the form's session id and opens the payment page. A session id that is
    /// unknown, expired, already used or another merchant's ends the payment at once with EXPIRED_SESSION.
    public func open(_ form: OrderForm) throws(Failure) -> PaymentStep {
        guard let merchant = configuration.merchant(form.merchantID) else { throw .unknownMerchant(form.merchantID) }
        return try change { state, now throws(Failure) in
            let refusal: String? = switch state.sessions[form.sessionID] {
            case nil: "unknown or expired session id"
            case let session? where session.merchantID != merchant.id: "session id of another merchant"
            case let session? where session.usedAt != nil: "session id already used"
            case let session? where now >= session.expiresAt: "session id expired"
            default: nil
            }
            if refusal == nil { state.sessions[form.sessionID]?.usedAt = now }
            var transaction = Transaction(
                id: SecureRandom.hex(bytes: 16), payid: SecureRandom.digits(12), merchantID: merchant.id,
                order: form.order(for: merchant), scenario: form.scenario ?? merchant.scenario, openedAt: now,
                expiresAt: now.adding(seconds: configuration.paymentLifetimeSeconds), stage: .credentials)
            logger.info("payment opened", metadata: [
                "ref": "\(transaction.order.purchaseref)", "merchant": "\(merchant.id)", "payid": "\(transaction.payid)",
                "amount": "\(transaction.order.amount.francs)", "session": "\(TMoneyOnline.SessionID(form.sessionID)?.redacted ?? "(not a session id)")",
                "scenario": "\(transaction.scenario == Scenario() ? "normal" : transaction.scenario.description)",
            ])
            var plans: [NotificationPlan] = []
            if let refusal, let plan = finish(&transaction, .expiredSession, reason: refusal, at: now) { plans.append(plan) }
            state.transactions[transaction.id] = transaction
            return (refusal == nil ? .credentials(transaction, notice: nil) : .backToMerchant(transaction), plans)
        }
    }

    /// Ends, with EXPIRED_SESSION, the payments whose shoppers left their page open past its lifetime, as
    /// TMoney notifies every payment a shopper started. Also forgets what is too old to keep. Returns how
    /// many payments it ended.
    @discardableResult
    public func expireAbandonedPayments() throws(Failure) -> Int {
        try change { state, now throws(Failure) in
            var plans: [NotificationPlan] = []
            for (key, var transaction) in state.transactions where !transaction.isFinished && now >= transaction.expiresAt {
                if let plan = finish(&transaction, .expiredSession, reason: "the shopper left the payment page", at: now) {
                    plans.append(plan)
                }
                state.transactions[key] = transaction
            }
            state.prune(at: now)
            return (plans.count, plans)
        }
    }

    /// What a change sends once it is saved: TMoney Online's notifications and MBANKING's callbacks.
    struct Outbound {
        var notifications: [NotificationPlan] = []
        var callbacks: [CallbackPlan] = []
    }

    /// A change that sends only notifications (see `changeSending`).
    func change<Result>(
        _ body: (inout SandboxState, Timestamp) throws(Failure) -> (Result, [NotificationPlan])
    ) throws(Failure) -> Result {
        try changeSending { state, now throws(Failure) in
            let (result, plans) = try body(&state, now)
            return (result, Outbound(notifications: plans))
        }
    }

    /// Runs `body` on a copy of the state under the lock, saves the copy, and only then makes it the state:
    /// a change that cannot be saved never happened. The notifications and callbacks it produced go out after
    /// the lock is released (one sent `before_return` may take seconds, and must not hold up other shoppers).
    func changeSending<Result>(
        _ body: (inout SandboxState, Timestamp) throws(Failure) -> (Result, Outbound)
    ) throws(Failure) -> Result {
        let now = clock()
        let outcome: Result
        let plans: Outbound
        do {
            (outcome, plans) = try state.withLock { current in
                var next = current
                let result = try body(&next, now)
                if next != current {
                    do {
                        try file.save(next)
                    } catch {
                        logger.error("state not saved: the change is undone", metadata: ["error": "\(error)"])
                        throw Failure.storage("\(error)")
                    }
                    current = next
                }
                return result
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .storage("\(error)")
        }
        for plan in plans.notifications { dispatcher.dispatch(plan) }
        for plan in plans.callbacks { callbacks.dispatch(plan) }
        return outcome
    }

    /// Marks the payment finished and works out its notification (nil when the scenario drops it).
    func finish(
        _ transaction: inout Transaction, _ kind: Outcome.Kind, phone: String? = nil, paymentref: String? = nil,
        reason: String, at now: Timestamp
    ) -> NotificationPlan? {
        transaction.stage = .finished(Outcome(kind: kind, at: now, phone: phone, paymentref: paymentref, reason: reason))
        var metadata: Logger.Metadata = [
            "ref": "\(transaction.order.purchaseref)", "merchant": "\(transaction.merchantID)", "payid": "\(transaction.payid)",
            "outcome": "\(kind.rawValue)", "reason": "\(reason)",
        ]
        if let phone { metadata["phone"] = "\(phone)" }
        logger.info("payment finished", metadata: metadata)
        guard let merchant = configuration.merchant(transaction.merchantID) else { return nil }
        let plan = NotificationPlan.make(for: transaction, merchant: merchant, account: phone.flatMap(configuration.account))
        if plan == nil {
            logger.info("notification dropped: scenario drop", metadata: ["ref": "\(transaction.order.purchaseref)", "payid": "\(transaction.payid)"])
        }
        return plan
    }
}
