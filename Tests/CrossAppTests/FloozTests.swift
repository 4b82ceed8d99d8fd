import FastCGI
import Foundation
import Testing
@testable import Cashier
@testable import CrossApp
import OrderStorage
import Payments

/// Two phone operators at checkout and in the API: the network the number suggests, the shopper's choice (numbers
/// are portable), the merchant's limits per operator, Flooz's callback confirmed by verify, and what Flooz cannot
/// do (refunds, payouts).
@Suite struct TwoOperatorTests {
    let tmoney = ScriptedOperator(.tmoney)
    let flooz = ScriptedOperator(.flooz)
    let world: World

    init() throws {
        world = try World(
            settings: [
                "mbanking_callback_allowlist": ["127.0.0.1"], "flooz_callback_allowlist": ["127.0.0.1"],
                "operators": ["flooz": ["min_amount": 500, "max_amount": 500_000]],
                // Flooz configured (the scripted operator stands in for its client).
                "flooz": [
                    "token_url": "http://127.0.0.1:1/flooz/token", "debit_url": "http://127.0.0.1:1/flooz/debit", "verify_url": "http://127.0.0.1:1/flooz/verify",
                    "user": "cross-flooz", "password": "test-flooz-password", "partner_msisdn": "99000000",
                ] as [String: Any],
            ],
            mbanking: tmoney, flooz: flooz)
    }

    func order(_ ref: String) throws -> Order { try #require(try world.store.load(ref: ref)) }

    @Test func theNumberSuggestsTheNetworkAndTheShopperMayChooseAnother() throws {
        let (_, path) = try world.createOrder(["purchaseref": "F-1", "amount": 15000, "language": "en"])
        let page = world.send("GET", path).text
        #expect(page.contains(#"id="network-auto""#) && page.contains(#"id="network-tmoney""#) && page.contains(#"id="network-flooz""#))
        // A Moov number, network from the number: Flooz.
        #expect(world.send("POST", path + "/push", form: "phone=96%2000%2000%2001&network=auto").status == .seeOther)
        #expect(flooz.debits.count == 1 && tmoney.debits.isEmpty)
        #expect(try order("F-1").attempts.last?.operator == .flooz)
        let waiting = world.send("GET", path + "/phone").text
        #expect(waiting.contains("Flooz"))

        // A TMoney-range number the shopper says is on Flooz (ported): Flooz is prompted.
        let (_, other) = try world.createOrder(["purchaseref": "F-2", "amount": 15000])
        #expect(world.send("POST", other + "/push", form: "phone=90000001&network=flooz").status == .seeOther)
        #expect(flooz.debits.count == 2)
        #expect(flooz.debits[1].phone.international == "22890000001")
        #expect(try order("F-2").attempts.last?.operator == .flooz)
    }

    /// The merchant's limits: an order outside Flooz's does not offer it, and says why.
    @Test func anOrderOutsideAnOperatorsLimitsDoesNotOfferIt() throws {
        let (_, path) = try world.createOrder(["purchaseref": "F-big", "amount": 600_000, "language": "en"])
        let page = world.send("GET", path).text
        #expect(!page.contains(#"id="network-flooz""#))
        #expect(page.contains("Flooz is offered up to 500 000 F CFA only."))
        let refused = world.send("POST", path + "/push", form: "phone=96000001&network=auto")
        #expect(refused.status == .unprocessableContent)
        #expect(refused.text.contains("Paying from the phone with Flooz is not offered for this order"))
        #expect(flooz.debits.isEmpty)
        let api = world.api("POST", "/api/orders/F-big/push", json: #"{"phone":"96000001"}"#)
        #expect(api.status == .unprocessableContent)
        #expect((api.json["fields"] as? [[String: String]])?.first?["field"] == "operator")
    }

    @Test func theAPITakesAnOperatorAndShowsItOnTheOrder() throws {
        try world.createOrder(["purchaseref": "F-3", "amount": 15000])
        #expect(world.api("POST", "/api/orders/F-3/push", json: #"{"phone":"90000001","operator":"nope"}"#).status == .unprocessableContent)
        let answer = world.api("POST", "/api/orders/F-3/push", json: #"{"phone":"90000001","operator":"flooz"}"#)
        #expect(answer.status == .accepted)
        #expect((answer.json["attempt"] as? [String: Any])?["operator"] as? String == "flooz")
        let shown = world.api("GET", "/api/orders/F-3").json
        #expect(shown["operator"] as? String == "flooz")
        #expect((shown["payment_attempts"] as? [[String: Any]])?.first?["operator"] as? String == "flooz")
    }

    /// Flooz's callback is confirmed by verify; a dropped one is found by reconciliation.
    @Test func floozCallbacksAreConfirmedAndDroppedOnesReconciled() throws {
        let start = Timestamp.now()
        world.clock.withLock { $0 = start }
        try world.createOrder(["purchaseref": "F-4", "amount": 15000])
        try world.createOrder(["purchaseref": "F-5", "amount": 15000])
        let first = try #require((world.api("POST", "/api/orders/F-4/push", json: #"{"phone":"96000001"}"#).json["attempt"] as? [String: Any])?["reference"] as? String)
        let second = try #require((world.api("POST", "/api/orders/F-5/push", json: #"{"phone":"96000002"}"#).json["attempt"] as? [String: Any])?["reference"] as? String)
        // The callback claims success; verify says waiting: nothing yet. Then verify says paid.
        flooz.set(first, .pending)
        let callback = #"{"amount":"15000","refid":"F1","mrchrefid":"\#(first)","msisdn":"22896000001","status":"0","message":"ok"}"#
        #expect(world.send("POST", "/callbacks/flooz", json: callback).status == .ok)
        #expect(try order("F-4").status == .pending)
        flooz.set(first, ScriptedOperator.paid(reference: "FL-1", phone: "22896000001"))
        #expect(world.send("POST", "/callbacks/flooz", json: callback).status == .ok)
        #expect(try order("F-4").status == .paid)
        #expect(try order("F-4").payment?.operator == .flooz)
        // A Flooz reference at TMoney's callback is no attempt of TMoney's.
        #expect(world.send("POST", "/callbacks/tmoney", json: #"{"idRequete":"\#(second)","statutRequete":"SUCCES"}"#).status == .notFound)
        #expect(world.send("POST", "/callbacks/flooz", json: callback, remote: "203.0.113.5").status == .forbidden)
        // The second's callback never comes: reconciliation asks verify.
        flooz.set(second, ScriptedOperator.paid(reference: "FL-2", phone: "22896000002"))
        world.clock.withLock { $0 = start.adding(seconds: 16) }
        _ = try world.application.cashier.reconcile(via: world.application.pushOperators, credits: tmoney)
        #expect(try order("F-5").status == .paid)
        #expect(tmoney.statusCalls.isEmpty, "TMoney is not asked about Flooz's attempts")
    }

    /// Flooz has no public credit service: a refund of a Flooz payment and a payout to a Moov number are refused,
    /// clearly, and nothing is sent.
    @Test func refundsAndPayoutsAreNotAvailableForFlooz() throws {
        try world.createOrder(["purchaseref": "F-6", "amount": 15000])
        let reference = try #require((world.api("POST", "/api/orders/F-6/push", json: #"{"phone":"96000001"}"#).json["attempt"] as? [String: Any])?["reference"] as? String)
        flooz.set(reference, ScriptedOperator.paid(reference: "FL-6", phone: "22896000001"))
        _ = world.send("POST", "/callbacks/flooz", json: #"{"mrchrefid":"\#(reference)","status":"0"}"#)
        #expect(try order("F-6").status == .paid)
        let refund = world.send("POST", "/api/orders/F-6/refunds", json: #"{"amount":100}"#, headers: ["Authorization": "Bearer " + World.apiKey, "Idempotency-Key": "f"])
        #expect(refund.status == .unprocessableContent)
        #expect((refund.json["fields"] as? [[String: String]])?.first?["message"]?.contains("not available for Flooz yet") == true)
        let payout = world.api("POST", "/api/payouts", json: #"{"reference":"PO-F","phone":"96000001","amount":100}"#)
        #expect(payout.status == .unprocessableContent)
        #expect((payout.json["fields"] as? [[String: String]])?.first?["message"]?.contains("Flooz has no public credit service yet") == true)
        #expect(tmoney.credits.isEmpty && flooz.credits.isEmpty)
    }

    /// The operator says the payment came from another number than the one prompted: review, never paid.
    @Test func aPaymentFromAnotherNumberGoesToReview() throws {
        try world.createOrder(["purchaseref": "F-7", "amount": 15000])
        let reference = try #require((world.api("POST", "/api/orders/F-7/push", json: #"{"phone":"96000001"}"#).json["attempt"] as? [String: Any])?["reference"] as? String)
        flooz.set(reference, .succeeded(OperatorTransaction(reference: "FL-7", amount: 15000, currency: "952", phone: "22896000009", occurredAt: "")))
        _ = world.send("POST", "/callbacks/flooz", json: #"{"mrchrefid":"\#(reference)","status":"0"}"#)
        let order = try order("F-7")
        #expect(order.status == .review)
        #expect(order.reviewReasons.first == "Flooz says paid from +228 96 00 00 09, the prompt went to +228 96 00 00 01")
    }
}
