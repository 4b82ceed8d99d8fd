import Foundation

/// Numbers as Foundation's JSON reader gives them, read for money: whole numbers only, never a boolean (Foundation
/// gives `true` as an NSNumber of 1, and on Linux a JSON 0 or 1 is also `as? Bool`; a boolean's objCType is "c").
public enum JSONNumber {
    public static func isBoolean(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    /// A JSON whole number below 10^15 (not a boolean, not a fraction, not a string).
    public static func whole(_ value: Any?) -> Int64? {
        guard let number = value as? NSNumber, !(value is String), !isBoolean(number) else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 1e15 else { return nil }
        return number.int64Value
    }

    /// A whole number as operators write it: a JSON whole number, or a string of 1 to 15 digits.
    public static func wholeOrDigits(_ value: Any?) -> Int64? {
        if let string = value as? String {
            guard !string.isEmpty, string.utf8.count <= 15, string.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int64(string)
        }
        return whole(value)
    }
}

/// JSON objects as operators' wire formats read and write them, in one place for every operator's module.
public enum JSONValue {
    /// The body as a JSON object, or nil for anything else.
    public static func object(_ body: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// The object's JSON, keys sorted, slashes as they are.
    public static func bytes(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }

    /// A code or a reference, whether the operator wrote it as a string or a number.
    public static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String: string
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }
}
