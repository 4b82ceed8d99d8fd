import Foundation
import Payments
import Support

/// How `cross serve` runs: for real payments (the default), or for development (`--dev`, as `make run` and the
/// tests start it).
public enum RunMode: String, Sendable {
    case production
    case development
}

/// What production refuses that development allows: secrets everyone knows, a gateway or webhooks without TLS,
/// a notification allowlist that lets more than TMoney's public servers in. Each refusal names its key.
enum ProductionChecks {
    /// The secrets of the checked-in `config/cross.dev.json` (a test holds this list to the file): published with
    /// the code, so never good for real payments.
    static let developmentSecrets: Set<String> = [
        "dev-api-key-0123456789",
        "dev-link-secret-change-me-in-production",
        "dev-button-secret-change-me-in-production",
        "pbkdf2-sha256$210000$NLSsKYTN4BeM07Pim39ytw==$7CqabIYiSUUsIXNrSNb8IVqTDrfq7ifFmbNJyzlWeKQ=",
        "dev-mbanking-password",
        "dev-flooz-password",
    ]

    static func check(_ configuration: Configuration) throws(ConfigurationError) {
        func refuse(_ key: String, _ problem: String) -> ConfigurationError {
            ConfigurationError("configuration", key: key, problem: problem + " (allowed only with cross serve --dev)")
        }
        let known = "is the development configuration's, published with the code: make a new one"
        if configuration.apiKeys.contains(where: developmentSecrets.contains) { throw refuse("api_keys", "holds a key that " + known) }
        if developmentSecrets.contains(configuration.linkSecret) { throw refuse("link_secret", known) }
        if developmentSecrets.contains(configuration.buttonSecret) { throw refuse("button_secret", known) }
        if let admin = configuration.admin, developmentSecrets.contains(admin.passwordHash) {
            throw refuse("admin.password_hash", known + " with `cross admin hash-password`")
        }
        for (index, webhook) in configuration.webhooks.enumerated() {
            if developmentSecrets.contains(webhook.secret) { throw refuse("webhooks[\(index)].secret", known) }
            guard URLComponents(string: webhook.url)?.scheme?.lowercased() == "https" else {
                throw refuse("webhooks[\(index)].url", "must be https: the event and its signature must not travel in clear")
            }
        }
        let gateway = URLComponents(string: configuration.gatewayURL)
        guard gateway?.scheme?.lowercased() == "https" else {
            throw refuse("gateway_url", "must be https: TMoney's session ids must not travel in clear")
        }
        if isLoopback(gateway?.host ?? "") { throw refuse("gateway_url", "names this machine (\(gateway?.host ?? "")), not TMoney") }
        guard URLComponents(string: configuration.publicURL)?.scheme?.lowercased() == "https" else {
            throw refuse("public_url", "must be https: shoppers' links and TMoney's return pages must be")
        }
        if let mbanking = configuration.mbanking {
            if developmentSecrets.contains(mbanking.password) { throw refuse("mbanking.password", known) }
            for (key, url) in [("login_url", mbanking.loginURL), ("push_url", mbanking.pushURL), ("credit_url", mbanking.creditURL)] {
                let components = URLComponents(string: url)
                guard components?.scheme?.lowercased() == "https" else {
                    throw refuse("mbanking." + key, "must be https: the partner's token, password and shoppers' numbers must not travel in clear")
                }
                if isLoopback(components?.host ?? "") { throw refuse("mbanking." + key, "names this machine, not Togocom") }
            }
            if let entry = configuration.mbankingCallbackAllowlist.nonPublicEntries.first {
                throw refuse("mbanking_callback_allowlist", "has \(entry), which takes in more than Togocom's public servers")
            }
        }
        if let flooz = configuration.flooz {
            if developmentSecrets.contains(flooz.password) { throw refuse("flooz.password", known) }
            for (key, url) in [("token_url", flooz.tokenURL), ("debit_url", flooz.debitURL), ("verify_url", flooz.verifyURL)] where !url.isEmpty {
                let components = URLComponents(string: url)
                guard components?.scheme?.lowercased() == "https" else {
                    throw refuse("flooz." + key, "must be https: the merchant's key, password and shoppers' numbers must not travel in clear")
                }
                if isLoopback(components?.host ?? "") { throw refuse("flooz." + key, "names this machine, not Moov") }
            }
            if let entry = configuration.floozCallbackAllowlist.nonPublicEntries.first {
                throw refuse("flooz_callback_allowlist", "has \(entry), which takes in more than Moov's public servers")
            }
        }
        if let entry = configuration.notificationAllowlist.nonPublicEntries.first {
            throw refuse("notification_allowlist", "has \(entry), which takes in more than TMoney's public servers (loopback, private, link-local or every address)")
        }
    }

    private static let loopback = try! AddressAllowlist(["127.0.0.0/8", "::1"])

    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host == "localhost" || host.hasSuffix(".localhost") || loopback.allows(host)
    }
}
