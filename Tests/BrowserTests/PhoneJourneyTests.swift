import Foundation
import Testing
import TestStack

/// Paying from the phone in a real headless Chromium at a phone's width (360 × 740): the number typed on Cross's
/// checkout page, the waiting page that moves on by itself, the shopper's handset (the sandbox's phone page).
@Suite(.serialized, .timeLimit(.minutes(2))) struct PhoneJourneyTests {
    static func capture(_ browser: Browser, _ name: String) throws {
        let overflow = (try browser.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;") as? NSNumber)?.intValue ?? -1
        #expect(overflow == 0, "\(name) at 360 px is wider than the screen by \(overflow) px")
        let path = Shopper.screenshots + "/\(name)-360x740.png"
        try browser.saveScreenshot(to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "\(path) is a PNG")
    }

    /// The shopper mistypes, then types their number; approves the prompt (here through the sandbox's test API,
    /// as the phone would); the waiting page goes on to the thank-you page without the shopper doing anything.
    @Test func typeTheNumberApproveAndSeeTheThankYou() throws {
        let shopper = try Shopper("phone")
        defer { shopper.close() }
        let browser = shopper.browser
        try browser.setViewport(width: 360, height: 740)
        try shopper.journey {
            let order = try shopper.placeOrder()
            try shopper.openCheckout(order)
            _ = try browser.waitFor(.css("#phone"))
            try Self.capture(browser, "phone-checkout")
            try browser.type("74 00 00 01", into: .css("#phone"))
            try browser.click(.css("#push-submit"))
            try browser.waitForText("ne correspond à aucun réseau mobile togolais")
            try browser.execute("document.getElementById('phone').value = '';")
            try browser.type("+228 90 00 00 01", into: .css("#phone"))
            try browser.click(.css("#push-submit"))
            try browser.waitForURL(startingWith: order.checkoutURL + "/phone")
            let waiting = try browser.waitForText("Validez le paiement sur votre téléphone")
            #expect(waiting.contains("+228 90 00 00 01"))
            #expect(waiting.contains("15 000 F CFA"))
            try Self.capture(browser, "phone-waiting")
            let prompts = try shopper.stack.sandboxJSON("GET", "/sandbox/api/prompts?phone=90000001").json as? [[String: Any]]
            let prompt = try #require(prompts?.first)
            #expect(prompts?.count == 1, "one prompt, one debit")
            let approved = try shopper.stack.sandboxJSON("POST", "/sandbox/api/prompts/\(prompt["id"] as! String)", #"{"pin":"1234"}"#)
            #expect(approved.status == 200)
            // The page asks Cross every two seconds and moves on by itself.
            try browser.waitForURL(startingWith: shopper.returnPage("accept", order), timeout: 15)
            let thanks = try browser.waitForText("Paiement reçu, merci")
            #expect(thanks.contains("Payée"))
            try Self.capture(browser, "phone-thank-you")
            #expect(try shopper.apiOrder(order)["status"] as? String == "paid")
        }
    }

    /// The handset page of the sandbox: the USSD text, the PIN, Valider; Cross learns it through the callback.
    @Test func approveOnTheHandsetPage() throws {
        let shopper = try Shopper("handset")
        defer { shopper.close() }
        let browser = shopper.browser
        try browser.setViewport(width: 360, height: 740)
        try shopper.journey {
            let order = try shopper.placeOrder(amount: 2500)
            try shopper.openCheckout(order)
            try browser.type("90000001", into: .css("#phone"))
            try browser.click(.css("#push-submit"))
            try browser.waitForText("Validez le paiement sur votre téléphone")
            try browser.navigate(to: shopper.sandboxBase + "/sandbox/phone/90000001")
            let text = try browser.text(of: browser.waitFor(.css("#prompt-text")))
            #expect(text.contains("2 500"), "\(text)")
            #expect(text.contains("Boutique Démo"))
            try Self.capture(browser, "phone-handset")
            try browser.type("1234", into: .css("#pin"))
            try browser.click(.css("#approve"))
            _ = try browser.waitFor(.css("#result"))
            try Self.capture(browser, "phone-handset-result")
            try browser.navigate(to: order.checkoutURL + "/phone")
            try browser.waitForText("Paiement reçu, merci", timeout: 15)
            #expect(try shopper.apiOrder(order)["status"] as? String == "paid")
        }
    }

    /// Flooz at 360 px: a Moov number, the network the page suggests, approved on the handset page; and a TMoney
    /// number the shopper switches to Flooz (a ported number).
    @Test func payWithFloozAndSwitchANumberToFlooz() throws {
        let shopper = try Shopper("flooz")
        defer { shopper.close() }
        let browser = shopper.browser
        try browser.setViewport(width: 360, height: 740)
        try shopper.journey {
            let order = try shopper.placeOrder(amount: 5000)
            try shopper.openCheckout(order)
            try browser.type("96 00 00 01", into: .css("#phone"))
            let hint = try browser.wait(for: "the network suggestion") { () -> String? in
                let text = try browser.text(of: browser.find(.css("#network-suggestion")))
                return text.contains("Flooz") ? text : nil
            }
            #expect(hint.contains("Flooz"))
            try Self.capture(browser, "flooz-checkout")
            try browser.click(.css("#push-submit"))
            try browser.waitForText("Validez le paiement sur votre téléphone")
            #expect(try browser.visibleText().contains("Flooz"))
            try browser.navigate(to: shopper.sandboxBase + "/sandbox/phone/96000001")
            let text = try browser.text(of: browser.waitFor(.css("#prompt-text")))
            #expect(text.contains("Flooz") && text.contains("5 000"), "\(text)")
            try Self.capture(browser, "flooz-handset")
            try browser.type("1234", into: .css("#pin"))
            try browser.click(.css("#approve"))
            _ = try browser.waitFor(.css("#result"))
            try browser.navigate(to: order.checkoutURL + "/phone")
            try browser.waitForText("Paiement reçu, merci", timeout: 15)
            try Self.capture(browser, "flooz-thank-you")
            let paid = try shopper.apiOrder(order)
            #expect(paid["status"] as? String == "paid")
            #expect((paid["payment"] as? [String: Any])?["operator"] as? String == "flooz")

            // A TMoney-range number, switched to Flooz by the shopper: Flooz prompts it.
            let ported = try shopper.placeOrder(amount: 2000)
            try shopper.openCheckout(ported)
            try browser.type("90000001", into: .css("#phone"))
            try browser.click(.css("#network-flooz"))
            try browser.click(.css("#push-submit"))
            try browser.waitForText("Validez le paiement sur votre téléphone")
            #expect((try shopper.apiOrder(ported)["payment_attempts"] as? [[String: Any]])?.last?["operator"] as? String == "flooz")
        }
    }
}
