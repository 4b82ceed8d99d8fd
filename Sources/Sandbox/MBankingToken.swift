import Crypto
import Foundation
import Support

/// MBANKING's access token: a JWT (RFC 7519) signed with HS256 under the sandbox's `jwt_secret`, as a partner's
/// client receives it at login and sends it with every later call. The sandbox checks all of it: the header
/// must say HS256 (a token that says `none` is no token), the signature must match (compared in constant
/// time), and `exp` must lie ahead.
struct MBankingToken: Sendable, Equatable {
    /// The partner's user name.
    let subject: String
    let issuedAt: Int64
    let expiresAt: Int64
    /// A random id, so that two tokens issued in the same second differ.
    let id: String

    enum Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        case missing
        /// Not three base64url parts of JSON, or a header that is not HS256's.
        case malformed
        case badSignature
        case expired

        var description: String {
            switch self {
            case .missing: "no token"
            case .malformed: "malformed token"
            case .badSignature: "bad signature"
            case .expired: "expired token"
            }
        }
    }

    static let header = #"{"alg":"HS256","typ":"JWT"}"#

    /// `header.payload.signature`, each base64url without padding.
    func signed(with secret: [UInt8]) -> String {
        let claims: [String: Any] = ["sub": subject, "iat": issuedAt, "exp": expiresAt, "jti": id]
        let payload = (try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data()
        let input = Self.base64URL(Array(Self.header.utf8)) + "." + Self.base64URL(Array(payload))
        return input + "." + Self.base64URL(Self.mac(input, secret))
    }

    /// The token in `text`, if it is one the sandbox signed and it has not expired at `now`.
    static func verify(_ text: String, secret: [UInt8], now: Int64) -> Result<MBankingToken, Rejection> {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = decodeBase64URL(parts[2]) else { return .failure(.malformed) }
        guard ConstantTime.equal(mac(parts[0] + "." + parts[1], secret), signature) else { return .failure(.badSignature) }
        guard let headerBytes = decodeBase64URL(parts[0]),
              let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
              header["alg"] as? String == "HS256",
              let payloadBytes = decodeBase64URL(parts[1]),
              let claims = try? JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any],
              let subject = claims["sub"] as? String, let id = claims["jti"] as? String,
              let issuedAt = (claims["iat"] as? NSNumber)?.int64Value, let expiresAt = (claims["exp"] as? NSNumber)?.int64Value
        else { return .failure(.malformed) }
        guard now < expiresAt else { return .failure(.expired) }
        return .success(MBankingToken(subject: subject, issuedAt: issuedAt, expiresAt: expiresAt, id: id))
    }

    /// The token of an `Authorization` header: `Bearer <token>`, or the bare token (one public client sends it so).
    static func fromAuthorization(_ header: String?) -> String? {
        guard var value = header?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.lowercased().hasPrefix("bearer ") { value = String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        return value.isEmpty ? nil : value
    }

    /// What the log may show of a token: its last 6 characters.
    static func redacted(_ token: String) -> String { "…" + token.suffix(6) }

    private static func mac(_ input: some StringProtocol, _ secret: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }

    static func decodeBase64URL(_ text: some StringProtocol) -> [UInt8]? {
        guard text.utf8.allSatisfy({ byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }) else { return nil }
        var standard = String(text).replacing("-", with: "+").replacing("_", with: "/")
        guard standard.utf8.count % 4 != 1 else { return nil }
        while standard.utf8.count % 4 != 0 { standard += "=" }
        guard let bytes = Data(base64Encoded: standard).map(Array.init) else { return nil }
        // Only the one canonical spelling: a last character that differs in its unused bits decodes to the same
        // bytes, and would let an altered signature pass (found by a test that flipped it, one time in sixteen).
        return base64URL(bytes) == String(text) ? bytes : nil
    }
}
