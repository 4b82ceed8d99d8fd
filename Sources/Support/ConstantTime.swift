import Crypto

/// Comparisons of secrets (API keys, MACs, signatures, password hashes) whose time does not tell an attacker how
/// much of a guess was right. Both sides are hashed, and the digests compared by swift-crypto's own
/// constant-time `==`: the time depends only on the lengths, and a length that differs leaks nothing either.
public enum ConstantTime {
    public static func equal(_ a: some Sequence<UInt8>, _ b: some Sequence<UInt8>) -> Bool {
        SHA256.hash(data: Array(a)) == SHA256.hash(data: Array(b))
    }

    public static func equal(_ a: String, _ b: String) -> Bool { equal(a.utf8, b.utf8) }
}
