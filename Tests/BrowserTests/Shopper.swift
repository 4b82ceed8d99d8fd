import Foundation
import Testing
import TestStack

/// One shopper's world for a browser test: nginx, `cross serve` and the TMoney sandbox of its own (so that
/// sandbox accounts, blocked or debited, never leak from one test to another), and a headless Chromium.
final class Shopper {
    let stack: Stack
    let browser: Browser
    let name: String

    /// Where screenshots go: `artefacts/screenshots/` in the repository (git-ignored).
    static let screenshots = Stack.root + "/artefacts/screenshots"

    init(_ name: String) throws {
        // Missing programs are a failure, not a skip: `make test` installs them.
        try Browser.checkPrograms()
        self.name = name
        stack = try Stack(name: "browser-" + name, sandbox: true)
        do {
            browser = try Browser(directory: stack.runDirectory + "/browser")
        } catch {
            stack.stop()
            throw error
        }
    }

    /// Ends the browser first (its session, chromedriver, every Chromium process), then the stack.
    func close() {
        browser.quit()
        stack.stop()
    }

    /// Runs a journey; when it throws, a screenshot of where the browser was is kept beside the others.
    func journey(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            let path = Self.screenshots + "/failed-\(name).png"
            if (try? browser.saveScreenshot(to: path)) != nil {
                throw WebDriverError("\(error)\n  screenshot: \(path)")
            }
            throw error
        }
    }

    var sandboxBase: String { "http://127.0.0.1:\(stack.sandboxPort)" }

    // MARK: Orders

    struct PlacedOrder {
        let ref: String
        let checkoutURL: String
        /// The signed link in the checkout URL: `/pay/{link}`, and `?order={link}` on the return pages.
        var link: String { String(checkoutURL.split(separator: "/").last ?? "") }
        /// The order's key (its file name): the link's part before the `-`.
        var key: String { String(link.prefix { $0 != "-" }) }
    }

    /// An order created through the API, as the merchant's back end does, with a reference no other test uses.
    func placeOrder(amount: Int64 = 15000, extra: [String: Any] = ["description": "Sac de riz 25 kg"]) throws -> PlacedOrder {
        let ref = "BRW-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        let order = try stack.createOrder(ref, amount: amount, extra: extra)
        let url = try #require(order["checkout_url"] as? String)
        return PlacedOrder(ref: ref, checkoutURL: url)
    }

    /// The order's file as Cross wrote it: `data/orders/<3 hex>/<key>.json`.
    func orderFile(_ order: PlacedOrder) throws -> (text: String, json: [String: Any]) {
        #expect(order.key.count == 32 && order.key.allSatisfy(\.isHexDigit), "the link starts with the 32-hex order key: \(order.link)")
        let path = stack.dataDirectory + "/orders/" + order.key.prefix(3) + "/" + order.key + ".json"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(path) is a JSON object")
        return (String(decoding: data, as: UTF8.self), json)
    }

    /// The order as the API shows it.
    func apiOrder(_ order: PlacedOrder) throws -> [String: Any] {
        try #require(try stack.order(order.ref), "the API knows \(order.ref)")
    }

    func returnPage(_ outcome: String, _ order: PlacedOrder) -> String {
        stack.base + "/return/\(outcome)?order=" + order.link
    }

    // MARK: Steps of the journey

    /// Cross's checkout page, its "Payer avec TMoney" button ready.
    func openCheckout(_ order: PlacedOrder) throws {
        try browser.navigate(to: order.checkoutURL)
        _ = try browser.waitFor(.button("Payer avec TMoney"))
        let text = try browser.visibleText()
        #expect(text.contains("Paiement TMoney"), "checkout heading")
        #expect(text.contains(order.ref), "the order reference on the checkout page")
    }

    /// "Payer avec TMoney": the hidden form takes the shopper to TMoney's page (the sandbox), phone and PIN step.
    func goToTMoney() throws {
        try browser.click(.button("Payer avec TMoney"))
        try browser.waitForURL(startingWith: sandboxBase + "/online/online.php")
        try browser.waitForText("Identifiez-vous")
    }

    /// Phone number and PIN on TMoney's page, then "Continuer".
    func signIn(phone: String, pin: String) throws {
        try browser.type(phone, into: .css("#phone"))
        try browser.type(pin, into: .css("#pin"))
        try browser.click(.button("Continuer"))
    }

    /// The one-time code step, then the code sent by SMS (from the sandbox's outbox, as a phone would show it).
    func waitForCodeStep(phone: String, ref: String) throws -> String {
        try browser.waitForText("Code de confirmation")
        try browser.waitForText("Un code à usage unique vous a été envoyé par SMS au \(phone)")
        let code = try smsCode(phone: phone, ref: ref)
        #expect(try !browser.pageSource().contains(code), "the one-time code must not be on TMoney's page")
        return code
    }

    func enterCode(_ code: String) throws {
        try browser.type(code, into: .css("#code"))
        try browser.click(.button("Payer"))
    }

    /// The confirmation page after a payment: TMoney's payment reference, then "Confirmer".
    func confirmPayment() throws -> String {
        try browser.waitForText("Votre paiement a été effectué")
        let paymentref = try browser.text(of: browser.find(.css("#payment-reference")))
        #expect(paymentref.hasPrefix("TMS"), "a sandbox payment reference: \(paymentref)")
        try browser.click(.button("Confirmer"))
        return paymentref
    }

    /// Rich account, right PIN, right code, "Confirmer": back on Cross's accept page. Returns the paymentref.
    func payWithTheRichAccount(_ order: PlacedOrder) throws -> String {
        try signIn(phone: "90000001", pin: "1234")
        let code = try waitForCodeStep(phone: "90000001", ref: order.ref)
        try enterCode(code)
        return try confirmPayment()
    }

    /// Cross's thank-you page with the payment reference, and the order file saying it.
    func expectThankYou(_ order: PlacedOrder, paymentref: String) throws {
        try browser.waitForURL(startingWith: returnPage("accept", order))
        let text = try browser.waitForText("Paiement reçu, merci", timeout: 20)
        #expect(text.contains("Payée"), "status label")
        #expect(text.contains("TMoney a confirmé votre paiement."))
        #expect(try browser.text(of: browser.find(.css("#payment-reference"))) == paymentref)
        let file = try orderFile(order)
        #expect(file.text.contains("\"status\":\"paid\""), "the order file says paid: \(file.text.prefix(400))")
        #expect(file.json["status"] as? String == "paid")
        #expect(file.text.contains(paymentref), "the order file holds the payment reference")
    }

    // MARK: The sandbox's SMS outbox

    /// The newest one-time code the sandbox "sent" to `phone` for `ref`, read from `GET /sandbox/sms`.
    func smsCode(phone: String, ref: String) throws -> String {
        try browser.wait(for: "an SMS code for \(phone) (\(ref)) in the sandbox's outbox", timeout: 5) {
            try Self.codes(inOutbox: try HTTPClient.get(stack.sandboxPort, "/sandbox/sms").text)
                .first { $0.phone == phone && $0.ref == ref }?.code
        }
    }

    /// The one-time codes on the outbox page, newest first (the page's order).
    static func codes(inOutbox html: String) throws -> [(phone: String, ref: String, code: String)] {
        // <tr><td>sent</td><td>phone</td><td><strong class="sms-code">code</strong></td><td>merchant</td><td>ref</td>…
        let row = try Regex(#"<tr><td>[^<]*</td><td>([^<]*)</td><td><strong class="sms-code">([0-9]+)</strong></td><td>[^<]*</td><td>([^<]*)</td>"#)
        return html.matches(of: row).compactMap { match in
            guard let phone = match.output[1].substring, let code = match.output[2].substring, let ref = match.output[3].substring else { return nil }
            return (String(phone), String(ref), String(code))
        }
    }

    /// Whether the outbox holds any one-time code for `phone`.
    func outboxHasCode(for phone: String) throws -> Bool {
        try Self.codes(inOutbox: try HTTPClient.get(stack.sandboxPort, "/sandbox/sms").text).contains { $0.phone == phone }
    }
}
