import Foundation

/// The real thing, for a test: nginx in front of `cross serve` on free ports, in a run folder of its own.
public final class Stack: @unchecked Sendable {
    public static let root: String = {
        // Tests/TestStack/Stack.swift → the repository.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// The `cross` executable the tests run: the debug build unless CROSS_BINARY says otherwise.
    public static var crossBinary: String {
        ProcessInfo.processInfo.environment["CROSS_BINARY"] ?? root + "/.build/debug/cross"
    }

    public let runDirectory: String
    public let port: UInt16
    public let sandboxPort: UInt16
    public private(set) var cross: ManagedProcess?
    /// With `crossProcesses` > 1: every `cross serve` process, all accepting on one socket.
    public private(set) var crossGroup: [ManagedProcess] = []
    public let crossProcesses: Int
    private var sharedSocket: Int32 = -1
    public private(set) var nginx: ManagedProcess?
    /// `cross sandbox`, when the stack was asked for it: TMoney Online on `sandboxPort`.
    public private(set) var sandbox: ManagedProcess?
    public let crossArguments: [String]
    public static let apiKey = "stack-api-key-0123456789"

    public var configPath: String { runDirectory + "/cross.json" }
    public var dataDirectory: String { runDirectory + "/data" }
    public var base: String { "http://127.0.0.1:\(port)" }

    /// Starts nginx and `cross serve --dev` (with `crossArguments` added) and waits until a request goes through:
    /// the tests' configurations use loopback addresses and plain HTTP, which production refuses.
    /// Cross's configuration is written for this run; `settings` replaces any of its keys.
    /// With `sandbox`, `cross sandbox` plays TMoney (its configuration written for this run, `sandboxSettings`
    /// replacing any of its keys).
    /// `sandboxMerchant` replaces keys of the sandbox's merchant (a `"scenario"`, say); `mbanking` keys of Cross's
    /// MBANKING section, `sandboxMBanking` of the sandbox's.
    public init(
        name: String, crossArguments: [String] = [], settings: [String: Any] = [:], environment: [String: String] = [:],
        crossProcesses: Int = 1, sandbox: Bool = false, sandboxSettings: [String: Any] = [:], sandboxMerchant: [String: Any] = [:],
        mbanking: [String: Any] = [:], sandboxMBanking: [String: Any] = [:]
    ) throws {
        self.crossProcesses = crossProcesses
        runDirectory = try Self.makeRunDirectory(name)
        port = try FreePort.allocate()
        sandboxPort = try FreePort.allocate()
        self.crossArguments = crossArguments
        try Self.shell([Self.root + "/scripts/nginx-conf", runDirectory, String(port), String(sandboxPort)], output: runDirectory + "/nginx.conf")
        try Self.writeConfiguration(at: configPath, port: port, sandboxPort: sandboxPort, settings: settings, mbanking: mbanking)
        try startCross(environment: environment)
        if sandbox {
            try Self.writeSandboxConfiguration(
                at: runDirectory + "/sandbox.json", port: port, settings: sandboxSettings, merchant: sandboxMerchant, mbanking: sandboxMBanking)
            self.sandbox = try ManagedProcess(
                name: "sandbox", executable: Self.crossBinary,
                arguments: [
                    "sandbox", "--config", runDirectory + "/sandbox.json", "--state", runDirectory + "/sandbox-state.json",
                    "--listen", runDirectory + "/sandbox.sock", "--socket-mode", "666",
                ],
                logPath: runDirectory + "/logs/sandbox.log", environment: ["CROSS_LOG_FLUSH_MS": "0"])
        }
        nginx = try ManagedProcess(
            name: "nginx", executable: "/usr/sbin/nginx",
            arguments: ["-p", runDirectory, "-e", runDirectory + "/logs/error.log", "-c", runDirectory + "/nginx.conf"],
            logPath: runDirectory + "/logs/nginx.out")
        try waitUntilReady()
    }

    /// The sandbox partner's password (its configuration's and Cross's).
    public static let mbankingPassword = "dev-mbanking-password"

    /// A configuration for a test run: data in `data/` beside the file, the sandbox as the gateway.
    public static func writeConfiguration(
        at path: String, port: UInt16, sandboxPort: UInt16, settings: [String: Any] = [:], mbanking overrides: [String: Any] = [:]
    ) throws {
        var mbanking: [String: Any] = [
            "login_url": "http://127.0.0.1:\(sandboxPort)/mbanking", "push_url": "http://127.0.0.1:\(sandboxPort)/mbanking/tmoney-middleware",
            "credit_url": "http://127.0.0.1:\(sandboxPort)/mbanking/api/tpcredit", "user": "cross-dev", "password": Self.mbankingPassword,
            "partner_id": "PARTNER-0001", "timeout_seconds": 5,
        ]
        // `{sandbox}` in an override is the sandbox's base URL (its port is chosen with the stack).
        mbanking.merge(overrides.mapValues { value in
            (value as? String).map { $0.replacingOccurrences(of: "{sandbox}", with: "http://127.0.0.1:\(sandboxPort)") } ?? value
        }) { $1 }
        var configuration: [String: Any] = [
            "merchant_id": "2000000000000001",
            "gateway_url": "http://127.0.0.1:\(sandboxPort)",
            "gateway_timeout_seconds": 5,
            "brand": "Boutique Démo",
            "public_url": "http://127.0.0.1:\(port)",
            "return_urls": ["accept": "http://127.0.0.1:\(port)/shop/", "decline": "http://127.0.0.1:\(port)/shop/", "cancel": "http://127.0.0.1:\(port)/shop/"],
            "allowed_return_hosts": ["127.0.0.1"],
            "notification_allowlist": ["127.0.0.1", "::1"],
            "data_directory": "data",
            "api_keys": [Self.apiKey],
            "link_secret": "stack-link-secret-0123456789",
            "button_secret": "stack-button-secret-0123456789",
            // MBANKING is the sandbox's too (it answers only when the stack starts it).
            "mbanking": mbanking,
            "mbanking_callback_allowlist": ["127.0.0.1", "::1"],
            // Flooz is the sandbox's too.
            "flooz": [
                "token_url": "http://127.0.0.1:\(sandboxPort)/flooz/token", "debit_url": "http://127.0.0.1:\(sandboxPort)/flooz/debit",
                "verify_url": "http://127.0.0.1:\(sandboxPort)/flooz/verify", "user": "cross-flooz", "password": "dev-flooz-password",
                "partner_msisdn": "22899000000", "timeout_seconds": 5,
            ] as [String: Any],
            "flooz_callback_allowlist": ["127.0.0.1", "::1"],
        ]
        configuration.merge(settings) { $1 }
        try JSONSerialization.data(withJSONObject: configuration, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    /// Creates an order through the API; returns its JSON.
    @discardableResult
    public func createOrder(_ ref: String, amount: Int64 = 15000, extra: [String: Any] = [:]) throws -> [String: Any] {
        var fields: [String: Any] = ["purchaseref": ref, "amount": amount]
        fields.merge(extra) { $1 }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        let result = try HTTPClient.json(port, "POST", "/api/orders", body, apiKey: Self.apiKey)
        guard result.status == 201 || result.status == 200,
              let order = try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any] else {
            throw HTTPClientError(description: "order \(ref) not created: \(result.status) \(result.text)")
        }
        return order
    }

    /// The order once its status is `status` (asked every 50 ms), or nil if it is not within `timeout` seconds.
    public func order(_ ref: String, becomes status: String, timeout: Double = 20) throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let order = try order(ref), order["status"] as? String == status { return order }
            usleep(50_000)
        } while Date() < deadline
        return nil
    }

    /// A JSON call to the sandbox (its prompts, faults): the status and the parsed body.
    public func sandboxJSON(_ method: String, _ target: String, _ body: String? = nil) throws -> (status: Int, json: Any?) {
        let result = try HTTPClient.request(
            port: sandboxPort, method: method, target: target, headers: body == nil ? [] : [("Content-Type", "application/json")],
            body: Array((body ?? "").utf8))
        return (result.status, try? JSONSerialization.jsonObject(with: Data(result.body)))
    }

    /// A sandbox account's balance, from the sandbox's state file.
    public func sandboxBalance(_ phone: String) throws -> Int64? {
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runDirectory + "/sandbox-state.json"))) as? [String: Any]
        let accounts = state?["accounts"] as? [String: Any]
        return ((accounts?[phone] as? [String: Any])?["balance"] as? NSNumber)?.int64Value
    }

    /// The order as the API returns it, or nil if there is none.
    public func order(_ ref: String) throws -> [String: Any]? {
        let path = "/api/orders/" + ref.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let result = try HTTPClient.request(port: port, method: "GET", target: path, headers: [("Authorization", "Bearer " + Self.apiKey)])
        guard result.status == 200 else { return nil }
        return try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any]
    }

    /// The query of a notification as TMoney sends it.
    public static func notification(_ ref: String, status: String = "OK", amount: String = "15000", payid: String = "P1", error: String = "") -> String {
        var components = URLComponents()
        components.queryItems = [
            ("purchaseref", ref), ("amount", amount), ("currency", "952"), ("status", status), ("clientid", "C1"),
            ("cname", "Kofi Mensah"), ("mobile", "22890000001"), ("paymentref", "PR-" + payid), ("payid", payid),
            ("timestamp", "1469024554"), ("error", error),
        ].map { URLQueryItem(name: $0.0, value: $0.1) }
        // URLComponents leaves + and & alone inside values: encode them as a form would.
        return "/notify?" + (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
    }

    /// The sandbox's merchant 2000000000000001 notifies this stack's Cross; the three documented accounts.
    /// `mbanking` replaces keys of the sandbox's MBANKING section (`hold_seconds`, say).
    public static func writeSandboxConfiguration(
        at path: String, port: UInt16, settings: [String: Any] = [:], merchant: [String: Any] = [:], mbanking: [String: Any] = [:],
        flooz: [String: Any] = [:]
    ) throws {
        var merchantEntry: [String: Any] = [
            "merchant_id": "2000000000000001", "name": "Boutique Démo", "allowed_addresses": ["127.0.0.1", "::1"],
            "notification_url": "http://127.0.0.1:\(port)/notify",
        ]
        merchantEntry.merge(merchant) { $1 }
        var mbankingSection: [String: Any] = [
            "jwt_secret": "test-stack-mbanking-jwt-secret-0123456789abcdef",
            "token_lifetime_seconds": 3600, "prompt_lifetime_seconds": 120, "hold_seconds": 30,
            "partners": [[
                "id": "PARTNER-0001", "user": "cross-dev", "password": Self.mbankingPassword, "name": "Boutique Démo",
                "callback_url": "http://127.0.0.1:\(port)/callbacks/tmoney", "balance": 1_000_000,
            ]],
        ]
        mbankingSection.merge(mbanking) { $1 }
        var floozSection: [String: Any] = [
            "key_lifetime_seconds": 300, "prompt_lifetime_seconds": 120, "hold_seconds": 30,
            "header_key": "746573742d737461636b2d666c6f6f7a2d6165732d6b65792d30313233343536",
            "partners": [[
                "user": "cross-flooz", "password": "dev-flooz-password", "name": "Boutique Démo", "msisdn": "22899000000",
                "callback_url": "http://127.0.0.1:\(port)/callbacks/flooz", "balance": 1_000_000,
            ]],
        ]
        floozSection.merge(flooz) { $1 }
        var configuration: [String: Any] = [
            "session_lifetime_seconds": 180,
            "payment_lifetime_seconds": 600,
            "notification_timeout_seconds": 5,
            "merchants": [merchantEntry],
            "accounts": [
                ["phone": "90000001", "pin": "1234", "name": "Kofi Mensah", "client_id": "1000000001", "balance": 5_000_000],
                ["phone": "90000002", "pin": "1234", "name": "Ama Poor", "client_id": "1000000002", "balance": 500],
                ["phone": "90000003", "pin": "1234", "name": "Yao Block", "client_id": "1000000003", "balance": 100_000],
                // Moov numbers, for Flooz.
                ["phone": "96000001", "pin": "1234", "name": "Afi Moov", "client_id": "2000000001", "balance": 5_000_000],
                ["phone": "96000002", "pin": "1234", "name": "Kodjo Poor", "client_id": "2000000002", "balance": 500],
                ["phone": "96000003", "pin": "1234", "name": "Esi Block", "client_id": "2000000003", "balance": 100_000],
            ],
            // TMoney MBANKING, its callbacks going to the stack's Cross.
            "mbanking": mbankingSection,
            // Flooz, its callbacks going to the stack's Cross.
            "flooz": floozSection,
        ]
        configuration.merge(settings) { $1 }
        try JSONSerialization.data(withJSONObject: configuration, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    public func startCross(environment: [String: String] = [:]) throws {
        let environment = ["CROSS_LOG_FLUSH_MS": "0"].merging(environment) { $1 }
        guard crossProcesses > 1 else {
            cross = try ManagedProcess(
                name: "cross", executable: Self.crossBinary,
                arguments: ["serve", "--dev", "--config", configPath, "--listen", runDirectory + "/cross.sock", "--socket-mode", "666"] + crossArguments,
                logPath: runDirectory + "/logs/cross.log", environment: environment)
            return
        }
        // Several processes on one socket, as spawn-fcgi -F N starts them: the socket is theirs on fd 0.
        if sharedSocket < 0 { sharedSocket = try Self.listenUnix(runDirectory + "/cross.sock") }
        crossGroup = try (0..<crossProcesses).map { index in
            try ManagedProcess(
                name: "cross\(index)", executable: Self.crossBinary,
                arguments: ["serve", "--dev", "--config", configPath, "--listen", "fd:0"] + crossArguments,
                logPath: runDirectory + "/logs/cross\(index).log", environment: environment,
                standardInput: FileHandle(fileDescriptor: sharedSocket, closeOnDealloc: false))
        }
        cross = crossGroup[0]
    }

    private static func listenUnix(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 1024) == 0 else { throw HTTPClientError(description: "cannot listen on \(path)") }
        chmod(path, 0o666)
        return fd
    }

    public func waitUntilReady(timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError = ""
        while Date() < deadline {
            if let cross, !cross.isRunning { throw HTTPClientError(description: "cross exited: \(cross.log)") }
            if let sandbox, !sandbox.isRunning { throw HTTPClientError(description: "the sandbox exited: \(sandbox.log)") }
            let sandboxReady = sandbox == nil || (try? HTTPClient.get(sandboxPort, "/sandbox", timeout: 2))?.status == 200
            if sandboxReady, let result = try? HTTPClient.get(port, "/healthz", timeout: 2), result.status == 200 { return }
            lastError = (try? HTTPClient.get(port, "/healthz", timeout: 2)).map { "status \($0.status)" } ?? "no answer"
            usleep(50_000)
        }
        throw HTTPClientError(description: "the stack did not come up (\(lastError)); cross log: \(cross?.log ?? "")")
    }

    public func stop() {
        sandbox?.stop()
        cross?.stop()
        for process in crossGroup { process.stop() }
        nginx?.stop()
        if sharedSocket >= 0 {
            close(sharedSocket)
            sharedSocket = -1
        }
    }

    deinit {
        stop()
        // Run folders add up over a test run; CROSS_KEEP_TEST_RUNS=1 keeps them to look at.
        if ProcessInfo.processInfo.environment["CROSS_KEEP_TEST_RUNS"] == nil {
            try? FileManager.default.removeItem(atPath: runDirectory)
        }
    }

    private static func makeRunDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "cross-tests/\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a command and waits; its standard output goes to `output` when given.
    public static func shell(_ command: [String], output: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if let output {
            FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HTTPClientError(description: "\(command.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

public enum FreePort {
    /// A loopback TCP port nobody listens on right now (the kernel picks it).
    public static func allocate() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw HTTPClientError(description: "no free port: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }
}
