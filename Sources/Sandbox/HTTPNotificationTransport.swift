import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What became of one notification call.
public enum DeliveryResult: Sendable, Equatable {
    /// The merchant answered: its HTTP status and the start of its body, made printable for the log.
    case answered(status: Int, excerpt: String)
    /// No answer: timed out, refused, unreachable.
    case failed(String)
}

/// Makes one notification call. Kept apart from what to send (`NotificationPlan`) and when (`NotificationCourier`).
public protocol NotificationTransport: Sendable {
    func get(_ url: String) -> DeliveryResult
}

/// A GET over HTTP with a timeout, server to server, as TMoney calls a merchant's notification URL.
public struct HTTPNotificationTransport: NotificationTransport {
    private let timeoutSeconds: Double
    private let session: URLSession

    public init(timeoutSeconds: Double) {
        self.timeoutSeconds = timeoutSeconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration)
    }

    public func get(_ url: String) -> DeliveryResult {
        guard let target = URL(string: url) else { return .failed("not a URL") }
        var request = URLRequest(url: target)
        request.httpMethod = "GET"
        request.timeoutInterval = timeoutSeconds
        let answer = Answer()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            answer.set(data: data, response: response, error: error)
            done.signal()
        }
        task.resume()
        // The session's own timeout should fire first; this one guards against it not doing so.
        if done.wait(timeout: .now() + timeoutSeconds + 2) == .timedOut {
            task.cancel()
            return .failed("no answer in \(timeoutSeconds) s")
        }
        let (data, response, error) = answer.get()
        if let error {
            let timedOut = (error as NSError).code == NSURLErrorTimedOut
            return .failed(timedOut ? "no answer in \(timeoutSeconds) s" : error.localizedDescription)
        }
        guard let http = response as? HTTPURLResponse else { return .failed("no HTTP response") }
        let text = String(decoding: (data ?? Data()).prefix(512), as: UTF8.self)
        let excerpt = String(text.unicodeScalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return .answered(status: http.statusCode, excerpt: excerpt)
    }

    private final class Answer: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, URLResponse?, (any Error)?) = (nil, nil, nil)
        func set(data: Data?, response: URLResponse?, error: (any Error)?) { lock.withLock { value = (data, response, error) } }
        func get() -> (Data?, URLResponse?, (any Error)?) { lock.withLock { value } }
    }
}
