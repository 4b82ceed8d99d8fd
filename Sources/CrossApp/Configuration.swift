import AdminDashboard
import Cashier
import CheckoutWeb
import Flooz
import Foundation
import MBanking
import Payments
import Support
import TMoneyOnline
import Webhooks

/// Cross's settings: one JSON file (`--config` or `CROSS_CONFIG`). Checked at start: a bad value stops
/// start-up with a message naming its key. Secrets may come from the environment instead of the file:
/// `CROSS_API_KEYS` (comma-separated), `CROSS_LINK_SECRET`, `CROSS_BUTTON_SECRET`.
public struct Configuration: Sendable {
    /// Production, unless `cross serve --dev`: then the checks of `ProductionChecks.swift` are not made, and
    /// every page says TEST MODE.
    public var mode: RunMode
    /// 16 digits, from the TMoney administrator.
    public var merchantID: String
    /// TMoney Online's base URL: `https://<Url>` (the sandbox: `http://127.0.0.1:8081`).
    public var gatewayURL: String
    public var gatewayTimeoutSeconds: Double
    /// The field name the gateway expects for the shopper's phone (`phonenumber`; the seed writes `phonennumber`).
    public var phoneFieldName: String
    public var brand: String
    public var defaultLanguage: Language
    public var currency: String
    /// How shoppers and TMoney reach Cross: `https://pay.example.tg`. Return URLs given to TMoney start with it.
    public var publicURL: String
    /// Where to send the shopper after each outcome when an order names no page of its own.
    public var defaultReturnURLs: ReturnURLs
    /// Hosts an order's return URLs may point to (`*.shop.tg` allows its subdomains).
    public var allowedReturnHosts: [String]
    public var notificationPath: String
    /// Addresses and CIDR ranges allowed to call the notification URL: TMoney's servers.
    public var notificationAllowlist: AddressAllowlist
    public var dataDirectory: String
    /// Keys merchant back ends send as `Authorization: Bearer <key>`.
    public var apiKeys: [String]
    /// Signs the order links given to shoppers (checkout and return pages).
    public var linkSecret: String
    /// Signs payment buttons.
    public var buttonSecret: String
    /// How long a TMoney session id lives (180 s by default, as the seed says).
    public var sessionLifetimeSeconds: Int64
    /// How long an order accepts new payment attempts.
    public var orderExpirySeconds: Int64
    /// Seconds before the checkout page sends itself to TMoney (0: only on the button).
    public var checkoutAutoSubmitSeconds: Int
    /// The merchant's endpoints that receive signed webhook events.
    public var webhooks: [WebhookSettings.Endpoint]
    /// First retry delay of a failed webhook delivery; it doubles each time (with jitter), up to an hour.
    public var webhookRetryBaseSeconds: Double
    /// How long a webhook event is retried before it is set aside as failed (25 h by default).
    public var webhookGiveUpSeconds: Int64
    public var webhookTimeoutSeconds: Double
    /// At most this many webhook attempts in flight at one endpoint (4 by default).
    public var webhookConcurrencyPerEndpoint: Int
    /// How long delivered webhook events are kept in `outbox/sent/` (30 days by default; nil: for ever).
    public var webhookSentRetentionSeconds: Int64?
    /// Who may open the orders dashboard (`/admin/`); nil: the dashboard is off.
    public var admin: AdminCredentials?
    /// Free space kept for the changes of orders already made: below it, new orders and button posts are
    /// refused (503) and refused calls are no longer journaled, while notifications still are.
    public var diskReserveBytes: Int64
    /// The size past which the journal starts a new segment (`journal_segment_mb`), and how long closed
    /// segments are kept (`journal_retention_days`; nil: for ever). See docs/storage.md.
    public var journalSegmentBytes: Int64
    public var journalRetentionSeconds: Int64?
    /// Orders a payment button without its own reference may make, in all, per minute.
    public var buttonOrdersPerMinute: Int
    /// Attempts (sessions from TMoney) an order may have in all, and per minute.
    public var attemptsPerOrder: Int
    public var attemptsPerMinute: Int
    /// Workers that may wait on TMoney for a session at once: the others answer a busy page at once, so that
    /// a gateway that hangs never takes the workers TMoney's notifications need.
    public var gatewayConcurrency: Int
    /// TMoney's MBANKING partner API (paying from the phone, refunds); nil: not offered.
    public var mbanking: MBankingClient.Settings?
    /// Where MBANKING's callback comes (`/callbacks/tmoney`).
    public var mbankingCallbackPath: String
    /// Addresses allowed to call it: Togocom's servers.
    public var mbankingCallbackAllowlist: AddressAllowlist
    /// How often the reconciliation job looks for open push attempts and refunds, and when it first asks about one.
    public var reconciliationIntervalSeconds: Double
    public var reconciliation: ReconciliationSchedule
    /// Caps on payouts: per payout and per UTC day, in francs.
    public var payoutLimits: PayoutLimits
    /// Flooz's merchant debit service (paying from a Moov phone); nil: not offered.
    public var flooz: FloozClient.Settings?
    public var floozCallbackPath: String
    /// Addresses allowed to call Flooz's callback: Moov's servers.
    public var floozCallbackAllowlist: AddressAllowlist
    /// Per operator: offered or not, and the amounts per transaction it is offered for (`operators`).
    public var operatorLimits: [Operator: OperatorLimits]

    // MARK: - What each part of Cross is given

    public var orderPolicy: OrderPolicy {
        OrderPolicy(
            currency: currency, brand: brand, language: defaultLanguage, allowedReturnHosts: allowedReturnHosts,
            defaults: OrderDetails(acceptURL: defaultReturnURLs.accept, declineURL: defaultReturnURLs.decline, cancelURL: defaultReturnURLs.cancel))
    }

    public var cashierSettings: Cashier.Settings {
        Cashier.Settings(
            policy: orderPolicy, orderLifetimeSeconds: orderExpirySeconds, raisesWebhooks: !webhooks.isEmpty,
            attemptLimits: OrderLifecycle.AttemptLimits(perOrder: attemptsPerOrder, perMinute: attemptsPerMinute),
            operatorCallsAtOnce: gatewayConcurrency, buttonOrdersPerMinute: buttonOrdersPerMinute, reconciliation: reconciliation,
            payoutLimits: payoutLimits)
    }

    public var tmoneyOnline: TMoneyOnline.Settings {
        TMoneyOnline.Settings(
            gatewayURL: gatewayURL, merchantID: merchantID, timeoutSeconds: gatewayTimeoutSeconds, phoneFieldName: phoneFieldName,
            sessionLifetimeSeconds: sessionLifetimeSeconds)
    }

    public var checkout: CheckoutSettings {
        CheckoutSettings(publicURL: publicURL, autoSubmitSeconds: checkoutAutoSubmitSeconds, buttonSecret: buttonSecret, defaultLanguage: defaultLanguage)
    }

    public var webhookSettings: WebhookSettings {
        WebhookSettings(
            endpoints: webhooks, retryBaseSeconds: webhookRetryBaseSeconds, giveUpSeconds: webhookGiveUpSeconds,
            timeoutSeconds: webhookTimeoutSeconds, concurrencyPerEndpoint: webhookConcurrencyPerEndpoint,
            sentRetentionSeconds: webhookSentRetentionSeconds, version: Application.version)
    }

    public var links: OrderLink { OrderLink(secret: linkSecret, publicURL: publicURL) }

    typealias Invalid = ConfigurationError

    /// Reads and checks the file; `environment` supplies secrets and overrides. In production the file must also
    /// pass `ProductionChecks`.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment, mode: RunMode = .production
    ) throws(ConfigurationError) -> Configuration {
        let file = try ConfigFile.read(File.self, path: path, subject: "configuration")
        return try Configuration(file, directory: (path as NSString).deletingLastPathComponent, environment: environment, mode: mode)
    }

    /// The file as written: snake_case keys.
    struct File: Decodable {
        var merchant_id: String
        var gateway_url: String
        var gateway_timeout_seconds: Double?
        var phone_field_name: String?
        var brand: String
        var default_language: String?
        var currency: String?
        var public_url: String
        var return_urls: ReturnURLsFile?
        var allowed_return_hosts: [String]?
        var notification_path: String?
        var notification_allowlist: [String]
        var data_directory: String
        var api_keys: [String]?
        var link_secret: String?
        var button_secret: String?
        var session_lifetime_seconds: Int64?
        var order_expiry_seconds: Int64?
        var checkout_auto_submit_seconds: Int?
        var webhooks: [WebhookFile]?
        var webhook_retry_base_seconds: Double?
        var webhook_give_up_hours: Double?
        var webhook_timeout_seconds: Double?
        var webhook_concurrency_per_endpoint: Int?
        var webhook_sent_retention_days: Double?
        var admin: AdminFile?
        var disk_reserve_mb: Int64?
        var journal_segment_mb: Double?
        var journal_retention_days: Double?
        var button_orders_per_minute: Int?
        var attempts_per_order: Int?
        var attempts_per_minute: Int?
        var gateway_concurrency: Int?
        var mbanking: MBankingFile?
        var mbanking_callback_allowlist: [String]?
        var reconciliation_interval_seconds: Double?
        var reconciliation_first_check_seconds: Int64?
        var credit_resend_after_seconds: Int64?
        var payout_max_amount: Int64?
        var payout_daily_limit: Int64?
        var flooz: FloozFile?
        var flooz_callback_allowlist: [String]?
        var operators: [String: OperatorFile]?

        struct FloozFile: Decodable {
            var token_url: String?
            var debit_url: String
            var verify_url: String
            var key_scheme: String?
            var user: String
            var password: String?
            var header_key: String?
            var merchant_name: String?
            var partner_msisdn: String
            var timeout_seconds: Double?
            var prompt_lifetime_seconds: Int64?
            var key_lifetime_seconds: Int64?
            var callback_path: String?
            var accepted_codes: [String]?
            var success_statuses: [String]?
            var pending_statuses: [String]?
            var unknown_codes: [String]?
        }

        struct OperatorFile: Decodable {
            var enabled: Bool?
            var min_amount: Int64?
            var max_amount: Int64?
        }

        struct MBankingFile: Decodable {
            var login_url: String
            var push_url: String
            var credit_url: String?
            var credit_version: String?
            var user: String
            var password: String?
            var partner_id: String?
            var timeout_seconds: Double?
            var prompt_lifetime_seconds: Int64?
            var callback_path: String?
            var bearer_prefix: Bool?
            var debit_accepted_codes: [String]?
        }

        struct WebhookFile: Decodable {
            var url: String
            var secret: String?
        }

        struct AdminFile: Decodable {
            var user: String
            var password_hash: String
        }

        struct ReturnURLsFile: Decodable {
            var accept: String?
            var decline: String?
            var cancel: String?
        }
    }

    init(_ file: File, directory: String, environment: [String: String], mode: RunMode) throws(ConfigurationError) {
        self.mode = mode
        func check<T>(_ key: String, _ body: () throws(FieldError) -> T) throws(ConfigurationError) -> T {
            do { return try body() } catch { throw Invalid("configuration", key: key, problem: error.message) }
        }
        func bounded<Value: Comparable>(
            _ value: Value?, default fallback: Value, in range: ClosedRange<Value>, key: String, problem: String
        ) throws(ConfigurationError) -> Value {
            try ConfigFile.bounded(value, default: fallback, in: range, subject: "configuration", key: key, problem: problem)
        }
        merchantID = try check("merchant_id") { () throws(FieldError) in try FieldRule.merchantID(file.merchant_id) }
        gatewayURL = try Self.baseURL(file.gateway_url, key: "gateway_url")
        gatewayTimeoutSeconds = try bounded(file.gateway_timeout_seconds, default: 10, in: 0.1...120, key: "gateway_timeout_seconds", problem: "must be 0.1 to 120")
        phoneFieldName = file.phone_field_name ?? "phonenumber"
        guard ["phonenumber", "phonennumber"].contains(phoneFieldName) else {
            throw Invalid("configuration", key: "phone_field_name", problem: "must be phonenumber or phonennumber")
        }
        brand = try check("brand") { () throws(FieldError) in try FieldRule.brand(file.brand) }
        defaultLanguage = try check("default_language") { () throws(FieldError) in try FieldRule.language(file.default_language ?? "fr") }
        currency = try check("currency") { () throws(FieldError) in try FieldRule.currency(file.currency ?? "952") }
        publicURL = try Self.baseURL(file.public_url, key: "public_url")
        // A return URL given to TMoney is public_url + "/return/decline?order=" + a 49-character token.
        let longest = publicURL.count + "/return/decline?order=".count + 49
        guard longest <= 150 else {
            throw Invalid("configuration", key: "public_url", problem: "is too long: return URLs built on it would pass TMoney's 150 characters (\(longest))")
        }
        notificationPath = file.notification_path ?? "/notify"
        guard notificationPath.hasPrefix("/"), !notificationPath.contains("?"), notificationPath.count > 1 else {
            throw Invalid("configuration", key: "notification_path", problem: "must be a path such as /notify")
        }
        notificationAllowlist = try check("notification_allowlist") { () throws(FieldError) in
            try AddressAllowlist(file.notification_allowlist)
        }
        guard !file.notification_allowlist.isEmpty else {
            throw Invalid("configuration", key: "notification_allowlist", problem: "must name TMoney's addresses (it is empty)")
        }
        let publicHost = URLComponents(string: publicURL)?.host ?? ""
        allowedReturnHosts = file.allowed_return_hosts ?? [publicHost]
        for host in allowedReturnHosts where host.isEmpty || host.contains("/") || host.contains(" ") {
            throw Invalid("configuration", key: "allowed_return_hosts", problem: "has \"\(host)\", which is not a host name")
        }
        let allowedHosts = allowedReturnHosts + [publicHost]
        func url(_ value: String?, _ key: String) throws(ConfigurationError) -> String? {
            guard let value else { return nil }
            return try check(key) { () throws(FieldError) in try FieldRule.returnURL(value, allowedHosts: allowedHosts, field: key) }
        }
        defaultReturnURLs = ReturnURLs(
            accept: try url(file.return_urls?.accept, "return_urls.accept"),
            decline: try url(file.return_urls?.decline, "return_urls.decline"),
            cancel: try url(file.return_urls?.cancel, "return_urls.cancel"))
        dataDirectory = file.data_directory.hasPrefix("/") ? file.data_directory : directory + "/" + file.data_directory
        apiKeys = environment["CROSS_API_KEYS"].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            ?? file.api_keys ?? []
        for key in apiKeys where key.count < 16 {
            throw Invalid("configuration", key: "api_keys", problem: "has a key shorter than 16 characters")
        }
        linkSecret = environment["CROSS_LINK_SECRET"] ?? file.link_secret ?? ""
        guard linkSecret.count >= 16 else { throw Invalid("configuration", key: "link_secret", problem: "must be at least 16 characters (or set CROSS_LINK_SECRET)") }
        buttonSecret = environment["CROSS_BUTTON_SECRET"] ?? file.button_secret ?? ""
        guard buttonSecret.count >= 16 else { throw Invalid("configuration", key: "button_secret", problem: "must be at least 16 characters (or set CROSS_BUTTON_SECRET)") }
        sessionLifetimeSeconds = try bounded(file.session_lifetime_seconds, default: 180, in: 31...86_400, key: "session_lifetime_seconds", problem: "must be 31 to 86400")
        orderExpirySeconds = try bounded(file.order_expiry_seconds, default: 7 * 86_400, in: 60...366 * 86_400, key: "order_expiry_seconds", problem: "must be 60 seconds to a year")
        checkoutAutoSubmitSeconds = try bounded(file.checkout_auto_submit_seconds, default: 0, in: 0...60, key: "checkout_auto_submit_seconds", problem: "must be 0 to 60")
        webhooks = try (file.webhooks ?? []).enumerated().map { (index, webhook) throws(ConfigurationError) in
            let key = "webhooks[\(index)]"
            guard let components = URLComponents(string: webhook.url), let scheme = components.scheme,
                  scheme == "http" || scheme == "https", components.host?.isEmpty == false else {
                throw Invalid("configuration", key: key + ".url", problem: "must be an http or https URL")
            }
            // One secret for every endpoint may come from the environment rather than the file.
            let secret = webhook.secret ?? environment["CROSS_WEBHOOK_SECRET"] ?? ""
            guard secret.count >= 16 else {
                throw Invalid("configuration", key: key + ".secret", problem: "must be at least 16 characters (or set CROSS_WEBHOOK_SECRET)")
            }
            return WebhookSettings.Endpoint(url: webhook.url, secret: secret)
        }
        webhookRetryBaseSeconds = try bounded(file.webhook_retry_base_seconds, default: 10, in: 0.05...3600, key: "webhook_retry_base_seconds", problem: "must be 0.05 to 3600")
        let giveUpHours = file.webhook_give_up_hours ?? 25
        guard giveUpHours > 0 && giveUpHours <= 24 * 30 else {
            throw Invalid("configuration", key: "webhook_give_up_hours", problem: "must be more than 0 and at most 720 (it should be at least 24)")
        }
        webhookGiveUpSeconds = Int64(giveUpHours * 3600)
        webhookTimeoutSeconds = try bounded(file.webhook_timeout_seconds, default: 10, in: 0.1...120, key: "webhook_timeout_seconds", problem: "must be 0.1 to 120")
        webhookConcurrencyPerEndpoint = try bounded(
            file.webhook_concurrency_per_endpoint, default: 4, in: 1...64, key: "webhook_concurrency_per_endpoint", problem: "must be a whole number from 1 to 64")
        let retentionDays = try bounded(
            file.webhook_sent_retention_days, default: 30, in: 0...3650, key: "webhook_sent_retention_days",
            problem: "must be 0 (keep for ever) or a number of days up to 3650")
        webhookSentRetentionSeconds = retentionDays == 0 ? nil : Int64(retentionDays * 86_400)
        if let admin = file.admin {
            guard !admin.user.isEmpty, !admin.user.contains(":") else {
                throw Invalid("configuration", key: "admin.user", problem: "must be a non-empty name without a colon")
            }
            guard admin.password_hash.hasPrefix("pbkdf2-sha256$"), admin.password_hash.split(separator: "$").count == 4 else {
                throw Invalid("configuration", key: "admin.password_hash", problem: "must be made by `cross admin hash-password` (pbkdf2-sha256$…)")
            }
            self.admin = AdminCredentials(user: admin.user, passwordHash: admin.password_hash)
        } else {
            self.admin = nil
        }
        let reserve = try bounded(file.disk_reserve_mb, default: 64, in: 0...1_000_000, key: "disk_reserve_mb", problem: "must be 0 to 1000000 (megabytes)")
        diskReserveBytes = reserve << 20
        // A fraction of a megabyte is for tests (the crash loop rotates every few seconds).
        let segmentMB = try bounded(file.journal_segment_mb, default: 64, in: 0.001...65_536, key: "journal_segment_mb", problem: "must be 0.001 to 65536 (megabytes)")
        // A fraction of a day, like webhook_sent_retention_days, is for tests and the bench.
        if let days = file.journal_retention_days, !(0.001...36_500).contains(days) {
            throw Invalid("configuration", key: "journal_retention_days", problem: "must be 0.001 to 36500 (days), or left out to keep the journal for ever")
        }
        journalSegmentBytes = Int64(segmentMB * 1_048_576)
        journalRetentionSeconds = file.journal_retention_days.map { Int64(($0 * 86_400).rounded()) }
        buttonOrdersPerMinute = try bounded(file.button_orders_per_minute, default: 60, in: 1...100_000, key: "button_orders_per_minute", problem: "must be 1 to 100000")
        attemptsPerOrder = try bounded(file.attempts_per_order, default: 10, in: 1...1000, key: "attempts_per_order", problem: "must be 1 to 1000")
        attemptsPerMinute = try bounded(file.attempts_per_minute, default: 3, in: 1...attemptsPerOrder, key: "attempts_per_minute", problem: "must be 1 to attempts_per_order (\(attemptsPerOrder))")
        gatewayConcurrency = try bounded(file.gateway_concurrency, default: 4, in: 1...1024, key: "gateway_concurrency", problem: "must be 1 to 1024")
        if let file = file.mbanking {
            let key = "mbanking."
            let credit = try Self.serviceURL(file.credit_url ?? file.push_url, key: key + "credit_url")
            guard let version = MBankingClient.CreditVersion(rawValue: file.credit_version ?? "v2") else {
                throw Invalid("configuration", key: key + "credit_version", problem: "must be v2 (the JSON credit) or v1 (the old GET form)")
            }
            guard !file.user.isEmpty else { throw Invalid("configuration", key: key + "user", problem: "must be the partner user Togocom gave") }
            let password = environment["CROSS_MBANKING_PASSWORD"] ?? file.password ?? ""
            guard !password.isEmpty else {
                throw Invalid("configuration", key: key + "password", problem: "must be the partner password (or set CROSS_MBANKING_PASSWORD)")
            }
            let partnerID = file.partner_id ?? ""
            guard version == .v2 || !partnerID.isEmpty else {
                throw Invalid("configuration", key: key + "partner_id", problem: "is required for credit_version v1 (its merchantid)")
            }
            let codes = Set(file.debit_accepted_codes ?? ["2000", "0"])
            guard !codes.isEmpty else { throw Invalid("configuration", key: key + "debit_accepted_codes", problem: "must name at least one code") }
            mbanking = MBankingClient.Settings(
                loginURL: try Self.serviceURL(file.login_url, key: key + "login_url"), pushURL: try Self.serviceURL(file.push_url, key: key + "push_url"),
                creditURL: credit, creditVersion: version, user: file.user, password: password, partnerID: partnerID,
                timeoutSeconds: try bounded(file.timeout_seconds, default: 15, in: 0.1...120, key: key + "timeout_seconds", problem: "must be 0.1 to 120"),
                promptLifetimeSeconds: try bounded(file.prompt_lifetime_seconds, default: 120, in: 10...3600, key: key + "prompt_lifetime_seconds", problem: "must be 10 to 3600"),
                dialect: Wire.Dialect(debitAcceptedCodes: codes, bearerPrefix: file.bearer_prefix ?? true))
            mbankingCallbackPath = file.callback_path ?? "/callbacks/tmoney"
            guard mbankingCallbackPath.hasPrefix("/"), !mbankingCallbackPath.contains("?"), mbankingCallbackPath.count > 1,
                mbankingCallbackPath != notificationPath
            else {
                throw Invalid("configuration", key: key + "callback_path", problem: "must be a path such as /callbacks/tmoney, not the notification's")
            }
        } else {
            mbanking = nil
            mbankingCallbackPath = "/callbacks/tmoney"
        }
        mbankingCallbackAllowlist = try check("mbanking_callback_allowlist") { () throws(FieldError) in
            try AddressAllowlist(file.mbanking_callback_allowlist ?? [])
        }
        if mbanking != nil && mbankingCallbackAllowlist.ranges.isEmpty {
            throw Invalid("configuration", key: "mbanking_callback_allowlist", problem: "must name Togocom's addresses for MBANKING's callback (it is empty)")
        }
        reconciliationIntervalSeconds = try bounded(file.reconciliation_interval_seconds, default: 5, in: 0.1...3600, key: "reconciliation_interval_seconds", problem: "must be 0.1 to 3600")
        let timeout = Int64((mbanking?.timeoutSeconds ?? 15).rounded(.up))
        reconciliation = ReconciliationSchedule(
            firstAfter: try bounded(file.reconciliation_first_check_seconds, default: 15, in: 1...3600, key: "reconciliation_first_check_seconds", problem: "must be 1 to 3600"),
            creditResendAfter: try bounded(
                file.credit_resend_after_seconds, default: 60, in: (timeout + 1)...86_400, key: "credit_resend_after_seconds",
                problem: "must be more than mbanking.timeout_seconds (\(timeout)) and at most 86400: an answer may still come until then"))
        let perPayout = try bounded(file.payout_max_amount, default: 500_000, in: 1...Amount.maximum, key: "payout_max_amount", problem: "must be 1 to \(Amount.maximum) francs")
        payoutLimits = PayoutLimits(
            perPayout: perPayout,
            perDay: try bounded(file.payout_daily_limit, default: 2_000_000, in: perPayout...Amount.maximum, key: "payout_daily_limit", problem: "must be payout_max_amount (\(perPayout)) to \(Amount.maximum) francs"))
        if let file = file.flooz {
            let key = "flooz."
            guard let scheme = Wire.KeyScheme(rawValue: file.key_scheme ?? "token") else {
                throw Invalid("configuration", key: key + "key_scheme", problem: "must be token (a key from the token service) or header (an Authorization header)")
            }
            guard !file.user.isEmpty else { throw Invalid("configuration", key: key + "user", problem: "must be the merchant user Moov gave") }
            let password = environment["CROSS_FLOOZ_PASSWORD"] ?? file.password ?? ""
            guard !password.isEmpty else { throw Invalid("configuration", key: key + "password", problem: "must be the merchant password (or set CROSS_FLOOZ_PASSWORD)") }
            var headerKey: [UInt8] = []
            if scheme == .header {
                guard let hex = environment["CROSS_FLOOZ_HEADER_KEY"] ?? file.header_key, let bytes = Hex.decode(hex), bytes.count == 32 else {
                    throw Invalid("configuration", key: key + "header_key", problem: "must be Moov's 32-byte key as 64 hex digits (or set CROSS_FLOOZ_HEADER_KEY)")
                }
                headerKey = bytes
            }
            guard scheme == .header || file.token_url != nil else {
                throw Invalid("configuration", key: key + "token_url", problem: "is required with key_scheme token")
            }
            guard let partner = PhoneNumber(file.partner_msisdn), partner.suggestedOperator != nil else {
                throw Invalid("configuration", key: key + "partner_msisdn", problem: "must be the merchant's Flooz number (+228 and 8 digits)")
            }
            func codes(_ value: [String]?, _ fallback: Set<String>, _ name: String) throws(ConfigurationError) -> Set<String> {
                let set = value.map(Set.init) ?? fallback
                guard !set.isEmpty else { throw Invalid("configuration", key: key + name, problem: "must name at least one code") }
                return set
            }
            let shownName = file.merchant_name ?? brand
            let merchantName = try check(key + "merchant_name") { () throws(FieldError) in try FieldRule.brand(shownName, field: "merchant_name") }
            flooz = FloozClient.Settings(
                tokenURL: file.token_url == nil ? "" : try Self.serviceURL(file.token_url!, key: key + "token_url"),
                debitURL: try Self.serviceURL(file.debit_url, key: key + "debit_url"), verifyURL: try Self.serviceURL(file.verify_url, key: key + "verify_url"),
                keyScheme: scheme, user: file.user, password: password, headerKey: headerKey, merchantName: merchantName, partner: partner,
                timeoutSeconds: try bounded(file.timeout_seconds, default: 15, in: 0.1...120, key: key + "timeout_seconds", problem: "must be 0.1 to 120"),
                promptLifetimeSeconds: try bounded(file.prompt_lifetime_seconds, default: 120, in: 10...3600, key: key + "prompt_lifetime_seconds", problem: "must be 10 to 3600"),
                keyLifetimeSeconds: try bounded(file.key_lifetime_seconds, default: 240, in: 1...86_400, key: key + "key_lifetime_seconds", problem: "must be 1 to 86400"),
                indexPath: dataDirectory + "/flooz/key-index",
                dialect: Wire.Dialect(
                    acceptedCodes: try codes(file.accepted_codes, ["0"], "accepted_codes"), successStatuses: try codes(file.success_statuses, ["0"], "success_statuses"),
                    pendingStatuses: try codes(file.pending_statuses, ["2"], "pending_statuses"), unknownCodes: try codes(file.unknown_codes, ["404"], "unknown_codes")))
            floozCallbackPath = file.callback_path ?? "/callbacks/flooz"
            guard floozCallbackPath.hasPrefix("/"), !floozCallbackPath.contains("?"), floozCallbackPath.count > 1,
                floozCallbackPath != notificationPath, floozCallbackPath != mbankingCallbackPath
            else {
                throw Invalid("configuration", key: key + "callback_path", problem: "must be a path such as /callbacks/flooz, not another operator's")
            }
        } else {
            flooz = nil
            floozCallbackPath = "/callbacks/flooz"
        }
        floozCallbackAllowlist = try check("flooz_callback_allowlist") { () throws(FieldError) in try AddressAllowlist(file.flooz_callback_allowlist ?? []) }
        if flooz != nil && floozCallbackAllowlist.ranges.isEmpty {
            throw Invalid("configuration", key: "flooz_callback_allowlist", problem: "must name Moov's addresses for Flooz's callback (it is empty)")
        }
        var limits: [Operator: OperatorLimits] = [:]
        for (name, entry) in file.operators ?? [:] {
            guard let op = Operator(rawValue: name) else {
                throw Invalid("configuration", key: "operators." + name, problem: "is no operator: tmoney or flooz")
            }
            let key = "operators." + name + "."
            let minimum = try bounded(entry.min_amount, default: Amount.minimum, in: Amount.minimum...Amount.maximum, key: key + "min_amount", problem: "must be \(Amount.minimum) to \(Amount.maximum) francs")
            let maximum = try bounded(entry.max_amount, default: Amount.maximum, in: minimum...Amount.maximum, key: key + "max_amount", problem: "must be min_amount (\(minimum)) to \(Amount.maximum) francs")
            limits[op] = OperatorLimits(enabled: entry.enabled ?? true, minimum: minimum, maximum: maximum)
        }
        if limits[.flooz]?.enabled == true && flooz == nil {
            throw Invalid("configuration", key: "operators.flooz.enabled", problem: "needs a flooz section (its service's URLs and credentials)")
        }
        operatorLimits = limits
        if mode == .production { try ProductionChecks.check(self) }
    }

    /// What the merchant allows of `op`: its `operators` entry, else offered for every amount when it is configured.
    public func limits(for op: Operator) -> OperatorLimits {
        let configured = op == .tmoney || flooz != nil
        var limits = operatorLimits[op] ?? OperatorLimits()
        if !configured { limits.enabled = false }
        return limits
    }

    /// An http(s) URL, with a path or not (an operator's service), without a query or a trailing slash.
    static func serviceURL(_ value: String, key: String) throws(ConfigurationError) -> String {
        let trimmed = value.hasSuffix("/") ? String(value.dropLast()) : value
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme,
              scheme == "http" || scheme == "https", components.host?.isEmpty == false,
              components.query == nil, components.fragment == nil else {
            throw Invalid("configuration", key: key, problem: "must be an http or https URL such as https://ms-tpc-prep.togocom.tg")
        }
        return trimmed
    }

    /// An http(s) URL with no path, query or trailing slash.
    static func baseURL(_ value: String, key: String) throws(ConfigurationError) -> String {
        let trimmed = value.hasSuffix("/") ? String(value.dropLast()) : value
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme,
              scheme == "http" || scheme == "https", components.host?.isEmpty == false,
              components.query == nil, components.fragment == nil, components.path.isEmpty else {
            throw Invalid("configuration", key: key, problem: "must be an http or https URL with no path, such as https://pay.example.tg")
        }
        return trimmed
    }
}
