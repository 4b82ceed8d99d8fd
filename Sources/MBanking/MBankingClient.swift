import Logging
import OutboundHTTP
import Payments
import Support

/// Togocom's MBANKING partner API, as Cross calls it: login for a JWT, debit by push-USSD, check-transaction,
/// and credit (v2 by default, v1 by configuration). Every call has a timeout, follows no redirect and reads at
/// most 256 KB; a 401 renews the token and the call is made once more. The password is never logged, nor is
/// v1's URL, which carries it.
public struct MBankingClient: PushOperator, CreditOperator {
    public enum CreditVersion: String, Sendable {
        /// `POST {credit}` with the debit's JSON fields.
        case v2
        /// TagPay's `GET tpcredit.php?merchantid=…&password=…` (XML answer).
        case v1
    }

    public struct Settings: Sendable {
        /// `{login}` of `POST {login}/login`.
        public var loginURL: String
        /// `{push}` of `POST {push}/debit` and `GET {push}/transactionid`.
        public var pushURL: String
        /// The credit's full URL (v2: POST; v1: GET).
        public var creditURL: String
        public var creditVersion: CreditVersion
        public var user: String
        public var password: String
        /// v1's `merchantid`.
        public var partnerID: String
        public var timeoutSeconds: Double
        public var promptLifetimeSeconds: Int64
        public var dialect: Wire.Dialect

        public init(
            loginURL: String, pushURL: String, creditURL: String, creditVersion: CreditVersion = .v2, user: String, password: String,
            partnerID: String = "", timeoutSeconds: Double = 15, promptLifetimeSeconds: Int64 = 120, dialect: Wire.Dialect = Wire.Dialect()
        ) {
            self.loginURL = loginURL
            self.pushURL = pushURL
            self.creditURL = creditURL
            self.creditVersion = creditVersion
            self.user = user
            self.password = password
            self.partnerID = partnerID
            self.timeoutSeconds = timeoutSeconds
            self.promptLifetimeSeconds = promptLifetimeSeconds
            self.dialect = dialect
        }
    }

    public let settings: Settings
    public var `operator`: Operator { .tmoney }
    public var promptLifetimeSeconds: Int64 { settings.promptLifetimeSeconds }
    private let http: OutboundHTTP
    private let tokens = SharedCredential<OperatorFailure>()
    private let clock: @Sendable () -> Timestamp
    private let logger: Logger

    public init(_ settings: Settings, clock: @escaping @Sendable () -> Timestamp = { .now() }, logger: Logger = Logger(label: "cross")) {
        self.settings = settings
        http = OutboundHTTP(timeoutSeconds: settings.timeoutSeconds, maxBodyBytes: 256 << 10)
        self.clock = clock
        self.logger = logger
    }

    /// Logins made so far (one per token lifetime, however many threads call).
    public var logins: Int { tokens.renewals }

    public func requestDebit(_ debit: OperatorRequest) -> Result<Void, OperatorFailure> {
        authorized("POST", settings.pushURL + "/debit", body: Wire.requestBody(debit), call: "debit").flatMap { answer in
            guard let ack = Wire.acknowledgement(answer.body) else {
                return .failure(.unrecognized(expected: "a debit acknowledgement", excerpt: answer.excerpt()))
            }
            guard settings.dialect.debitAcceptedCodes.contains(ack.code) else {
                return .failure(.refused(code: String((ack.code + " " + ack.message).prefix(200))))
            }
            return .success(())
        }
    }

    public func status(ofRequest reference: String) -> Result<RequestStatus, OperatorFailure> {
        authorized("GET", settings.pushURL + Wire.checkPath(reference), body: nil, call: "check-transaction").flatMap { answer in
            guard let status = Wire.status(fromCheck: answer.body, reference: reference) else {
                return .failure(.unrecognized(expected: "a check-transaction answer", excerpt: answer.excerpt()))
            }
            return .success(status)
        }
    }

    public func credit(_ credit: OperatorRequest) -> Result<String, OperatorFailure> {
        let answered: Result<OutboundHTTP.Answer, OperatorFailure>
        let ack: Wire.Acknowledgement?
        let succeeded: Set<String>
        switch settings.creditVersion {
        case .v2:
            answered = authorized("POST", settings.creditURL, body: Wire.requestBody(credit), call: "credit")
            ack = (try? answered.get()).flatMap { Wire.acknowledgement($0.body) }
            succeeded = settings.dialect.creditSucceededCodes
        case .v1:
            let url = Wire.creditV1URL(base: settings.creditURL, merchantID: settings.partnerID, password: settings.password, request: credit)
            answered = plain(http.send("GET", url), call: "credit v1")
            ack = (try? answered.get()).flatMap { Wire.creditV1Result($0.body) }
            succeeded = ["0"]
        }
        return answered.flatMap { answer in
            guard let ack else { return .failure(.unrecognized(expected: "a credit answer", excerpt: answer.excerpt())) }
            guard succeeded.contains(ack.code) else { return .failure(.refused(code: String((ack.code + " " + ack.message).prefix(200)))) }
            return .success(ack.operatorReference ?? "")
        }
    }

    // MARK: - Calls

    /// A call with the token; on a 401, the token is forgotten and the call made once more with a new one.
    private func authorized(_ method: String, _ url: String, body: [UInt8]?, call: String) -> Result<OutboundHTTP.Answer, OperatorFailure> {
        var headers: [(String, String)] = body == nil ? [] : [("Content-Type", "application/json")]
        headers.append(("Accept", "application/json"))
        for round in 1...2 {
            let token: String
            switch tokens.value(now: { clock().seconds }, obtain: login) {
            case .success(let value): token = value
            case .failure(let failure): return .failure(failure)
            }
            let sent = http.send(method, url, headers: headers + [Wire.authorization(token, settings.dialect)], body: body)
            if case .success(let answer) = sent, answer.status == 401 {
                tokens.invalidate(token)
                logger.warning("mbanking token refused: logging in again", metadata: ["call": "\(call)", "round": "\(round)"])
                if round == 2 { return .failure(.httpStatus(401)) }
                continue
            }
            return plain(sent, call: call)
        }
        return .failure(.httpStatus(401))
    }

    /// A new token, renewed a tenth of its lifetime (at most a minute) before its `exp`, so that no call leaves
    /// with a token about to expire; a token that is not a JWT is kept five minutes.
    private func login() -> Result<(value: String, renewAt: Int64), OperatorFailure> {
        let sent = http.send(
            "POST", settings.loginURL + "/login", headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Wire.loginBody(user: settings.user, password: settings.password))
        return plain(sent, call: "login").flatMap { answer in
            guard let token = Wire.token(fromLogin: answer.body) else {
                return .failure(.unrecognized(expected: "a login answer with data.token", excerpt: answer.excerpt()))
            }
            logger.info("mbanking login", metadata: [
                "user": "\(settings.user)", "token": "…\(token.suffix(6))",
                "expires": "\(Wire.expiry(ofJWT: token)?.iso8601 ?? "unknown (not a JWT)")",
            ])
            let issued = clock().seconds
            let expiry = Wire.expiry(ofJWT: token)?.seconds ?? issued + 300
            let lifetime = max(expiry - issued, 0)
            return .success((token, expiry - min(60, lifetime / 10)))
        }
    }

    /// The HTTP outcome as an operator's: only a 2xx is an answer to read.
    private func plain(_ sent: Result<OutboundHTTP.Answer, OutboundHTTP.Failure>, call: String) -> Result<OutboundHTTP.Answer, OperatorFailure> {
        switch sent {
        case .success(let answer) where (200..<300).contains(answer.status):
            return .success(answer)
        case .success(let answer):
            logger.warning("mbanking call refused", metadata: ["call": "\(call)", "status": "\(answer.status)"])
            return .failure(.httpStatus(answer.status))
        case .failure(.timeout):
            logger.warning("mbanking call timed out", metadata: ["call": "\(call)", "seconds": "\(settings.timeoutSeconds)"])
            return .failure(.timeout)
        case .failure(let failure):
            logger.warning("mbanking unreachable", metadata: ["call": "\(call)", "cause": "\(failure)"])
            return .failure(.transport(failure.description))
        }
    }
}
