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

@Suite struct CheckoutTests {
    @Test func checkoutPageCarriesExactlyTheSpecsFields() throws {
        let world = try World()
        let (order, path) = try world.createOrder(["purchaseref": "CMD-1001", "amount": 15000, "description": "Sac de riz 25 kg", "phone": "90000001"])
        let page = world.send("GET", path)
        #expect(page.status == .ok)
        let html = page.text
        #expect(html.contains("<form id=\"pay\" method=\"post\" action=\"\(world.gateway.url)/online/online.php\""))
        #expect(html.contains("Payer avec TMoney"))
        #expect(html.contains("15 000 F CFA"))
        #expect(html.contains("Sac de riz 25 kg"))
        let link = String(path.dropFirst("/pay/".count))
        let fields = HTMLForm.hiddenFields(html)
        #expect(fields.map(\.0) == ["sessionid", "merchantid", "amount", "currency", "purchaseref", "phonenumber", "brand", "description", "accepturl", "declineurl", "cancelurl", "language"])
        #expect(fields.map(\.1) == [
            World.sessionID, "1234567890123456", "15000", "952", "CMD-1001", "90000001", "Boutique Démo", "Sac de riz 25 kg",
            "https://pay.example.tg/return/accept?order=" + link, "https://pay.example.tg/return/decline?order=" + link,
            "https://pay.example.tg/return/cancel?order=" + link, "fr",
        ])
        for url in fields.filter({ $0.0.hasSuffix("url") }).map(\.1) { #expect(url.count <= 150) }
        // The attempt is recorded with its session id.
        let stored = try #require(try world.store.load(order.key))
        #expect(stored.attempts.map(\.reference) == [World.sessionID])
        #expect(world.gateway.requests == ["GET /online/online.php?merchantid=1234567890123456 HTTP/1.1"])
    }

    @Test func freshSessionIsReusedOnReload() throws {
        let world = try World()
        let (order, path) = try world.createOrder(["purchaseref": "R1", "amount": 1000])
        for _ in 0..<3 { #expect(world.send("GET", path).status == .ok) }
        #expect(world.gateway.requests.count == 1)
        #expect(try world.store.load(order.key)?.attempts.count == 1)
    }

    @Test func keptPageIsDroppedAsSoonAsTheOrderChanges() throws {
        let world = try World()
        let (_, path) = try world.createOrder(["purchaseref": "CACHE-1", "amount": 15000])
        let first = world.send("GET", path).text
        #expect(world.send("GET", path).text == first, "the same page, kept")
        // Another process (or this one) changes the order file: the kept page is not served again.
        #expect(world.notify(World.okParameters("CACHE-1")).status == .ok)
        let after = world.send("GET", path).text
        #expect(after.contains("Commande déjà payée"))
        #expect(!after.contains("<form id=\"pay\""))
    }

    @Test func englishPage() throws {
        let world = try World()
        let (_, path) = try world.createOrder(["purchaseref": "EN-1", "amount": 1000, "language": "en"])
        let html = world.send("GET", path).text
        #expect(html.contains("Pay with TMoney"))
        #expect(html.contains("<html lang=\"en\">"))
        #expect(HTMLForm.hiddenFields(html).last! == ("language", "en"))
    }

    @Test func hostileValuesAreRenderedInert() throws {
        let world = try World(settings: ["brand": "Chez \"Ama\" & Fils 'le <meilleur>'".replacingOccurrences(of: "<", with: "").replacingOccurrences(of: ">", with: "")])
        let ref = "<script>alert('ref')</script>\"><img src=x onerror=alert(1)>"
        let (_, path) = try world.createOrder([
            "purchaseref": ref, "amount": 1000, "description": "\" onmouseover=\"alert(1)\" x=' & é",
        ])
        let html = world.send("GET", path).text
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("onmouseover=\"alert"))
        #expect(html.contains("&lt;script&gt;alert(&#39;ref&#39;)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        let fields = Dictionary(HTMLForm.hiddenFields(html), uniquingKeysWith: { a, _ in a })
        #expect(fields["purchaseref"] == ref, "escaped in HTML, intact once the browser decodes it")
        #expect(fields["description"] == "\" onmouseover=\"alert(1)\" x=' & é")
        #expect(fields["brand"] == "Chez \"Ama\" & Fils 'le meilleur'")
    }

    /// Past `order_expiry_seconds`, the checkout and the retry are a 410 page with the way back to the shop, and no
    /// session is asked for; a payment that arrives late is still recorded (money taken is never ignored).
    @Test func anExpiredOrderIsGone() throws {
        let world = try World(settings: ["order_expiry_seconds": 600])
        let (_, path) = try world.createOrder(["purchaseref": "EXP-1", "amount": 1000, "language": "en"])
        world.clock.withLock { $0 = Timestamp.now().adding(seconds: 601) }
        let page = world.send("GET", path)
        #expect(page.status == .gone)
        #expect(page.text.contains("Order expired") && page.text.contains("href=\"https://shop.example.tg/panier\""), "\(page.text)")
        #expect(!page.text.contains("<form id=\"pay\""))
        #expect(world.send("POST", path + "/retry").status == .gone)
        #expect(world.gateway.requests.isEmpty, "no session for an order that takes no attempt")
        #expect(world.notify(World.okParameters("EXP-1", amount: "1000")).status == .ok)
        #expect(try world.store.load(ref: "EXP-1")?.status == .paid)
    }

    /// With `checkout_auto_submit_seconds`, the page carries the delay and the script that sends the form (the
    /// browser tests watch it do so); without, neither.
    @Test func autoSubmitIsOfferedOnlyWhenConfigured() throws {
        let quiet = try World()
        let (_, path) = try quiet.createOrder(["purchaseref": "AUTO-0", "amount": 1000])
        let plain = quiet.send("GET", path).text
        #expect(!plain.contains("data-auto-submit") && !plain.contains("/checkout.js"))
        let world = try World(settings: ["checkout_auto_submit_seconds": 4])
        let (_, autoPath) = try world.createOrder(["purchaseref": "AUTO-1", "amount": 1000, "language": "en"])
        let html = world.send("GET", autoPath).text
        #expect(html.contains("<form id=\"pay\" method=\"post\" action=\"\(world.gateway.url)/online/online.php\" data-auto-submit=\"4\">"))
        #expect(html.contains("<script src=\"/checkout.js\" defer></script>"))
        #expect(html.contains("4 s"), "the notice says when")
    }

    @Test func paidOrderShowsAlreadyPaidNotAForm() throws {
        let world = try World()
        let (_, path) = try world.createOrder(["purchaseref": "PAID-1", "amount": 15000])
        #expect(world.notify(World.okParameters("PAID-1")).status == .ok)
        let html = world.send("GET", path).text
        #expect(html.contains("Commande déjà payée"))
        #expect(!html.contains("<form id=\"pay\""))
        #expect(!html.contains("type=\"hidden\""))
        #expect(html.contains("PR-P1"))
        #expect(world.gateway.requests.isEmpty)
    }

    @Test("gateway failures leave the order unchanged and say so", arguments: [
        ("refused", HTTPStandIn.Behaviour.respond(status: 200, body: "NOK:UNKNOWN_MERCHANT"), "NOK:UNKNOWN_MERCHANT"),
        ("garbage", .respond(status: 200, body: "<html>It works!</html>"), "not a session id"),
        ("error status", .respond(status: 502, body: "Bad Gateway"), "HTTP 502"),
        ("nothing", .hang(seconds: 3), "did not answer in time"),
        ("hang-up", .close, "unreachable"),
    ])
    func gatewayFailure(name: String, behaviour: HTTPStandIn.Behaviour, cause: String) throws {
        let world = try World(settings: ["gateway_timeout_seconds": 1], gateway: { _ in behaviour })
        let (order, path) = try world.createOrder(["purchaseref": "GW-" + name, "amount": 1000, "language": "en"])
        let page = world.send("GET", path)
        #expect(page.status == .serviceUnavailable)
        #expect(page.text.contains("Payment temporarily unavailable"))
        #expect(!page.text.contains("<form id=\"pay\""))
        #expect(try world.store.load(order.key) == order, "the order is unchanged")
        let french = try world.createOrder(["purchaseref": "GW-fr-" + name, "amount": 1000])
        #expect(world.send("GET", french.checkoutPath).text.contains("Paiement momentanément indisponible"))
        // The operator reads why in the log: the order, and the gateway's failure in words.
        #expect(world.log.all.contains { $0.contains("no session from the operator") && $0.contains("ref=GW-" + name) && $0.contains(cause) },
                "\(world.log.all)")
    }

    @Test func tamperedOrUnknownLinksAre404Pages() throws {
        let world = try World()
        let (_, path) = try world.createOrder(["purchaseref": "L1", "amount": 1000])
        var tampered = Array(path)
        tampered[tampered.count - 1] = tampered.last == "0" ? "1" : "0"
        for bad in [String(tampered), "/pay/nothing", "/pay/" + OrderKey(ref: "L1").hex, "/return/accept?order=x", "/return/accept"] {
            let page = world.send("GET", bad)
            #expect(page.status == .notFound, "\(bad)")
            #expect(page.text.contains("Commande introuvable"), "\(bad)")
        }
        #expect(world.send("GET", "/return/elsewhere?order=x").status == .notFound)
    }
}
