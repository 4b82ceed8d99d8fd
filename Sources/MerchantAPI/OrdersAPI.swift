import Cashier
import FastCGI
import Foundation
import Logging
import OrderStorage
import Payments
import Support

/// The JSON API merchant back ends call with `Authorization: Bearer <API key>`:
///
///     POST /api/orders          201 with the new order and its `checkout_url`; 200 with the existing order when
///                               the same purchaseref comes again with the same content; 409 with different
///                               content; 422 with every field at fault
///     GET  /api/orders/{ref}    the order (the purchaseref percent-encoded), or 404
public struct OrdersAPI: Sendable {
    let cashier: Cashier
    let links: OrderLink
    let apiKeys: [String]
    /// The operators that prompt phones as the merchant offers them, and the one that sends credits; none: those
    /// routes answer 404.
    let pushes: [Operator: any PushOperator]
    let limits: [Operator: OperatorLimits]
    let credits: (any CreditOperator)?
    let logger: Logger

    public init(
        cashier: Cashier, links: OrderLink, apiKeys: [String], pushes: [Operator: any PushOperator] = [:], limits: [Operator: OperatorLimits] = [:],
        credits: (any CreditOperator)? = nil, logger: Logger
    ) {
        self.cashier = cashier
        self.pushes = pushes
        self.limits = limits
        self.credits = credits
        self.links = links
        self.apiKeys = apiKeys
        self.logger = logger
    }

    public func addRoutes(to router: inout Router) {
        router.post("/api/orders") { [self] in try createOrder($0) }
        router.get("/api/orders/:ref") { [self] in try getOrder($0) }
        addPaymentRoutes(to: &router)
        addPayoutRoutes(to: &router)
    }

    func createOrder(_ request: Request) throws -> Response {
        try authenticate(request)
        guard let contentType = request.contentType, Request.mediaType(contentType) == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "Send the order as application/json.")
        }
        let decoded: (fields: OrderFields, errors: [FieldError])
        do {
            decoded = try OrderFields.decode(json: request.body)
        } catch {
            throw HTTPError(.badRequest, "The body is not a JSON object.")
        }
        let outcome: CreateOutcome
        do {
            outcome = try cashier.createOrder(decoded.fields, invalid: decoded.errors)
        } catch let invalid as ValidationErrors {
            return Self.json(["error": "invalid order", "fields": invalid.errors.map { ["field": $0.field, "message": $0.message] }], status: .unprocessableContent)
        }
        switch outcome {
        case .created(let order):
            var response = Response.json(APIOrder.json(view(order)), status: .created)
            response.headers.append(("Location", "/api/orders/" + URLEncoding.encodePathSegment(order.ref)))
            return response
        case .existing(let order):
            return .json(APIOrder.json(view(order)), status: .ok)
        case .conflict:
            return Self.json(["error": "an order with this purchaseref already exists with different content"], status: .conflict)
        }
    }

    func getOrder(_ request: Request) throws -> Response {
        try authenticate(request)
        guard let ref = request.routeParameters["ref"], let order = try cashier.store.load(ref: ref) else {
            throw HTTPError(.notFound, "No order with this purchaseref.")
        }
        return .json(APIOrder.json(view(order)), status: .ok)
    }

    func view(_ order: Order) -> APIOrder { APIOrder(order, checkoutURL: links.checkoutURL(for: order.key)) }

    /// Compares the bearer key with every configured key, each in constant time.
    func authenticate(_ request: Request) throws {
        let unauthorized = HTTPError(.unauthorized, "Send a valid API key as Authorization: Bearer <key>.", headers: [("WWW-Authenticate", "Bearer")])
        guard let header = request.header("authorization"), header.hasPrefix("Bearer ") else { throw unauthorized }
        let given = String(header.dropFirst(7))
        var matched = false
        for key in apiKeys where ConstantTime.equal(key, given) { matched = true }
        guard matched else { throw unauthorized }
    }

    /// `{"error": …}` and the like: JSON of plain values, keys sorted.
    public static func json(_ object: [String: Any], status: HTTPStatus) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return .json(Array(body), status: status)
    }
}
