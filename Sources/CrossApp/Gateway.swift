import Foundation
import OutboundHTTP
import Payments

/// TMoney Online as Cross's server sees it: the session id request (`GET /online/online.php?merchantid=…`),
/// made with a timeout. Only an `OK:<id>` body is a session id; everything else is a reason not to send the
/// shopper to TMoney now.
public struct Gateway: Sendable {
    public let baseURL: String
    public let merchantID: String
    private let http: OutboundHTTP

    public init(baseURL: String, merchantID: String, timeoutSeconds: Double) {
        self.baseURL = baseURL
        self.merchantID = merchantID
        http = OutboundHTTP(timeoutSeconds: timeoutSeconds)
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// `NOK:<CODE>`.
        case refused(code: String)
        /// A 200 whose body is neither `OK:<id>` nor `NOK:<CODE>`.
        case unrecognized(excerpt: String)
        /// Not a 200.
        case httpStatus(Int)
        case timeout
        /// Could not connect, TLS failed, the connection broke.
        case transport(String)

        public var description: String {
            switch self {
            case .refused(let code): "gateway refused: NOK:\(code)"
            case .unrecognized(let excerpt): "gateway answered something that is not a session id: \"\(excerpt)\""
            case .httpStatus(let status): "gateway answered HTTP \(status)"
            case .timeout: "gateway did not answer in time"
            case .transport(let reason): "gateway unreachable: \(reason)"
            }
        }
    }

    public func requestSessionID() -> Result<SessionID, Failure> {
        switch http.send("GET", baseURL + "/online/online.php?merchantid=" + merchantID) {
        case .failure(.timeout):
            return .failure(.timeout)
        case .failure(let failure):
            return .failure(.transport(failure.description))
        case .success(let answer):
            guard answer.status == 200 else { return .failure(.httpStatus(answer.status)) }
            switch SessionAnswer.parse(String(decoding: answer.body.prefix(4096), as: UTF8.self)) {
            case .session(let id): return .success(id)
            case .refused(let code): return .failure(.refused(code: code))
            case .unrecognized(let excerpt): return .failure(.unrecognized(excerpt: excerpt))
            }
        }
    }
}
