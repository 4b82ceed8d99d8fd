import FastCGI
import Foundation
import Payments
import Support
import Testing
@testable import Sandbox

/// Check-transaction: what a partner asks when it does not know how a request ended.
@Suite struct MBankingCheckTests {
    @Test func pendingThenSuccess() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let check = harness.check("REQ-1")
        #expect(int(check["total"]) == 1)
        let pending = try #require(harness.checked("REQ-1"))
        #expect(Set(pending.keys) == [
            "refTmoney", "dateHeureTmoney", "idRequete", "statutRequete", "typeRequete", "dateHeureRequete", "refCommande", "montant",
            "numeroClient", "idPartenaire", "nomPartenaire", "code", "message",
        ])
        #expect(pending["statutRequete"] as? String == "EN ATTENTE")
        #expect(pending["typeRequete"] as? String == "DEBIT")
        #expect(pending["numeroClient"] as? String == "22890000001")
        _ = harness.answer(try #require(harness.prompts.first?.id), ["pin": "1234"])
        let done = try #require(harness.checked("REQ-1"))
        #expect(done["statutRequete"] as? String == "SUCCES")
        #expect(done["code"] as? String == "2002")
        #expect(done["refTmoney"] as? String == pending["refTmoney"] as? String)
        #expect(done["refTmoney"] as? String == Harness.callbackFields(harness.callbackPlans[0])["refTmoney"] as? String)
    }

    @Test func failureAndUnknown() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit(["numeroClient": "22890000002"])
        _ = harness.answer(try #require(harness.prompts.first?.id), ["pin": "1234"])
        #expect(harness.checked("REQ-1")?["statutRequete"] as? String == "ECHEC")
        #expect(harness.checked("REQ-1")?["code"] as? String == "2003")
        let unknown = harness.call("GET", "/mbanking/tmoney-middleware/transactionid?idRequete=NEVER", token: harness.token())
        #expect(unknown.status == .ok)
        #expect(String(decoding: unknown.body, as: UTF8.self) == #"{"data":[],"total":0}"#)
        let missing = harness.call("GET", "/mbanking/tmoney-middleware/transactionid", token: harness.token())
        #expect(missing.status == .badRequest)
        #expect((Harness.object(missing)["message"] as? String)?.hasPrefix("idRequete") == true)
    }

    @Test func anotherPartnerSeesNoneOfIt() throws {
        var section = Harness.mbankingSection()
        var partners = section["partners"] as! [[String: Any]]
        partners.append(["id": "PARTNER-0002", "user": "other", "password": "other-password", "name": "Autre", "callback_url": "http://other.test/cb", "balance": 0])
        section["partners"] = partners
        let harness = try Harness(["mbanking": section])
        _ = harness.debit()
        let other = Harness.object(harness.call("POST", "/mbanking/login", json: ["nomUtilisateur": "other", "motDePasse": "other-password"]))
        let token = try #require((other["data"] as? [String: Any])?["token"] as? String)
        #expect(int(harness.check("REQ-1", token: token)["total"]) == 0)
        #expect(Harness.object(harness.debit(token: token))["code"] as? String == "2000", "idRequete is per partner")
        #expect(harness.prompts.count == 2)
    }
}

/// Credits from the partner's account: v2 (JSON) and v1 (TagPay's query, XML).
@Suite struct MBankingCreditTests {
    @Test func v2MovesTheMoneyOnceForOneIdRequete() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        let response = harness.creditV2(["idRequete": "C-1", "montant": 2500], token: token)
        #expect(response.status == .ok)
        let answer = Harness.object(response)
        #expect(answer["code"] as? String == "2000")
        #expect(answer["message"] as? String == "Crédit effectué")
        #expect((answer["refTmoney"] as? String)?.utf8.count == 12)
        #expect(answer["dateHeureTmoney"] as? String == MBankingWire.dateTime(harness.clock.now))
        #expect(harness.partnerBalance == 997_500)
        #expect(harness.account("90000001")?.balance == 5_002_500)
        let again = harness.creditV2(["idRequete": "C-1", "montant": 2500], token: token)
        #expect(again.body == response.body)
        #expect(harness.partnerBalance == 997_500, "never a second credit")
        let checked = try #require(harness.checked("C-1"))
        #expect(checked["typeRequete"] as? String == "CREDIT" && checked["statutRequete"] as? String == "SUCCES")
        #expect(checked["refTmoney"] as? String == answer["refTmoney"] as? String)
        #expect(harness.callbackPlans.isEmpty)
    }

    @Test func v2PartnerBalanceShortAndUnknownNumber() throws {
        let harness = try Harness.mbanking()
        let short = Harness.object(harness.creditV2(["idRequete": "C-2", "montant": 1_000_001]))
        #expect(short["code"] as? String == "4005")
        #expect(short["message"] as? String == "Solde partenaire insuffisant")
        #expect(harness.partnerBalance == 1_000_000)
        #expect(harness.checked("C-2")?["statutRequete"] as? String == "ECHEC")
        #expect(Harness.object(harness.creditV2(["idRequete": "C-3", "numeroClient": "22890000009"]))["code"] as? String == "4004")
        #expect(Harness.object(harness.creditV2(["idRequete": "C-4", "montant": 1_000_000]))["code"] as? String == "2000", "all of it")
        #expect(harness.partnerBalance == 0)
        let field = harness.creditV2(["montant": "x"])
        #expect(field.status == .badRequest && (Harness.object(field)["message"] as? String)?.hasPrefix("montant") == true)
        // An idRequete used by a debit is not a credit's.
        _ = harness.debit(["idRequete": "D-1"])
        #expect(harness.creditV2(["idRequete": "D-1"]).status == .badRequest)
    }

    static func v1(_ changes: [String: String?] = [:]) -> String {
        var fields: [(String, String?)] = [
            ("merchantid", Harness.partner), ("password", Harness.partnerPassword), ("client", "22890000001"), ("amount", "3000"),
            ("currency", "952"), ("trxcode", "REFUND"), ("type", "bankcashin"), ("description", "Remboursement"),
            ("referenceid", "V1-1"), ("sms", "1"), ("email", ""),
        ]
        for (name, value) in changes {
            if let index = fields.firstIndex(where: { $0.0 == name }) { fields[index].1 = value } else { fields.append((name, value)) }
        }
        return "/mbanking/tpcredit.php?" + URLEncoding.encodeForm(fields.compactMap { name, value in value.map { (name, $0) } })
    }

    @Test func v1AnswersTagPaysXML() throws {
        let harness = try Harness.mbanking()
        let response = harness.call("GET", Self.v1())
        #expect(response.status == .ok)
        #expect(response.header("Content-Type") == "text/xml")
        let transaction = try #require(harness.checked("V1-1"))
        #expect(transaction["typeRequete"] as? String == "CREDIT" && transaction["statutRequete"] as? String == "SUCCES")
        let id = try #require(transaction["refTmoney"] as? String)
        #expect(Harness.text(response) == #"<?xml version="1.0" encoding="UTF-8"?><response><merchantid>PARTNER-0001</merchantid>"#
            + "<client>22890000001</client><amount>3000</amount><currency>952</currency><referenceid>V1-1</referenceid>"
            + "<result>0 : success</result><transactionid>\(id)</transactionid></response>")
        #expect(harness.partnerBalance == 997_000)
        #expect(harness.account("90000001")?.balance == 5_003_000)
        #expect(harness.call("GET", Self.v1()).body == response.body, "reuse answers the original")
        #expect(harness.partnerBalance == 997_000)
        #expect(!Harness.text(response).contains(Harness.partnerPassword))
    }

    @Test func v1Failures() throws {
        let harness = try Harness.mbanking()
        #expect(Harness.text(harness.call("GET", Self.v1(["password": "wrong-password"]))).contains("<result>3 : authentication failed</result>"))
        #expect(Harness.text(harness.call("GET", Self.v1(["merchantid": "NOBODY"]))).contains("<result>3 : authentication failed</result>"))
        #expect(Harness.text(harness.call("GET", Self.v1(["referenceid": "V1-2", "amount": "2000000"]))).contains("<result>1 : insufficient balance</result>"))
        #expect(Harness.text(harness.call("GET", Self.v1(["referenceid": "V1-3", "client": "22890000009"]))).contains("<result>2 : unknown client</result>"))
        let agent = Harness.text(harness.call("GET", Self.v1(["merchantid": nil, "agentid": Harness.partner, "referenceid": "V1-4"])))
        #expect(agent.contains("<agentid>PARTNER-0001</agentid>") && agent.contains("<result>0 : success</result>"))
        let bad = harness.call("GET", Self.v1(["referenceid": "V1-5", "currency": "978"]))
        #expect(bad.status == .badRequest && Harness.text(bad).contains("currency"))
        let escaped = Harness.text(harness.call("GET", Self.v1(["referenceid": "<x>&"])))
        #expect(escaped.contains("<referenceid>&lt;x&gt;&amp;</referenceid>"))
        #expect(harness.partnerBalance == 1_000_000 - 3000 * 2)
    }
}

/// Faults queued by test automation for the next calls.
@Suite struct MBankingFaultTests {
    func queue(_ harness: Harness, _ body: [String: Any]) -> Response {
        harness.call("POST", "/sandbox/api/mbanking/faults", json: body)
    }

    @Test func unauthorizedAnswers4010OnceByDefault() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        #expect(queue(harness, ["fault": "unauthorized"]).status == .ok)
        let refused = harness.debit(token: token)
        #expect(refused.status == .unauthorized && Harness.object(refused)["code"] as? String == "4010")
        #expect(harness.prompts.isEmpty)
        #expect(Harness.object(harness.debit(token: token))["code"] as? String == "2000")
    }

    @Test func serverErrorIsA500WithHTML() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        _ = queue(harness, ["fault": "server_error", "on": "check"])
        _ = harness.debit(token: token)
        let response = harness.call("GET", "/mbanking/tmoney-middleware/transactionid?idRequete=REQ-1", token: token)
        #expect(response.status == .internalServerError)
        #expect(response.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(Harness.text(response).contains("<html>"))
    }

    @Test func timeoutHoldsThen504AndDoesNothing() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        _ = queue(harness, ["fault": "timeout", "on": "credit"])
        let response = harness.creditV2(token: token)
        #expect(response.status == .gatewayTimeout)
        #expect(harness.holds.holds == [30])
        #expect(harness.partnerBalance == 1_000_000)
        #expect(harness.checked("REQ-1") == nil)
    }

    @Test func lostAnswerMovesTheMoneyThen504() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        _ = queue(harness, ["fault": "lost_answer", "on": "debit"])
        #expect(harness.debit(token: token).status == .gatewayTimeout)
        #expect(harness.holds.holds == [30])
        #expect(harness.prompts.count == 1, "the debit was made")
        #expect(harness.checked("REQ-1")?["statutRequete"] as? String == "EN ATTENTE")
        _ = queue(harness, ["fault": "lost_answer", "on": "credit"])
        #expect(harness.creditV2(["idRequete": "C"], token: token).status == .gatewayTimeout)
        #expect(harness.partnerBalance == 985_000)
        #expect(Harness.object(harness.creditV2(["idRequete": "C"], token: token))["code"] as? String == "2000", "the retry gets the original answer")
        #expect(harness.partnerBalance == 985_000)
    }

    @Test func countAndTargetAreHonouredAndTheQueueCanBeListedAndCleared() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        let listed = Harness.object(queue(harness, ["fault": "server_error", "on": "debit", "count": 2]))
        #expect(int((listed["faults"] as? [[String: Any]])?.first?["count"]) == 2)
        #expect(harness.call("GET", "/mbanking/tmoney-middleware/transactionid?idRequete=X", token: token).status == .ok, "not a debit")
        #expect(harness.debit(token: token).status == .internalServerError)
        #expect(harness.debit(token: token).status == .internalServerError)
        #expect(harness.debit(token: token).status == .ok)
        _ = queue(harness, ["fault": "unauthorized", "count": 5])
        #expect((Harness.object(harness.call("GET", "/sandbox/api/mbanking/faults"))["faults"] as? [[String: Any]])?.count == 1)
        #expect(harness.call("POST", "/mbanking/login", json: ["nomUtilisateur": "cross-dev", "motDePasse": "dev-mbanking-password"]).status == .unauthorized, "any")
        #expect(harness.call("DELETE", "/sandbox/api/mbanking/faults").status == .ok)
        #expect((Harness.object(harness.call("GET", "/sandbox/api/mbanking/faults"))["faults"] as? [Any])?.isEmpty == true)
        #expect(harness.debit(["idRequete": "after"], token: token).status == .ok)
        #expect(Harness.object(queue(harness, ["fault": "explode"]))["field"] as? String == "fault")
        #expect(Harness.object(queue(harness, ["fault": "timeout", "on": "everything"]))["field"] as? String == "on")
        #expect(Harness.object(queue(harness, ["fault": "timeout", "count": 0]))["field"] as? String == "count")
        #expect(Harness.object(queue(harness, ["fault": "timeout", "count": true]))["field"] as? String == "count")
    }
}
