import FastCGI
import Payments

/// The sandbox's pages for testers, in English: what the accounts hold, the SMS TMoney sent, recent payments.
/// Only values that exist go in a context: Mustache shows "nil" for an absent one.
enum ToolViews {
    static let recentPayments = 20

    /// `GET /sandbox`.
    static func index(_ state: SandboxState, _ configuration: SandboxConfiguration, _ pages: SandboxPages) -> Response {
        let accounts = configuration.accounts.map { account -> [String: Any] in
            let record = state.accounts[account.phone] ?? AccountState(balance: account.openingBalance)
            var row: [String: Any] = [
                "phone": account.phone, "name": account.name, "clientID": account.clientID,
                "balance": Amount.formatted(francs: record.balance), "blocked": record.blocked,
            ]
            if record.failedLogins > 0 { row["failedLogins"] = record.failedLogins }
            return row
        }
        let merchants = configuration.merchants.map { merchant -> [String: Any] in
            var row: [String: Any] = ["id": merchant.id, "name": merchant.name, "notificationURL": merchant.notificationURL]
            if merchant.scenario != Scenario() { row["scenario"] = merchant.scenario.description }
            return row
        }
        let payments = state.transactions.values.sorted { $0.openedAt > $1.openedAt }.prefix(recentPayments).map { transaction -> [String: Any] in
            var row: [String: Any] = [
                "openedAt": transaction.openedAt.iso8601, "merchant": transaction.merchantID, "ref": transaction.order.purchaseref,
                "amount": transaction.order.amount.formatted, "payid": transaction.payid,
            ]
            if transaction.scenario != Scenario() { row["scenario"] = transaction.scenario.description }
            switch transaction.stage {
            case .credentials: row["state"] = "on the phone and PIN step"
            case .code: row["state"] = "on the SMS code step"
            case .finished(let outcome):
                row["state"] = outcome.kind.rawValue
                row["reason"] = outcome.reason
            }
            return row
        }
        var context: [String: Any] = [
            "accounts": accounts, "merchants": merchants, "payments": Array(payments), "hasPayments": !payments.isEmpty,
            "sessionLifetime": configuration.sessionLifetimeSeconds, "paymentLifetime": configuration.paymentLifetimeSeconds,
        ]
        if let mbanking = configuration.mbanking { context["mbanking"] = mbankingSection(state, mbanking) }
        if let flooz = configuration.flooz { context["flooz"] = floozSection(state, flooz) }
        return pages.page("index", .en, title: "TMoney Online sandbox", context)
    }

    /// Partners' balances and the most recent MBANKING requests, newest first.
    private static func mbankingSection(_ state: SandboxState, _ mbanking: MBankingConfiguration) -> [String: Any] {
        let partners = mbanking.partners.map { partner -> [String: Any] in
            [
                "id": partner.id, "name": partner.name, "user": partner.user, "callbackURL": partner.callbackURL,
                "callback": partner.callback.description,
                "balance": Amount.formatted(francs: state.mbanking.partnerBalances[partner.id] ?? partner.openingBalance),
            ]
        }
        let requests = state.mbanking.requests.values.sorted { ($0.receivedAt, $0.refTmoney) > ($1.receivedAt, $1.refTmoney) }
            .prefix(recentPayments).map { request -> [String: Any] in
                [
                    "receivedAt": request.receivedAt.iso8601, "partner": request.partnerID, "idRequete": request.idRequete,
                    "type": request.kindText, "phone": request.phone, "amount": Amount.formatted(francs: request.amount),
                    "status": request.statusText, "code": request.code, "message": request.message, "refTmoney": request.refTmoney,
                ]
            }
        return [
            "partners": partners, "requests": Array(requests), "hasRequests": !requests.isEmpty,
            "tokenLifetime": mbanking.tokenLifetimeSeconds, "promptLifetime": mbanking.promptLifetimeSeconds,
            "holdSeconds": mbanking.holdSeconds, "open": state.mbanking.prompts.count,
        ]
    }

    /// Flooz partners' balances and last index, and the most recent debits, newest first.
    private static func floozSection(_ state: SandboxState, _ flooz: FloozConfiguration) -> [String: Any] {
        let partners = flooz.partners.map { partner -> [String: Any] in
            let record = state.flooz.partners[partner.user]
            return [
                "user": partner.user, "name": partner.name, "msisdn": partner.msisdn, "callbackURL": partner.callbackURL,
                "callback": partner.callback.description, "balance": Amount.formatted(francs: record?.balance ?? partner.openingBalance),
                "lastIndex": (record?.lastIndex ?? -1) < 0 ? "none" : String(record!.lastIndex),
            ]
        }
        let requests = state.flooz.requests.values.sorted { ($0.receivedAt, $0.refid) > ($1.receivedAt, $1.refid) }
            .prefix(recentPayments).map { request -> [String: Any] in
                [
                    "receivedAt": request.receivedAt.iso8601, "partner": request.partner, "mrchrefid": request.mrchrefid,
                    "phone": request.phone, "amount": Amount.formatted(francs: request.amount), "status": request.statusText,
                    "message": request.message, "refid": request.refid,
                ]
            }
        return [
            "partners": partners, "requests": Array(requests), "hasRequests": !requests.isEmpty,
            "keyLifetime": flooz.keyLifetimeSeconds, "promptLifetime": flooz.promptLifetimeSeconds, "holdSeconds": flooz.holdSeconds,
            "open": state.flooz.prompts.count,
        ]
    }

    /// `GET /sandbox/sms`: the outbox, newest first.
    static func outbox(_ state: SandboxState, _ pages: SandboxPages) -> Response {
        let messages = state.outbox.map { sms -> [String: Any] in
            var row: [String: Any] = [
                "sentAt": sms.sentAt.iso8601, "phone": sms.phone, "text": sms.text, "merchant": sms.merchantID, "ref": sms.purchaseref,
            ]
            if let code = sms.code { row["code"] = code }
            return row
        }
        return pages.page("sms", .en, title: "SMS outbox · TMoney Online sandbox", ["messages": messages, "hasMessages": !messages.isEmpty])
    }
}
