/// `%XX` escapes, byte by byte: URLs, form bodies and the order index's purchaserefs. The one encoder and
/// decoder of the project; `FastCGI.URLEncoding` builds query strings and forms on them.
public enum PercentEncoding {
    /// Decodes `%XX` (either case), and `+` as a space when `plusIsSpace`; false for a `%` that is not followed
    /// by two hex digits. Appends to `out`.
    public static func decode<Bytes: Collection>(_ bytes: Bytes, plusIsSpace: Bool, into out: inout [UInt8]) -> Bool where Bytes.Element == UInt8 {
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                guard first != bytes.endIndex, let high = Hex.value(bytes[first]) else { return false }
                let second = bytes.index(after: first)
                guard second != bytes.endIndex, let low = Hex.value(bytes[second]) else { return false }
                out.append(high << 4 | low)
                index = bytes.index(after: second)
            } else {
                out.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index = bytes.index(after: index)
            }
        }
        return true
    }

    /// Whether any byte needs decoding (a `%`, or a `+` when it means a space).
    public static func needsDecoding(_ bytes: some Sequence<UInt8>, plusIsSpace: Bool) -> Bool {
        bytes.contains { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }
    }

    /// Everything but the unreserved characters (letters, digits, `-_.~`) as `%XX` (uppercase); a space as `+`
    /// when `spaceAsPlus` (forms and query strings), else as `%20` (paths).
    public static func encode(_ value: String, spaceAsPlus: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: " ") where spaceAsPlus:
                out.append(UInt8(ascii: "+"))
            default:
                out.append(UInt8(ascii: "%"))
                Hex.append(byte, to: &out, uppercase: true)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
