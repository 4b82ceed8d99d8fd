import FastCGI
import Foundation
import Payments
import Support
import Testing
@testable import Sandbox

/// Flooz's keys: by index (token scheme) or by an AES header the partner computes.
@Suite struct FloozKeyTests {
    @Test func anIncreasingIndexIsGivenAKeyAndAnEqualOrLowerOneIsRefused() throws {
        let harness = try Harness.flooz()
        let first = harness.floozToken(index: 5)
        #expect(first.status == .ok)
        let answer = Harness.object(first)
        #expect(answer["code"] as? String == "0" && int(answer["index"]) == 5)
        let key = try #require(answer["key"] as? String)
        #expect(key.utf8.count == 32 && Hex.decode(key) != nil)
        for index in [5, 4] {
            let again = harness.floozToken(index: Int64(index))
            #expect(again.status == .ok)
            #expect(Harness.text(again) == #"{"code":"1","message":"Index déjà utilisé"}"#)
        }
        #expect(Harness.object(harness.floozToken(index: 6))["code"] as? String == "0")
        #expect(harness.sandbox.snapshot().flooz.partners[Harness.floozUser]?.lastIndex == 6)
        #expect(!(try String(contentsOfFile: harness.statePath, encoding: .utf8)).contains(key), "the file keeps a hash, never the key")
    }

    @Test func wrongCredentialsAre401() throws {
        let harness = try Harness.flooz()
        for response in [harness.floozToken(index: 1, password: "wrong-password"), harness.floozToken(index: 1, user: "nobody")] {
            #expect(response.status == .unauthorized)
            #expect(Harness.text(response) == #"{"code":"401","message":"Identifiants invalides"}"#)
        }
        #expect(harness.sandbox.snapshot().flooz.partners[Harness.floozUser]?.lastIndex == -1, "a refused call uses no index")
        #expect(harness.call("GET", "/flooz/token?index=x&username=cross-flooz&password=dev-flooz-password").status == .badRequest)
    }

    @Test func aKeyServesManyCallsUntilItExpires() throws {
        let harness = try Harness.flooz(["key_lifetime_seconds": 60])
        let key = harness.floozKey()
        #expect(harness.floozDebit(["mrchrefid": "A"], key: key).status == .ok)
        #expect(harness.floozVerify("A", key: key).status == .ok)
        harness.clock.advance(59)
        #expect(harness.floozVerify("A", key: key).status == .ok)
        harness.clock.advance(1)
        let expired = harness.floozVerify("A", key: key)
        #expect(expired.status == .unauthorized)
        #expect(Harness.text(expired) == #"{"code":"401","message":"Clé invalide ou expirée"}"#)
        #expect(harness.floozDebit(["mrchrefid": "B"], key: "0123456789abcdef0123456789abcdef").status == .unauthorized)
        #expect(harness.floozDebit(["mrchrefid": "B"]).status == .ok, "a fresh key serves")
        #expect(harness.floozCall("/flooz/debit", Harness.debitBody(["mrchrefid": "C"])).status == .unauthorized, "no key at all")
    }

    @Test func theHeaderSchemeIsAcceptedAndAForgedHeaderRefused() throws {
        let harness = try Harness.flooz()
        let good = harness.floozDebit(header: Harness.floozHeader())
        #expect(good.status == .ok && Harness.object(good)["code"] as? String == "0")
        let wrongKey = Harness.floozHeader(key: String(repeating: "f", count: 64))
        let wrongPassword = Harness.floozHeader(password: "not-the-password")
        var tampered = Array(Data(base64Encoded: Harness.floozHeader())!)
        tampered[tampered.count - 1] ^= 0x01
        for header in [wrongKey, wrongPassword, Data(tampered).base64EncodedString(), "not base64!", Data([1, 2, 3]).base64EncodedString()] {
            let response = harness.floozDebit(["mrchrefid": "F"], header: header)
            #expect(response.status == .unauthorized, "\(header)")
            #expect(Harness.object(response)["code"] as? String == "401")
        }
        #expect(harness.floozPrompts.count == 1)
    }
}

/// Flooz's debit: the answer, idempotency, and every refusal.
@Suite struct FloozDebitTests {
    @Test func aDebitIsAcceptedAndOpensOnePromptWhateverTheRepeats() throws {
        let harness = try Harness.flooz()
        let first = harness.floozDebit()
        #expect(first.status == .ok)
        let answer = Harness.object(first)
        #expect(Set(answer.keys) == ["code", "message", "refid", "mrchrefid"])
        #expect(answer["code"] as? String == "0" && answer["message"] as? String == "Demande envoyée au client")
        #expect(answer["mrchrefid"] as? String == "CMD-1")
        #expect((answer["refid"] as? String).map { $0.utf8.count == 12 && $0.allSatisfy(\.isNumber) } == true)
        let prompt = try #require(harness.floozPrompts.first)
        #expect(prompt.phone == "96000001" && prompt.amount == 15000 && prompt.network == .flooz && prompt.idRequete == "CMD-1")
        let again = harness.floozDebit(["amount": "99"], header: Harness.floozHeader())
        #expect(again.body == first.body, "the same mrchrefid: the first answer")
        #expect(harness.floozPrompts.count == 1)
        #expect(harness.prompts.isEmpty, "no MBANKING prompt")
    }

    @Test func unknownNumberBlockedAccountAndWrongPartnerNumber() throws {
        let harness = try Harness.flooz()
        #expect(Harness.text(harness.floozDebit(["msisdn": "22896999999"])) == #"{"code":"3","message":"Numéro inconnu"}"#)
        _ = harness.floozDebit(["mrchrefid": "P", "msisdn": "22896000003"])
        let id = try #require(harness.floozPrompts.first?.id)
        for pin in ["0000", "0001", "0002"] { _ = harness.answer(id, ["pin": pin]) }
        #expect(harness.account("96000003")?.blocked == true)
        #expect(Harness.text(harness.floozDebit(["mrchrefid": "B", "msisdn": "22896000003"])) == #"{"code":"4","message":"Compte bloqué"}"#)
        let other = harness.floozDebit(["mrchrefid": "M", "partnermsisdn": "22899000001"])
        #expect(other.status == .ok)
        #expect(Harness.text(other) == #"{"code":"5","message":"Marchand inconnu"}"#)
        #expect(harness.floozPrompts.isEmpty)
        #expect(Harness.object(harness.floozVerify("B"))["status"] as? String == "1", "a refused debit verifies as failed")
    }

    @Test func everyFieldIsChecked() throws {
        let harness = try Harness.flooz()
        let cases: [(String, Any?)] = [
            ("msisdn", nil), ("msisdn", "96000001"), ("msisdn", 22896000001), ("mrchrefid", ""), ("mrchrefid", String(repeating: "x", count: 65)),
            ("mrchname", nil), ("mrchname", ""), ("amount", "0"), ("amount", "15000.5"), ("amount", 15000), ("amount", "-5"), ("amount", "015"),
            ("partnermsisdn", "99000000"), ("partnermsisdn", nil),
        ]
        for (field, value) in cases {
            let response = harness.floozDebit([field: value])
            #expect(response.status == .badRequest, "\(field) = \(String(describing: value))")
            let answer = Harness.object(response)
            #expect(answer["code"] as? String == "2")
            #expect((answer["message"] as? String)?.hasPrefix(field + " ") == true, "\(answer)")
        }
        #expect(harness.floozPrompts.isEmpty)
        #expect(harness.sandbox.snapshot().flooz.requests.isEmpty)
    }
}
