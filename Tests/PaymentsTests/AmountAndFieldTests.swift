import Foundation
import Testing
@testable import Payments

@Suite struct AmountTests {
    @Test("3 to 10 digits, nothing else", arguments: [
        ("100", 100), ("15000", 15000), ("9999999999", 9_999_999_999),
    ])
    func validAmounts(text: String, francs: Int64) {
        #expect(Amount(digits: text)?.francs == francs)
    }

    @Test("refused amounts", arguments: ["", "99", "10000000000", "0100", "15000.00", "15,000", "-100", "+100", "1e5", " 100", "１００", "15 000"])
    func invalidAmounts(text: String) {
        #expect(Amount(digits: text) == nil)
    }

    @Test func formattedInFrenchGroups() {
        #expect(Amount(francs: 15000)!.formatted == "15 000 F CFA")
        #expect(Amount(francs: 100)!.formatted == "100 F CFA")
        #expect(Amount(francs: 1_234_567)!.formatted == "1 234 567 F CFA")
        #expect(Amount(francs: 9_999_999_999)!.formatted == "9 999 999 999 F CFA")
    }

    @Test func neverAFloat() {
        #expect(Amount(francs: 15000)!.digits == "15000")
        #expect(Amount(francs: 99) == nil)
    }
}

@Suite struct FieldTests {
    @Test func purchaseRefBounds() throws {
        #expect(try FieldRule.purchaseRef("a") == "a")
        #expect(try FieldRule.purchaseRef(String(repeating: "x", count: 250)).count == 250)
        #expect(throws: FieldError.self) { try FieldRule.purchaseRef(String(repeating: "x", count: 251)) }
        #expect(throws: FieldError.self) { try FieldRule.purchaseRef("") }
        // 250 × é is 250 characters (500 bytes): allowed.
        #expect(try FieldRule.purchaseRef(String(repeating: "é", count: 250)).unicodeScalars.count == 250)
        #expect(throws: FieldError.self) { try FieldRule.purchaseRef(String(repeating: "é", count: 251)) }
        for odd in ["../../x", "a/b", "CON", "<script>", "a b", "Ω≈ç√"] {
            #expect(try FieldRule.purchaseRef(odd) == odd)
        }
        for control in ["a\nb", "a\rb", "a\u{0}b", "a\u{7F}", "tab\there"] {
            let error = #expect(throws: FieldError.self) { try FieldRule.purchaseRef(control) }
            #expect(error?.field == "purchaseref")
        }
    }

    @Test func phoneBounds() throws {
        #expect(try FieldRule.phone("90000001") == "90000001")
        #expect(try FieldRule.phone("+22890000001") == "+22890000001")
        #expect(try FieldRule.phone("90 00 00 01") == "90000001")
        #expect(try FieldRule.phone("1234567890123456") == "1234567890123456")
        for bad in ["9000001", "12345678901234567", "9000000a", "+", "++22890000001", "90-00-00-0"] {
            #expect(throws: FieldError.self, "\(bad)") { try FieldRule.phone(bad) }
        }
    }

    @Test func textLengths() throws {
        #expect(try FieldRule.brand(String(repeating: "b", count: 150)).count == 150)
        #expect(throws: FieldError.self) { try FieldRule.brand(String(repeating: "b", count: 151)) }
        #expect(throws: FieldError.self) { try FieldRule.brand("   ") }
        #expect(try FieldRule.description(String(repeating: "d", count: 255)).count == 255)
        #expect(throws: FieldError.self) { try FieldRule.description(String(repeating: "d", count: 256)) }
        #expect(try FieldRule.text(String(repeating: "t", count: 250)).count == 250)
        #expect(throws: FieldError.self) { try FieldRule.text(String(repeating: "t", count: 251)) }
    }

    @Test("descriptions are plain text", arguments: ["<b>riz</b>", "<script>alert(1)</script>", "a > b", "x<y", "line\nbreak"])
    func descriptionRefusesHTML(value: String) {
        let error = #expect(throws: FieldError.self) { try FieldRule.description(value) }
        #expect(error?.field == "description")
    }

    // Found by fuzz/ (FuzzFields): `contains("<")` compares Characters, and "<\u{338}" (with a combining long
    // solidus overlay) is one Character, so that a < or > followed by a combining mark passed as plain text.
    @Test("a < or > before a combining mark is still HTML", arguments: ["a<\u{338}b", "a>\u{338}b", "<\u{301}b>\u{301}"])
    func angleBracketsBeforeCombiningMarks(value: String) {
        for validate in [{ try FieldRule.description($0) }, { try FieldRule.text($0) }, { try FieldRule.brand($0) }] as [(String) throws -> String] {
            #expect(throws: FieldError.self) { try validate(value) }
        }
    }

    @Test func languageAndCurrency() throws {
        #expect(try FieldRule.language("fr") == .fr)
        #expect(try FieldRule.language("en") == .en)
        for bad in ["FR", "de", "", "fra"] { #expect(throws: FieldError.self) { try FieldRule.language(bad) } }
        #expect(try FieldRule.currency("952") == "952")
        for bad in ["95", "9520", "XOF", "95a"] { #expect(throws: FieldError.self) { try FieldRule.currency(bad) } }
        #expect(try FieldRule.merchantID("1234567890123456") == "1234567890123456")
        for bad in ["123456789012345", "12345678901234567", "123456789012345a"] {
            #expect(throws: FieldError.self) { try FieldRule.merchantID(bad) }
        }
    }

    @Test func returnURLs() throws {
        let hosts = ["shop.tg", "*.boutique.tg"]
        #expect(try FieldRule.returnURL("https://shop.tg/merci", allowedHosts: hosts, field: "accept_url") == "https://shop.tg/merci")
        #expect(try FieldRule.returnURL("http://SHOP.tg/x?y=1", allowedHosts: hosts, field: "accept_url").hasPrefix("http://"))
        #expect(try FieldRule.returnURL("https://www.boutique.tg/", allowedHosts: hosts, field: "accept_url").contains("boutique"))
        let url150 = "https://shop.tg/" + String(repeating: "a", count: 150 - 16)
        #expect(url150.count == 150)
        #expect(try FieldRule.returnURL(url150, allowedHosts: hosts, field: "accept_url") == url150)
        let attacks = [
            url150 + "a",
            "https://evil.com/",
            "https://shop.tg.evil.com/",
            "https://boutique.tg.evil.com/",
            "https://evilboutique.tg/",
            "javascript:alert(1)",
            "//evil.com/x",
            "https://user:pass@shop.tg/",
            "https://shop.tg@evil.com/",
            "https:\\\\evil.com",
            "https://shop.tg/ x",
            "ftp://shop.tg/",
            "data:text/html,hi",
        ]
        for attack in attacks {
            let error = #expect(throws: FieldError.self, "\(attack)") { try FieldRule.returnURL(attack, allowedHosts: hosts, field: "accept_url") }
            #expect(error?.field == "accept_url")
        }
    }
}

@Suite struct OrderFieldsTests {
    @Test func everyFailureAtOnce() {
        let fields = OrderFields(
            purchaseref: "", amount: "15000.5", currency: "978", language: "de",
            details: ["description": "<b>x</b>", "phone": "12", "text": String(repeating: "t", count: 300), "accept_url": "https://evil.com"])
        let errors = #expect(throws: ValidationErrors.self) { try fields.validate(Fixtures.policy) }
        #expect(Set(errors?.fields ?? []) == ["purchaseref", "amount", "currency", "description", "phone", "language", "text", "accept_url"])
    }

    @Test func defaultsFromThePolicy() throws {
        let order = try OrderFields(purchaseref: "A1", amount: "15000").validate(Fixtures.policy)
        #expect(order.currency == "952")
        #expect(order.brand == "Boutique Démo")
        #expect(order.language == .fr)
        #expect(order.details.acceptURL == "https://shop.tg/merci")
        #expect(order.details.description == nil && order.details.phone == nil && order.details.text == nil)
    }

    @Test func emptyOptionalFieldsAreAbsent() throws {
        let order = try OrderFields(purchaseref: "A1", amount: "15000", language: "", details: ["description": "", "phone": "", "text": ""]).validate(Fixtures.policy)
        #expect(order.details.description == nil && order.details.phone == nil && order.details.text == nil && order.language == .fr)
    }

    @Test func everyOptionalFieldHasARuleAndARoundTrip() throws {
        // The one list of optional fields: each is read from the API's JSON, checked, kept and written back.
        #expect(OrderDetails.fields.map(\.name) == OrderDetails.fields.map(\.name).sorted(), "listed in the order their names sort")
        for field in OrderDetails.fields {
            let value = field.name.hasSuffix("_url") ? "https://shop.tg/" + field.name : field.name == "phone" ? "90000001" : "A " + field.name
            let order = try OrderFields(purchaseref: "A1", amount: "15000", details: [field.name: value]).validate(Fixtures.policy)
            #expect(order.details[keyPath: field.keyPath] == value, "\(field.name)")
            let json = try JSONEncoder().encode(order.details)
            #expect(try JSONDecoder().decode(OrderDetails.self, from: json) == order.details, "\(field.name)")
        }
    }

    @Test func missingRequiredFields() {
        let errors = #expect(throws: ValidationErrors.self) { try OrderFields().validate(Fixtures.policy) }
        #expect(errors?.fields == ["purchaseref", "amount"])
    }
}
