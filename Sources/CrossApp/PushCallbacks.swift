import Cashier
import FastCGI
import Foundation
import Metrics
import OrderStorage
import Payments

/// Why a callback's body is not one: said to the caller (400) and journaled.
struct CallbackProblem: Error {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The phone operators' callbacks (MBANKING's `POST /callbacks/tmoney`, Flooz's `POST /callbacks/flooz`; JSON,
/// unsigned): allowed only from the operator's allowlist, recorded before their answer, and never believed alone:
/// the cashier confirms each with the operator's status call before an order changes. Answered 200 once recorded,
/// whatever the status call says (reconciliation asks again when it fails), so that the operator does not send
/// it again and again.
extension Application {
    func pushCallback(
        _ request: Request, via push: any PushOperator, allowlist: AddressAllowlist, channel: String,
        parse: ([UInt8]) throws(CallbackProblem) -> (reference: String, claimed: RequestStatus)
    ) throws -> Response {
        // What became of it, counted whichever way it ends (`failed`: the store could not record it).
        var outcome = "failed"
        defer {
            Counter(label: "cross_operator_callbacks_total", dimensions: [("operator", push.operator.rawValue), ("outcome", outcome)]).increment()
        }
        let remote = request.remoteAddress
        guard allowlist.allows(remote) else {
            cashier.refuseSource(remote, channel: channel)
            outcome = "forbidden_address"
            throw HTTPError(.forbidden, "Forbidden: this address may not send \(push.operator.displayName) callbacks.")
        }
        let callback: (reference: String, claimed: RequestStatus)
        do {
            callback = try parse(request.body)
        } catch {
            try refuseCallback(request, channel: channel, status: .badRequest, reason: error.description)
            outcome = "invalid"
            throw HTTPError(.badRequest, "Bad callback: \(error.description)")
        }
        switch try cashier.receiveCallback(reference: callback.reference, claimed: callback.claimed, via: push, remote: remote) {
        case .unknownAttempt:
            try refuseCallback(request, channel: channel, status: .notFound, reason: "no push attempt with this reference")
            outcome = "unknown_attempt"
            throw HTTPError(.notFound, "Unknown request reference.")
        case .checked:
            outcome = "checked"
            return .json(Array(#"{"code":"2000","message":"OK"}"#.utf8), status: .ok)
        case .failed:
            // Recorded; the status call failed or found no place: reconciliation asks again.
            outcome = "check_failed"
            return .json(Array(#"{"code":"2000","message":"OK"}"#.utf8), status: .ok)
        }
    }

    private func refuseCallback(_ request: Request, channel: String, status: HTTPStatus, reason: String) throws(StoreError) {
        let text = String(decoding: request.body.prefix(4096), as: UTF8.self)
        try cashier.refuse(RefusedCall(
            channel: channel, at: cashier.now, remote: request.remoteAddress, answer: status.code, reason: reason,
            parameters: [("body", text)], ref: nil))
    }
}
