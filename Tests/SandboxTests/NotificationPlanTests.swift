import TMoneyOnline
import FastCGI
import Foundation
import Payments
import Testing
@testable import Sandbox

/// What each payment's notification says, and the scenario switches that bend it, before any network call.
@Suite struct NotificationPlanTests {
    @Test func scenarioSwitchesParse() throws {
        #expect(try Scenario(parsing: "") == Scenario())
        let scenario = try Scenario(parsing: " twice , delay_ms=2000,amount_delta=-100,before_return ")
        #expect(scenario.twice && scenario.beforeReturn && !scenario.drop)
        #expect(scenario.delayMilliseconds == 2000)
        #expect(scenario.amountDelta == -100)
        #expect(scenario.description == "before_return,twice,delay_ms=2000,amount_delta=-100")
        #expect(try Scenario(parsing: scenario.description) == scenario)
        #expect(try Scenario(parsing: "drop").drop)
        #expect(try Scenario(parsing: "delay_ms=600000").delayMilliseconds == 600_000)
        let data = try JSONEncoder().encode(scenario)
        #expect(try JSONDecoder().decode(Scenario.self, from: data) == scenario)
    }

    @Test func badScenariosAreRefusedWithAReason() {
        for text in ["slow", "twice,twice", "delay_ms", "delay_ms=600001", "delay_ms=-5", "amount_delta=1.5",
                     "amount_delta=99999999999", "drop,delay_ms=10", "twice=1"] {
            #expect(throws: Scenario.Invalid.self, "\(text)") { try Scenario(parsing: text) }
        }
    }

    @Test func normallyOneNotificationAtOnceWhileTheShopperIsRedirected() throws {
        let harness = try Harness()
        _ = harness.pay()
        let plan = try #require(harness.plans.first)
        #expect(plan.copies == 1)
        #expect(plan.delayMilliseconds == 0)
        #expect(!plan.beforeReturn)
        #expect(plan.merchantID == Harness.merchant)
    }

    @Test func delay() throws {
        let harness = try Harness()
        _ = harness.pay(["sandbox_scenario": "delay_ms=1500"])
        #expect(harness.plans.first?.delayMilliseconds == 1500)
        #expect(harness.plans.first?.copies == 1)
    }

    @Test func twice() throws {
        let harness = try Harness()
        _ = harness.pay(["sandbox_scenario": "twice"])
        #expect(harness.plans.first?.copies == 2)
    }

    @Test func beforeReturn() throws {
        let harness = try Harness()
        _ = harness.open(["sandbox_scenario": "before_return"]).key
        let (_, key) = harness.open(["sandbox_scenario": "before_return", "purchaseref": "CMD-2"])
        _ = harness.step(key, "cancel")
        #expect(harness.plans.first?.beforeReturn == true)
    }

    @Test func dropSendsNothingButThePaymentStillHappens() throws {
        let harness = try Harness()
        let (page, _) = harness.pay(["sandbox_scenario": "drop"])
        #expect(page.status == .ok)
        #expect(harness.plans.isEmpty)
        #expect(harness.account("90000001")?.balance == 4_985_000)
    }

    @Test func amountDeltaChangesOnlyTheNotifiedAmount() throws {
        let harness = try Harness()
        _ = harness.pay(["sandbox_scenario": "amount_delta=-100"])
        #expect(harness.plans.last?.parameters["amount"] == "14900")
        #expect(harness.account("90000001")?.balance == 4_985_000, "the shopper pays the order's amount")
        _ = harness.pay(["sandbox_scenario": "amount_delta=50", "purchaseref": "CMD-2"])
        #expect(harness.plans.last?.parameters["amount"] == "15050")
        _ = harness.pay(["sandbox_scenario": "amount_delta=-20000", "purchaseref": "CMD-3"])
        #expect(harness.plans.last?.parameters["amount"] == "0")
    }

    @Test func theScenarioMayComeFromTheFormsActionURL() throws {
        let harness = try Harness()
        let form = Harness.orderForm(session: harness.session())
        let page = harness.send("POST", "/online/online.php?sandbox_scenario=twice", form: form)
        let key = try #require(Harness.key(in: page))
        _ = harness.step(key, "cancel")
        #expect(harness.plans.first?.copies == 2)
    }

    @Test func theMerchantsScenarioUnlessTheFormNamesOne() throws {
        let harness = try Harness()
        let other = ["merchantid": Harness.otherMerchant]
        let session = { harness.session(merchant: Harness.otherMerchant, remote: "192.0.2.10") }
        _ = harness.step(harness.open(other, session: session()).key, "cancel")
        #expect(harness.plans.last?.copies == 2, "the merchant's twice")
        _ = harness.step(harness.open(other.merging(["sandbox_scenario": "delay_ms=10"]) { $1 }, session: session()).key, "cancel")
        #expect(harness.plans.last?.copies == 1)
        #expect(harness.plans.last?.delayMilliseconds == 10)
    }

    @Test func aNotificationURLWithAQueryGetsTheParametersAfterAnAmpersand() throws {
        let harness = try Harness()
        let session = harness.session(merchant: Harness.otherMerchant, remote: "192.0.2.10")
        _ = harness.step(harness.open(["merchantid": Harness.otherMerchant], session: session).key, "cancel")
        #expect(harness.plans.first?.url.hasPrefix("http://other.test/tmoney?key=abc&purchaseref=CMD-1001&amount=15000&") == true)
    }

    @Test func namesAndReferencesAreFormEncoded() throws {
        var file = Harness.configuration
        file["accounts"] = [["phone": "90000009", "pin": "4321", "name": "Akossiwa Éyram-Doe", "client_id": "C&9", "balance": 100_000]]
        let harness = try Harness(file)
        _ = harness.pay(["purchaseref": "CMD 1/2&x=é"], phone: "90000009", pin: "4321")
        let url = try #require(harness.plans.first?.url)
        #expect(url.contains("purchaseref=CMD+1%2F2%26x%3D%C3%A9&"))
        #expect(url.contains("&clientid=C%269&cname=Akossiwa+%C3%89yram-Doe&mobile=22890000009&"))
        let query = try URLEncoding.parseForm(Substring(url.split(separator: "?", maxSplits: 1)[1]))
        #expect(query["cname"] == "Akossiwa Éyram-Doe")
        #expect(query["purchaseref"] == "CMD 1/2&x=é")
    }

    @Test func everyOutcomeHasItsStatusAndError() throws {
        let harness = try Harness()
        _ = harness.pay()
        _ = harness.step(harness.open(["purchaseref": "C2"]).key, "cancel")
        let failed = harness.open(["purchaseref": "C3", "amount": "600"]).key
        _ = harness.login(failed, phone: "90000002")
        _ = harness.step(failed, "code", [("code", harness.lastCode ?? "")])
        let blocked = harness.open(["purchaseref": "C4"]).key
        for pin in ["0", "1", "2"] { _ = harness.login(blocked, phone: "90000003", pin: pin) }
        _ = harness.open(["purchaseref": "C5"], session: "00000000000000000000000000000000")
        #expect(harness.plans.map { "\($0.parameters["status"]!) \($0.parameters["error"]!)" } == [
            "OK ", "NOK CANCEL", "NOK PAYMENT_FAILED", "NOK AUTHENTICATION", "NOK EXPIRED_SESSION",
        ])
        #expect(harness.plans.allSatisfy { !$0.notification.payid.isEmpty && $0.notification.timestamp == String(harness.clock.now.seconds) })
        #expect(harness.plans.filter { $0.notification.paymentref.isEmpty }.count == 4, "a payment reference only for a payment made")
        for plan in harness.plans {
            #expect(try TMoneyOnline.Notification.parse(plan.notification.parameters) == plan.notification)
        }
    }
}
