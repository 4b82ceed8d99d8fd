import Foundation
import Logging
import Payments
import Support

/// A fault a test asks MBANKING to play on its next calls, so that Cross's client is tested against what a
/// real network and a real TMoney do: a revoked token, a crash, a call that never ends, an answer lost after
/// the money moved.
public enum MBankingFault: String, Sendable, Equatable, CaseIterable {
    /// 401 code 4010, as if the token had been revoked.
    case unauthorized
    /// 500 with an HTML body, as a gateway in front of a crashed TMoney answers.
    case serverError = "server_error"
    /// Holds the call `hold_seconds`, then 504, having done nothing.
    case timeout
    /// Does the call for real (the money moves), then holds it and answers 504.
    case lostAnswer = "lost_answer"
}

/// Which calls a fault waits for.
public enum MBankingCall: String, Sendable, Equatable, CaseIterable {
    case login, debit, check, credit, any
}

extension MBankingCall: FaultCall {}

/// A fault waiting for MBANKING's calls.
public typealias QueuedFault = FaultQueue<MBankingFault, MBankingCall>.Entry

/// What a shopper does with a prompt.
public enum PromptAction: Sendable, Equatable {
    case approve(pin: String)
    case decline
}

/// What the shopper's phone shows once a prompt was answered.
public enum PromptResult: Sendable, Equatable {
    /// Debited; the account's new balance.
    case paid(balance: Int64)
    case declined(balance: Int64)
    /// The prompt stays open for another try.
    case wrongPIN(attemptsLeft: Int)
    /// The third wrong PIN in a row (or an account blocked meanwhile): the prompt ended ECHEC.
    case blocked
    case balanceShort(balance: Int64)
    /// The prompt was past its lifetime: it ended ECHEC, unanswered.
    case expired

    /// `statutRequete` once this is the answer.
    var status: MBankingWire.Status {
        switch self {
        case .paid: .success
        case .wrongPIN: .pending
        default: .failure
        }
    }
}

/// How a prompt ended, whichever operator's it was; each wire says it in its own words.
enum PromptEnding: Sendable, Equatable {
    case succeeded, declined, blocked, blockedByPIN, balanceShort, unanswered, unknownClient
}

/// The answer to a debit or a credit: the request as recorded (the first time, or now), or an idRequete this
/// partner already used for a request of the other kind.
public enum MoneyReply: Sendable, Equatable {
    case answered(MBankingRequest)
    case reusedForOtherKind
}

/// TMoney MBANKING as a partner's server meets it: a JWT at login; a debit that puts a USSD prompt on the
/// shopper's phone and ends with a callback; check-transaction; credits from the partner's own account. Every
/// change goes through `changeSending`, so that it is saved before it counts and its callback goes out after.
extension TMoneySandbox {
    // MARK: - Tokens

    /// `POST /login`: a token for a partner's user and password, else nil. No state changes: a token is
    /// proven by its signature alone.
    func login(_ login: MBankingWire.Login) -> String? {
        guard let mbanking = configuration.mbanking else { return nil }
        let partner = mbanking.partner(user: login.user)
        // Compared even for an unknown user, so that the time says nothing of which users exist.
        let matches = ConstantTime.equal(login.password, partner?.password ?? "\u{0}no partner\u{0}")
        guard let partner, matches else {
            logger.warning("mbanking login refused: wrong user or password", metadata: ["user": "\(login.user.prefix(64))"])
            return nil
        }
        let now = clock().seconds
        let token = MBankingToken(subject: partner.user, issuedAt: now, expiresAt: now + mbanking.tokenLifetimeSeconds, id: SecureRandom.hex(bytes: 16))
            .signed(with: tokenKey(mbanking))
        logger.info("mbanking token issued", metadata: [
            "partner": "\(partner.id)", "token": "\(MBankingToken.redacted(token))", "expires": "\(Timestamp(seconds: now + mbanking.tokenLifetimeSeconds).iso8601)",
        ])
        return token
    }

    /// The partner whose valid token the `Authorization` header carries (`Bearer <token>` or the bare token).
    func authenticate(_ authorization: String?) -> MBankingConfiguration.Partner? {
        guard let mbanking = configuration.mbanking else { return nil }
        guard let text = MBankingToken.fromAuthorization(authorization) else {
            logger.warning("mbanking call refused: no token")
            return nil
        }
        switch MBankingToken.verify(text, secret: tokenKey(mbanking), now: clock().seconds) {
        case .failure(let rejection):
            logger.warning("mbanking call refused: \(rejection)", metadata: ["token": "\(MBankingToken.redacted(text))"])
            return nil
        case .success(let token):
            guard let partner = mbanking.partner(user: token.subject) else {
                logger.warning("mbanking call refused: no such partner user", metadata: ["token": "\(MBankingToken.redacted(text))"])
                return nil
            }
            return partner
        }
    }

    /// The key tokens are signed with now: the configured secret, then the generation after the first
    /// revocation (so that with none, a token is plain HS256 under `jwt_secret`).
    private func tokenKey(_ mbanking: MBankingConfiguration) -> [UInt8] {
        let generation = read { $0.mbanking.tokenGeneration }
        return generation == 0 ? mbanking.jwtSecret : mbanking.jwtSecret + Array(":\(generation)".utf8)
    }

    /// Revokes every token issued so far: later calls with one answer 401 code 4010 until the partner logs in
    /// again. Saved, so that a restart does not bring them back.
    func revokeTokens() throws(Failure) {
        try change { state, _ throws(Failure) in
            state.mbanking.tokenGeneration += 1
            logger.info("mbanking tokens revoked", metadata: ["generation": "\(state.mbanking.tokenGeneration)"])
            return ((), [])
        }
    }

    // MARK: - Faults

    /// Queues `fault` for the next `count` calls of kind `on`; they are played in the order queued.
    func queueFault(_ fault: MBankingFault, on: MBankingCall, count: Int) -> [QueuedFault] {
        faults.add(fault, on: on, count: count, logger: logger)
    }

    func queuedFaults() -> [QueuedFault] { faults.entries }

    func clearFaults() { faults.clear(logger: logger) }

    /// The fault this call plays, if one waits for it: used up by the call.
    func takeFault(for call: MBankingCall) -> MBankingFault? { faults.take(for: call) }

    // MARK: - Debit

    /// `POST /debit`: a prompt on the shopper's phone, or why not. The same idRequete again answers as the
    /// first time and opens nothing.
    func debit(_ money: MBankingWire.MoneyRequest, partner: MBankingConfiguration.Partner) throws(Failure) -> MoneyReply {
        let lifetime = configuration.mbanking?.promptLifetimeSeconds ?? 120
        return try changeSending { state, now throws(Failure) in
            let key = MBankingRequest.key(partner: partner.id, idRequete: money.idRequete)
            if let existing = state.mbanking.requests[key] {
                return (repeated(existing, as: .debit), Outbound())
            }
            let phone = money.phone.national
            let answer: WireAnswer
            var promptID: String?
            if configuration.account(phone) == nil {
                answer = WireAnswer(code: MBankingWire.unknownClient, message: MBankingWire.unknownClientMessage)
            } else if state.accounts[phone]?.blocked == true {
                answer = WireAnswer(code: MBankingWire.clientBlocked, message: MBankingWire.clientBlockedMessage)
            } else {
                answer = WireAnswer(code: MBankingWire.accepted, message: MBankingWire.debitPendingMessage)
                let id = newPromptID(state)
                promptID = id
                state.mbanking.prompts[id] = Prompt(
                    id: id, partnerID: partner.id, idRequete: money.idRequete, phone: phone, amount: money.amount,
                    refCommande: money.refCommande, openedAt: now, expiresAt: now.adding(seconds: lifetime), callback: partner.callback)
            }
            let pending = promptID != nil
            let request = MBankingRequest(
                partnerID: partner.id, idRequete: money.idRequete, kind: .debit, phone: phone, amount: money.amount,
                refCommande: money.refCommande, dateHeureRequete: money.dateHeureRequete, description: money.description,
                receivedAt: now, refTmoney: MBankingWire.newReference(), answer: answer, status: pending ? .pending : .failure,
                code: answer.code, message: answer.message, finishedAt: pending ? nil : now, promptID: promptID)
            state.mbanking.requests[key] = request
            state.prune(at: now)
            logger.info(pending ? "mbanking debit: prompt opened" : "mbanking debit refused", metadata: [
                "partner": "\(partner.id)", "idRequete": "\(money.idRequete)", "phone": "\(phone)", "amount": "\(money.amount)",
                "ref": "\(money.refCommande)", "code": "\(answer.code)",
            ])
            return (.answered(request), Outbound())
        }
    }

    /// The first answer again, for an idRequete this partner already sent.
    private func repeated(_ existing: MBankingRequest, as kind: MBankingWire.Kind) -> MoneyReply {
        logger.info("mbanking request repeated: first answer given again", metadata: [
            "partner": "\(existing.partnerID)", "idRequete": "\(existing.idRequete)", "type": "\(kind.rawValue)",
            "first_type": "\(existing.kind.rawValue)",
        ])
        return existing.kind == kind ? .answered(existing) : .reusedForOtherKind
    }

    // MARK: - Prompts

    /// The prompts open on `phone` (8 digits), MBANKING's and Flooz's, oldest first; those past their lifetime
    /// are left to the sweep.
    func openPrompts(phone: String) -> [Prompt] {
        let now = clock()
        return read { state in
            (Array(state.mbanking.prompts.values) + Array(state.flooz.prompts.values)).filter { $0.phone == phone && now < $0.expiresAt }
                .sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
        }
    }

    func prompt(_ id: String) -> Prompt? { read { $0.mbanking.prompts[id] ?? $0.flooz.prompts[id] } }

    /// A new prompt id, unused by either operator.
    func newPromptID(_ state: SandboxState) -> String {
        var id = SecureRandom.hex(bytes: 16)
        while state.mbanking.prompts[id] != nil || state.flooz.prompts[id] != nil { id = SecureRandom.hex(bytes: 16) }
        return id
    }

    /// The name the shopper's prompt gives the merchant.
    func merchantName(_ prompt: Prompt) -> String {
        switch prompt.network {
        case .tmoney: configuration.mbanking?.partner(id: prompt.partnerID)?.name ?? prompt.partnerID
        case .flooz: configuration.flooz?.partner(user: prompt.partnerID)?.name ?? prompt.partnerID
        }
    }

    /// The shopper's answer to prompt `id`, of either operator. `callback`, when given, replaces the partner's
    /// fate for this prompt's callback. Throws `unknownPrompt` for a prompt that is not open (never was, or
    /// already ended).
    func answerPrompt(_ id: String, _ action: PromptAction, callback: CallbackFate? = nil) throws(Failure) -> PromptResult {
        try changeSending { state, now throws(Failure) in
            guard let prompt = state.mbanking.prompts[id] ?? state.flooz.prompts[id] else { throw .unknownPrompt }
            let (result, ending) = settle(prompt, action, state: &state, at: now)
            guard let ending else { return (result, Outbound()) }
            let plan = finish(prompt, ending, fate: callback ?? prompt.callback, state: &state, at: now)
            return (result, Outbound(callbacks: plan.map { [$0] } ?? []))
        }
    }

    /// What the answer does to the shopper's account, whichever operator asked: the same PIN, block and
    /// balance rules, the same wrong-PIN count as TMoney Online's login. The shopper is debited here; the
    /// partner is credited by the operator's `finish`. Nil ending: the prompt stays open.
    private func settle(
        _ prompt: Prompt, _ action: PromptAction, state: inout SandboxState, at now: Timestamp
    ) -> (PromptResult, PromptEnding?) {
        guard now < prompt.expiresAt else { return (.expired, .unanswered) }
        guard let account = configuration.account(prompt.phone) else { return (.blocked, .unknownClient) }
        var record = state.accounts[prompt.phone] ?? AccountState(balance: account.openingBalance)
        let metadata: Logger.Metadata = [
            "operator": "\(prompt.network.rawValue)", "partner": "\(prompt.partnerID)", "reference": "\(prompt.idRequete)", "phone": "\(prompt.phone)",
        ]
        switch action {
        case .decline:
            return (.declined(balance: record.balance), .declined)
        case .approve where record.blocked:
            logger.warning("prompt refused: account blocked", metadata: metadata)
            return (.blocked, .blocked)
        case .approve(let pin) where ConstantTime.equal(pin, account.pin):
            record.failedLogins = 0
            guard record.balance >= prompt.amount else {
                state.accounts[prompt.phone] = record
                return (.balanceShort(balance: record.balance), .balanceShort)
            }
            record.balance -= prompt.amount
            state.accounts[prompt.phone] = record
            logger.info("account debited", metadata: metadata.merging(["amount": "\(prompt.amount)", "balance": "\(record.balance)"]) { $1 })
            return (.paid(balance: record.balance), .succeeded)
        case .approve:
            // The same count as TMoney Online's login: three wrong PINs in a row, on any channel, block.
            record.failedLogins += 1
            record.blocked = record.failedLogins >= AccountState.loginAttempts
            state.accounts[prompt.phone] = record
            if record.blocked {
                logger.warning("account blocked: third wrong PIN in a row", metadata: metadata)
                return (.blocked, .blockedByPIN)
            }
            logger.info("prompt: wrong PIN", metadata: metadata.merging(["attempt": "\(record.failedLogins)"]) { $1 })
            return (.wrongPIN(attemptsLeft: AccountState.loginAttempts - record.failedLogins), nil)
        }
    }

    /// Ends, failed, the prompts of either operator nobody answered within their lifetime, and sends their
    /// callbacks. Returns how many it ended. Runs in the same sweep as `expireAbandonedPayments`.
    @discardableResult
    public func expireUnansweredPrompts() throws(Failure) -> Int {
        try changeSending { state, now throws(Failure) in
            var outbound = Outbound()
            let expired = (Array(state.mbanking.prompts.values) + Array(state.flooz.prompts.values)).filter { now >= $0.expiresAt }
                .sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
            for prompt in expired {
                if let plan = finish(prompt, .unanswered, fate: prompt.callback, state: &state, at: now) {
                    outbound.callbacks.append(plan)
                }
            }
            return (expired.count, outbound)
        }
    }

    /// Closes the prompt by its operator's rules.
    private func finish(_ prompt: Prompt, _ ending: PromptEnding, fate: CallbackFate, state: inout SandboxState, at now: Timestamp) -> CallbackPlan? {
        switch prompt.network {
        case .tmoney: finishDebit(prompt, ending, fate: fate, state: &state, at: now)
        case .flooz: finishFloozDebit(prompt, ending, fate: fate, state: &state, at: now)
        }
    }

    /// Closes the prompt, credits the partner on success, records how the debit ended, and works out its
    /// callback (nil when dropped).
    private func finishDebit(
        _ prompt: Prompt, _ ending: PromptEnding, fate: CallbackFate, state: inout SandboxState, at now: Timestamp
    ) -> CallbackPlan? {
        state.mbanking.prompts[prompt.id] = nil
        guard var request = state.mbanking.requests[prompt.requestKey] else { return nil }
        let status: MBankingWire.Status = ending == .succeeded ? .success : .failure
        if ending == .succeeded { state.mbanking.partnerBalances[prompt.partnerID, default: 0] += prompt.amount }
        request.status = status
        request.code = status == .success ? MBankingWire.debitSucceeded : MBankingWire.debitFailed
        request.message = MBankingWire.message(ending)
        request.finishedAt = now
        request.promptID = nil
        state.mbanking.requests[request.key] = request
        logger.info("mbanking debit finished", metadata: [
            "partner": "\(request.partnerID)", "idRequete": "\(request.idRequete)", "statut": "\(status.rawValue)",
            "reason": "\(request.message)", "refTmoney": "\(request.refTmoney)", "callback": "\(fate)",
            "partner_balance": "\(state.mbanking.partnerBalances[prompt.partnerID] ?? 0)",
        ])
        guard let partner = configuration.mbanking?.partner(id: request.partnerID) else { return nil }
        let body = MBankingWire.callback(
            request, partnerName: partner.name, partnerBalance: state.mbanking.partnerBalances[partner.id] ?? 0)
        let plan = CallbackPlan.make(
            partnerID: partner.id, idRequete: request.idRequete, status: status.rawValue, url: partner.callbackURL, body: body, fate: fate)
        if plan == nil {
            logger.info("mbanking callback dropped: fate drop", metadata: ["partner": "\(partner.id)", "idRequete": "\(request.idRequete)"])
        }
        return plan
    }

    // MARK: - Check-transaction and credit

    /// What this partner's request `idRequete` became; nil when the partner never sent it (or it was forgotten).
    func request(partner: String, idRequete: String) -> MBankingRequest? {
        read { $0.mbanking.requests[MBankingRequest.key(partner: partner, idRequete: idRequete)] }
    }

    /// A credit from the partner's TMoney account to the shopper's (v2's body, or v1's query read into it):
    /// made at once, or refused for an unknown number or a partner balance short. Never made twice for one
    /// idRequete.
    func credit(_ money: MBankingWire.MoneyRequest, partner: MBankingConfiguration.Partner, via form: String) throws(Failure) -> MoneyReply {
        try changeSending { state, now throws(Failure) in
            let key = MBankingRequest.key(partner: partner.id, idRequete: money.idRequete)
            if let existing = state.mbanking.requests[key] {
                return (repeated(existing, as: .credit), Outbound())
            }
            let phone = money.phone.national
            let partnerBalance = state.mbanking.partnerBalances[partner.id] ?? 0
            let answer: WireAnswer
            if let account = configuration.account(phone) {
                if partnerBalance < money.amount {
                    answer = WireAnswer(code: MBankingWire.partnerBalanceShort, message: MBankingWire.partnerBalanceShortMessage)
                } else {
                    answer = WireAnswer(code: MBankingWire.accepted, message: MBankingWire.creditMessage)
                    state.mbanking.partnerBalances[partner.id] = partnerBalance - money.amount
                    state.accounts[phone, default: AccountState(balance: account.openingBalance)].balance += money.amount
                }
            } else {
                answer = WireAnswer(code: MBankingWire.unknownClient, message: MBankingWire.unknownClientMessage)
            }
            let success = answer.code == MBankingWire.accepted
            let request = MBankingRequest(
                partnerID: partner.id, idRequete: money.idRequete, kind: .credit, phone: phone, amount: money.amount,
                refCommande: money.refCommande, dateHeureRequete: money.dateHeureRequete, description: money.description,
                receivedAt: now, refTmoney: MBankingWire.newReference(), answer: answer, status: success ? .success : .failure,
                code: answer.code, message: answer.message, finishedAt: now, promptID: nil)
            state.mbanking.requests[key] = request
            state.prune(at: now)
            logger.info(success ? "mbanking credit made" : "mbanking credit refused", metadata: [
                "partner": "\(partner.id)", "idRequete": "\(money.idRequete)", "phone": "\(phone)", "amount": "\(money.amount)",
                "code": "\(answer.code)", "via": "\(form)", "partner_balance": "\(state.mbanking.partnerBalances[partner.id] ?? 0)",
            ])
            return (.answered(request), Outbound())
        }
    }
}
