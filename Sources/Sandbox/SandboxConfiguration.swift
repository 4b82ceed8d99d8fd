import Foundation
import Payments
import Support
import TMoneyOnline

/// What the TMoney administrator would have set up: merchants, shoppers' accounts as they open, and timings.
/// One JSON file (`config/sandbox.dev.json`), read at start; a bad value stops start-up with its key named.
/// What changes while the sandbox runs (balances, blocked accounts, ...) lives in the state file instead.
public struct SandboxConfiguration: Sendable {
    public struct Merchant: Sendable {
        /// 16 digits.
        public let id: String
        /// Shown at the top of the payment page when the order form's `brand` is empty.
        public let name: String
        /// The merchant's servers: the only callers given a session id.
        public let allowedAddresses: AddressAllowlist
        /// Where TMoney sends the notification, by GET: set by the administrator, never by the order form.
        public let notificationURL: String
        /// Return pages used when the order form names none.
        public let returnURLs: ReturnURLs
        /// Applies to every payment of this merchant, unless the order form names one of its own.
        public let scenario: Scenario
    }

    public struct Account: Sendable {
        /// The 8-digit local number (`90000001`).
        public let phone: String
        /// 4 digits.
        public let pin: String
        /// As registered, sent as `cname`.
        public let name: String
        /// The account number, sent as `clientid`.
        public let clientID: String
        /// The balance the account opens with (and gets back on `cross sandbox reset`), in whole F CFA.
        public let openingBalance: Int64
    }

    public let merchants: [Merchant]
    public let accounts: [Account]
    /// TMoney MBANKING (JWT, push-USSD debit, credit), when the file has an `mbanking` section; without one
    /// the sandbox plays TMoney Online only.
    public let mbanking: MBankingConfiguration?
    /// Flooz (key by index or header, push debit, verify), when the file has a `flooz` section.
    public let flooz: FloozConfiguration?
    /// How long a session id may wait for its order form (180 s, as the seed says).
    public var sessionLifetimeSeconds: Int64
    /// How long a shopper has on the payment page, from the order form to the SMS code.
    public var paymentLifetimeSeconds: Int64
    public var notificationTimeoutSeconds: Double

    public func merchant(_ id: String) -> Merchant? { merchants.first { $0.id == id } }
    public func account(_ phone: String) -> Account? { accounts.first { $0.phone == phone } }

    public typealias Invalid = ConfigurationError

    public static func load(path: String) throws(ConfigurationError) -> SandboxConfiguration {
        try SandboxConfiguration(ConfigFile.read(File.self, path: path, subject: "sandbox configuration"))
    }

    public static func parse(_ data: Data, name: String = "the file") throws(ConfigurationError) -> SandboxConfiguration {
        try SandboxConfiguration(ConfigFile.decode(File.self, from: data, name: name, subject: "sandbox configuration"))
    }

    /// The file as written: snake_case keys.
    struct File: Decodable {
        var merchants: [MerchantFile]
        var accounts: [AccountFile]
        var session_lifetime_seconds: Int64?
        var payment_lifetime_seconds: Int64?
        var notification_timeout_seconds: Double?
        var mbanking: MBankingConfiguration.File?
        var flooz: FloozConfiguration.File?

        struct MerchantFile: Decodable {
            var merchant_id: String
            var name: String
            var allowed_addresses: [String]
            var notification_url: String
            var accept_url: String?
            var decline_url: String?
            var cancel_url: String?
            var scenario: String?
        }

        struct AccountFile: Decodable {
            var phone: String
            var pin: String
            var name: String
            var client_id: String
            var balance: Int64
        }
    }

    init(_ file: File) throws(Invalid) {
        func check<T>(_ key: String, _ body: () throws(FieldError) -> T) throws(Invalid) -> T {
            do { return try body() } catch { throw Invalid("sandbox configuration", key: key, problem: error.message) }
        }
        guard !file.merchants.isEmpty else { throw Invalid("sandbox configuration", key: "merchants", problem: "must name at least one merchant") }
        var merchants: [Merchant] = []
        for (index, entry) in file.merchants.enumerated() {
            let key = "merchants[\(index)]"
            let id = try check(key + ".merchant_id") { () throws(FieldError) in try FieldRule.merchantID(entry.merchant_id) }
            guard !merchants.contains(where: { $0.id == id }) else {
                throw Invalid("sandbox configuration", key: key + ".merchant_id", problem: "repeats merchant \(id)")
            }
            let name = try check(key + ".name") { () throws(FieldError) in try FieldRule.brand(entry.name, field: "name") }
            guard !entry.allowed_addresses.isEmpty else {
                throw Invalid("sandbox configuration", key: key + ".allowed_addresses", problem: "must name the merchant's server addresses (it is empty)")
            }
            let addresses = try check(key + ".allowed_addresses") { () throws(FieldError) in try AddressAllowlist(entry.allowed_addresses) }
            let notificationURL = try check(key + ".notification_url") { () throws(FieldError) in
                try WebAddress.check(entry.notification_url, field: "notification_url")
            }
            func returnURL(_ value: String?, _ name: String) throws(Invalid) -> String? {
                guard let value else { return nil }
                return try check(key + "." + name) { () throws(FieldError) in try WebAddress.check(value, field: name, limit: 150) }
            }
            let scenario: Scenario
            do {
                scenario = try Scenario(parsing: entry.scenario ?? "")
            } catch {
                throw Invalid("sandbox configuration", key: key + ".scenario", problem: error.description)
            }
            merchants.append(Merchant(
                id: id, name: name, allowedAddresses: addresses, notificationURL: notificationURL,
                returnURLs: ReturnURLs(
                    accept: try returnURL(entry.accept_url, "accept_url"), decline: try returnURL(entry.decline_url, "decline_url"),
                    cancel: try returnURL(entry.cancel_url, "cancel_url")),
                scenario: scenario))
        }
        var accounts: [Account] = []
        for (index, entry) in file.accounts.enumerated() {
            let key = "accounts[\(index)]"
            guard entry.phone.utf8.count == 8, PhoneNumber(entry.phone)?.national == entry.phone else {
                throw Invalid("sandbox configuration", key: key + ".phone", problem: "must be a local number of 8 digits, such as 90000001")
            }
            guard !accounts.contains(where: { $0.phone == entry.phone }) else {
                throw Invalid("sandbox configuration", key: key + ".phone", problem: "repeats account \(entry.phone)")
            }
            guard entry.pin.utf8.count == 4, entry.pin.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw Invalid("sandbox configuration", key: key + ".pin", problem: "must be 4 digits")
            }
            // Bounds of what a merchant reading the notification accepts (see TMoneyOnline.Notification.parse).
            guard !entry.name.isEmpty, entry.name.unicodeScalars.count <= 150 else {
                throw Invalid("sandbox configuration", key: key + ".name", problem: "must be 1 to 150 characters")
            }
            guard !entry.client_id.isEmpty, entry.client_id.unicodeScalars.count <= 64 else {
                throw Invalid("sandbox configuration", key: key + ".client_id", problem: "must be 1 to 64 characters")
            }
            guard entry.balance >= 0 else { throw Invalid("sandbox configuration", key: key + ".balance", problem: "must be 0 or more francs") }
            accounts.append(Account(
                phone: entry.phone, pin: entry.pin, name: entry.name, clientID: entry.client_id, openingBalance: entry.balance))
        }
        self.merchants = merchants
        self.accounts = accounts
        mbanking = try file.mbanking.map { file throws(Invalid) in try MBankingConfiguration(file) }
        flooz = try file.flooz.map { file throws(Invalid) in try FloozConfiguration(file) }
        sessionLifetimeSeconds = try ConfigFile.bounded(file.session_lifetime_seconds, default: 180, in: 1...86_400, subject: "sandbox configuration", key: "session_lifetime_seconds", problem: "must be 1 to 86400")
        paymentLifetimeSeconds = try ConfigFile.bounded(file.payment_lifetime_seconds, default: 600, in: 1...86_400, subject: "sandbox configuration", key: "payment_lifetime_seconds", problem: "must be 1 to 86400")
        notificationTimeoutSeconds = try ConfigFile.bounded(file.notification_timeout_seconds, default: 10, in: 0.1...120, subject: "sandbox configuration", key: "notification_timeout_seconds", problem: "must be 0.1 to 120")
    }
}
