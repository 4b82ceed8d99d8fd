import Foundation
import Testing
import TestStack

/// Orders, checkout and notifications through a real nginx and `cross serve`.
@Suite(.serialized) struct CheckoutStackTests {
    @Test func orderCheckoutNotificationAndAcceptPage() throws {
        let gateway = try HTTPStandIn { _ in .respond(status: 200, body: "OK:27875690759565722269644474422394") }
        defer { gateway.stop() }
        let stack = try Stack(name: "journey", settings: ["gateway_url": gateway.url])
        defer { stack.stop() }
        let order = try stack.createOrder("CMD-1001", extra: ["description": "Sac de riz 25 kg"])
        let checkoutURL = try #require(order["checkout_url"] as? String)
        let checkoutPath = String(checkoutURL.dropFirst(stack.base.count))
        let page = try HTTPClient.get(stack.port, checkoutPath)
        #expect(page.status == 200)
        #expect(page.text.contains("name=\"sessionid\" value=\"27875690759565722269644474422394\""))
        #expect(page.text.contains("15 000 F CFA"))
        let link = String(checkoutPath.dropFirst("/pay/".count))
        // Before the notification the accept page does not believe the URL.
        #expect(try HTTPClient.get(stack.port, "/return/accept?order=" + link).text.contains("Paiement en cours de confirmation"))
        let answer = try HTTPClient.get(stack.port, Stack.notification("CMD-1001"))
        #expect(answer.status == 200)
        #expect(answer.text == "OK")
        let accept = try HTTPClient.get(stack.port, "/return/accept?order=" + link)
        #expect(accept.text.contains("Paiement reçu, merci"))
        #expect(accept.text.contains("PR-P1"))
        #expect(try stack.order("CMD-1001")?["status"] as? String == "paid")
        let log = stack.cross!.log
        #expect(log.contains("order status changed ref=CMD-1001"))
        #expect(log.contains("from=pending"))
        #expect(!log.contains("27875690759565722269644474422394"), "no full session id in the log")
        #expect(log.contains("2787…2394"))
    }

    /// nginx normalises `$uri` (`/api/orders/..%2F..%2Fshop%2F` is `/shop/`): the API goes by the path as sent, so
    /// that an order of any purchaseref is the API's, not a static page.
    @Test func theAPIGoesByThePathAsSent() throws {
        let stack = try Stack(name: "as-sent")
        defer { stack.stop() }
        try stack.createOrder("../../shop/")
        let answer = try HTTPClient.request(
            port: stack.port, method: "GET", target: "/api/orders/..%2F..%2Fshop%2F", headers: [("Authorization", "Bearer " + Stack.apiKey)])
        #expect(answer.status == 200)
        #expect(answer.text.contains(#""purchaseref":"..\/..\/shop\/""#) || answer.text.contains(#""purchaseref":"../../shop/""#), "\(answer.text.prefix(200))")
    }

    @Test func notificationFromAnotherAddressIsRefused() throws {
        let stack = try Stack(name: "source")
        defer { stack.stop() }
        try stack.createOrder("CMD-src")
        let forged = try HTTPClient.get(stack.port, Stack.notification("CMD-src"), from: "127.0.0.2")
        #expect(forged.status == 403)
        // A header claiming another address changes nothing: only nginx's view of the caller counts.
        let spoofed = try HTTPClient.get(stack.port, Stack.notification("CMD-src"), headers: [("X-Forwarded-For", "127.0.0.1"), ("X-Real-IP", "127.0.0.1")], from: "127.0.0.2")
        #expect(spoofed.status == 403)
        #expect(try stack.order("CMD-src")?["status"] as? String == "pending")
        #expect(try HTTPClient.get(stack.port, Stack.notification("CMD-src")).status == 200)
        // Counted and logged under the real address, never journaled.
        let journal = try String(contentsOfFile: stack.dataDirectory + "/journal/segment-000001.jsonl", encoding: .utf8)
        #expect(!journal.contains("\"kind\":\"call.refused\""))
        let refusals = stack.cross!.log.split(separator: "\n").filter { $0.contains("notification refused: source address not allowed") }
        #expect(refusals.count == 1 && refusals[0].contains("count=1") && refusals[0].contains("remote=127.0.0.2"), "\(refusals)")
    }

    @Test func gatewayThatAnswersNothingUsefulGivesAClearPage() throws {
        let gateway = try HTTPStandIn { _ in .respond(status: 200, body: "NOK:UNKNOWN_MERCHANT") }
        defer { gateway.stop() }
        let stack = try Stack(name: "gateway", settings: ["gateway_url": gateway.url, "gateway_timeout_seconds": 1])
        defer { stack.stop() }
        let order = try stack.createOrder("CMD-gw", extra: ["language": "en"])
        let path = String((order["checkout_url"] as! String).dropFirst(stack.base.count))
        for (behaviour, cause) in [
            (HTTPStandIn.Behaviour.respond(status: 200, body: "NOK:UNKNOWN_MERCHANT"), "NOK:UNKNOWN_MERCHANT"),
            (.respond(status: 200, body: "<html>maintenance</html>"), "not a session id"),
            (.hang(seconds: 3), "did not answer in time"),
        ] {
            gateway.setBehaviour { _ in behaviour }
            let page = try HTTPClient.get(stack.port, path)
            #expect(page.status == 503)
            #expect(page.text.contains("Payment temporarily unavailable"))
            // Logged before the page is answered (lines go out at once in tests).
            #expect(stack.cross!.log.contains(cause), "\(cause)")
        }
        #expect(try stack.order("CMD-gw")?["attempts"] as? Int == 0, "the order is unchanged")
    }

    @Test func hundredIdenticalNotificationsFromSeveralProcessesAndCrossProcesses() throws {
        let stack = try Stack(name: "identical", crossProcesses: 3)
        defer { stack.stop() }
        try stack.createOrder("CMD-100")
        let url = stack.base + Stack.notification("CMD-100")
        // Four client processes, 25 requests each, all at once.
        let script = "for i in $(seq 25); do curl -s -o /dev/null -w '%{http_code}\\n' '\(url)' & done; wait"
        let clients = try (0..<4).map { index in
            try ManagedProcess(name: "client\(index)", executable: "/bin/bash", arguments: ["-c", script], logPath: stack.runDirectory + "/client\(index).log")
        }
        for client in clients { #expect(client.wait(timeout: 60) == 0) }
        let codes = clients.flatMap { $0.log.split(separator: "\n") }
        #expect(codes.count == 100)
        #expect(Set(codes) == ["200"])
        let journal = try String(contentsOfFile: stack.dataDirectory + "/journal/segment-000001.jsonl", encoding: .utf8)
        #expect(journal.components(separatedBy: "\"kind\":\"event.applied\"").count - 1 == 1)
        #expect(journal.components(separatedBy: "\"kind\":\"event.duplicate\"").count - 1 == 99)
        let order = try #require(try stack.order("CMD-100"))
        #expect(order["status"] as? String == "paid")
        #expect(order["notifications"] as? Int == 1)
    }

    @Test func killDuringABurstLosesNoAcknowledgedNotification() throws {
        let stack = try Stack(name: "kill", crossArguments: ["--workers", "16"])
        defer { stack.stop() }
        let refs = (0..<400).map { "KILL-\($0)" }
        DispatchQueue.concurrentPerform(iterations: 8) { part in
            for ref in refs[(part * 50)..<(part * 50 + 50)] { _ = try? stack.createOrder(ref) }
        }
        // Eight clients send the 400 notifications; once 100 are acknowledged, Cross is killed. At that moment at
        // most 100 + 8 have been sent, so more than 250 are still to come: the kill lands in the burst by counting,
        // not by timing.
        let acknowledged = Outcomes()
        let sentAfterTheKill = Outcomes()
        let killed = Flag()
        let hundred = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for part in 0..<8 {
            DispatchQueue.global().async(group: group) {
                for ref in refs[(part * 50)..<(part * 50 + 50)] {
                    if killed.isSet { sentAfterTheKill.record(ref) }
                    let result = try? HTTPClient.get(stack.port, Stack.notification(ref, payid: "PAY-" + ref), timeout: 10)
                    if result?.status == 200 {
                        acknowledged.record(ref)
                        if acknowledged.all.count == 100 { hundred.signal() }
                    }
                }
            }
        }
        #expect(hundred.wait(timeout: .now() + 60) == .success, "100 notifications acknowledged")
        stack.cross!.signal(SIGKILL)
        killed.set()
        #expect(stack.cross!.wait(timeout: 5) != nil)
        try stack.startCross()
        try stack.waitUntilReady()
        group.wait()
        let paid = acknowledged.all.keys
        #expect(paid.count >= 100)
        #expect(sentAfterTheKill.all.count > 250, "notifications were still coming when Cross was killed")
        // Every acknowledged notification is in its order, and every order file parses.
        for ref in paid {
            #expect(try stack.order(ref)?["status"] as? String == "paid", "\(ref)")
        }
        var files = 0
        let orders = stack.dataDirectory + "/orders"
        for shard in try FileManager.default.contentsOfDirectory(atPath: orders) {
            for file in try FileManager.default.contentsOfDirectory(atPath: orders + "/" + shard) where file.hasSuffix(".json") {
                let data = try Data(contentsOf: URL(fileURLWithPath: orders + "/" + shard + "/" + file))
                #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "\(file)")
                files += 1
            }
        }
        #expect(files == refs.count)
        #expect(stack.cross!.log.contains("recovery done"))
    }
}

