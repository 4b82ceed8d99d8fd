import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request from a worker or a background thread, answered synchronously, with a timeout that holds:
/// the session id request to TMoney, the sandbox's notifications, the merchant's webhooks. URLSession (libcurl
/// on Linux) does the work; this wraps it once for all three. Redirects are never followed (a POST redirected
/// becomes a GET, and a gateway that redirects is not the gateway), and an answer longer than `maxBodyBytes` is
/// cut off and refused rather than read whole.
public struct OutboundHTTP: Sendable {
    public let timeoutSeconds: Double
    public let maxBodyBytes: Int
    private let session: URLSession
    private let tasks: Tasks

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
        /// The answer went on past `maxBodyBytes`.
        case tooLarge(bytes: Int)
        /// Could not connect, TLS failed, the connection broke.
        case transport(String)

        public var description: String {
            switch self {
            case .badURL: "not a URL"
            case .timeout(let seconds): "no answer within \(seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)) s"
            case .tooLarge(let bytes): "the answer is longer than \(bytes) bytes"
            case .transport(let reason): reason
            }
        }
    }

    public init(timeoutSeconds: Double, maxBodyBytes: Int = 1 << 20) {
        self.timeoutSeconds = timeoutSeconds
        self.maxBodyBytes = maxBodyBytes
        let configuration = URLSessionConfiguration.ephemeral
        // URLSession counts its timeout in whole seconds on Linux; the wait in `send` keeps the exact one.
        configuration.timeoutIntervalForRequest = max(1, timeoutSeconds.rounded(.up))
        configuration.timeoutIntervalForResource = max(1, timeoutSeconds.rounded(.up))
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpMaximumConnectionsPerHost = 64
        let tasks = Tasks(maxBodyBytes: maxBodyBytes)
        self.tasks = tasks
        session = URLSession(configuration: configuration, delegate: tasks, delegateQueue: nil)
    }

    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) -> Result<Answer, Failure> {
        guard let target = URL(string: url), target.host != nil else { return .failure(.badURL) }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = max(1, timeoutSeconds.rounded(.up))
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = Data(body) }
        let task = session.dataTask(with: request)
        let call = tasks.start(task)
        task.resume()
        if call.done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            task.cancel()
            tasks.forget(task)
            return .failure(.timeout(seconds: timeoutSeconds))
        }
        tasks.forget(task)
        let (data, response, error, tooLarge) = call.outcome()
        if tooLarge { return .failure(.tooLarge(bytes: maxBodyBytes)) }
        if let error {
            return .failure((error as NSError).code == NSURLErrorTimedOut ? .timeout(seconds: timeoutSeconds) : .transport(error.localizedDescription))
        }
        guard let http = response as? HTTPURLResponse else { return .failure(.transport("no HTTP response")) }
        var answerHeaders: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { answerHeaders[name.lowercased()] = value }
        }
        return .success(Answer(status: http.statusCode, headers: answerHeaders, body: data))
    }

    /// One request in flight: what came back, and a semaphore signalled when it is over.
    private final class Call: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var data: [UInt8] = []
        private var response: URLResponse?
        private var error: (any Error)?
        private var tooLarge = false

        /// Appends; false once the body is past `limit` (the task is then cancelled).
        func append(_ bytes: Data, limit: Int) -> Bool {
            lock.withLock {
                if data.count + bytes.count > limit {
                    tooLarge = true
                    return false
                }
                data.append(contentsOf: bytes)
                return true
            }
        }

        func received(_ response: URLResponse) { lock.withLock { self.response = response } }

        func finish(_ error: (any Error)?) {
            lock.withLock { self.error = error }
            done.signal()
        }

        func outcome() -> (data: [UInt8], response: URLResponse?, error: (any Error)?, tooLarge: Bool) {
            lock.withLock { (data, response, error, tooLarge) }
        }
    }

    /// The session's delegate: each task's bytes into its call, redirects refused.
    private final class Tasks: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private let maxBodyBytes: Int
        private let lock = NSLock()
        private var calls: [Int: Call] = [:]

        init(maxBodyBytes: Int) {
            self.maxBodyBytes = maxBodyBytes
        }

        func start(_ task: URLSessionTask) -> Call {
            let call = Call()
            lock.withLock { calls[task.taskIdentifier] = call }
            return call
        }

        func forget(_ task: URLSessionTask) {
            _ = lock.withLock { calls.removeValue(forKey: task.taskIdentifier) }
        }

        private func call(_ task: URLSessionTask) -> Call? { lock.withLock { calls[task.taskIdentifier] } }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
        ) {
            call(dataTask)?.received(response)
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard let call = call(dataTask) else { return }
            if !call.append(data, limit: maxBodyBytes) { dataTask.cancel() }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            call(task)?.finish(error)
        }

        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }
}
