import FastCGI
import Foundation
import Payments
import Support
import Testing
@testable import Sandbox

/// The Flooz side of the harness: a `flooz` section, Moov accounts, and the calls a partner's server makes.
extension Harness {
    static let floozUser = "cross-flooz"
    static let floozPassword = "dev-flooz-password"
    static let floozMSISDN = "22899000000"
    static let floozHeaderKey = String(repeating: "0123456789abcdef", count: 4)

    static func floozSection(_ changes: [String: Any] = [:], partner: [String: Any] = [:]) -> [String: Any] {
        var entry: [String: Any] = [
            "user": floozUser, "password": floozPassword, "name": "Boutique Démo", "msisdn": floozMSISDN,
            "callback_url": "http://127.0.0.1:8080/callbacks/flooz", "balance": 1_000_000,
        ]
        entry.merge(partner) { $1 }
        var section: [String: Any] = [
            "key_lifetime_seconds": 300, "prompt_lifetime_seconds": 120, "hold_seconds": 30, "header_key": floozHeaderKey,
            "partners": [entry],
        ]
        section.merge(changes) { $1 }
        return section
    }

    static var moovAccounts: [[String: Any]] { [
        ["phone": "96000001", "pin": "1234", "name": "Afi Moov", "client_id": "2000000001", "balance": 5_000_000],
        ["phone": "96000002", "pin": "1234", "name": "Kodjo Poor", "client_id": "2000000002", "balance": 500],
        ["phone": "96000003", "pin": "1234", "name": "Esi Block", "client_id": "2000000003", "balance": 100_000],
    ] }

    /// A harness whose sandbox plays Flooz (and MBANKING, so that both share the phone and the prompts API).
    static func flooz(_ changes: [String: Any] = [:], partner: [String: Any] = [:], mbanking: Bool = true) throws -> Harness {
        var settings: [String: Any] = [
            "flooz": floozSection(changes, partner: partner),
            "accounts": (configuration["accounts"] as! [[String: Any]]) + moovAccounts,
        ]
        if mbanking { settings["mbanking"] = mbankingSection() }
        return try Harness(settings)
    }

    /// `GET /flooz/token`.
    func floozToken(index: Int64, user: String = Harness.floozUser, password: String = Harness.floozPassword) -> Response {
        call("GET", "/flooz/token?index=\(index)&username=\(user)&password=\(password)")
    }

    /// A fresh key, with an index above any used so far.
    func floozKey() -> String {
        let index = (sandbox.snapshot().flooz.partners[Self.floozUser]?.lastIndex ?? 0) + 1
        let key = Self.object(floozToken(index: index))["key"] as? String
        #expect(key != nil)
        return key ?? ""
    }

    static func debitBody(_ changes: [String: Any?] = [:]) -> [String: Any] {
        var body: [String: Any] = [
            "msisdn": "22896000001", "mrchrefid": "CMD-1", "mrchname": "Boutique Démo", "amount": "15000", "partnermsisdn": floozMSISDN,
        ]
        for (key, value) in changes { body[key] = value }
        return body
    }

    /// `POST /flooz/debit` with a fresh key in the body unless `key` (or a header) is given.
    func floozDebit(_ changes: [String: Any?] = [:], key: String? = nil, header: String? = nil) -> Response {
        var body = Self.debitBody(changes)
        if header == nil, body["key"] == nil, changes["key"] == nil { body["key"] = key ?? floozKey() }
        return floozCall("/flooz/debit", body, header: header)
    }

    func floozVerify(_ mrchrefid: String = "CMD-1", partner: String = Harness.floozMSISDN, key: String? = nil) -> Response {
        floozCall("/flooz/verify", ["mrchrefid": mrchrefid, "partnermsisdn": partner, "key": key ?? floozKey()])
    }

    func floozCall(_ path: String, _ body: [String: Any], header: String? = nil) -> Response {
        var headers: [String: String] = [:]
        if let header { headers["Authorization"] = header }
        let data = Array(try! JSONSerialization.data(withJSONObject: body))
        do {
            let request = try Request(method: "POST", uri: path, headers: headers, body: data, contentType: "application/json")
            return try router.respond(to: request)
        } catch {
            Issue.record("unexpected error \(error)")
            return Response(status: .internalServerError)
        }
    }

    var floozPrompts: [Prompt] { sandbox.snapshot().flooz.prompts.values.sorted { $0.openedAt < $1.openedAt } }
    var floozPartnerBalance: Int64 { sandbox.snapshot().flooz.partners[Self.floozUser]?.balance ?? -1 }

    static func floozHeader(user: String = floozUser, password: String = floozPassword, key: String = floozHeaderKey) -> String {
        FloozWire.header(user: user, password: password, key: Hex.decode(key)!)
    }
}
