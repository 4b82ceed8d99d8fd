/// The merchant's endpoints and how events are delivered to them.
public struct WebhookSettings: Sendable {
    /// An endpoint of the merchant's, and the secret its events are signed with.
    public struct Endpoint: Sendable, Equatable {
        public let url: String
        public let secret: String

        public init(url: String, secret: String) {
            self.url = url
            self.secret = secret
        }
    }

    public var endpoints: [Endpoint]
    /// First retry delay of a failed delivery; it doubles each time (with jitter), up to an hour.
    public var retryBaseSeconds: Double
    /// How long an event is retried before it is set aside as failed (25 h by default).
    public var giveUpSeconds: Int64
    public var timeoutSeconds: Double
    /// At most this many attempts in flight at one endpoint at a time (4 by default).
    public var concurrencyPerEndpoint: Int
    /// How long a delivered event is kept in `outbox/sent/` (30 days by default; nil: kept for ever).
    public var sentRetentionSeconds: Int64?
    /// Cross's version, in the `User-Agent` of every delivery.
    public var version: String

    public init(
        endpoints: [Endpoint], retryBaseSeconds: Double = 10, giveUpSeconds: Int64 = 25 * 3600, timeoutSeconds: Double = 10,
        concurrencyPerEndpoint: Int = 4, sentRetentionSeconds: Int64? = 30 * 86_400, version: String
    ) {
        self.endpoints = endpoints
        self.retryBaseSeconds = retryBaseSeconds
        self.giveUpSeconds = giveUpSeconds
        self.timeoutSeconds = timeoutSeconds
        self.concurrencyPerEndpoint = concurrencyPerEndpoint
        self.sentRetentionSeconds = sentRetentionSeconds
        self.version = version
    }
}
