/// Secrets the sandbox hands out: session ids, SMS codes, the keys of payments in progress. The system
/// generator is a cryptographically secure one on every platform Swift runs on (getrandom on Linux), so none
/// of them can be guessed from the ones seen before.
enum SecureRandom {
    /// `count` decimal digits, each uniformly drawn (a session id is 32 of them, an SMS code 6).
    static func digits(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in Character(String(UInt8.random(in: 0...9, using: &generator))) })
    }

    /// `bytes` random bytes as lowercase hex: 16 bytes make a 128-bit key.
    static func hex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var out = ""
        for _ in 0..<bytes {
            let byte = UInt8.random(in: 0...255, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }
}
