import Support

extension TMoneyOnline {
    /// The session id TMoney hands the merchant's server (`OK:27875690759565722269644474422394`), to send in the
    /// order form. Letters and digits only, 8 to 64 of them: anything else in an answer is not a session id.
    public struct SessionID: Sendable, Hashable, CustomStringConvertible {
        public let value: String

        public init?(_ value: String) {
            guard (8...64).contains(value.utf8.count), value.utf8.allSatisfy({
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
            }) else { return nil }
            self.value = value
        }

        /// For logs: a session id is a bearer credential for the shopper's payment, so only its ends are shown.
        public var redacted: String { Redaction.ends(value) }
        public var description: String { redacted }
    }

    /// TMoney's answer to a session id request, read strictly: only `OK:<id>` is a session id.
    public enum SessionAnswer: Sendable, Equatable {
        case session(SessionID)
        /// `NOK:<CODE>`, such as `NOK:UNKNOWN_MERCHANT`.
        case refused(code: String)
        /// Anything else: an HTML error page, an empty body, a truncated answer.
        case unrecognized(excerpt: String)

        public static func parse(_ body: String) -> SessionAnswer {
            // Read as bytes: a Swift string counts "\r\n" as one character, and compares by canonical equivalence
            // (so that "O\u{212A}:", with a Kelvin sign, would have the prefix "OK:").
            // A trailing line break (`\n` or `\r\n`) is tolerated; anything else around the answer is not.
            var line = Array(body.utf8)
            if line.last == UInt8(ascii: "\n") {
                line.removeLast()
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
            }
            if line.starts(with: "OK:".utf8), let id = SessionID(String(decoding: line.dropFirst(3), as: UTF8.self)) {
                return .session(id)
            }
            if line.starts(with: "NOK:".utf8) {
                let code = line.dropFirst(4)
                if !code.isEmpty, code.count <= 64, code.allSatisfy({
                    ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_")
                }) {
                    return .refused(code: String(decoding: code, as: UTF8.self))
                }
            }
            let text = String(decoding: line, as: UTF8.self)
            let printable = String(text.unicodeScalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
            return .unrecognized(excerpt: printable)
        }
    }
}
