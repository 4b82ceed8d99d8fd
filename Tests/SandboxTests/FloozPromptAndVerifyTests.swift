import FastCGI
import Foundation
import Payments
import Support
import Testing
@testable import Sandbox

/// How a Flooz prompt ends, what moves, and the callback that follows.
@Suite struct FloozPromptTests {
    @Test func approvingMovesBothBalancesAndCallsBack() throws {
        let harness = try Harness.flooz()
        let refid = Harness.object(harness.floozDebit())["refid"] as? String
        let id = try #require(harness.floozPrompts.first?.id)
        let (response, answer) = harness.answer(id, ["pin": "1234"])
        #expect(response.status == .ok)
        #expect(answer["status"] as? String == "SUCCES")
        #expect(int(answer["balance"]) == 4_985_000)
        #expect(harness.account("96000001")?.balance == 4_985_000)
        #expect(harness.floozPartnerBalance == 1_015_000)
        #expect(harness.partnerBalance == 1_000_000, "MBANKING's partner is not Flooz's")
        #expect(harness.floozPrompts.isEmpty)
        let plan = try #require(harness.callbackPlans.first)
        #expect(harness.callbackPlans.count == 1)
        #expect(plan.url == "http://127.0.0.1:8080/callbacks/flooz" && plan.copies == 1 && plan.network == .flooz)
        let fields = Harness.callbackFields(plan)
        #expect(Set(fields.keys) == ["amount", "refid", "mrchrefid", "msisdn", "status", "message"])
        #expect(fields["amount"] as? String == "15000" && fields["refid"] as? String == refid && fields["mrchrefid"] as? String == "CMD-1")
        #expect(fields["msisdn"] as? String == "22896000001" && fields["status"] as? String == "0")
        #expect(harness.answer(id, ["pin": "1234"]).0.status == .notFound)
    }

    @Test func declineWrongPINsLowBalanceAndExpiry() throws {
        let harness = try Harness.flooz()
        _ = harness.floozDebit(["mrchrefid": "D"])
        #expect(harness.answer(try #require(harness.floozPrompts.first?.id), ["action": "decline"]).1["status"] as? String == "ECHEC")
        #expect(Harness.callbackFields(harness.callbackPlans[0])["status"] as? String == "1")
        #expect(harness.account("96000001")?.balance == 5_000_000)

        _ = harness.floozDebit(["mrchrefid": "W", "msisdn": "22896000003"])
        let id = try #require(harness.floozPrompts.first?.id)
        #expect(int(harness.answer(id, ["pin": "0000"]).1["attempts_left"]) == 2)
        _ = harness.answer(id, ["pin": "0000"])
        #expect(harness.callbackPlans.count == 1)
        #expect(harness.answer(id, ["pin": "0000"]).1["status"] as? String == "ECHEC")
        #expect(harness.account("96000003")?.blocked == true && harness.account("96000003")?.balance == 100_000)
        #expect(Harness.callbackFields(harness.callbackPlans[1])["message"] as? String == FloozWire.blockedByPINMessage)

        _ = harness.floozDebit(["mrchrefid": "L", "msisdn": "22896000002"])
        #expect(harness.answer(try #require(harness.floozPrompts.first?.id), ["pin": "1234"]).1["status"] as? String == "ECHEC")
        #expect(harness.account("96000002")?.balance == 500)
        #expect(Harness.callbackFields(harness.callbackPlans[2])["message"] as? String == FloozWire.balanceShortMessage)

        _ = harness.floozDebit(["mrchrefid": "E"])
        harness.clock.advance(119)
        #expect(try harness.sandbox.expireUnansweredPrompts() == 0)
        harness.clock.advance(1)
        #expect(try harness.sandbox.expireUnansweredPrompts() == 1)
        #expect(Harness.callbackFields(harness.callbackPlans[3])["message"] as? String == FloozWire.unansweredMessage)
        #expect(harness.floozPartnerBalance == 1_000_000)
        #expect(harness.callbackPlans.map(\.idRequete) == ["D", "W", "L", "E"])
    }

    @Test func eachCallbackFate() throws {
        let harness = try Harness.flooz()
        for (index, fate) in ["send", "drop", "twice", "delay_ms=1500"].enumerated() {
            _ = harness.floozDebit(["mrchrefid": "F\(index)"])
            _ = harness.answer(try #require(harness.floozPrompts.first?.id), ["pin": "1234", "callback": fate])
        }
        let plans = harness.callbackPlans
        #expect(plans.map(\.idRequete) == ["F0", "F2", "F3"], "drop sends nothing")
        #expect(plans.map(\.copies) == [1, 2, 1])
        #expect(plans.map(\.delayMilliseconds) == [0, 0, 1500])
        let partner = try Harness.flooz(partner: ["callback": "twice"])
        _ = partner.floozDebit()
        _ = partner.answer(try #require(partner.floozPrompts.first?.id), ["pin": "1234"])
        #expect(partner.callbackPlans.first?.copies == 2, "the partner's configured fate")
    }

    @Test func thePromptsAPIListsBothOperators() throws {
        let harness = try Harness.flooz()
        _ = harness.debit(["numeroClient": "22896000001"])
        _ = harness.floozDebit()
        let list = try #require(try JSONSerialization.jsonObject(with: Data(harness.call("GET", "/sandbox/api/prompts?phone=96000001").body)) as? [[String: Any]])
        #expect(list.count == 2)
        // Oldest first to the second: two prompts of the same second come in either order.
        let tmoney = try #require(list.first { $0["operator"] as? String == "tmoney" })
        let flooz = try #require(list.first { $0["operator"] as? String == "flooz" })
        #expect(tmoney["reference"] as? String == "REQ-1" && tmoney["id_requete"] as? String == "REQ-1")
        #expect(flooz["reference"] as? String == "CMD-1" && flooz["merchant"] as? String == "Boutique Démo")
    }
}

/// Verify: what a partner asks instead of trusting the callback.
@Suite struct FloozVerifyTests {
    @Test func waitingSuccessFailedAndUnknown() throws {
        let harness = try Harness.flooz()
        let refid = Harness.object(harness.floozDebit())["refid"] as? String
        let waiting = Harness.object(harness.floozVerify())
        #expect(Set(waiting.keys) == ["code", "status", "message", "refid", "amount", "msisdn", "mrchrefid"])
        #expect(waiting["code"] as? String == "0" && waiting["status"] as? String == "2" && waiting["refid"] as? String == refid)
        #expect(waiting["amount"] as? String == "15000" && waiting["msisdn"] as? String == "22896000001")
        _ = harness.answer(try #require(harness.floozPrompts.first?.id), ["pin": "1234"])
        let done = Harness.object(harness.floozCall("/flooz/verify", ["mrchrefid": "CMD-1", "partnermsisdn": Harness.floozMSISDN], header: Harness.floozHeader()))
        #expect(done["status"] as? String == "0" && done["message"] as? String == FloozWire.succeededMessage)
        _ = harness.floozDebit(["mrchrefid": "X"])
        _ = harness.answer(try #require(harness.floozPrompts.first?.id), ["action": "decline"])
        #expect(Harness.object(harness.floozVerify("X"))["status"] as? String == "1")
        let unknown = harness.floozVerify("NEVER")
        #expect(unknown.status == .ok && Harness.text(unknown) == #"{"code":"404","message":"Transaction inconnue"}"#)
        #expect(harness.floozVerify("CMD-1", key: "nope").status == .unauthorized)
        #expect(Harness.object(harness.floozVerify("CMD-1", partner: "22899000009"))["code"] as? String == "5")
    }
}

/// Faults, the state file, and the phone page.
@Suite struct FloozFaultStateAndPhoneTests {
    func queue(_ harness: Harness, _ body: [String: Any]) -> Response { harness.call("POST", "/sandbox/api/flooz/faults", json: body) }

    @Test func eachFaultWithItsCount() throws {
        let harness = try Harness.flooz()
        let key = harness.floozKey()
        #expect(queue(harness, ["fault": "expired_key", "on": "debit", "count": 2]).status == .ok)
        #expect(harness.floozVerify("Z", key: key).status == .ok, "verify is not waited for")
        for _ in 0..<2 { #expect(Harness.text(harness.floozDebit(key: key)) == #"{"code":"401","message":"Clé invalide ou expirée"}"#) }
        #expect(harness.floozPrompts.isEmpty)
        #expect(harness.floozDebit(key: key).status == .ok, "count honoured")

        #expect(queue(harness, ["fault": "server_error", "on": "token"]).status == .ok)
        let crashed = harness.floozToken(index: 100)
        #expect(crashed.status == .internalServerError && Harness.text(crashed).contains("<html>"))
        #expect(harness.floozToken(index: 100).status == .ok, "the crashed call used no index")

        let queued = queue(harness, ["fault": "timeout", "on": "any", "count": 1])
        #expect(queued.status == .ok, "\(Harness.text(queued))")
        #expect(harness.floozDebit(["mrchrefid": "T"], key: key).status == .gatewayTimeout)
        #expect(harness.holds.holds == [30])
        #expect(harness.floozVerify("T", key: key).body == Array(#"{"code":"404","message":"Transaction inconnue"}"#.utf8), "a timeout does nothing")

        _ = queue(harness, ["fault": "timeout", "count": 3])
        let listed = Harness.object(harness.call("GET", "/sandbox/api/flooz/faults"))
        #expect(int((listed["faults"] as? [[String: Any]])?.first?["count"]) == 3)
        #expect(harness.call("DELETE", "/sandbox/api/flooz/faults").status == .ok)
        #expect((Harness.object(harness.call("GET", "/sandbox/api/flooz/faults"))["faults"] as? [Any])?.isEmpty == true)
        #expect(queue(harness, ["fault": "lost_answer"]).status == .badRequest)
        #expect(queue(harness, ["fault": "timeout", "on": "login"]).status == .badRequest)
        #expect(queue(harness, ["fault": "timeout", "count": 0]).status == .badRequest)
        #expect(harness.call("GET", "/sandbox/api/mbanking/faults").status == .ok, "MBANKING's queue is its own")
    }

    @Test func stateSurvivesARestart() throws {
        let harness = try Harness.flooz()
        let key = harness.floozKey()
        let first = harness.floozDebit(["mrchrefid": "S-1"], key: key)
        _ = harness.answer(try #require(harness.floozPrompts.first?.id), ["pin": "1234"])
        _ = harness.floozDebit(["mrchrefid": "S-2"], key: key)
        let before = harness.sandbox.snapshot()
        try harness.restart()
        #expect(harness.sandbox.snapshot() == before)
        #expect(harness.floozPartnerBalance == 1_015_000)
        #expect(harness.floozPrompts.map(\.idRequete) == ["S-2"])
        #expect(harness.floozDebit(["mrchrefid": "S-1"], key: key).body == first.body, "the key and the first answer hold")
        #expect(Harness.object(harness.floozToken(index: 0))["code"] as? String == "1", "the index never goes back")
        #expect(harness.answer(harness.floozPrompts[0].id, ["pin": "1234"]).1["status"] as? String == "SUCCES")
        #expect(harness.floozPartnerBalance == 1_030_000)
    }

    @Test func thePhonePageShowsAFloozPromptEscaped() throws {
        let harness = try Harness.flooz(partner: ["name": "Boutique <Démo> & Fils"])
        _ = harness.floozDebit(["mrchrefid": "CMD-<1>"])
        let html = Harness.text(harness.call("GET", "/sandbox/phone/96000001"))
        #expect(html.contains(#"id="prompt-text""#) && html.contains(#"id="pin""#) && html.contains(#"id="approve""#) && html.contains(#"id="decline""#))
        #expect(html.contains("Flooz: Payer 15 000 F CFA à Boutique &lt;Démo&gt; &amp; Fils (réf CMD-&lt;1&gt;). Entrez votre code secret Flooz pour valider."))
        #expect(!html.contains("<Démo>"))
        let id = try #require(harness.floozPrompts.first?.id)
        let answered = Harness.text(harness.call("POST", "/sandbox/phone/96000001", form: [("prompt", id), ("action", "approve"), ("pin", "1234")]))
        #expect(answered.contains(#"id="result""#))
        #expect(harness.floozPartnerBalance == 1_015_000)
    }

    @Test func theDevelopmentConfigurationHasFlooz() throws {
        let configuration = try SandboxConfiguration.load(path: ConfigurationAndStateTests.repository + "/config/sandbox.dev.json")
        let partner = try #require(configuration.flooz?.partner(user: "cross-flooz"))
        #expect(partner.msisdn == "22899000000" && partner.name == "Boutique Démo" && partner.openingBalance == 1_000_000)
        #expect(partner.callbackURL == "http://127.0.0.1:8080/callbacks/flooz")
        #expect(configuration.flooz?.keyLifetimeSeconds == 300 && configuration.flooz?.promptLifetimeSeconds == 120)
    }

    @Test func theIndexShowsTheFloozPartnerAndRecentRequests() throws {
        let harness = try Harness.flooz()
        _ = harness.floozDebit(["mrchrefid": "IDX-<1>"])
        let html = Harness.text(harness.call("GET", "/sandbox"))
        #expect(html.contains("<h2>Flooz</h2>") && html.contains("cross-flooz") && html.contains("22899000000"))
        #expect(html.contains("IDX-&lt;1&gt;") && html.contains("1 000 000 F CFA"))
        #expect(!html.contains("dev-flooz-password"))
    }

    @Test func withoutTheSectionThereIsNoFlooz() throws {
        let harness = try Harness.mbanking()
        #expect(harness.call("GET", "/flooz/token?index=1&username=a&password=b").status == .notFound)
        #expect(harness.call("GET", "/sandbox/api/flooz/faults").status == .notFound)
    }

    @Test func badConfigurationValuesNameTheirKey() throws {
        for (changes, key) in [
            (["header_key": "abc"], "flooz.header_key"), (["key_lifetime_seconds": 0], "flooz.key_lifetime_seconds"),
        ] as [([String: Any], String)] {
            #expect(throws: ConfigurationError.self) { try Harness.flooz(changes) }
            do { _ = try Harness.flooz(changes) } catch { #expect("\(error)".contains(key), "\(error)") }
        }
        do { _ = try Harness.flooz(partner: ["msisdn": "99000000"]) } catch { #expect("\(error)".contains("flooz.partners[0].msisdn")) }
    }
}
