import FastCGI
import Foundation
import Payments
import Support
import Testing
@testable import Sandbox

/// The MBANKING side of the harness: the test configuration with an `mbanking` section, and the calls a
/// partner's server makes, as JSON with a bearer token.
extension Harness {
    static let partner = "PARTNER-0001"
    static let partnerUser = "cross-dev"
    static let partnerPassword = "dev-mbanking-password"
    static let jwtSecret = "test-mbanking-jwt-secret-0123456789abcdef"

    static func mbankingSection(_ changes: [String: Any] = [:], partner: [String: Any] = [:]) -> [String: Any] {
        var entry: [String: Any] = [
            "id": Self.partner, "user": partnerUser, "password": partnerPassword, "name": "Boutique Démo",
            "callback_url": "http://127.0.0.1:8080/callbacks/tmoney", "balance": 1_000_000,
        ]
        entry.merge(partner) { $1 }
        var section: [String: Any] = [
            "jwt_secret": jwtSecret, "token_lifetime_seconds": 600, "prompt_lifetime_seconds": 120, "hold_seconds": 30,
            "partners": [entry],
        ]
        section.merge(changes) { $1 }
        return section
    }

    /// A harness whose sandbox plays MBANKING too.
    static func mbanking(_ changes: [String: Any] = [:], partner: [String: Any] = [:]) throws -> Harness {
        try Harness(["mbanking": mbankingSection(changes, partner: partner)])
    }

    /// A request with a raw body and headers, through the router, errors as the sandbox renders them.
    func call(_ method: String, _ uri: String, json: Any? = nil, raw: [UInt8]? = nil, token: String? = nil, bare: Bool = false,
              form: [(String, String)]? = nil) -> Response {
        var headers: [String: String] = [:]
        if let token { headers["Authorization"] = bare ? token : "Bearer " + token }
        var body: [UInt8] = raw ?? []
        var type: String?
        if let json {
            body = Array(try! JSONSerialization.data(withJSONObject: json))
            type = "application/json"
        }
        if let form {
            body = Array(URLEncoding.encodeForm(form).utf8)
            type = "application/x-www-form-urlencoded"
        } else if raw != nil {
            type = "application/json"
        }
        var request: Request?
        do {
            let built = try Request(method: method, uri: uri, headers: headers, body: body, contentType: type)
            request = built
            return try router.respond(to: built)
        } catch let error as HTTPError {
            return error.page ?? application.errorPage(error, request)
        } catch {
            Issue.record("unexpected error \(error)")
            return Response(status: .internalServerError)
        }
    }

    /// A fresh token for the test partner.
    func token() -> String {
        let answer = Self.object(call("POST", "/mbanking/login", json: ["nomUtilisateur": Self.partnerUser, "motDePasse": Self.partnerPassword]))
        let token = (answer["data"] as? [String: Any])?["token"] as? String
        #expect(token != nil, "login answered \(answer)")
        return token ?? ""
    }

    static func moneyBody(_ changes: [String: Any?] = [:]) -> [String: Any] {
        var body: [String: Any] = [
            "idRequete": "REQ-1", "numeroClient": "22890000001", "montant": 15000, "refCommande": "CMD-1",
            "dateHeureRequete": "2026-12-01 21:30:00", "description": "Commande CMD-1",
        ]
        for (key, value) in changes { body[key] = value }
        return body
    }

    func debit(_ changes: [String: Any?] = [:], token: String? = nil) -> Response {
        call("POST", "/mbanking/tmoney-middleware/debit", json: Self.moneyBody(changes), token: token ?? self.token())
    }

    func creditV2(_ changes: [String: Any?] = [:], token: String? = nil) -> Response {
        call("POST", "/mbanking/api/tpcredit", json: Self.moneyBody(changes), token: token ?? self.token())
    }

    func check(_ idRequete: String, token: String? = nil) -> [String: Any] {
        Self.object(call("GET", "/mbanking/tmoney-middleware/transactionid?idRequete=" + idRequete, token: token ?? self.token()))
    }

    /// The one entry check-transaction gives for `idRequete`, if any.
    func checked(_ idRequete: String) -> [String: Any]? {
        ((check(idRequete)["data"] as? [Any])?.first) as? [String: Any]
    }

    var prompts: [Prompt] { sandbox.snapshot().mbanking.prompts.values.sorted { $0.openedAt < $1.openedAt } }
    var partnerBalance: Int64 { sandbox.snapshot().mbanking.partnerBalances[Self.partner] ?? -1 }
    var callbackPlans: [CallbackPlan] { callbacks.plans }

    /// Answers prompt `id` through the prompts API.
    func answer(_ id: String, _ body: [String: Any]) -> (Response, [String: Any]) {
        let response = call("POST", "/sandbox/api/prompts/" + id, json: body)
        return (response, Self.object(response))
    }

    static func object(_ response: Response) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }

    static func callbackFields(_ plan: CallbackPlan) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(plan.body))) as? [String: Any] ?? [:]
    }
}
