import Support

/// Decoding of `application/x-www-form-urlencoded` text: query strings, form bodies and path segments.
///
/// Strict on purpose: a payment system must not guess what a malformed escape meant, so a `%` not followed
/// by two hex digits, or bytes that are not UTF-8 once decoded, are errors the caller turns into a 400.
public enum URLEncoding {
    public struct DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Reason: Equatable, Sendable {
            case malformedEscape
            case invalidUTF8
        }
        public let reason: Reason
        /// The raw text that failed, for the error message (never logged as a whole: it may hold personal data).
        public let input: String

        public var description: String {
            switch reason {
            case .malformedEscape: "malformed percent escape in \"\(input.prefix(64))\""
            case .invalidUTF8: "text is not valid UTF-8 once decoded: \"\(input.prefix(64))\""
            }
        }
    }

    /// Decodes `%XX` escapes, and `+` as a space when `plusIsSpace` (query strings and forms, not paths).
    public static func decode(_ text: Substring, plusIsSpace: Bool) throws(DecodingError) -> String {
        let utf8 = text.utf8
        // Fast path: nothing to decode.
        if !PercentEncoding.needsDecoding(utf8, plusIsSpace: plusIsSpace) { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        guard PercentEncoding.decode(utf8, plusIsSpace: plusIsSpace, into: &bytes) else {
            throw DecodingError(reason: .malformedEscape, input: String(text))
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw DecodingError(reason: .invalidUTF8, input: String(text))
        }
        return decoded
    }

    /// Parses `a=1&b=2&a=3` into ordered pairs; repeated names are kept, empty pieces (`a=1&&b=2`) skipped,
    /// a piece without `=` is a name with an empty value.
    public static func parseForm(_ text: Substring) throws(DecodingError) -> Parameters {
        var pairs: [(name: String, value: String)] = []
        // Split on the bytes `&` and `=`, not on Characters: an `&` or `=` followed by a combining mark
        // (`&\u{301}`) is one Character, which a Character split would not cut.
        for piece in text.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let equals = piece.firstIndex(of: UInt8(ascii: "=")) {
                let name = try decode(Substring(piece[..<equals]), plusIsSpace: true)
                let value = try decode(Substring(piece[piece.index(after: equals)...]), plusIsSpace: true)
                pairs.append((name, value))
            } else {
                pairs.append((try decode(Substring(piece), plusIsSpace: true), ""))
            }
        }
        return Parameters(pairs)
    }

    /// Encodes a value for a query string or form body: everything but unreserved characters is escaped,
    /// spaces as `+` (the form encoding TMoney's `cname` uses).
    public static func encodeFormValue(_ value: String) -> String { PercentEncoding.encode(value, spaceAsPlus: true) }

    /// Encodes one path segment: like a form value, but a space is `%20` (a `+` in a path is a plus).
    public static func encodePathSegment(_ value: String) -> String { PercentEncoding.encode(value, spaceAsPlus: false) }

    /// `name=value&...` from ordered pairs.
    public static func encodeForm(_ pairs: [(String, String)]) -> String {
        pairs.map { encodeFormValue($0.0) + "=" + encodeFormValue($0.1) }.joined(separator: "&")
    }
}

/// Ordered name/value pairs from a query string or a form body. Names may repeat.
public struct Parameters: Sendable, Equatable {
    public private(set) var pairs: [(name: String, value: String)]

    public init(_ pairs: [(name: String, value: String)] = []) {
        self.pairs = pairs
    }

    /// The first value given for `name`.
    public subscript(name: String) -> String? {
        pairs.first(where: { $0.name == name })?.value
    }

    /// Every value given for `name`, in order.
    public func all(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    /// How many times `name` appears.
    public func count(of name: String) -> Int {
        pairs.reduce(0) { $0 + ($1.name == name ? 1 : 0) }
    }

    public var names: [String] { pairs.map(\.name) }
    public var isEmpty: Bool { pairs.isEmpty }

    public static func == (lhs: Parameters, rhs: Parameters) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs, by: { $0.name == $1.name && $0.value == $1.value })
    }
}
