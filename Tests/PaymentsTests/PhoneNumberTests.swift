import Testing
import Payments

/// Togolese numbers in every usual written form, the operator each range suggests, and what is refused.
@Suite struct PhoneNumberTests {
    @Test("written forms", arguments: [
        "90000001", "90 00 00 01", "+228 90 00 00 01", "+22890000001", "22890000001", "0022890000001", "228-90-00-00-01",
        "90.00.00.01", "(+228) 90 00 00 01", "\u{A0}90\u{A0}00 00 01",
    ])
    func writtenForms(_ text: String) throws {
        let number = try #require(PhoneNumber(text))
        #expect(number.national == "90000001")
        #expect(number.international == "22890000001")
        #expect(number.displayed == "+228 90 00 00 01")
    }

    @Test("ranges", arguments: [
        ("70", Operator.tmoney), ("71", .tmoney), ("72", .tmoney), ("73", .tmoney), ("90", .tmoney), ("91", .tmoney), ("92", .tmoney),
        ("93", .tmoney), ("78", .flooz), ("79", .flooz), ("96", .flooz), ("97", .flooz), ("98", .flooz), ("99", .flooz),
    ])
    func ranges(prefix: String, expected: Operator) throws {
        #expect(try PhoneNumber.mobile(prefix + "123456").suggestedOperator == expected)
    }

    @Test("no operator's range", arguments: ["74123456", "75123456", "76123456", "77123456", "94123456", "95123456", "22123456", "00009001"])
    func noOperator(_ text: String) {
        #expect(PhoneNumber(text) != nil)
        #expect(throws: PhoneNumber.Problem.noMobileOperator) { try PhoneNumber.mobile(text) }
    }

    @Test("not a Togolese number", arguments: [
        "", "9000", "9000000", "900000011", "abcdefgh", "9000000a", "+33 6 12 34 56 78", "+229 90000001", "002290000001", "+2289000000",
        String(repeating: "9", count: 41), "٩٠٠٠٠٠٠١",
    ])
    func notTogolese(_ text: String) {
        #expect(PhoneNumber(text) == nil)
        #expect(throws: PhoneNumber.Problem.notTogolese) { try PhoneNumber.mobile(text) }
    }
}
