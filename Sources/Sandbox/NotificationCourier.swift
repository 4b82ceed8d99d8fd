import Dispatch
import Foundation
import Logging
import Support

/// Carries notification plans out. The sandbox hands it the plan of every finished payment, after its state
/// is saved; tests hand it a recorder instead.
public protocol NotificationDispatcher: Sendable {
    /// Returns at once, unless the plan says `beforeReturn`: then only once every copy was sent.
    func dispatch(_ plan: NotificationPlan)
}

/// Sends each plan from a background queue, never from the shopper's browser nor on its request's time
/// (except for `before_return`, whose point is to hold the shopper back), and logs what the merchant answered.
public struct NotificationCourier: NotificationDispatcher {
    private let transport: any NotificationTransport
    private let logger: Logger

    public init(transport: any NotificationTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    public func dispatch(_ plan: NotificationPlan) {
        if plan.beforeReturn {
            if plan.delayMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(plan.delayMilliseconds) / 1000) }
            deliver(plan)
        } else {
            // A thread of its own, never a Dispatch queue's: the send blocks its thread until the answer, and blocked
            // queue threads starve whatever else runs on Dispatch (when the sends went through URLSession, whose work
            // runs there, four callbacks at once on 2 cores each waited for their timeout).
            startThread { [self] in
                if plan.delayMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(plan.delayMilliseconds) / 1000) }
                deliver(plan)
            }
        }
    }

    /// Sends the copies one after the other, as a retrying server would.
    private func deliver(_ plan: NotificationPlan) {
        for copy in 1...plan.copies {
            let started = Date()
            let result = transport.get(plan.url)
            var metadata: Logger.Metadata = [
                "ref": "\(plan.notification.purchaseref)", "merchant": "\(plan.merchantID)",
                "notified": "\(plan.notification.status.rawValue)", "payid": "\(plan.notification.payid)",
                "amount": "\(plan.notification.amount)", "copy": "\(copy)/\(plan.copies)",
                "ms": "\(Int(Date().timeIntervalSince(started) * 1000))",
            ]
            if !plan.notification.error.isEmpty { metadata["error"] = "\(plan.notification.error)" }
            result.log(logger, "notification", by: "merchant", metadata)
        }
    }
}
