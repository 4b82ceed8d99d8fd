/// Secrets made by Cross and its sandbox: salts, references, session ids, SMS codes, the keys of payments in
/// progress. The system generator is cryptographically secure on every platform Swift runs on (getrandom on
/// Linux), so none of them can be guessed from the ones seen before.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// `count` characters, each drawn uniformly from `alphabet`.
    public static func string(_ count: Int, from alphabet: String) -> String {
        let characters = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in characters[Int(generator.next(upperBound: UInt32(characters.count)))] })
    }

    /// `count` decimal digits (a session id is 32 of them, an SMS code 6).
    public static func digits(_ count: Int) -> String { string(count, from: "0123456789") }

    /// `bytes` random bytes as lowercase hex: 16 bytes make a 128-bit key.
    public static func hex(bytes count: Int) -> String { Hex.encode(bytes(count)) }
}
