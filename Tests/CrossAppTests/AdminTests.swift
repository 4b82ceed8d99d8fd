import FastCGI
import Foundation
import TestStack
@testable import FlatFileStore
import OrderStorage
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

/// The orders dashboard (`/admin/`), driven through the app without sockets.
enum Admin {
    static let user = "admin"
    static let password = "correct horse battery staple"
    /// Few rounds: the tests check the format and the comparison, not the cost.
    static let hash = AdminPassword.hash(password, rounds: 1000)
    static var settings: [String: Any] { ["admin": ["user": user, "password_hash": hash]] }
    static let authorization = basic(user, password)
    /// 2026-03-01T00:00:00Z.
    static let day0: Int64 = Timestamp(iso8601: "2026-03-01")!.seconds

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data((user + ":" + password).utf8).base64EncodedString()
    }

    static func world() throws -> World { try World(settings: settings) }

    static func get(_ world: World, _ uri: String, authorization: String? = Admin.authorization, from remote: String = "127.0.0.1") -> Response {
        world.send("GET", uri, headers: authorization.map { ["Authorization": $0] } ?? [:], remote: remote)
    }

    /// An order made straight in the store, created at a chosen time.
    @discardableResult
    static func order(
        _ world: World, _ ref: String, created: Int64, amount: Int64 = 15000, phone: String? = nil, description: String? = nil
    ) throws -> Order {
        let new = NewOrder(
            ref: ref, amount: Amount(francs: amount)!, currency: "952", brand: "Boutique Démo", language: .fr,
            details: OrderDetails(description: description, phone: phone))
        guard case .created(let order) = try world.cashier(at: created).createOrder(new) else {
            throw HTTPClientError(description: "\(ref) was not created")
        }
        return order
    }

    /// TMoney's notification applied at a chosen time (as the notification endpoint does it, at `now`).
    static func notify(_ world: World, _ ref: String, at time: Int64, status: TMoneyOnline.Notification.Status = .ok, amount: Int64 = 15000, error: String = "", mobile: String = "22890000001") throws {
        let notification = TMoneyOnline.Notification(
            purchaseref: ref, amount: amount, currency: "952", status: status, clientid: "C1", cname: "Kofi",
            mobile: status == .ok ? mobile : "", paymentref: status == .ok ? "PR-" + ref : "", payid: status == .ok ? "P-" + ref : "",
            timestamp: "1469024554", error: error)
        _ = try world.cashier(at: time).apply(notification.event, source: .notification, remote: "127.0.0.1")
    }

    /// A Flooz payment applied at a chosen time, as Flooz's callback will be: the order is then Flooz's
    /// (`Order.operator` is the payment's).
    static func floozPaid(_ world: World, _ ref: String, at time: Int64, amount: Int64 = 15000) throws {
        let event = PaymentEvent(
            operator: .flooz, outcome: .paid, purchaseref: ref, amount: amount, currency: "952", transactionID: "FZ-" + ref,
            receipt: "FR-" + ref, payer: Payer(account: "F1", name: "Ama", phone: "22899000001"), occurredAt: String(time))
        _ = try world.cashier(at: time).apply(event, source: .notification, remote: "127.0.0.1")
    }

    /// The purchaserefs listed on a page, top to bottom.
    static func refs(_ html: String) -> [String] {
        html.components(separatedBy: "<td class=\"ref\"><a href=\"").dropFirst().map { piece in
            let text = piece.drop(while: { $0 != ">" }).dropFirst()
            return String(text.prefix(while: { $0 != "<" }))
        }
    }

    static func csvLines(_ response: Response) -> [String] {
        response.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }
}

@Suite struct AdminAuthenticationTests {
    @Test func offWithoutAdminInTheConfiguration() throws {
        let world = try World()
        for path in ["/admin", "/admin/", "/admin/orders", "/admin/orders.csv", "/admin/totals", "/admin/orders/" + String(repeating: "a", count: 32)] {
            let response = Admin.get(world, path)
            #expect(response.status == .notFound, "\(path)")
            #expect(response.header("WWW-Authenticate") == nil)
        }
    }

    /// Each wrong password costs a full PBKDF2: past 5 failures a minute from one address, or 30 in all, a sign-in
    /// is refused with 429 before any hashing, and the right password still works from elsewhere.
    @Test func failedSignInsAreLimitedPerClientAndInAll() throws {
        let world = try Admin.world()
        // One minute for the whole test, whatever the wall clock does meanwhile.
        world.clock.withLock { $0 = Timestamp(seconds: 1_800_000_000) }
        let wrong = Admin.basic(Admin.user, "wrong")
        for _ in 0..<AdminGate.failuresPerClient {
            #expect(Admin.get(world, "/admin/", authorization: wrong, from: "10.30.0.1").status == .unauthorized)
        }
        let refused = Admin.get(world, "/admin/", authorization: wrong, from: "10.30.0.1")
        #expect(refused.status == .tooManyRequests && refused.header("Retry-After") == "60")
        #expect(Admin.get(world, "/admin/", from: "10.30.0.1").status == .tooManyRequests, "even the right password waits out the minute")
        #expect(Admin.get(world, "/admin/", from: "10.30.0.2").status == .ok, "another address is not held up")
        for client in 3..<(3 + AdminGate.failuresInAll - AdminGate.failuresPerClient) {
            #expect(Admin.get(world, "/admin/", authorization: wrong, from: "10.30.0.\(client)").status == .unauthorized)
        }
        #expect(Admin.get(world, "/admin/", authorization: wrong, from: "10.30.1.1").status == .tooManyRequests, "30 failures in all")
        #expect(world.log.all.filter { $0.contains("dashboard credentials refused") }.count == AdminGate.failuresInAll)
    }

    /// A hash of fewer rounds than today's advice still opens the dashboard, and is replaced by a hash of
    /// `AdminPassword.defaultRounds` kept in the data folder, which the next sign-ins use.
    @Test func anOldPasswordHashIsUpgradedAtTheNextSignIn() throws {
        let old = AdminPassword.hash(Admin.password, rounds: 1000)
        let world = try World(settings: ["admin": ["user": Admin.user, "password_hash": old]])
        #expect(Admin.get(world, "/admin/").status == .ok)
        let saved = try #require(FileManager.default.contents(atPath: world.application.configuration.dataDirectory + "/admin/password-hash.json"))
        let upgrade = try JSONDecoder().decode(AdminGate.Upgrade.self, from: saved)
        #expect(upgrade.replaces == old && AdminPassword.rounds(of: upgrade.hash) == AdminPassword.defaultRounds)
        #expect(AdminPassword.verify(Admin.password, against: upgrade.hash))
        var info = stat()
        stat(world.application.configuration.dataDirectory + "/admin/password-hash.json", &info)
        #expect(info.st_mode & 0o777 == 0o600)
        // A new process reads it: the configured old hash is no longer what is checked.
        let again = try World(settings: ["admin": ["user": Admin.user, "password_hash": old], "data_directory": world.application.configuration.dataDirectory])
        #expect(Admin.get(again, "/admin/").status == .ok)
        #expect(Admin.get(again, "/admin/", authorization: Admin.basic(Admin.user, "wrong")).status == .unauthorized)
    }

    @Test func missingOrWrongCredentialsGet401WithTheChallenge() throws {
        let world = try Admin.world()
        let refused = [
            nil, "", Admin.basic("admin", "wrong"), Admin.basic("root", Admin.password), Admin.basic("", ""),
            "Basic !!!not-base64", "Bearer " + World.apiKey, Admin.basic("admin", Admin.password + " "),
            "Basic " + Data("admin".utf8).base64EncodedString(),
        ]
        // Each from an address of its own, and fewer than the minute's limit in all (see the next test).
        var client = 0
        for authorization in refused {
            for path in ["/admin/", "/admin/orders.csv", "/admin/totals"] {
                client += 1
                let response = Admin.get(world, path, authorization: authorization, from: "10.20.0.\(client)")
                #expect(response.status == .unauthorized, "\(authorization ?? "none") \(path)")
                #expect(response.header("WWW-Authenticate") == "Basic realm=\"Cross\"")
                #expect(!response.text.contains("<table"))
            }
        }
    }

    @Test func rightCredentialsOpenEveryPageAndAreRemembered() throws {
        let world = try Admin.world()
        try Admin.order(world, "A-1", created: Admin.day0)
        for path in ["/admin", "/admin/", "/admin/orders", "/admin/orders.csv", "/admin/totals", "/admin/orders/" + OrderKey(ref: "A-1").hex] {
            let response = Admin.get(world, path)
            #expect(response.status == .ok, "\(path)")
            #expect(response.header("Cache-Control") == "no-store")
        }
        // The header passed once is remembered; a wrong password after it still fails.
        #expect(Admin.get(world, "/admin/").status == .ok)
        #expect(Admin.get(world, "/admin/", authorization: Admin.basic("admin", "nope")).status == .unauthorized)
        // Case-insensitive scheme, as RFC 7617 allows.
        let lower = "basic " + Data((Admin.user + ":" + Admin.password).utf8).base64EncodedString()
        #expect(Admin.get(world, "/admin/", authorization: lower).status == .ok)
    }

    @Test func aPasswordWithAColonWorks() throws {
        let world = try World(settings: ["admin": ["user": "boss", "password_hash": AdminPassword.hash("a:b:c", rounds: 1000)]])
        #expect(Admin.get(world, "/admin/", authorization: Admin.basic("boss", "a:b:c")).status == .ok)
        #expect(Admin.get(world, "/admin/", authorization: Admin.basic("boss", "a")).status == .unauthorized)
    }

    @Test func passwordHashesArePBKDF2SHA256() throws {
        // RFC 7914's PBKDF2-HMAC-SHA256 vector (P "passwd", S "salt", c 1), first 32 bytes.
        let vector = "pbkdf2-sha256$1$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw="
        #expect(AdminPassword.verify("passwd", against: vector))
        #expect(!AdminPassword.verify("passwe", against: vector))
        #expect(AdminPassword.hash("passwd", rounds: 1, salt: Array("salt".utf8)) == vector)
        let made = AdminPassword.hash("s3cret", rounds: 1000)
        let parts = made.split(separator: "$")
        #expect(parts.count == 4 && parts[0] == "pbkdf2-sha256" && parts[1] == "1000")
        #expect(Data(base64Encoded: String(parts[2]))?.count == 16)
        #expect(made != AdminPassword.hash("s3cret", rounds: 1000), "a new salt each time")
        #expect(AdminPassword.verify("s3cret", against: made))
        #expect(!AdminPassword.verify("s3cret", against: "pbkdf2-sha256$x$$"))
        #expect(AdminPassword.hash("x").hasPrefix("pbkdf2-sha256$600000$"), "OWASP's advice for PBKDF2-HMAC-SHA256")
    }

    @Test func theDevelopmentConfigurationHasTheDocumentedAdmin() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try Configuration.load(path: root.path + "/config/cross.dev.json", environment: [:], mode: .development)
        let admin = try #require(configuration.admin)
        #expect(admin.user == "admin")
        #expect(AdminPassword.verify("cross-dev-admin", against: admin.passwordHash))
    }
}

@Suite struct AdminListTests {
    @Test func newestFirstInFrenchByDefaultAndInEnglish() throws {
        let world = try Admin.world()
        try Admin.order(world, "OLD", created: Admin.day0)
        try Admin.order(world, "MID", created: Admin.day0 + 3600, phone: "+22890112233")
        try Admin.order(world, "NEW", created: Admin.day0 + 7200)
        try Admin.notify(world, "MID", at: Admin.day0 + 4000)
        let french = Admin.get(world, "/admin/").text
        #expect(Admin.refs(french) == ["NEW", "MID", "OLD"])
        #expect(french.contains("<html lang=\"fr\">"))
        #expect(french.contains("Payée</span>") && french.contains("En attente</span>"))
        #expect(french.contains("2026-03-01 01:06:40"), "paid at")
        #expect(french.contains("15 000 F CFA"))
        #expect(french.contains("+22890112233"))
        #expect(french.contains("href=\"/admin/orders?lang=en\""), "a switch to English")
        let english = Admin.get(world, "/admin/?lang=en").text
        #expect(english.contains("<html lang=\"en\">"))
        #expect(english.contains("Paid</span>") && english.contains("Pending</span>"))
        #expect(english.contains("<span id=\"total\">3</span> order(s)"))
        #expect(english.contains("href=\"/admin/orders/" + OrderKey(ref: "MID").hex + "?lang=en\""))
        // An unknown language is the configured one.
        #expect(Admin.get(world, "/admin/?lang=de").text.contains("<html lang=\"fr\">"))
    }

    @Test func pagesOf50WithPreviousAndNext() throws {
        let world = try Admin.world()
        for index in 0..<101 { try Admin.order(world, "P-\(index)", created: Admin.day0 + Int64(index) * 60) }
        let first = Admin.get(world, "/admin/?lang=en").text
        #expect(Admin.refs(first).count == 50)
        #expect(Admin.refs(first).first == "P-100" && Admin.refs(first).last == "P-51")
        #expect(first.contains("Page 1 of 3"))
        #expect(first.contains("rel=\"next\" href=\"/admin/orders?page=2&amp;lang=en\""))
        #expect(!first.contains("rel=\"prev\""))
        let second = Admin.get(world, "/admin/orders?page=2&lang=en").text
        #expect(Admin.refs(second).first == "P-50" && Admin.refs(second).last == "P-1")
        #expect(second.contains("rel=\"prev\" href=\"/admin/orders?lang=en\"") && second.contains("rel=\"next\""))
        let last = Admin.get(world, "/admin/orders?page=3&lang=en").text
        #expect(Admin.refs(last) == ["P-0"])
        #expect(!last.contains("rel=\"next\"") && last.contains("rel=\"prev\""))
        // Past the end: the last page; nonsense: the first.
        #expect(Admin.refs(Admin.get(world, "/admin/orders?page=999").text) == ["P-0"])
        for page in ["0", "-3", "abc", ""] {
            #expect(Admin.refs(Admin.get(world, "/admin/orders?page=\(page)").text).first == "P-100", "page=\(page)")
        }
        // Exactly 50: one page.
        let fifty = try Admin.world()
        for index in 0..<50 { try Admin.order(fifty, "F-\(index)", created: Admin.day0 + Int64(index)) }
        let only = Admin.get(fifty, "/admin/?lang=en").text
        #expect(Admin.refs(only).count == 50 && only.contains("Page 1 of 1") && !only.contains("rel=\"next\""))
        // None: one empty page.
        let empty = Admin.get(try Admin.world(), "/admin/?lang=en").text
        #expect(empty.contains("No order matches.") && empty.contains("Page 1 of 1"))
    }

    @Test func filtersByStatusAndCreationDates() throws {
        let world = try Admin.world()
        for day in 0..<5 {
            for index in 0..<3 {
                try Admin.order(world, "D\(day)-\(index)", created: Admin.day0 + Int64(day) * 86_400 + Int64(index) * 3600)
            }
        }
        try Admin.notify(world, "D1-0", at: Admin.day0 + 86_400 + 100)
        try Admin.notify(world, "D3-2", at: Admin.day0 + 3 * 86_400 + 8000)
        try Admin.notify(world, "D2-1", at: Admin.day0 + 2 * 86_400 + 5000, status: .nok, error: "CANCEL")
        #expect(Admin.refs(Admin.get(world, "/admin/?status=paid").text) == ["D3-2", "D1-0"])
        #expect(Admin.refs(Admin.get(world, "/admin/?status=cancelled").text) == ["D2-1"])
        #expect(Admin.refs(Admin.get(world, "/admin/?status=pending").text).count == 12)
        // Dates are creation days, both ends included.
        #expect(Admin.refs(Admin.get(world, "/admin/?from=2026-03-02&to=2026-03-03").text) == ["D2-2", "D2-1", "D2-0", "D1-2", "D1-1", "D1-0"])
        #expect(Admin.refs(Admin.get(world, "/admin/?from=2026-03-05").text) == ["D4-2", "D4-1", "D4-0"])
        #expect(Admin.refs(Admin.get(world, "/admin/?to=2026-03-01").text) == ["D0-2", "D0-1", "D0-0"])
        #expect(Admin.refs(Admin.get(world, "/admin/?from=2026-03-02&to=2026-03-04&status=paid").text) == ["D3-2", "D1-0"])
        #expect(Admin.refs(Admin.get(world, "/admin/?from=2026-03-04&to=2026-03-02").text).isEmpty)
        // The selected status stays selected; a bad date is said and ignored.
        let page = Admin.get(world, "/admin/?status=paid&from=2026-02-30&lang=en").text
        #expect(page.contains("<option value=\"paid\" selected>Paid</option>"))
        #expect(page.contains("Invalid date ignored (format YYYY-MM-DD): 2026-02-30"))
        #expect(Admin.refs(page) == ["D3-2", "D1-0"])
        // The pager and the export keep the filter.
        #expect(page.contains("href=\"/admin/orders.csv?status=paid&amp;from=2026-02-30\""))
    }

    @Test func filtersByOperatorAndShowsItsColumn() throws {
        let world = try Admin.world()
        try Admin.order(world, "OP-T", created: Admin.day0)
        try Admin.order(world, "OP-F", created: Admin.day0 + 60)
        try Admin.order(world, "OP-N", created: Admin.day0 + 120)
        try Admin.order(world, "OP-FD", created: Admin.day0 + 180)
        try Admin.notify(world, "OP-T", at: Admin.day0 + 200)
        try Admin.floozPaid(world, "OP-F", at: Admin.day0 + 300)
        // Flooz's payment of the wrong amount: in review, still Flooz's.
        try Admin.floozPaid(world, "OP-FD", at: Admin.day0 + 400, amount: 10)
        #expect(Admin.refs(Admin.get(world, "/admin/?operator=flooz").text) == ["OP-FD", "OP-F"])
        #expect(Admin.refs(Admin.get(world, "/admin/?operator=tmoney").text) == ["OP-T"])
        #expect(Admin.refs(Admin.get(world, "/admin/?operator=flooz&status=paid").text) == ["OP-F"])
        // All, or anything else: no operator filter.
        for value in ["", "mpesa", "FLOOZ"] {
            #expect(Admin.refs(Admin.get(world, "/admin/?operator=" + value).text) == ["OP-FD", "OP-N", "OP-F", "OP-T"], "operator=\(value)")
        }
        let page = Admin.get(world, "/admin/?operator=flooz&lang=en").text
        #expect(page.contains("<select name=\"operator\">\n<option value=\"\">All</option>"))
        #expect(page.contains("<option value=\"flooz\" selected>Flooz</option>") && page.contains("<option value=\"tmoney\">TMoney</option>"))
        #expect(page.contains("<th>Operator</th>"))
        #expect(page.contains("<td class=\"operator flooz\">Flooz</td>"))
        // The language switch and the pager keep it, as they keep the status.
        #expect(page.contains("href=\"/admin/orders?operator=flooz&amp;lang=fr\""))
        let french = Admin.get(world, "/admin/").text
        #expect(french.contains("<td class=\"operator tmoney\">TMoney</td>") && french.contains("<td class=\"operator none\">Aucun</td>"))
        #expect(french.contains("<th>Opérateur</th>") && french.contains("<option value=\"\">Tous</option>"))
        // The order page says the order's operator, paid or not.
        let order = Admin.get(world, "/admin/orders/" + OrderKey(ref: "OP-F").hex + "?lang=en").text
        #expect(order.contains("<dt>Operator</dt><dd>Flooz</dd>"))
        let none = Admin.get(world, "/admin/orders/" + OrderKey(ref: "OP-N").hex + "?lang=en").text
        #expect(none.contains("<dt>Operator</dt><dd>None</dd>"))
    }

    @Test func searchesThePurchaserefAnyCaseAndThePhoneDigits() throws {
        let world = try Admin.world()
        try Admin.order(world, "CMD-1001", created: Admin.day0, phone: "+228 90 11 22 33")
        try Admin.order(world, "cmd-2002", created: Admin.day0 + 1, phone: "22891000000")
        try Admin.order(world, "Café-Été-7", created: Admin.day0 + 2)
        try Admin.order(world, "OTHER", created: Admin.day0 + 3)
        try Admin.notify(world, "OTHER", at: Admin.day0 + 10, mobile: "22899887766")
        func search(_ q: String) -> [String] {
            Admin.refs(Admin.get(world, "/admin/?q=" + URLEncoding.encodeFormValue(q)).text)
        }
        #expect(search("cmd") == ["cmd-2002", "CMD-1001"])
        #expect(search("CMD-10") == ["CMD-1001"])
        #expect(search("  md-2 ") == ["cmd-2002"])
        #expect(search("ÉTÉ") == ["Café-Été-7"])
        #expect(search("café") == ["Café-Été-7"])
        #expect(search("nothing") == [])
        // Digits search the phone's digits, whatever the spacing; the phone of the payment counts too.
        #expect(search("90112233") == ["CMD-1001"])
        #expect(search("+228 9011") == ["CMD-1001"])
        #expect(search("998877") == ["OTHER"])
        #expect(search("2289") == ["OTHER", "cmd-2002", "CMD-1001"])
        #expect(search("1001") == ["CMD-1001"], "by the reference")
        // Search and status together.
        #expect(Admin.refs(Admin.get(world, "/admin/?q=228&status=paid").text) == ["OTHER"])
        #expect(Admin.get(world, "/admin/?q=cmd&lang=en").text.contains("value=\"cmd\""))
    }

    @Test func markupInTheOrderIsShownAsText() throws {
        let world = try Admin.world()
        let ref = "<script>alert('ref')</script>\"><img src=x onerror=alert(1)>"
        try Admin.order(world, ref, created: Admin.day0, description: "<b onmouseover=\"alert(2)\">&amp;</b>")
        try Admin.notify(world, ref, at: Admin.day0 + 5, error: "<svg onload=alert(3)>", mobile: "<i>22890</i>")
        for html in [Admin.get(world, "/admin/").text, Admin.get(world, "/admin/orders/" + OrderKey(ref: ref).hex).text,
                     Admin.get(world, "/admin/?q=" + URLEncoding.encodeFormValue("<script>")).text] {
            #expect(!html.contains("<script>") && !html.contains("<img") && !html.contains("<b ") && !html.contains("<svg") && !html.contains("<i>"))
            #expect(html.contains("&lt;script&gt;alert(&#39;ref&#39;)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        }
        let order = Admin.get(world, "/admin/orders/" + OrderKey(ref: ref).hex).text
        #expect(order.contains("&lt;b onmouseover=&quot;alert(2)&quot;&gt;&amp;amp;&lt;/b&gt;"))
        // The search box gives back what was typed, escaped.
        let echoed = Admin.get(world, "/admin/?q=" + URLEncoding.encodeFormValue("\"><script>x</script>")).text
        #expect(echoed.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""))
        #expect(!echoed.contains("<script>x"))
    }
}

@Suite struct AdminOrderPageTests {
    @Test func fieldsAttemptsNotificationsWithSessionIdsRedacted() throws {
        let hook: [String: Any] = ["url": "https://shop.example.tg/hooks/cross", "secret": "whsec-admin-0123456789"]
        let world = try World(settings: Admin.settings.merging(["webhooks": [hook]]) { $1 })
        let (order, path) = try world.createOrder(["purchaseref": "OP-1", "amount": 15000, "description": "Sac de riz 25 kg", "phone": "+22890000001"])
        #expect(world.send("GET", path).status == .ok, "an attempt with World.sessionID")
        _ = world.notify(World.nokParameters("OP-1", error: "PAYMENT_FAILED"))
        #expect(world.send("POST", path + "/retry").status == .seeOther)
        _ = world.notify(World.okParameters("OP-1", payid: "PAY-77"))
        let html = Admin.get(world, "/admin/orders/" + order.key.hex + "?lang=en").text
        #expect(html.contains("OP-1") && html.contains("Sac de riz 25 kg") && html.contains("+22890000001"))
        #expect(html.contains(order.key.hex))
        #expect(!html.contains(World.sessionID), "never the full session id")
        let redacted = TMoneyOnline.SessionID(World.sessionID)!.redacted
        #expect(html.components(separatedBy: redacted).count - 1 == 2, "both attempts, shortened")
        #expect(html.contains("PAYMENT_FAILED"))
        #expect(html.contains("PAY-77") && html.contains("PR-PAY-77") && html.contains("Kofi Mensah"))
        #expect(html.contains("Pending → <span class=\"status declined\">Declined</span>"))
        #expect(html.contains("Pending → <span class=\"status paid\">Paid</span>"))
        // Every webhook event the outbox holds for the order is listed: the refusal's and the payment's.
        let events = (1...5).map { OutboxEvent.id(order.key, revision: $0) }.filter { world.store.outbox.find($0) != nil }
        #expect(events == [OutboxEvent.id(order.key, revision: 3), OutboxEvent.id(order.key, revision: 5)])
        for id in events { #expect(html.contains(id)) }
        #expect(html.contains("<html lang=\"en\">") && html.contains("href=\"/admin/orders/\(order.key.hex)?lang=fr\""))
    }

    @Test func webhookDeliveriesPerEndpoint() throws {
        let world = try Admin.world()
        let order = try Admin.order(world, "WH-1", created: Admin.day0)
        var failing = OutboxEvent(id: OutboxEvent.id(order.key, revision: 1), type: "order.paid", createdAt: Timestamp(seconds: Admin.day0 + 60), order: order)
        var first = OutboxEvent.Delivery(endpoint: "https://shop.example.tg/hooks", nextAttemptAt: Timestamp(seconds: Admin.day0 + 600))
        first.attempts = 7
        first.lastStatus = 500
        first.lastError = "HTTP 500 <oops>"
        var second = OutboxEvent.Delivery(endpoint: "https://erp.example.tg/in", nextAttemptAt: Timestamp(seconds: Admin.day0 + 60))
        second.attempts = 1
        second.lastStatus = 204
        second.deliveredAt = Timestamp(seconds: Admin.day0 + 61)
        failing.deliveries = [first, second]
        try world.store.outbox.save(failing, in: .failed)
        let html = Admin.get(world, "/admin/orders/" + order.key.hex + "?lang=en").text
        #expect(html.contains(failing.id) && html.contains("order.paid"))
        #expect(html.contains("<span class=\"folder failed\">failed</span>"))
        #expect(html.contains("<td class=\"ref\">https://shop.example.tg/hooks</td><td class=\"num\">7</td><td>500</td><td>HTTP 500 &lt;oops&gt;</td><td></td><td></td>"))
        #expect(html.contains("<td class=\"ref\">https://erp.example.tg/in</td><td class=\"num\">1</td><td>204</td><td></td><td>2026-03-01 00:01:01</td><td></td>"))
        // In pending, the next attempt's time shows.
        try world.store.outbox.save(failing, in: .pending)
        let pending = Admin.get(world, "/admin/orders/" + order.key.hex).text
        #expect(pending.contains("<span class=\"folder pending\">en attente</span>"))
        #expect(pending.contains("<td></td><td>2026-03-01 00:10:00</td>"))
    }

    @Test func unknownOrMalformedKeysAre404() throws {
        let world = try Admin.world()
        #expect(Admin.get(world, "/admin/orders/" + String(repeating: "0", count: 32)).status == .notFound)
        #expect(Admin.get(world, "/admin/orders/not-a-key").status == .notFound)
        #expect(Admin.get(world, "/admin/orders/" + String(repeating: "0", count: 32) + "?lang=en").text.contains("There is no such order."))
        #expect(Admin.get(world, "/admin/orders/x", authorization: nil).status == .unauthorized)
    }
}

@Suite struct AdminExportTests {
    @Test func csvOfTheFilterWithQuotingAndFormulasNeutralised() throws {
        let world = try Admin.world()
        let refs = ["=HYPERLINK(\"http://x\",\"y\")", "a,b", "-5+3", "@SUM(A1)", "+1", "say \"hi\"", "plain", "Été"]
        for (index, ref) in refs.enumerated() {
            try Admin.order(world, ref, created: Admin.day0 + Int64(index) * 60, phone: index == 6 ? "+22890000001" : nil)
        }
        try Admin.notify(world, "plain", at: Admin.day0 + 86_400 + 1)
        let response = Admin.get(world, "/admin/orders.csv")
        #expect(response.status == .ok)
        #expect(response.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(response.header("Content-Disposition") == "attachment; filename=\"orders.csv\"")
        #expect(response.text.hasSuffix("\r\n"))
        let lines = Admin.csvLines(response)
        #expect(lines.first == "purchaseref,status,amount,created_at,paid_at,phone,key,operator")
        #expect(lines.count == refs.count + 1)
        #expect(lines[1] == "Été,pending,15000,2026-03-01T00:07:00Z,,," + OrderKey(ref: "Été").hex + ",", "no attempt: no operator")
        #expect(lines[2] == "plain,paid,15000,2026-03-01T00:06:00Z,2026-03-02T00:00:01Z,'+22890000001," + OrderKey(ref: "plain").hex + ",tmoney")
        #expect(lines[3].hasPrefix("\"say \"\"hi\"\"\",pending,"))
        #expect(lines[4].hasPrefix("'+1,pending,"))
        #expect(lines[5].hasPrefix("'@SUM(A1),"))
        #expect(lines[6].hasPrefix("'-5+3,"))
        #expect(lines[7].hasPrefix("\"a,b\","))
        #expect(lines[8].hasPrefix("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","))
        // The filter applies; and no session ids, descriptions or names go out.
        #expect(Admin.csvLines(Admin.get(world, "/admin/orders.csv?status=paid")).count == 2)
        #expect(Admin.csvLines(Admin.get(world, "/admin/orders.csv?q=a")).count == 1 + 4, "a,b  @SUM(A1)  say \"hi\"  plain")
        #expect(Admin.csvLines(Admin.get(world, "/admin/orders.csv?from=2030-01-01")) == ["purchaseref,status,amount,created_at,paid_at,phone,key,operator"])
    }

    @Test func csvHasTheOperatorAndHonoursItsFilter() throws {
        let world = try Admin.world()
        try Admin.order(world, "C-T", created: Admin.day0)
        try Admin.order(world, "C-F", created: Admin.day0 + 60)
        try Admin.order(world, "C-N", created: Admin.day0 + 120)
        try Admin.notify(world, "C-T", at: Admin.day0 + 200)
        try Admin.floozPaid(world, "C-F", at: Admin.day0 + 300)
        let all = Admin.csvLines(Admin.get(world, "/admin/orders.csv"))
        #expect(all.count == 4)
        #expect(all[1] == "C-N,pending,15000,2026-03-01T00:02:00Z,,," + OrderKey(ref: "C-N").hex + ",")
        #expect(all[2] == "C-F,paid,15000,2026-03-01T00:01:00Z,2026-03-01T00:05:00Z,22899000001," + OrderKey(ref: "C-F").hex + ",flooz")
        #expect(all[3].hasPrefix("C-T,paid,") && all[3].hasSuffix(",tmoney"))
        let flooz = Admin.csvLines(Admin.get(world, "/admin/orders.csv?operator=flooz"))
        #expect(flooz.count == 2 && flooz[1].hasPrefix("C-F,"))
        let tmoney = Admin.csvLines(Admin.get(world, "/admin/orders.csv?operator=tmoney&status=paid"))
        #expect(tmoney.count == 2 && tmoney[1].hasPrefix("C-T,"))
        // The list's export link carries the operator filter.
        #expect(Admin.get(world, "/admin/?operator=flooz").text.contains("href=\"/admin/orders.csv?operator=flooz\""))
    }

    @Test func fieldsWithLineBreaksAndFormulaCharacters() {
        func csv(_ value: String) -> String {
            var out: [UInt8] = []
            AdminCSV.field(Array(value.utf8), &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(csv("a\r\nb") == "\"a\r\nb\"")
        #expect(csv("\tx") == "'\tx")
        #expect(csv("\rx") == "\"'\rx\"")
        #expect(csv("=1,2") == "\"'=1,2\"")
        #expect(csv("x=1") == "x=1")
        #expect(csv("") == "")
        var out: [UInt8] = []
        UTCTime.append(seconds: 0, to: &out)
        UTCTime.append(seconds: 951_782_400 + 86_399, to: &out)  // 2000-02-29T23:59:59Z
        UTCTime.append(seconds: 4_102_444_800, to: &out)  // 2100-01-01
        #expect(String(decoding: out, as: UTF8.self) == "1970-01-01T00:00:00Z2000-02-29T23:59:59Z2100-01-01T00:00:00Z")
    }

    @Test func totalsPaidPerPaymentDay() throws {
        let world = try Admin.world()
        try Admin.order(world, "T1", created: Admin.day0, amount: 1000)
        try Admin.order(world, "T2", created: Admin.day0 + 10, amount: 2500)
        try Admin.order(world, "T3", created: Admin.day0 + 20, amount: 10_000)
        try Admin.order(world, "T4", created: Admin.day0 + 30, amount: 700)
        try Admin.order(world, "T5", created: Admin.day0 + 40, amount: 900)
        try Admin.notify(world, "T1", at: Admin.day0 + 100, amount: 1000)
        try Admin.notify(world, "T2", at: Admin.day0 + 86_399, amount: 2500)
        try Admin.notify(world, "T3", at: Admin.day0 + 2 * 86_400 + 5, amount: 10_000)
        // A wrong amount: review, not counted as paid. A refusal: not paid.
        try Admin.notify(world, "T4", at: Admin.day0 + 200, amount: 70)
        try Admin.notify(world, "T5", at: Admin.day0 + 300, status: .nok, error: "CANCEL")
        let html = Admin.get(world, "/admin/totals?lang=en").text
        let rows = html.components(separatedBy: "<tr><td>").dropFirst().map { String($0.prefix(while: { $0 != "\n" })) }
        // A column for each operator, even one without a payment.
        #expect(rows == [
            "2026-03-03</td><td class=\"num operator tmoney\">10 000 F CFA (1)</td><td class=\"num operator flooz\">0 F CFA (0)</td><td class=\"num\">1</td><td class=\"num\">10 000 F CFA</td></tr>",
            "2026-03-01</td><td class=\"num operator tmoney\">3 500 F CFA (2)</td><td class=\"num operator flooz\">0 F CFA (0)</td><td class=\"num\">2</td><td class=\"num\">3 500 F CFA</td></tr>",
        ])
        #expect(html.contains("id=\"paid-count\">3</th>") && html.contains("id=\"paid-sum\">13 500 F CFA</th>"))
        // The dates filter the payment day.
        let one = Admin.get(world, "/admin/totals?from=2026-03-02&to=2026-03-03").text
        #expect(one.contains("id=\"paid-count\">1</th>") && one.contains("id=\"paid-sum\">10 000 F CFA</th>"))
        let none = Admin.get(world, "/admin/totals?from=2026-03-02&to=2026-03-02").text
        #expect(none.contains("Aucun paiement sur cette période."))
        #expect(none.contains("<td colspan=\"5\" class=\"muted\">"), "the day, an operator each, the count and the sum")
    }

    @Test func totalsPerOperatorAndDay() throws {
        let world = try Admin.world()
        for (index, ref) in ["O-T1", "O-F1", "O-T2", "O-F2", "O-F3", "O-T3"].enumerated() {
            try Admin.order(world, ref, created: Admin.day0 + Int64(index), amount: 1000 * Int64(index + 1))
        }
        try Admin.notify(world, "O-T1", at: Admin.day0 + 100, amount: 1000)
        try Admin.floozPaid(world, "O-F1", at: Admin.day0 + 200, amount: 2000)
        try Admin.notify(world, "O-T2", at: Admin.day0 + 86_400 + 5, amount: 3000)
        try Admin.floozPaid(world, "O-F2", at: Admin.day0 + 86_400 + 6, amount: 4000)
        // A Flooz payment of the wrong amount: review, in no total.
        try Admin.floozPaid(world, "O-F3", at: Admin.day0 + 300, amount: 50)
        // Paid on the first day, after orders paid on the second: the sum goes back to its day.
        try Admin.notify(world, "O-T3", at: Admin.day0 + 400, amount: 6000)
        let html = Admin.get(world, "/admin/totals?lang=en").text
        #expect(html.contains("<th class=\"num\">TMoney</th><th class=\"num\">Flooz</th>"))
        let rows = html.components(separatedBy: "<tr><td>").dropFirst().map { String($0.prefix(while: { $0 != "\n" })) }
        #expect(rows == [
            "2026-03-02</td><td class=\"num operator tmoney\">3 000 F CFA (1)</td><td class=\"num operator flooz\">4 000 F CFA (1)</td><td class=\"num\">2</td><td class=\"num\">7 000 F CFA</td></tr>",
            "2026-03-01</td><td class=\"num operator tmoney\">7 000 F CFA (2)</td><td class=\"num operator flooz\">2 000 F CFA (1)</td><td class=\"num\">3</td><td class=\"num\">9 000 F CFA</td></tr>",
        ])
        #expect(html.contains("id=\"paid-tmoney\">10 000 F CFA (3)</th>") && html.contains("id=\"paid-flooz\">6 000 F CFA (2)</th>"))
        #expect(html.contains("id=\"paid-count\">5</th>") && html.contains("id=\"paid-sum\">16 000 F CFA</th>"))
        // Only the second day.
        let second = Admin.get(world, "/admin/totals?from=2026-03-02").text
        #expect(second.contains("id=\"paid-tmoney\">3 000 F CFA (1)</th>") && second.contains("id=\"paid-flooz\">4 000 F CFA (1)</th>"))
        // The list's totals link does not carry the operator filter: the totals show every operator.
        #expect(Admin.get(world, "/admin/?operator=flooz&lang=en").text.contains("href=\"/admin/totals?lang=en\""))
    }
}

@Suite struct AdminIndexTests {
    @Test func newOrdersAndNotificationsShowUpOnTheNextRequest() throws {
        let world = try Admin.world()
        try Admin.order(world, "R-1", created: Admin.day0)
        #expect(Admin.refs(Admin.get(world, "/admin/").text) == ["R-1"])
        try world.createOrder(["purchaseref": "R-2", "amount": 2000])
        #expect(Admin.refs(Admin.get(world, "/admin/").text) == ["R-2", "R-1"])
        _ = world.notify(World.okParameters("R-2", amount: "2000"))
        #expect(Admin.refs(Admin.get(world, "/admin/?status=paid").text) == ["R-2"])
        // An order created earlier than the newest (a clock step back, a replay) takes its place by time.
        try Admin.order(world, "R-0", created: Admin.day0 - 60)
        #expect(Admin.refs(Admin.get(world, "/admin/").text) == ["R-2", "R-1", "R-0"])
        #expect(try world.store.table.withTable { $0.loads } == 1, "read incrementally, never from the start again")
    }

    @Test func aRebuiltIndexIsReadAgainFromTheStart() throws {
        let world = try Admin.world()
        for index in 0..<5 { try Admin.order(world, "B-\(index)", created: Admin.day0 + Int64(index)) }
        #expect(Admin.refs(Admin.get(world, "/admin/").text).count == 5)
        // Rebuilt from fewer orders than the old index named: only the rebuilt file's orders remain.
        let orders = world.store.allOrders().compactMap { try? $0.get() }.filter { $0.ref != "B-2" }
        #expect(orders.count == 4)
        try world.store.index.rebuild(from: orders)
        #expect(Admin.refs(Admin.get(world, "/admin/").text) == ["B-4", "B-3", "B-1", "B-0"])
        #expect(try world.store.table.withTable { $0.loads } == 2)
        // And it goes on incrementally from the new file.
        try Admin.order(world, "B-9", created: Admin.day0 + 9)
        #expect(Admin.refs(Admin.get(world, "/admin/").text).first == "B-9")
        #expect(try world.store.table.withTable { $0.loads } == 2)
    }

    @Test func anIncompleteLastLineWaitsForItsEnd() throws {
        let world = try Admin.world()
        try Admin.order(world, "L-1", created: Admin.day0)
        #expect(Admin.refs(Admin.get(world, "/admin/").text) == ["L-1"])
        let order = try Admin.order(world, "L-2", created: Admin.day0 + 1)
        // Cut L-2's line in two, as a reader may see an append in progress.
        let path = world.store.index.path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let line = Array(OrderIndex.line(order).utf8)
        bytes.removeLast(line.count)
        try bytes.write(to: URL(fileURLWithPath: path))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.prefix(40)))
        #expect(Admin.refs(Admin.get(world, "/admin/").text) == ["L-1"])
        try handle.write(contentsOf: Data(line.dropFirst(40)))
        try handle.close()
        #expect(Admin.refs(Admin.get(world, "/admin/").text) == ["L-2", "L-1"])
    }

    @Test func theTableAgreesWithTheOrderFiles() throws {
        let world = try Admin.world()
        let refs = ["x\ty", "100%", "a b+c", "日本語-注文", String(repeating: "é", count: 250), "<&>\"'", "plain-1"]
        for (index, ref) in refs.enumerated() {
            try Admin.order(world, ref, created: Admin.day0 + Int64(index), phone: index % 2 == 0 ? "+22890000\(index)00" : nil)
        }
        try Admin.notify(world, refs[1], at: Admin.day0 + 100, mobile: "22899999999")
        try Admin.notify(world, refs[3], at: Admin.day0 + 200, status: .nok, error: "CANCEL")
        let table = IndexTable()
        try table.refresh(path: world.store.index.path)
        let orders = world.store.allOrders().compactMap { try? $0.get() }
        #expect(table.count == refs.count && orders.count == refs.count)
        for order in orders {
            let id = try #require(table.row(order.key))
            let summary = table.summary(id)
            let paid = order.status == .paid || order.status == .review
            #expect(summary == OrderSummary(
                key: order.key, ref: order.ref, phone: order.details.phone ?? order.payment?.payer.phone ?? "",
                createdAt: order.createdAt.seconds, paidAt: paid ? order.payment?.receivedAt.seconds : nil, status: order.status,
                amount: order.amount.francs, operator: order.operator), "\(order.ref)")
        }
        #expect(table.skippedLines == 0)
    }
}
