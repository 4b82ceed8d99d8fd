import Cashier
import FastCGI
import Foundation
import MBanking
import OrderStorage
import Payments

/// MBANKING's callback (`POST /callbacks/tmoney`, JSON, unsigned): allowed only from
/// `mbanking_callback_allowlist`, recorded before its answer, and never believed alone: the cashier confirms it
/// with check-transaction before an order changes. Answered 200 once recorded, whatever the status call says
/// (reconciliation asks again when it fails), so that Togocom does not send it again and again.
extension Application {
    func mbankingCallback(_ request: Request) throws -> Response {
        guard let mbanking else { throw HTTPError(.notFound, "Nothing here.") }
        let remote = request.remoteAddress
        guard configuration.mbankingCallbackAllowlist.allows(remote) else {
            cashier.refuseSource(remote, channel: "mbanking callback")
            throw HTTPError(.forbidden, "Forbidden: this address may not send MBANKING callbacks.")
        }
        let callback: Wire.Callback
        do {
            callback = try Wire.callback(request.body)
        } catch {
            try refuseCallback(request, status: .badRequest, reason: error.description)
            throw HTTPError(.badRequest, "Bad callback: \(error.description)")
        }
        switch try cashier.receiveCallback(reference: callback.reference, claimed: callback.claimed, via: mbanking, remote: remote) {
        case .unknownAttempt:
            try refuseCallback(request, status: .notFound, reason: "no push attempt with this idRequete")
            throw HTTPError(.notFound, "Unknown idRequete.")
        case .checked, .failed:
            return .json(Array(#"{"code":"2000","message":"OK"}"#.utf8), status: .ok)
        }
    }

    private func refuseCallback(_ request: Request, status: HTTPStatus, reason: String) throws(StoreError) {
        let text = String(decoding: request.body.prefix(4096), as: UTF8.self)
        try cashier.refuse(RefusedCall(
            channel: "mbanking callback", at: cashier.now, remote: request.remoteAddress, answer: status.code, reason: reason,
            parameters: [("body", text)], ref: nil))
    }
}
