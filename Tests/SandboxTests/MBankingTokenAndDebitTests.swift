import FastCGI
import Foundation
import Payments
import Support
import Testing
@testable import Sandbox

func int(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

/// Login and the JWT every later call carries.
@Suite struct MBankingTokenTests {
    @Test func anIssuedTokenIsAnHS256JWTForThePartnerThatVerifies() throws {
        let harness = try Harness.mbanking()
        let response = harness.call("POST", "/mbanking/login", json: ["nomUtilisateur": "cross-dev", "motDePasse": "dev-mbanking-password"])
        #expect(response.status == .ok)
        #expect(response.header("Content-Type") == "application/json")
        let answer = Harness.object(response)
        #expect(answer["code"] as? String == "2000")
        #expect(answer["message"] as? String == "Authentification réussie")
        let token = try #require((answer["data"] as? [String: Any])?["token"] as? String)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"), "base64url without padding")
        #expect(MBankingToken.decodeBase64URL(parts[0]).map { String(decoding: $0, as: UTF8.self) } == #"{"alg":"HS256","typ":"JWT"}"#)
        let payload = try #require(MBankingToken.decodeBase64URL(parts[1]))
        let claims = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        #expect(claims["sub"] as? String == "cross-dev")
        #expect(int(claims["iat"]) == harness.clock.now.seconds)
        #expect(int(claims["exp"]) == harness.clock.now.seconds + 600)
        #expect((claims["jti"] as? String)?.isEmpty == false)
        guard case .success(let verified) = MBankingToken.verify(token, secret: Array(Harness.jwtSecret.utf8), now: harness.clock.now.seconds) else {
            Issue.record("the token does not verify")
            return
        }
        #expect(verified.subject == "cross-dev")
        #expect(harness.debit(token: token).status == .ok)
        #expect(harness.token() != token, "each login a new token")
    }

    @Test func theBareTokenIsAcceptedToo() throws {
        let harness = try Harness.mbanking()
        let response = harness.call("POST", "/mbanking/tmoney-middleware/debit", json: Harness.moneyBody(), token: harness.token(), bare: true)
        #expect(Harness.object(response)["code"] as? String == "2000")
    }

    @Test func anExpiredTokenIsRefused() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        harness.clock.advance(599)
        #expect(Harness.object(harness.debit(["idRequete": "A"], token: token))["code"] as? String == "2000")
        harness.clock.advance(1)
        let response = harness.debit(["idRequete": "B"], token: token)
        #expect(response.status == .unauthorized)
        #expect(Harness.object(response)["code"] as? String == "4010")
        #expect(Harness.object(response)["message"] as? String == "Jeton invalide ou expiré")
        #expect(harness.prompts.count == 1)
    }

    @Test func forgedAlteredMissingAndUnsignedTokensAreRefused() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        let parts = token.split(separator: ".").map(String.init)
        // The same bytes spelled otherwise: the signature's last character changed only in its two unused bits.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let last = alphabet.firstIndex(of: parts[2].last!)!
        let respelled = parts[0] + "." + parts[1] + "." + parts[2].dropLast() + String(alphabet[last ^ 1])
        #expect(harness.debit(token: respelled).status == .unauthorized, "a non-canonical signature is no signature")
        let flipped = parts[2].last == "A" ? "B" : "A"
        let forged = parts[0] + "." + parts[1] + "." + parts[2].dropLast() + flipped
        let longer = MBankingToken.base64URL(Array(#"{"exp":9999999999,"iat":1800000000,"jti":"x","sub":"cross-dev"}"#.utf8))
        let altered = parts[0] + "." + longer + "." + parts[2]
        let otherKey = MBankingToken(subject: "cross-dev", issuedAt: harness.clock.now.seconds, expiresAt: harness.clock.now.seconds + 600, id: "x")
            .signed(with: Array("another-secret-of-at-least-32-characters".utf8))
        let unsigned = MBankingToken.base64URL(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
        for bad in [forged, altered, otherKey, unsigned, "not-a-token", parts[0] + "." + parts[1]] {
            let response = harness.debit(token: bad)
            #expect(response.status == .unauthorized, "\(bad)")
            #expect(Harness.object(response)["code"] as? String == "4010")
        }
        let missing = harness.call("POST", "/mbanking/tmoney-middleware/debit", json: Harness.moneyBody())
        #expect(missing.status == .unauthorized)
        #expect(Harness.object(missing)["code"] as? String == "4010")
        #expect(harness.prompts.isEmpty)
        #expect(harness.call("GET", "/mbanking/tmoney-middleware/transactionid?idRequete=REQ-1", token: forged).status == .unauthorized)
        #expect(harness.creditV2(token: altered).status == .unauthorized)
    }

    @Test func revokedTokensAreRefusedEvenAfterARestart() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        #expect(harness.call("DELETE", "/sandbox/api/mbanking/tokens").status == .ok)
        #expect(Harness.object(harness.debit(token: token))["code"] as? String == "4010")
        try harness.restart()
        #expect(Harness.object(harness.debit(token: token))["code"] as? String == "4010")
        #expect(Harness.object(harness.debit())["code"] as? String == "2000", "a new login works")
    }

    @Test func wrongCredentialsAndMalformedLogins() throws {
        let harness = try Harness.mbanking()
        for body in [["nomUtilisateur": "cross-dev", "motDePasse": "wrong-password"], ["nomUtilisateur": "nobody", "motDePasse": "dev-mbanking-password"]] {
            let response = harness.call("POST", "/mbanking/login", json: body)
            #expect(response.status == .unauthorized)
            #expect(Harness.object(response)["code"] as? String == "4001")
            #expect(Harness.object(response)["message"] as? String == "Identifiants invalides")
        }
        let missing = harness.call("POST", "/mbanking/login", json: ["nomUtilisateur": "cross-dev"])
        #expect(missing.status == .badRequest)
        #expect(Harness.object(missing)["code"] as? String == "4000")
        #expect((Harness.object(missing)["message"] as? String)?.contains("motDePasse") == true)
        let wrongType = harness.call("POST", "/mbanking/login", json: ["nomUtilisateur": 12, "motDePasse": "x"])
        #expect((Harness.object(wrongType)["message"] as? String)?.contains("nomUtilisateur") == true)
        #expect(Harness.object(harness.call("POST", "/mbanking/login", raw: Array("nope".utf8)))["code"] as? String == "4000")
    }

    @Test func withoutAnMBankingSectionThereIsNoMBanking() throws {
        let harness = try Harness()
        let response = harness.call("POST", "/mbanking/login", json: ["nomUtilisateur": "cross-dev", "motDePasse": "dev-mbanking-password"])
        #expect(response.status == .notFound)
        #expect(harness.call("GET", "/sandbox/phone/90000001").status == .notFound)
    }
}

/// `POST /debit`: what is accepted, refused, and given again.
@Suite struct MBankingDebitTests {
    @Test func anAcceptedDebitPutsAPromptOnThePhone() throws {
        let harness = try Harness.mbanking()
        let response = harness.debit()
        #expect(response.status == .ok)
        let answer = Harness.object(response)
        #expect(answer.count == 3)
        #expect(answer["code"] as? String == "2000")
        #expect(answer["message"] as? String == "Requête en attente de validation par le client")
        #expect(answer["idRequete"] as? String == "REQ-1")
        let prompt = try #require(harness.prompts.first)
        #expect(prompt.phone == "90000001" && prompt.amount == 15000 && prompt.partnerID == Harness.partner && prompt.idRequete == "REQ-1")
        #expect(prompt.expiresAt == harness.clock.now.adding(seconds: 120))
        #expect(harness.account("90000001")?.balance == 5_000_000, "nothing moves before the shopper approves")
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(harness.call("GET", "/sandbox/api/prompts?phone=+228%2090%2000%2000%2001").body)) as? [[String: Any]])
        #expect(listed.count == 1)
        #expect(listed.first?["id"] as? String == prompt.id)
        #expect(int(listed.first?["amount"]) == 15000)
        #expect(listed.first?["merchant"] as? String == "Boutique Démo")
        #expect(listed.first?["id_requete"] as? String == "REQ-1")
        #expect(listed.first?["expires_at"] as? String == prompt.expiresAt.iso8601)
    }

    @Test func theSameIdRequeteAnswersAsTheFirstTimeAndOpensNothing() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        let first = harness.debit(token: token)
        let again = harness.debit(["montant": 99], token: token)
        #expect(again.status == first.status)
        #expect(again.body == first.body)
        #expect(harness.prompts.count == 1)
        #expect(harness.prompts.first?.amount == 15000)
        // Once it ended too: the first answer, not a second debit.
        _ = harness.answer(harness.prompts[0].id, ["pin": "1234"])
        #expect(harness.debit(token: token).body == first.body)
        #expect(harness.prompts.isEmpty)
        #expect(harness.account("90000001")?.balance == 4_985_000)
        // Refused ones too.
        let unknown = harness.debit(["idRequete": "U", "numeroClient": "22890000009"], token: token)
        #expect(harness.debit(["idRequete": "U"], token: token).body == unknown.body)
        #expect(harness.prompts.isEmpty)
    }

    @Test func unknownAndBlockedNumbers() throws {
        let harness = try Harness.mbanking()
        let unknown = harness.debit(["numeroClient": "22890000009"])
        #expect(unknown.status == .ok)
        #expect(Harness.object(unknown).count == 2)
        #expect(Harness.object(unknown)["code"] as? String == "4004")
        #expect(Harness.object(unknown)["message"] as? String == "Numéro client inconnu")
        #expect(Harness.object(harness.debit(["idRequete": "M", "numeroClient": "22896000001"]))["code"] as? String == "4004", "a Moov number is no TMoney account")
        _ = harness.debit(["idRequete": "B1", "numeroClient": "22890000003"])
        let id = try #require(harness.prompts.first?.id)
        for _ in 0..<3 { _ = harness.answer(id, ["pin": "0000"]) }
        #expect(harness.account("90000003")?.blocked == true)
        let blocked = harness.debit(["idRequete": "B2", "numeroClient": "22890000003"])
        #expect(Harness.object(blocked)["code"] as? String == "4003")
        #expect(Harness.object(blocked)["message"] as? String == "Compte client bloqué")
        #expect(harness.prompts.isEmpty)
    }

    @Test func everyFieldIsCheckedAndNamed() throws {
        let harness = try Harness.mbanking()
        let token = harness.token()
        let cases: [(String, [String: Any?])] = [
            ("idRequete", ["idRequete": nil]), ("idRequete", ["idRequete": ""]), ("idRequete", ["idRequete": String(repeating: "x", count: 65)]),
            ("numeroClient", ["numeroClient": "90000001"]), ("numeroClient", ["numeroClient": "+22890000001"]), ("numeroClient", ["numeroClient": 22890000001]),
            ("montant", ["montant": 0]), ("montant", ["montant": -5]), ("montant", ["montant": "15000"]), ("montant", ["montant": 1.5]), ("montant", ["montant": nil]),
            ("refCommande", ["refCommande": ""]), ("dateHeureRequete", ["dateHeureRequete": "2026-12-01T21:30:00"]),
            ("dateHeureRequete", ["dateHeureRequete": "2026-02-30 10:00:00"]), ("description", ["description": nil]),
        ]
        for (field, change) in cases {
            let response = harness.debit(change, token: token)
            #expect(response.status == .badRequest, "\(change)")
            #expect(Harness.object(response)["code"] as? String == "4000")
            #expect((Harness.object(response)["message"] as? String)?.hasPrefix(field + " ") == true, "\(change): \(Harness.object(response))")
        }
        #expect(harness.prompts.isEmpty)
        #expect(harness.sandbox.snapshot().mbanking.requests.isEmpty)
        #expect(Harness.object(harness.debit(["idRequete": String(repeating: "x", count: 64)], token: token))["code"] as? String == "2000")
    }
}
