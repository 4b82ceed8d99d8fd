import FastCGI
@testable import FlatFileStore
import Foundation
import Testing
@testable import Cashier
@testable import CrossApp
@testable import Webhooks
import OrderStorage
import Payments
import Support

/// An operator whose answers a test sets, call by call, and which records every call: the use cases' rules
/// (one debit per attempt, a callback never believed alone, no credit sent twice) checked at each step. The
/// whole journey against the real sandbox is in IntegrationTests and BrowserTests.
final class ScriptedOperator: PushOperator, CreditOperator, @unchecked Sendable {
    let `operator`: Operator

    init(_ operator: Operator = .tmoney) { self.operator = `operator` }

    let promptLifetimeSeconds: Int64 = 120
    private let lock = NSLock()
    private var _debits: [OperatorRequest] = []
    private var _credits: [OperatorRequest] = []
    private var _statusCalls: [String] = []
    var debitAnswer: Result<Void, OperatorFailure> = .success(())
    var creditAnswer: Result<String, OperatorFailure> = .success("CR-1")
    /// By request reference; `.unknown` when absent.
    var statuses: [String: Result<RequestStatus, OperatorFailure>] = [:]

    var debits: [OperatorRequest] { lock.withLock { _debits } }
    var credits: [OperatorRequest] { lock.withLock { _credits } }
    var statusCalls: [String] { lock.withLock { _statusCalls } }

    func set(_ reference: String, _ status: RequestStatus) { lock.withLock { statuses[reference] = .success(status) } }

    func requestDebit(_ debit: OperatorRequest) -> Result<Void, OperatorFailure> {
        lock.withLock { _debits.append(debit); return debitAnswer }
    }

    func credit(_ credit: OperatorRequest) -> Result<String, OperatorFailure> {
        lock.withLock { _credits.append(credit); return creditAnswer }
    }

    func status(ofRequest reference: String) -> Result<RequestStatus, OperatorFailure> {
        lock.withLock { _statusCalls.append(reference); return statuses[reference] ?? .success(.unknown) }
    }

    static func paid(_ amount: Int64 = 15000, reference: String = "TM-1", phone: String = "22890000001") -> RequestStatus {
        .succeeded(OperatorTransaction(reference: reference, amount: amount, currency: "952", phone: phone, occurredAt: "2026-12-01 21:31:00"))
    }
}

@Suite struct PushTests {
    let op = ScriptedOperator()
    let world: World

    init() throws {
        world = try World(settings: ["mbanking_callback_allowlist": ["127.0.0.1"]], mbanking: op)
    }

    func order(_ ref: String) throws -> Order { try #require(try world.store.load(ref: ref)) }

    func push(_ ref: String, _ phone: String = "90 00 00 01") -> Response {
        world.api("POST", "/api/orders/\(ref)/push", json: #"{"phone":"\#(phone)"}"#)
    }

    func callback(_ reference: String, statut: String = "SUCCES", remote: String = "127.0.0.1") -> Response {
        world.send("POST", "/callbacks/tmoney", json: #"{"idRequete":"\#(reference)","statutRequete":"\#(statut)","code":"2002","montant":15000}"#, remote: remote)
    }

    @Test func aPushSendsOneDebitAndASecondRequestNone() throws {
        try world.createOrder(["purchaseref": "P-1", "amount": 15000])
        let first = push("P-1", "+228 90 00 00 01")
        #expect(first.status == .accepted)
        let attempt = try #require(first.json["attempt"] as? [String: Any])
        #expect(attempt["phone"] as? String == "22890000001")
        #expect(attempt["state"] as? String == "waiting")
        // A double click, a retry of the merchant's call: the prompt already waits.
        #expect(push("P-1", "0022890000001").status == .accepted)
        #expect(op.debits.count == 1)
        #expect(op.debits[0].amount == 15000)
        #expect(op.debits[0].phone.international == "22890000001")
        #expect(op.debits[0].reference == attempt["reference"] as? String)
        // Another number while the prompt waits: refused, or two payments could be approved.
        #expect(push("P-1", "91000000").status == .conflict)
        #expect(op.debits.count == 1)
    }

    @Test("numbers the API refuses, naming the field", arguments: [
        ("12345", "phone"), ("abcdefgh", "phone"), ("+33 6 12 34 56 78", "phone"), ("74000000", "phone"),
        // A Flooz number, and Flooz not configured here.
        ("96000000", "operator"),
    ])
    func badNumbers(_ phone: String, field: String) throws {
        try world.createOrder(["purchaseref": "P-bad", "amount": 15000])
        let response = push("P-bad", phone)
        #expect(response.status == .unprocessableContent)
        #expect((response.json["fields"] as? [[String: String]])?.first?["field"] == field)
        #expect(op.debits.isEmpty)
    }

    @Test func anOperatorRefusalDeclinesTheAttemptAndAllowsAnother() throws {
        try world.createOrder(["purchaseref": "P-2", "amount": 15000])
        op.debitAnswer = .failure(.refused(code: "4004 Numéro client inconnu"))
        #expect(push("P-2").status == .unprocessableContent)
        #expect(try order("P-2").status == .declined)
        op.debitAnswer = .success(())
        #expect(push("P-2").status == .accepted)
        #expect(try order("P-2").status == .pending)
        #expect(op.debits.count == 2)
        #expect(Set(op.debits.map(\.reference)).count == 2)
    }

    @Test func aCallbackIsConfirmedByTheStatusCall() throws {
        try world.createOrder(["purchaseref": "P-3", "amount": 15000])
        let reference = try #require((push("P-3").json["attempt"] as? [String: Any])?["reference"] as? String)
        // The callback claims success; the operator's status call says it is still waiting: not paid.
        op.set(reference, .pending)
        #expect(callback(reference).status == .ok)
        #expect(try order("P-3").status == .pending)
        #expect(op.statusCalls == [reference])
        // The same callback again once the operator confirms: paid, with the operator's reference.
        op.set(reference, ScriptedOperator.paid())
        #expect(callback(reference).status == .ok)
        let paid = try order("P-3")
        #expect(paid.status == .paid)
        #expect(paid.payment?.transactionID == "TM-1")
        #expect(paid.payment?.payer.phone == "22890000001")
        // Late duplicates change nothing.
        #expect(callback(reference).status == .ok)
        #expect(try order("P-3").events.count == 1)
        // Every callback was journaled before its answer.
        #expect(try world.journal().filter { $0.kind == .callbackReceived }.count == 3)
    }

    @Test func aCallbackClaimingFailureWhileTheOperatorSaysPaidIsPaid() throws {
        try world.createOrder(["purchaseref": "P-4", "amount": 15000])
        let reference = try #require((push("P-4").json["attempt"] as? [String: Any])?["reference"] as? String)
        op.set(reference, ScriptedOperator.paid())
        #expect(callback(reference, statut: "ECHEC").status == .ok)
        #expect(try order("P-4").status == .paid)
    }

    @Test func aDifferentAmountGoesToReview() throws {
        try world.createOrder(["purchaseref": "P-5", "amount": 15000])
        let reference = try #require((push("P-5").json["attempt"] as? [String: Any])?["reference"] as? String)
        op.set(reference, ScriptedOperator.paid(150))
        _ = callback(reference)
        let order = try order("P-5")
        #expect(order.status == .review)
        #expect(order.reviewReasons.first?.contains("150 F CFA") == true)
    }

    @Test func callbacksFromElsewhereOrForNothingAreRefused() throws {
        #expect(callback("0123456789abcdef0123456789abcdef-0011223344", remote: "203.0.113.9").status == .forbidden)
        #expect(op.statusCalls.isEmpty)
        #expect(callback("0123456789abcdef0123456789abcdef-0011223344").status == .notFound)
        #expect(world.send("POST", "/callbacks/tmoney", json: "[1]").status == .badRequest)
        #expect(op.statusCalls.isEmpty)
        #expect(try world.journal().filter { $0.kind == .callRefused }.count == 2)
    }

    /// A dropped callback: reconciliation asks after `reconciliation_first_check_seconds` and applies the answer;
    /// a request the operator never knew is expired once the prompt's lifetime and the grace are past.
    @Test func reconciliationSettlesWhatNoCallbackSaid() throws {
        let start = Timestamp.now()
        world.clock.withLock { $0 = start }
        try world.createOrder(["purchaseref": "P-6", "amount": 15000])
        try world.createOrder(["purchaseref": "P-7", "amount": 15000])
        let paidReference = try #require((push("P-6").json["attempt"] as? [String: Any])?["reference"] as? String)
        let lostReference = try #require((push("P-7", "91000000").json["attempt"] as? [String: Any])?["reference"] as? String)
        op.set(paidReference, ScriptedOperator.paid())
        let cashier = world.application.cashier
        // Not due yet: nobody is asked.
        var report = try cashier.reconcile(via: [op], credits: op)
        #expect(report.open == 2 && report.checked == 0)
        world.clock.withLock { $0 = start.adding(seconds: 16) }
        report = try cashier.reconcile(via: [op], credits: op)
        #expect(report.checked == 2)
        #expect(report.changed[.paid] == 1)
        #expect(try order("P-6").status == .paid)
        // Unknown before the prompt expired: still open, its check recorded, asked again only later.
        #expect(try order("P-7").status == .pending)
        #expect(try order("P-7").attempts.last?.lastCheck?.result == "unknown")
        report = try cashier.reconcile(via: [op], credits: op)
        #expect(report.checked == 0)
        world.clock.withLock { $0 = start.adding(seconds: 120 + 31) }
        report = try cashier.reconcile(via: [op], credits: op)
        #expect(report.changed[.expired] == 1)
        #expect(try order("P-7").status == .expired)
        #expect(op.statusCalls.filter { $0 == lostReference }.count == 2)
    }

    /// Found by the crash loop: a checkout page loaded while a prompt waited started a redirect attempt, after which
    /// a second push opened a second prompt, and the shopper was debited twice.
    @Test func noOtherAttemptWhileAPromptWaits() throws {
        let (_, path) = try world.createOrder(["purchaseref": "P-8", "amount": 15000])
        #expect(push("P-8").status == .accepted)
        // The checkout page and "try again" lead to the waiting page; no session is asked of TMoney Online.
        #expect(world.send("GET", path).status == .seeOther)
        #expect(world.send("POST", path + "/retry").status == .seeOther)
        #expect(try order("P-8").attempts.count == 1)
        #expect(world.gateway.requests.isEmpty)
        #expect(push("P-8").status == .accepted)
        #expect(op.debits.count == 1)
    }

    /// Found by the crash loop: a push attempt on an order that TMoney Online's notification paid meanwhile, its
    /// callback lost, was never asked about (reconciliation read pending orders only): money taken, ignored.
    @Test func aPushOnAnOrderPaidAnotherWayIsReconciledToReview() throws {
        let start = Timestamp.now()
        world.clock.withLock { $0 = start }
        try world.createOrder(["purchaseref": "P-9", "amount": 15000])
        let reference = try #require((push("P-9").json["attempt"] as? [String: Any])?["reference"] as? String)
        #expect(world.notify(World.okParameters("P-9", payid: "TOL-1")).status == .ok)
        #expect(try order("P-9").status == .paid)
        op.set(reference, ScriptedOperator.paid(reference: "TM-9"))
        world.clock.withLock { $0 = start.adding(seconds: 16) }
        // A new process (a restart) knows nothing of its open work: the thorough pass finds it.
        let fresh = world.cashier(at: start.seconds + 16)
        let report = try fresh.reconcile(via: [op], credits: op, thorough: true)
        #expect(report.open == 1)
        let reviewed = try order("P-9")
        #expect(reviewed.status == .review)
        #expect(reviewed.reviewReasons.first?.contains("paid twice") == true)
    }

    // MARK: - Refunds

    func paidOrder(_ ref: String) throws -> String {
        try world.createOrder(["purchaseref": ref, "amount": 15000])
        let reference = try #require((push(ref).json["attempt"] as? [String: Any])?["reference"] as? String)
        op.set(reference, ScriptedOperator.paid())
        _ = callback(reference)
        #expect(try order(ref).status == .paid)
        return reference
    }

    func refund(_ ref: String, _ body: String, key: String?) -> Response {
        var headers = ["Authorization": "Bearer " + World.apiKey]
        if let key { headers["Idempotency-Key"] = key }
        return world.send("POST", "/api/orders/\(ref)/refunds", json: body, headers: headers)
    }

    @Test func aRefundIsIdempotentAndNeverAbovePaid() throws {
        _ = try paidOrder("R-1")
        let created = refund("R-1", #"{"amount":5000,"reason":"article manquant"}"#, key: "k1")
        #expect(created.status == .created)
        #expect(created.json["status"] as? String == "succeeded")
        #expect(created.json["operator_reference"] as? String == "CR-1")
        #expect(op.credits.count == 1)
        #expect(op.credits[0].amount == 5000)
        #expect(op.credits[0].phone.international == "22890000001")
        // The same key: the same refund, no second credit.
        let again = refund("R-1", #"{"amount":5000,"reason":"article manquant"}"#, key: "k1")
        #expect(again.status == .ok)
        #expect(again.json["id"] as? String == created.json["id"] as? String)
        #expect(op.credits.count == 1)
        #expect(refund("R-1", #"{"amount":6000,"reason":"article manquant"}"#, key: "k1").status == .conflict)
        // 10,001 more would pass the 15,000 paid.
        let over = refund("R-1", #"{"amount":10001}"#, key: "k2")
        #expect(over.status == .unprocessableContent)
        #expect((over.json["fields"] as? [[String: String]])?.first?["field"] == "amount")
        #expect(refund("R-1", #"{"amount":10000}"#, key: "k3").status == .created)
        #expect(try order("R-1").refundedAmount == 15000)
        #expect(op.credits.count == 2)
        let id = try #require(created.json["id"] as? String)
        #expect(world.api("GET", "/api/orders/R-1/refunds/\(id)").json["amount"] as? Int == 5000)
        #expect(world.api("GET", "/api/orders/R-1/refunds/rf_nope").status == .notFound)
    }

    @Test("refund requests refused, naming the field", arguments: [
        (#"{"amount":0}"#, "k", "amount"), (#"{"amount":1.5}"#, "k", "amount"), (#"{"amount":"100"}"#, "k", "amount"),
        (#"{"amount":100,"reason":7}"#, "k", "reason"), (#"{"amount":100}"#, nil, "Idempotency-Key"),
        // JSON's true is no amount (it came out of JSONSerialization as 1: a refund of 1 F; schemathesis's contract).
        (#"{"amount":true}"#, "k", "amount"), (#"{"amount":false}"#, "k", "amount"),
    ] as [(String, String?, String)])
    func badRefunds(body: String, key: String?, field: String) throws {
        _ = try paidOrder("R-bad")
        let response = refund("R-bad", body, key: key)
        #expect(response.status == .unprocessableContent)
        #expect((response.json["fields"] as? [[String: String]])?.first?["field"] == field)
        #expect(op.credits.isEmpty)
    }

    @Test func anUnpaidOrderIsNotRefunded() throws {
        try world.createOrder(["purchaseref": "R-2", "amount": 15000])
        #expect(refund("R-2", #"{"amount":100}"#, key: "k").status == .unprocessableContent)
        #expect(op.credits.isEmpty)
    }

    /// A credit whose answer was lost: pending; a status call comes before anything is sent again, and the
    /// credit is sent again only when the operator does not know it, long after the first send.
    @Test func aLostCreditIsResolvedByAStatusCallBeforeAnyResend() throws {
        let start = Timestamp.now()
        world.clock.withLock { $0 = start }
        _ = try paidOrder("R-3")
        op.creditAnswer = .failure(.timeout)
        let created = refund("R-3", #"{"amount":1000}"#, key: "lost")
        #expect(created.status == .created)
        #expect(created.json["status"] as? String == "pending")
        #expect(op.credits.count == 1)
        let creditReference = op.credits[0].reference
        let cashier = world.application.cashier
        op.creditAnswer = .success("CR-2")
        // Due after 15 s: the operator does not know it yet, but the send was under a minute ago: nothing sent.
        world.clock.withLock { $0 = start.adding(seconds: 16) }
        _ = try cashier.reconcile(via: [op], credits: op)
        #expect(op.statusCalls.last == creditReference)
        #expect(op.credits.count == 1)
        // Two minutes on, still unknown: it never arrived, and is sent again under the same reference.
        world.clock.withLock { $0 = start.adding(seconds: 136) }
        _ = try cashier.reconcile(via: [op], credits: op)
        #expect(op.credits.count == 2)
        #expect(op.credits[1].reference == creditReference)
        #expect(try order("R-3").refunds[0].status == .succeeded)

        // Another lost answer, where the credit did arrive: the status call says so, and nothing is sent again.
        op.creditAnswer = .failure(.timeout)
        _ = refund("R-3", #"{"amount":2000}"#, key: "arrived")
        let second = op.credits[2].reference
        op.set(second, .succeeded(OperatorTransaction(reference: "CR-3", amount: 2000, currency: "952", phone: "22890000001", occurredAt: "")))
        world.clock.withLock { $0 = start.adding(seconds: 300) }
        _ = try cashier.reconcile(via: [op], credits: op)
        #expect(op.credits.count == 3)
        let settled = try order("R-3").refunds[1]
        #expect(settled.status == .succeeded)
        #expect(settled.operatorReference == "CR-3")
    }

    // MARK: - Payouts

    func payout(_ body: String) -> Response { world.api("POST", "/api/payouts", json: body) }

    @Test func aPayoutIsIdempotentByReference() throws {
        let created = payout(#"{"reference":"PO-1","phone":"+228 91 00 00 01","amount":20000,"description":"Livreur"}"#)
        #expect(created.status == .created, "\(created.text)")
        #expect(created.json["status"] as? String == "succeeded")
        #expect(created.json["phone"] as? String == "22891000001")
        #expect(op.credits.count == 1)
        #expect(op.credits[0].amount == 20000)
        // The same content again, in another written form of the number: the same payout, no second credit.
        #expect(payout(#"{"reference":"PO-1","phone":"91000001","amount":20000,"description":"Livreur"}"#).status == .ok)
        #expect(payout(#"{"reference":"PO-1","phone":"91000001","amount":20001,"description":"Livreur"}"#).status == .conflict)
        #expect(op.credits.count == 1)
        #expect(world.api("GET", "/api/payouts/PO-1").json["amount"] as? Int == 20000)
        #expect(world.api("GET", "/api/payouts/PO-none").status == .notFound)
    }

    @Test("payout requests refused, naming the field", arguments: [
        (#"{"phone":"90000001","amount":100}"#, "reference"), (#"{"reference":"a b","phone":"90000001","amount":100}"#, "reference"),
        (#"{"reference":"x","phone":"97000001","amount":100}"#, "phone"), (#"{"reference":"x","phone":"9000","amount":100}"#, "phone"),
        (#"{"reference":"x","phone":"90000001","amount":0}"#, "amount"), (#"{"reference":"x","phone":"90000001","amount":"100"}"#, "amount"),
        (#"{"reference":"x","phone":"90000001","amount":500001}"#, "amount"), (#"{"reference":"x","phone":90000001,"amount":100}"#, "phone"),
        (#"{"reference":"x","phone":"90000001","amount":true}"#, "amount"),
    ])
    func badPayouts(body: String, field: String) throws {
        let response = payout(body)
        #expect(response.status == .unprocessableContent)
        #expect((response.json["fields"] as? [[String: String]])?.map { $0["field"] } == [field], "\(response.text)")
        #expect(op.credits.isEmpty)
    }

    /// The day's cap counts every payout that did not fail: 4 × 500,000 is the default 2,000,000.
    @Test func theDailyCapHolds() throws {
        for index in 1...4 {
            #expect(payout(#"{"reference":"CAP-\#(index)","phone":"90000001","amount":500000}"#).status == .created)
        }
        let over = payout(#"{"reference":"CAP-5","phone":"90000001","amount":1}"#)
        #expect(over.status == .unprocessableContent)
        #expect((over.json["fields"] as? [[String: String]])?.first?["message"]?.contains("payout_daily_limit") == true)
        #expect(op.credits.count == 4)
    }

    @Test func aLostPayoutAnswerIsResolvedBeforeAnyResend() throws {
        let start = Timestamp.now()
        world.clock.withLock { $0 = start }
        op.creditAnswer = .failure(.timeout)
        #expect(payout(#"{"reference":"PO-lost","phone":"90000001","amount":700}"#).json["status"] as? String == "pending")
        op.set(op.credits[0].reference, .succeeded(OperatorTransaction(reference: "CR-9", amount: 700, currency: "952", phone: "22890000001", occurredAt: "")))
        world.clock.withLock { $0 = start.adding(seconds: 20) }
        _ = try world.application.cashier.reconcile(via: [op], credits: op)
        #expect(op.credits.count == 1)
        let settled = world.api("GET", "/api/payouts/PO-lost").json
        #expect(settled["status"] as? String == "succeeded")
        #expect(settled["operator_reference"] as? String == "CR-9")
    }

    // MARK: - Checkout

    @Test func theCheckoutOffersThePhoneAndExplainsABadNumber() throws {
        let (_, path) = try world.createOrder(["purchaseref": "C-1", "amount": 15000, "language": "en"])
        let page = world.send("GET", path)
        #expect(page.text.contains(#"id="phone""#))
        #expect(page.text.contains("Pay from my phone"))
        let bad = world.send("POST", path + "/push", form: "phone=96%2000%2000%2001")
        #expect(bad.status == .unprocessableContent)
        #expect(bad.text.contains("Paying from the phone with Flooz is not offered for this order"))
        #expect(bad.text.contains(#"value="96 00 00 01""#))
        let short = world.send("POST", path + "/push", form: "phone=9000")
        #expect(short.text.contains("not a Togolese mobile number"))
        #expect(op.debits.isEmpty)

        let sent = world.send("POST", path + "/push", form: "phone=90%2000%2000%2001")
        #expect(sent.status == .seeOther)
        #expect(sent.headers.first { $0.name == "Location" }?.value == path + "/phone")
        // A reload of the post, and the checkout page itself, lead to the same waiting page: one debit.
        #expect(world.send("POST", path + "/push", form: "phone=90000001").status == .seeOther)
        #expect(world.send("GET", path).status == .seeOther)
        #expect(op.debits.count == 1)
        let waiting = world.send("GET", path + "/phone")
        #expect(waiting.text.contains("Approve the payment on your phone"))
        #expect(waiting.text.contains("+228 90 00 00 01"))
        #expect(world.send("GET", path + "/status").json["status"] as? String == "waiting")
        op.set(op.debits[0].reference, ScriptedOperator.paid())
        _ = callback(op.debits[0].reference)
        let status = world.send("GET", path + "/status").json
        #expect(status["status"] as? String == "paid")
        #expect((status["url"] as? String)?.hasPrefix("/return/accept?order=") == true)
    }
}

/// The webhook events of refunds and payouts, and what their bodies carry.
@Suite struct CreditWebhookTests {
    @Test func refundAndPayoutEventsCarryWhatEnded() throws {
        let op = ScriptedOperator()
        let world = try World(
            settings: ["mbanking_callback_allowlist": ["127.0.0.1"], "webhooks": [["url": "https://shop.example.tg/hook", "secret": "webhook-secret-0123456789"]]],
            mbanking: op)
        try world.createOrder(["purchaseref": "W-1", "amount": 15000])
        let reference = try #require((world.api("POST", "/api/orders/W-1/push", json: #"{"phone":"90000001"}"#).json["attempt"] as? [String: Any])?["reference"] as? String)
        op.set(reference, ScriptedOperator.paid())
        _ = world.send("POST", "/callbacks/tmoney", json: #"{"idRequete":"\#(reference)","statutRequete":"SUCCES"}"#)
        _ = world.send("POST", "/api/orders/W-1/refunds", json: #"{"amount":4000}"#, headers: ["Authorization": "Bearer " + World.apiKey, "Idempotency-Key": "w1"])
        op.creditAnswer = .failure(.refused(code: "4005 Solde partenaire insuffisant"))
        _ = world.api("POST", "/api/payouts", json: #"{"reference":"W-PO","phone":"90000001","amount":900}"#)

        let outbox = world.store.outbox
        var events: [OutboxEvent] = []
        for id in outbox.ids(in: .pending) { if let (event, _) = try outbox.load(id) { events.append(event) } }
        #expect(Set(events.map(\.type)) == ["order.paid", "refund.succeeded", "payout.failed"])
        let links = world.application.configuration.links
        let refundEvent = try #require(events.first { $0.type == "refund.succeeded" })
        let refundBody = try #require(try JSONSerialization.jsonObject(with: Data(WebhookMessage.body(refundEvent, links: links))) as? [String: Any])
        #expect((refundBody["refund"] as? [String: Any])?["amount"] as? Int == 4000)
        #expect((refundBody["order"] as? [String: Any])?["purchaseref"] as? String == "W-1")
        let payoutEvent = try #require(events.first { $0.type == "payout.failed" })
        let payoutBody = try #require(try JSONSerialization.jsonObject(with: Data(WebhookMessage.body(payoutEvent, links: links))) as? [String: Any])
        #expect(payoutBody["order"] == nil)
        let payout = try #require(payoutBody["payout"] as? [String: Any])
        #expect(payout["reference"] as? String == "W-PO")
        #expect(payout["status"] as? String == "failed")
        #expect((payout["failure"] as? String)?.contains("4005") == true)
    }
}

/// The dashboard shows each push attempt's last check, an order's refunds, and the payouts.
@Suite struct CreditDashboardTests {
    @Test func attemptsRefundsAndPayoutsOnTheDashboard() throws {
        let op = ScriptedOperator()
        var settings = Admin.settings
        settings["mbanking_callback_allowlist"] = ["127.0.0.1"]
        let world = try World(settings: settings, mbanking: op)
        let (order, _) = try world.createOrder(["purchaseref": "D-<1>", "amount": 15000])
        let reference = try #require((world.api("POST", "/api/orders/D-%3C1%3E/push", json: #"{"phone":"90000001"}"#).json["attempt"] as? [String: Any])?["reference"] as? String)
        var page = Admin.get(world, "/admin/orders/\(order.key.hex)?lang=en").text
        #expect(page.contains("+228 90 00 00 01"))
        #expect(page.contains("not checked yet"))
        op.set(reference, ScriptedOperator.paid())
        _ = world.send("POST", "/callbacks/tmoney", json: #"{"idRequete":"\#(reference)","statutRequete":"SUCCES"}"#)
        _ = world.send("POST", "/api/orders/D-%3C1%3E/refunds", json: #"{"amount":2500,"reason":"<b>casse</b>"}"#, headers: ["Authorization": "Bearer " + World.apiKey, "Idempotency-Key": "d1"])
        page = Admin.get(world, "/admin/orders/\(order.key.hex)?lang=en").text
        #expect(page.contains("succeeded TM-1 15000 F"), "the attempt's last check")
        #expect(page.contains(#"id="refunds""#))
        #expect(page.contains("2 500 F CFA"))
        #expect(page.contains("&lt;b&gt;casse&lt;/b&gt;"), "a refund's reason is escaped")
        #expect(!page.contains("<b>casse</b>"))
        _ = world.api("POST", "/api/payouts", json: #"{"reference":"PO-<x>","phone":"91000001","amount":3000}"#)
        let payouts = Admin.get(world, "/admin/payouts?lang=en")
        #expect(payouts.status == .ok)
        #expect(payouts.text.contains("PO-&lt;x&gt;"))
        #expect(payouts.text.contains("+228 91 00 00 01"))
        #expect(payouts.text.contains(#"<strong id="paid-out">3 000 F CFA</strong>"#))
        #expect(Admin.get(world, "/admin/payouts", authorization: nil).status == .unauthorized)
    }
}
