// The orders dashboard's benchmark (not a test): `bench/dashboard/run` builds this in release and runs it.
//
//   cross-dashboard-bench generate DIR [ORDERS]   orders through the cashier and the store, as `cross serve` makes them
//   cross-dashboard-bench config DIR              writes DIR/cross.json (the dashboard on, password below)
//   cross-dashboard-bench measure DIR             times each dashboard page in this process, and its RSS
//
// `measure` drives the app's router directly (no socket, no nginx): the figures are the responder's own
// time per page. `run` then measures the same pages through nginx and a real `cross serve`.
import AdminDashboard
import Cashier
import CrossApp
import FastCGI
import FlatFileStore
import Foundation
import Logging
import OrderStorage
import Payments
import Support
import TMoneyOnline
import WebPages

let benchUser = "admin"
let benchPassword = "bench-dashboard-password"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cross-dashboard-bench: \(message)\n".utf8))
    exit(1)
}

func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}

func monotonicMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
}

/// `VmRSS` and `VmHWM` of this process, in MB.
func memory() -> (rss: Double, peak: Double) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Double {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
    return (field("VmRSS"), field("VmHWM"))
}

func writeConfig(_ directory: String) -> String {
    let path = directory + "/cross.json"
    let hash = AdminPassword.hash(benchPassword)
    let config: [String: Any] = [
        "merchant_id": "2000000000000001", "gateway_url": "http://127.0.0.1:9", "brand": "Boutique Démo",
        "public_url": "http://127.0.0.1:8080", "notification_allowlist": ["127.0.0.1"],
        "data_directory": directory + "/data", "api_keys": ["bench-api-key-0123456789"],
        "link_secret": "bench-link-secret-0123456789", "button_secret": "bench-button-secret-0123456789",
        "admin": ["user": benchUser, "password_hash": hash],
    ]
    do {
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
    } catch {
        fail("cannot write \(path): \(error)")
    }
    return path
}

// MARK: - generate

/// A year of orders, oldest first, on two threads: 60 % paid, 10 % cancelled, 5 % declined, 3 % expired,
/// 1 % in review (a wrong amount), the rest pending. One order in a hundred has a payment attempt (a
/// session id) before its notification.
func generate(_ directory: String, count: Int) {
    let store: FlatFileStore
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try FlatFileStore(directory: directory + "/data", logger: quietLogger("bench.store"))
    } catch {
        fail("cannot open the store: \(error)")
    }
    if FileManager.default.fileExists(atPath: directory + "/data/index/orders.tsv") { fail("\(directory)/data already has orders: remove it first") }
    let policy = OrderPolicy(currency: "952", brand: "Boutique Démo", language: .fr, allowedReturnHosts: [])
    let settings = Cashier.Settings(policy: policy, orderLifetimeSeconds: 7 * 86_400, raisesWebhooks: true)
    /// The cashier, its clock at `seconds`: the year of orders is made in a few seconds.
    @Sendable func cashier(at seconds: Int64) -> Cashier {
        Cashier(store: store, settings: settings, clock: { Timestamp(seconds: seconds) }, logger: quietLogger("bench"))
    }
    let now = Int64(time(nil))
    let span: Int64 = 365 * 86_400
    let start = now - span - 86_400
    let threads = 2
    let done = Lock(0)
    let started = monotonicMilliseconds()
    let group = DispatchGroup()
    for thread in 0..<threads {
        group.enter()
        Thread.detachNewThread {
            var random = SystemRandomNumberGenerator()
            for index in stride(from: thread, to: count, by: threads) {
                let created = start + Int64(index) * span / Int64(count)
                let ref = index % 50 == 7 ? "cmd-web-\(index)" : "CMD-" + String(format: "%07d", index)
                let amount = Int64.random(in: 5...5000, using: &random) * 100
                let phone: String? = Bool.random(using: &random) ? "+2289" + String(format: "%07d", Int.random(in: 0..<10_000_000, using: &random)) : nil
                let new = NewOrder(
                    ref: ref, amount: Amount(francs: amount)!, currency: "952", brand: "Boutique Démo",
                    language: index % 5 == 0 ? .en : .fr, details: OrderDetails(description: "Commande n° \(index)", phone: phone))
                do {
                    guard case .created(let order) = try cashier(at: created).createOrder(new) else { fail("\(ref) already exists") }
                    let roll = Int.random(in: 0..<100, using: &random)
                    if roll < 79 {
                        let at = created + Int64.random(in: 30...600, using: &random)
                        if index % 100 == 0 {
                            _ = try cashier(at: created + 10).startRedirectAttempt(order, via: FixedSession(index: index), reuse: .justStarted)
                        }
                        let status: TMoneyOnline.Notification.Status = roll < 60 || roll == 78 ? .ok : .nok
                        let error = roll < 60 || roll == 78 ? "" : roll < 70 ? "CANCEL" : roll < 75 ? "AUTHENTICATION" : "EXPIRED_SESSION"
                        let paid = status == .ok
                        let notification = TMoneyOnline.Notification(
                            purchaseref: ref, amount: roll == 78 ? amount + 100 : amount, currency: "952", status: status,
                            clientid: paid ? "C\(index)" : "", cname: paid ? "Client \(index)" : "",
                            mobile: paid ? "228" + String(format: "%08d", Int.random(in: 0..<100_000_000, using: &random)) : "",
                            paymentref: paid ? "PR\(index)" : "", payid: paid ? "P\(index)" : "", timestamp: String(at), error: error)
                        _ = try cashier(at: at).apply(notification.event, source: .notification, remote: "127.0.0.1")
                    }
                } catch {
                    fail("order \(ref): \(error)")
                }
                let made = done.withLock { value -> Int in
                    value += 1
                    return value
                }
                if made % 10_000 == 0 {
                    // Checkpoint now and then, as `serve` does every minute: recovery at start stays short.
                    _ = try? store.recover(logger: quietLogger("bench.recovery"))
                    FileHandle.standardError.write(Data(String(format: "  %d orders, %.0f s\n", made, (monotonicMilliseconds() - started) / 1000).utf8))
                }
            }
            group.leave()
        }
    }
    group.wait()
    do { try store.recover(logger: quietLogger("bench.recovery")) } catch { fail("checkpoint: \(error)") }
    print(String(format: "generated %d orders in %.0f s under %@", count, (monotonicMilliseconds() - started) / 1000, directory))
}

/// A TMoney Online that hands out session ids without being asked over the network.
struct FixedSession: RedirectOperator {
    let index: Int
    var `operator`: Operator { .tmoney }
    func openSession() -> Result<RedirectSession, OperatorFailure> {
        .success(RedirectSession(reference: String(format: "%032d", index), lifetimeSeconds: 180))
    }
    func paymentForm(for order: Order, attempt: Attempt, returnPages: ReturnURLs) -> PaymentForm { PaymentForm(action: "", fields: []) }
}

// MARK: - measure

func format(_ ms: Double) -> String { String(format: "%.1f", ms) }

/// A table row: the label padded to 42 columns, the figures right-aligned, and the RSS after the page.
func row(_ label: String, _ median: String, _ max: String, _ bytes: String, rss: String = String(format: "%.1f", memory().rss)) {
    func left(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: Swift.max(0, width - text.count)) }
    func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: Swift.max(0, width - text.count)) + text }
    print(left(label, 42) + right(median, 10) + right(max, 10) + right(bytes, 12) + right(rss, 9))
}

struct Page {
    let label: String
    let uri: String
}

func measure(_ directory: String) {
    let configPath = directory + "/cross.json"
    if !FileManager.default.fileExists(atPath: configPath) { _ = writeConfig(directory) }
    let before = memory()
    let application: Application
    let configuration: Configuration
    do {
        configuration = try Configuration.load(path: configPath, environment: [:], mode: .development)
        application = Application(
            configuration: configuration, store: try FlatFileStore(directory: configuration.dataDirectory, logger: quietLogger("bench.store")),
            pages: try Pages.bundled(), logger: quietLogger("bench"))
    } catch {
        fail("cannot open \(configPath): \(error)")
    }
    let router = application.makeResponder()
    let authorization = "Basic " + Data((benchUser + ":" + benchPassword).utf8).base64EncodedString()
    func get(_ uri: String, authorization: String? = authorization) -> (ms: Double, response: Response) {
        let started = monotonicMilliseconds()
        let response: Response
        do {
            let request = try Request(method: "GET", uri: uri, headers: authorization.map { ["Authorization": $0] } ?? [:])
            response = try router.respond(to: request)
        } catch {
            fail("\(uri): \(error)")
        }
        return (monotonicMilliseconds() - started, response)
    }
    let indexBytes = (try? FileManager.default.attributesOfItem(atPath: configuration.dataDirectory + "/index/orders.tsv")[.size] as? Int) ?? 0
    let atStart = memory()

    // The first request pays the PBKDF2 (once per credential) and reads the whole index into the table.
    let wrong = get("/admin/", authorization: "Basic " + Data("admin:wrong".utf8).base64EncodedString())
    guard wrong.response.status == .unauthorized else { fail("a wrong password was not refused") }
    let first = get("/admin/")
    guard first.response.status == .ok else { fail("/admin/: \(first.response.status)") }
    let loaded = memory()
    let html = String(decoding: first.response.body, as: UTF8.self)
    let total = Int(html.components(separatedBy: "<span id=\"total\">").dropFirst().first?.prefix(while: { $0.isNumber }) ?? "0") ?? 0
    guard total > 0 else { fail("no order in \(directory)") }
    let pages = (total + 49) / 50
    // An order with attempts and notifications (every hundredth order has an attempt).
    let sample = sampleOrder(application.store)

    let today = Timestamp.now()
    let monthAgo = String(Timestamp(seconds: today.seconds - 30 * 86_400).iso8601.prefix(10))
    let day = String(today.iso8601.prefix(10))
    let list: [Page] = [
        Page(label: "orders, page 1", uri: "/admin/"),
        Page(label: "orders, page \(pages / 2) (middle)", uri: "/admin/orders?page=\(pages / 2)"),
        Page(label: "orders, last page (\(pages))", uri: "/admin/orders?page=\(pages)"),
        Page(label: "filtered: paid, last 30 days", uri: "/admin/orders?status=paid&from=\(monthAgo)&to=\(day)"),
        Page(label: "filtered: review (rare), all dates", uri: "/admin/orders?status=review"),
        Page(label: "search: purchaseref \"cmd-web-4\"", uri: "/admin/orders?q=cmd-web-4"),
        Page(label: "search: phone digits \"9012345\"", uri: "/admin/orders?q=9012345"),
        Page(label: "one order (attempt, notification)", uri: "/admin/orders/" + sample),
        Page(label: "CSV export, every order", uri: "/admin/orders.csv"),
        Page(label: "CSV export, paid in 30 days", uri: "/admin/orders.csv?status=paid&from=\(monthAgo)&to=\(day)"),
        Page(label: "totals per day, a year", uri: "/admin/totals"),
        Page(label: "totals per day, 30 days", uri: "/admin/totals?from=\(monthAgo)&to=\(day)"),
    ]
    let rounds = Int(ProcessInfo.processInfo.environment["ROUNDS"] ?? "15") ?? 15
    print("Orders dashboard, in process (the router, no socket): \(total) orders, index \(String(format: "%.1f", Double(indexBytes) / 1_048_576)) MB")
    row("page", "median ms", "max ms", "bytes", rss: "RSS MB")
    row("wrong password (a full PBKDF2)", format(wrong.ms), "", String(wrong.response.body.count))
    row("first page: PBKDF2 + reading the index", format(first.ms), "", String(first.response.body.count))
    var slowest = 0.0
    for page in list {
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<rounds {
            let (ms, response) = get(page.uri)
            guard response.status == .ok else { fail("\(page.uri): \(response.status)") }
            times.append(ms)
            bytes = response.body.count
        }
        times.sort()
        slowest = max(slowest, times[times.count / 2])
        row(page.label, format(times[times.count / 2]), format(times.last!), String(bytes))
    }
    // A new order, then the list: the refresh reads only the new line.
    let new = NewOrder(ref: "BENCH-NEW-\(getpid())-\(Int(monotonicMilliseconds()))", amount: Amount(francs: 1000)!, currency: "952", brand: "Boutique Démo", language: .fr)
    _ = try? application.cashier.createOrder(new)
    let refreshed = get("/admin/")
    row("orders, page 1 after a new order", format(refreshed.ms), "", String(refreshed.response.body.count))
    let after = memory()
    print(String(format: "RSS (MB): process start %.1f, app ready %.1f, after the first /admin page %.1f, after every page %.1f; peak (VmHWM) %.1f",
                 before.rss, atStart.rss, loaded.rss, after.rss, after.peak))
    print(String(format: "the table costs %.1f MB; slowest median page %.1f ms (target < 100 ms)", loaded.rss - atStart.rss, slowest))
}

/// The key of an order that has an attempt and an event (the generator gives one to every hundredth order),
/// found by its reference rather than by reading every order file.
func sampleOrder(_ store: any OrderStore) -> String {
    for index in stride(from: 0, to: 100_000_000, by: 100) {
        let key = OrderKey(ref: "CMD-" + String(format: "%07d", index))
        if let order = try? store.load(key), !order.attempts.isEmpty, !order.events.isEmpty { return key.hex }
        if index > 10_000 { break }
    }
    return OrderKey(ref: "CMD-0000000").hex
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    fail("usage: cross-dashboard-bench generate DIR [ORDERS] | config DIR | measure DIR")
}
switch arguments[1] {
case "generate":
    generate(arguments[2], count: arguments.count > 3 ? Int(arguments[3]) ?? 100_000 : 100_000)
    _ = writeConfig(arguments[2])
case "config":
    print(writeConfig(arguments[2]))
case "measure":
    measure(arguments[2])
default:
    fail("unknown command \(arguments[1])")
}
