import Support
import FastCGI
import Foundation
import Payments
import Testing
@testable import Sandbox

/// Time for a test: it moves only when the test says so.
final class TestClock: Sendable {
    private let seconds = Lock<Int64>(1_800_000_000)
    var now: Timestamp { Timestamp(seconds: seconds.withLock { $0 }) }
    func advance(_ by: Int64) { seconds.withLock { $0 += by } }
}

/// Takes the sandbox's notification plans instead of sending them.
final class RecordingDispatcher: NotificationDispatcher {
    private let recorded = Lock<[NotificationPlan]>([])
    var plans: [NotificationPlan] { recorded.withLock { $0 } }
    func dispatch(_ plan: NotificationPlan) { recorded.withLock { $0.append(plan) } }
}

/// Takes the sandbox's MBANKING callback plans instead of sending them.
final class RecordingCallbacks: CallbackDispatcher {
    private let recorded = Lock<[CallbackPlan]>([])
    var plans: [CallbackPlan] { recorded.withLock { $0 } }
    func dispatch(_ plan: CallbackPlan) { recorded.withLock { $0.append(plan) } }
}

/// Holds nothing: notes how long a fault would have held its call.
final class RecordingHold: Sendable {
    private let recorded = Lock<[Double]>([])
    var holds: [Double] { recorded.withLock { $0 } }
    func hold(_ seconds: Double) { recorded.withLock { $0.append(seconds) } }
}

/// The sandbox with its real pages and a state file in a folder of its own, driven through its router
/// without a socket; notifications are recorded, the clock is the test's.
final class Harness: @unchecked Sendable {
    static let merchant = "2000000000000001"
    static let otherMerchant = "2000000000000002"
    static let pages: SandboxPages = try! SandboxPages.bundled()

    let directory: String
    let clock = TestClock()
    let recorder: RecordingDispatcher
    let callbacks = RecordingCallbacks()
    let holds = RecordingHold()
    /// Where notifications go: the recorder unless the test sends them for real.
    let dispatcher: any NotificationDispatcher
    private(set) var sandbox: TMoneySandbox
    private(set) var application: SandboxApp
    private(set) var router: Router

    /// `settings` replace top-level keys of the test configuration (see `configuration`).
    init(_ settings: [String: Any] = [:], dispatcher: (any NotificationDispatcher)? = nil) throws {
        let recorder = RecordingDispatcher()
        self.recorder = recorder
        self.dispatcher = dispatcher ?? recorder
        directory = NSTemporaryDirectory() + "sandbox-tests/\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var file = Self.configuration
        file.merge(settings) { $1 }
        let configPath = directory + "/sandbox.json"
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: configPath))
        (sandbox, application, router) = try Self.start(configPath: configPath, statePath: directory + "/state.json", clock: clock, dispatcher: self.dispatcher, callbacks: callbacks, holds: holds)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var configPath: String { directory + "/sandbox.json" }
    var statePath: String { directory + "/state.json" }

    /// A new sandbox process, as after a restart: same configuration and state file.
    func restart() throws {
        (sandbox, application, router) = try Self.start(configPath: configPath, statePath: statePath, clock: clock, dispatcher: self.dispatcher, callbacks: callbacks, holds: holds)
    }

    private static func start(
        configPath: String, statePath: String, clock: TestClock, dispatcher: any NotificationDispatcher,
        callbacks: RecordingCallbacks, holds: RecordingHold
    ) throws -> (TMoneySandbox, SandboxApp, Router) {
        let sandbox = try TMoneySandbox(
            configuration: try SandboxConfiguration.load(path: configPath), stateFile: StateFile(path: statePath),
            words: pages.strings, dispatcher: dispatcher, callbacks: callbacks, clock: { clock.now }, hold: { holds.hold($0) })
        let application = SandboxApp(sandbox: sandbox, pages: pages)
        return (sandbox, application, application.makeRouter())
    }

    static var configuration: [String: Any] { [
        "session_lifetime_seconds": 180,
        "payment_lifetime_seconds": 600,
        "merchants": [
            [
                "merchant_id": merchant, "name": "Boutique Démo", "allowed_addresses": ["127.0.0.1", "::1", "10.20.0.0/16"],
                "notification_url": "http://merchant.test/notify",
                "accept_url": "https://shop.test/merci", "decline_url": "https://shop.test/refus", "cancel_url": "https://shop.test/panier",
            ],
            [
                "merchant_id": otherMerchant, "name": "Autre Boutique", "allowed_addresses": ["192.0.2.10"],
                "notification_url": "http://other.test/tmoney?key=abc", "scenario": "twice",
            ],
        ],
        "accounts": [
            ["phone": "90000001", "pin": "1234", "name": "Kofi Mensah", "client_id": "1000000001", "balance": 5_000_000],
            ["phone": "90000002", "pin": "1234", "name": "Ama Poor", "client_id": "1000000002", "balance": 500],
            ["phone": "90000003", "pin": "1234", "name": "Yao Block", "client_id": "1000000003", "balance": 100_000],
        ],
    ] }

    // MARK: - Requests

    /// What the server would send: the handler's response, or its error as the sandbox's error page.
    func send(_ method: String, _ uri: String, form: [(String, String)]? = nil, contentType: String? = nil, remote: String = "127.0.0.1") -> Response {
        let body = form.map { Array(URLEncoding.encodeForm($0).utf8) } ?? []
        let type = contentType ?? (form != nil ? "application/x-www-form-urlencoded" : nil)
        var request: Request?
        do {
            let built = try Request(method: method, uri: uri, body: body, contentType: type, remoteAddress: remote)
            request = built
            return try router.respond(to: built)
        } catch let error as HTTPError {
            return error.page ?? application.errorPage(error, request)
        } catch {
            Issue.record("unexpected error \(error)")
            return Response(status: .internalServerError)
        }
    }

    /// A fresh session id for the test merchant, asked from an allowed address.
    func session(merchant: String = Harness.merchant, remote: String = "127.0.0.1") -> String {
        let text = Self.text(send("GET", "/online/online.php?merchantid=" + merchant, remote: remote))
        #expect(text.hasPrefix("OK:"), "session request answered \(text)")
        return String(text.dropFirst(3))
    }

    /// The order form Cross would post, with `changes` applied (nil removes a field).
    static func orderForm(session: String, _ changes: [String: String?] = [:]) -> [(String, String)] {
        var fields: [(String, String?)] = [
            ("sessionid", session), ("merchantid", merchant), ("amount", "15000"), ("currency", "952"),
            ("purchaseref", "CMD-1001"), ("brand", "Boutique Démo"), ("description", "Panier de 3 articles"),
            ("accepturl", "https://shop.test/return/accept?order=tok"), ("declineurl", "https://shop.test/return/decline?order=tok"),
            ("cancelurl", "https://shop.test/return/cancel?order=tok"), ("text", "Merci pour votre commande"), ("language", "fr"),
        ]
        for (name, value) in changes {
            if let index = fields.firstIndex(where: { $0.0 == name }) {
                fields[index].1 = value
            } else {
                fields.append((name, value))
            }
        }
        return fields.compactMap { name, value in value.map { (name, $0) } }
    }

    /// Posts the order form and returns the payment page and the payment's key (empty when none opened).
    func open(_ changes: [String: String?] = [:], session: String? = nil) -> (page: Response, key: String) {
        let response = send("POST", "/online/online.php", form: Self.orderForm(session: session ?? self.session(), changes))
        return (response, Self.key(in: response) ?? "")
    }

    func step(_ key: String, _ action: String, _ fields: [(String, String)] = []) -> Response {
        send("POST", "/online/payment", form: [("transaction", key), ("action", action)] + fields)
    }

    func login(_ key: String, phone: String = "90000001", pin: String = "1234") -> Response {
        step(key, "login", [("phone", phone), ("pin", pin)])
    }

    /// The newest SMS code in the outbox.
    var lastCode: String? { sandbox.snapshot().outbox.first(where: { $0.code != nil })?.code }

    func account(_ phone: String) -> AccountState? { sandbox.snapshot().accounts[phone] }

    var plans: [NotificationPlan] { recorder.plans }

    /// Logs in with the rich account and types the right code: the confirmation page.
    func pay(_ changes: [String: String?] = [:], phone: String = "90000001", pin: String = "1234") -> (page: Response, key: String) {
        let (_, key) = open(changes)
        _ = login(key, phone: phone, pin: pin)
        return (step(key, "code", [("code", lastCode ?? "")]), key)
    }

    // MARK: - Reading responses

    static func text(_ response: Response) -> String { String(decoding: response.body, as: UTF8.self) }

    static func key(in response: Response) -> String? {
        let html = text(response)
        guard let range = html.range(of: #"name="transaction" value="[0-9a-f]{32}""#, options: .regularExpression) else { return nil }
        return String(html[range].dropLast().suffix(32))
    }
}

/// What the notification's parameters say, by name.
extension NotificationPlan {
    var parameters: [String: String] {
        Dictionary(uniqueKeysWithValues: notification.parameters.map { ($0.0, $0.1) })
    }
}
