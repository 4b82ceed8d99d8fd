import Logging
import Payments
import Support

/// What the shopper sees next.
public enum PaymentStep: Sendable, Equatable {
    /// Phone number and PIN, perhaps with why the last try failed.
    case credentials(Transaction, notice: Notice?)
    /// The one-time code sent by SMS.
    case code(Transaction, notice: Notice?)
    /// Paid: the page whose "Confirmer" button leads back to the merchant's accept page.
    case confirmation(Transaction)
    /// Over: back to the merchant's page for the outcome.
    case backToMerchant(Transaction)

    public enum Notice: Sendable, Equatable {
        case missingCredentials
        case wrongCredentials(attemptsLeft: Int)
        case missingCode
    }
}

/// What the shopper did on a step's form.
public enum ShopperAction: Sendable, Equatable {
    case login(phone: String, pin: String)
    case code(String)
    case cancel
    case confirm
}

/// The shopper's journey on TMoney's page, as the seed tells it: phone and PIN (three tries, the third
/// wrong one blocks the account), a one-time code by SMS (a wrong one cancels), then the payment (refused
/// when the balance is short), its confirmation, and back to the merchant. "Annuler" works at every step.
extension TMoneySandbox {
    /// Moves the payment `key` (the hidden field of the step's form) on with what the shopper did. A payment
    /// already over answers as it did, without a second notification.
    public func advance(_ key: String, _ action: ShopperAction) throws(Failure) -> PaymentStep {
        try change { state, now throws(Failure) in
            guard var transaction = state.transactions[key] else { throw .unknownPayment }
            var plan: NotificationPlan?
            let step: PaymentStep
            if !transaction.isFinished && now >= transaction.expiresAt {
                plan = finish(&transaction, .expiredSession, phone: transaction.authenticatedPhone, reason: "payment page expired", at: now)
                step = .backToMerchant(transaction)
            } else {
                switch (transaction.stage, action) {
                case (.finished(let outcome), _):
                    // A second click, a reload: the same answer as before, and no second notification.
                    step = outcome.kind == .paid && action != .confirm ? .confirmation(transaction) : .backToMerchant(transaction)
                case (_, .cancel):
                    plan = finish(&transaction, .cancelled, phone: transaction.authenticatedPhone, reason: "cancelled by the shopper", at: now)
                    step = .backToMerchant(transaction)
                case (.credentials, .login(let phone, let pin)):
                    (step, plan) = login(&transaction, phone: phone, pin: pin, state: &state, at: now)
                case (.code(let phone, let code), .code(let entered)):
                    (step, plan) = checkCode(&transaction, phone: phone, code: code, entered: entered, state: &state, at: now)
                case (.credentials, _):
                    // A form from another step (the back button, a second tab): show where the payment is.
                    step = .credentials(transaction, notice: nil)
                case (.code, _):
                    step = .code(transaction, notice: nil)
                }
            }
            state.transactions[key] = transaction
            return (step, plan.map { [$0] } ?? [])
        }
    }

    private func login(
        _ transaction: inout Transaction, phone typed: String, pin: String, state: inout SandboxState, at now: Timestamp
    ) -> (PaymentStep, NotificationPlan?) {
        // A number the merchant sent cannot be changed, whatever the browser posts.
        let entered = transaction.order.phone ?? typed
        guard !entered.allSatisfy(\.isWhitespace), !pin.isEmpty else {
            return (.credentials(transaction, notice: .missingCredentials), nil)
        }
        let account = PhoneNumber(entered).flatMap { configuration.account($0.national) }
        var metadata: Logger.Metadata = [
            "ref": "\(transaction.order.purchaseref)", "payid": "\(transaction.payid)",
            "phone": "\(account?.phone ?? "unknown number")",
        ]
        if let account, state.accounts[account.phone]?.blocked == true {
            logger.warning("login refused: account blocked", metadata: metadata)
            let plan = finish(&transaction, .authenticationFailed, reason: "account blocked", at: now)
            return (.backToMerchant(transaction), plan)
        }
        if let account, pin == account.pin {
            state.accounts[account.phone, default: AccountState(balance: account.openingBalance)].failedLogins = 0
            let code = SecureRandom.digits(6)
            transaction.stage = .code(phone: account.phone, code: code)
            let text = words.word("sms_code", transaction.order.language, ["code": code, "brand": transaction.order.brand])
            send(SMS(phone: account.phone, text: text, code: code, sentAt: now, merchantID: transaction.merchantID,
                     purchaseref: transaction.order.purchaseref), to: &state)
            return (.code(transaction, notice: nil), nil)
        }
        transaction.failedLogins += 1
        var accountFailures = 0
        if let account {
            var record = state.accounts[account.phone, default: AccountState(balance: account.openingBalance)]
            record.failedLogins += 1
            record.blocked = record.failedLogins >= AccountState.loginAttempts
            state.accounts[account.phone] = record
            accountFailures = record.failedLogins
            if record.blocked {
                logger.warning("account blocked: third wrong PIN in a row", metadata: metadata)
                let plan = finish(&transaction, .authenticationFailed, reason: "account blocked after 3 wrong PINs", at: now)
                return (.backToMerchant(transaction), plan)
            }
        }
        metadata["attempt"] = "\(transaction.failedLogins)"
        logger.info("login failed: wrong phone number or PIN", metadata: metadata)
        let used = max(transaction.failedLogins, accountFailures)
        guard used < AccountState.loginAttempts else {
            let plan = finish(&transaction, .authenticationFailed, reason: "3 wrong phone numbers or PINs", at: now)
            return (.backToMerchant(transaction), plan)
        }
        return (.credentials(transaction, notice: .wrongCredentials(attemptsLeft: AccountState.loginAttempts - used)), nil)
    }

    private func checkCode(
        _ transaction: inout Transaction, phone: String, code: String, entered: String, state: inout SandboxState,
        at now: Timestamp
    ) -> (PaymentStep, NotificationPlan?) {
        let entered = String(entered.filter { !$0.isWhitespace })
        guard !entered.isEmpty else { return (.code(transaction, notice: .missingCode), nil) }
        guard entered == code else {
            // The seed: a wrong SMS code sends the shopper back with a cancel error.
            let plan = finish(&transaction, .cancelled, phone: phone, reason: "wrong SMS code", at: now)
            return (.backToMerchant(transaction), plan)
        }
        guard let account = configuration.account(phone), var record = state.accounts[phone] else {
            let plan = finish(&transaction, .paymentFailed, phone: phone, reason: "account no longer exists", at: now)
            return (.backToMerchant(transaction), plan)
        }
        let amount = transaction.order.amount
        guard record.balance >= amount.francs else {
            let plan = finish(&transaction, .paymentFailed, phone: phone, reason: "balance \(record.balance) F CFA is below \(amount.francs)", at: now)
            return (.backToMerchant(transaction), plan)
        }
        record.balance -= amount.francs
        state.accounts[phone] = record
        let paymentref = "TMS" + SecureRandom.digits(12)
        let language = transaction.order.language
        let text = words.word("sms_paid", language, [
            "amount": amount.formatted, "brand": transaction.order.brand, "paymentref": paymentref,
            "balance": Amount.formatted(francs: record.balance),
        ])
        send(SMS(phone: account.phone, text: text, code: nil, sentAt: now, merchantID: transaction.merchantID,
                 purchaseref: transaction.order.purchaseref), to: &state)
        logger.info("account debited", metadata: [
            "phone": "\(phone)", "amount": "\(amount.francs)", "balance": "\(record.balance)", "payid": "\(transaction.payid)",
        ])
        let plan = finish(&transaction, .paid, phone: phone, paymentref: paymentref, reason: "debited from \(phone)", at: now)
        return (.confirmation(transaction), plan)
    }

    /// Puts an SMS in the outbox, and in the log: the sandbox's only way to "send" it. The code is in the
    /// log on purpose (a tester reads it there); a PIN never is.
    private func send(_ sms: SMS, to state: inout SandboxState) {
        state.outbox.insert(sms, at: 0)
        var metadata: Logger.Metadata = ["phone": "\(sms.phone)", "ref": "\(sms.purchaseref)", "merchant": "\(sms.merchantID)"]
        if let code = sms.code { metadata["code"] = "\(code)" }
        logger.info("sms sent", metadata: metadata)
    }
}

extension Transaction {
    /// The account the shopper proved to own, once past phone and PIN.
    var authenticatedPhone: String? {
        if case .code(let phone, _) = stage { return phone }
        return nil
    }
}
