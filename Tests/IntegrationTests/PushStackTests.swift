import Foundation
import Testing
import TestStack

/// Paying from the phone, refunds and reconciliation through a real nginx, `cross serve` and `cross sandbox`
/// playing MBANKING: signed JWTs, prompts on the shopper's phone, callbacks, check-transaction and credits
/// that move real sandbox balances.
@Suite(.serialized) struct PushStackTests {
    static func push(_ stack: Stack, _ ref: String, phone: String = "90 00 00 01") throws -> HTTPResult {
        try HTTPClient.json(stack.port, "POST", "/api/orders/\(ref)/push", #"{"phone":"\#(phone)"}"#, apiKey: Stack.apiKey)
    }

    /// The prompt waiting on `phone`, as the sandbox's JSON test API shows it.
    static func prompt(_ stack: Stack, phone: String = "90000001") throws -> [String: Any] {
        let prompts = try stack.sandboxJSON("GET", "/sandbox/api/prompts?phone=" + phone).json as? [[String: Any]]
        return try #require(prompts?.first, "a prompt on \(phone)")
    }

    static func refund(_ stack: Stack, _ ref: String, amount: Int, key: String) throws -> HTTPResult {
        try HTTPClient.request(
            port: stack.port, method: "POST", target: "/api/orders/\(ref)/refunds",
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer " + Stack.apiKey), ("Idempotency-Key", key)],
            body: Array(#"{"amount":\#(amount),"reason":"retour"}"#.utf8))
    }

    @Test func paidFromThePhoneThenRefundedToTheSameAccount() throws {
        let stack = try Stack(name: "push", sandbox: true)
        defer { stack.stop() }
        try stack.createOrder("PUSH-1", amount: 15000)
        let pushed = try Self.push(stack, "PUSH-1")
        #expect(pushed.status == 202, "\(pushed.text)")
        let before = try #require(try stack.sandboxBalance("90000001"))
        let prompt = try Self.prompt(stack)
        #expect(prompt["amount"] as? Int == 15000)
        #expect(prompt["merchant"] as? String == "Boutique Démo")
        // A second call while the prompt waits sends no second debit.
        #expect(try Self.push(stack, "PUSH-1").status == 202)
        #expect((try stack.sandboxJSON("GET", "/sandbox/api/prompts?phone=90000001").json as? [Any])?.count == 1)

        let approved = try stack.sandboxJSON("POST", "/sandbox/api/prompts/\(prompt["id"] as! String)", #"{"pin":"1234"}"#)
        #expect((approved.json as? [String: Any])?["status"] as? String == "SUCCES")
        let paid = try #require(try stack.order("PUSH-1", becomes: "paid"), "paid once the callback is confirmed")
        #expect((paid["payment"] as? [String: Any])?["mobile"] as? String == "22890000001")
        #expect(try stack.sandboxBalance("90000001") == before - 15000)
        let log = stack.cross!.log
        #expect(log.contains("callback received ref=PUSH-1") || log.contains("callback received") && log.contains("ref=PUSH-1"))
        #expect(log.contains("source=callback"))
        #expect(!log.contains(Stack.mbankingPassword), "no MBANKING password in the log")

        let refunded = try Self.refund(stack, "PUSH-1", amount: 5000, key: "refund-1")
        #expect(refunded.status == 201, "\(refunded.text)")
        let refund = try #require(try JSONSerialization.jsonObject(with: Data(refunded.body)) as? [String: Any])
        #expect(refund["status"] as? String == "succeeded")
        #expect(try stack.sandboxBalance("90000001") == before - 10000)
        // The same key again: the same refund, no second credit.
        let again = try Self.refund(stack, "PUSH-1", amount: 5000, key: "refund-1")
        #expect(again.status == 200)
        #expect(try stack.sandboxBalance("90000001") == before - 10000)
        #expect(try Self.refund(stack, "PUSH-1", amount: 10001, key: "refund-2").status == 422)
        let order = try #require(try stack.order("PUSH-1"))
        #expect(order["refunded_amount"] as? Int == 5000)
    }

    /// A payout moves money from the partner's account to the number, once, whatever the merchant resends; `cross
    /// payouts` shows it.
    @Test func aPayoutReachesTheNumberOnce() throws {
        let stack = try Stack(name: "payout", settings: ["payout_max_amount": 1_000_000, "payout_daily_limit": 5_000_000], sandbox: true)
        defer { stack.stop() }
        let body = #"{"reference":"COURSIER-7","phone":"90 00 00 02","amount":20000,"description":"Livraison Tokoin"}"#
        let first = try HTTPClient.json(stack.port, "POST", "/api/payouts", body, apiKey: Stack.apiKey)
        #expect(first.status == 201, "\(first.text)")
        #expect((try JSONSerialization.jsonObject(with: Data(first.body)) as? [String: Any])?["status"] as? String == "succeeded")
        #expect(try stack.sandboxBalance("90000002") == 500 + 20000)
        #expect(try HTTPClient.json(stack.port, "POST", "/api/payouts", body, apiKey: Stack.apiKey).status == 200)
        #expect(try stack.sandboxBalance("90000002") == 500 + 20000)
        // Beyond the partner's balance (1,000,000 less this payout), the operator refuses: failed, nothing moved.
        let big = try HTTPClient.json(stack.port, "POST", "/api/payouts", #"{"reference":"BIG","phone":"90000002","amount":990000}"#, apiKey: Stack.apiKey)
        #expect(big.status == 201)
        #expect((try JSONSerialization.jsonObject(with: Data(big.body)) as? [String: Any])?["status"] as? String == "failed")
        #expect(try stack.sandboxBalance("90000002") == 500 + 20000)
        let shown = try Faults.cross(["payouts", "list", "--config", stack.configPath])
        #expect(shown.status == 0)
        #expect(shown.output.contains("COURSIER-7") && shown.output.contains("succeeded"), "\(shown.output)")
        #expect(shown.output.contains("BIG") && shown.output.contains("failed"), "\(shown.output)")
    }

    /// A callback dropped on purpose: reconciliation asks check-transaction and the order is paid within seconds.
    @Test func aDroppedCallbackIsReconciled() throws {
        let stack = try Stack(
            name: "dropped", settings: ["reconciliation_first_check_seconds": 2, "reconciliation_interval_seconds": 0.5], sandbox: true)
        defer { stack.stop() }
        try stack.createOrder("PUSH-2", amount: 2500)
        #expect(try Self.push(stack, "PUSH-2").status == 202)
        let prompt = try Self.prompt(stack)
        let approved = try stack.sandboxJSON("POST", "/sandbox/api/prompts/\(prompt["id"] as! String)", #"{"pin":"1234","callback":"drop"}"#)
        #expect((approved.json as? [String: Any])?["status"] as? String == "SUCCES")
        #expect(try stack.order("PUSH-2", becomes: "paid", timeout: 30) != nil)
        #expect(stack.cross!.log.contains("source=reconciliation"))
        #expect(!stack.cross!.log.contains("callback received"))
    }

    /// The API's own failures: a revoked token is renewed once; a credit made whose answer never came is found by
    /// check-transaction and never sent again.
    @Test func aRevokedTokenAndALostCreditAnswer() throws {
        let stack = try Stack(
            name: "faults", settings: ["reconciliation_first_check_seconds": 1, "reconciliation_interval_seconds": 0.5], sandbox: true,
            mbanking: ["timeout_seconds": 1.5], sandboxMBanking: ["hold_seconds": 3])
        defer { stack.stop() }
        try stack.createOrder("PUSH-3", amount: 15000)
        #expect(try Self.push(stack, "PUSH-3").status == 202)
        #expect(try stack.sandboxJSON("DELETE", "/sandbox/api/mbanking/tokens").status == 200)
        _ = try stack.sandboxJSON("POST", "/sandbox/api/prompts/\(try Self.prompt(stack)["id"] as! String)", #"{"pin":"1234"}"#)
        #expect(try stack.order("PUSH-3", becomes: "paid") != nil, "the callback's status call logged in again after the 401")
        #expect(stack.cross!.log.contains("mbanking token refused: logging in again"))

        let before = try #require(try stack.sandboxBalance("90000001"))
        #expect(try stack.sandboxJSON("POST", "/sandbox/api/mbanking/faults", #"{"fault":"lost_answer","on":"credit"}"#).status == 200)
        let lost = try Self.refund(stack, "PUSH-3", amount: 3000, key: "lost")
        #expect(lost.status == 201)
        // Pending, unless reconciliation (every 0.5 s here) asked TMoney while the answer was being waited for.
        let answered = (try JSONSerialization.jsonObject(with: Data(lost.body)) as? [String: Any])?["status"] as? String
        #expect(answered == "pending" || answered == "succeeded", "\(answered ?? "?")")
        #expect(try stack.sandboxBalance("90000001") == before + 3000, "the credit was made")
        // Reconciliation finds it made: succeeded, and the money moved once.
        let deadline = Date().addingTimeInterval(20)
        var status = "pending"
        while status == "pending" && Date() < deadline {
            let refunds = try stack.order("PUSH-3")?["refunds"] as? [[String: Any]]
            status = refunds?.first?["status"] as? String ?? "?"
            usleep(100_000)
        }
        #expect(status == "succeeded")
        #expect(try stack.sandboxBalance("90000001") == before + 3000)
    }

    /// `cross reconcile` by hand: `--dry-run` says what it would apply and changes nothing; then it applies it.
    @Test func reconcileByHand() throws {
        let stack = try Stack(name: "by-hand", settings: ["reconciliation_first_check_seconds": 3600], sandbox: true)
        defer { stack.stop() }
        try stack.createOrder("HAND-1", amount: 3000)
        #expect(try Self.push(stack, "HAND-1").status == 202)
        _ = try stack.sandboxJSON("POST", "/sandbox/api/prompts/\(try Self.prompt(stack)["id"] as! String)", #"{"pin":"1234","callback":"drop"}"#)
        let dry = try Faults.cross(["reconcile", "--dry-run", "--report", "--config", stack.configPath])
        #expect(dry.status == 0, "\(dry.errors)")
        #expect(dry.output.contains("HAND-1") && dry.output.contains("would apply paid"), "\(dry.output)")
        #expect(dry.output.contains("TMoney Online order(s) pending past their session"), "\(dry.output)")
        #expect(try stack.order("HAND-1")?["status"] as? String == "pending")
        let real = try Faults.cross(["reconcile", "--config", stack.configPath])
        #expect(real.status == 0, "\(real.errors)")
        #expect(real.output.contains("changed: 1 paid"), "\(real.output)")
        #expect(try stack.order("HAND-1")?["status"] as? String == "paid")
    }

    /// Credit v1 (TagPay's GET form) by configuration: the refund reaches the account, and the password that its
    /// URL carries is in no log line.
    @Test func aRefundByCreditV1() throws {
        let stack = try Stack(
            name: "credit-v1", sandbox: true, mbanking: ["credit_version": "v1", "credit_url": "{sandbox}/mbanking/tpcredit.php"])
        defer { stack.stop() }
        try stack.createOrder("V1-1", amount: 8000)
        #expect(try Self.push(stack, "V1-1").status == 202)
        _ = try stack.sandboxJSON("POST", "/sandbox/api/prompts/\(try Self.prompt(stack)["id"] as! String)", #"{"pin":"1234"}"#)
        #expect(try stack.order("V1-1", becomes: "paid") != nil)
        let before = try #require(try stack.sandboxBalance("90000001"))
        let refunded = try Self.refund(stack, "V1-1", amount: 3000, key: "v1")
        #expect(refunded.status == 201, "\(refunded.text)")
        #expect((try JSONSerialization.jsonObject(with: Data(refunded.body)) as? [String: Any])?["status"] as? String == "succeeded")
        #expect(try stack.sandboxBalance("90000001") == before + 3000)
        #expect(!stack.cross!.log.contains(Stack.mbankingPassword), "no MBANKING password in Cross's log")
        #expect(!stack.sandbox!.log.contains(Stack.mbankingPassword), "nor in the sandbox's")
    }

    /// Flooz against the sandbox playing it: a Moov number pays an order, its callback confirmed by verify; a
    /// dropped callback is found by reconciliation; a refund of it is refused, clearly.
    @Test func paidWithFloozAndADroppedFloozCallbackReconciled() throws {
        let stack = try Stack(
            name: "flooz", settings: ["reconciliation_first_check_seconds": 2, "reconciliation_interval_seconds": 0.5], sandbox: true)
        defer { stack.stop() }
        try stack.createOrder("FLOOZ-1", amount: 4000)
        try stack.createOrder("FLOOZ-2", amount: 3000)
        let pushed = try Self.push(stack, "FLOOZ-1", phone: "96 00 00 01")
        #expect(pushed.status == 202, "\(pushed.text)")
        #expect(pushed.text.contains(#""operator":"flooz""#))
        let before = try #require(try stack.sandboxBalance("96000001"))
        let prompt = try Self.prompt(stack, phone: "96000001")
        #expect(prompt["operator"] as? String == "flooz")
        _ = try stack.sandboxJSON("POST", "/sandbox/api/prompts/\(prompt["id"] as! String)", #"{"pin":"1234"}"#)
        let paid = try #require(try stack.order("FLOOZ-1", becomes: "paid"))
        #expect((paid["payment"] as? [String: Any])?["operator"] as? String == "flooz")
        #expect(try stack.sandboxBalance("96000001") == before - 4000)
        #expect(stack.cross!.log.contains("source=callback"))

        // A TMoney-range number the merchant says is on Flooz, its callback dropped: verify finds it paid.
        #expect(try HTTPClient.json(stack.port, "POST", "/api/orders/FLOOZ-2/push", #"{"phone":"96000001","operator":"flooz"}"#, apiKey: Stack.apiKey).status == 202)
        let second = try Self.prompt(stack, phone: "96000001")
        _ = try stack.sandboxJSON("POST", "/sandbox/api/prompts/\(second["id"] as! String)", #"{"pin":"1234","callback":"drop"}"#)
        #expect(try stack.order("FLOOZ-2", becomes: "paid", timeout: 30) != nil)
        #expect(try Self.refund(stack, "FLOOZ-1", amount: 100, key: "f").status == 422)
        #expect(!stack.cross!.log.contains("dev-flooz-password"), "no Flooz password in the log")
    }
}
