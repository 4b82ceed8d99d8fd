import Crypto
import Foundation
import Payments
import Support

/// What Flooz changes as the sandbox runs, in the state file with the rest: partners' balances and the last
/// token index each used, the keys issued (by their SHA-256, never the key itself), every debit by
/// mrchrefid, and the prompts waiting on shoppers' phones.
public struct FloozState: Sendable, Equatable, Codable {
    public struct PartnerState: Sendable, Equatable, Codable {
        /// Whole F CFA.
        public var balance: Int64
        /// The greatest index a token call of this partner was given a key for; -1 before the first.
        public var lastIndex: Int64 = -1

        enum CodingKeys: String, CodingKey {
            case balance
            case lastIndex = "last_index"
        }
    }

    public struct IssuedKey: Sendable, Equatable, Codable {
        public let partner: String
        public let expiresAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case partner
            case expiresAt = "expires_at"
        }
    }

    /// By partner user.
    public var partners: [String: PartnerState] = [:]
    /// By the key's SHA-256 in hex, until it expires.
    public var keys: [String: IssuedKey] = [:]
    /// By `FloozRequest.key`.
    public var requests: [String: FloozRequest] = [:]
    /// Open prompts by id; a prompt leaves when it ends.
    public var prompts: [String: Prompt] = [:]

    /// As MBANKING's: finished requests beyond these are forgotten, never one less than a day old.
    static let finishedLimit = MBankingState.finishedLimit
    static let keptSeconds = MBankingState.keptSeconds
    /// Live keys kept at most (the oldest go first): a partner asking a key per call cannot grow the file.
    static let keyLimit = 1000

    init() {}

    init(_ configuration: SandboxConfiguration) {
        adopt(configuration)
    }

    /// Opens the accounts of partners the configuration gained since this state was written.
    mutating func adopt(_ configuration: SandboxConfiguration) {
        for partner in configuration.flooz?.partners ?? [] where partners[partner.user] == nil {
            partners[partner.user] = PartnerState(balance: partner.openingBalance)
        }
    }

    mutating func prune(at now: Timestamp) {
        keys = keys.filter { now < $0.value.expiresAt }
        if keys.count > Self.keyLimit {
            for (hash, _) in keys.sorted(by: { $0.value.expiresAt < $1.value.expiresAt }).prefix(keys.count - Self.keyLimit) { keys[hash] = nil }
        }
        let finished = requests.values.filter { $0.status != .waiting }.sorted { $0.receivedAt > $1.receivedAt }
        for request in finished.dropFirst(Self.finishedLimit) where now.seconds - request.receivedAt.seconds >= Self.keptSeconds {
            requests[request.key] = nil
        }
    }

    static func hash(_ key: String) -> String { Hex.encode(SHA256.hash(data: Data(key.utf8))) }
}

/// A debit as a partner asked for it, and how it stands.
public struct FloozRequest: Sendable, Equatable, Codable {
    /// The partner's user.
    public let partner: String
    public let mrchrefid: String
    public let mrchname: String
    /// The 8 national digits.
    public let phone: String
    public let amount: Int64
    public let receivedAt: Timestamp
    public let refid: String
    /// The first call's answer, given again to every call with the same mrchrefid.
    public let answer: WireAnswer
    var status: FloozWire.Status
    /// What verify and the callback say.
    public var message: String
    public var finishedAt: Timestamp?
    public var promptID: String?

    var key: String { Self.key(partner: partner, mrchrefid: mrchrefid) }

    /// Partner users have no spaces (see `FloozConfiguration`).
    static func key(partner: String, mrchrefid: String) -> String { partner + " " + mrchrefid }

    public var statusText: String { status.rawValue }

    enum CodingKeys: String, CodingKey {
        case partner, mrchrefid, mrchname, phone, amount
        case receivedAt = "received_at"
        case refid, answer, status, message
        case finishedAt = "finished_at"
        case promptID = "prompt_id"
    }
}
