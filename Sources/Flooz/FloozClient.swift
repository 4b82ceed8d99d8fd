import Crypto
import Logging
import OutboundHTTP
import Payments
import Support

/// Flooz's merchant debit service as Cross calls it: a key (from the token service with an index that never goes
/// back, or the header scheme), the debit push, and verify. Every call has a timeout, follows no redirect and reads
/// at most 64 KB; a key refused (401) is renewed once and the call made again. The password and the key are never
/// logged (a key by its last 6 characters). Refunds and payouts are not offered: no public shape exists.
public struct FloozClient: PushOperator {
    public struct Settings: Sendable {
        public var tokenURL: String
        public var debitURL: String
        public var verifyURL: String
        public var keyScheme: Wire.KeyScheme
        public var user: String
        public var password: String
        /// The header scheme's 32-byte key, from Moov.
        public var headerKey: [UInt8]
        /// Shown to the client on the prompt (`mrchname`).
        public var merchantName: String
        /// The merchant's Flooz number (`partnermsisdn`).
        public var partner: PhoneNumber
        public var timeoutSeconds: Double
        public var promptLifetimeSeconds: Int64
        /// A key is renewed after this long even if never refused (the sources say nothing of its lifetime).
        public var keyLifetimeSeconds: Int64
        /// Where the key's index is kept (`data/flooz/key-index`).
        public var indexPath: String
        public var dialect: Wire.Dialect

        public init(
            tokenURL: String, debitURL: String, verifyURL: String, keyScheme: Wire.KeyScheme = .token, user: String, password: String,
            headerKey: [UInt8] = [], merchantName: String, partner: PhoneNumber, timeoutSeconds: Double = 15, promptLifetimeSeconds: Int64 = 120,
            keyLifetimeSeconds: Int64 = 240, indexPath: String, dialect: Wire.Dialect = Wire.Dialect()
        ) {
            self.tokenURL = tokenURL
            self.debitURL = debitURL
            self.verifyURL = verifyURL
            self.keyScheme = keyScheme
            self.user = user
            self.password = password
            self.headerKey = headerKey
            self.merchantName = merchantName
            self.partner = partner
            self.timeoutSeconds = timeoutSeconds
            self.promptLifetimeSeconds = promptLifetimeSeconds
            self.keyLifetimeSeconds = keyLifetimeSeconds
            self.indexPath = indexPath
            self.dialect = dialect
        }
    }

    public let settings: Settings
    public var `operator`: Operator { .flooz }
    public var promptLifetimeSeconds: Int64 { settings.promptLifetimeSeconds }
    private let http: OutboundHTTP
    private let keys = SharedCredential<OperatorFailure>()
    private let index: DurableCounter
    private let clock: @Sendable () -> Timestamp
    private let logger: Logger

    public init(_ settings: Settings, clock: @escaping @Sendable () -> Timestamp = { .now() }, logger: Logger = Logger(label: "cross")) {
        self.settings = settings
        http = OutboundHTTP(timeoutSeconds: settings.timeoutSeconds, maxBodyBytes: 64 << 10)
        index = DurableCounter(path: settings.indexPath)
        self.clock = clock
        self.logger = logger
    }

    /// Keys obtained so far.
    public var keysObtained: Int { keys.renewals }

    public func requestDebit(_ debit: OperatorRequest) -> Result<Void, OperatorFailure> {
        call(settings.debitURL, "debit") { key in
            Wire.debitBody(debit, key: key, merchantName: settings.merchantName, partner: settings.partner.international)
        }.flatMap { answer in
            guard let ack = Wire.acknowledgement(answer.body) else {
                return .failure(.unrecognized(expected: "a Flooz debit answer", excerpt: answer.excerpt()))
            }
            guard settings.dialect.acceptedCodes.contains(ack.code) else { return .failure(.refused(code: String((ack.code + " " + ack.message).prefix(200)))) }
            return .success(())
        }
    }

    public func status(ofRequest reference: String) -> Result<RequestStatus, OperatorFailure> {
        call(settings.verifyURL, "verify") { key in
            Wire.verifyBody(reference: reference, key: key, partner: settings.partner.international)
        }.flatMap { answer in
            guard let status = Wire.status(fromVerify: answer.body, settings.dialect) else {
                return .failure(.unrecognized(expected: "a Flooz verify answer", excerpt: answer.excerpt()))
            }
            return .success(status)
        }
    }

    // MARK: - Calls

    /// A POST with the key (in the body, or the header scheme's header); a 401 renews the key once.
    private func call(_ url: String, _ name: String, body: (String?) -> [UInt8]) -> Result<OutboundHTTP.Answer, OperatorFailure> {
        for round in 1...2 {
            var headers: [(String, String)] = [("Content-Type", "application/json"), ("Accept", "application/json")]
            var key: String?
            switch settings.keyScheme {
            case .token:
                switch keys.value(now: { clock().seconds }, obtain: obtainKey) {
                case .success(let value): key = value
                case .failure(let failure): return .failure(failure)
                }
            case .header:
                do {
                    headers.append(("Authorization", try Wire.authorizationHeader(
                        user: settings.user, password: settings.password, key: SymmetricKey(data: settings.headerKey))))
                } catch {
                    return .failure(.transport("cannot make the Authorization header: \(error)"))
                }
            }
            let sent = http.send("POST", url, headers: headers, body: body(key))
            if case .success(let answer) = sent, answer.status == 401 {
                if let key { keys.invalidate(key) }
                logger.warning("flooz key refused: a new one", metadata: ["call": "\(name)", "round": "\(round)"])
                if round == 2 { return .failure(.httpStatus(401)) }
                continue
            }
            return plain(sent, call: name)
        }
        return .failure(.httpStatus(401))
    }

    /// A key from the token service, with the next index (durable before it is used, so that it never goes back);
    /// an index the service says was used is followed by a higher one, once.
    private func obtainKey() -> Result<(value: String, renewAt: Int64), OperatorFailure> {
        for _ in 1...2 {
            let next: Int64
            do { next = try index.next() } catch { return .failure(.transport("\(error)")) }
            let url = Wire.tokenURL(base: settings.tokenURL, index: next, user: settings.user, password: settings.password)
            // The URL carries the password: failures are logged without it.
            switch plain(http.send("GET", url, headers: [("Accept", "application/json")]), call: "token") {
            case .failure(let failure):
                return .failure(failure)
            case .success(let answer):
                let (key, code) = Wire.key(fromToken: answer.body)
                if let key {
                    logger.info("flooz key", metadata: ["index": "\(next)", "key": "…\(key.suffix(6))"])
                    return .success((key, clock().seconds + settings.keyLifetimeSeconds))
                }
                guard code == "1" else {
                    return .failure(code.map { .refused(code: "token " + $0) } ?? .unrecognized(expected: "a Flooz key", excerpt: answer.excerpt()))
                }
                logger.warning("flooz key index refused as used: the next one", metadata: ["index": "\(next)"])
            }
        }
        return .failure(.refused(code: "token index refused twice"))
    }

    private func plain(_ sent: Result<OutboundHTTP.Answer, OutboundHTTP.Failure>, call: String) -> Result<OutboundHTTP.Answer, OperatorFailure> {
        switch sent {
        case .success(let answer) where (200..<300).contains(answer.status) || answer.status == 400:
            // Flooz answers a field it refuses with 400 and a code: that is an answer to read.
            return .success(answer)
        case .success(let answer):
            logger.warning("flooz call refused", metadata: ["call": "\(call)", "status": "\(answer.status)"])
            return .failure(.httpStatus(answer.status))
        case .failure(.timeout):
            logger.warning("flooz call timed out", metadata: ["call": "\(call)", "seconds": "\(settings.timeoutSeconds)"])
            return .failure(.timeout)
        case .failure:
            logger.warning("flooz unreachable", metadata: ["call": "\(call)"])
            return .failure(.transport("unreachable"))
        }
    }
}
