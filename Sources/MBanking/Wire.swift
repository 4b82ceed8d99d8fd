import Foundation
import Payments
import Support

/// MBANKING's wire format, all of it in this file (`../shared/spec/mbanking.md`): what Cross sends and how it
/// reads the answers. Where the public sources disagree (marked *unsure*), the choice is a field of `Dialect`,
/// set from the configuration, so that the day Togocom hands over its contract only this file and the
/// configuration change.
public enum Wire {
    /// The details the public integrations disagree on.
    public struct Dialect: Sendable, Equatable {
        /// Codes of a debit the operator took ("waiting for the client"): `2000` in two sources, `0` in one.
        public var debitAcceptedCodes: Set<String>
        /// Codes of a credit that was made (v2): `2000`.
        public var creditSucceededCodes: Set<String>
        /// `Authorization: Bearer <token>` (most sources), or the bare token (one Java client).
        public var bearerPrefix: Bool

        public init(debitAcceptedCodes: Set<String> = ["2000", "0"], creditSucceededCodes: Set<String> = ["2000"], bearerPrefix: Bool = true) {
            self.debitAcceptedCodes = debitAcceptedCodes
            self.creditSucceededCodes = creditSucceededCodes
            self.bearerPrefix = bearerPrefix
        }
    }

    /// MBANKING names no currency: its accounts are in F CFA (ISO 4217 `952`).
    public static let currency = "952"

    /// `YYYY-MM-DD HH:MM:SS`, Lomé time (UTC).
    public static func dateTime(_ time: Timestamp) -> String {
        UTCTime.string(seconds: time.seconds, separator: UInt8(ascii: " "), zone: false)
    }

    // MARK: - Login

    static func loginBody(user: String, password: String) -> [UInt8] {
        JSONValue.bytes(["nomUtilisateur": user, "motDePasse": password])
    }

    /// `data.token` of the login's answer (also accepted at the top level, as `token`).
    static func token(fromLogin body: [UInt8]) -> String? {
        guard let object = JSONValue.object(body) else { return nil }
        let data = object["data"] as? [String: Any]
        guard let token = (data?["token"] ?? object["token"]) as? String, !token.isEmpty, token.utf8.count <= 8192,
            token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        return token
    }

    static func authorization(_ token: String, _ dialect: Dialect) -> (String, String) {
        ("Authorization", dialect.bearerPrefix ? "Bearer " + token : token)
    }

    /// When a JWT stops being good: its `exp` claim (the spec names no other source of the token's lifetime).
    /// Nil for a token that is not a JWT or has no `exp`.
    public static func expiry(ofJWT token: String) -> Timestamp? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let payload = Data(base64Encoded: base64),
            let claims = try? JSONSerialization.jsonObject(with: payload) as? [String: Any],
            let exp = claims["exp"] as? NSNumber
        else { return nil }
        return Timestamp(seconds: exp.int64Value)
    }

    // MARK: - Debit and credit v2

    /// The body of a debit (push-USSD) and of a credit v2: the same fields.
    static func requestBody(_ request: OperatorRequest) -> [UInt8] {
        JSONValue.bytes([
            "idRequete": request.reference, "numeroClient": request.phone.international, "montant": request.amount,
            "refCommande": request.label, "dateHeureRequete": dateTime(request.requestedAt), "description": request.description,
        ])
    }

    /// The immediate answer to a debit or a credit: `code`, `message`, and for a credit `refTmoney`.
    struct Acknowledgement: Equatable {
        let code: String
        let message: String
        let operatorReference: String?
    }

    static func acknowledgement(_ body: [UInt8]) -> Acknowledgement? {
        guard let object = JSONValue.object(body), let code = JSONValue.text(object["code"]) else { return nil }
        return Acknowledgement(code: code, message: JSONValue.text(object["message"]) ?? "", operatorReference: JSONValue.text(object["refTmoney"]))
    }

    // MARK: - Check-transaction

    static func checkPath(_ reference: String) -> String {
        "/transactionid?idRequete=" + PercentEncoding.encode(reference, spaceAsPlus: false)
    }

    /// `{"total": N, "data": [...]}`: the request's status, from the record whose `idRequete` is the one asked.
    static func status(fromCheck body: [UInt8], reference: String) -> RequestStatus? {
        guard let object = JSONValue.object(body) else { return nil }
        let records = (object["data"] as? [[String: Any]]) ?? []
        guard let total = JSONNumber.wholeOrDigits(object["total"]) ?? (object["data"] != nil ? Int64(records.count) : nil) else { return nil }
        guard total > 0, let record = records.first(where: { JSONValue.text($0["idRequete"]) == reference }) ?? (records.count == 1 ? records[0] : nil)
        else { return .unknown }
        return status(of: record)
    }

    /// One transaction record (check-transaction's `data[i]`, or the callback): `statutRequete` `SUCCES`,
    /// `ECHEC`, `EN ATTENTE`. Any status it does not name is taken as still waiting: never as paid.
    static func status(of record: [String: Any]) -> RequestStatus {
        let code = JSONValue.text(record["code"]) ?? ""
        let message = JSONValue.text(record["message"]) ?? ""
        switch (JSONValue.text(record["statutRequete"]) ?? "").uppercased() {
        case "SUCCES", "SUCCESS":
            guard let amount = JSONNumber.wholeOrDigits(record["montant"]) else { return .pending }
            return .succeeded(OperatorTransaction(
                reference: JSONValue.text(record["refTmoney"]) ?? "", amount: amount, currency: currency, phone: JSONValue.text(record["numeroClient"]) ?? "",
                occurredAt: JSONValue.text(record["dateHeureTmoney"]) ?? ""))
        case "ECHEC", "FAILED":
            return .failed(code: code, message: message)
        default:
            return .pending
        }
    }

    // MARK: - Callback

    /// What Togocom POSTs when a debit ends: read only for its `idRequete` (which attempt to check) and what it
    /// claims, for the log. It is never believed alone.
    public struct Callback: Sendable, Equatable {
        public let reference: String
        public let claimed: RequestStatus
        public let operatorReference: String
    }

    public enum CallbackProblem: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSON
        case missing(String)

        public var description: String {
            switch self {
            case .notJSON: "the body is not a JSON object"
            case .missing(let field): "\(field) is missing or empty"
            }
        }
    }

    public static func callback(_ body: [UInt8]) throws(CallbackProblem) -> Callback {
        guard let object = JSONValue.object(body) else { throw .notJSON }
        guard let reference = JSONValue.text(object["idRequete"]), !reference.isEmpty, reference.utf8.count <= 64 else { throw .missing("idRequete") }
        return Callback(reference: reference, claimed: status(of: object), operatorReference: JSONValue.text(object["refTmoney"]) ?? "")
    }

    // MARK: - Credit v1 (TagPay's tpcredit, by GET)

    /// The v1 credit's URL. It carries the password: it is never logged (see `MBankingClient`).
    static func creditV1URL(base: String, merchantID: String, password: String, request: OperatorRequest) -> String {
        let parameters: [(String, String)] = [
            ("merchantid", merchantID), ("password", password), ("client", request.phone.international), ("amount", String(request.amount)),
            ("currency", currency), ("trxcode", "bankcashin"), ("type", "credit"), ("description", request.description),
            ("referenceid", request.reference), ("sms", "1"), ("email", ""),
        ]
        return base + "?" + parameters.map { $0.0 + "=" + PercentEncoding.encode($0.1, spaceAsPlus: false) }.joined(separator: "&")
    }

    /// TagPay's XML answer: `<result>0 : success</result>` and `<transactionid>`.
    static func creditV1Result(_ body: [UInt8]) -> Acknowledgement? {
        let xml = String(decoding: body.prefix(65_536), as: UTF8.self)
        func element(_ name: String) -> String? {
            guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
            return String(xml[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)
        }
        guard let result = element("result") else { return nil }
        let parts = result.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        return Acknowledgement(code: parts.first ?? result, message: parts.count > 1 ? parts[1] : "", operatorReference: element("transactionid"))
    }
}
