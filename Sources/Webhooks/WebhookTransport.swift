import Foundation
import OutboundHTTP

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

/// An HTTP POST from the courier's thread. Redirects are not followed (`OutboundHTTP` never does): a POST
/// redirected becomes a GET whose 200 would wrongly count as delivered, so a 3xx is a failed attempt whose
/// message says to configure the final URL.
public struct HTTPWebhookTransport: WebhookTransport {
    private let http: OutboundHTTP

    public init(timeoutSeconds: Double) {
        http = OutboundHTTP(timeoutSeconds: timeoutSeconds, maxBodyBytes: 64 << 10)
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) -> WebhookAnswer {
        let http = timeoutSeconds == self.http.timeoutSeconds ? self.http : OutboundHTTP(timeoutSeconds: timeoutSeconds, maxBodyBytes: 64 << 10)
        switch http.send("POST", url, headers: headers, body: body) {
        case .failure(let failure):
            return .failure(failure.description)
        case .success(let answer):
            if (300..<400).contains(answer.status) {
                let location = answer.headers["location"] ?? "?"
                return .status(answer.status, excerpt: "redirects are not followed (to \(location.prefix(200))): configure the final URL")
            }
            return .status(answer.status, excerpt: answer.excerpt())
        }
    }
}
