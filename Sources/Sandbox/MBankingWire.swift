import FastCGI
import Foundation
import Payments
import Support

/// TMoney MBANKING as it goes over the wire: every code, message, field name and format the sandbox speaks
/// (see `shared/spec/mbanking.md`; Cross's client is written to exactly this). The public sources disagree on
/// some of it and Togocom publishes no reference, so all of it sits in this one file: the day the real
/// contract arrives, this file is what changes.
enum MBankingWire {
    // MARK: - Codes and messages

    /// Taken: login succeeded, debit waiting for the client, credit made.
    static let accepted = "2000"
    /// The callback of a debit the client approved.
    static let debitSucceeded = "2002"
    /// The callback of a debit that failed (refused, wrong PIN, balance short, unanswered).
    static let debitFailed = "2003"
    static let malformed = "4000"
    static let wrongCredentials = "4001"
    static let clientBlocked = "4003"
    static let unknownClient = "4004"
    static let partnerBalanceShort = "4005"
    static let invalidToken = "4010"

    static let loginMessage = "Authentification réussie"
    static let wrongCredentialsMessage = "Identifiants invalides"
    static let invalidTokenMessage = "Jeton invalide ou expiré"
    static let debitPendingMessage = "Requête en attente de validation par le client"
    static let unknownClientMessage = "Numéro client inconnu"
    static let clientBlockedMessage = "Compte client bloqué"
    static let creditMessage = "Crédit effectué"
    static let partnerBalanceShortMessage = "Solde partenaire insuffisant"
    static let debitSucceededMessage = "Paiement effectué avec succès"
    static let declinedMessage = "Paiement refusé par le client"
    static let blockedByPINMessage = "Code secret incorrect trois fois : compte client bloqué"
    static let clientBalanceShortMessage = "Solde client insuffisant"
    static let unansweredMessage = "Délai de validation dépassé"
    static let reusedForOtherKindMessage = "idRequete : déjà utilisé par une autre requête de ce partenaire"

    /// The `message` of a debit whose prompt ended so.
    static func message(_ ending: PromptEnding) -> String {
        switch ending {
        case .succeeded: debitSucceededMessage
        case .declined: declinedMessage
        case .blocked: clientBlockedMessage
        case .blockedByPIN: blockedByPINMessage
        case .balanceShort: clientBalanceShortMessage
        case .unanswered: unansweredMessage
        case .unknownClient: unknownClientMessage
        }
    }

    /// `statutRequete`.
    enum Status: String, Sendable, Codable {
        case pending = "EN ATTENTE"
        case success = "SUCCES"
        case failure = "ECHEC"
    }

    /// `typeRequete`.
    enum Kind: String, Sendable, Codable {
        case debit = "DEBIT"
        case credit = "CREDIT"
    }

    // MARK: - Formats

    /// `dateHeureRequete` and `dateHeureTmoney`: `YYYY-MM-DD HH:MM:SS`, Lomé time, which is UTC.
    static func dateTime(_ time: Timestamp) -> String {
        UTCTime.string(seconds: time.seconds, separator: UInt8(ascii: " "), zone: false)
    }

    /// Whether `text` is a real date and time written as `dateTime` writes it.
    static func isDateTime(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: " "),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return false }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit <= 9 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return false }
        return UTCTime.day(year: year, month: month, day: day) != nil && hour < 24 && minute < 60 && second < 60
    }

    /// `refTmoney`: 12 digits.
    static func newReference() -> String { SecureRandom.digits(12) }

    // MARK: - Requests

    struct Login: Sendable {
        let user: String
        let password: String
    }

    /// `POST /login`'s body.
    static func login(_ body: [UInt8]) throws(FieldError) -> Login {
        struct Body: Decodable {
            var nomUtilisateur: String
            var motDePasse: String
        }
        let decoded = try decode(Body.self, body)
        guard !decoded.nomUtilisateur.isEmpty else { throw FieldError("nomUtilisateur", "ne doit pas être vide") }
        guard !decoded.motDePasse.isEmpty else { throw FieldError("motDePasse", "ne doit pas être vide") }
        return Login(user: decoded.nomUtilisateur, password: decoded.motDePasse)
    }

    /// The body of a debit and of a credit v2: the same six fields.
    struct MoneyRequest: Sendable, Equatable {
        let idRequete: String
        let phone: PhoneNumber
        let amount: Int64
        let refCommande: String
        let dateHeureRequete: String
        let description: String
    }

    static func moneyRequest(_ body: [UInt8]) throws(FieldError) -> MoneyRequest {
        struct Body: Decodable {
            var idRequete: String
            var numeroClient: String
            /// Read as a number of any kind, so that `1.5` is named as a bad amount rather than a bad body.
            var montant: Double
            var refCommande: String
            var dateHeureRequete: String
            var description: String
        }
        let decoded = try decode(Body.self, body)
        try checkText(decoded.idRequete, "idRequete", 1...64)
        let phone = try clientNumber(decoded.numeroClient, field: "numeroClient")
        guard decoded.montant.rounded() == decoded.montant, decoded.montant > 0, decoded.montant <= 10_000_000_000 else {
            throw FieldError("montant", "doit être un nombre entier de F CFA supérieur à 0")
        }
        try checkText(decoded.refCommande, "refCommande", 1...64)
        guard isDateTime(decoded.dateHeureRequete) else {
            throw FieldError("dateHeureRequete", "doit être une date et heure AAAA-MM-JJ HH:MM:SS")
        }
        try checkText(decoded.description, "description", 0...255)
        return MoneyRequest(
            idRequete: decoded.idRequete, phone: phone, amount: Int64(decoded.montant), refCommande: decoded.refCommande,
            dateHeureRequete: decoded.dateHeureRequete, description: decoded.description)
    }

    /// `228XXXXXXXX` exactly, as MBANKING wants it.
    static func clientNumber(_ text: String, field: String) throws(FieldError) -> PhoneNumber {
        guard text.utf8.count == 11, let number = PhoneNumber(text), number.international == text else {
            throw FieldError(field, "doit être 228 suivi des 8 chiffres du numéro")
        }
        return number
    }

    static func checkText(_ text: String, _ field: String, _ length: ClosedRange<Int>) throws(FieldError) {
        let count = text.unicodeScalars.count
        guard length.contains(count) else {
            throw FieldError(field, "doit avoir de \(length.lowerBound) à \(length.upperBound) caractères (il en a \(count))")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw FieldError(field, "ne doit pas contenir de caractères de contrôle")
        }
    }

    /// A JSON object whose fields are checked by their type; a missing or mistyped one is named.
    private static func decode<Body: Decodable>(_ type: Body.Type, _ body: [UInt8]) throws(FieldError) -> Body {
        do {
            return try JSONDecoder().decode(Body.self, from: Data(body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw FieldError(key.stringValue, "est obligatoire")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            guard let field = context.codingPath.first?.stringValue else { throw FieldError("corps", "doit être un objet JSON") }
            throw FieldError(field, field == "montant" ? "doit être un nombre entier de F CFA supérieur à 0" : "n'a pas le bon type")
        } catch {
            throw FieldError("corps", "doit être un objet JSON")
        }
    }

    // MARK: - Answers

    static func json(_ object: [String: Any], status: HTTPStatus = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var response = Response.json(Array(data), status: status)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    static func answer(_ code: String, _ message: String, status: HTTPStatus = .ok, _ extra: [String: Any] = [:]) -> Response {
        json(["code": code, "message": message].merging(extra) { $1 }, status: status)
    }

    static func loggedIn(token: String) -> Response {
        answer(accepted, loginMessage, ["data": ["token": token]])
    }

    static var wrongCredentialsAnswer: Response { answer(wrongCredentials, wrongCredentialsMessage, status: .unauthorized) }
    static var invalidTokenAnswer: Response { answer(invalidToken, invalidTokenMessage, status: .unauthorized) }

    static func malformedAnswer(_ error: FieldError) -> Response {
        answer(malformed, "\(error.field) : \(error.message)", status: .badRequest)
    }

    /// What the first call of `request` was answered, given again for every later call with its idRequete.
    static func firstAnswer(_ request: MBankingRequest) -> Response {
        var extra: [String: Any] = [:]
        switch request.kind {
        case .debit where request.answer.code == accepted: extra["idRequete"] = request.idRequete
        case .credit where request.answer.code == accepted:
            extra["refTmoney"] = request.refTmoney
            extra["dateHeureTmoney"] = dateTime(request.finishedAt ?? request.receivedAt)
        default: break
        }
        return answer(request.answer.code, request.answer.message, extra)
    }

    /// One entry of check-transaction's `data`, and the fields of a callback.
    static func record(_ request: MBankingRequest, partnerName: String) -> [String: Any] {
        [
            "refTmoney": request.refTmoney, "dateHeureTmoney": dateTime(request.finishedAt ?? request.receivedAt),
            "idRequete": request.idRequete, "statutRequete": request.status.rawValue, "typeRequete": request.kind.rawValue,
            "dateHeureRequete": request.dateHeureRequete, "refCommande": request.refCommande, "montant": request.amount,
            "numeroClient": PhoneNumber(request.phone)?.international ?? request.phone, "idPartenaire": request.partnerID,
            "nomPartenaire": partnerName, "code": request.code, "message": request.message,
        ]
    }

    static func checkAnswer(_ found: MBankingRequest?, partnerName: String) -> Response {
        guard let found else { return json(["total": 0, "data": [Any]()]) }
        return json(["total": 1, "data": [record(found, partnerName: partnerName)]])
    }

    /// The callback's JSON: the record with the partner's balance after the debit.
    static func callback(_ request: MBankingRequest, partnerName: String, partnerBalance: Int64) -> [UInt8] {
        var fields = record(request, partnerName: partnerName)
        fields["soldePartenaire"] = partnerBalance
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// What a gateway in front of TMoney answers when TMoney fails or is too slow: HTML, not the API's JSON.
    static func gatewayPage(_ status: HTTPStatus) -> Response {
        var response = Response.html(
            "<html><head><title>\(status)</title></head><body><center><h1>\(status)</h1></center><hr><center>nginx</center></body></html>\n",
            status: status)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    // MARK: - Credit v1 (TagPay's tpcredit.php)

    /// `<result>`: a number, a space, a colon and a few words, as TagPay writes it.
    enum V1Result: Sendable {
        case success, insufficientBalance, unknownClient, authenticationFailed
        case invalid(String)

        var text: String {
            switch self {
            case .success: "0 : success"
            case .insufficientBalance: "1 : insufficient balance"
            case .unknownClient: "2 : unknown client"
            case .authenticationFailed: "3 : authentication failed"
            case .invalid(let field): "4 : invalid parameter \(field)"
            }
        }
    }

    /// The query of a v1 credit. `password` is compared, never kept, logged or echoed.
    struct V1Credit: Sendable {
        /// `merchantid`, or `agentid` in its stead.
        let merchantID: String
        /// Whether the caller named itself with `agentid`: the answer uses the same element.
        let asAgent: Bool
        let password: String
        let client: String
        let amount: String
        let currency: String
        let referenceID: String
        let trxcode: String
        let description: String
    }

    static func v1Credit(_ query: Parameters) -> V1Credit {
        let asAgent = query["merchantid"] == nil && query["agentid"] != nil
        return V1Credit(
            merchantID: query["merchantid"] ?? query["agentid"] ?? "", asAgent: asAgent, password: query["password"] ?? "",
            client: query["client"] ?? "", amount: query["amount"] ?? "", currency: query["currency"] ?? "",
            referenceID: query["referenceid"] ?? "", trxcode: query["trxcode"] ?? "", description: query["description"] ?? "")
    }

    static let v1Currency = "952"

    /// The XML TagPay answers with: the request's fields back, the result, and TMoney's transaction id.
    static func v1Answer(_ credit: V1Credit, _ result: V1Result, transactionID: String, status: HTTPStatus = .ok) -> Response {
        let idElement = credit.asAgent ? "agentid" : "merchantid"
        func element(_ name: String, _ value: String) -> String { "<\(name)>\(xmlEscaped(value))</\(name)>" }
        let xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "<response>"
            + element(idElement, String(credit.merchantID.prefix(64))) + element("client", String(credit.client.prefix(32)))
            + element("amount", String(credit.amount.prefix(16))) + element("currency", String(credit.currency.prefix(8)))
            + element("referenceid", String(credit.referenceID.prefix(64))) + element("result", result.text)
            + element("transactionid", transactionID) + "</response>"
        var response = Response(status: status, contentType: "text/xml", body: xml)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where scalar.value < 0x20: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
