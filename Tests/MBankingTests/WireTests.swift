import Foundation
import Testing
@testable import MBanking
import Payments

/// MBANKING's answers as the spec's public sources show them (`../shared/spec/mbanking.md`), and the variants
/// they disagree on.
@Suite struct WireTests {
    static func jwt(exp: Int64) -> String {
        func part(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        return part(#"{"alg":"HS256","typ":"JWT"}"#) + "." + part(#"{"sub":"cross-dev","iat":1,"exp":\#(exp)}"#) + ".c2lnbmF0dXJl"
    }

    @Test func loginTokenIsDataToken() {
        #expect(Wire.token(fromLogin: Array(#"{"code":"2000","message":"ok","data":{"token":"abc.def.ghi"}}"#.utf8)) == "abc.def.ghi")
        #expect(Wire.token(fromLogin: Array(#"{"token":"abc.def.ghi"}"#.utf8)) == "abc.def.ghi")
        #expect(Wire.token(fromLogin: Array(#"{"code":"4001","message":"Identifiants invalides"}"#.utf8)) == nil)
        #expect(Wire.token(fromLogin: Array(#"{"data":{"token":"a b"}}"#.utf8)) == nil)
        #expect(Wire.token(fromLogin: Array("<html>".utf8)) == nil)
    }

    @Test func expiryIsTheJWTsExpClaim() {
        #expect(Wire.expiry(ofJWT: Self.jwt(exp: 1_800_000_000)) == Timestamp(seconds: 1_800_000_000))
        #expect(Wire.expiry(ofJWT: "opaque-token") == nil)
        #expect(Wire.expiry(ofJWT: "a.!!!.c") == nil)
    }

    @Test func bearerOrBareToken() {
        #expect(Wire.authorization("T", Wire.Dialect()) == ("Authorization", "Bearer T"))
        #expect(Wire.authorization("T", Wire.Dialect(bearerPrefix: false)) == ("Authorization", "T"))
    }

    @Test func debitBodyHasTheSpecsFields() throws {
        let request = OperatorRequest(
            reference: "req-1", phone: PhoneNumber("90 00 00 01")!, amount: 15000, label: "CMD-1", description: "Commande",
            requestedAt: Timestamp(seconds: 1_796_160_600))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(Wire.requestBody(request))) as? [String: Any])
        #expect(object["idRequete"] as? String == "req-1")
        #expect(object["numeroClient"] as? String == "22890000001")
        #expect((object["montant"] as? NSNumber)?.int64Value == 15000)
        #expect(object["refCommande"] as? String == "CMD-1")
        #expect(object["dateHeureRequete"] as? String == "2026-12-01 21:30:00")
        #expect(object["description"] as? String == "Commande")
    }

    @Test("acknowledgement codes, as string or number", arguments: [
        (#"{"code":"2000","message":"en attente"}"#, "2000"), (#"{"code":2000,"message":"x"}"#, "2000"), (#"{"code":"0"}"#, "0"),
    ])
    func acknowledgement(body: String, code: String) {
        #expect(Wire.acknowledgement(Array(body.utf8))?.code == code)
    }

    @Test func checkTransactionShapes() {
        let reference = "k-1"
        #expect(Wire.status(fromCheck: Array(#"{"total":0,"data":[]}"#.utf8), reference: reference) == .unknown)
        #expect(Wire.status(fromCheck: Array(#"{"total":1,"data":[{"idRequete":"k-1","statutRequete":"EN ATTENTE"}]}"#.utf8), reference: reference) == .pending)
        let success = #"{"total":1,"data":[{"refTmoney":"123456789012","dateHeureTmoney":"2026-12-01 21:31:00","idRequete":"k-1","statutRequete":"SUCCES","typeRequete":"DEBIT","montant":15000,"numeroClient":"22890000001","code":"2002","message":"ok"}]}"#
        #expect(Wire.status(fromCheck: Array(success.utf8), reference: reference) == .succeeded(OperatorTransaction(
            reference: "123456789012", amount: 15000, currency: "952", phone: "22890000001", occurredAt: "2026-12-01 21:31:00")))
        let asText = #"{"total":"1","data":[{"idRequete":"k-1","statutRequete":"SUCCES","montant":"15000","refTmoney":"9"}]}"#
        #expect(Wire.status(fromCheck: Array(asText.utf8), reference: reference)
            == .succeeded(OperatorTransaction(reference: "9", amount: 15000, currency: "952", phone: "", occurredAt: "")))
        #expect(Wire.status(fromCheck: Array(#"{"total":1,"data":[{"idRequete":"k-1","statutRequete":"ECHEC","code":"2003","message":"refusé"}]}"#.utf8), reference: reference)
            == .failed(code: "2003", message: "refusé"))
        // A success without a readable amount is never taken as paid.
        #expect(Wire.status(fromCheck: Array(#"{"total":1,"data":[{"idRequete":"k-1","statutRequete":"SUCCES","montant":150.5}]}"#.utf8), reference: reference) == .pending)
        #expect(Wire.status(fromCheck: Array(#"{"total":1,"data":[{"idRequete":"k-1","statutRequete":"BIZARRE"}]}"#.utf8), reference: reference) == .pending)
        #expect(Wire.status(fromCheck: Array("<html>502</html>".utf8), reference: reference) == nil)
    }

    @Test func callbackNamesItsRequest() throws {
        let body = #"{"code":"2002","message":"ok","refTmoney":"55","idRequete":"k-1","statutRequete":"SUCCES","typeRequete":"DEBIT","montant":15000,"numeroClient":"22890000001"}"#
        let callback = try Wire.callback(Array(body.utf8))
        #expect(callback.reference == "k-1")
        #expect(callback.operatorReference == "55")
        #expect(throws: Wire.CallbackProblem.missing("idRequete")) { try Wire.callback(Array(#"{"statutRequete":"SUCCES"}"#.utf8)) }
        #expect(throws: Wire.CallbackProblem.notJSON) { try Wire.callback(Array("statut=SUCCES".utf8)) }
    }

    @Test func creditV1IsTagPaysForm() {
        let request = OperatorRequest(
            reference: "r 1", phone: PhoneNumber("90000001")!, amount: 500, label: "CMD", description: "Remboursement", requestedAt: Timestamp(seconds: 0))
        let url = Wire.creditV1URL(base: "https://h/tpcredit.php", merchantID: "P1", password: "p&w", request: request)
        #expect(url == "https://h/tpcredit.php?merchantid=P1&password=p%26w&client=22890000001&amount=500&currency=952&trxcode=bankcashin&type=credit&description=Remboursement&referenceid=r%201&sms=1&email=")
        let xml = #"<?xml version="1.0"?><response><merchantid>P1</merchantid><result>0 : success</result><transactionid>777</transactionid></response>"#
        #expect(Wire.creditV1Result(Array(xml.utf8)) == Wire.Acknowledgement(code: "0", message: "success", operatorReference: "777"))
        #expect(Wire.creditV1Result(Array("<response><result>1 : insufficient balance</result></response>".utf8))?.code == "1")
        #expect(Wire.creditV1Result(Array("oops".utf8)) == nil)
    }
}
