import Payments

/// Everything the sandbox changes as it runs, kept in the state file so that a restart keeps it: balances,
/// wrong-PIN counts and blocked accounts, session ids handed out, payments in progress and recent ones, and
/// the SMS TMoney "sent". The fixed part (accounts' PINs and names, merchants) is in the configuration.
public struct SandboxState: Sendable, Equatable, Codable {
    /// By local phone number.
    public var accounts: [String: AccountState]
    /// By session id, until they expire.
    public var sessions: [String: IssuedSession]
    /// By transaction key: payments in progress, and the most recent finished ones.
    public var transactions: [String: Transaction]
    /// Newest first.
    public var outbox: [SMS]
    /// Partners' balances, their requests and the prompts on shoppers' phones (empty without MBANKING).
    public var mbanking: MBankingState
    /// Flooz partners' balances and token indexes, keys, requests and prompts (empty without Flooz).
    public var flooz: FloozState

    /// SMS kept in the outbox, and finished payments kept for the index page and late clicks on their pages.
    static let outboxLimit = 100
    static let finishedLimit = 200

    /// The state of a sandbox that never ran: every account at its opening balance.
    public init(_ configuration: SandboxConfiguration) {
        accounts = [:]
        sessions = [:]
        transactions = [:]
        outbox = []
        mbanking = MBankingState(configuration)
        flooz = FloozState(configuration)
        adopt(configuration)
    }

    enum CodingKeys: String, CodingKey {
        case accounts, sessions, transactions, outbox, mbanking, flooz
    }

    /// A state file written before MBANKING (or Flooz) has no `mbanking` (or `flooz`): it reads as none yet.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accounts = try container.decode([String: AccountState].self, forKey: .accounts)
        sessions = try container.decode([String: IssuedSession].self, forKey: .sessions)
        transactions = try container.decode([String: Transaction].self, forKey: .transactions)
        outbox = try container.decode([SMS].self, forKey: .outbox)
        mbanking = try container.decodeIfPresent(MBankingState.self, forKey: .mbanking) ?? MBankingState()
        flooz = try container.decodeIfPresent(FloozState.self, forKey: .flooz) ?? FloozState()
    }

    /// Opens the accounts the configuration gained since this state was written.
    mutating func adopt(_ configuration: SandboxConfiguration) {
        for account in configuration.accounts where accounts[account.phone] == nil {
            accounts[account.phone] = AccountState(balance: account.openingBalance)
        }
        mbanking.adopt(configuration)
        flooz.adopt(configuration)
    }

    /// Forgets expired session ids, and finished payments beyond the most recent ones, so that the state
    /// file stays small however long the sandbox runs.
    mutating func prune(at now: Timestamp) {
        sessions = sessions.filter { now < $0.value.expiresAt }
        let finished = transactions.values.filter(\.isFinished).sorted { $0.openedAt > $1.openedAt }
        for transaction in finished.dropFirst(Self.finishedLimit) { transactions[transaction.id] = nil }
        if outbox.count > Self.outboxLimit { outbox.removeLast(outbox.count - Self.outboxLimit) }
        mbanking.prune(at: now)
        flooz.prune(at: now)
    }
}

public struct AccountState: Sendable, Equatable, Codable {
    /// Whole F CFA.
    public var balance: Int64
    /// Wrong PINs in a row; the third blocks the account.
    public var failedLogins = 0
    public var blocked = false

    public static let loginAttempts = 3

    enum CodingKeys: String, CodingKey {
        case balance
        case failedLogins = "failed_logins"
        case blocked
    }
}

/// A session id handed to a merchant's server, waiting for its order form.
public struct IssuedSession: Sendable, Equatable, Codable {
    public let merchantID: String
    public let issuedAt: Timestamp
    public let expiresAt: Timestamp
    /// Set when an order form brought it: a session id is good for one payment only.
    public var usedAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case merchantID = "merchant_id"
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case usedAt = "used_at"
    }
}

/// One SMS TMoney sent a shopper: a one-time code, or the confirmation of a payment.
public struct SMS: Sendable, Equatable, Codable {
    public let phone: String
    public let text: String
    /// The one-time code, when the SMS carries one.
    public let code: String?
    public let sentAt: Timestamp
    public let merchantID: String
    public let purchaseref: String

    enum CodingKeys: String, CodingKey {
        case phone, text, code
        case sentAt = "sent_at"
        case merchantID = "merchant_id"
        case purchaseref
    }
}
