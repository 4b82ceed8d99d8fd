import Crypto
import Foundation

/// A payment button a merchant pastes into any page: a form that posts an order's fields to Cross's
/// `/checkout`, with an HMAC-SHA256 signature made with the merchant's button secret, so that nobody can
/// change the amount, the reference or any other field on the way.
///
/// The signature covers every field a button may carry, in a fixed order, each as `name:length:value`
/// (lengths in bytes, so that no value can be shifted into its neighbour); an absent field counts as empty.
/// A field outside that list, or one given twice, makes the button invalid.
public enum PaymentButton {
    /// Every field a button may carry, in the order they are signed.
    public static let fields = [
        "purchaseref", "amount", "currency", "description", "phone", "language", "text",
        "accept_url", "decline_url", "cancel_url", "expires",
    ]
    public static let signatureField = "signature"

    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownField(String)
        case repeatedField(String)
        case missingSignature
        case badSignature
        case malformedExpiry
        case expired(at: Timestamp)

        public var description: String {
            switch self {
            case .unknownField(let name): "the field \"\(name)\" is not part of a button"
            case .repeatedField(let name): "the field \"\(name)\" is given more than once"
            case .missingSignature: "the signature is missing"
            case .badSignature: "the signature does not match the fields"
            case .malformedExpiry: "expires is not a Unix time"
            case .expired(let time): "the button expired at \(time.iso8601)"
            }
        }
    }

    /// The bytes that are signed.
    public static func canonical(_ values: [String: String]) -> [UInt8] {
        var bytes = Array("cross-button-v1\n".utf8)
        for name in fields {
            let value = values[name] ?? ""
            bytes += Array("\(name):\(value.utf8.count):".utf8) + Array(value.utf8) + [UInt8(ascii: "\n")]
        }
        return bytes
    }

    /// The signature of a button's fields: 64 hex digits.
    public static func sign(_ values: [String: String], secret: String) -> String {
        Array(HMAC<SHA256>.authenticationCode(for: canonical(values), using: SymmetricKey(data: Data(secret.utf8)))).hexString
    }

    /// The button's fields, if its signature is right (checked in constant time) and it has not expired.
    public static func verify(_ form: [(name: String, value: String)], secret: String, now: Timestamp) throws(Refusal) -> [String: String] {
        var values: [String: String] = [:]
        var signature: String?
        for (name, value) in form {
            if name == signatureField {
                guard signature == nil else { throw .repeatedField(name) }
                signature = value
                continue
            }
            guard fields.contains(name) else { throw .unknownField(name) }
            guard values[name] == nil else { throw .repeatedField(name) }
            values[name] = value
        }
        guard let signature, !signature.isEmpty else { throw .missingSignature }
        guard let given = bytes(fromHex: signature), given.count == 32 else { throw .badSignature }
        let valid = HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: canonical(values), using: SymmetricKey(data: Data(secret.utf8)))
        guard valid else { throw .badSignature }
        if let expires = values["expires"], !expires.isEmpty {
            guard expires.utf8.count <= 12, expires.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let seconds = Int64(expires) else { throw .malformedExpiry }
            guard now.seconds <= seconds else { throw .expired(at: Timestamp(seconds: seconds)) }
        }
        return values
    }

    /// A fresh reference for a button that leaves it to Cross (an item sold many times): `BTN-20261126-K3Q9X2M7WD`.
    public static func newReference(at time: Timestamp) -> String {
        let alphabet = Array("ABCDEFGHJKMNPQRSTVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        let suffix = String((0..<10).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
        return "BTN-" + time.iso8601.prefix(10).replacingOccurrences(of: "-", with: "") + "-" + suffix
    }

    private static func bytes(fromHex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hex(digits[index]), let low = hex(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hex(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
