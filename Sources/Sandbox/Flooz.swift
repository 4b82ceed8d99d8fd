import Foundation
import Logging
import Payments
import Support

/// A fault a test asks Flooz to play on its next calls.
public enum FloozFault: String, Sendable, Equatable, CaseIterable {
    /// 401 code 401, as if the key had expired.
    case expiredKey = "expired_key"
    /// 500 with an HTML body, as a gateway in front of a crashed Flooz answers.
    case serverError = "server_error"
    /// Holds the call `hold_seconds`, then 504, having done nothing.
    case timeout
}

/// Which Flooz calls a fault waits for.
public enum FloozCall: String, Sendable, Equatable, CaseIterable, FaultCall {
    case token, debit, verify, any
}

/// Flooz as a partner's server meets it: a key by index (or a header it computes itself), a debit that puts a
/// prompt on the shopper's phone and ends with a callback, verify. The prompt's end, the accounts and the
/// callbacks are MBANKING's (see `answerPrompt`); every change goes through `changeSending`.
extension TMoneySandbox {
    public enum KeyReply: Sendable, Equatable {
        case issued(key: String, index: Int64)
        /// The index is not greater than the last this partner used.
        case indexUsed
        case wrongCredentials
    }

    /// The partner whose user and password these are, compared in constant time even for an unknown user.
    private func floozPartner(user: String, password: String) -> FloozConfiguration.Partner? {
        let partner = configuration.flooz?.partner(user: user)
        let matches = ConstantTime.equal(password, partner?.password ?? "\u{0}no partner\u{0}")
        return matches ? partner : nil
    }

    // MARK: - Keys

    /// `GET /flooz/token`: a key for a partner whose index went up; the index is saved before the key counts.
    func issueFloozKey(_ request: FloozWire.TokenRequest) throws(Failure) -> KeyReply {
        guard let flooz = configuration.flooz, let partner = floozPartner(user: request.user, password: request.password) else {
            logger.warning("flooz key refused: wrong user or password", metadata: ["user": "\(request.user.prefix(64))"])
            return .wrongCredentials
        }
        return try change { state, now throws(Failure) in
            var record = state.flooz.partners[partner.user] ?? FloozState.PartnerState(balance: partner.openingBalance)
            guard request.index > record.lastIndex else {
                logger.warning("flooz key refused: index already used", metadata: [
                    "partner": "\(partner.user)", "index": "\(request.index)", "last_index": "\(record.lastIndex)",
                ])
                return (.indexUsed, [])
            }
            record.lastIndex = request.index
            state.flooz.partners[partner.user] = record
            let key = FloozWire.newKey()
            let expiresAt = now.adding(seconds: flooz.keyLifetimeSeconds)
            state.flooz.keys[FloozState.hash(key)] = FloozState.IssuedKey(partner: partner.user, expiresAt: expiresAt)
            state.prune(at: now)
            logger.info("flooz key issued", metadata: [
                "partner": "\(partner.user)", "index": "\(request.index)", "key": "\(FloozWire.redacted(key))", "expires": "\(expiresAt.iso8601)",
            ])
            return (.issued(key: key, index: request.index), [])
        }
    }

    /// The partner a call comes from: by the `Authorization` header of the header scheme, else by the body's
    /// key of the token scheme. Nil when neither is good.
    func authenticateFlooz(key: String?, authorization: String?) -> FloozConfiguration.Partner? {
        guard let flooz = configuration.flooz else { return nil }
        if let authorization, !authorization.isEmpty {
            guard let (user, password) = FloozWire.headerCredentials(authorization, key: flooz.headerKey),
                  let partner = floozPartner(user: user, password: password) else {
                logger.warning("flooz call refused: bad Authorization header", metadata: ["header": "\(FloozWire.redacted(authorization))"])
                return nil
            }
            return partner
        }
        guard let key, !key.isEmpty else {
            logger.warning("flooz call refused: no key")
            return nil
        }
        let now = clock()
        guard let issued = read({ $0.flooz.keys[FloozState.hash(key)] }), now < issued.expiresAt,
              let partner = flooz.partner(user: issued.partner) else {
            logger.warning("flooz call refused: unknown or expired key", metadata: ["key": "\(FloozWire.redacted(key))"])
            return nil
        }
        return partner
    }

    // MARK: - Debit

    public enum FloozDebitReply: Sendable, Equatable {
        case answered(FloozRequest)
        /// `partnermsisdn` is not the calling partner's number.
        case unknownMerchant
    }

    /// `POST /flooz/debit`: a prompt on the shopper's phone, or why not. The same mrchrefid again answers as the
    /// first time and opens nothing.
    func floozDebit(_ debit: FloozWire.Debit, partner: FloozConfiguration.Partner) throws(Failure) -> FloozDebitReply {
        guard debit.partnerMSISDN.international == partner.msisdn else {
            logger.warning("flooz debit refused: partnermsisdn is not the partner's", metadata: [
                "partner": "\(partner.user)", "partnermsisdn": "\(debit.partnerMSISDN.international)", "mrchrefid": "\(debit.mrchrefid)",
            ])
            return .unknownMerchant
        }
        let lifetime = configuration.flooz?.promptLifetimeSeconds ?? 120
        return try changeSending { state, now throws(Failure) in
            let key = FloozRequest.key(partner: partner.user, mrchrefid: debit.mrchrefid)
            if let existing = state.flooz.requests[key] {
                logger.info("flooz debit repeated: first answer given again", metadata: [
                    "partner": "\(partner.user)", "mrchrefid": "\(debit.mrchrefid)", "refid": "\(existing.refid)",
                ])
                return (.answered(existing), Outbound())
            }
            let phone = debit.msisdn.national
            let answer: WireAnswer
            var promptID: String?
            if configuration.account(phone) == nil {
                answer = WireAnswer(code: FloozWire.unknownNumber, message: FloozWire.unknownNumberMessage)
            } else if state.accounts[phone]?.blocked == true {
                answer = WireAnswer(code: FloozWire.blocked, message: FloozWire.blockedMessage)
            } else {
                answer = WireAnswer(code: FloozWire.accepted, message: FloozWire.debitSentMessage)
                let id = newPromptID(state)
                promptID = id
                state.flooz.prompts[id] = Prompt(
                    id: id, partnerID: partner.user, idRequete: debit.mrchrefid, phone: phone, amount: debit.amount,
                    refCommande: debit.mrchrefid, openedAt: now, expiresAt: now.adding(seconds: lifetime), callback: partner.callback,
                    network: .flooz)
            }
            let pending = promptID != nil
            let request = FloozRequest(
                partner: partner.user, mrchrefid: debit.mrchrefid, mrchname: debit.mrchname, phone: phone, amount: debit.amount,
                receivedAt: now, refid: FloozWire.newReference(), answer: answer, status: pending ? .waiting : .failure,
                message: pending ? FloozWire.waitingMessage : answer.message, finishedAt: pending ? nil : now, promptID: promptID)
            state.flooz.requests[key] = request
            state.prune(at: now)
            logger.info(pending ? "flooz debit: prompt opened" : "flooz debit refused", metadata: [
                "partner": "\(partner.user)", "mrchrefid": "\(debit.mrchrefid)", "phone": "\(phone)", "amount": "\(debit.amount)",
                "code": "\(answer.code)", "refid": "\(request.refid)",
            ])
            return (.answered(request), Outbound())
        }
    }

    /// Closes a Flooz prompt, credits the partner on success, records how the debit ended, and works out its
    /// callback (nil when dropped).
    func finishFloozDebit(
        _ prompt: Prompt, _ ending: PromptEnding, fate: CallbackFate, state: inout SandboxState, at now: Timestamp
    ) -> CallbackPlan? {
        state.flooz.prompts[prompt.id] = nil
        let key = FloozRequest.key(partner: prompt.partnerID, mrchrefid: prompt.idRequete)
        guard var request = state.flooz.requests[key] else { return nil }
        let status: FloozWire.Status = ending == .succeeded ? .success : .failure
        if ending == .succeeded {
            let opening = configuration.flooz?.partner(user: prompt.partnerID)?.openingBalance ?? 0
            state.flooz.partners[prompt.partnerID, default: FloozState.PartnerState(balance: opening)].balance += prompt.amount
        }
        request.status = status
        request.message = FloozWire.message(ending)
        request.finishedAt = now
        request.promptID = nil
        state.flooz.requests[key] = request
        logger.info("flooz debit finished", metadata: [
            "partner": "\(request.partner)", "mrchrefid": "\(request.mrchrefid)", "status": "\(status.rawValue)",
            "reason": "\(request.message)", "refid": "\(request.refid)", "callback": "\(fate)",
            "partner_balance": "\(state.flooz.partners[request.partner]?.balance ?? 0)",
        ])
        guard let partner = configuration.flooz?.partner(user: request.partner) else { return nil }
        let plan = CallbackPlan.make(
            partnerID: partner.user, idRequete: request.mrchrefid, status: status.rawValue, url: partner.callbackURL,
            body: FloozWire.callback(request), fate: fate, network: .flooz)
        if plan == nil {
            logger.info("flooz callback dropped: fate drop", metadata: ["partner": "\(partner.user)", "mrchrefid": "\(request.mrchrefid)"])
        }
        return plan
    }

    // MARK: - Verify

    /// What this partner's debit `mrchrefid` became; nil when the partner never sent it (or it was forgotten).
    func floozRequest(partner: String, mrchrefid: String) -> FloozRequest? {
        read { $0.flooz.requests[FloozRequest.key(partner: partner, mrchrefid: mrchrefid)] }
    }

    // MARK: - Faults

    func queueFloozFault(_ fault: FloozFault, on: FloozCall, count: Int) -> [FaultQueue<FloozFault, FloozCall>.Entry] {
        floozFaults.add(fault, on: on, count: count, logger: logger)
    }
}
