import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How the courier reaches a merchant's endpoint: one POST, one answer (or why there was none).
public protocol WebhookTransport: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) -> WebhookAnswer
}

public enum WebhookAnswer: Sendable, Equatable {
    /// The endpoint answered; `excerpt` is the start of its body, on one line.
    case status(Int, excerpt: String)
    /// No HTTP answer: could not connect, timed out, TLS failed, the connection broke, a bad URL.
    case failure(String)
}

/// URLSession, used synchronously from the courier's thread (the pattern of `Gateway`). Redirects are not
/// followed: a POST redirected becomes a GET whose 200 would wrongly count as delivered, so a 3xx is a failed
/// attempt whose message says to configure the final URL.
public final class URLSessionWebhookTransport: WebhookTransport, @unchecked Sendable {
    private let session: URLSession

    public init(timeoutSeconds: Double) {
        let configuration = URLSessionConfiguration.ephemeral
        // URLSession counts its timeout in whole seconds on Linux; the wait below keeps the exact one.
        configuration.timeoutIntervalForRequest = max(1, timeoutSeconds.rounded(.up))
        configuration.timeoutIntervalForResource = max(1, timeoutSeconds.rounded(.up))
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        session = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) -> WebhookAnswer {
        guard let target = URL(string: url) else { return .failure("bad URL") }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.timeoutInterval = max(1, timeoutSeconds.rounded(.up))
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(body)
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            outcome.set(data: data, response: response, error: error)
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            task.cancel()
            return .failure("no answer within \(Self.seconds(timeoutSeconds)) s")
        }
        let (data, response, error) = outcome.get()
        if let error {
            let code = (error as NSError).code
            if code == NSURLErrorTimedOut { return .failure("no answer within \(Self.seconds(timeoutSeconds)) s") }
            return .failure(error.localizedDescription)
        }
        guard let http = response as? HTTPURLResponse else { return .failure("no HTTP response") }
        var excerpt = String(decoding: (data ?? Data()).prefix(200), as: UTF8.self)
            .map { $0.isNewline || ($0.asciiValue.map { $0 < 32 || $0 == 127 } ?? false) ? " " : String($0) }.joined()
            .trimmingCharacters(in: .whitespaces)
        if (300..<400).contains(http.statusCode) {
            let location = http.value(forHTTPHeaderField: "Location") ?? "?"
            excerpt = "redirects are not followed (to \(location.prefix(200))): configure the final URL"
        }
        return .status(http.statusCode, excerpt: String(excerpt.prefix(120)))
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }

    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, URLResponse?, (any Error)?) = (nil, nil, nil)
        func set(data: Data?, response: URLResponse?, error: (any Error)?) { lock.withLock { value = (data, response, error) } }
        func get() -> (Data?, URLResponse?, (any Error)?) { lock.withLock { value } }
    }
}
