import Crypto
import CryptoExtras
import Foundation
import Payments
import Support

/// Flooz's (Moov Africa Togo) merchant debit web service: all of its wire format in this file
/// (`../shared/spec/flooz.md`). No public reference exists; what independent integrations disagree on is a field
/// of `Dialect`, set from the configuration, so that the day Moov hands over its contract only this file and the
/// configuration change.
public enum Wire {
    /// How a call proves who it is (the sources show two schemes).
    public enum KeyScheme: String, Sendable {
        /// `GET {token}?index=<ever-increasing>&username=…&password=…` gives a `key` that each body carries.
        case token
        /// An `Authorization` header: base64 of a random IV and AES-256-CBC of `"<random>:<user>:<password>"`.
        case header
    }

    public struct Dialect: Sendable, Equatable {
        /// A debit's answer codes that mean "sent to the client": `"0"`.
        public var acceptedCodes: Set<String>
        /// Verify's and the callback's `status` of a payment made: `"0"`.
        public var successStatuses: Set<String>
        /// Verify's `status` of a debit still waiting for the client.
        public var pendingStatuses: Set<String>
        /// Verify's codes for a `mrchrefid` Flooz does not know (it never arrived).
        public var unknownCodes: Set<String>

        public init(
            acceptedCodes: Set<String> = ["0"], successStatuses: Set<String> = ["0"], pendingStatuses: Set<String> = ["2"],
            unknownCodes: Set<String> = ["404"]
        ) {
            self.acceptedCodes = acceptedCodes
            self.successStatuses = successStatuses
            self.pendingStatuses = pendingStatuses
            self.unknownCodes = unknownCodes
        }
    }

    /// Flooz accounts are in F CFA (ISO 4217 `952`); the service names no currency.
    public static let currency = "952"

    // MARK: - Key

    static func tokenURL(base: String, index: Int64, user: String, password: String) -> String {
        base + "?index=" + String(index) + "&username=" + PercentEncoding.encode(user, spaceAsPlus: false)
            + "&password=" + PercentEncoding.encode(password, spaceAsPlus: false)
    }

    /// The token's answer: `{"code": "0", "key": "…"}`; nil for a refusal (`code` other than 0, no key).
    static func key(fromToken body: [UInt8]) -> (key: String?, code: String?) {
        let object = JSONValue.object(body)
        let code = JSONValue.text(object?["code"])
        guard let key = JSONValue.text(object?["key"]), !key.isEmpty, key.utf8.count <= 4096, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
            code == nil || code == "0"
        else { return (nil, code) }
        return (key, code)
    }

    /// The header scheme's value: base64 of a random 16-byte IV followed by AES-256-CBC (PKCS#7) of
    /// `"<random>:<user>:<password>"` with Moov's 32-byte key.
    static func authorizationHeader(user: String, password: String, key: SymmetricKey) throws -> String {
        let iv = try AES._CBC.IV(ivBytes: SecureRandom.bytes(16))
        let plain = Array((SecureRandom.hex(bytes: 8) + ":" + user + ":" + password).utf8)
        let sealed = try AES._CBC.encrypt(plain, using: key, iv: iv)
        return Data(Array(iv) + Array(sealed)).base64EncodedString()
    }

    // MARK: - Debit and verify

    static func debitBody(_ request: OperatorRequest, key: String?, merchantName: String, partner: String) -> [UInt8] {
        var object: [String: Any] = [
            "msisdn": request.phone.international, "mrchrefid": request.reference, "mrchname": merchantName,
            "amount": String(request.amount), "partnermsisdn": partner,
        ]
        if let key { object["key"] = key }
        return JSONValue.bytes(object)
    }

    static func verifyBody(reference: String, key: String?, partner: String) -> [UInt8] {
        var object: [String: Any] = ["mrchrefid": reference, "partnermsisdn": partner]
        if let key { object["key"] = key }
        return JSONValue.bytes(object)
    }

    /// A debit's answer: `code` (and `message`).
    static func acknowledgement(_ body: [UInt8]) -> (code: String, message: String)? {
        guard let object = JSONValue.object(body), let code = JSONValue.text(object["code"]) else { return nil }
        return (code, JSONValue.text(object["message"]) ?? "")
    }

    /// Verify's answer as a request's status: an unknown code is `.unknown`; `status` success, pending or
    /// anything else (failed) with `code` `0`. A success without a whole amount is never taken as paid.
    static func status(fromVerify body: [UInt8], _ dialect: Dialect) -> RequestStatus? {
        guard let object = JSONValue.object(body), let code = JSONValue.text(object["code"]) else { return nil }
        if dialect.unknownCodes.contains(code) { return .unknown }
        guard code == "0" else { return .failed(code: code, message: JSONValue.text(object["message"]) ?? "") }
        return status(of: object, dialect)
    }

    static func status(of object: [String: Any], _ dialect: Dialect) -> RequestStatus {
        let status = JSONValue.text(object["status"]) ?? ""
        let message = JSONValue.text(object["message"]) ?? ""
        if dialect.successStatuses.contains(status) {
            guard let amount = JSONNumber.wholeOrDigits(object["amount"]) else { return .pending }
            return .succeeded(OperatorTransaction(
                reference: JSONValue.text(object["refid"]) ?? "", amount: amount, currency: currency, phone: JSONValue.text(object["msisdn"]) ?? "", occurredAt: ""))
        }
        if dialect.pendingStatuses.contains(status) || status.isEmpty { return .pending }
        return .failed(code: status, message: message)
    }

    // MARK: - Callback

    /// What Flooz POSTs when a debit ends: read for its `mrchrefid` (which attempt to verify) and what it claims.
    public struct Callback: Sendable, Equatable {
        public let reference: String
        public let claimed: RequestStatus
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

    public static func callback(_ body: [UInt8], _ dialect: Dialect) throws(CallbackProblem) -> Callback {
        guard let object = JSONValue.object(body) else { throw .notJSON }
        guard let reference = JSONValue.text(object["mrchrefid"]), !reference.isEmpty, reference.utf8.count <= 64 else { throw .missing("mrchrefid") }
        return Callback(reference: reference, claimed: status(of: object, dialect))
    }
}
