import FastCGI
import Foundation
import Logging
import Payments
import Support
import Testing
@testable import Sandbox

/// How a prompt ends, what moves, and the callback that follows.
@Suite struct MBankingPromptTests {
    @Test func approvingMovesBothBalancesAndCallsBack() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let id = try #require(harness.prompts.first?.id)
        let (response, answer) = harness.answer(id, ["pin": "1234"])
        #expect(response.status == .ok)
        #expect(answer["status"] as? String == "SUCCES")
        #expect(int(answer["balance"]) == 4_985_000)
        #expect(answer["message"] as? String == "Paiement effectué. Nouveau solde : 4 985 000 F CFA.")
        #expect(harness.account("90000001")?.balance == 4_985_000)
        #expect(harness.partnerBalance == 1_015_000)
        #expect(harness.prompts.isEmpty)
        let plan = try #require(harness.callbackPlans.first)
        #expect(harness.callbackPlans.count == 1)
        #expect(plan.url == "http://127.0.0.1:8080/callbacks/tmoney" && plan.copies == 1 && plan.delayMilliseconds == 0)
        let fields = Harness.callbackFields(plan)
        #expect(Set(fields.keys) == [
            "code", "message", "refTmoney", "dateHeureTmoney", "idRequete", "statutRequete", "typeRequete", "dateHeureRequete",
            "refCommande", "montant", "numeroClient", "idPartenaire", "nomPartenaire", "soldePartenaire",
        ])
        #expect(fields["code"] as? String == "2002")
        #expect(fields["statutRequete"] as? String == "SUCCES")
        #expect(fields["typeRequete"] as? String == "DEBIT")
        #expect(fields["idRequete"] as? String == "REQ-1")
        #expect(fields["refCommande"] as? String == "CMD-1")
        #expect(fields["dateHeureRequete"] as? String == "2026-12-01 21:30:00")
        #expect(fields["dateHeureTmoney"] as? String == MBankingWire.dateTime(harness.clock.now))
        #expect(int(fields["montant"]) == 15000)
        #expect(fields["numeroClient"] as? String == "22890000001")
        #expect(fields["idPartenaire"] as? String == "PARTNER-0001")
        #expect(fields["nomPartenaire"] as? String == "Boutique Démo")
        #expect(int(fields["soldePartenaire"]) == 1_015_000)
        #expect((fields["refTmoney"] as? String).map { $0.utf8.count == 12 && $0.allSatisfy(\.isNumber) } == true)
        #expect(harness.answer(id, ["pin": "1234"]).0.status == .notFound, "an ended prompt is not answered twice")
        #expect(harness.account("90000001")?.balance == 4_985_000)
    }

    @Test func threeWrongPINsBlockTheAccountAndEndThePromptECHEC() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let id = try #require(harness.prompts.first?.id)
        let first = harness.answer(id, ["pin": "0000"]).1
        #expect(first["status"] as? String == "EN ATTENTE")
        #expect(int(first["attempts_left"]) == 2)
        #expect(harness.account("90000001")?.failedLogins == 1)
        #expect(harness.answer(id, ["pin": "0001"]).1["status"] as? String == "EN ATTENTE")
        #expect(harness.callbackPlans.isEmpty)
        let third = harness.answer(id, ["pin": "0002"]).1
        #expect(third["status"] as? String == "ECHEC")
        #expect(harness.account("90000001")?.blocked == true)
        #expect(harness.account("90000001")?.balance == 5_000_000)
        #expect(harness.partnerBalance == 1_000_000)
        let fields = Harness.callbackFields(try #require(harness.callbackPlans.first))
        #expect(fields["code"] as? String == "2003" && fields["statutRequete"] as? String == "ECHEC")
        // The same count as TMoney Online's login: that account is blocked there too.
        let (_, key) = harness.open()
        _ = harness.login(key)
        #expect(harness.plans.last?.notification.error == "AUTHENTICATION")
    }

    @Test func theRightPINResetsTheWrongPINCount() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let id = try #require(harness.prompts.first?.id)
        _ = harness.answer(id, ["pin": "0000"])
        _ = harness.answer(id, ["pin": "0000"])
        #expect(harness.answer(id, ["pin": "1234"]).1["status"] as? String == "SUCCES")
        #expect(harness.account("90000001")?.failedLogins == 0)
    }

    @Test func aBalanceTooLowEndsECHECWithNothingMoved() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit(["numeroClient": "22890000002"])
        let id = try #require(harness.prompts.first?.id)
        let answer = harness.answer(id, ["pin": "1234"]).1
        #expect(answer["status"] as? String == "ECHEC")
        #expect(int(answer["balance"]) == 500)
        #expect(harness.account("90000002")?.balance == 500)
        #expect(harness.partnerBalance == 1_000_000)
        #expect(Harness.callbackFields(try #require(harness.callbackPlans.first))["statutRequete"] as? String == "ECHEC")
    }

    @Test func decliningEndsECHEC() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let answer = harness.answer(try #require(harness.prompts.first?.id), ["action": "decline"]).1
        #expect(answer["status"] as? String == "ECHEC")
        #expect(harness.account("90000001")?.balance == 5_000_000)
        #expect(harness.checked("REQ-1")?["message"] as? String == "Paiement refusé par le client")
    }

    @Test func anUnansweredPromptEndsECHECAfterItsLifetime() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        harness.clock.advance(119)
        #expect(try harness.sandbox.expireUnansweredPrompts() == 0)
        #expect(harness.prompts.count == 1)
        harness.clock.advance(1)
        #expect(try harness.sandbox.expireUnansweredPrompts() == 1)
        #expect(harness.prompts.isEmpty)
        let fields = Harness.callbackFields(try #require(harness.callbackPlans.first))
        #expect(fields["code"] as? String == "2003" && fields["statutRequete"] as? String == "ECHEC")
        #expect(fields["message"] as? String == "Délai de validation dépassé")
        #expect(harness.checked("REQ-1")?["statutRequete"] as? String == "ECHEC")
        #expect(try harness.sandbox.expireUnansweredPrompts() == 0)
        #expect(harness.callbackPlans.count == 1)
    }

    @Test func aPromptAnsweredPastItsLifetimeIsExpiredNotPaid() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let id = try #require(harness.prompts.first?.id)
        harness.clock.advance(120)
        #expect(harness.answer(id, ["pin": "1234"]).1["status"] as? String == "ECHEC")
        #expect(harness.account("90000001")?.balance == 5_000_000)
    }

    @Test func eachFateOfTheCallback() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        for (index, fate) in ["drop", "twice", "delay_ms=3000", "send"].enumerated() {
            _ = harness.debit(["idRequete": "F\(index)"], token: token)
            let id = try #require(harness.prompts.first?.id)
            #expect(harness.answer(id, ["pin": "1234", "callback": fate]).0.status == .ok)
        }
        let plans = harness.callbackPlans
        #expect(plans.map(\.idRequete) == ["F1", "F2", "F3"], "drop sends nothing")
        #expect(plans.map(\.copies) == [2, 1, 1])
        #expect(plans.map(\.delayMilliseconds) == [0, 3000, 0])
        #expect(harness.checked("F0")?["statutRequete"] as? String == "SUCCES", "a dropped callback still leaves check-transaction right")
        _ = harness.debit(["idRequete": "F9"], token: token)
        let bad = harness.answer(try #require(harness.prompts.first?.id), ["pin": "1234", "callback": "thrice"])
        #expect(bad.0.status == .badRequest)
        #expect(bad.1["field"] as? String == "callback")
    }

    @Test func thePartnersConfiguredFateAppliesToExpiryToo() throws {
        let harness = try Harness.mbanking(partner: ["callback": "twice"])
        _ = harness.debit()
        harness.clock.advance(120)
        try harness.sandbox.expireUnansweredPrompts()
        #expect(harness.callbackPlans.map(\.copies) == [2])
    }

    @Test func thePromptsAPIChecksItsBody() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let id = try #require(harness.prompts.first?.id)
        #expect(harness.answer(id, [:]).1["field"] as? String == "pin")
        #expect(harness.answer(id, ["action": "maybe"]).1["field"] as? String == "action")
        #expect(harness.call("POST", "/sandbox/api/prompts/" + id, raw: Array("[]".utf8)).status == .badRequest)
        #expect(harness.answer("0123456789abcdef0123456789abcdef", ["pin": "1234"]).0.status == .notFound)
        #expect(harness.call("GET", "/sandbox/api/prompts?phone=abc").status == .badRequest)
        #expect(harness.prompts.count == 1)
    }

    @Test func theCourierPostsJSONAndHonoursTwice() throws {
        final class Recorder: CallbackTransport, @unchecked Sendable {
            let posts = Lock<[(String, [UInt8])]>([])
            func post(_ url: String, json: [UInt8]) -> DeliveryResult {
                posts.withLock { $0.append((url, json)) }
                return .answered(status: 200, excerpt: "ok")
            }
        }
        let transport = Recorder()
        let courier = CallbackCourier(transport: transport, logger: Logger(label: "sandbox-tests"))
        let plan = try #require(CallbackPlan.make(partnerID: "P", idRequete: "R", status: "SUCCES", url: "http://partner.test/cb", body: Array("{}".utf8), fate: .twice))
        courier.dispatch(plan)
        for _ in 0..<500 where transport.posts.withLock({ $0.count }) < 2 { usleep(10_000) }
        #expect(transport.posts.withLock { $0.map(\.0) } == ["http://partner.test/cb", "http://partner.test/cb"])
        #expect(CallbackPlan.make(partnerID: "P", idRequete: "R", status: "ECHEC", url: "u", body: [], fate: .drop) == nil)
    }

    @Test func theHTTPTransportPostsJSON() throws {
        let partner = try MerchantListener(.respond(status: 200, body: "OK"))
        let result = HTTPCallbackTransport(timeoutSeconds: 5).post(partner.url + "/callbacks/tmoney", json: Array(#"{"code":"2002"}"#.utf8))
        #expect(result == .answered(status: 200, excerpt: "OK"))
        #expect(partner.received.map(\.line) == ["POST /callbacks/tmoney HTTP/1.1"])
    }
}
