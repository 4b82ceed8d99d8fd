// Payments.PhoneNumber: a number as a shopper or a merchant types it (the checkout's field, the API's `phone`).
//
// Input: the text typed (bytes that are not UTF-8 become U+FFFD).
//
// Invariants:
// - a number read is 8 ASCII digits, and reads back as itself from each of its written forms (`national`,
//   `international`, `+228 …` as displayed);
// - `mobile` succeeds only for a number with a suggested operator, and only for inputs of at most 40 bytes;
// - the suggested operator follows the first two digits: TMoney 70–73, 90–93; Flooz 78, 79, 96–99; else none.
import FuzzSupport
import Payments

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPhoneNumber(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let typed = text(data, count)
    guard let number = PhoneNumber(typed) else {
        invariant((try? PhoneNumber.mobile(typed)) == nil, "mobile() took \(show(typed)), which is no number")
        return 0
    }
    note("\(number.national)")
    invariant(number.national.utf8.count == 8 && number.national.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "national \(show(number.national))")
    for form in [number.national, number.international, number.displayed, "+" + number.international, "00" + number.international] {
        invariant(PhoneNumber(form) == number, "\(show(form)) does not read back as \(number.national)")
    }
    let prefix = String(number.national.prefix(2))
    let expected: Operator? = ["70", "71", "72", "73", "90", "91", "92", "93"].contains(prefix) ? .tmoney
        : ["78", "79", "96", "97", "98", "99"].contains(prefix) ? .flooz : nil
    invariant(number.suggestedOperator == expected, "\(number.national) suggests \(String(describing: number.suggestedOperator))")
    let mobile = try? PhoneNumber.mobile(typed)
    invariant((mobile != nil) == (expected != nil && typed.utf8.count <= 40), "mobile(\(show(typed))) is \(String(describing: mobile))")
    return 0
}
