import FastCGI
import Foundation
import Payments
import Testing
@testable import Sandbox

/// `POST /online/online.php`: every field of the spec's table, at its bounds and just past them.
@Suite struct OrderFormTests {
    static let url150 = "https://shop.test/" + String(repeating: "a", count: 132)

    /// Posts a form with `changes` and expects a 400 page naming `field`, with nothing opened nor notified.
    func expectRefused(_ changes: [String: String?], field: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let harness = try Harness()
        let session = harness.session()
        let (page, key) = harness.open(changes, session: session)
        #expect(page.status == .badRequest, "\(changes)", sourceLocation: sourceLocation)
        #expect(Harness.text(page).contains("<code>\(field)</code>"), "\(changes) should name \(field)", sourceLocation: sourceLocation)
        #expect(key.isEmpty, sourceLocation: sourceLocation)
        #expect(harness.sandbox.snapshot().transactions.isEmpty, sourceLocation: sourceLocation)
        #expect(harness.plans.isEmpty, "no notification for a form TMoney refuses", sourceLocation: sourceLocation)
        // The session id was not used up: the merchant's corrected form still gets through.
        #expect(harness.open(session: session).page.status == .ok, sourceLocation: sourceLocation)
    }

    func expectAccepted(_ changes: [String: String?], sourceLocation: SourceLocation = #_sourceLocation) throws -> Transaction? {
        let harness = try Harness()
        let (page, key) = harness.open(changes)
        #expect(page.status == .ok, "\(changes): \(Harness.text(page))", sourceLocation: sourceLocation)
        return harness.sandbox.snapshot().transactions[key]
    }

    @Test func requiredFields() throws {
        for field in ["sessionid", "merchantid", "amount", "currency", "purchaseref", "brand"] {
            try expectRefused([field: nil], field: field)
        }
        for field in ["sessionid", "merchantid", "amount", "currency", "purchaseref"] {
            try expectRefused([field: ""], field: field)
        }
    }

    @Test func merchantID() throws {
        try expectRefused(["merchantid": "200000000000001"], field: "merchantid")
        try expectRefused(["merchantid": "20000000000000011"], field: "merchantid")
        try expectRefused(["merchantid": "2000000000000009"], field: "merchantid")
    }

    @Test func amountIs3To10Digits() throws {
        #expect(try expectAccepted(["amount": "100"])?.order.amount.francs == 100)
        #expect(try expectAccepted(["amount": "9999999999"])?.order.amount.francs == 9_999_999_999)
        for amount in ["99", "10000000000", "0100", "15000.00", "15 000", "-150", "1e5"] {
            try expectRefused(["amount": amount], field: "amount")
        }
    }

    @Test func currencyIs3Digits() throws {
        #expect(try expectAccepted(["currency": "952"])?.order.currency == "952")
        for currency in ["95", "9520", "XOF"] { try expectRefused(["currency": currency], field: "currency") }
    }

    @Test func purchaseRefIs1To250Characters() throws {
        #expect(try expectAccepted(["purchaseref": "A"]) != nil)
        #expect(try expectAccepted(["purchaseref": String(repeating: "é", count: 250)]) != nil)
        try expectRefused(["purchaseref": String(repeating: "é", count: 251)], field: "purchaseref")
        try expectRefused(["purchaseref": "CMD\n1"], field: "purchaseref")
    }

    @Test func phoneIs8To16UnderEitherSpelling() throws {
        #expect(try expectAccepted(["phonenumber": "90000001"])?.order.phone == "90000001")
        #expect(try expectAccepted(["phonennumber": "+228900000010000"])?.order.phone == "+228900000010000")
        #expect(try expectAccepted(["phonenumber": "90000001", "phonennumber": "90000001"])?.order.phone == "90000001")
        try expectRefused(["phonenumber": "9000000"], field: "phonenumber")
        try expectRefused(["phonennumber": "+2289000000100000"], field: "phonennumber")
        try expectRefused(["phonenumber": "9000000a"], field: "phonenumber")
        try expectRefused(["phonenumber": "90000001", "phonennumber": "90000002"], field: "phonennumber")
    }

    @Test func brandUpTo150EmptyMeansTheMerchantsName() throws {
        #expect(try expectAccepted(["brand": String(repeating: "b", count: 150)])?.order.brand.count == 150)
        #expect(try expectAccepted(["brand": ""])?.order.brand == "Boutique Démo")
        try expectRefused(["brand": String(repeating: "b", count: 151)], field: "brand")
        try expectRefused(["brand": "<b>Shop</b>"], field: "brand")
    }

    @Test func descriptionUpTo255PlainText() throws {
        #expect(try expectAccepted(["description": String(repeating: "d", count: 255)]) != nil)
        #expect(try expectAccepted(["description": nil])?.order.description == nil)
        try expectRefused(["description": String(repeating: "d", count: 256)], field: "description")
        try expectRefused(["description": "Panier <script>"], field: "description")
    }

    @Test func textUpTo250PlainText() throws {
        #expect(try expectAccepted(["text": String(repeating: "t", count: 250)]) != nil)
        try expectRefused(["text": String(repeating: "t", count: 251)], field: "text")
        try expectRefused(["text": "a > b"], field: "text")
    }

    @Test func returnURLsUpTo150HTTP() throws {
        for field in ["accepturl", "declineurl", "cancelurl"] {
            #expect(try expectAccepted([field: Self.url150]) != nil)
            try expectRefused([field: Self.url150 + "a"], field: field)
            for bad in ["ftp://shop.test/x", "javascript:alert(1)", "https://user:pw@shop.test/", "https://shop.test/a b", "/relative"] {
                try expectRefused([field: bad], field: field)
            }
        }
    }

    @Test func missingReturnURLsAreTheMerchantsOwn() throws {
        let urls = try expectAccepted(["accepturl": nil, "declineurl": "", "cancelurl": nil])?.order.returnURLs
        #expect(urls == ReturnURLs(accept: "https://shop.test/merci", decline: "https://shop.test/refus", cancel: "https://shop.test/panier"))
    }

    @Test func languageIsFrOrEn() throws {
        #expect(try expectAccepted(["language": "en"])?.order.language == .en)
        #expect(try expectAccepted(["language": nil])?.order.language == .fr)
        for language in ["de", "FR", "fra"] { try expectRefused(["language": language], field: "language") }
    }

    @Test func aFieldGivenTwiceIsRefused() throws {
        let harness = try Harness()
        let form = Harness.orderForm(session: harness.session()) + [("amount", "1")]
        let page = harness.send("POST", "/online/online.php", form: form)
        #expect(page.status == .badRequest)
        #expect(Harness.text(page).contains("<code>amount</code> is given more than once"))
    }

    @Test func everyFieldAtFaultIsNamedAndTheDeclineURLOffered() throws {
        let harness = try Harness()
        let (page, _) = harness.open(["amount": "12.5", "currency": "XOF", "language": "en"])
        let html = Harness.text(page)
        #expect(html.contains("<code>amount</code>"))
        #expect(html.contains("<code>currency</code>"))
        #expect(html.contains("Invalid payment request"), "in the form's language")
        #expect(html.contains(#"href="https://shop.test/return/decline?order=tok""#))
    }

    @Test func theMerchantsDeclineURLWhenTheFormsIsNoGood() throws {
        let harness = try Harness()
        let html = Harness.text(harness.open(["amount": "1", "declineurl": "ftp://x"]).page)
        #expect(html.contains(#"href="https://shop.test/refus""#))
        let unknown = Harness.text(harness.open(["merchantid": "2000000000000009", "declineurl": nil]).page)
        #expect(!unknown.contains("class=\"button"), "nowhere to go back to")
    }

    @Test func unknownMerchantIs400() throws {
        try expectRefused(["merchantid": "2000000000000009"], field: "merchantid")
    }

    @Test func badScenarioIsRefused() throws {
        try expectRefused(["sandbox_scenario": "slow"], field: "sandbox_scenario")
        try expectRefused(["sandbox_scenario": "delay_ms=-1"], field: "sandbox_scenario")
        try expectRefused(["sandbox_scenario": "drop,twice"], field: "sandbox_scenario")
    }

    @Test func aFormThatIsNotAFormIs415() throws {
        let harness = try Harness()
        let response = harness.send("POST", "/online/online.php", form: Harness.orderForm(session: harness.session()), contentType: "application/json")
        #expect(response.status == .unsupportedMediaType)
    }

    @Test func theFormIsParsedStrictly() throws {
        var form = Parameters([("sessionid", "1"), ("merchantid", Harness.merchant), ("amount", "15000"), ("currency", "952"),
                               ("purchaseref", "R"), ("brand", "")])
        let parsed = try OrderForm.parse(form, query: Parameters([("sandbox_scenario", "twice")]))
        #expect(parsed.scenario?.twice == true, "the action URL's query may name the scenario")
        form = Parameters(form.pairs + [("sandbox_scenario", "drop")])
        #expect(try OrderForm.parse(form, query: Parameters([("sandbox_scenario", "twice")])).scenario?.drop == true, "the form's field wins")
    }
}
