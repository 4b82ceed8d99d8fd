import Foundation
import Payments
import Support

/// What Togocom would have set up for MBANKING partners: their access accounts (`compte d'accès`), the
/// callback URL each gave Togocom, the opening balance of each partner's own TMoney account, and the timings
/// the public sources leave open (token lifetime, how long a shopper has to answer a prompt). The `mbanking`
/// section of the sandbox configuration; each bad value stops start-up with its key named.
public struct MBankingConfiguration: Sendable {
    public struct Partner: Sendable {
        /// `idPartenaire`, and `merchantid` in credit v1: `PARTNER-0001`.
        public let id: String
        /// `nomUtilisateur` at login.
        public let user: String
        /// `motDePasse` at login, `password` in credit v1. Never logged.
        public let password: String
        /// `nomPartenaire`, and the merchant named in the shopper's prompt.
        public let name: String
        /// Where the callback of every finished debit is POSTed, as set with Togocom (never by a request).
        public let callbackURL: String
        /// The partner's TMoney balance at start (and after `cross sandbox reset`), in whole F CFA.
        public let openingBalance: Int64
        /// What becomes of the callbacks of this partner's prompts, unless the prompt's answer says otherwise.
        public let callback: CallbackFate
    }

    /// The HS256 key of the tokens: at least 32 bytes, so that a token cannot be forged by guessing it.
    let jwtSecret: [UInt8]
    /// The `exp` of a token, from its `iat`.
    public var tokenLifetimeSeconds: Int64
    /// How long a prompt waits on the shopper's phone before it ends ECHEC.
    public var promptLifetimeSeconds: Int64
    /// How long the `timeout` and `lost_answer` faults hold a call before its 504.
    public var holdSeconds: Double
    public let partners: [Partner]

    public func partner(id: String) -> Partner? { partners.first { $0.id == id } }
    public func partner(user: String) -> Partner? { partners.first { $0.user == user } }

    static let subject = "sandbox configuration"

    /// The section as written: snake_case keys.
    struct File: Decodable {
        var jwt_secret: String
        var token_lifetime_seconds: Int64?
        var prompt_lifetime_seconds: Int64?
        var hold_seconds: Double?
        var partners: [PartnerFile]

        struct PartnerFile: Decodable {
            var id: String
            var user: String
            var password: String
            var name: String
            var callback_url: String
            var balance: Int64
            var callback: String?
        }
    }

    init(_ file: File) throws(ConfigurationError) {
        func invalid(_ key: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(Self.subject, key: "mbanking." + key, problem: problem)
        }
        guard file.jwt_secret.utf8.count >= 32 else { throw invalid("jwt_secret", "must be at least 32 characters") }
        jwtSecret = Array(file.jwt_secret.utf8)
        tokenLifetimeSeconds = try ConfigFile.bounded(
            file.token_lifetime_seconds, default: 3600, in: 1...86_400, subject: Self.subject,
            key: "mbanking.token_lifetime_seconds", problem: "must be 1 to 86400")
        promptLifetimeSeconds = try ConfigFile.bounded(
            file.prompt_lifetime_seconds, default: 120, in: 1...3600, subject: Self.subject,
            key: "mbanking.prompt_lifetime_seconds", problem: "must be 1 to 3600")
        holdSeconds = try ConfigFile.bounded(
            file.hold_seconds, default: 30, in: 0...600, subject: Self.subject, key: "mbanking.hold_seconds",
            problem: "must be 0 to 600")
        guard !file.partners.isEmpty else { throw invalid("partners", "must name at least one partner") }
        var partners: [Partner] = []
        for (index, entry) in file.partners.enumerated() {
            let key = "partners[\(index)]"
            // Printable ASCII without spaces or slashes: the id is a key of the state file and a query value.
            guard (1...32).contains(entry.id.utf8.count),
                  entry.id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
                throw invalid(key + ".id", "must be 1 to 32 printable ASCII characters without spaces or slashes, such as PARTNER-0001")
            }
            guard !partners.contains(where: { $0.id == entry.id }) else { throw invalid(key + ".id", "repeats partner \(entry.id)") }
            guard (1...64).contains(entry.user.unicodeScalars.count) else { throw invalid(key + ".user", "must be 1 to 64 characters") }
            guard !partners.contains(where: { $0.user == entry.user }) else { throw invalid(key + ".user", "repeats user \(entry.user)") }
            guard (8...128).contains(entry.password.unicodeScalars.count) else { throw invalid(key + ".password", "must be 8 to 128 characters") }
            guard (1...100).contains(entry.name.unicodeScalars.count) else { throw invalid(key + ".name", "must be 1 to 100 characters") }
            let (url, fate) = try PartnerEntry.callback(url: entry.callback_url, fate: entry.callback, balance: entry.balance, key: key, invalid: invalid)
            partners.append(Partner(
                id: entry.id, user: entry.user, password: entry.password, name: entry.name, callbackURL: url,
                openingBalance: entry.balance, callback: fate))
        }
        self.partners = partners
    }
}
