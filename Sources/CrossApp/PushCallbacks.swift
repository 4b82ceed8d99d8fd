import Cashier
import FastCGI
import Foundation
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
        let remote = request.remoteAddress
        guard allowlist.allows(remote) else {
            cashier.refuseSource(remote, channel: channel)
            throw HTTPError(.forbidden, "Forbidden: this address may not send \(push.operator.displayName) callbacks.")
        }
        let callback: (reference: String, claimed: RequestStatus)
        do {
            callback = try parse(request.body)
        } catch {
            try refuseCallback(request, channel: channel, status: .badRequest, reason: error.description)
            throw HTTPError(.badRequest, "Bad callback: \(error.description)")
        }
        switch try cashier.receiveCallback(reference: callback.reference, claimed: callback.claimed, via: push, remote: remote) {
        case .unknownAttempt:
            try refuseCallback(request, channel: channel, status: .notFound, reason: "no push attempt with this reference")
            throw HTTPError(.notFound, "Unknown request reference.")
        case .checked, .failed:
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
