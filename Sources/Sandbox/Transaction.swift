import Payments
import TMoneyOnline

/// One payment on TMoney's page, from the order form to its outcome: what TMoney calls a transaction.
public struct Transaction: Sendable, Equatable, Codable {
    /// The key the shopper's browser holds (a hidden field of each step's form): 128 random bits, so that
    /// nobody else can act on this payment. Never shown to the merchant, never logged.
    public let id: String
    /// TMoney's transaction id, sent as `payid`.
    public let payid: String
    public let merchantID: String
    public let order: PaymentOrder
    public let scenario: Scenario
    public let openedAt: Timestamp
    /// After this, the shopper's session is over: the payment ends with EXPIRED_SESSION.
    public let expiresAt: Timestamp
    public var stage: Stage
    /// Wrong phone number or PIN on this payment; the third ends it.
    public var failedLogins = 0

    public var isFinished: Bool { outcome != nil }

    public var outcome: Outcome? {
        if case .finished(let outcome) = stage { return outcome }
        return nil
    }

    /// The merchant's page the shopper goes back to after `kind`.
    public func returnURL(for kind: Outcome.Kind) -> String? {
        switch kind {
        case .paid: order.returnURLs.accept
        case .cancelled: order.returnURLs.cancel
        case .authenticationFailed, .paymentFailed, .expiredSession: order.returnURLs.decline
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, payid
        case merchantID = "merchant_id"
        case order, scenario
        case openedAt = "opened_at"
        case expiresAt = "expires_at"
        case stage
        case failedLogins = "failed_logins"
    }
}

/// Where the shopper is in TMoney's journey.
public enum Stage: Sendable, Equatable {
    /// Asked for phone number and PIN.
    case credentials
    /// Authenticated; asked for the one-time code sent by SMS to `phone`.
    case code(phone: String, code: String)
    case finished(Outcome)
}

/// How a payment ended, and so what the notification says and where the shopper goes back to.
public struct Outcome: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case paid
        case cancelled
        case authenticationFailed = "authentication_failed"
        case paymentFailed = "payment_failed"
        case expiredSession = "expired_session"

        public var status: TMoneyOnline.Notification.Status { self == .paid ? .ok : .nok }

        /// The notification's `error`.
        public var error: String {
            switch self {
            case .paid: ""
            case .cancelled: "CANCEL"
            case .authenticationFailed: "AUTHENTICATION"
            case .paymentFailed: "PAYMENT_FAILED"
            case .expiredSession: "EXPIRED_SESSION"
            }
        }
    }

    public let kind: Kind
    public let at: Timestamp
    /// The account the shopper authenticated as, if they got that far: named in the notification.
    public let phone: String?
    /// TMoney's payment reference, for a payment made.
    public let paymentref: String?
    /// Why, in a few words, for the log and the sandbox's index page: "wrong SMS code", "account blocked".
    public let reason: String
}

extension Stage: Codable {
    private enum CodingKeys: String, CodingKey {
        case step, phone, code, outcome
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .step) {
        case "credentials":
            self = .credentials
        case "code":
            self = .code(phone: try container.decode(String.self, forKey: .phone), code: try container.decode(String.self, forKey: .code))
        case "finished":
            self = .finished(try container.decode(Outcome.self, forKey: .outcome))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .step, in: container, debugDescription: "unknown step \"\(other)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .credentials:
            try container.encode("credentials", forKey: .step)
        case .code(let phone, let code):
            try container.encode("code", forKey: .step)
            try container.encode(phone, forKey: .phone)
            try container.encode(code, forKey: .code)
        case .finished(let outcome):
            try container.encode("finished", forKey: .step)
            try container.encode(outcome, forKey: .outcome)
        }
    }
}
