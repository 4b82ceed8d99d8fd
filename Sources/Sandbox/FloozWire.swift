import FastCGI
import Foundation
import Payments
import Support
import Crypto
import CryptoExtras

/// Flooz's merchant debit web service as the sandbox speaks it (the shape public integrations agree on, in
/// `shared/spec/flooz.md`; Cross's client is written to exactly this). Moov publishes no reference, so every
/// code, message and field name sits in this one file: the day the real contract arrives, this file is what
/// changes.
enum FloozWire {
    // MARK: - Codes and messages

    /// Key issued, debit sent to the client, verify answered.
    static let accepted = "0"
    /// `GET /token` with an index not greater than the partner's last.
    static let indexUsed = "1"
    /// A field missing or wrong (HTTP 400).
    static let malformed = "2"
    static let unknownNumber = "3"
    static let blocked = "4"
    static let unknownMerchant = "5"
    /// Wrong credentials, or a key missing, wrong or expired (HTTP 401).
    static let unauthorized = "401"
    /// Verify of a mrchrefid this partner never sent.
    static let unknownTransaction = "404"

    static let indexUsedMessage = "Index déjà utilisé"
    static let wrongCredentialsMessage = "Identifiants invalides"
    static let invalidKeyMessage = "Clé invalide ou expirée"
    static let debitSentMessage = "Demande envoyée au client"
    static let unknownNumberMessage = "Numéro inconnu"
    static let blockedMessage = "Compte bloqué"
    static let unknownMerchantMessage = "Marchand inconnu"
    static let unknownTransactionMessage = "Transaction inconnue"
    static let waitingMessage = "En attente de validation par le client"
    static let succeededMessage = "Paiement effectué avec succès"
    static let declinedMessage = "Paiement refusé par le client"
    static let blockedByPINMessage = "Code secret incorrect trois fois : compte bloqué"
    static let balanceShortMessage = "Solde insuffisant"
    static let unansweredMessage = "Délai de validation dépassé"

    /// The `message` of a debit whose prompt ended so.
    static func message(_ ending: PromptEnding) -> String {
        switch ending {
        case .succeeded: succeededMessage
        case .declined: declinedMessage
        case .blocked: blockedMessage
        case .blockedByPIN: blockedByPINMessage
        case .balanceShort: balanceShortMessage
        case .unanswered: unansweredMessage
        case .unknownClient: unknownNumberMessage
        }
    }

    /// `status` of verify and of the callback.
    enum Status: String, Sendable, Codable {
        case success = "0"
        case failure = "1"
        case waiting = "2"
    }

    /// `refid`: 12 digits.
    static func newReference() -> String { SecureRandom.digits(12) }

    /// A key of the token scheme: 32 random hex digits.
    static func newKey() -> String { SecureRandom.hex(bytes: 16) }

    /// What the log may show of a key or a header: its last 6 characters.
    static func redacted(_ key: String) -> String { "…" + key.suffix(6) }

    // MARK: - Requests

    /// `GET /token`'s query. `password` is compared, never kept, logged or echoed.
    struct TokenRequest: Sendable {
        let index: Int64
        let user: String
        let password: String
    }

    static func tokenRequest(_ query: Parameters) throws(FieldError) -> TokenRequest {
        guard query.count(of: "username") == 1, let user = query["username"], !user.isEmpty else {
            throw FieldError("username", "est obligatoire, une fois")
        }
        guard query.count(of: "password") == 1, let password = query["password"], !password.isEmpty else {
            throw FieldError("password", "est obligatoire, une fois")
        }
        guard query.count(of: "index") == 1, let text = query["index"], let index = digits(text, upTo: 18) else {
            throw FieldError("index", "doit être un nombre entier positif, une fois")
        }
        return TokenRequest(index: index, user: user, password: password)
    }

    /// A debit's body.
    struct Debit: Sendable, Equatable {
        let msisdn: PhoneNumber
        let mrchrefid: String
        let mrchname: String
        let amount: Int64
        let partnerMSISDN: PhoneNumber
    }

    /// A verify's body.
    struct Verify: Sendable, Equatable {
        let mrchrefid: String
        let partnerMSISDN: PhoneNumber
    }

    /// The body as a JSON object, and its `key` if any (the key is checked before the fields).
    static func object(_ body: [UInt8]) throws(FieldError) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw FieldError("corps", "doit être un objet JSON")
        }
        return object
    }

    static func key(in object: [String: Any]) -> String? { object["key"] as? String }

    static func debit(_ object: [String: Any]) throws(FieldError) -> Debit {
        let msisdn = try MBankingWire.clientNumber(try string(object, "msisdn"), field: "msisdn")
        let mrchrefid = try string(object, "mrchrefid")
        try MBankingWire.checkText(mrchrefid, "mrchrefid", 1...64)
        let mrchname = try string(object, "mrchname")
        try MBankingWire.checkText(mrchname, "mrchname", 1...100)
        guard let amount = digits(try string(object, "amount"), upTo: 11), amount > 0, amount <= 10_000_000_000 else {
            throw FieldError("amount", "doit être un nombre entier de F CFA supérieur à 0, en chiffres")
        }
        let partner = try MBankingWire.clientNumber(try string(object, "partnermsisdn"), field: "partnermsisdn")
        return Debit(msisdn: msisdn, mrchrefid: mrchrefid, mrchname: mrchname, amount: amount, partnerMSISDN: partner)
    }

    static func verify(_ object: [String: Any]) throws(FieldError) -> Verify {
        let mrchrefid = try string(object, "mrchrefid")
        try MBankingWire.checkText(mrchrefid, "mrchrefid", 1...64)
        let partner = try MBankingWire.clientNumber(try string(object, "partnermsisdn"), field: "partnermsisdn")
        return Verify(mrchrefid: mrchrefid, partnerMSISDN: partner)
    }

    private static func string(_ object: [String: Any], _ field: String) throws(FieldError) -> String {
        guard let value = object[field] else { throw FieldError(field, "est obligatoire") }
        guard let text = value as? String else { throw FieldError(field, "doit être une chaîne de caractères") }
        return text
    }

    /// ASCII digits only, no sign, no leading zero (except "0" itself), at most `count` of them.
    static func digits(_ text: String, upTo count: Int) -> Int64? {
        let bytes = Array(text.utf8)
        guard (1...count).contains(bytes.count), bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              bytes.count == 1 || bytes[0] != UInt8(ascii: "0") else { return nil }
        return Int64(text)
    }

    // MARK: - The header scheme

    /// The user and password an `Authorization` header carries: base64 of (16-byte IV ‖ AES-256-CBC with
    /// PKCS#7 padding of `"<random>:<user>:<password>"`) under the configured `header_key`. Nil for anything
    /// else: not base64, too short, bad padding, not three parts.
    static func headerCredentials(_ header: String, key: [UInt8]) -> (user: String, password: String)? {
        var value = header.trimmingCharacters(in: .whitespaces)
        if value.lowercased().hasPrefix("basic ") || value.lowercased().hasPrefix("bearer ") {
            value = String(value.drop { $0 != " " }.dropFirst()).trimmingCharacters(in: .whitespaces)
        }
        guard let bytes = Data(base64Encoded: value).map(Array.init),
              let plain = FloozHeaderCipher.decrypt(bytes, key: key),
              let text = String(bytes: plain, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        return (String(parts[1]), String(parts[2]))
    }

    /// The header a partner's client computes (tests use it; `random` defaults to 16 random hex digits).
    static func header(user: String, password: String, key: [UInt8], random: String = SecureRandom.hex(bytes: 8)) -> String {
        let sealed = FloozHeaderCipher.encrypt(Array("\(random):\(user):\(password)".utf8), key: key)
        return Data(sealed).base64EncodedString()
    }

    // MARK: - Answers

    static func answer(_ code: String, _ message: String, status: HTTPStatus = .ok, _ extra: [String: Any] = [:]) -> Response {
        MBankingWire.json(["code": code, "message": message].merging(extra) { $1 }, status: status)
    }

    static func keyIssued(_ key: String, index: Int64) -> Response {
        MBankingWire.json(["code": accepted, "key": key, "index": index])
    }

    static var indexUsedAnswer: Response { answer(indexUsed, indexUsedMessage) }
    static var wrongCredentialsAnswer: Response { answer(unauthorized, wrongCredentialsMessage, status: .unauthorized) }
    static var invalidKeyAnswer: Response { answer(unauthorized, invalidKeyMessage, status: .unauthorized) }
    static var unknownMerchantAnswer: Response { answer(unknownMerchant, unknownMerchantMessage) }
    static var unknownTransactionAnswer: Response { answer(unknownTransaction, unknownTransactionMessage) }

    static func malformedAnswer(_ error: FieldError) -> Response {
        answer(malformed, "\(error.field) : \(error.message)", status: .badRequest)
    }

    /// The first answer to a debit, given again to every debit with its mrchrefid.
    static func debitAnswer(_ request: FloozRequest) -> Response {
        guard request.answer.code == accepted else { return answer(request.answer.code, request.answer.message) }
        return answer(accepted, request.answer.message, ["refid": request.refid, "mrchrefid": request.mrchrefid])
    }

    /// The fields verify and the callback share.
    private static func record(_ request: FloozRequest) -> [String: Any] {
        [
            "status": request.status.rawValue, "message": request.message, "refid": request.refid, "amount": String(request.amount),
            "msisdn": PhoneNumber(request.phone)?.international ?? request.phone, "mrchrefid": request.mrchrefid,
        ]
    }

    static func verifyAnswer(_ request: FloozRequest) -> Response {
        MBankingWire.json(record(request).merging(["code": accepted]) { $1 })
    }

    /// The callback's JSON.
    static func callback(_ request: FloozRequest) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: record(request), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// What a gateway in front of Flooz answers when Flooz fails or is too slow: HTML, not the API's JSON.
    static func gatewayPage(_ status: HTTPStatus) -> Response { MBankingWire.gatewayPage(status) }
}

/// AES-256-CBC with PKCS#7 padding and the IV in front, as the header scheme wants it.
enum FloozHeaderCipher {
    static func decrypt(_ sealed: [UInt8], key: [UInt8]) -> [UInt8]? {
        guard key.count == 32, sealed.count >= 32, sealed.count % 16 == 0,
              let iv = try? AES._CBC.IV(ivBytes: sealed[0..<16]) else { return nil }
        return (try? AES._CBC.decrypt(sealed[16...], using: SymmetricKey(data: key), iv: iv)).map(Array.init)
    }

    static func encrypt(_ plain: [UInt8], key: [UInt8]) -> [UInt8] {
        let ivBytes = SecureRandom.bytes(16)
        guard let iv = try? AES._CBC.IV(ivBytes: ivBytes),
              let sealed = try? AES._CBC.encrypt(plain, using: SymmetricKey(data: key), iv: iv) else { return [] }
        return ivBytes + Array(sealed)
    }
}
