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

/// A fault waiting for its calls.
public struct QueuedFault: Sendable, Equatable {
    public let fault: MBankingFault
    public let on: MBankingCall
    /// Matching calls it still applies to.
    public var remaining: Int
}

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
        logger.info("mbanking fault queued", metadata: ["fault": "\(fault.rawValue)", "on": "\(on.rawValue)", "count": "\(count)"])
        return faults.withLock { queue in
            queue.append(QueuedFault(fault: fault, on: on, remaining: count))
            return queue
        }
    }

    func queuedFaults() -> [QueuedFault] { faults.withLock { $0 } }

    func clearFaults() {
        faults.withLock { $0.removeAll() }
        logger.info("mbanking faults cleared")
    }

    /// The fault this call plays, if one waits for it: used up by the call.
    func takeFault(for call: MBankingCall) -> MBankingFault? {
        faults.withLock { queue in
            guard let index = queue.firstIndex(where: { $0.on == .any || $0.on == call }) else { return nil }
            queue[index].remaining -= 1
            let fault = queue[index].fault
            if queue[index].remaining <= 0 { queue.remove(at: index) }
            return fault
        }
    }

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
                var id = SecureRandom.hex(bytes: 16)
                while state.mbanking.prompts[id] != nil { id = SecureRandom.hex(bytes: 16) }
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

    /// The prompts open on `phone` (8 digits), oldest first; those past their lifetime are left to the sweep.
    func openPrompts(phone: String) -> [Prompt] {
        let now = clock()
        return read { state in
            state.mbanking.prompts.values.filter { $0.phone == phone && now < $0.expiresAt }
                .sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
        }
    }

    func prompt(_ id: String) -> Prompt? { read { $0.mbanking.prompts[id] } }

    /// The shopper's answer to prompt `id`. `callback`, when given, replaces the partner's fate for this
    /// prompt's callback. Throws `unknownPrompt` for a prompt that is not open (never was, or already ended).
    func answerPrompt(_ id: String, _ action: PromptAction, callback: CallbackFate? = nil) throws(Failure) -> PromptResult {
        try changeSending { state, now throws(Failure) in
            guard let prompt = state.mbanking.prompts[id] else { throw .unknownPrompt }
            let fate = callback ?? prompt.callback
            func end(_ status: MBankingWire.Status, _ message: String, _ result: PromptResult) -> (PromptResult, Outbound) {
                let plan = finishDebit(prompt, status, message: message, fate: fate, state: &state, at: now)
                return (result, Outbound(callbacks: plan.map { [$0] } ?? []))
            }
            guard now < prompt.expiresAt else { return end(.failure, MBankingWire.unansweredMessage, .expired) }
            guard let account = configuration.account(prompt.phone) else {
                return end(.failure, MBankingWire.unknownClientMessage, .blocked)
            }
            var record = state.accounts[prompt.phone] ?? AccountState(balance: account.openingBalance)
            let metadata: Logger.Metadata = ["partner": "\(prompt.partnerID)", "idRequete": "\(prompt.idRequete)", "phone": "\(prompt.phone)"]
            switch action {
            case .decline:
                return end(.failure, MBankingWire.declinedMessage, .declined(balance: record.balance))
            case .approve where record.blocked:
                logger.warning("mbanking prompt refused: account blocked", metadata: metadata)
                return end(.failure, MBankingWire.clientBlockedMessage, .blocked)
            case .approve(let pin) where ConstantTime.equal(pin, account.pin):
                record.failedLogins = 0
                guard record.balance >= prompt.amount else {
                    state.accounts[prompt.phone] = record
                    return end(.failure, MBankingWire.clientBalanceShortMessage, .balanceShort(balance: record.balance))
                }
                record.balance -= prompt.amount
                state.accounts[prompt.phone] = record
                state.mbanking.partnerBalances[prompt.partnerID, default: 0] += prompt.amount
                logger.info("account debited", metadata: metadata.merging([
                    "amount": "\(prompt.amount)", "balance": "\(record.balance)",
                    "partner_balance": "\(state.mbanking.partnerBalances[prompt.partnerID] ?? 0)",
                ]) { $1 })
                return end(.success, MBankingWire.debitSucceededMessage, .paid(balance: record.balance))
            case .approve:
                // The same count as TMoney Online's login: three wrong PINs in a row, on any channel, block.
                record.failedLogins += 1
                record.blocked = record.failedLogins >= AccountState.loginAttempts
                state.accounts[prompt.phone] = record
                if record.blocked {
                    logger.warning("account blocked: third wrong PIN in a row", metadata: metadata)
                    return end(.failure, MBankingWire.blockedByPINMessage, .blocked)
                }
                logger.info("mbanking prompt: wrong PIN", metadata: metadata.merging(["attempt": "\(record.failedLogins)"]) { $1 })
                return (.wrongPIN(attemptsLeft: AccountState.loginAttempts - record.failedLogins), Outbound())
            }
        }
    }

    /// Ends, ECHEC, the prompts nobody answered within their lifetime, and sends their callbacks. Returns how
    /// many it ended. Runs in the same sweep as `expireAbandonedPayments`.
    @discardableResult
    public func expireUnansweredPrompts() throws(Failure) -> Int {
        try changeSending { state, now throws(Failure) in
            var outbound = Outbound()
            let expired = state.mbanking.prompts.values.filter { now >= $0.expiresAt }.sorted { $0.openedAt < $1.openedAt }
            for prompt in expired {
                if let plan = finishDebit(prompt, .failure, message: MBankingWire.unansweredMessage, fate: prompt.callback, state: &state, at: now) {
                    outbound.callbacks.append(plan)
                }
            }
            return (expired.count, outbound)
        }
    }

    /// Closes the prompt, records how the debit ended, and works out its callback (nil when dropped).
    private func finishDebit(
        _ prompt: Prompt, _ status: MBankingWire.Status, message: String, fate: CallbackFate, state: inout SandboxState, at now: Timestamp
    ) -> CallbackPlan? {
        state.mbanking.prompts[prompt.id] = nil
        guard var request = state.mbanking.requests[prompt.requestKey] else { return nil }
        request.status = status
        request.code = status == .success ? MBankingWire.debitSucceeded : MBankingWire.debitFailed
        request.message = message
        request.finishedAt = now
        request.promptID = nil
        state.mbanking.requests[request.key] = request
        logger.info("mbanking debit finished", metadata: [
            "partner": "\(request.partnerID)", "idRequete": "\(request.idRequete)", "statut": "\(status.rawValue)",
            "reason": "\(message)", "refTmoney": "\(request.refTmoney)", "callback": "\(fate)",
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
