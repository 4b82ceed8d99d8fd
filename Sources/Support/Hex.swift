/// Hexadecimal digits, lowercase unless asked otherwise: order keys, MACs, random ids, `\u` escapes in JSON,
/// `%XX` in URLs. The one encoder and decoder of the project.
public enum Hex {
    private static let lower: [UInt8] = Array("0123456789abcdef".utf8)
    private static let upper: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The digit of a value 0...15.
    @inline(__always)
    public static func digit(_ value: UInt8, uppercase: Bool = false) -> UInt8 {
        uppercase ? upper[Int(value & 0x0F)] : lower[Int(value & 0x0F)]
    }

    /// Two digits per byte, high nibble first.
    public static func append(_ byte: UInt8, to out: inout [UInt8], uppercase: Bool = false) {
        out.append(digit(byte >> 4, uppercase: uppercase))
        out.append(digit(byte, uppercase: uppercase))
    }

    public static func encode<Bytes: Sequence>(_ bytes: Bytes, uppercase: Bool = false) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes { append(byte, to: &out, uppercase: uppercase) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` as 16 digits (an order key is two of them).
    public static func encode(_ value: UInt64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for shift in stride(from: 60, through: 0, by: -4) { out.append(digit(UInt8(truncatingIfNeeded: value >> UInt64(shift)))) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of a digit in either case, or nil.
    @inline(__always)
    public static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The bytes an even number of digits (either case) stand for, or nil.
    public static func decode<Digits: Collection>(_ text: Digits) -> [UInt8]? where Digits.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var index = text.startIndex
        while index != text.endIndex {
            let next = text.index(after: index)
            guard let high = value(text[index]), let low = value(text[next]) else { return nil }
            bytes.append(high << 4 | low)
            index = text.index(after: next)
        }
        return bytes
    }

    public static func decode(_ text: String) -> [UInt8]? { decode(text.utf8) }

    /// Whether `text` is exactly `count` lowercase digits (how order keys and event ids are written).
    public static func isLowercase(_ text: some Collection<UInt8>, count: Int) -> Bool {
        text.count == count && text.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }

    /// A number written as 16 lowercase digits, or nil.
    public static func uint64<Digits: Collection>(_ text: Digits) -> UInt64? where Digits.Element == UInt8 {
        guard text.count == 16 else { return nil }
        var result: UInt64 = 0
        for digit in text {
            guard digit &- UInt8(ascii: "0") < 10 || digit &- UInt8(ascii: "a") < 6, let value = value(digit) else { return nil }
            result = result << 4 | UInt64(value)
        }
        return result
    }
}
