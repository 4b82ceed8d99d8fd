import Foundation
import Payments
import Testing
import TestStack

/// Safe by default, through the real stack (nginx + `cross serve`): what an anonymous caller cannot make Cross do
/// (fill the disk or the log, take every worker, replay a button or a retry for ever, break out of an
/// attribute), and what production refuses that development allows. docs/security.md lists each threat with the
/// test here that proves what Cross does about it.
@Suite(.serialized) struct SafeDefaultsTests {
    // MARK: - The notification's door

    /// nginx's `location = /notify` allows TMoney only on that very path: Cross answers nothing else as a
    /// notification, so that no other spelling reaches the notification code (or its journal).
    @Test func theNotificationIsAnsweredOnlyOnItsVeryPath() throws {
        let stack = try Stack(name: "safe-path")
        defer { stack.stop() }
        try stack.createOrder("SAFE-P1")
        let query = String(Stack.notification("SAFE-P1").dropFirst("/notify".count))
        let journal = stack.dataDirectory + "/journal/segment-000001.jsonl"
        let before = try Data(contentsOf: URL(fileURLWithPath: journal))
        for path in ["/notify/", "//notify", "/notify;x", "/notify/x", "/notify%2F", "/Notify", "/notify/."] {
            let answer = try HTTPClient.get(stack.port, path + query)
            #expect(answer.status == 404, "\(path): \(answer.status) \(answer.text)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: journal)) == before, "nothing reached the notification code")
        #expect(try stack.order("SAFE-P1")?["status"] as? String == "pending")
        #expect(try HTTPClient.get(stack.port, "/notify" + query).status == 200)
    }

    /// A stranger's notifications cost a counter: the journal does not grow by a byte, and the log gets one line
    /// for the minute, however many come and however long their parameters.
    @Test func strangersFillNeitherTheJournalNorTheLog() throws {
        let stack = try Stack(name: "safe-strangers")
        defer { stack.stop() }
        try stack.createOrder("SAFE-S1")
        let journal = stack.dataDirectory + "/journal/segment-000001.jsonl"
        let before = try Data(contentsOf: URL(fileURLWithPath: journal)).count
        let junk = "&junk=" + String(repeating: "x", count: 3000)
        for _ in 0..<300 {
            #expect(try HTTPClient.get(stack.port, Stack.notification("SAFE-S1") + junk, from: "127.0.0.2").status == 403)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: journal)).count == before)
        let lines = stack.cross!.log.split(separator: "\n").filter { $0.contains("notification refused") }
        #expect(lines.count == 1 && lines[0].contains("remote=127.0.0.2"), "\(lines)")
    }

    /// A refusal from TMoney's own address (bad parameters) is journaled, its parameters cut at a bound counted
    /// in bytes: one Character can be thousands of bytes ("e" and a thousand combining accents).
    @Test func aRefusedNotificationIsJournaledWithinABoundInBytes() throws {
        let stack = try Stack(name: "safe-bound")
        defer { stack.stop() }
        let journal = stack.dataDirectory + "/journal/segment-000001.jsonl"
        let before = try Data(contentsOf: URL(fileURLWithPath: journal)).count
        let character = "e" + String(repeating: "\u{301}", count: 1000)
        #expect(character.count == 1 && character.utf8.count == 2001)
        let target = "/notify?purchaseref=SAFE-B1&amount=lots&junk=" + Security.percentEncode(character)
        #expect(try HTTPClient.get(stack.port, target).status == 400)
        let added = try Data(contentsOf: URL(fileURLWithPath: journal)).count - before
        #expect(added > 0 && added < 1500, "the refusal is journaled, its parameters within 512 bytes each: \(added) bytes")
    }

    // MARK: - Buttons and retries

    /// `cross button` makes buttons that stop working after 30 days, unless the merchant asks for none by name.
    @Test func buttonsExpireUnlessTheMerchantSaysNever() throws {
        let directory = NSTemporaryDirectory() + "cross-tests/button-expiry-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Stack.writeConfiguration(at: directory + "/cross.json", port: 8080, sandboxPort: 8081)
        func button(_ arguments: [String]) throws -> (status: Int32?, output: String) {
            let process = try ManagedProcess(
                name: "cross button", executable: Stack.crossBinary,
                arguments: ["button", "--config", directory + "/cross.json", "--amount", "15000", "--description", "Riz"] + arguments,
                logPath: directory + "/button-\(UInt32.random(in: 0...UInt32.max)).out")
            return (process.wait(timeout: 20), process.log)
        }
        func expiry(_ output: String) -> Int64? {
            output.components(separatedBy: "name=\"expires\" value=\"").dropFirst().first
                .flatMap { Int64($0.prefix { $0.isNumber }) }
        }
        let now = Int64(Date().timeIntervalSince1970)
        let standard = try button([])
        #expect(standard.status == 0, "\(standard.output)")
        let expires = try #require(expiry(standard.output), "\(standard.output)")
        #expect(abs(expires - (now + 30 * 86_400)) < 120, "30 days from now: \(expires)")
        let never = try button(["--expires", "never"])
        #expect(never.status == 0 && expiry(never.output) == nil && never.output.contains("signature"), "\(never.output)")
        let wrong = try button(["--expires", "soon"])
        #expect(wrong.status != 0 && wrong.output.contains("--expires must be"), "\(wrong.output)")
    }

    /// A button without its own reference writes nothing when posted, however often; orders come from the pay
    /// button of its offer, at most `button_orders_per_minute` a minute.
    @Test func buttonPostsWriteNothingAndOffersAreCapped() throws {
        let stack = try Stack(name: "safe-button", settings: ["button_orders_per_minute": 2])
        defer { stack.stop() }
        var offers: [String] = []
        for _ in 0..<100 {
            let posted = try Security.postButton(stack, ["amount": "2500", "description": "Savon"], referer: nil)
            #expect(posted.status == 303)
            offers.append(try #require(posted.header("location")))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: stack.dataDirectory + "/orders").isEmpty, "100 posts, no order")
        var statuses: [Int] = []
        for offer in offers.prefix(4) {
            statuses.append(try HTTPClient.post(stack.port, offer, body: [], contentType: "application/x-www-form-urlencoded").status)
        }
        // The minute may turn between two posts: then a third is allowed, never more than two in one minute.
        #expect(statuses.prefix(2) == [303, 303] && statuses.filter { $0 == 303 }.count <= 3 && statuses.contains(429), "\(statuses)")
    }

    /// A thousand retries of one order: the gateway is asked for a session at most `attempts_per_minute` times,
    /// and the journal stops growing once the cap is reached (it grew with every retry, the whole order each time).
    @Test func aThousandRetriesAskTheGatewayAtMostTheCap() throws {
        let gateway = try HTTPStandIn { _ in .respond(status: 200, body: "OK:" + String(repeating: "7", count: 32)) }
        defer { gateway.stop() }
        let stack = try Stack(name: "safe-retry", settings: ["gateway_url": gateway.url])
        defer { stack.stop() }
        let order = try stack.createOrder("SAFE-R1")
        let path = String((order["checkout_url"] as! String).dropFirst(stack.base.count))
        #expect(try HTTPClient.get(stack.port, path).status == 200)
        let journal = stack.dataDirectory + "/journal/segment-000001.jsonl"
        var sizes: [Int] = []
        var statuses: [Int: Int] = [:]
        for index in 0..<1000 {
            let answer = try HTTPClient.post(stack.port, path + "/retry", body: [], contentType: "application/x-www-form-urlencoded")
            statuses[answer.status, default: 0] += 1
            if index % 100 == 99 { sizes.append(try Data(contentsOf: URL(fileURLWithPath: journal)).count) }
        }
        #expect(gateway.requests.count <= 3, "asked \(gateway.requests.count) times")
        #expect(Set(statuses.keys).isSubset(of: [303, 429]), "\(statuses)")
        #expect(Set(sizes).count == 1, "no growth after the first hundred retries: \(sizes)")
        #expect(try stack.order("SAFE-R1")?["attempts"] as? Int ?? 99 <= 3)
    }

    /// The gateway hangs for 10 s while 50 shoppers open their checkout page at once: only `gateway_concurrency`
    /// workers wait on it, the others answer "busy" at once, and TMoney's notifications meanwhile are answered in
    /// well under 100 ms.
    @Test(.timeLimit(.minutes(2))) func aHangingGatewayNeverStarvesTheNotifications() throws {
        let gateway = try HTTPStandIn { _ in .hang(seconds: 10) }
        defer { gateway.stop() }
        let stack = try Stack(name: "safe-hang", settings: ["gateway_url": gateway.url, "gateway_timeout_seconds": 10])
        defer { stack.stop() }
        let paths = try (0..<50).map { index -> String in
            let order = try stack.createOrder("SAFE-H\(index)")
            return String((order["checkout_url"] as! String).dropFirst(stack.base.count))
        }
        for index in 0..<20 { try stack.createOrder("SAFE-N\(index)") }
        let checkouts = Outcomes()
        let group = DispatchGroup()
        for path in paths {
            DispatchQueue.global().async(group: group) {
                let status = (try? HTTPClient.get(stack.port, path, timeout: 30))?.status ?? 0
                checkouts.record(String(status))
            }
        }
        #expect(gateway.waitForRequests(4, timeout: 10), "the gateway is being waited on")
        var slowest = 0.0
        for index in 0..<20 {
            let started = Date()
            let answer = try HTTPClient.get(stack.port, Stack.notification("SAFE-N\(index)", payid: "PAY-N\(index)"), timeout: 10)
            slowest = max(slowest, Date().timeIntervalSince(started))
            #expect(answer.status == 200)
        }
        #expect(slowest < 0.1, "the slowest notification took \(Int(slowest * 1000)) ms")
        group.wait()
        let seen = checkouts.all
        #expect(gateway.requests.count <= 4, "at most gateway_concurrency (4) waited on the gateway: \(gateway.requests.count)")
        #expect(seen["503", default: 0] == 50, "every checkout answered, busy or unavailable: \(seen)")
        #expect(stack.cross!.log.contains("operator busy"))
    }

    /// Wrong dashboard passwords, each a full PBKDF2 of today's work factor, sent by 40 clients at once and again:
    /// at most two are hashed at a time (the others are told 503 or, past the minute's failures, 429), and
    /// TMoney's notifications are still answered within 100 ms.
    @Test(.timeLimit(.minutes(2))) func passwordGuessesNeverStarveTheNotifications() throws {
        let directory = NSTemporaryDirectory() + "cross-tests/hash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/password", contents: Data((Security.password + "\n").utf8))
        let hasher = try ManagedProcess(
            name: "hash-password", executable: Stack.crossBinary, arguments: ["admin", "hash-password"], logPath: directory + "/hash.out",
            standardInput: FileHandle(forReadingAtPath: directory + "/password"))
        #expect(hasher.wait(timeout: 30) == 0)
        let hash = try #require(hasher.log.split(separator: "\n").first { $0.hasPrefix("pbkdf2-sha256$600000$") }.map(String.init), "\(hasher.log)")
        let stack = try Stack(name: "safe-hashing", settings: ["admin": ["user": "admin", "password_hash": hash]])
        defer { stack.stop() }
        for index in 0..<20 { try stack.createOrder("SAFE-G\(index)") }
        let answers = Outcomes()
        let stop = Flag()
        let group = DispatchGroup()
        for client in 0..<40 {
            DispatchQueue.global().async(group: group) {
                let guess = [("Authorization", Security.basic("admin", "guess \(client)"))]
                while !stop.isSet {
                    let status = (try? HTTPClient.get(stack.port, "/admin/", headers: guess, timeout: 30, from: "127.0.1.\(client + 1)"))?.status ?? 0
                    answers.record(String(status))
                }
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while answers.all["503", default: 0] < 20 && Date() < deadline { usleep(10_000) }
        var slowest = 0.0
        for index in 0..<20 {
            let started = Date()
            let answer = try HTTPClient.get(stack.port, Stack.notification("SAFE-G\(index)", payid: "PAY-G\(index)"), timeout: 10)
            slowest = max(slowest, Date().timeIntervalSince(started))
            #expect(answer.status == 200)
        }
        stop.set()
        group.wait()
        #expect(slowest < 0.1, "the slowest notification took \(Int(slowest * 1000)) ms")
        let seen = answers.all
        #expect(Set(seen.keys).isSubset(of: ["401", "429", "503"]), "\(seen)")
        #expect(seen["503", default: 0] >= 20, "guesses beyond the two hashing places were turned away: \(seen)")
        #expect(seen["401", default: 0] <= 30, "no more than the minute's 30 failures were ever hashed: \(seen)")
        #expect(try stack.order("SAFE-G19")?["status"] as? String == "paid")
    }

    // MARK: - Production and development

    /// Without `--dev`, `cross serve` refuses to start on what only development may have, and says why.
    @Test func productionRefusesWhatIsOnlyForDevelopment() throws {
        let directory = NSTemporaryDirectory() + "cross-tests/production-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let production: [String: Any] = [
            "merchant_id": "2000000000000001", "gateway_url": "https://tmoney.example.tg", "brand": "Boutique", "public_url": "https://pay.example.tg",
            "notification_allowlist": ["196.168.10.4"], "data_directory": directory + "/data", "api_keys": ["prod-api-key-0123456789abcdef"],
            "link_secret": "prod-link-secret-0123456789abcdef", "button_secret": "prod-button-secret-0123456789abcdef",
        ]
        func serve(_ arguments: [String], settings: [String: Any] = [:], environment: [String: String] = [:]) throws -> ManagedProcess {
            var file = production
            file.merge(settings) { $1 }
            try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: directory + "/cross.json"))
            return try ManagedProcess(
                name: "cross", executable: Stack.crossBinary, arguments: ["serve"] + arguments, logPath: directory + "/out-\(UInt32.random(in: 0...UInt32.max)).log",
                environment: environment)
        }
        let config = ["--config", directory + "/cross.json"]
        let socket = ["--listen", directory + "/cross.sock"]
        let refusals: [([String], [String: Any], String)] = [
            (socket, [:], "no configuration: give --config FILE (or set CROSS_CONFIG); for development, --dev"),
            (config + socket, ["gateway_url": "http://127.0.0.1:8081"], "gateway_url must be https"),
            (config + socket, ["gateway_url": "https://127.0.0.1:8081"], "gateway_url names this machine"),
            (config + socket, ["notification_allowlist": ["127.0.0.1", "::1"]], "notification_allowlist has 127.0.0.1"),
            (config + socket, ["notification_allowlist": ["0.0.0.0/0"]], "notification_allowlist has 0.0.0.0/0"),
            (config + socket, ["link_secret": "dev-link-secret-change-me-in-production"], "link_secret is the development configuration's"),
            (config + socket, ["webhooks": [["url": "http://shop.example.tg/hook", "secret": "whsec-0123456789abcdef"]]], "webhooks[0].url must be https"),
            (config + ["--listen", "0.0.0.0:9000"], [:], "opens FastCGI on every interface"),
            (config + socket + ["--socket-mode", "666"], [:], "--socket-mode 666 lets every user of this machine"),
        ]
        for (arguments, settings, message) in refusals {
            let process = try serve(arguments, settings: settings)
            #expect(process.wait(timeout: 10) == 1, "\(arguments) \(settings)")
            #expect(process.log.contains(message), "\(message): \(process.log)")
        }
        // CROSS_CONFIG names a file too; and a production configuration starts, without TEST MODE.
        let started = try serve(socket + ["--socket-mode", "660"], environment: ["CROSS_CONFIG": directory + "/cross.json", "CROSS_LOG_FLUSH_MS": "0"])
        defer { started.stop(grace: 2) }
        let deadline = Date().addingTimeInterval(10)
        while !started.log.contains("listening") && started.isRunning && Date() < deadline { usleep(20_000) }
        #expect(started.log.contains("listening"), "\(started.log)")
        #expect(!started.log.contains("TEST MODE"))
    }

    /// With `--dev`, every page says TEST MODE, and so does the log at start.
    @Test func developmentSaysSoOnEveryPage() throws {
        let stack = try Stack(name: "safe-dev", settings: ["admin": ["user": "admin", "password_hash": Security.passwordHash]])
        defer { stack.stop() }
        let order = try stack.createOrder("SAFE-D1")
        let checkout = String((order["checkout_url"] as! String).dropFirst(stack.base.count))
        let pages = [
            try HTTPClient.get(stack.port, "/"), try HTTPClient.get(stack.port, "/nowhere"),
            try HTTPClient.get(stack.port, "/admin/", headers: [("Authorization", Security.basic("admin", Security.password))]),
            try HTTPClient.get(stack.port, "/return/accept?order=" + (checkout.split(separator: "/").last.map(String.init) ?? "")),
        ]
        for page in pages { #expect(page.text.contains("MODE TEST · TEST MODE"), "\(page.status) \(page.text.prefix(300))") }
        #expect(stack.cross!.log.contains("TEST MODE: development configuration"))
    }

    /// A notification path with a secret segment, given to TMoney's administrator, works, and never appears in
    /// the log: the access line shows its first segment.
    @Test func aSecretNotificationPathIsNotLogged() throws {
        let secret = "k3q9x2m7wdk3q9x2m7wd"
        let stack = try Stack(name: "safe-secret-path", settings: ["notification_path": "/notify/" + secret])
        defer { stack.stop() }
        try stack.createOrder("SAFE-K1")
        let query = String(Stack.notification("SAFE-K1").dropFirst("/notify".count))
        #expect(try HTTPClient.get(stack.port, "/notify" + query).status == 404)
        #expect(try HTTPClient.get(stack.port, "/notify/" + secret + query).status == 200)
        #expect(try stack.order("SAFE-K1")?["status"] as? String == "paid")
        #expect(stack.cross!.log.contains("path=/notify/… status=200"))
        #expect(!stack.cross!.log.contains(secret))
    }

    /// Order files hold shoppers' names and numbers: no one but Cross's user and group may read them.
    @Test func dataFilesAreReadableByCrossAlone() throws {
        let stack = try Stack(name: "safe-modes")
        defer { stack.stop() }
        try stack.createOrder("SAFE-M1")
        #expect(try HTTPClient.get(stack.port, Stack.notification("SAFE-M1")).status == 200)
        let data = stack.dataDirectory
        let key = OrderKey(ref: "SAFE-M1").hex
        for file in ["/orders/\(key.prefix(3))/\(key).json", "/journal/segment-000001.jsonl", "/index/orders.tsv", "/orders.lock"] {
            #expect(Self.mode(data + file) == 0o640, "\(file): \(String(Self.mode(data + file), radix: 8))")
        }
        for folder in ["/orders", "/orders/\(key.prefix(3))", "/journal", "/outbox", "/outbox/pending", "/index"] {
            #expect(Self.mode(data + folder) == 0o750, "\(folder): \(String(Self.mode(data + folder), radix: 8))")
        }
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    // MARK: - Pages

    /// `"`, `'`, `&`, `<` and `>` each followed by a combining accent (one Character with it, not the character
    /// itself) are escaped on every page that shows a value: the checkout page's hidden fields, the return
    /// page, the dashboard's search box and order page, the sandbox's payment page.
    @Test func accentedQuotesCannotBreakOutOfAttributes() throws {
        let stack = try Stack(
            name: "safe-escape", settings: ["admin": ["user": "admin", "password_hash": Security.passwordHash]], sandbox: true)
        defer { stack.stop() }
        let admin = [("Authorization", Security.basic("admin", Security.password))]
        for (index, special) in ["\"", "'", "&", "<", ">"].enumerated() {
            let accented = special + "\u{301}"
            let ref = "SAFE-E\(index)-" + accented + " autofocus onfocus=alert(1) x=" + accented
            let order = try Security.create(stack, ["purchaseref": ref, "amount": 15000, "description": special == "<" || special == ">" ? "plain" : "Sac " + accented])
            #expect(order.status == 201, "\(order.text)")
            let checkoutURL = try #require((try JSONSerialization.jsonObject(with: Data(order.body)) as? [String: Any])?["checkout_url"] as? String)
            let token = String(checkoutURL.split(separator: "/").last!)
            let key = OrderKey(ref: ref).hex
            let checkout = try HTTPClient.get(stack.port, "/pay/" + token).text
            let form = HTMLForm.hiddenFields(checkout)
            let pages = [
                ("checkout", checkout),
                ("return page", try HTTPClient.get(stack.port, "/return/cancel?order=" + token).text),
                ("dashboard search", try HTTPClient.get(stack.port, "/admin/orders?q=" + Security.percentEncode(accented), headers: admin).text),
                ("dashboard order", try HTTPClient.get(stack.port, "/admin/orders/" + key, headers: admin).text),
                ("sandbox payment page", try HTTPClient.post(
                    stack.sandboxPort, "/online/online.php", body: Array(form.map { Security.formEncode($0.0) + "=" + Security.formEncode($0.1) }.joined(separator: "&").utf8),
                    contentType: "application/x-www-form-urlencoded").text),
            ]
            for (name, html) in pages {
                #expect(html.unicodeScalars.contains("\u{301}"), "\(name) shows the value")
                #expect(!Array(html.unicodeScalars).containsSequence([special.unicodeScalars.first!, "\u{301}"]), "\(name): a raw \(special) before U+0301")
            }
            #expect(form.contains { $0.0 == "purchaseref" && $0.1 == ref }, "the hidden field gives the reference back as it is")
        }
    }

    /// Cross says on every page, whatever nginx adds, what a browser may do with it.
    @Test func pagesCarryTheirSecurityHeaders() throws {
        let stack = try Stack(name: "safe-headers")
        defer { stack.stop() }
        let order = try stack.createOrder("SAFE-H1")
        let checkout = String((order["checkout_url"] as! String).dropFirst(stack.base.count))
        for target in [checkout, "/", "/nowhere", "/api/orders/SAFE-H1"] {
            let answer = try HTTPClient.get(stack.port, target)
            let policy = answer.header("content-security-policy") ?? ""
            #expect(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self' http://127.0.0.1:\(stack.sandboxPort)"), "\(target): \(policy)")
            #expect(answer.header("x-content-type-options") == "nosniff", "\(target)")
            #expect(answer.header("referrer-policy") == "no-referrer", "\(target)")
        }
    }

    // MARK: - Smaller holes

    /// A temporary file left by a process that had Cross's pid (a container's PID 1 after a restart) blocks
    /// nothing: the notification that needs its name is answered 200.
    @Test func aLeftoverTemporaryFileBlocksNothing() throws {
        let stack = try Stack(name: "safe-leftover")
        defer { stack.stop() }
        try stack.createOrder("SAFE-L1")
        let key = OrderKey(ref: "SAFE-L1").hex
        let leftover = stack.dataDirectory + "/orders/\(key.prefix(3))/\(key).json.tmp.\(stack.cross!.pid).2"
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data("{\"half".utf8)))
        #expect(try HTTPClient.get(stack.port, Stack.notification("SAFE-L1")).status == 200)
        #expect(try stack.order("SAFE-L1")?["status"] as? String == "paid")
    }

    /// The gateway client follows no redirect (a gateway that sends Cross elsewhere is not the gateway) and reads
    /// no answer longer than a session id can be.
    @Test func theGatewayClientFollowsNoRedirectAndReadsNoHugeAnswer() throws {
        let elsewhere = try HTTPStandIn { _ in .respond(status: 200, body: "OK:" + String(repeating: "7", count: 32)) }
        defer { elsewhere.stop() }
        let gateway = try HTTPStandIn { _ in .respondWithHeaders(status: 302, headers: [("Location", elsewhere.url + "/online/online.php")], body: "") }
        defer { gateway.stop() }
        let stack = try Stack(name: "safe-gateway", settings: ["gateway_url": gateway.url])
        defer { stack.stop() }
        let order = try stack.createOrder("SAFE-G1")
        let path = String((order["checkout_url"] as! String).dropFirst(stack.base.count))
        #expect(try HTTPClient.get(stack.port, path).status == 503)
        #expect(elsewhere.requests.isEmpty, "the redirect was not followed")
        #expect(stack.cross!.log.contains("HTTP 302"))
        gateway.setBehaviour { _ in .respond(status: 200, body: "OK:" + String(repeating: "7", count: 2 << 20)) }
        #expect(try HTTPClient.get(stack.port, path).status == 503)
        #expect(stack.cross!.log.contains("longer than 65536 bytes"))
        #expect(try stack.order("SAFE-G1")?["attempts"] as? Int == 0)
    }
}

extension Array where Element: Equatable {
    func containsSequence(_ sequence: [Element]) -> Bool {
        guard sequence.count <= count else { return false }
        for start in 0...(count - sequence.count) where Array(self[start..<start + sequence.count]) == sequence { return true }
        return false
    }
}
