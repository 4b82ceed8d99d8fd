import FastCGI
import Foundation
import Payments
import Support
import Testing
@testable import Sandbox

/// MBANKING's state in the state file, and its configuration.
@Suite struct MBankingStateTests {
    @Test func everythingSurvivesARestart() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        let first = harness.debit(["idRequete": "D-1"], token: token)
        _ = harness.answer(try #require(harness.prompts.first?.id), ["pin": "1234"])
        _ = harness.debit(["idRequete": "D-2"], token: token)
        let credit = harness.creditV2(["idRequete": "C-1", "montant": 1000], token: token)
        let before = harness.sandbox.snapshot()
        try harness.restart()
        #expect(harness.sandbox.snapshot() == before)
        #expect(harness.partnerBalance == 1_014_000)
        #expect(harness.prompts.map(\.idRequete) == ["D-2"])
        #expect(harness.debit(["idRequete": "D-1"], token: token).body == first.body, "the token and the first answer hold across restarts")
        #expect(harness.creditV2(["idRequete": "C-1", "montant": 1000], token: token).body == credit.body)
        #expect(harness.partnerBalance == 1_014_000)
        #expect(harness.answer(harness.prompts[0].id, ["pin": "1234"]).1["status"] as? String == "SUCCES")
    }

    @Test func aStateFileFromBeforeMBankingStillLoads() throws {
        let harness = try Harness.mbanking()
        var old = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(SandboxState(harness.sandbox.configuration))) as? [String: Any])
        old["mbanking"] = nil
        try JSONSerialization.data(withJSONObject: old).write(to: URL(fileURLWithPath: harness.statePath))
        try harness.restart()
        #expect(harness.partnerBalance == 1_000_000, "the partner opens at its configured balance")
    }

    @Test func resetPutsPartnersBackAtTheirOpeningBalance() throws {
        let harness = try Harness.mbanking()
        _ = harness.creditV2()
        #expect(harness.partnerBalance == 985_000)
        try StateFile(path: harness.statePath).save(SandboxState(harness.sandbox.configuration))
        try harness.restart()
        #expect(harness.partnerBalance == 1_000_000)
        #expect(harness.sandbox.snapshot().mbanking.requests.isEmpty)
    }

    @Test func oldFinishedRequestsAreForgottenButNeverWithinADay() {
        var state = MBankingState()
        let start = Timestamp(seconds: 1_800_000_000)
        for index in 0..<(MBankingState.finishedLimit + 5) {
            let request = MBankingRequest(
                partnerID: "P", idRequete: "R\(index)", kind: .credit, phone: "90000001", amount: 1, refCommande: "C", dateHeureRequete: "",
                description: "", receivedAt: start.adding(seconds: Int64(index)), refTmoney: "000000000000",
                answer: WireAnswer(code: "2000", message: ""), status: .success, code: "2000", message: "", finishedAt: nil, promptID: nil)
            state.requests[request.key] = request
        }
        state.prune(at: start.adding(seconds: 3600))
        #expect(state.requests.count == MBankingState.finishedLimit + 5)
        state.prune(at: start.adding(seconds: 86_400 + 10))
        #expect(state.requests.count == MBankingState.finishedLimit)
        #expect(state.requests["P R0"] == nil && state.requests["P R\(MBankingState.finishedLimit + 4)"] != nil)
    }

    @Test func badValuesAreNamed() throws {
        func problem(_ changes: [String: Any], partner: [String: Any] = [:]) -> String? {
            var file = Harness.configuration
            file["mbanking"] = Harness.mbankingSection(changes, partner: partner)
            let data = try! JSONSerialization.data(withJSONObject: file)
            do {
                _ = try SandboxConfiguration.parse(data)
                return nil
            } catch {
                return error.key
            }
        }
        #expect(problem([:]) == nil)
        #expect(problem(["jwt_secret": "short"]) == "mbanking.jwt_secret")
        #expect(problem(["token_lifetime_seconds": 0]) == "mbanking.token_lifetime_seconds")
        #expect(problem(["prompt_lifetime_seconds": 99999]) == "mbanking.prompt_lifetime_seconds")
        #expect(problem(["hold_seconds": -1]) == "mbanking.hold_seconds")
        #expect(problem(["partners": []]) == "mbanking.partners")
        #expect(problem([:], partner: ["id": "has space"]) == "mbanking.partners[0].id")
        #expect(problem([:], partner: ["callback_url": "ftp://x"]) == "mbanking.partners[0].callback_url")
        #expect(problem([:], partner: ["balance": -1]) == "mbanking.partners[0].balance")
        #expect(problem([:], partner: ["callback": "thrice"]) == "mbanking.partners[0].callback")
        #expect(problem([:], partner: ["password": "short"]) == "mbanking.partners[0].password")
    }

    @Test func theDevelopmentConfigurationHasMBanking() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/sandbox.dev.json").path
        let configuration = try SandboxConfiguration.load(path: path)
        let partner = try #require(configuration.mbanking?.partner(id: "PARTNER-0001"))
        #expect(partner.user == "cross-dev" && partner.name == "Boutique Démo" && partner.openingBalance == 1_000_000)
        #expect(partner.callbackURL == "http://127.0.0.1:8080/callbacks/tmoney")
        #expect(configuration.mbanking?.promptLifetimeSeconds == 120 && configuration.mbanking?.holdSeconds == 30)
    }

    @Test func theIndexShowsPartnersAndRecentRequests() throws {
        let harness = try Harness.mbanking()
        _ = harness.creditV2(["idRequete": "C-<1>"])
        let html = Harness.text(harness.send("GET", "/sandbox"))
        #expect(html.contains("<td>PARTNER-0001</td><td>Boutique Démo</td>"))
        #expect(html.contains("985 000 F CFA"))
        #expect(html.contains("<td>C-&lt;1&gt;</td><td>CREDIT</td>"))
        #expect(!html.contains(Harness.partnerPassword) && !html.contains(Harness.jwtSecret))
    }
}

/// The shopper's handset page.
@Suite struct PhonePageTests {
    @Test func aPromptShowsItsEscapedUSSDTextAndThePINForm() throws {
        let harness = try Harness.mbanking(partner: ["name": "Boutique <Démo> & Fils"])
        _ = harness.debit(["refCommande": "CMD-\"1\""])
        let prompt = try #require(harness.prompts.first)
        let page = harness.send("GET", "/sandbox/phone/90000001")
        #expect(page.status == .ok)
        let html = Harness.text(page)
        #expect(html.contains(#"<p id="prompt-text" class="handset-ussd">TMoney: Payer 15 000 F CFA à Boutique &lt;Démo&gt; &amp; Fils (réf CMD-&quot;1&quot;). Entrez votre code secret pour valider.</p>"#))
        #expect(html.contains(#"<input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off""#))
        #expect(html.contains(#"<button id="approve" type="submit" name="action" value="approve">Valider</button>"#))
        #expect(html.contains(#"<button id="decline" type="submit" name="action" value="decline" formnovalidate>Refuser</button>"#))
        #expect(html.contains(#"<input type="hidden" name="prompt" value="\#(prompt.id)">"#))
        #expect(html.contains(#"action="/sandbox/phone/90000001""#))
        #expect(!html.contains("http-equiv=\"refresh\""), "never while a PIN is typed")
        #expect(!html.contains("<Démo>") && !html.contains(">nil<"))
    }

    @Test func withoutAPromptThePageSaysSoAndReloads() throws {
        let harness = try Harness.mbanking()
        let html = Harness.text(harness.send("GET", "/sandbox/phone/90000001"))
        #expect(html.contains(#"<meta http-equiv="refresh" content="2">"#))
        #expect(html.contains("Aucune demande de paiement en attente"))
        #expect(!html.contains("id=\"pin\""))
        let other = harness.send("GET", "/sandbox/phone/+228%2090%2000%2000%2001")
        #expect(other.status == .seeOther && other.header("Location") == "/sandbox/phone/90000001")
        #expect(harness.send("GET", "/sandbox/phone/90000009").status == .notFound)
        #expect(harness.send("GET", "/sandbox/phone/nope").status == .notFound)
    }

    @Test func answeringOnThePhone() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let id = try #require(harness.prompts.first?.id)
        let wrong = Harness.text(harness.send("POST", "/sandbox/phone/90000001", form: [("prompt", id), ("pin", "0000"), ("action", "approve")]))
        #expect(wrong.contains(#"id="result""#) && wrong.contains("Code secret incorrect. Il vous reste 2 essais."))
        #expect(wrong.contains(#"id="prompt-text""#), "still open for another try")
        let paid = Harness.text(harness.send("POST", "/sandbox/phone/90000001", form: [("prompt", id), ("pin", "1234"), ("action", "approve")]))
        #expect(paid.contains("Paiement effectué. Nouveau solde : 4 985 000 F CFA."))
        #expect(!paid.contains(#"id="prompt-text""#) && paid.contains(#"id="back""#))
        #expect(harness.partnerBalance == 1_015_000)
        let again = Harness.text(harness.send("POST", "/sandbox/phone/90000001", form: [("prompt", id), ("pin", "1234"), ("action", "approve")]))
        #expect(again.contains("Cette demande n&#39;est plus ouverte."))
        #expect(harness.account("90000001")?.balance == 4_985_000)
    }

    @Test func declineAndBlockOnThePhone() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        _ = harness.debit(["idRequete": "1"], token: token)
        let declined = Harness.text(harness.send("POST", "/sandbox/phone/90000001", form: [("prompt", harness.prompts[0].id), ("action", "decline")]))
        #expect(declined.contains("Paiement refusé."))
        _ = harness.debit(["idRequete": "2"], token: token)
        let id = harness.prompts[0].id
        var html = ""
        for _ in 0..<3 { html = Harness.text(harness.send("POST", "/sandbox/phone/90000001", form: [("prompt", id), ("pin", "9"), ("action", "approve")])) }
        #expect(html.contains("votre compte est bloqué"))
        #expect(harness.account("90000001")?.blocked == true)
    }

    @Test func aPromptOfAnotherPhoneIsNotThisOnesToAnswer() throws {
        let harness = try Harness.mbanking()
        _ = harness.debit()
        let id = harness.prompts[0].id
        _ = harness.send("POST", "/sandbox/phone/90000002", form: [("prompt", id), ("pin", "1234"), ("action", "approve")])
        #expect(harness.prompts.count == 1)
        #expect(harness.account("90000001")?.balance == 5_000_000)
    }
}
