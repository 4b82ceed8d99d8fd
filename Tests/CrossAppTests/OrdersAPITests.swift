import FastCGI
import Foundation
import Testing
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

@Suite struct OrdersAPITests {
    @Test func createThenRepeatThenConflict() throws {
        let world = try World()
        let body = #"{"purchaseref":"CMD-1001","amount":15000,"description":"Sac de riz","phone":"90 00 00 01"}"#
        let created = world.api("POST", "/api/orders", json: body)
        #expect(created.status == .created)
        #expect(created.json["status"] as? String == "pending")
        #expect(created.json["phone"] as? String == "90000001")
        let checkout = try #require(created.json["checkout_url"] as? String)
        #expect(checkout.hasPrefix("https://pay.example.tg/pay/"))
        #expect(created.header("location") == "/api/orders/CMD-1001")
        let again = world.api("POST", "/api/orders", json: body)
        #expect(again.status == .ok)
        #expect(again.json["checkout_url"] as? String == checkout)
        let conflict = world.api("POST", "/api/orders", json: #"{"purchaseref":"CMD-1001","amount":15001}"#)
        #expect(conflict.status == .conflict)
        #expect(world.store.allOrders().count == 1)
    }

    @Test func amountAsTextOrNumberButNeverFractional() throws {
        let world = try World()
        #expect(world.api("POST", "/api/orders", json: #"{"purchaseref":"A","amount":"15000"}"#).status == .created)
        #expect(world.api("POST", "/api/orders", json: #"{"purchaseref":"A2","amount":15000}"#).status == .created)
        // A JSON number without a fractional part is a whole number, however it is written.
        #expect(world.api("POST", "/api/orders", json: #"{"purchaseref":"A3","amount":15000.0}"#).json["amount"] as? Int == 15000)
        for bad in ["15000.5", "true", "[1]", #""15 000""#, "15000.25", "99", #""15000.0""#] {
            let response = world.api("POST", "/api/orders", json: #"{"purchaseref":"B","amount":\#(bad)}"#)
            #expect(response.status == .unprocessableContent, "\(bad)")
            #expect(response.text.contains(#""field":"amount""#), "\(bad)")
        }
    }

    @Test func invalidOrderListsEveryField() throws {
        let world = try World()
        let response = world.api("POST", "/api/orders", json: #"{"purchaseref":"","amount":15.5,"language":"de","accept_url":"https://evil.com/x","colour":"red","phone":12}"#)
        #expect(response.status == .unprocessableContent)
        let fields = (response.json["fields"] as? [[String: String]] ?? []).compactMap { $0["field"] }
        #expect(Set(fields) == ["purchaseref", "amount", "language", "accept_url", "colour", "phone"])
        #expect(world.store.allOrders().isEmpty)
    }

    @Test func badBodies() throws {
        let world = try World()
        #expect(world.api("POST", "/api/orders", json: "{").status == .badRequest)
        #expect(world.api("POST", "/api/orders", json: "[1,2]").status == .badRequest)
        let form = world.send("POST", "/api/orders", form: "purchaseref=A&amount=15000", headers: ["Authorization": "Bearer " + World.apiKey])
        #expect(form.status == .unsupportedMediaType)
    }

    @Test func apiKeyIsRequired() throws {
        let world = try World()
        let body = #"{"purchaseref":"A","amount":15000}"#
        for headers in [[:], ["Authorization": "Bearer wrong-key-0123456789"], ["Authorization": World.apiKey], ["Authorization": "Basic " + World.apiKey]] {
            let response = world.send("POST", "/api/orders", json: body, headers: headers)
            #expect(response.status == .unauthorized)
            #expect(response.header("www-authenticate") == "Bearer")
        }
        #expect(world.send("GET", "/api/orders/A").status == .unauthorized)
        #expect(world.store.allOrders().isEmpty)
    }

    @Test func getByPercentEncodedReference() throws {
        let world = try World()
        let ref = "a/b ?&é"
        try world.createOrder(["purchaseref": ref, "amount": 2500])
        let response = world.api("GET", "/api/orders/" + URLEncoding.encodePathSegment(ref))
        #expect(response.status == .ok)
        #expect(response.json["purchaseref"] as? String == ref)
        #expect(response.json["amount"] as? Int == 2500)
        let missing = world.api("GET", "/api/orders/nope")
        #expect(missing.status == .notFound)
        #expect(missing.header("content-type") == "application/json")
    }

    /// Errors in the asker's language: JSON for the API and for clients that ask for it, plain text for
    /// TMoney's notification calls, a page in the configured language for browsers.
    @Test func errorsAreAnsweredInTheFormTheCallerReads() throws {
        let world = try World()
        let api = world.send("GET", "/api/orders/NOPE", headers: ["Authorization": "Bearer " + World.apiKey])
        #expect(api.status == .notFound && api.header("content-type") == "application/json")
        #expect(api.json["error"] as? String == "No order with this purchaseref.")
        let asked = world.send("GET", "/nowhere", headers: ["Accept": "application/json, text/plain"])
        #expect(asked.status == .notFound && asked.header("content-type") == "application/json")
        #expect(asked.json["error"] as? String == "Nothing here.")
        let browser = world.send("GET", "/nowhere", headers: ["Accept": "text/html,application/xhtml+xml"])
        #expect(browser.status == .notFound && browser.header("content-type") == "text/html; charset=utf-8")
        #expect(browser.text.contains("<html lang=\"fr\">") && browser.text.contains("Nothing here."))
        let notify = world.send("GET", "/notify?purchaseref=X", remote: "10.8.0.1")
        #expect(notify.status == .forbidden && notify.header("content-type") == "text/plain; charset=utf-8")
        #expect(notify.text == "Forbidden: this address may not send notifications.\n")
    }
}
