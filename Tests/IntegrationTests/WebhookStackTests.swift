import Foundation
import Payments
import Testing
import TestStack

/// Merchant webhooks through the real thing: `cross serve` behind nginx marks orders paid (or cancelled…) on
/// TMoney's notification, and its courier thread posts the events to receivers on loopback ports.
@Suite(.serialized) struct WebhookStackTests {
    static let secret = "whsec-stack-0123456789abcdef"

    /// A receiver that answers 503 to its first `failures` calls, then 200.
    static func flakyReceiver(failures: Int) throws -> HTTPStandIn {
        let calls = Counter()
        return try HTTPStandIn { _ in calls.next() <= failures ? .respond(status: 503, body: "busy") : .respond(status: 200, body: "ok") }
    }

    static func stack(_ name: String, endpoints: [(url: String, secret: String)], extra: [String: Any] = [:]) throws -> Stack {
        var settings: [String: Any] = [
            "webhooks": endpoints.map { ["url": $0.url, "secret": $0.secret] }, "webhook_retry_base_seconds": 0.2,
            "webhook_timeout_seconds": 2,
        ]
        settings.merge(extra) { $1 }
        return try Stack(name: name, settings: settings)
    }

    @Test func aReceiverFailingThreeTimesGetsTheEventAfterRetries() throws {
        let receiver = try Self.flakyReceiver(failures: 3)
        defer { receiver.stop() }
        let stack = try Self.stack("webhook-retries", endpoints: [(receiver.url + "/hooks/cross", Self.secret)])
        defer { stack.stop() }
        try stack.createOrder("WH-1001")
        let started = Date()
        #expect(try HTTPClient.get(stack.port, Stack.notification("WH-1001")).status == 200)
        #expect(receiver.waitForRequests(4, timeout: 20), "log: \(stack.cross!.log)")
        let requests = receiver.receivedRequests
        #expect(requests.count == 4, "no call after the 2xx")
        #expect(requests[0].at.timeIntervalSince(started) < 1, "the first attempt goes at once")
        #expect(requests.allSatisfy { $0.requestLine.hasPrefix("POST /hooks/cross ") })
        let id = try #require(requests[0].header("Cross-Event-Id"))
        #expect(id == OrderKey(ref: "WH-1001").hex + "-0000000002")
        #expect(requests.allSatisfy { $0.header("Cross-Event-Id") == id && $0.text == requests[0].text }, "the same event each time")
        let event = try #require(try JSONSerialization.jsonObject(with: Data(requests[3].body)) as? [String: Any])
        #expect(event["type"] as? String == "order.paid")
        #expect((event["order"] as? [String: Any])?["purchaseref"] as? String == "WH-1001")
        #expect((event["order"] as? [String: Any])?["status"] as? String == "paid")
        let sent = try #require(try waitForEvent(stack, id, in: "sent"))
        let delivery = try #require((sent["deliveries"] as? [[String: Any]])?.first)
        #expect(delivery["attempts"] as? Int == 4)
        #expect(delivery["last_status"] as? Int == 200)
        #expect(delivery["delivered_at"] != nil)
        let log = stack.cross!.log
        #expect(log.contains("webhook delivery failed"))
        #expect(log.contains("attempt=3"))
        #expect(log.contains("status=503"))
        #expect(log.contains("webhook delivered"))
        #expect(log.contains("endpoint=127.0.0.1:\(receiver.port)"))
        #expect(!log.contains(Self.secret), "never the secret")
        let listed = try runCross(["webhooks", "list", "--folder", "sent", "--config", stack.configPath])
        #expect(listed.status == 0)
        #expect(listed.output.contains(id) && listed.output.contains("attempts 4") && listed.output.contains("delivered"))
    }

    @Test func aRestartMidBackoffStillDelivers() throws {
        let receiver = try HTTPStandIn { _ in .respond(status: 500, body: "down for maintenance") }
        defer { receiver.stop() }
        // A longer first delay, so that the restart falls inside it.
        let stack = try Self.stack("webhook-restart", endpoints: [(receiver.url + "/in", Self.secret)], extra: ["webhook_retry_base_seconds": 2])
        defer { stack.stop() }
        try stack.createOrder("WH-restart")
        #expect(try HTTPClient.get(stack.port, Stack.notification("WH-restart")).status == 200)
        #expect(receiver.waitForRequests(1, timeout: 10))
        let id = OrderKey(ref: "WH-restart").hex + "-0000000002"
        let pending = try #require(try waitForEvent(stack, id, in: "pending") { ($0["deliveries"] as? [[String: Any]])?.first?["attempts"] as? Int == 1 })
        let delivery = try #require((pending["deliveries"] as? [[String: Any]])?.first)
        #expect(delivery["last_status"] as? Int == 500)
        #expect(delivery["last_error"] as? String == "HTTP 500: down for maintenance")
        stack.cross!.stop()
        #expect(receiver.requests.count == 1, "stopped before its next attempt")
        receiver.setBehaviour { _ in .respond(status: 202, body: "") }
        try stack.startCross()
        try stack.waitUntilReady()
        let sent = try #require(try waitForEvent(stack, id, in: "sent", timeout: 15), "log: \(stack.cross!.log)")
        let done = try #require((sent["deliveries"] as? [[String: Any]])?.first)
        #expect(done["attempts"] as? Int == 2, "the attempt before the restart is remembered")
        #expect(done["last_status"] as? Int == 202)
        #expect(receiver.requests.count == 2)
    }

    @Test func aReceiverDownForTheWholeTestLeavesTheEventPendingAndVisible() throws {
        let closedPort = try FreePort.allocate()
        let stack = try Self.stack("webhook-down", endpoints: [("http://127.0.0.1:\(closedPort)/hooks", Self.secret)])
        defer { stack.stop() }
        try stack.createOrder("WH-down")
        #expect(try HTTPClient.get(stack.port, Stack.notification("WH-down", status: "NOK", payid: "", error: "PAYMENT_FAILED")).status == 200)
        let id = OrderKey(ref: "WH-down").hex + "-0000000002"
        let event = try #require(try waitForEvent(stack, id, in: "pending") { (($0["deliveries"] as? [[String: Any]])?.first?["attempts"] as? Int ?? 0) >= 2 })
        let lastError = try #require((event["deliveries"] as? [[String: Any]])?.first?["last_error"] as? String)
        #expect(!lastError.isEmpty)
        let listed = try runCross(["webhooks", "list", "--config", stack.configPath])
        #expect(listed.status == 0)
        #expect(listed.output.contains(id))
        #expect(listed.output.contains("order.declined"))
        #expect(listed.output.contains("WH-down"))
        #expect(listed.output.contains("last error: " + lastError), "\(listed.output)")
        #expect(listed.output.contains("next attempt"))
        #expect(try runCross(["webhooks", "list", "--folder", "sent", "--config", stack.configPath]).output.contains("0 events"))
        #expect(try runCross(["webhooks", "list", "--folder", "bogus", "--config", stack.configPath]).status != 0)
        // An unknown id is a clear refusal.
        let unknown = try runCross(["webhooks", "retry", "nope", "--config", stack.configPath])
        #expect(unknown.status != 0)
        #expect(unknown.errors.contains("no webhook event with id \"nope\""))
        let absent = String(repeating: "0", count: 32) + "-0000000001"
        let notThere = try runCross(["webhooks", "retry", absent, "--config", stack.configPath])
        #expect(notThere.status != 0)
        #expect(notThere.errors.contains("no webhook event with id \"\(absent)\""))
    }

    @Test func anEventGivenUpIsFailedUntilRetriedByHand() throws {
        let receiver = try HTTPStandIn { _ in .respond(status: 503, body: "") }
        defer { receiver.stop() }
        // Given up after 3 seconds (the setting is in hours).
        let stack = try Self.stack("webhook-failed", endpoints: [(receiver.url + "/in", Self.secret)], extra: ["webhook_give_up_hours": 1.0 / 1200])
        defer { stack.stop() }
        try stack.createOrder("WH-failed")
        #expect(try HTTPClient.get(stack.port, Stack.notification("WH-failed")).status == 200)
        let id = OrderKey(ref: "WH-failed").hex + "-0000000002"
        #expect(try waitForEvent(stack, id, in: "failed", timeout: 15) != nil, "log: \(stack.cross!.log)")
        let attempts = receiver.requests.count
        #expect(attempts >= 2)
        #expect(waitForLog(stack, "webhook event set aside as failed"), "logged just after the move")
        let listed = try runCross(["webhooks", "list", "--config", stack.configPath])
        #expect(listed.output.contains(id) && listed.output.contains("failed") && listed.output.contains("last error: HTTP 503"))
        usleep(1_500_000)
        #expect(receiver.requests.count == attempts, "a failed event is not attempted again")
        receiver.setBehaviour { _ in .respond(status: 200, body: "") }
        let retried = try runCross(["webhooks", "retry", id, "--config", stack.configPath])
        #expect(retried.status == 0, "\(retried.errors)")
        #expect(retried.output.contains("pending again"))
        let sent = try #require(try waitForEvent(stack, id, in: "sent", timeout: 10))
        #expect((sent["deliveries"] as? [[String: Any]])?.first?["attempts"] as? Int == attempts + 1, "attempts are kept")
        let again = try runCross(["webhooks", "retry", id, "--config", stack.configPath])
        #expect(again.status != 0)
        #expect(again.errors.contains("already delivered"))
    }

    @Test func anEndpointThatHangsHoldsUpNoOtherThroughCrossServe() throws {
        let slow = try HTTPStandIn { _ in .hang(seconds: 6) }
        defer { slow.stop() }
        let fast = try HTTPStandIn { _ in .respond(status: 204, body: "") }
        defer { fast.stop() }
        let stack = try Self.stack(
            "webhook-slow", endpoints: [(slow.url + "/hang", Self.secret), (fast.url + "/in", Self.secret)],
            extra: ["webhook_timeout_seconds": 5, "webhook_concurrency_per_endpoint": 2])
        defer { stack.stop() }
        let refs = (1...8).map { "WH-slow-\($0)" }
        for ref in refs { try stack.createOrder(ref) }
        let started = Date()
        for ref in refs { #expect(try HTTPClient.get(stack.port, Stack.notification(ref)).status == 200) }
        // Eight events while the hanging endpoint holds both its places for 5 s each: all there before those time out.
        #expect(fast.waitForRequests(8, timeout: 4.5), "fast endpoint: \(fast.requests.count) of 8; log: \(stack.cross!.log)")
        #expect(Date().timeIntervalSince(started) < 4.5)
        #expect(slow.requests.count <= 2, "never more than 2 at once at one endpoint")
        let ids = Set(fast.receivedRequests.compactMap { $0.header("Cross-Event-Id") })
        #expect(ids == Set(refs.map { OrderKey(ref: $0).hex + "-0000000002" }))
    }

    @Test func eventsOfOneOrderArriveInOrder() throws {
        // The first two calls fail: the cancellation is retried, and the payment must still come after it.
        let receiver = try Self.flakyReceiver(failures: 2)
        defer { receiver.stop() }
        let stack = try Self.stack("webhook-order", endpoints: [(receiver.url + "/in", Self.secret)])
        defer { stack.stop() }
        try stack.createOrder("WH-late")
        #expect(try HTTPClient.get(stack.port, Stack.notification("WH-late", status: "NOK", payid: "", error: "CANCEL")).status == 200)
        #expect(try HTTPClient.get(stack.port, Stack.notification("WH-late", payid: "P9")).status == 200)
        #expect(try stack.order("WH-late")?["status"] as? String == "paid")
        #expect(receiver.waitForRequests(4, timeout: 20), "log: \(stack.cross!.log)")
        usleep(300_000)
        let seen = receiver.receivedRequests.map { request -> String in
            let event = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
            return "\(event["type"] ?? "?") \(request.header("Cross-Event-Id") ?? "?")"
        }
        let key = OrderKey(ref: "WH-late").hex
        let cancelled = "order.cancelled \(key)-0000000002", paid = "order.paid \(key)-0000000003"
        #expect(seen == [cancelled, cancelled, cancelled, paid], "the payment waits for the cancellation")
    }

    @Test func theSignatureVerifiesWithTheDocumentedPythonAndPHP() throws {
        let directory = NSTemporaryDirectory() + "cross-webhook-recipes-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let readme = try String(contentsOfFile: Stack.root + "/docs/webhooks.md", encoding: .utf8)
        let python = try #require(Self.snippet(readme, "python-verify", "python"), "docs/webhooks.md has the Python recipe between its markers")
        try python.write(toFile: directory + "/cross_webhook.py", atomically: true, encoding: .utf8)
        // A recorder (its secret checked by the documented function), the documented Python endpoint, and the PHP
        // one: Cross signs each with the endpoint's own secret.
        let recorder = try HTTPStandIn { _ in .respond(status: 200, body: "ok") }
        defer { recorder.stop() }
        let pythonSecret = "whsec-python-0123456789", phpSecret = "whsec-php-0123456789"
        let pythonPort = try FreePort.allocate()
        let pythonEndpoint = try ManagedProcess(
            name: "python-endpoint", executable: "/usr/bin/env",
            arguments: ["python3", "-c", """
                import sys; sys.path.insert(0, sys.argv[1])
                from http.server import HTTPServer
                import cross_webhook
                HTTPServer(("127.0.0.1", int(sys.argv[2])), cross_webhook.CrossWebhook).serve_forever()
                """, directory, String(pythonPort)],
            logPath: directory + "/python.log", environment: ["CROSS_WEBHOOK_SECRET": pythonSecret])
        // The test runner's blocked signals are inherited: SIGTERM would wait out the grace period.
        defer { pythonEndpoint.stop(grace: 0.1) }
        var endpoints: [(url: String, secret: String)] = [(recorder.url + "/in", Self.secret), ("http://127.0.0.1:\(pythonPort)/hook", pythonSecret)]
        // `make test` installs php-cli: the recipe is tested, never skipped.
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/php"), "php is missing: make test installs php-cli")
        let php = try #require(Self.snippet(readme, "php-verify", "php"), "docs/webhooks.md has the PHP recipe between its markers")
        try php.write(toFile: directory + "/hook.php", atomically: true, encoding: .utf8)
        let phpPort = try FreePort.allocate()
        let phpEndpoint = try ManagedProcess(
            name: "php-endpoint", executable: "/usr/bin/php", arguments: ["-S", "127.0.0.1:\(phpPort)", directory + "/hook.php"],
            logPath: directory + "/php.log", environment: ["CROSS_WEBHOOK_SECRET": phpSecret])
        endpoints.append(("http://127.0.0.1:\(phpPort)/hook", phpSecret))
        defer { phpEndpoint.stop(grace: 0.1) }
        try HTTPClient.waitForListener(pythonPort)
        try HTTPClient.waitForListener(phpPort)
        let stack = try Self.stack("webhook-signature", endpoints: endpoints)
        defer { stack.stop() }
        try stack.createOrder("WH-sig", extra: ["description": "Pagne wax « Kente » & co"])
        #expect(try HTTPClient.get(stack.port, Stack.notification("WH-sig")).status == 200)
        let id = OrderKey(ref: "WH-sig").hex + "-0000000002"
        // Sent means every endpoint answered 2xx: the Python and PHP endpoints accepted the signature.
        let sent = try #require(try waitForEvent(stack, id, in: "sent", timeout: 15), "log: \(stack.cross!.log)")
        let deliveries = try #require(sent["deliveries"] as? [[String: Any]])
        #expect(deliveries.count == endpoints.count)
        #expect(deliveries.allSatisfy { $0["attempts"] as? Int == 1 }, "each accepted at the first attempt: \(deliveries)")
        #expect(deliveries.dropFirst().allSatisfy { $0["last_status"] as? Int == 204 })

        // The documented function on the recorded body and header.
        let request = try #require(recorder.receivedRequests.first)
        let header = try #require(request.header("Cross-Signature"))
        #expect(header.hasPrefix("t=") && header.contains(",v1="))
        try Data(request.body).write(to: URL(fileURLWithPath: directory + "/body.json"))
        try Data(request.body.dropLast() + Array("} ".utf8)).write(to: URL(fileURLWithPath: directory + "/tampered.json"))
        func verify(_ header: String, _ bodyFile: String, _ secret: String) throws -> String {
            let check = try ManagedProcess(
                name: "verify", executable: "/usr/bin/env",
                arguments: ["python3", "-c", """
                    import sys; sys.path.insert(0, sys.argv[1])
                    from cross_webhook import verify_signature
                    print(verify_signature(sys.argv[2], open(sys.argv[3], "rb").read(), sys.argv[4]))
                    """, directory, header, bodyFile, secret],
                logPath: directory + "/verify.log")
            #expect(check.wait(timeout: 20) == 0, "\(check.log)")
            return check.log.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try verify(header, directory + "/body.json", Self.secret) == "True")
        #expect(try verify(header, directory + "/tampered.json", Self.secret) == "False", "a changed body")
        #expect(try verify(header, directory + "/body.json", "whsec-another-0123456789") == "False", "another secret")
        let old = "t=\(Int(Date().timeIntervalSince1970) - 301)," + header.split(separator: ",")[1]
        #expect(try verify(old, directory + "/body.json", Self.secret) == "False", "too old: a replay")

        // Forged calls to the documented endpoints are refused.
        let forged = "t=\(Int(Date().timeIntervalSince1970)),v1=" + String(repeating: "0", count: 64)
        let forgedToPython = try HTTPClient.post(pythonPort, "/hook", body: request.body, contentType: "application/json", headers: [("Cross-Signature", forged)])
        #expect(forgedToPython.status == 400)
        // A genuine request, but signed for another endpoint's secret.
        let otherSecret = try HTTPClient.post(pythonPort, "/hook", body: request.body, contentType: "application/json", headers: [("Cross-Signature", header)])
        #expect(otherSecret.status == 400)
        let forgedToPHP = try HTTPClient.post(phpPort, "/hook", body: request.body, contentType: "application/json", headers: [("Cross-Signature", forged)])
        #expect(forgedToPHP.status == 400)
        #expect(forgedToPHP.text.contains("bad signature"))
    }

    // MARK: - Helpers

    /// The code between `<!-- marker -->` and `<!-- /marker -->`, without its ```` ``` ```` fence.
    static func snippet(_ readme: String, _ marker: String, _ language: String) -> String? {
        guard let start = readme.range(of: "<!-- \(marker) -->"), let end = readme.range(of: "<!-- /\(marker) -->", range: start.upperBound..<readme.endIndex) else {
            return nil
        }
        let block = readme[start.upperBound..<end.lowerBound]
        guard let open = block.range(of: "```\(language)\n"), let close = block.range(of: "```", options: .backwards), open.upperBound <= close.lowerBound else {
            return nil
        }
        return String(block[open.upperBound..<close.lowerBound])
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}

/// The event's file in `folder` once it is there (and `condition` holds), or nil after `timeout` seconds.
private func waitForEvent(
    _ stack: Stack, _ id: String, in folder: String, timeout: Double = 10, _ condition: ([String: Any]) -> Bool = { _ in true }
) throws -> [String: Any]? {
    // sent/ is sharded by the order key's first three hex digits.
    let path = stack.dataDirectory + "/outbox/" + folder + "/" + (folder == "sent" ? id.prefix(3) + "/" : "") + id + ".json"
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let data = FileManager.default.contents(atPath: path),
           let event = try? JSONSerialization.jsonObject(with: data) as? [String: Any], condition(event) {
            return event
        }
        usleep(20_000)
    }
    return nil
}

private func waitForLog(_ stack: Stack, _ text: String, timeout: Double = 5) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if stack.cross!.log.contains(text) { return true }
        usleep(20_000)
    }
    return stack.cross!.log.contains(text)
}

/// Runs `cross` with these arguments and waits for it.
private func runCross(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Stack.crossBinary)
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}
