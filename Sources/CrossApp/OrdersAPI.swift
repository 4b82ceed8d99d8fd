import FastCGI
import Foundation
import OrderStore
import Payments

/// The JSON API merchant back ends call with `Authorization: Bearer <API key>`.
extension Application {
    /// `POST /api/orders`: 201 with the new order and its `checkout_url`; 200 with the existing order when the
    /// same purchaseref comes again with the same content; 409 when it comes with different content; 422 with
    /// every field at fault.
    func createOrder(_ request: Request) throws -> Response {
        try authenticate(request)
        let (fields, shapeErrors) = try Self.orderFields(fromJSON: request)
        var new: NewOrder?
        var errors = shapeErrors
        do {
            new = try fields.validate(configuration.orderPolicy)
        } catch {
            // A field already reported for its shape is not reported again as missing.
            errors += error.errors.filter { invalid in !shapeErrors.contains { $0.field == invalid.field } }
        }
        guard errors.isEmpty, let new else {
            return Self.json(["error": "invalid order", "fields": errors.map { ["field": $0.field, "message": $0.message] }], status: .unprocessableContent)
        }
        let outcome = try storeCall {
            try store.create(new, at: .now(), lifetimeSeconds: configuration.orderExpirySeconds)
        }
        switch outcome {
        case .created(let order):
            var response = Self.json(OrderViews.api(order, checkoutURL: checkoutURL(order)), status: .created)
            response.headers.append(("Location", "/api/orders/" + URLEncoding.encodePathSegment(order.ref)))
            return response
        case .existing(let order):
            return Self.json(OrderViews.api(order, checkoutURL: checkoutURL(order)), status: .ok)
        case .conflict(let order):
            logger.warning("order conflict", metadata: ["ref": "\(order.ref)"])
            return Self.json(["error": "an order with this purchaseref already exists with different content"], status: .conflict)
        }
    }

    /// `GET /api/orders/{purchaseref}` (percent-encoded in the path).
    func getOrder(_ request: Request) throws -> Response {
        try authenticate(request)
        guard let ref = request.routeParameters["ref"], let order = try storeCall({ try store.load(ref: ref) }) else {
            throw HTTPError(.notFound, "No order with this purchaseref.")
        }
        return Self.json(OrderViews.api(order, checkoutURL: checkoutURL(order)), status: .ok)
    }

    /// Compares the bearer key with every configured key in constant time.
    private func authenticate(_ request: Request) throws {
        let unauthorized = HTTPError(.unauthorized, "Send a valid API key as Authorization: Bearer <key>.", headers: [("WWW-Authenticate", "Bearer")])
        guard let header = request.header("authorization"), header.hasPrefix("Bearer ") else { throw unauthorized }
        let given = Array(header.dropFirst(7).utf8)
        var matched = false
        for key in configuration.apiKeys {
            let expected = Array(key.utf8)
            var difference = UInt8(given.count == expected.count ? 0 : 1)
            for index in 0..<expected.count { difference |= expected[index] ^ (index < given.count ? given[index] : 0) }
            matched = matched || difference == 0
        }
        guard matched else { throw unauthorized }
    }

    /// Reads the JSON body into order fields: strings, and `amount` as a whole number or a string of digits.
    /// Fields of any other shape (a fractional amount, an unknown field) come back as errors naming them.
    static func orderFields(fromJSON request: Request) throws -> (OrderFields, [FieldError]) {
        guard let contentType = request.contentType, Request.mediaType(contentType) == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "Send the order as application/json.")
        }
        do {
            return try OrderFields.decode(json: request.body)
        } catch {
            throw HTTPError(.badRequest, "The body is not a JSON object.")
        }
    }
}
