import Cashier
import FastCGI
import Foundation
import OrderStorage
import Payments
import Support

/// What a merchant's back end does with an order once made, without a browser:
///
///     POST /api/orders/{ref}/push             {"phone": "…", "operator": "tmoney" | "flooz"} → 202 with the attempt:
///                                             the shopper's phone is prompted (the operator: the one the number's
///                                             range suggests, unless given)
///     POST /api/orders/{ref}/refunds          {"amount": …, "reason": "…"} with an Idempotency-Key header → 201
///     GET  /api/orders/{ref}/refunds/{id}     the refund
extension OrdersAPI {
    func addPaymentRoutes(to router: inout Router) {
        router.post("/api/orders/:ref/push") { [self] in try pushPayment($0) }
        router.post("/api/orders/:ref/refunds") { [self] in try createRefund($0) }
        router.get("/api/orders/:ref/refunds/:id") { [self] in try getRefund($0) }
    }

    func pushPayment(_ request: Request) throws -> Response {
        try authenticate(request)
        guard !pushes.isEmpty else {
            throw HTTPError(.notFound, "Paying from the phone is not enabled on this Cross (no mbanking or flooz in its configuration).")
        }
        let body = try Self.jsonObject(request)
        guard let typed = body["phone"] as? String else { return Self.invalid("phone", "is required: the shopper's number, such as 90 00 00 01") }
        let phone: PhoneNumber
        switch Result(catching: { () throws(PhoneNumber.Problem) in try PhoneNumber.mobile(typed) }) {
        case .failure(.notTogolese): return Self.invalid("phone", "is not a Togolese mobile number (+228 and 8 digits)")
        case .failure(.noMobileOperator): return Self.invalid("phone", "is in no Togolese mobile operator's range")
        case .success(let number): phone = number
        }
        // Numbers are portable: the merchant may name the operator; else the one the number's range suggests.
        let chosen: Operator?
        switch body["operator"] {
        case nil, is NSNull: chosen = phone.suggestedOperator
        case let name as String:
            guard let named = Operator(rawValue: name) else { return Self.invalid("operator", "must be tmoney or flooz") }
            chosen = named
        default: return Self.invalid("operator", "must be tmoney or flooz")
        }
        guard let chosen, let push = pushes[chosen] else {
            return Self.invalid("operator", "\((chosen ?? phone.suggestedOperator)?.displayName ?? "this operator") is not offered for paying from the phone on this Cross")
        }
        let order = try order(request)
        switch limits[chosen, default: OperatorLimits()].availability(for: order.amount.francs) {
        case .offered: break
        case .disabled: return Self.invalid("operator", "\(chosen.displayName) is not offered on this Cross")
        case .belowMinimum(let minimum): return Self.invalid("operator", "\(chosen.displayName) is offered from \(minimum) F CFA: this order is below")
        case .aboveMaximum(let maximum): return Self.invalid("operator", "\(chosen.displayName) is offered up to \(maximum) F CFA: this order is above")
        }
        switch try cashier.startPushAttempt(order, phone: phone, via: push) {
        case .requested(let current, let attempt), .waiting(let current, let attempt):
            return attemptAnswer(current, attempt, state: "waiting", status: .accepted)
        case .unanswered(let current, let attempt, _):
            return attemptAnswer(current, attempt, state: "unconfirmed", status: .accepted)
        case .otherNumberWaiting(_, let attempt):
            return Self.json(["error": "a prompt to \(attempt.phone?.international ?? "another number") is still waiting (until \(attempt.expiresAt.iso8601)): it must end first"], status: .conflict)
        case .refusedByOperator(let current, let attempt, let code):
            var response = attemptAnswer(current, attempt, state: "refused", status: .unprocessableContent, extra: ["error": "the operator refused the request: \(code)"])
            response.headers.append(("Cache-Control", "no-store"))
            return response
        case .refused(_, let refusal):
            return Self.json(["error": Self.describe(refusal)], status: refusal == .tooManyAttemptsThisMinute ? .tooManyRequests : .conflict)
        case .busy:
            var response = Self.json(["error": "the operator is slow to answer: every place for a call is taken; try again in a few seconds"], status: .serviceUnavailable)
            response.headers.append(("Retry-After", "5"))
            return response
        case .missing:
            throw HTTPError(.notFound, "No order with this purchaseref.")
        }
    }

    func createRefund(_ request: Request) throws -> Response {
        try authenticate(request)
        guard let credits else { throw HTTPError(.notFound, "Refunds are not enabled on this Cross (no mbanking in its configuration).") }
        guard let key = request.header("idempotency-key"), !key.isEmpty, key.utf8.count <= 100, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return Self.invalid("Idempotency-Key", "header is required: 1 to 100 visible ASCII characters, the same for a retry of this refund")
        }
        let body = try Self.jsonObject(request)
        var errors: [FieldError] = []
        var amount: Int64 = 0
        if let value = JSONNumber.whole(body["amount"]), value >= 1, value <= Amount.maximum {
            amount = value
        } else {
            errors.append(FieldError("amount", "is required: a whole number of francs, more than 0"))
        }
        let reason = (body["reason"] as? String) ?? ""
        if body["reason"] != nil && !(body["reason"] is String) || reason.unicodeScalars.count > 200 {
            errors.append(FieldError("reason", "must be text of at most 200 characters"))
        }
        guard errors.isEmpty else { return Self.invalid(errors) }
        let ref = try order(request).ref
        switch try cashier.requestRefund(ref: ref, amount: amount, reason: reason, idempotencyKey: key, via: credits) {
        case .created(let order, let refund):
            var response = Response.json(APIOrder.json(APIRefund(refund, of: order)), status: .created)
            response.headers.append(("Location", "/api/orders/" + URLEncoding.encodePathSegment(order.ref) + "/refunds/" + refund.id))
            return response
        case .repeated(let order, let refund):
            return .json(APIOrder.json(APIRefund(refund, of: order)), status: .ok)
        case .conflict(let refund):
            return Self.json(["error": "this Idempotency-Key was used for refund \(refund.id) with another amount or reason"], status: .conflict)
        case .refused(_, .notPaid(let status)):
            return Self.invalid("amount", "cannot be refunded: the order is \(status.rawValue), only a paid order is refunded")
        case .refused(_, .exceedsPaid(let left)):
            return Self.invalid("amount", "is more than is left to refund on this order: \(left) F CFA")
        case .refused(_, .noPayerNumber):
            return Self.invalid("amount", "cannot be refunded: the operator gave no number for the payer")
        case .refused(_, .operatorCannotCredit(let op)):
            return Self.invalid("amount", "cannot be refunded: refunds are not available for \(op.displayName) yet (no public credit service)")
        case .missing:
            throw HTTPError(.notFound, "No order with this purchaseref.")
        }
    }

    func getRefund(_ request: Request) throws -> Response {
        try authenticate(request)
        let order = try order(request)
        guard let id = request.routeParameters["id"], let refund = order.refund(id: id) else {
            throw HTTPError(.notFound, "This order has no refund with this id.")
        }
        return .json(APIOrder.json(APIRefund(refund, of: order)), status: .ok)
    }

    // MARK: -

    private func order(_ request: Request) throws -> Order {
        guard let ref = request.routeParameters["ref"], let order = try cashier.store.load(ref: ref) else {
            throw HTTPError(.notFound, "No order with this purchaseref.")
        }
        return order
    }

    private func attemptAnswer(_ order: Order, _ attempt: Attempt, state: String, status: HTTPStatus, extra: [String: Any] = [:]) -> Response {
        var object: [String: Any] = [
            "attempt": [
                "reference": attempt.reference, "operator": attempt.operator.rawValue, "method": attempt.method.rawValue,
                "phone": attempt.phone?.international ?? "", "issued_at": attempt.issuedAt.iso8601, "expires_at": attempt.expiresAt.iso8601,
                "state": state,
            ] as [String: Any],
            "purchaseref": order.ref, "status": order.status.rawValue,
        ]
        for (key, value) in extra { object[key] = value }
        return Self.json(object, status: status)
    }

    static func jsonObject(_ request: Request) throws -> [String: Any] {
        guard let contentType = request.contentType, Request.mediaType(contentType) == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "Send the body as application/json.")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            throw HTTPError(.badRequest, "The body is not a JSON object.")
        }
        return object
    }


    static func invalid(_ field: String, _ message: String) -> Response { invalid([FieldError(field, message)]) }

    static func invalid(_ errors: [FieldError]) -> Response {
        json(["error": "invalid request", "fields": errors.map { ["field": $0.field, "message": $0.message] }], status: .unprocessableContent)
    }

    static func describe(_ refusal: OrderLifecycle.AttemptRefusal) -> String {
        switch refusal {
        case .alreadyPaid: "the order is already paid"
        case .inReview: "the order is in review"
        case .orderExpired: "the order has expired: it takes no new attempt"
        case .tooManyAttempts: "the order has had as many attempts as it may"
        case .tooManyAttemptsThisMinute: "too many attempts this minute: wait a minute"
        case .promptWaiting: "a prompt waits on the shopper's phone: it must end first"
        }
    }
}

/// A refund as merchants' back ends see it.
public struct APIRefund: Encodable, Sendable {
    let refund: Refund
    let purchaseref: String

    public init(_ refund: Refund, of order: Order) {
        self.refund = refund
        purchaseref = order.ref
    }

    public func encode(to encoder: any Encoder) throws {
        var json = encoder.container(keyedBy: NamedKey.self)
        try json.encode(refund.id, forKey: NamedKey("id"))
        try json.encode(purchaseref, forKey: NamedKey("purchaseref"))
        try json.encode(refund.status.rawValue, forKey: NamedKey("status"))
        try json.encode(refund.amount, forKey: NamedKey("amount"))
        try json.encode(refund.reason, forKey: NamedKey("reason"))
        try json.encode(refund.operator.rawValue, forKey: NamedKey("operator"))
        try json.encode(refund.phone.international, forKey: NamedKey("phone"))
        try json.encode(refund.operatorReference, forKey: NamedKey("operator_reference"))
        try json.encode(refund.failure, forKey: NamedKey("failure"))
        try json.encode(refund.createdAt.iso8601, forKey: NamedKey("created_at"))
        try json.encode(refund.updatedAt.iso8601, forKey: NamedKey("updated_at"))
    }
}
