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
    /// The rounds a new hash gets: OWASP's advice for PBKDF2-HMAC-SHA256 (2023: 600,000). A hash of fewer rounds
    /// still verifies, and is replaced by one of these at its next good sign-in (`AdminGate`).
    public static let defaultRounds = 600_000

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

    /// The rounds a hash was made with, if it is one.
    public static func rounds(of encoded: String) -> Int? { parse(encoded)?.rounds }

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
/// PBKDF2, whatever part of it is wrong, but within bounds: at most `hashesAtOnce` run at once (the workers
/// TMoney's notifications need are never all hashing), and past `failuresPerClient` failures a minute from one
/// address, or `failuresInAll` from all of them, a sign-in is refused with 429 before any hashing.
final class AdminGate: Sendable {
    private let passed = Lock<Set<Data>>([])
    private static let remembered = 32
    static let failuresPerClient = 5
    static let failuresInAll = 30
    static let hashesAtOnce = 2
    private let hashing = Slots(AdminGate.hashesAtOnce)
    private let failures = Lock<(minute: Int64, byClient: [String: Int], total: Int)>((0, [:], 0))
    /// Where a hash made anew with today's rounds is kept, next to the configured one it replaces.
    private let upgradePath: String?
    private let upgraded: Lock<Upgrade?>

    /// A configured hash of fewer rounds than `AdminPassword.defaultRounds`, and the one made for it at a good
    /// sign-in: used while the configuration still names the old one.
    struct Upgrade: Codable, Equatable {
        let replaces: String
        let hash: String
    }

    static let challenge = "Basic realm=\"Cross\""

    init(upgradePath: String? = nil) {
        self.upgradePath = upgradePath
        let saved = upgradePath.flatMap { FileManager.default.contents(atPath: $0) }.flatMap { try? JSONDecoder().decode(Upgrade.self, from: $0) }
        upgraded = Lock(saved)
    }

    enum Outcome: Equatable {
        case allowed
        /// No credential was sent: the browser asks for one.
        case missing
        case refused
        /// Too many failures this minute (from this address, or in all): refused without hashing.
        case tooManyFailures
        /// Every place for a password hash is taken: try again in a moment.
        case busy
    }

    func check(_ authorization: String?, _ credentials: AdminCredentials, from remote: String = "", at seconds: Int64 = Int64(time(nil))) -> Outcome {
        guard let authorization, !authorization.isEmpty else { return .missing }
        let configured = credentials.passwordHash
        let hash = upgraded.withLock { $0?.replaces == configured ? $0?.hash : nil } ?? configured
        // The digest covers the hash too: a credential remembered under one password is not under another.
        let digest = Data(SHA256.hash(data: Data((hash + "\n" + authorization).utf8)))
        if passed.withLock({ $0.contains(digest) }) { return .allowed }
        guard !failedTooOften(remote, at: seconds) else { return .tooManyFailures }
        let (user, password) = Self.decode(authorization) ?? ("", "")
        // Both compared in full; the PBKDF2 runs whatever the name.
        let userMatches = ConstantTime.equal(user, credentials.user)
        guard let passwordMatches = hashing.ifFree({ AdminPassword.verify(password, against: hash) }) else { return .busy }
        guard userMatches && passwordMatches else {
            countFailure(remote, at: seconds)
            return .refused
        }
        passed.withLock { set in
            if set.count >= Self.remembered { set.removeAll() }
            set.insert(digest)
        }
        if hash == configured, (AdminPassword.rounds(of: hash) ?? 0) < AdminPassword.defaultRounds { upgrade(configured, password) }
        return .allowed
    }

    private func failedTooOften(_ remote: String, at seconds: Int64) -> Bool {
        failures.withLock { failures in
            if failures.minute != seconds / 60 { failures = (seconds / 60, [:], 0) }
            return failures.total >= Self.failuresInAll || failures.byClient[remote, default: 0] >= Self.failuresPerClient
        }
    }

    private func countFailure(_ remote: String, at seconds: Int64) {
        failures.withLock { failures in
            if failures.minute != seconds / 60 { failures = (seconds / 60, [:], 0) }
            failures.total += 1
            // Bounded: a flood from many addresses is stopped by the total first.
            if failures.byClient.count < 10_000 || failures.byClient[remote] != nil { failures.byClient[remote, default: 0] += 1 }
        }
    }

    /// Makes a hash of today's rounds for the password just proved, and keeps it beside the configured one.
    private func upgrade(_ configured: String, _ password: String) {
        let upgrade = Upgrade(replaces: configured, hash: AdminPassword.hash(password))
        upgraded.withLock { $0 = upgrade }
        guard let upgradePath, let bytes = try? JSONEncoder().encode(upgrade) else { return }
        let temporary = upgradePath + ".tmp"
        try? FileManager.default.createDirectory(atPath: (upgradePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: temporary, contents: bytes, attributes: [.posixPermissions: 0o600])
        _ = rename(temporary, upgradePath)
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

    /// Too many failed sign-ins, or no place to check one: try again later.
    static func later(_ outcome: Outcome) -> Response {
        let tooMany = outcome == .tooManyFailures
        var response = Response.text(
            tooMany ? "Too many failed sign-ins: wait a minute before trying again.\n" : "The dashboard is busy checking passwords: try again in a moment.\n",
            status: tooMany ? .tooManyRequests : .serviceUnavailable)
        response.headers.append(("Retry-After", tooMany ? "60" : "2"))
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }
}
