import TMoneyOnline
import FastCGI
import Foundation
import Logging
import Payments
import Testing
@testable import Sandbox

/// Notifications really sent, by GET, to a local stand-in for the merchant.
@Suite struct DeliveryTests {
    static let logger = Logger(label: "sandbox-tests")

    @Test func theGETArrivesWithTheQueryAsPlanned() throws {
        let merchant = try MerchantListener(.respond(status: 200, body: "OK"))
        let transport = HTTPNotificationTransport(timeoutSeconds: 5)
        let url = merchant.url + "/notify?purchaseref=CMD-1001&amount=15000&cname=Kofi+Mensah&error="
        #expect(transport.get(url) == .answered(status: 200, excerpt: "OK"))
        #expect(merchant.received.map(\.line) == ["GET /notify?purchaseref=CMD-1001&amount=15000&cname=Kofi+Mensah&error= HTTP/1.1"])
    }

    @Test func theMerchantsRefusalIsReportedWithItsBody() throws {
        let merchant = try MerchantListener(.respond(status: 403, body: "Forbidden:\nnot from TMoney"))
        #expect(HTTPNotificationTransport(timeoutSeconds: 5).get(merchant.url + "/notify") == .answered(status: 403, excerpt: "Forbidden: not from TMoney"))
    }

    @Test func aSilentMerchantTimesOut() throws {
        let merchant = try MerchantListener(.hang(seconds: 3))
        let started = Date()
        guard case .failed = HTTPNotificationTransport(timeoutSeconds: 0.5).get(merchant.url + "/notify") else {
            Issue.record("expected a timeout")
            return
        }
        #expect(Date().timeIntervalSince(started) < 2.5)
    }

    @Test func anUnreachableMerchantFails() throws {
        let port = try MerchantListener().port  // closed again at once
        guard case .failed = HTTPNotificationTransport(timeoutSeconds: 2).get("http://127.0.0.1:\(port)/notify") else {
            Issue.record("expected a failure")
            return
        }
    }

    @Test func aPaymentNotifiesTheMerchantFromTheSandbox() throws {
        let merchant = try MerchantListener()
        var file = Harness.configuration
        var merchants = file["merchants"] as! [[String: Any]]
        merchants[0]["notification_url"] = merchant.url + "/notify"
        file["merchants"] = merchants
        let courier = NotificationCourier(transport: HTTPNotificationTransport(timeoutSeconds: 5), logger: Self.logger)
        let harness = try Harness(file, dispatcher: courier)
        let (page, key) = harness.pay()
        #expect(page.status == .ok)
        #expect(merchant.wait(for: 1))
        let line = try #require(merchant.received.first?.line)
        let paymentref = try #require(harness.sandbox.snapshot().transactions[key]?.outcome?.paymentref)
        #expect(line.hasPrefix("GET /notify?purchaseref=CMD-1001&amount=15000&currency=952&status=OK&clientid=1000000001"
            + "&cname=Kofi+Mensah&mobile=22890000001&paymentref=\(paymentref)&payid="))
        #expect(line.hasSuffix("&timestamp=\(harness.clock.now.seconds)&error= HTTP/1.1"))
    }

    @Test func beforeReturnIsSentBeforeTheShopperGetsAnAnswer() throws {
        let merchant = try MerchantListener()
        var file = Harness.configuration
        var merchants = file["merchants"] as! [[String: Any]]
        merchants[0]["notification_url"] = merchant.url + "/notify"
        merchants[0]["scenario"] = "before_return,twice"
        file["merchants"] = merchants
        let courier = NotificationCourier(transport: HTTPNotificationTransport(timeoutSeconds: 5), logger: Self.logger)
        let harness = try Harness(file, dispatcher: courier)
        let response = harness.step(harness.open().key, "cancel")
        #expect(response.status == .seeOther)
        #expect(merchant.received.count == 2, "both copies arrived before the redirect was returned")
        #expect(merchant.received.allSatisfy { $0.line.contains("&status=NOK&") && $0.line.contains("&error=CANCEL ") })
    }

    @Test func byDefaultTheShopperDoesNotWaitAndADelayIsHonoured() throws {
        let merchant = try MerchantListener(.hang(seconds: 1))
        let courier = NotificationCourier(transport: HTTPNotificationTransport(timeoutSeconds: 5), logger: Self.logger)
        let plan = NotificationPlan(
            merchantID: Harness.merchant, notification: TMoneyOnline.Notification(purchaseref: "R", amount: 100, currency: "952", status: .nok, error: "CANCEL"),
            url: merchant.url + "/notify?purchaseref=R", copies: 1, delayMilliseconds: 300, beforeReturn: false)
        let started = Date()
        courier.dispatch(plan)
        #expect(Date().timeIntervalSince(started) < 0.1, "dispatch returns at once")
        #expect(merchant.received.isEmpty)
        #expect(merchant.wait(for: 1))
        let arrived = try #require(merchant.received.first?.at)
        #expect(arrived.timeIntervalSince(started) >= 0.3)
    }
}
