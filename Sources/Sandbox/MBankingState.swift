import Payments

/// What MBANKING changes as the sandbox runs, in the state file with the rest: partners' balances, every
/// request a partner made (the key of idempotency and of check-transaction), and the prompts waiting on
/// shoppers' phones.
public struct MBankingState: Sendable, Equatable, Codable {
    /// By partner id, in whole F CFA.
    public var partnerBalances: [String: Int64] = [:]
    /// By `MBankingRequest.key`.
    public var requests: [String: MBankingRequest] = [:]
    /// Open prompts by id; a prompt leaves when it ends.
    public var prompts: [String: Prompt] = [:]
    /// Goes up each time a tester revokes every token: it is part of the tokens' key, so that every token
    /// signed before no longer verifies, with no list of tokens to keep.
    public var tokenGeneration = 0

    /// Finished requests kept beyond a day old; none younger is ever forgotten, so that a partner retrying
    /// within a day always gets its first answer back rather than a second debit or credit.
    static let finishedLimit = 1000
    static let keptSeconds: Int64 = 86_400

    init() {}

    init(_ configuration: SandboxConfiguration) {
        adopt(configuration)
    }

    /// Opens the accounts of partners the configuration gained since this state was written.
    mutating func adopt(_ configuration: SandboxConfiguration) {
        for partner in configuration.mbanking?.partners ?? [] where partnerBalances[partner.id] == nil {
            partnerBalances[partner.id] = partner.openingBalance
        }
    }

    /// Forgets finished requests beyond the most recent ones, but never one less than a day old.
    mutating func prune(at now: Timestamp) {
        let finished = requests.values.filter { $0.status != .pending }.sorted { $0.receivedAt > $1.receivedAt }
        for request in finished.dropFirst(Self.finishedLimit) where now.seconds - request.receivedAt.seconds >= Self.keptSeconds {
            requests[request.key] = nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case partnerBalances = "partner_balances"
        case requests, prompts
        case tokenGeneration = "token_generation"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        partnerBalances = try container.decode([String: Int64].self, forKey: .partnerBalances)
        requests = try container.decode([String: MBankingRequest].self, forKey: .requests)
        prompts = try container.decode([String: Prompt].self, forKey: .prompts)
        tokenGeneration = try container.decodeIfPresent(Int.self, forKey: .tokenGeneration) ?? 0
    }
}

/// A debit or a credit as a partner asked for it, and how it stands.
public struct MBankingRequest: Sendable, Equatable, Codable {
    public let partnerID: String
    public let idRequete: String
    let kind: MBankingWire.Kind
    /// The 8 national digits.
    public let phone: String
    public let amount: Int64
    public let refCommande: String
    public let dateHeureRequete: String
    public let description: String
    public let receivedAt: Timestamp
    /// `refTmoney`, and credit v1's `transactionid`.
    public let refTmoney: String
    /// The first call's answer, given again to every call with the same idRequete.
    public let answer: WireAnswer
    var status: MBankingWire.Status
    /// What check-transaction and the callback say.
    public var code: String
    public var message: String
    public var finishedAt: Timestamp?
    /// The prompt of a debit, while it is open.
    public var promptID: String?

    var key: String { Self.key(partner: partnerID, idRequete: idRequete) }

    /// Partner ids have no spaces (see `MBankingConfiguration`): the key cannot be read two ways.
    static func key(partner: String, idRequete: String) -> String { partner + " " + idRequete }

    public var statusText: String { status.rawValue }
    public var kindText: String { kind.rawValue }

    enum CodingKeys: String, CodingKey {
        case partnerID = "partner_id"
        case idRequete = "id_requete"
        case kind, phone, amount
        case refCommande = "ref_commande"
        case dateHeureRequete = "date_heure_requete"
        case description
        case receivedAt = "received_at"
        case refTmoney = "ref_tmoney"
        case answer, status, code, message
        case finishedAt = "finished_at"
        case promptID = "prompt_id"
    }
}

/// A `code` and `message` pair as the wire carries it.
public struct WireAnswer: Sendable, Equatable, Codable {
    public let code: String
    public let message: String
}

/// The USSD prompt a debit puts on the shopper's phone: it waits for the PIN, a refusal, or its expiry.
public struct Prompt: Sendable, Equatable, Codable {
    /// 128 random bits: the phone page's hidden field and the prompts API's path.
    public let id: String
    public let partnerID: String
    public let idRequete: String
    /// The 8 national digits.
    public let phone: String
    public let amount: Int64
    public let refCommande: String
    public let openedAt: Timestamp
    public let expiresAt: Timestamp
    /// The partner's configured fate; the answer may name another.
    public let callback: CallbackFate
    /// Whose prompt: TMoney MBANKING's (`idRequete`, `refCommande`) or Flooz's (`partnerID` the partner's user,
    /// `idRequete` and `refCommande` both the mrchrefid).
    public var network: Operator = .tmoney

    /// The key of its request, in the map of its operator (both write `partner + " " + reference`).
    var requestKey: String { MBankingRequest.key(partner: partnerID, idRequete: idRequete) }

    enum CodingKeys: String, CodingKey {
        case id
        case partnerID = "partner_id"
        case idRequete = "id_requete"
        case phone, amount
        case refCommande = "ref_commande"
        case openedAt = "opened_at"
        case expiresAt = "expires_at"
        case callback
        case network = "operator"
    }
}

extension Prompt {
    /// A prompt saved before Flooz has no `operator`: it is MBANKING's.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        partnerID = try container.decode(String.self, forKey: .partnerID)
        idRequete = try container.decode(String.self, forKey: .idRequete)
        phone = try container.decode(String.self, forKey: .phone)
        amount = try container.decode(Int64.self, forKey: .amount)
        refCommande = try container.decode(String.self, forKey: .refCommande)
        openedAt = try container.decode(Timestamp.self, forKey: .openedAt)
        expiresAt = try container.decode(Timestamp.self, forKey: .expiresAt)
        callback = try container.decode(CallbackFate.self, forKey: .callback)
        network = try container.decodeIfPresent(Operator.self, forKey: .network) ?? .tmoney
    }
}
