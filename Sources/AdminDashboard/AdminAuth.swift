import Crypto
import CryptoExtras
import FastCGI
import Foundation
import Support

/// HTTP Basic credentials for the dashboard; the password is kept only as a PBKDF2 hash
/// (`pbkdf2-sha256$<rounds>$<salt base64>$<hash base64>`, made by `cross admin hash-password`).
public struct AdminCredentials: Sendable, Equatable {
    public let user: String
    public let passwordHash: String

    public init(user: String, passwordHash: String) {
        self.user = user
        self.passwordHash = passwordHash
    }
}

/// The dashboard's password, kept only as a PBKDF2-SHA256 hash:
/// `pbkdf2-sha256$<rounds>$<salt, base64>$<hash, base64>` (made by `cross admin hash-password`).
public enum AdminPassword {
    /// The rounds a new hash gets: the least swift-crypto's checked PBKDF2 accepts (OWASP's advice for
    /// PBKDF2-HMAC-SHA256 is of that order).
    public static let defaultRounds = 210_000

    /// A new hash of `password` with a 16-byte random salt.
    public static func hash(_ password: String, rounds: Int = defaultRounds, salt: [UInt8]? = nil) -> String {
        let salt = salt ?? SecureRandom.bytes(16)
        let derived = derive(password, salt: salt, rounds: rounds, length: 32)
        return "pbkdf2-sha256$\(rounds)$\(Data(salt).base64EncodedString())$\(Data(derived).base64EncodedString())"
    }

    /// Whether `password` is the one `encoded` was made from. The derived key is compared in constant time;
    /// a malformed `encoded` never matches.
    public static func verify(_ password: String, against encoded: String) -> Bool {
        guard let (rounds, salt, expected) = parse(encoded) else {
            // Still pay for a derivation, so that a wrong configuration does not answer faster.
            _ = derive(password, salt: Array(repeating: 0, count: 16), rounds: defaultRounds, length: 32)
            return false
        }
        let derived = derive(password, salt: salt, rounds: rounds, length: expected.count)
        return !derived.isEmpty && ConstantTime.equal(derived, expected)
    }

    static func parse(_ encoded: String) -> (rounds: Int, salt: [UInt8], hash: [UInt8])? {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]), (1...100_000_000).contains(rounds),
              let salt = Data(base64Encoded: String(parts[2])), let hash = Data(base64Encoded: String(parts[3])),
              (16...64).contains(hash.count) else { return nil }
        return (rounds, Array(salt), Array(hash))
    }

    static func derive(_ password: String, salt: [UInt8], rounds: Int, length: Int) -> [UInt8] {
        // Only the rounds could make the call fail, and the unchecked variant does not check them.
        guard let key = try? KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: length, unsafeUncheckedRounds: rounds)
        else { return [] }
        return key.withUnsafeBytes { Array($0) }
    }
}

/// HTTP Basic authentication in front of the dashboard. A full PBKDF2 is paid once per good credential:
/// a SHA-256 of each `Authorization` header that passed is kept (a handful at most), so that the next page
/// load of the same browser is a hash and a set lookup. A wrong or unknown credential always pays the full
/// PBKDF2, whatever part of it is wrong.
final class AdminGate: Sendable {
    private let passed = Lock<Set<Data>>([])
    private static let remembered = 32

    static let challenge = "Basic realm=\"Cross\""

    enum Outcome: Equatable {
        case allowed
        /// No credential was sent: the browser asks for one.
        case missing
        case refused
    }

    func check(_ authorization: String?, _ credentials: AdminCredentials) -> Outcome {
        guard let authorization, !authorization.isEmpty else { return .missing }
        // The digest covers the configured hash too: a credential remembered under one password is not under another.
        let digest = Data(SHA256.hash(data: Data((credentials.passwordHash + "\n" + authorization).utf8)))
        if passed.withLock({ $0.contains(digest) }) { return .allowed }
        let (user, password) = Self.decode(authorization) ?? ("", "")
        // Both compared in full, the name through digests of equal length; the PBKDF2 runs whatever the name.
        let userMatches = ConstantTime.equal(user, credentials.user)
        let passwordMatches = AdminPassword.verify(password, against: credentials.passwordHash)
        guard userMatches && passwordMatches else { return .refused }
        passed.withLock { set in
            if set.count >= Self.remembered { set.removeAll() }
            set.insert(digest)
        }
        return .allowed
    }

    /// `Basic base64(user:password)` → the user and the password (which may contain colons).
    static func decode(_ header: String) -> (user: String, password: String)? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 6, trimmed.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(trimmed.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The answer that makes a browser ask for the name and password.
    static func unauthorized() -> Response {
        var response = Response.text("The orders dashboard needs a name and a password.\n", status: .unauthorized)
        response.headers.append(("WWW-Authenticate", challenge))
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }
}
