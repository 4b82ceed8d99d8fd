import FastCGI
import Foundation
import Testing
import TestStack
@testable import AdminDashboard
@testable import Cashier
@testable import CheckoutWeb
@testable import CrossApp
@testable import MerchantAPI
import Support
import TMoneyOnline
import WebPages
@testable import Webhooks
@testable import Payments

@Suite struct ButtonTests {
    static let secret = "test-button-secret-0123456789"

    func post(_ world: World, _ fields: [String: String], signature: String? = nil, extra: [(String, String)] = []) -> Response {
        let pairs = fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            + [("signature", signature ?? PaymentButton.sign(fields, secret: Self.secret))] + extra
        return world.send("POST", "/checkout", form: URLEncoding.encodeForm(pairs), headers: ["Referer": "https://shop.example.tg/produit"])
    }

    @Test func validButtonCreatesTheOrderAndGoesToCheckout() throws {
        let world = try World()
        let fields = ["purchaseref": "BTN-A", "amount": "15000", "description": "Sac de riz", "language": "en"]
        let response = post(world, fields)
        #expect(response.status == .seeOther)
        let location = try #require(response.header("location"))
        #expect(location.hasPrefix("/pay/"))
        let order = try #require(try world.store.load(ref: "BTN-A"))
        #expect(order.amount.francs == 15000 && order.details.description == "Sac de riz" && order.language == .en)
        #expect(world.send("GET", location).text.contains("Pay with TMoney"))
        // The same button again: the same order.
        #expect(post(world, fields).header("location") == location)
        #expect(world.store.allOrders().count == 1)
        // Only the very path is the button's post (nginx limits /checkout and what begins with it).
        let pairs = fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + [("signature", PaymentButton.sign(fields, secret: Self.secret))]
        for path in ["/checkout/", "/checkout;x", "//checkout"] {
            #expect(world.send("POST", path, form: URLEncoding.encodeForm(pairs)).status == .notFound, "\(path)")
        }
    }

    /// A button without a reference writes nothing when posted: it offers to pay, with a fresh reference per
    /// post, and the order is made when the shopper presses pay (the same offer, pressed again, is the same order).
    @Test func buttonWithoutReferenceMakesAnOrderOnlyWhenTheShopperPays() throws {
        let world = try World()
        let fields = ["amount": "2500", "description": "Savon noir", "language": "en"]
        let first = post(world, fields)
        let second = post(world, fields)
        #expect(first.status == .seeOther && second.status == .seeOther)
        let offer = try #require(first.header("location"))
        #expect(offer.hasPrefix("/pay/button/") && offer != second.header("location"))
        #expect(world.store.allOrders().isEmpty, "nothing written for a post")
        let page = world.send("GET", offer)
        #expect(page.status == .ok && page.text.contains("Savon noir") && page.text.contains("2 500 F CFA"))
        #expect(page.text.contains("<form id=\"offer\" method=\"post\" action=\"\(offer)\">"))
        #expect(world.store.allOrders().isEmpty, "nothing written for a look either")
        let paid = world.send("POST", offer)
        #expect(paid.status == .seeOther && paid.header("location")?.hasPrefix("/pay/") == true && paid.header("location")?.hasSuffix("?go=1") == true)
        #expect(world.send("POST", offer).header("location") == paid.header("location"), "the same offer is the same order")
        let refs = world.store.allOrders().compactMap { try? $0.get().ref }
        #expect(refs.count == 1 && refs.allSatisfy { $0.hasPrefix("BTN-") })
        // The checkout page goes on to TMoney by itself.
        let checkout = world.send("GET", try #require(paid.header("location"))).text
        #expect(checkout.contains("data-auto-submit=\"1\""))
        // A tampered offer is no offer.
        var tampered = Array(offer)
        tampered[tampered.count - 1] = tampered.last == "0" ? "1" : "0"
        #expect(world.send("POST", String(tampered)).status == .notFound)
        #expect(world.store.allOrders().count == 1)
    }

    /// Pressing pay on offers in a loop makes no more than `button_orders_per_minute` orders a minute, in all.
    @Test func buttonOrdersPerMinuteAreCapped() throws {
        let world = try World(settings: ["button_orders_per_minute": 3])
        world.clock.withLock { $0 = Timestamp(seconds: 1_800_000_000) }
        var statuses: [HTTPStatus] = []
        for _ in 0..<5 {
            let offer = try #require(post(world, ["amount": "2500"]).header("location"))
            statuses.append(world.send("POST", offer).status)
        }
        #expect(statuses == [.seeOther, .seeOther, .seeOther, .tooManyRequests, .tooManyRequests])
        #expect(world.store.allOrders().count == 3)
        world.clock.withLock { $0 = Timestamp(seconds: 1_800_000_060) }
        let next = try #require(post(world, ["amount": "2500"]).header("location"))
        #expect(world.send("POST", next).status == .seeOther, "the next minute")
    }

    @Test("tampered, expired or malformed buttons are refused with a page", arguments: [
        "amount", "reference", "added field", "unknown field", "wrong secret", "expired", "unsigned", "invalid order",
    ])
    func refused(tampering: String) throws {
        let world = try World()
        var fields = ["purchaseref": "BTN-T", "amount": "15000", "description": "Sac de riz"]
        let signature = PaymentButton.sign(fields, secret: Self.secret)
        var extra: [(String, String)] = []
        var usedSignature: String? = signature
        switch tampering {
        case "amount": fields["amount"] = "150"
        case "reference": fields["purchaseref"] = "BTN-OTHER"
        case "added field": fields["phone"] = "90000001"
        case "unknown field": extra = [("brand", "Evil")]
        case "wrong secret": usedSignature = PaymentButton.sign(fields, secret: "not-the-merchants-secret")
        case "expired":
            fields["expires"] = String(Timestamp.now().seconds - 1)
            usedSignature = PaymentButton.sign(fields, secret: Self.secret)
        case "unsigned": usedSignature = ""
        default:
            fields["amount"] = "50"
            usedSignature = PaymentButton.sign(fields, secret: Self.secret)
        }
        let response = post(world, fields, signature: usedSignature, extra: extra)
        #expect(response.status == .badRequest)
        #expect(response.text.contains("Bouton de paiement invalide"))
        #expect(response.text.contains("href=\"https://shop.example.tg/produit\""), "back to the merchant's page")
        #expect(world.store.allOrders().isEmpty)
    }

    @Test func snippetFromTheCommandLineVerifies() throws {
        let world = try World()
        let html = try ButtonSnippet(policy: world.application.configuration.orderPolicy, settings: world.application.configuration.checkout, pages: world.application.pages)
            .render(["amount": "15000", "description": "Riz \"parfumé\" & <co>".replacingOccurrences(of: "<", with: "").replacingOccurrences(of: ">", with: ""), "purchaseref": "CMD-7"])
        #expect(html.contains("<form class=\"cross-pay\" method=\"post\" action=\"https://pay.example.tg/checkout\">"))
        #expect(html.contains("<script src=\"https://pay.example.tg/button.js\" async></script>"))
        let fields = HTMLForm.hiddenFields(html)
        #expect(try PaymentButton.verify(fields.map { (name: $0.0, value: $0.1) }, secret: Self.secret, now: .now())["description"] == "Riz \"parfumé\" & co")
        #expect(throws: ValidationErrors.self) {
            try ButtonSnippet(policy: world.application.configuration.orderPolicy, settings: world.application.configuration.checkout, pages: world.application.pages).render(["amount": "50"])
        }
    }

    /// Each product of the demo shop sells what the page shows: its button is signed with the development secret,
    /// makes a valid order, and that order's amount and description are the product's shown price and name.
    @Test func demoShopButtonsAreSignedWithTheDevelopmentSecretAndSellWhatTheyShow() throws {
        let configuration = try Configuration.load(path: Stack.root + "/config/cross.dev.json", environment: [:], mode: .development)
        let html = try String(contentsOfFile: Stack.root + "/public/shop/index.html", encoding: .utf8)
        let products = html.components(separatedBy: "<section class=\"product\">").dropFirst()
        #expect(products.count == 2)
        for product in products {
            let name = try #require(product.components(separatedBy: "<h2>").dropFirst().first?.components(separatedBy: "</h2>").first)
            let shownPrice = try #require(product.components(separatedBy: "<p class=\"amount\">").dropFirst().first?.components(separatedBy: "</p>").first)
            let form = try #require(product.components(separatedBy: "<form class=\"cross-pay\"").dropFirst().first?.components(separatedBy: "</form>").first)
            let fields = HTMLForm.hiddenFields(form).map { (name: $0.0, value: $0.1) }
            var values = try PaymentButton.verify(fields, secret: configuration.buttonSecret, now: .now())
            values["purchaseref"] = "DEMO"
            let order = try OrderFields(values: values).validate(configuration.orderPolicy)
            #expect(order.amount.formatted == shownPrice, "\(name)")
            #expect(order.details.description == name)
        }
    }
}
