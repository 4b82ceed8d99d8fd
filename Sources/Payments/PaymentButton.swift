import Crypto
import Foundation
import Support

/// A payment button a merchant pastes into any page: a form that posts an order's fields to Cross's
/// `/checkout`, with an HMAC-SHA256 signature made with the merchant's button secret, so that nobody can
/// change the amount, the reference or any other field on the way.
///
/// The signature covers every field a button may carry, in a fixed order, each as `name:length:value`
/// (lengths in bytes, so that no value can be shifted into its neighbour); an absent field counts as empty.
/// A field outside that list, or one given twice, makes the button invalid.
public enum PaymentButton {
    /// The fields of the first buttons, in the order they are signed; absent ones count as empty. Fixed: buttons
    /// already pasted on merchants' pages must keep verifying.
    static let signedAlways = [
        "purchaseref", "amount", "currency", "description", "phone", "language", "text",
        "accept_url", "decline_url", "cancel_url", "expires",
    ]

    /// Every field a button may carry: the first ones, then any order detail added since (signed only when set).
    public static let fields = signedAlways + OrderDetails.fields.map(\.name).filter { !signedAlways.contains($0) }
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
            if value.isEmpty && !signedAlways.contains(name) { continue }
            bytes += Array("\(name):\(value.utf8.count):".utf8) + Array(value.utf8) + [UInt8(ascii: "\n")]
        }
        return bytes
    }

    /// The signature of a button's fields: 64 hex digits.
    public static func sign(_ values: [String: String], secret: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: canonical(values), using: SymmetricKey(data: Data(secret.utf8))))
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
        guard let given = Hex.decode(signature), given.count == 32 else { throw .badSignature }
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
        let suffix = SecureRandom.string(10, from: "ABCDEFGHJKMNPQRSTVWXYZ23456789")
        return "BTN-" + time.iso8601.prefix(10).replacingOccurrences(of: "-", with: "") + "-" + suffix
    }

    /// What a button without a reference of its own leads to before any order is written: its checked fields and
    /// a fresh reference, sealed with Cross's link secret into the link of a page that offers to pay. The order is
    /// made only when the shopper presses pay on it; the same link always makes the same order.
    public struct Offer: Sendable, Equatable {
        public let values: [String: String]
        /// `BTN-20261126-K3Q9X2M7WD`: made when the button was posted.
        public let reference: String

        public init(values: [String: String], reference: String) {
            self.values = values
            self.reference = reference
        }

        /// `<payload, base64url>.<MAC, 32 hex>`.
        public func seal(secret: String) -> String {
            var fields = values
            fields["purchaseref"] = reference
            // Sorted keys: the same offer always seals to the same bytes.
            let json = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
            let payload = json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            return payload + "." + Self.mac(payload, secret: secret)
        }

        /// The offer a link names, if its MAC is right (in constant time) and its button has not expired.
        public static func open(_ token: String, secret: String, now: Timestamp) -> Offer? {
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].utf8.count <= 8192, ConstantTime.equal(mac(String(parts[0]), secret: secret), String(parts[1])) else {
                return nil
            }
            var base64 = parts[0].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.utf8.count % 4 != 0 { base64 += "=" }
            guard let json = Data(base64Encoded: base64),
                  var values = (try? JSONSerialization.jsonObject(with: json)) as? [String: String],
                  let reference = values.removeValue(forKey: "purchaseref") else { return nil }
            if let expires = values["expires"], let seconds = Int64(expires), now.seconds > seconds { return nil }
            return Offer(values: values, reference: reference)
        }

        private static func mac(_ payload: String, secret: String) -> String {
            String(Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(("cross-button-offer-v1\n" + payload).utf8), using: SymmetricKey(data: Data(secret.utf8)))).prefix(32))
        }
    }
}
