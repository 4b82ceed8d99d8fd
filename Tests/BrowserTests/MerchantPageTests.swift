import Foundation
import Testing
import TestStack

/// A merchant pastes `cross button`'s snippet into a static page on a site of its own (another origin than
/// Cross): a shopper clicks it, presses pay on Cross's offer, is sent on to the sandbox by the checkout page
/// itself (its auto-submit script), pays, and lands on Cross's thank-you page.
@Suite(.serialized, .timeLimit(.minutes(2))) struct MerchantPageTests {
    @Test func buttonOnAStaticPageOfAnotherSiteToTheThankYouPage() throws {
        let shopper = try Shopper("button")
        defer { shopper.close() }
        let snippet = try Self.button(shopper.stack, ["--amount", "15000", "--description", "Sac de riz parfumé 25 kg"])
        #expect(snippet.contains("action=\"\(shopper.stack.base)/checkout\""))
        let page = """
            <!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Chez Ama</title></head>
            <body><h1>Chez Ama</h1><p>Sac de riz parfumé 25 kg</p>
            \(snippet)
            </body></html>
            """
        let site = try HTTPStandIn { _ in .respondWithHeaders(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: page) }
        defer { site.stop() }
        let browser = shopper.browser
        try shopper.journey {
            try browser.navigate(to: site.url + "/produit")
            // button.js, loaded from Cross, shows the amount on the button.
            let button = try browser.wait(for: "the button styled by button.js") {
                try browser.findAll(.css("form.cross-pay button")).first.flatMap { element -> Browser.Element? in
                    (try? browser.text(of: element))?.contains("15") == true ? element : nil
                }
            }
            #expect(WebDriverText.plain(try browser.text(of: button)) == "Payer avec TMoney · 15 000 F CFA")
            try browser.click(button)
            // Cross checks the signature and offers to pay: no order is written until the shopper presses pay.
            _ = try browser.waitForURL(startingWith: shopper.stack.base + "/pay/button/")
            #expect(try browser.visibleText().contains("Sac de riz parfumé 25 kg"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: shopper.stack.dataDirectory + "/orders").isEmpty)
            try browser.click(.button("Payer avec TMoney"))
            // The order is made, and its checkout page sends itself on to TMoney (checkout.js), with no other click.
            // The order's link, without the `?go=1` that tells its page to go on by itself.
            let checkoutURL = try browser.wait(for: "the checkout page") {
                try browser.currentURL().hasPrefix(shopper.stack.base + "/pay/button/") ? nil : browser.currentURL()
            }.split(separator: "?")[0].description
            try browser.waitForURL(startingWith: shopper.sandboxBase + "/online/online.php", timeout: 15)
            try browser.waitForText("Identifiez-vous")
            let key = String(checkoutURL.split(separator: "/").last!.prefix { $0 != "-" })
            let file = try String(contentsOfFile: shopper.stack.dataDirectory + "/orders/" + key.prefix(3) + "/" + key + ".json", encoding: .utf8)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(file.utf8)) as? [String: Any])
            let ref = try #require(json["purchaseref"] as? String)
            #expect(ref.hasPrefix("BTN-"), "a button without a reference gets a fresh one: \(ref)")
            let order = Shopper.PlacedOrder(ref: ref, checkoutURL: checkoutURL)
            let paymentref = try shopper.payWithTheRichAccount(order)
            try shopper.expectThankYou(order, paymentref: paymentref)
        }
    }

    /// What `cross button` prints for this stack's configuration.
    static func button(_ stack: Stack, _ arguments: [String]) throws -> String {
        let log = stack.runDirectory + "/button.out"
        let process = try ManagedProcess(
            name: "cross button", executable: Stack.crossBinary, arguments: ["button", "--config", stack.configPath] + arguments,
            logPath: log)
        #expect(process.wait(timeout: 20) == 0, "\(process.log)")
        return process.log
    }
}

enum WebDriverText {
    /// Chromium reports no-break spaces as they are; the comparison is about the words.
    static func plain(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{00A0}", with: " ")
    }
}
