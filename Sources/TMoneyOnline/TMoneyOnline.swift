import Foundation
import OutboundHTTP
import Payments

/// TMoney Online, the redirect flow of Togocom's TMoney, as the seed describes it: the session id request
/// (`GET /online/online.php?merchantid=…`, made with a timeout; only an `OK:<id>` body is a session id), the
/// order form the shopper's browser posts (`PaymentForm.swift`), and the notification (`Notification.swift`).
public struct TMoneyOnline: RedirectOperator {
    public struct Settings: Sendable {
        /// `https://<Url>` (the sandbox: `http://127.0.0.1:8081`).
        public var gatewayURL: String
        /// 16 digits, from the TMoney administrator.
        public var merchantID: String
        public var timeoutSeconds: Double
        /// The field name the gateway expects for the shopper's phone (`phonenumber`; the seed writes `phonennumber`).
        public var phoneFieldName: String
        /// How long a session id lives (180 s, as the seed says).
        public var sessionLifetimeSeconds: Int64

        public init(gatewayURL: String, merchantID: String, timeoutSeconds: Double, phoneFieldName: String = "phonenumber", sessionLifetimeSeconds: Int64 = 180) {
            self.gatewayURL = gatewayURL
            self.merchantID = merchantID
            self.timeoutSeconds = timeoutSeconds
            self.phoneFieldName = phoneFieldName
            self.sessionLifetimeSeconds = sessionLifetimeSeconds
        }
    }

    public let settings: Settings
    public var `operator`: Operator { .tmoney }
    private let http: OutboundHTTP

    public init(_ settings: Settings) {
        self.settings = settings
        // A session id answer is a line: anything much longer is not TMoney answering.
        http = OutboundHTTP(timeoutSeconds: settings.timeoutSeconds, maxBodyBytes: 64 << 10)
    }

    public func openSession() -> Result<RedirectSession, OperatorFailure> {
        switch http.send("GET", settings.gatewayURL + "/online/online.php?merchantid=" + settings.merchantID) {
        case .failure(.timeout):
            return .failure(.timeout)
        case .failure(let failure):
            return .failure(.transport(failure.description))
        case .success(let answer):
            // A redirect is not followed: a gateway that sends Cross elsewhere is not the gateway.
            guard answer.status == 200 else { return .failure(.httpStatus(answer.status)) }
            switch SessionAnswer.parse(String(decoding: answer.body.prefix(4096), as: UTF8.self)) {
            case .session(let id): return .success(RedirectSession(reference: id.value, lifetimeSeconds: settings.sessionLifetimeSeconds))
            case .refused(let code): return .failure(.refused(code: "NOK:" + code))
            case .unrecognized(let excerpt): return .failure(.unrecognized(expected: "a session id", excerpt: excerpt))
            }
        }
    }
}
