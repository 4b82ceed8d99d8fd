import Foundation
import Payments
import Support

/// What Moov would have set up for Flooz partners: their credentials, their Flooz number (`partnermsisdn`),
/// the callback URL each gave Moov, their opening balance, the header scheme's AES key, and the timings the
/// public sources leave open. The `flooz` section of the sandbox configuration; each bad value stops start-up
/// with its key named.
public struct FloozConfiguration: Sendable {
    public struct Partner: Sendable {
        /// `username` of the token call and the header: the partner's key in the state file.
        public let user: String
        /// Never logged.
        public let password: String
        /// Named in the shopper's prompt.
        public let name: String
        /// The partner's Flooz number, as `partnermsisdn` must give it (`228XXXXXXXX`).
        public let msisdn: String
        public let callbackURL: String
        /// Whole F CFA at start (and after `cross sandbox reset`).
        public let openingBalance: Int64
        /// What becomes of the callbacks of this partner's prompts, unless the prompt's answer says otherwise.
        public let callback: CallbackFate
    }

    /// How long a key of the token scheme is good for.
    public var keyLifetimeSeconds: Int64
    public var promptLifetimeSeconds: Int64
    /// How long the `timeout` fault holds a call before its 504.
    public var holdSeconds: Double
    /// AES-256 key of the header scheme (32 bytes).
    let headerKey: [UInt8]
    public let partners: [Partner]

    public func partner(user: String) -> Partner? { partners.first { $0.user == user } }

    static let subject = "sandbox configuration"

    struct File: Decodable {
        var key_lifetime_seconds: Int64?
        var prompt_lifetime_seconds: Int64?
        var hold_seconds: Double?
        var header_key: String
        var partners: [PartnerFile]

        struct PartnerFile: Decodable {
            var user: String
            var password: String
            var name: String
            var msisdn: String
            var callback_url: String
            var balance: Int64
            var callback: String?
        }
    }

    init(_ file: File) throws(ConfigurationError) {
        func invalid(_ key: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(Self.subject, key: "flooz." + key, problem: problem)
        }
        keyLifetimeSeconds = try ConfigFile.bounded(
            file.key_lifetime_seconds, default: 300, in: 1...86_400, subject: Self.subject, key: "flooz.key_lifetime_seconds",
            problem: "must be 1 to 86400")
        promptLifetimeSeconds = try ConfigFile.bounded(
            file.prompt_lifetime_seconds, default: 120, in: 1...3600, subject: Self.subject, key: "flooz.prompt_lifetime_seconds",
            problem: "must be 1 to 3600")
        holdSeconds = try ConfigFile.bounded(
            file.hold_seconds, default: 30, in: 0...600, subject: Self.subject, key: "flooz.hold_seconds", problem: "must be 0 to 600")
        guard file.header_key.utf8.count == 64, let key = Hex.decode(file.header_key) else {
            throw invalid("header_key", "must be 64 hexadecimal digits (a 32-byte AES-256 key)")
        }
        headerKey = key
        guard !file.partners.isEmpty else { throw invalid("partners", "must name at least one partner") }
        var partners: [Partner] = []
        for (index, entry) in file.partners.enumerated() {
            let key = "partners[\(index)]"
            // Printable ASCII without spaces or colons: a key of the state file, and a part of the header.
            guard (1...64).contains(entry.user.utf8.count),
                  entry.user.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw invalid(key + ".user", "must be 1 to 64 printable ASCII characters without spaces or colons")
            }
            guard !partners.contains(where: { $0.user == entry.user }) else { throw invalid(key + ".user", "repeats user \(entry.user)") }
            guard (8...128).contains(entry.password.unicodeScalars.count) else { throw invalid(key + ".password", "must be 8 to 128 characters") }
            guard (1...100).contains(entry.name.unicodeScalars.count) else { throw invalid(key + ".name", "must be 1 to 100 characters") }
            guard entry.msisdn.utf8.count == 11, let number = PhoneNumber(entry.msisdn), number.international == entry.msisdn else {
                throw invalid(key + ".msisdn", "must be 228 then the 8 digits of the partner's Flooz number, such as 22899000000")
            }
            guard !partners.contains(where: { $0.msisdn == entry.msisdn }) else { throw invalid(key + ".msisdn", "repeats number \(entry.msisdn)") }
            let (url, fate) = try PartnerEntry.callback(url: entry.callback_url, fate: entry.callback, balance: entry.balance, key: key, invalid: invalid)
            partners.append(Partner(
                user: entry.user, password: entry.password, name: entry.name, msisdn: entry.msisdn, callbackURL: url,
                openingBalance: entry.balance, callback: fate))
        }
        self.partners = partners
    }
}
