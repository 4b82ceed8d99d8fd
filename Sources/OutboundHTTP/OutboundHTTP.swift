import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request from a worker or a background thread, answered synchronously, with a timeout that holds:
/// the session id request to TMoney, the sandbox's notifications, the merchant's webhooks. URLSession (libcurl
/// on Linux) does the work; this wraps it once for all three.
public struct OutboundHTTP: Sendable {
    public let timeoutSeconds: Double
    private let session: URLSession

    public struct Answer: Sendable, Equatable {
        public let status: Int
        public let headers: [String: String]
        public let body: [UInt8]

        /// The start of the body on one line, printable, for a log or an error message.
        public func excerpt(_ length: Int = 120) -> String {
            let text = String(decoding: body.prefix(length * 4), as: UTF8.self)
            return String(text.unicodeScalars.prefix(length).map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
                .trimmingCharacters(in: .whitespaces)
        }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case badURL
        case timeout(seconds: Double)
        /// Could not connect, TLS failed, the connection broke.
        case transport(String)

        public var description: String {
            switch self {
            case .badURL: "not a URL"
            case .timeout(let seconds): "no answer within \(seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)) s"
            case .transport(let reason): reason
            }
        }
    }

    /// With `followRedirects` false a 3xx is the answer: a POST redirected would become a GET.
    public init(timeoutSeconds: Double, followRedirects: Bool = true) {
        self.timeoutSeconds = timeoutSeconds
        let configuration = URLSessionConfiguration.ephemeral
        // URLSession counts its timeout in whole seconds on Linux; the wait in `send` keeps the exact one.
        configuration.timeoutIntervalForRequest = max(1, timeoutSeconds.rounded(.up))
        configuration.timeoutIntervalForResource = max(1, timeoutSeconds.rounded(.up))
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: configuration, delegate: followRedirects ? nil : RefuseRedirects(), delegateQueue: nil)
    }

    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) -> Result<Answer, Failure> {
        guard let target = URL(string: url), target.host != nil else { return .failure(.badURL) }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = max(1, timeoutSeconds.rounded(.up))
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = Data(body) }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            outcome.set(data: data, response: response, error: error)
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            task.cancel()
            return .failure(.timeout(seconds: timeoutSeconds))
        }
        let (data, response, error) = outcome.get()
        if let error {
            return .failure((error as NSError).code == NSURLErrorTimedOut ? .timeout(seconds: timeoutSeconds) : .transport(error.localizedDescription))
        }
        guard let http = response as? HTTPURLResponse else { return .failure(.transport("no HTTP response")) }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return .success(Answer(status: http.statusCode, headers: headers, body: Array(data ?? Data())))
    }

    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, URLResponse?, (any Error)?) = (nil, nil, nil)
        func set(data: Data?, response: URLResponse?, error: (any Error)?) { lock.withLock { value = (data, response, error) } }
        func get() -> (Data?, URLResponse?, (any Error)?) { lock.withLock { value } }
    }

    private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }
}
