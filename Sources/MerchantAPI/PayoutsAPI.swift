import Cashier
import FastCGI
import Foundation
import OrderStorage
import Payments
import Support

/// Money the merchant sends to a number:
///
///     POST /api/payouts               {"reference", "phone", "amount", "description"} → 201; the same again → 200;
///                                     the same reference with other content → 409; 422 naming the field (and the caps)
///     GET  /api/payouts/{reference}   the payout, or 404
extension OrdersAPI {
    func addPayoutRoutes(to router: inout Router) {
        router.post("/api/payouts", strict: true) { [self] in try createPayout($0) }
        router.get("/api/payouts/:reference") { [self] in try getPayout($0) }
    }

    func createPayout(_ request: Request) throws -> Response {
        try authenticate(request)
        guard let credits, cashier.payouts != nil else {
            throw HTTPError(.notFound, "Payouts are not enabled on this Cross (no mbanking in its configuration).")
        }
        let body = try Self.jsonObject(request)
        var amount: Int64?
        var amountIsInvalid = false
        if let value = body["amount"] {
            if let whole = JSONNumber.whole(value) {
                amount = whole
            } else {
                amountIsInvalid = true
            }
        }
        var errors: [FieldError] = []
        func text(_ name: String) -> String? {
            guard let value = body[name] else { return nil }
            guard let string = value as? String else { errors.append(FieldError(name, "must be text")); return "" }
            return string
        }
        let fields = PayoutFields(reference: text("reference"), phone: text("phone"), amount: amount, amountIsInvalid: amountIsInvalid, description: text("description"))
        switch try cashier.requestPayout(fields, via: credits) {
        case .created(let payout):
            var response = Response.json(APIOrder.json(APIPayout(payout)), status: .created)
            response.headers.append(("Location", "/api/payouts/" + URLEncoding.encodePathSegment(payout.reference)))
            return response
        case .repeated(let payout):
            return .json(APIOrder.json(APIPayout(payout)), status: .ok)
        case .conflict:
            return Self.json(["error": "a payout with this reference already exists with a different phone, amount or description"], status: .conflict)
        case .invalid(let invalid):
            let reported = Set(errors.map(\.field))
            return Self.invalid(errors + invalid.errors.filter { !reported.contains($0.field) })
        }
    }

    func getPayout(_ request: Request) throws -> Response {
        try authenticate(request)
        guard let payouts = cashier.payouts, let reference = request.routeParameters["reference"], let payout = try payouts.payout(reference) else {
            throw HTTPError(.notFound, "No payout with this reference.")
        }
        return .json(APIOrder.json(APIPayout(payout)), status: .ok)
    }
}

/// A payout as merchants' back ends see it (the API's answers and the `payout.…` webhook events).
public struct APIPayout: Encodable, Sendable {
    let payout: Payout

    public init(_ payout: Payout) { self.payout = payout }

    public func encode(to encoder: any Encoder) throws {
        var json = encoder.container(keyedBy: NamedKey.self)
        try json.encode(payout.reference, forKey: NamedKey("reference"))
        try json.encode(payout.status.rawValue, forKey: NamedKey("status"))
        try json.encode(payout.amount, forKey: NamedKey("amount"))
        try json.encode(payout.phone.international, forKey: NamedKey("phone"))
        try json.encode(payout.description, forKey: NamedKey("description"))
        try json.encode(payout.operator.rawValue, forKey: NamedKey("operator"))
        try json.encode(payout.operatorReference, forKey: NamedKey("operator_reference"))
        try json.encode(payout.failure, forKey: NamedKey("failure"))
        try json.encode(payout.createdAt.iso8601, forKey: NamedKey("created_at"))
        try json.encode(payout.updatedAt.iso8601, forKey: NamedKey("updated_at"))
    }
}
