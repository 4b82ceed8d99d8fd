import FastCGI
import Foundation
@testable import FlatFileStore
import OrderStorage
import TestStack
import Testing
@testable import AdminDashboard
@testable import Cashier
@testable import CheckoutWeb
@testable import CrossApp
@testable import MerchantAPI
import Support
import TMoneyOnline
import WebPages
@testable import Webhooks
@testable import Payments

@Suite struct ReturnPageTests {
    func link(_ path: String) -> String { String(path.dropFirst("/pay/".count)) }

    @Test func paidShowsThankYouWithThePaymentReference() throws {
        let world = try World()
        let (_, path) = try world.createOrder(["purchaseref": "RT-1", "amount": 15000])
        _ = world.send("GET", path)
        _ = world.notify(World.okParameters("RT-1", payid: "9911"))
        for outcome in ["accept", "decline", "cancel"] {
            let html = world.send("GET", "/return/\(outcome)?order=\(link(path))").text
            #expect(html.contains("Paiement reçu, merci"), "the stored state, whatever the URL says: \(outcome)")
            #expect(html.contains("PR-9911"))
            #expect(!html.contains("http-equiv=\"refresh\""))
            #expect(html.contains("https://shop.example.tg/merci"))
        }
    }

    @Test func pendingAfterAcceptRechecksForABoundedTime() throws {
        let world = try World()
        let (_, path) = try world.createOrder(["purchaseref": "RT-2", "amount": 15000])
        let first = world.send("GET", "/return/accept?order=\(link(path))").text
        #expect(first.contains("Paiement en cours de confirmation"))
        #expect(first.contains("<meta http-equiv=\"refresh\" content=\"3;url=/return/accept?order=\(link(path))&amp;check=1\">"))
        let last = world.send("GET", "/return/accept?order=\(link(path))&check=\(Checkout.pendingChecks)").text
        #expect(!last.contains("http-equiv=\"refresh\""), "it stops re-checking")
        #expect(last.contains("La confirmation tarde"))
        // The accept URL claimed success; the order is still pending and says so.
        #expect(try world.store.load(ref: "RT-2")?.status == .pending)
    }

    @Test("refusals show their reason and a way to try again", arguments: [
        ("CANCEL", "Vous avez annulé le paiement"), ("AUTHENTICATION", "numéro ou code secret incorrect"),
        ("PAYMENT_FAILED", "solde insuffisant"), ("EXPIRED_SESSION", "a expiré"),
    ])
    func refused(code: String, reason: String) throws {
        let world = try World()
        let (_, path) = try world.createOrder(["purchaseref": "RT-" + code, "amount": 15000])
        _ = world.send("GET", path)
        #expect(world.notify(World.nokParameters("RT-" + code, error: code)).status == .ok)
        let html = world.send("GET", "/return/decline?order=\(link(path))").text
        #expect(html.contains(reason))
        #expect(html.contains("<form method=\"post\" action=\"\(path)/retry\">"))
        #expect(html.contains("Réessayer le paiement"))
        // A cancel page is configured, a decline page is not: no link back then, rather than a link to "nil".
        #expect(!html.contains("href=\"nil\""))
        #expect(html.contains("href=\"https://shop.example.tg/panier\"") == (code == "CANCEL"))
    }

    @Test func retryStartsANewAttemptWithANewSession() throws {
        let world = try World()
        let (order, path) = try world.createOrder(["purchaseref": "RT-retry", "amount": 15000])
        _ = world.send("GET", path)
        _ = world.notify(World.nokParameters("RT-retry", error: "CANCEL"))
        #expect(try world.store.load(order.key)?.status == .cancelled)
        // Opening the checkout link again does not reopen the order by itself.
        #expect(world.send("GET", path).text.contains("Vous avez annulé"))
        let retry = world.send("POST", path + "/retry")
        #expect(retry.status == .seeOther)
        #expect(retry.header("location") == path)
        let after = try #require(try world.store.load(order.key))
        #expect(after.status == .pending)
        #expect(after.attempts.count == 2)
        #expect(world.gateway.requests.count == 2)
        #expect(HTMLForm.hiddenFields(world.send("GET", path).text).first?.0 == "sessionid")
    }
}

@Suite struct NotificationEndpointTests {
    @Test func okMarksPaidAndAnswersOK() throws {
        let world = try World()
        let (order, _) = try world.createOrder(["purchaseref": "N-1", "amount": 15000])
        let answer = world.notify(World.okParameters("N-1"))
        #expect(answer.status == .ok)
        #expect(answer.text == "OK")
        let paid = try #require(try world.store.load(order.key))
        #expect(paid.status == .paid)
        #expect(paid.payment?.payer.name == "Kofi Mensah")
        #expect(paid.payment?.payer.phone == "22890000001")
        // The same again: same answer, nothing changes.
        #expect(world.notify(World.okParameters("N-1")).text == "OK")
        #expect(try world.store.load(order.key) == paid)
    }

    /// A stranger's calls cost a counter: never a journal record, and a log line a minute per address.
    @Test func callerNotInTheAllowlistIs403CountedAndNotJournaled() throws {
        let world = try World()
        try world.createOrder(["purchaseref": "N-2", "amount": 15000])
        let before = try world.journal().count
        for remote in ["127.0.0.2", "10.8.0.1", "::1", "192.168.1.1"] {
            for _ in 0..<25 { #expect(world.notify(World.okParameters("N-2"), remote: remote).status == .forbidden, "\(remote)") }
        }
        #expect(world.notify(World.okParameters("N-2"), remote: "10.9.3.4").status == .ok, "inside the allowed range")
        #expect(try world.journal().count == before + 1, "only the allowed notification")
        let lines = world.log.all.filter { $0.contains("notification refused: source address not allowed") }
        #expect(lines.count == 4, "one line per address in the minute: \(lines)")
        #expect(lines.allSatisfy { $0.contains("count=1") })
        // A minute on, the counts since are reported, once each.
        world.clock.withLock { $0 = Timestamp.now().adding(seconds: 61) }
        world.application.cashier.reportRefusedSources(channel: "notification")
        let reported = world.log.all.filter { $0.contains("notification refused: source address not allowed") && $0.contains("count=24") }
        #expect(reported.count == 4, "\(world.log.all.suffix(6))")
    }

    @Test func malformedIs400UnknownIs404BothJournaled() throws {
        let world = try World()
        try world.createOrder(["purchaseref": "N-3", "amount": 15000])
        let missing = world.send("GET", "/notify?purchaseref=N-3&amount=15000&currency=952")
        #expect(missing.status == .badRequest)
        #expect(missing.text.contains("status: is required"))
        #expect(world.send("GET", "/notify?purchaseref=N-3&amount=15000.00&currency=952&status=OK&payid=1&paymentref=2").status == .badRequest)
        #expect(world.send("GET", "/notify?purchaseref=N-3&amount=%ZZ").status == .badRequest)
        #expect(world.notify(World.okParameters("N-unknown")).status == .notFound)
        let answers = try world.journal().compactMap { $0.kind == .callRefused ? $0.answer : nil }
        #expect(answers == [400, 400, 404])
        #expect(try world.store.load(ref: "N-3")?.status == .pending)
    }

    @Test func amountOrCurrencyMismatchGoesToReviewNeverPaid() throws {
        let world = try World()
        try world.createOrder(["purchaseref": "N-4", "amount": 15000])
        try world.createOrder(["purchaseref": "N-5", "amount": 15000])
        #expect(world.notify(World.okParameters("N-4", amount: "150")).status == .ok)
        #expect(world.notify(World.okParameters("N-5", currency: "978")).status == .ok)
        let four = try #require(try world.store.load(ref: "N-4"))
        #expect(four.status == .review)
        #expect(four.reviewReasons == ["TMoney says paid for 150 F CFA on an order of 15000 F CFA"])
        #expect(try world.store.load(ref: "N-5")?.status == .review)
    }

    @Test func secondPaymentWithAnotherPayidIsReview() throws {
        let world = try World()
        try world.createOrder(["purchaseref": "N-6", "amount": 15000])
        _ = world.notify(World.okParameters("N-6", payid: "A"))
        _ = world.notify(World.nokParameters("N-6", error: "CANCEL"))
        #expect(try world.store.load(ref: "N-6")?.status == .paid, "a refusal after payment changes nothing")
        _ = world.notify(World.okParameters("N-6", payid: "B"))
        let order = try #require(try world.store.load(ref: "N-6"))
        #expect(order.status == .review)
        #expect(order.events.count == 3)
        #expect(order.payment?.transactionID == "A")
    }
}

@Suite struct ConfigurationTests {
    func load(_ changes: [String: Any?], mode: RunMode = .production, environment: [String: String] = ["CROSS_API_KEYS": "from-the-environment-0123"]) throws -> Configuration {
        let directory = NSTemporaryDirectory() + "cross-config-tests/\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var file: [String: Any] = [
            "merchant_id": "1234567890123456", "gateway_url": "https://tmoney.tg", "brand": "B", "public_url": "https://pay.tg",
            "notification_allowlist": ["196.168.10.4"], "data_directory": "data", "link_secret": "0123456789abcdef",
            "button_secret": "0123456789abcdef",
        ]
        for (key, value) in changes { file[key] = value }
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: directory + "/c.json"))
        return try Configuration.load(path: directory + "/c.json", environment: environment, mode: mode)
    }

    /// What only development may have: production refuses to start with it, naming the key; `--dev` takes it.
    @Test("production refuses what is only for development", arguments: [
        ("gateway_url", #""http://tmoney.tg""#), ("gateway_url", #""https://127.0.0.1:8081""#), ("gateway_url", #""https://localhost""#),
        ("gateway_url", #""https://[::1]:8081""#), ("public_url", #""http://pay.tg""#),
        ("notification_allowlist", #"["127.0.0.1"]"#), ("notification_allowlist", #"["196.168.10.4", "10.1.2.3"]"#),
        ("notification_allowlist", #"["0.0.0.0/0"]"#), ("notification_allowlist", #"["::1"]"#), ("notification_allowlist", #"["fe80::1"]"#),
        ("notification_allowlist", #"["192.0.0.0/4"]"#), ("notification_allowlist", #"["::/0"]"#), ("notification_allowlist", #"["100.64.1.1"]"#),
        ("link_secret", #""dev-link-secret-change-me-in-production""#), ("button_secret", #""dev-button-secret-change-me-in-production""#),
        ("admin", #"{"user": "admin", "password_hash": "pbkdf2-sha256$210000$NLSsKYTN4BeM07Pim39ytw==$7CqabIYiSUUsIXNrSNb8IVqTDrfq7ifFmbNJyzlWeKQ="}"#),
        ("webhooks", #"[{"url": "http://shop.tg/hook", "secret": "whsec-0123456789abcdef"}]"#),
        ("webhooks", #"[{"url": "https://shop.tg/hook", "secret": "dev-link-secret-change-me-in-production"}]"#),
    ])
    func productionRefuses(key: String, json: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        do {
            _ = try load([key: value])
            Issue.record("\(key) = \(json) was accepted in production")
        } catch let error as ConfigurationError {
            #expect(error.key.hasPrefix(key), "\(error)")
            #expect(error.description.contains("--dev"), "says how development runs")
        }
        _ = try load([key: value], mode: .development)
    }

    @Test func theDevelopmentAPIKeyIsRefusedInProduction() throws {
        let error = #expect(throws: ConfigurationError.self) { try load(["api_keys": ["dev-api-key-0123456789"]], environment: [:]) }
        #expect(error?.key == "api_keys")
    }

    /// The secrets production refuses are those of the checked-in development configuration, every one of them.
    @Test func theRefusedSecretsAreTheDevelopmentConfigurationsOwn() throws {
        let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Stack.root + "/config/cross.dev.json"))) as? [String: Any])
        var secrets = Set((file["api_keys"] as? [String]) ?? [])
        for key in ["link_secret", "button_secret"] { if let secret = file[key] as? String { secrets.insert(secret) } }
        if let admin = file["admin"] as? [String: Any], let hash = admin["password_hash"] as? String { secrets.insert(hash) }
        for webhook in (file["webhooks"] as? [[String: Any]]) ?? [] { if let secret = webhook["secret"] as? String { secrets.insert(secret) } }
        for section in ["mbanking", "flooz"] {
            if let entry = file[section] as? [String: Any], let password = entry["password"] as? String { secrets.insert(password) }
        }
        #expect(secrets == ProductionChecks.developmentSecrets)
        #expect(throws: ConfigurationError.self) { try Configuration.load(path: Stack.root + "/config/cross.dev.json", environment: [:]) }
    }

    @Test func defaults() throws {
        let configuration = try load([:])
        #expect(configuration.sessionLifetimeSeconds == 180)
        #expect(configuration.currency == "952")
        #expect(configuration.defaultLanguage == .fr)
        #expect(configuration.notificationPath == "/notify")
        #expect(configuration.apiKeys == ["from-the-environment-0123"])
        #expect(configuration.dataDirectory.hasSuffix("/data"))
    }

    @Test("a bad value names its key", arguments: [
        ("merchant_id", #""123""#), ("gateway_url", #""tmoney.tg""#), ("public_url", #""https://pay.tg/x?y""#),
        ("notification_allowlist", #"["not-an-ip"]"#), ("notification_allowlist", "[]"), ("default_language", #""de""#),
        ("currency", #""XOF""#), ("session_lifetime_seconds", "0"), ("link_secret", #""short""#), ("brand", #""""#),
        ("phone_field_name", #""phone""#), ("merchant_id", "1234567890123456"),
        ("public_url", "\"https://" + String(repeating: "p", count: 80) + ".tg\""),
    ])
    func badValue(key: String, json: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        do {
            _ = try load([key: value])
            Issue.record("\(key) = \(value) was accepted")
        } catch let error as Configuration.Invalid {
            #expect(error.key == key, "\(error)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func missingKeyIsNamed() {
        do {
            _ = try load(["merchant_id": nil])
            Issue.record("accepted")
        } catch let error as Configuration.Invalid {
            #expect(error.key == "merchant_id")
            #expect(error.description == "configuration: merchant_id is missing")
        } catch {
            Issue.record("\(error)")
        }
    }
}
