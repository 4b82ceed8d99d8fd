import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Payments

/// TMoney Online as Cross's server sees it: the session id request (`GET /online/online.php?merchantid=…`),
/// made with a timeout. Only an `OK:<id>` body is a session id; everything else is a reason not to send the
/// shopper to TMoney now.
public struct Gateway: Sendable {
    public let baseURL: String
    public let merchantID: String
    public let timeoutSeconds: Double
    private let session: URLSession

    public init(baseURL: String, merchantID: String, timeoutSeconds: Double) {
        self.baseURL = baseURL
        self.merchantID = merchantID
        self.timeoutSeconds = timeoutSeconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpShouldSetCookies = false
        configuration.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: configuration)
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
        guard let url = URL(string: baseURL + "/online/online.php?merchantid=" + merchantID) else {
            return .failure(.transport("bad gateway URL"))
        }
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        request.timeoutInterval = timeoutSeconds
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            outcome.set(data: data, response: response, error: error)
            done.signal()
        }
        task.resume()
        // The session's own timeout should fire first; this one guards against it not doing so.
        if done.wait(timeout: .now() + timeoutSeconds + 2) == .timedOut {
            task.cancel()
            return .failure(.timeout)
        }
        let (data, response, error) = outcome.get()
        if let error {
            let code = (error as NSError).code
            return .failure(code == NSURLErrorTimedOut ? .timeout : .transport(error.localizedDescription))
        }
        guard let http = response as? HTTPURLResponse else { return .failure(.transport("no HTTP response")) }
        guard http.statusCode == 200 else { return .failure(.httpStatus(http.statusCode)) }
        let body = String(decoding: (data ?? Data()).prefix(4096), as: UTF8.self)
        switch SessionAnswer.parse(body) {
        case .session(let id): return .success(id)
        case .refused(let code): return .failure(.refused(code: code))
        case .unrecognized(let excerpt): return .failure(.unrecognized(excerpt: excerpt))
        }
    }

    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, URLResponse?, (any Error)?) = (nil, nil, nil)
        func set(data: Data?, response: URLResponse?, error: (any Error)?) { lock.withLock { value = (data, response, error) } }
        func get() -> (Data?, URLResponse?, (any Error)?) { lock.withLock { value } }
    }
}
