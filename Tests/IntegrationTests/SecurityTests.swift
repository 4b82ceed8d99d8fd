import Foundation
import Payments
import Testing
import TestStack

/// The security regression suite, through the real stack (nginx + `cross serve`, and `cross sandbox` where
/// TMoney's pages are involved). What an attacker can send, and what must come of it:
///
/// | attack | here | also |
/// |---|---|---|
/// | forged notification from another address; spoofed X-Forwarded-For / X-Real-IP | `forgedNotificationsInEveryDisguise` (other headers, refusals, unknown orders) | `CheckoutStackTests.notificationFromAnotherAddressIsRefused` |
/// | amount or currency tampering in a notification | `amountAndCurrencyTamperingNeverPays` | `NotificationEndpointTests` (in process) |
/// | replayed notification | `replayedNotificationsChangeNothing` | `CheckoutStackTests.hundredIdenticalNotifications…` (concurrent) |
/// | XSS in every rendered field, on Cross's, the sandbox's and the dashboard's pages | `hostileTextIsInertOnEveryPage` | `CheckoutTests.hostileValuesAreRenderedInert` (in process) |
/// | open redirects through return URLs, the button, the Referer, the return pages | `openRedirectsAreRefused` | |
/// | path traversal in references and paths | `pathTraversalStaysInTheDataFolder` | |
/// | oversized headers and bodies | `oversizedHeadersAndBodiesAreRefused` | `FoundationStackTests.oversizedBodyIs413…` |
/// | slow clients | `slowClientsDoNotHoldUpOthers` | |
/// | bytes that are not UTF-8 in query, path, form, JSON, headers | `bytesThatAreNotUTF8AreRefusedNever500` | |
/// | invalid percent escapes | `invalidPercentEscapesAre400OnEveryRoute` | `FoundationStackTests.invalidEscapeInTheQueryIs400` (home page) |
/// | a payment button with a tampered signature | `tamperedButtonsAre400AndMakeNoOrder` | `ButtonTests.refused` (in process) |
/// | the dashboard without or with wrong credentials | `dashboardNeedsTheRightCredentials` | |
@Suite(.serialized) struct SecurityTests {
    // MARK: - Notifications

    @Test func forgedNotificationsInEveryDisguise() throws {
        let stack = try Stack(name: "sec-forged")
        defer { stack.stop() }
        try stack.createOrder("SEC-F1")
        let disguises: [[(String, String)]] = [
            [],
            [("X-Forwarded-For", "127.0.0.1")],
            [("X-Forwarded-For", "10.0.0.1, 127.0.0.1")],
            [("X-Real-IP", "127.0.0.1")],
            [("Forwarded", "for=127.0.0.1;proto=https")],
            [("X-Client-IP", "127.0.0.1"), ("True-Client-IP", "127.0.0.1"), ("CF-Connecting-IP", "127.0.0.1")],
            [("X-Originating-IP", "127.0.0.1"), ("X-Remote-Addr", "127.0.0.1"), ("Client-IP", "127.0.0.1")],
            [("X-Forwarded-Host", "127.0.0.1"), ("X-Forwarded-Proto", "https"), ("Via", "1.1 tmoney")],
        ]
        var forged = 0
        for headers in disguises {
            for target in [
                Stack.notification("SEC-F1"), Stack.notification("SEC-F1", status: "NOK", payid: "", error: "CANCEL"),
                Stack.notification("SEC-F1", amount: "1"), Stack.notification("SEC-NOPE"),
            ] {
                let answer = try HTTPClient.get(stack.port, target, headers: headers, from: "127.0.0.2")
                #expect(answer.status == 403, "\(headers) \(target): \(answer.status)")
                #expect(!answer.text.contains("Unknown purchaseref"), "a forger learns nothing of which orders exist")
                forged += 1
            }
        }
        let order = try #require(try stack.order("SEC-F1"))
        #expect(order["status"] as? String == "pending")
        #expect(order["notifications"] as? Int == 0)
        // A stranger's calls are counted, not journaled: one log line for the minute, under the real address.
        let journal = try Security.journal(stack)
        #expect(journal.filter { $0["kind"] as? String == "call.refused" }.isEmpty, "no journal line for a stranger's call")
        let lines = stack.cross!.log.split(separator: "\n").filter { $0.contains("notification refused: source address not allowed") }
        #expect(lines.count == 1 && lines[0].contains("remote=127.0.0.2") && lines[0].contains("count=1"), "\(lines)")
        #expect(forged == 32)
    }

    @Test func amountAndCurrencyTamperingNeverPays() throws {
        let stack = try Stack(name: "sec-amount")
        defer { stack.stop() }
        // Taken, recorded, and sent to review: money may have moved, a person must look.
        let reviewed: [(String, String, String)] = [
            ("one franc more", "15001", "952"), ("one franc less", "14999", "952"), ("ten times less", "1500", "952"),
            ("ten times more", "150000", "952"), ("least", "100", "952"), ("another currency", "15000", "978"),
            ("no currency", "15000", "000"),
        ]
        for (index, (name, amount, currency)) in reviewed.enumerated() {
            let ref = "SEC-AMT-\(index)"
            try stack.createOrder(ref, amount: 15000)
            var target = Stack.notification(ref, amount: amount, payid: "PAY-\(index)")
            target = target.replacingOccurrences(of: "currency=952", with: "currency=" + currency)
            #expect(try HTTPClient.get(stack.port, target).status == 200, "\(name)")
            let order = try #require(try stack.order(ref))
            #expect(order["status"] as? String == "review", "\(name)")
            #expect((order["review_reasons"] as? [String])?.isEmpty == false, "\(name)")
            // The right notification afterwards does not make it paid either: review is final.
            #expect(try HTTPClient.get(stack.port, Stack.notification(ref, payid: "PAY-RIGHT-\(index)")).status == 200)
            #expect(try stack.order(ref)?["status"] as? String == "review", "\(name), then the right amount")
        }
        // Not amounts at all: refused, the order untouched.
        for (index, amount) in ["15000.00", "15000,00", "-15000", "+15000", "1.5e4", "15 000", "0x3A98", "15000F", "99999999999", ""].enumerated() {
            let ref = "SEC-BAD-\(index)"
            try stack.createOrder(ref, amount: 15000)
            let answer = try HTTPClient.get(stack.port, Stack.notification(ref, amount: amount))
            #expect(answer.status == 400, "\(amount): \(answer.status)")
            #expect(try stack.order(ref)?["status"] as? String == "pending", "\(amount)")
            #expect(try stack.order(ref)?["notifications"] as? Int == 0, "\(amount)")
        }
        // A paid order and a second notification of the same payid for another amount: nothing changes.
        try stack.createOrder("SEC-PAID", amount: 15000)
        #expect(try HTTPClient.get(stack.port, Stack.notification("SEC-PAID", payid: "PAY-P")).status == 200)
        #expect(try HTTPClient.get(stack.port, Stack.notification("SEC-PAID", amount: "150", payid: "PAY-P")).status == 200)
        let paid = try #require(try stack.order("SEC-PAID"))
        #expect(paid["status"] as? String == "paid")
        #expect((paid["payment"] as? [String: Any])?["amount"] as? Int == 15000)
    }

    @Test func replayedNotificationsChangeNothing() throws {
        let stack = try Stack(name: "sec-replay")
        defer { stack.stop() }
        try stack.createOrder("SEC-R1")
        let cancel = Stack.notification("SEC-R1", status: "NOK", payid: "NOK-1", error: "CANCEL")
        let pay = Stack.notification("SEC-R1", payid: "PAY-1")
        #expect(try HTTPClient.get(stack.port, cancel).text == "OK")
        let first = try HTTPClient.get(stack.port, pay)
        #expect(first.status == 200)
        let file = try #require(try Security.orderFile(stack, "SEC-R1"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let api = try HTTPClient.request(port: stack.port, method: "GET", target: "/api/orders/SEC-R1", headers: [("Authorization", "Bearer " + Stack.apiKey)]).body
        // The same notifications again, as they came, in another parameter order, with an extra parameter.
        let query = String(pay.dropFirst("/notify?".count)).split(separator: "&")
        let replays = [pay, pay, cancel, "/notify?" + query.reversed().joined(separator: "&"), pay + "&utm_source=replay"]
        for replay in replays {
            let answer = try HTTPClient.get(stack.port, replay)
            #expect(answer.status == first.status, "\(replay)")
            #expect(answer.text == first.text, "the same answer")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == bytes, "the order file is unchanged")
        let again = try HTTPClient.request(port: stack.port, method: "GET", target: "/api/orders/SEC-R1", headers: [("Authorization", "Bearer " + Stack.apiKey)]).body
        #expect(again == api)
        let kinds = try Security.journal(stack).compactMap { $0["kind"] as? String }
        #expect(kinds.filter { $0 == "event.duplicate" }.count == replays.count)
        #expect(kinds.filter { $0 == "event.applied" }.count == 2)
    }

    // MARK: - Pages

    @Test func hostileTextIsInertOnEveryPage() throws {
        let brand = "Chez \"Ama\" & 'Fils' onload='alert(9)"
        let accountName = "<script>alert('acct')</script>\"><img src=x onerror=alert(7)>"
        let stack = try Stack(
            name: "sec-xss",
            settings: ["brand": brand, "admin": ["user": "admin", "password_hash": Security.passwordHash]],
            sandbox: true,
            sandboxSettings: ["accounts": [
                ["phone": "90000001", "pin": "1234", "name": accountName, "client_id": "1000000001", "balance": 5_000_000],
            ]])
        defer { stack.stop() }
        let ref = "<script>alert('ref')</script>\"><img src=x onerror=alert(1)>'"
        let base = "http://127.0.0.1:\(stack.port)"
        var fields: [String: Any] = [
            "description": "\" onmouseover=\"alert(2)\" x=' & é",
            "text": "' onfocus='alert(3)' autofocus='",
            "phone": "90000001",
        ]
        // Return URLs with quotes and markup: refused (422), or taken and then shown inert like the rest.
        for (field, url) in [
            ("accept_url", base + "/shop/?q='onmouseover='alert(4)'"), ("decline_url", base + "/shop/?\"><script>alert(10)</script>"),
            ("cancel_url", base + "/shop/?\" onmouseover=\"alert(11)"),
        ] {
            let probe = try Security.create(stack, ["purchaseref": "SEC-URL-" + field, "amount": 15000, field: url])
            #expect(probe.status == 201 || probe.status == 422, "\(field): \(probe.status)")
            fields[field] = probe.status == 201 ? url : base + "/shop/"
        }
        let order = try stack.createOrder(ref, amount: 15000, extra: fields)
        // HTML in a plain-text field is refused outright.
        for (field, value) in [("description", "<script>alert(5)</script>"), ("text", "<b onmouseover=alert(6)>x</b>"), ("brand", "<img src=x>"),
                               ("phone", "<script>"), ("language", "<svg/onload=alert(1)>")] {
            let answer = try Security.create(stack, ["purchaseref": "SEC-HTML-" + field, "amount": 15000, field: value])
            #expect(answer.status == 422, "\(field): \(answer.status)")
            #expect(answer.text.contains(field))
            #expect(answer.header("content-type") == "application/json", "an error in JSON, never HTML")
        }

        let checkoutPath = String((order["checkout_url"] as! String).dropFirst(base.count))
        let link = String(checkoutPath.dropFirst("/pay/".count))
        var pages: [(String, HTTPResult)] = []
        let checkout = try HTTPClient.get(stack.port, checkoutPath)
        #expect(checkout.status == 200)
        #expect(checkout.text.contains("&lt;script&gt;alert(&#39;ref&#39;)&lt;/script&gt;"), "the reference is shown, escaped")
        pages.append(("checkout", checkout))
        for outcome in ["accept", "decline", "cancel"] {
            pages.append(("return \(outcome), pending", try HTTPClient.get(stack.port, "/return/\(outcome)?order=" + link)))
        }

        // TMoney's pages (the sandbox), with the checkout form as the shopper's browser posts it.
        let hidden = HTMLForm.hiddenFields(checkout.text)
        #expect(hidden.contains { $0.0 == "purchaseref" && $0.1 == ref }, "escaped in HTML, intact once decoded")
        let form = hidden.map { Security.formEncode($0.0) + "=" + Security.formEncode($0.1) }.joined(separator: "&")
        let payment = try HTTPClient.post(stack.sandboxPort, "/online/online.php", body: Array(form.utf8), contentType: "application/x-www-form-urlencoded")
        #expect(payment.status == 200, "\(payment.text.prefix(500))")
        pages.append(("sandbox payment page", payment))
        let refusedForm = form + "&brand=%3Cscript%3Ealert(8)%3C%2Fscript%3E"
        pages.append(("sandbox refused form", try HTTPClient.post(stack.sandboxPort, "/online/online.php", body: Array(refusedForm.utf8), contentType: "application/x-www-form-urlencoded")))
        pages.append(("sandbox tools", try HTTPClient.get(stack.sandboxPort, "/sandbox")))
        pages.append(("sandbox SMS", try HTTPClient.get(stack.sandboxPort, "/sandbox/sms")))

        // TMoney's notification carries text of its own: the payment reference and the payer's name.
        var components = URLComponents()
        components.queryItems = [
            ("purchaseref", ref), ("amount", "15000"), ("currency", "952"), ("status", "OK"), ("clientid", "C1"),
            ("cname", "<img src=x onerror=alert('cname')>\"'"), ("mobile", "22890000001"),
            ("paymentref", "\"><script>alert('pr')</script>"), ("payid", "P<1>"), ("timestamp", "1469024554"), ("error", ""),
        ].map { URLQueryItem(name: $0.0, value: $0.1) }
        let notify = "/notify?" + components.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B")
        #expect(try HTTPClient.get(stack.port, notify).status == 200)
        for outcome in ["accept", "decline", "cancel"] {
            let page = try HTTPClient.get(stack.port, "/return/\(outcome)?order=" + link)
            #expect(page.text.contains("&quot;&gt;&lt;script&gt;alert(&#39;pr&#39;)&lt;/script&gt;"), "the payment reference is shown, escaped")
            pages.append(("return \(outcome), paid", page))
        }
        pages.append(("checkout, paid", try HTTPClient.get(stack.port, checkoutPath)))
        pages.append(("not found", try HTTPClient.get(stack.port, "/pay/<script>alert(1)</script>")))
        pages.append(("error page", try HTTPClient.get(stack.port, "/nothing/<script>alert(1)</script>?x=\"><script>")))

        // The dashboard shows everything, the payer's name too.
        let auth = [("Authorization", Security.basic("admin", Security.password))]
        let key = try #require(try Security.orderFile(stack, ref).map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension })
        for path in ["/admin/orders", "/admin/orders?q=%3Cscript%3E", "/admin/orders/" + key, "/admin/totals"] {
            let page = try HTTPClient.get(stack.port, path, headers: auth)
            #expect(page.status == 200, "\(path): \(page.status)")
            pages.append(("dashboard " + path, page))
        }
        let csv = try HTTPClient.get(stack.port, "/admin/orders.csv", headers: auth)
        #expect(csv.header("content-type")?.hasPrefix("text/csv") == true, "the CSV is not served as HTML")

        for (name, page) in pages {
            Security.expectInert(page.text, name)
        }
        // The payloads are there, escaped, where each page shows them (not merely absent).
        func page(_ name: String) -> String { pages.first { $0.0 == name }?.1.text ?? "" }
        if fields["decline_url"] as? String != base + "/shop/" {
            #expect(page("return decline, pending").contains("?&quot;&gt;&lt;script&gt;alert(10)&lt;/script&gt;"), "the decline URL, escaped")
        }
        if fields["accept_url"] as? String != base + "/shop/" {
            #expect(page("return accept, paid").contains("?q=&#39;onmouseover=&#39;alert(4)&#39;"), "the accept URL, escaped")
        }
        #expect(page("sandbox tools").contains("&lt;script&gt;alert(&#39;acct&#39;)&lt;/script&gt;"), "the account name, escaped")
        #expect(page("dashboard /admin/orders/" + key).contains("&lt;img src=x onerror=alert(&#39;cname&#39;)&gt;"), "the payer's name, escaped")
        #expect(page("sandbox payment page").contains("&#39; onfocus=&#39;alert(3)&#39;"), "the text, escaped")
    }

    @Test func openRedirectsAreRefused() throws {
        let stack = try Stack(name: "sec-redirect")
        defer { stack.stop() }
        let evil = [
            "javascript:alert(1)", "JavaScript:alert(document.domain)//http://127.0.0.1/", "data:text/html,<script>alert(1)</script>",
            "//evil.example/", "///evil.example/", "https://evil.example/", "HTTPS://EVIL.EXAMPLE/", "http://127.0.0.1.evil.example/",
            "http://127.0.0.1@evil.example/", "http://127.0.0.1:80@evil.example/", "http://evil.example@127.0.0.1/",
            "http://evil.example%40127.0.0.1/", "http://evil.example\\@127.0.0.1/", "http:\\\\evil.example\\", "http:/\\evil.example/",
            "/\\evil.example/", "\\\\evil.example", " http://evil.example/", "http://evil.example/\thttp://127.0.0.1/",
            "ftp://127.0.0.1/", "http://127.0.0.1\u{3002}evil.example/", "http://[::1]/", "http://2130706433/", "http:evil.example",
            "https://evil.example#@127.0.0.1/", "https://evil.example?@127.0.0.1/",
        ]
        var index = 0
        for url in evil {
            for field in ["accept_url", "decline_url", "cancel_url"] {
                index += 1
                let ref = "SEC-REDIR-\(index)"
                let answer = try Security.create(stack, ["purchaseref": ref, "amount": 15000, field: url])
                #expect(answer.status == 422, "\(field) = \(url): \(answer.status) \(answer.text)")
                #expect(answer.text.contains(field), "\(url)")
                #expect(try stack.order(ref) == nil)
                Security.expectNoForeignLocation(answer, stack)
            }
        }

        // Payment buttons: the merchant's signature does not make another host acceptable.
        for url in ["https://evil.example/", "//evil.example/", "javascript:alert(1)"] {
            let fields = ["purchaseref": "SEC-BTN-" + String(url.count), "amount": "15000", "accept_url": url]
            let answer = try Security.postButton(stack, fields, referer: "https://evil.example/page")
            #expect(answer.status == 400, "\(url): \(answer.status)")
            #expect(!answer.text.contains("evil.example"), "no link back to a host the merchant did not name")
            Security.expectNoForeignLocation(answer, stack)
            #expect(try stack.order(fields["purchaseref"]!) == nil)
        }
        let good = try Security.postButton(stack, ["purchaseref": "SEC-BTN-OK", "amount": "15000"], referer: "http://127.0.0.1:\(stack.port)/shop/")
        #expect(good.status == 303)
        #expect(good.header("location")?.hasPrefix("/pay/") == true)
        Security.expectNoForeignLocation(good, stack)

        // The return pages and the checkout take no destination from their URL.
        let order = try stack.createOrder("SEC-RET")
        let link = String((order["checkout_url"] as! String).split(separator: "/").last!)
        for target in [
            "/return/accept?order=\(link)&next=https://evil.example/", "/return/cancel?order=\(link)&url=//evil.example",
            "/return/decline?order=\(link)&redirect=https%3A%2F%2Fevil.example", "/pay/\(link)?return=https://evil.example",
            "//evil.example/", "/%2F%2Fevil.example/", "/\\evil.example/", "/shop/..//evil.example",
        ] {
            let answer = try HTTPClient.get(stack.port, target)
            Security.expectNoForeignLocation(answer, stack)
            #expect(!answer.text.contains("evil.example\""), "\(target)")
        }
    }

    @Test func pathTraversalStaysInTheDataFolder() throws {
        let stack = try Stack(name: "sec-traversal")
        defer { stack.stop() }
        let marker = "cross-traversal-\(getpid())"
        let refs = [
            "../../\(marker)", "../../../../../../../../tmp/\(marker)", "/tmp/\(marker)", "..%2F..%2F\(marker)",
            "..\\..\\\(marker)", "orders/../../\(marker)", "./\(marker)/..", "CON", "nul.json", ".json", "..", ".",
            "\(marker)/../../../etc/passwd", "%2e%2e%2f%2e%2e%2f\(marker)",
        ]
        let auth = [("Authorization", "Bearer " + Stack.apiKey)]
        for ref in refs {
            try stack.createOrder(ref)
            #expect(try HTTPClient.get(stack.port, Stack.notification(ref, status: "NOK", payid: "", error: "CANCEL")).status == 200, "\(ref)")
            let read = try HTTPClient.get(stack.port, "/api/orders/" + Security.percentEncode(ref), headers: auth)
            if read.status == 400 {
                // nginx decodes %2F before it normalises the path, and refuses one that climbs above the root:
                // such a reference cannot be read through GET /api/orders/{ref} (its file is there, see below).
                #expect(ref.components(separatedBy: "../").count > 3 && read.text.contains("nginx"), "\(ref)")
                continue
            }
            #expect(read.status == 200, "\(ref): \(read.status)")
            let order = try #require(try JSONSerialization.jsonObject(with: Data(read.body)) as? [String: Any], "\(ref)")
            #expect(order["purchaseref"] as? String == ref)
            #expect(order["status"] as? String == "cancelled")
        }
        for ref in refs {
            let file = try #require(try Security.orderFile(stack, ref), "\(ref)")
            #expect(file.hasPrefix(stack.dataDirectory + "/orders/"))
        }
        // Nothing named after a reference, anywhere: every file of the data folder is where it belongs.
        #expect(!FileManager.default.fileExists(atPath: "/tmp/" + marker))
        #expect(!FileManager.default.fileExists(atPath: NSTemporaryDirectory() + marker))
        #expect(!FileManager.default.fileExists(atPath: NSTemporaryDirectory() + "cross-tests/" + marker))
        #expect(!FileManager.default.fileExists(atPath: stack.runDirectory + "/" + marker))
        let enumerator = FileManager.default.enumerator(atPath: stack.runDirectory)
        while let relative = enumerator?.nextObject() as? String {
            #expect(!relative.contains(marker), "\(relative)")
        }
        let orders = FileManager.default.enumerator(atPath: stack.dataDirectory + "/orders")
        var files = 0
        while let relative = orders?.nextObject() as? String {
            let parts = relative.split(separator: "/")
            if parts.count == 2 {
                files += 1
                #expect(parts[1].count == 37 && parts[1].hasSuffix(".json") && parts[1].hasPrefix(parts[0]), "\(relative)")
            }
        }
        #expect(files == refs.count)
        // Through the API's path: the order of that reference, or 404; never a file outside the data folder.
        for target in [
            "/api/orders/..%2F..%2Fetc%2Fpasswd", "/api/orders/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/api/orders/../../etc/passwd",
            "/api/orders/..%252F..%252Fetc%252Fpasswd", "/api/orders/%2F%2Fetc%2Fpasswd", "/api/orders/..", "/api/orders/.%2E/cross.json",
            "/pay/..%2F..%2Fcross.json", "/return/accept?order=../../cross.json", "/%2e%2e/%2e%2e/etc/passwd", "/../cross.json",
            "/shop/../../cross.json", "/api/orders/" + Security.percentEncode("../../\(marker)"),
        ] {
            let answer = try HTTPClient.get(stack.port, target, headers: auth)
            #expect(answer.status != 500 && answer.status != 200 || answer.text.contains("\"purchaseref\""), "\(target): \(answer.status)")
            #expect(!answer.text.contains("root:x:0:0"), "\(target)")
            #expect(!answer.text.contains("link_secret"), "\(target)")
        }
        let named = try HTTPClient.get(stack.port, "/api/orders/" + Security.percentEncode("../../\(marker)"), headers: auth)
        #expect(named.status == 200 && named.text.contains(marker), "the order of that reference, found by its name")
    }

    // MARK: - What nginx and Cross take

    @Test func oversizedHeadersAndBodiesAreRefused() throws {
        let stack = try Stack(name: "sec-size")
        defer { stack.stop() }
        let big = String(repeating: "a", count: 16 * 1024)
        let header = try HTTPClient.get(stack.port, "/healthz", headers: [("X-Big", big)])
        #expect([400, 431, 494].contains(header.status), "one 16 KiB header: \(header.status)")
        let many = try HTTPClient.get(stack.port, "/healthz", headers: (0..<40).map { ("X-Many-\($0)", String(repeating: "b", count: 1000)) })
        #expect([400, 431, 494].contains(many.status), "40 KB of headers: \(many.status)")
        let cookie = try HTTPClient.get(stack.port, "/api/orders/x", headers: [("Cookie", "session=" + big), ("Authorization", "Bearer " + Stack.apiKey)])
        #expect([400, 431, 494].contains(cookie.status), "a 16 KiB cookie: \(cookie.status)")
        let uri = try HTTPClient.get(stack.port, "/notify?purchaseref=" + String(repeating: "x", count: 20 * 1024))
        #expect(uri.status == 414, "a 20 KiB request line: \(uri.status)")

        let tooBigForNginx = try Security.send(stack, method: "POST", target: "/api/orders", headers: [
            ("Content-Type", "application/json"), ("Authorization", "Bearer " + Stack.apiKey),
        ], body: [UInt8](repeating: UInt8(ascii: " "), count: 2 << 20))
        #expect(tooBigForNginx?.status == 413, "2 MiB: \(tooBigForNginx?.status ?? 0)")
        let padded = "{\"purchaseref\": \"SEC-BIG\", \"amount\": 15000, \"description\": \"" + String(repeating: "x", count: 100 * 1024) + "\"}"
        let tooBigForCross = try HTTPClient.json(stack.port, "POST", "/api/orders", padded, apiKey: Stack.apiKey)
        #expect(tooBigForCross.status == 413, "100 KiB: \(tooBigForCross.status)")
        let form = try HTTPClient.post(stack.port, "/checkout", body: Array(("amount=15000&description=" + String(repeating: "y", count: 100 * 1024)).utf8), contentType: "application/x-www-form-urlencoded")
        #expect(form.status == 413, "a 100 KiB form: \(form.status)")
        #expect(try stack.order("SEC-BIG") == nil)
        // And the server is none the worse.
        for _ in 0..<5 { #expect(try HTTPClient.get(stack.port, "/healthz").status == 200) }
        try stack.createOrder("SEC-AFTER")
        #expect(!stack.cross!.log.contains("status=500"))
    }

    @Test func slowClientsDoNotHoldUpOthers() throws {
        let stack = try Stack(name: "sec-slow")
        defer { stack.stop() }
        let before = try Security.latencies(stack, count: 10)
        // More slow clients than Cross has workers (16): half send their head one byte every 200 ms, half a
        // complete head and then their body at that pace.
        let stop = Security.Flag()
        let group = DispatchGroup()
        for index in 0..<24 {
            DispatchQueue.global().async(group: group) {
                let body = "{\"purchaseref\": \"SEC-SLOW-\(index)\", \"amount\": 15000}"
                let head = "POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Stack.apiKey)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                guard let fd = try? HTTPClient.connect(port: stack.port, timeout: 30) else { return }
                defer { close(fd) }
                let slowPart = index % 2 == 0 ? Array(head.utf8) + Array(body.utf8) : Array(body.utf8)
                if index % 2 == 1 { try? HTTPClient.sendAll(fd, Array(head.utf8)) }
                for byte in slowPart {
                    if stop.isSet { return }
                    guard (try? HTTPClient.sendAll(fd, [byte])) != nil else { return }
                    usleep(200_000)
                }
            }
        }
        usleep(1_000_000)
        let during = try Security.latencies(stack, count: 20)
        stop.set()
        group.wait()
        let median = during.sorted()[during.count / 2]
        #expect(during.max()! < 1.0, "with 24 slow clients: \(during)")
        #expect(median < max(0.25, 5 * before.sorted()[before.count / 2]), "median \(median) s, before \(before)")
    }

    @Test func bytesThatAreNotUTF8AreRefusedNever500() throws {
        let stack = try Stack(name: "sec-utf8")
        defer { stack.stop() }
        try stack.createOrder("SEC-U1")
        let order = try #require(try stack.order("SEC-U1"))
        let link = String((order["checkout_url"] as! String).split(separator: "/").last!)
        let auth = [("Authorization", "Bearer " + Stack.apiKey)]
        var cases: [(String, [UInt8])] = []
        func request(_ line: [UInt8], _ headers: [(String, String)] = [], body: [UInt8] = [], rawHeader: [UInt8] = []) -> [UInt8] {
            var bytes = line + Array(" HTTP/1.0\r\nHost: 127.0.0.1\r\n".utf8)
            for (name, value) in headers { bytes += Array("\(name): \(value)\r\n".utf8) }
            bytes += rawHeader
            if !body.isEmpty { bytes += Array("Content-Length: \(body.count)\r\n".utf8) }
            return bytes + Array("\r\n".utf8) + body
        }
        let notify = Array(Stack.notification("SEC-U1").utf8)
        // Escaped: %FF, an overlong "/", a lone surrogate, a truncated sequence.
        for bad in ["%FF", "%C0%AF", "%ED%A0%80", "%E2%82", "%C3%28"] {
            cases.append(("query \(bad)", request(Array("GET ".utf8) + notify.replacingFirst("SEC-U1", with: "SEC-U1" + bad))))
            cases.append(("path \(bad)", request(Array("GET /api/orders/SEC\(bad)".utf8), auth)))
            cases.append(("link \(bad)", request(Array("GET /return/accept?order=\(link)\(bad)".utf8))))
            cases.append(("form \(bad)", request(Array("POST /checkout".utf8), [("Content-Type", "application/x-www-form-urlencoded")], body: Array("amount=15000&description=x\(bad)&signature=x".utf8))))
        }
        // Raw bytes.
        for raw: [UInt8] in [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0xAF]] {
            cases.append(("raw query", request(Array("GET ".utf8) + notify.replacingFirst("SEC-U1", with: "SEC-U1", extra: raw))))
            cases.append(("raw path", request(Array("GET /api/orders/SEC".utf8) + raw, auth)))
            cases.append(("raw form", request(Array("POST /checkout".utf8), [("Content-Type", "application/x-www-form-urlencoded")], body: Array("amount=15000&description=".utf8) + raw + Array("&signature=x".utf8))))
            cases.append(("raw JSON", request(Array("POST /api/orders".utf8), [("Content-Type", "application/json")] + auth, body: Array("{\"purchaseref\": \"SEC-U2".utf8) + raw + Array("\", \"amount\": 15000}".utf8))))
            cases.append(("raw header", request(Array("GET /api/orders/SEC-U1".utf8), [], rawHeader: Array("Authorization: Bearer ".utf8) + raw + Array("\r\n".utf8))))
            cases.append(("raw referer", request(Array("POST /checkout".utf8), [("Content-Type", "application/x-www-form-urlencoded")], body: Array("amount=15000&signature=x".utf8), rawHeader: Array("Referer: http://127.0.0.1/".utf8) + raw + Array("\r\n".utf8))))
        }
        cases.append(("JSON lone surrogate", request(Array("POST /api/orders".utf8), [("Content-Type", "application/json")] + auth, body: Array("{\"purchaseref\": \"SEC-U3\\ud800\", \"amount\": 15000}".utf8))))
        for (name, bytes) in cases {
            let answer = try HTTPClient.parse(HTTPClient.exchange(port: stack.port, bytes: bytes))
            #expect((400..<500).contains(answer.status), "\(name): \(answer.status) \(answer.text.prefix(200))")
            if name == "raw query" || name == "raw path" {
                // Raw bytes that are not UTF-8 in the request line are refused as such, like escaped ones.
                #expect(answer.status == 400, "\(name): \(answer.status)")
            } else {
                #expect(answer.status == 400 || answer.status == 401 || answer.status == 422, "\(name): \(answer.status)")
            }
        }
        #expect(try stack.order("SEC-U1")?["status"] as? String == "pending")
        for ref in ["SEC-U2", "SEC-U3"] { #expect(try stack.order(ref) == nil) }
        #expect(!stack.cross!.log.contains("status=500"), "never a 500")
    }

    @Test func invalidPercentEscapesAre400OnEveryRoute() throws {
        let stack = try Stack(name: "sec-escapes")
        defer { stack.stop() }
        try stack.createOrder("SEC-E1")
        let order = try #require(try stack.order("SEC-E1"))
        let link = String((order["checkout_url"] as! String).split(separator: "/").last!)
        let auth = [("Authorization", "Bearer " + Stack.apiKey)]
        let notify = Stack.notification("SEC-E1")
        for target in [
            notify.replacingOccurrences(of: "SEC-E1", with: "SEC-E1%ZZ"), notify.replacingOccurrences(of: "amount=15000", with: "amount=150%0"),
            notify + "&%ZZ=1", notify + "&x=%", notify + "&x=%%41", "/api/orders/SEC%G1", "/api/orders/%", "/api/orders/SEC-E1%2",
            "/pay/\(link)%Z1", "/return/accept?order=\(link)%x", "/return/accept?order=%u0041", "/?%=1", "/healthz?a=%GG",
        ] {
            let answer = try HTTPClient.get(stack.port, target, headers: auth)
            #expect(answer.status == 400, "\(target): \(answer.status)")
        }
        for body in ["amount=15000&description=%Z0&signature=x", "amount=15000%", "purchaseref=%G0%G0&amount=15000&signature=x"] {
            let answer = try HTTPClient.post(stack.port, "/checkout", body: Array(body.utf8), contentType: "application/x-www-form-urlencoded")
            #expect(answer.status == 400, "\(body): \(answer.status)")
        }
        #expect(try stack.order("SEC-E1")?["notifications"] as? Int == 0)
        #expect(!stack.cross!.log.contains("status=500"))
    }

    // MARK: - Buttons and the dashboard

    @Test func tamperedButtonsAre400AndMakeNoOrder() throws {
        let stack = try Stack(name: "sec-button")
        defer { stack.stop() }
        let fields = ["purchaseref": "SEC-BTN", "amount": "15000", "description": "Sac de riz"]
        let signature = PaymentButton.sign(fields, secret: Security.buttonSecret)
        var cases: [(String, [(String, String)])] = []
        func pairs(_ values: [String: String], _ signature: String?) -> [(String, String)] {
            values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + (signature.map { [("signature", $0)] } ?? [])
        }
        cases.append(("amount", pairs(fields.merging(["amount": "150"]) { $1 }, signature)))
        cases.append(("reference", pairs(fields.merging(["purchaseref": "SEC-BTN-2"]) { $1 }, signature)))
        cases.append(("added field", pairs(fields.merging(["accept_url": "http://127.0.0.1/"]) { $1 }, signature)))
        cases.append(("removed field", pairs(fields.filter { $0.key != "description" }, signature)))
        cases.append(("unsigned", pairs(fields, nil)))
        cases.append(("empty signature", pairs(fields, "")))
        cases.append(("signature flipped", pairs(fields, String(signature.reversed()))))
        cases.append(("signature truncated", pairs(fields, String(signature.dropLast(4)))))
        cases.append(("signature twice", pairs(fields, signature) + [("signature", signature)]))
        cases.append(("field twice", pairs(fields, signature) + [("amount", "150")]))
        cases.append(("other secret", pairs(fields, PaymentButton.sign(fields, secret: "not-the-merchants-secret-0123"))))
        cases.append(("another button's signature", pairs(fields, PaymentButton.sign(["amount": "100"], secret: Security.buttonSecret))))
        for (name, form) in cases {
            let body = form.map { Security.formEncode($0.0) + "=" + Security.formEncode($0.1) }.joined(separator: "&")
            let answer = try HTTPClient.post(stack.port, "/checkout", body: Array(body.utf8), contentType: "application/x-www-form-urlencoded")
            #expect(answer.status == 400, "\(name): \(answer.status)")
            #expect(answer.header("location") == nil, "\(name)")
        }
        #expect(try stack.order("SEC-BTN") == nil)
        #expect(try stack.order("SEC-BTN-2") == nil)
        #expect(Security.orderFiles(stack) == 0, "no order at all")
        let good = try Security.postButton(stack, fields, referer: nil)
        #expect(good.status == 303)
        #expect(try stack.order("SEC-BTN")?["amount"] as? Int == 15000)
    }

    @Test func dashboardNeedsTheRightCredentials() throws {
        let stack = try Stack(name: "sec-admin", settings: ["admin": ["user": "admin", "password_hash": Security.passwordHash]])
        defer { stack.stop() }
        try stack.createOrder("SEC-ADMIN-SECRET")
        let key = try #require(try Security.orderFile(stack, "SEC-ADMIN-SECRET").map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension })
        let paths = ["/admin", "/admin/orders", "/admin/orders?status=paid", "/admin/orders.csv", "/admin/orders/" + key, "/admin/totals"]
        let wrong: [(String, [(String, String)])] = [
            ("none", []),
            ("empty", [("Authorization", "")]),
            ("wrong password", [("Authorization", Security.basic("admin", "wrong"))]),
            ("wrong user", [("Authorization", Security.basic("root", Security.password))]),
            ("user in another case", [("Authorization", Security.basic("Admin", Security.password))]),
            ("password with a space more", [("Authorization", Security.basic("admin", Security.password + " "))]),
            ("empty password", [("Authorization", Security.basic("admin", ""))]),
            ("no colon", [("Authorization", "Basic " + Data("admin".utf8).base64EncodedString())]),
            ("not base64", [("Authorization", "Basic !!!not-base64!!!")]),
            ("the hash as password", [("Authorization", Security.basic("admin", Security.passwordHash))]),
            ("the API key", [("Authorization", "Bearer " + Stack.apiKey)]),
            ("digest", [("Authorization", "Digest username=\"admin\"")]),
            ("from a proxy header", [("X-Forwarded-User", "admin"), ("X-Remote-User", "admin")]),
        ]
        // Each try from an address of its own, and every kind of wrong credential on one page or another, with
        // none and a wrong password on every page: past 5 failures a minute from one address, or 30 in all, Cross
        // answers 429 without hashing (SafeDefaultsTests), which is not what this test is about.
        var client = 1
        for (index, path) in paths.enumerated() {
            for (position, (name, headers)) in wrong.enumerated() where position < 3 || position % paths.count == index {
                client += 1
                let answer = try HTTPClient.get(stack.port, path, headers: headers, from: "127.0.\(client / 250).\(client % 250 + 2)")
                #expect(answer.status == 401, "\(path), \(name): \(answer.status)")
                #expect(answer.header("www-authenticate")?.hasPrefix("Basic") == true, "\(path), \(name)")
                #expect(!answer.text.contains("SEC-ADMIN-SECRET"), "nothing of the orders leaks")
            }
            let right = try HTTPClient.get(stack.port, path, headers: [("Authorization", Security.basic("admin", Security.password))])
            #expect(right.status == 200, "\(path) with the right credentials: \(right.status)")
        }
        // Without `admin` in the configuration, the dashboard does not exist.
        let off = try Stack(name: "sec-admin-off")
        defer { off.stop() }
        #expect(try HTTPClient.get(off.port, "/admin", headers: [("Authorization", Security.basic("admin", Security.password))]).status == 404)
    }
}

// MARK: - Helpers

enum Security {
    static let buttonSecret = "stack-button-secret-0123456789"
    static let password = "correct horse battery staple"
    /// PBKDF2-SHA256 of `password`, 1000 rounds, salt "cross-test-salt!" (as `cross admin hash-password` writes).
    static let passwordHash = "pbkdf2-sha256$1000$Y3Jvc3MtdGVzdC1zYWx0IQ==$ZX0iLnu1GziFjBqPWQaCCDrmZoviW9DSnUL10H0Ivyc="

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data((user + ":" + password).utf8).base64EncodedString()
    }

    static func create(_ stack: Stack, _ fields: [String: Any]) throws -> HTTPResult {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        return try HTTPClient.json(stack.port, "POST", "/api/orders", body, apiKey: Stack.apiKey)
    }

    static func postButton(_ stack: Stack, _ fields: [String: String], referer: String?) throws -> HTTPResult {
        let pairs = fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + [("signature", PaymentButton.sign(fields, secret: buttonSecret))]
        let body = pairs.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&")
        return try HTTPClient.post(stack.port, "/checkout", body: Array(body.utf8), contentType: "application/x-www-form-urlencoded",
                                   headers: referer.map { [("Referer", $0)] } ?? [])
    }

    /// Sends a request whose body the server may refuse before it is all sent; the answer, if any came.
    static func send(_ stack: Stack, method: String, target: String, headers: [(String, String)], body: [UInt8]) throws -> HTTPResult? {
        let fd = try HTTPClient.connect(port: stack.port)
        defer { close(fd) }
        var head = "\(method) \(target) HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try HTTPClient.sendAll(fd, Array((head + "\r\n").utf8))
        _ = try? HTTPClient.sendAll(fd, body)
        return try? HTTPClient.parse(HTTPClient.readToEnd(fd))
    }

    static func formEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"))!
    }

    static func percentEncode(_ text: String) -> String { formEncode(text) }

    /// No payload of these tests appears as markup: no `<script>alert`, no `<img`, no attribute opened by one.
    static func expectInert(_ html: String, _ page: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for raw in ["<script>alert", "<img src=x", "<svg", "<b onmouseover", "\" onmouseover=", "' onfocus=", "'onmouseover='", "' onload='", "\" onerror="] {
            #expect(!html.contains(raw), "\(page): raw \(raw)", sourceLocation: sourceLocation)
        }
        // Every attribute value is quoted with ", and no value holds a raw " (an attribute break-out).
        var inTag = false
        var quote: Character?
        for character in html {
            if !inTag {
                if character == "<" { inTag = true }
                continue
            }
            if let open = quote {
                if character == open { quote = nil }
                if character == "<" && open == "\"" {
                    Issue.record("\(page): a < inside an attribute value", sourceLocation: sourceLocation)
                    return
                }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == ">" {
                inTag = false
            }
        }
    }

    /// A Location header, if any, stays on this site.
    static func expectNoForeignLocation(_ answer: HTTPResult, _ stack: Stack, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let location = answer.header("location") else { return }
        let local = location.hasPrefix("/") && !location.hasPrefix("//") && !location.hasPrefix("/\\")
        #expect(local || location.hasPrefix(stack.base + "/"), "Location: \(location)", sourceLocation: sourceLocation)
    }

    static func journal(_ stack: Stack) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: stack.dataDirectory + "/journal/segment-000001.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func orderFile(_ stack: Stack, _ ref: String) throws -> String? {
        let orders = stack.dataDirectory + "/orders"
        for shard in (try? FileManager.default.contentsOfDirectory(atPath: orders)) ?? [] {
            for file in try FileManager.default.contentsOfDirectory(atPath: orders + "/" + shard) where file.hasSuffix(".json") {
                let path = orders + "/" + shard + "/" + file
                if let object = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any],
                   object["purchaseref"] as? String == ref { return path }
            }
        }
        return nil
    }

    static func orderFiles(_ stack: Stack) -> Int {
        let enumerator = FileManager.default.enumerator(atPath: stack.dataDirectory + "/orders")
        var count = 0
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasSuffix(".json") { count += 1 }
        }
        return count
    }

    /// Seconds each of `count` requests took (a health check and an order creation, alternately).
    static func latencies(_ stack: Stack, count: Int) throws -> [Double] {
        try (0..<count).map { index in
            let start = Date()
            if index % 2 == 0 {
                #expect(try HTTPClient.get(stack.port, "/healthz", timeout: 10).status == 200)
            } else {
                try stack.createOrder("SEC-FAST-\(UUID().uuidString.prefix(8))")
            }
            return Date().timeIntervalSince(start)
        }
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }
}

private extension Array where Element == UInt8 {
    /// The bytes with the first occurrence of `text` replaced by `replacement` and then `extra` raw bytes.
    func replacingFirst(_ text: String, with replacement: String, extra: [UInt8] = []) -> [UInt8] {
        let needle = Array(text.utf8)
        guard let range = firstRange(of: needle) else { return self }
        return Array(self[..<range.lowerBound]) + Array(replacement.utf8) + extra + Array(self[range.upperBound...])
    }
}
