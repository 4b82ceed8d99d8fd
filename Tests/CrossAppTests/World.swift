import FastCGI
import Foundation
import Logging
@testable import FlatFileStore
import OrderStorage
import Payments
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

/// Cross's application with its real store, pages and configuration, driven without a socket; the gateway
/// is a stand-in on a loopback port (answering session ids, or misbehaving on demand).
final class World: @unchecked Sendable {
    let directory: String
    let gateway: HTTPStandIn
    let application: Application
    let store: FlatFileStore
    let router: any Responder
    static let apiKey = "test-api-key-0123456789"
    static let sessionID = "27875690759565722269644474422394"

    /// Every line the application logged, as `message key=value…`.
    let log = LogRecorder()
    /// The application's clock: now, unless a test moves it.
    let clock = Lock<Timestamp?>(nil)

    init(
        settings: [String: Any] = [:], mbanking: (any PushOperator & CreditOperator)? = nil, flooz: (any PushOperator)? = nil,
        metrics: MetricsEndpoint? = nil, gateway behaviour: @escaping @Sendable (String) -> HTTPStandIn.Behaviour = { _ in .respond(status: 200, body: "OK:" + World.sessionID) }) throws {
        directory = NSTemporaryDirectory() + "cross-app-tests/\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        gateway = try HTTPStandIn(behaviour)
        var file: [String: Any] = [
            "merchant_id": "1234567890123456",
            "gateway_url": gateway.url,
            // Generous: the whole suite runs at once on two cores; the tests of a silent gateway set their own.
            "gateway_timeout_seconds": 5,
            "brand": "Boutique Démo",
            "public_url": "https://pay.example.tg",
            "allowed_return_hosts": ["shop.example.tg"],
            "return_urls": ["accept": "https://shop.example.tg/merci", "cancel": "https://shop.example.tg/panier"],
            "notification_allowlist": ["127.0.0.1", "10.9.0.0/16"],
            "data_directory": "data",
            "api_keys": [World.apiKey],
            "link_secret": "test-link-secret-0123456789",
            "button_secret": "test-button-secret-0123456789",
        ]
        file.merge(settings) { $1 }
        let path = directory + "/cross.json"
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: path))
        let configuration = try Configuration.load(path: path, environment: [:], mode: .development)
        store = try FlatFileStore(directory: configuration.dataDirectory)
        let log = self.log, clock = self.clock
        application = Application(
            configuration: configuration, store: store, pages: try Pages.bundled(), mbanking: mbanking, flooz: flooz, metrics: metrics, clock: { clock.withLock { $0 } ?? .now() },
            logger: Logger(label: "cross.test") { _ in log })
        router = application.makeResponder()
    }

    deinit { gateway.stop() }

    /// What the server would send for this request: the handler's response, or its error as a page.
    func send(_ method: String, _ uri: String, json: String? = nil, form: String? = nil, headers: [String: String] = [:], remote: String = "127.0.0.1") -> Response {
        do {
            let body = Array((json ?? form ?? "").utf8)
            let contentType = json != nil ? "application/json" : form != nil ? "application/x-www-form-urlencoded" : nil
            let request = try Request(method: method, uri: uri, headers: headers, body: body, contentType: contentType, remoteAddress: remote)
            do {
                return try router.respond(to: request)
            } catch let error as HTTPError {
                var response = error.page ?? application.errorPage(error, request)
                response.headers += error.headers
                return response
            }
        } catch let error as HTTPError {
            return error.page ?? application.errorPage(error, nil)
        } catch {
            return .text("unexpected \(error)", status: .internalServerError)
        }
    }

    /// The application's cashier, its clock at `seconds`: orders and events at chosen times.
    func cashier(at seconds: Int64) -> Cashier {
        Cashier(store: store, settings: application.configuration.cashierSettings, clock: { Timestamp(seconds: seconds) })
    }

    /// A webhook courier on this world's outbox, as `cross serve` makes it.
    func courier(
        transport: (any WebhookTransport)? = nil, clock: @escaping WebhookCourier.Clock = { Date().timeIntervalSince1970 },
        jitter: @escaping WebhookCourier.Jitter = { Double.random(in: 0.5..<1.5) }, pollSeconds: Double = 1
    ) -> WebhookCourier {
        let configuration = application.configuration
        return WebhookCourier(
            settings: configuration.webhookSettings, outbox: store.outbox, links: configuration.links, transport: transport, clock: clock,
            jitter: jitter, pollSeconds: pollSeconds)
    }

    /// Every record of the store's journal, in order.
    func journal() throws -> [JournalRecord] {
        var records: [JournalRecord] = []
        _ = try Journal.scan(path: store.journalPath, from: 0) { _, record in records.append(record) }
        return records
    }

    func api(_ method: String, _ path: String, json: String? = nil) -> Response {
        send(method, path, json: json, headers: ["Authorization": "Bearer " + World.apiKey])
    }

    /// Creates an order through the API and returns its checkout path (`/pay/<link>`).
    @discardableResult
    func createOrder(_ fields: [String: Any]) throws -> (order: Order, checkoutPath: String) {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        let response = api("POST", "/api/orders", json: json)
        guard response.status == .created || response.status == .ok else {
            throw HTTPClientError(description: "create failed: \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as! [String: Any]
        let url = object["checkout_url"] as! String
        let order = try store.load(ref: fields["purchaseref"] as! String)!
        return (order, String(url.dropFirst("https://pay.example.tg".count)))
    }

    func notify(_ parameters: [(String, String)], remote: String = "127.0.0.1") -> Response {
        send("GET", "/notify?" + URLEncoding.encodeForm(parameters), remote: remote)
    }

    static func okParameters(_ ref: String, amount: String = "15000", payid: String = "P1", currency: String = "952") -> [(String, String)] {
        [("purchaseref", ref), ("amount", amount), ("currency", currency), ("status", "OK"), ("clientid", "C1"),
         ("cname", "Kofi Mensah"), ("mobile", "22890000001"), ("paymentref", "PR-" + payid), ("payid", payid),
         ("timestamp", "1469024554"), ("error", "")]
    }

    static func nokParameters(_ ref: String, error: String) -> [(String, String)] {
        [("purchaseref", ref), ("amount", "15000"), ("currency", "952"), ("status", "NOK"), ("clientid", ""),
         ("cname", ""), ("mobile", ""), ("paymentref", ""), ("payid", ""), ("timestamp", "1469024554"), ("error", error)]
    }
}

extension Response {
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}

/// A log handler that keeps every line, so that a test can see what an operator would read.
final class LogRecorder: LogHandler, @unchecked Sendable {
    private let lines = Lock<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let line = ([event.level.rawValue, event.message.description] + fields).joined(separator: " ")
        lines.withLock { $0.append(line) }
    }

    var all: [String] { lines.withLock { $0 } }

    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}
