import Logging
import Foundation
import OutboundHTTP

/// What became of one notification call.
public enum DeliveryResult: Sendable, Equatable {
    /// The merchant answered: its HTTP status and the start of its body, made printable for the log.
    case answered(status: Int, excerpt: String)
    /// No answer: timed out, refused, unreachable.
    case failed(String)

    /// The log line of one delivery: `<what> delivered`, `<what> refused by the <whom>`, `<what> not delivered`.
    func log(_ logger: Logger, _ what: String, by whom: String, _ metadata: Logger.Metadata) {
        var metadata = metadata
        switch self {
        case .answered(let status, let excerpt):
            metadata["answer"] = "\(status)"
            metadata["body"] = "\(excerpt)"
            if (200..<300).contains(status) {
                logger.info("\(what) delivered", metadata: metadata)
            } else {
                logger.warning("\(what) refused by the \(whom)", metadata: metadata)
            }
        case .failed(let reason):
            metadata["reason"] = "\(reason)"
            logger.warning("\(what) not delivered", metadata: metadata)
        }
    }
}

/// Makes one notification call. Kept apart from what to send (`NotificationPlan`) and when (`NotificationCourier`).
public protocol NotificationTransport: Sendable {
    func get(_ url: String) -> DeliveryResult
}

/// A GET over HTTP with a timeout, server to server, as TMoney calls a merchant's notification URL.
public struct HTTPNotificationTransport: NotificationTransport {
    private let http: OutboundHTTP

    public init(timeoutSeconds: Double) {
        http = OutboundHTTP(timeoutSeconds: timeoutSeconds)
    }

    public func get(_ url: String) -> DeliveryResult {
        switch http.send("GET", url) {
        case .failure(let failure): .failed(failure.description)
        case .success(let answer): .answered(status: answer.status, excerpt: answer.excerpt(80))
        }
    }
}
