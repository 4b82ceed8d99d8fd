import AdminDashboard
import Cashier
import CheckoutWeb
import FastCGI
import Foundation
import Flooz
import Logging
import MBanking
import MerchantAPI
import OrderStorage
import Payments
import Support
import TMoneyOnline
import WebPages

/// Cross assembled: the use cases on a store, the operators, and every route (the shopper's pages, the
/// merchant's API, the dashboard, the operators' calls), with the pages errors are answered with.
public struct Application: Sendable {
    public static let version = "0.3.0"

    public let configuration: Configuration
    public let store: any OrderStore
    public let pages: Pages
    public let cashier: Cashier
    public let checkout: Checkout
    let api: OrdersAPI
    let dashboard: Dashboard
    let logger: Logger
    /// TMoney's MBANKING (paying from the phone, refunds), when the configuration has it.
    public let mbanking: (any PushOperator & CreditOperator)?
    /// Flooz (paying from a Moov phone), when the configuration has it.
    public let flooz: (any PushOperator)?
    /// `/metrics`, when the process has a metrics backend (`cross serve`).
    public let metrics: MetricsEndpoint?
    /// Every operator that prompts phones.
    public var pushOperators: [any PushOperator] { [mbanking, flooz].compactMap { $0 } }

    /// `redirect` is TMoney Online as the configuration names it, and `mbanking` its MBANKING, unless given;
    /// every call to them is timed (`GatewayMetrics`). With `metrics`, `/metrics` answers.
    public init(
        configuration: Configuration, store: any OrderStore, pages: Pages, redirect: (any RedirectOperator)? = nil,
        mbanking: (any PushOperator & CreditOperator)? = nil, flooz: (any PushOperator)? = nil, metrics: MetricsEndpoint? = nil,
        clock: @escaping @Sendable () -> Timestamp = { .now() }, logger: Logger = Logger(label: "cross")
    ) {
        self.configuration = configuration
        self.store = store
        var pages = pages
        pages.testMode = configuration.mode == .development
        self.pages = pages
        self.logger = logger
        cashier = Cashier(store: store, settings: configuration.cashierSettings, clock: clock, logger: logger)
        let mbanking = (mbanking ?? configuration.mbanking.map { MBankingClient($0, clock: clock, logger: logger) })
            .map { MeteredPushCreditOperator(base: $0) as any PushOperator & CreditOperator }
        self.mbanking = mbanking
        let flooz = (flooz ?? configuration.flooz.map { FloozClient($0, clock: clock, logger: logger) }).map { MeteredPushOperator(base: $0) as any PushOperator }
        self.flooz = flooz
        self.metrics = metrics
        if let metrics {
            metrics.addCollector { [configuration] in
                ScrapeGauges.disk(configuration.dataDirectory, reserveBytes: configuration.diskReserveBytes, into: metrics.registry)
            }
        }
        // The phone operators the merchant offers (`operators`), each with its limits.
        var offered: [Operator: any PushOperator] = [:]
        for push in [mbanking as (any PushOperator)?, flooz].compactMap({ $0 }) where configuration.limits(for: push.operator).enabled {
            offered[push.operator] = push
        }
        let limits = Dictionary(uniqueKeysWithValues: Operator.allCases.map { ($0, configuration.limits(for: $0)) })
        checkout = Checkout(
            cashier: cashier, redirect: MeteredRedirectOperator(base: redirect ?? TMoneyOnline(configuration.tmoneyOnline)), pushes: offered, limits: limits, pages: pages,
            links: configuration.links, settings: configuration.checkout, logger: logger)
        api = OrdersAPI(
            cashier: cashier, links: configuration.links, apiKeys: configuration.apiKeys, pushes: offered, limits: limits, credits: mbanking,
            logger: logger)
        dashboard = Dashboard(
            store: store, pages: pages, credentials: configuration.admin, defaultLanguage: configuration.defaultLanguage,
            upgradedHashPath: configuration.dataDirectory + "/admin/password-hash.json", clock: clock, logger: logger)
    }

    /// A router of its own for each worker (see `Server`): routes are cheap to build.
    public func makeRouter(diagnostics: Bool = false) -> Router {
        var router = Router()
        router.get("/") { [self] _ in
            pages.page("home", configuration.defaultLanguage, title: "Cross", ["version": Application.version])
        }
        router.get("/healthz") { _ in .text("ok\n") }
        api.addRoutes(to: &router)
        checkout.addRoutes(to: &router)
        // Strict: only the very path nginx's `location =` lets through (never `/notify/`, `//notify`, `/notify;x`).
        router.get(configuration.notificationPath, strict: true) { [self] in try notify($0) }
        if let mbanking {
            router.post(configuration.mbankingCallbackPath, strict: true) { [self] in
                try pushCallback($0, via: mbanking, allowlist: configuration.mbankingCallbackAllowlist, channel: "mbanking callback") { body throws(CallbackProblem) in
                    do { let callback = try MBanking.Wire.callback(body); return (callback.reference, callback.claimed) } catch { throw CallbackProblem("\(error)") }
                }
            }
        }
        if let flooz {
            let dialect = configuration.flooz?.dialect ?? Flooz.Wire.Dialect()
            router.post(configuration.floozCallbackPath, strict: true) { [self] in
                try pushCallback($0, via: flooz, allowlist: configuration.floozCallbackAllowlist, channel: "flooz callback") { body throws(CallbackProblem) in
                    do { let callback = try Flooz.Wire.callback(body, dialect); return (callback.reference, callback.claimed) } catch { throw CallbackProblem("\(error)") }
                }
            }
        }
        dashboard.addRoutes(to: &router)
        if let metrics {
            router.get("/metrics") { [dashboard] request in try dashboard.guarded(request) { _ in metrics.response() } }
        }
        if diagnostics { DiagnosticRoutes.add(to: &router) }
        return router
    }

    /// The router, with the store's failures answered as HTTP and the security headers on every page: what every
    /// worker serves.
    public func makeResponder(diagnostics: Bool = false) -> any Responder {
        CrossResponder(router: makeRouter(diagnostics: diagnostics), headers: securityHeaders, logger: logger)
    }

    /// What every page of Cross says to the browser, whatever nginx adds: no framing, no sniffing, no referrer
    /// (a checkout link is a shopper's key to their order), and only this site and TMoney's as form targets.
    var securityHeaders: [(name: String, value: String)] {
        let gateway = URLComponents(string: configuration.gatewayURL).map { components -> String in
            (components.scheme ?? "https") + "://" + (components.host ?? "") + (components.port.map { ":\($0)" } ?? "")
        } ?? ""
        return [
            ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; form-action 'self' \(gateway); frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
        ]
    }

    /// Work beside the requests: the minute's count of notifications refused for their address.
    public var backgroundJobs: [any BackgroundJob] {
        var jobs: [any BackgroundJob] = [PeriodicJob(name: "refusals", interval: 60, runFirstPassAtStart: false) { [cashier] in
            cashier.reportRefusedSources(channel: "notification")
            cashier.reportRefusedSources(channel: "mbanking callback")
            cashier.reportRefusedSources(channel: "flooz callback")
            return nil
        }]
        if !pushOperators.isEmpty { jobs.append(reconciliationJob(pushOperators, credits: mbanking)) }
        return jobs
    }

    /// Pending orders and those with open work every `reconciliation_interval_seconds`; a thorough pass (every
    /// paid or in-review order, every recent one) at start and then about once a minute.
    func reconciliationJob(_ pushes: [any PushOperator], credits: (any CreditOperator)?) -> PeriodicJob {
        let passes = Lock(0)
        let thoroughEvery = max(1, Int((60 / configuration.reconciliationIntervalSeconds).rounded()))
        return PeriodicJob(name: "reconciliation", interval: configuration.reconciliationIntervalSeconds, lowerPriority: true) { [cashier, logger] in
            let pass = passes.withLock { count in
                defer { count += 1 }
                return count
            }
            do {
                let report = try cashier.reconcile(via: pushes, credits: credits, thorough: pass % thoroughEvery == 0)
                ReconciliationMetrics.passed(report, at: cashier.now)
            } catch {
                ReconciliationMetrics.failed()
                logger.error("reconciliation pass failed", metadata: ["error": "\(error)"])
            }
            return nil
        }
    }

    /// The notification path as the access log shows it: a secret segment after the first is not written.
    public var loggedPath: @Sendable (String) -> String {
        let path = configuration.notificationPath
        let segments = path.split(separator: "/")
        guard segments.count > 1 else { return { $0 } }
        let shown = "/" + segments[0] + "/…"
        return { $0.hasPrefix(path) ? shown : $0 }
    }

    /// Browsers get a page in the configured language; the API (`/api/…`), and clients asking for JSON, get
    /// `{"error": …}`; TMoney's notification calls get plain text.
    public var errorPage: ErrorPage {
        { [pages, configuration] error, request in
            let path = request?.rawPath ?? ""
            if [configuration.notificationPath, configuration.mbankingCallbackPath, configuration.floozCallbackPath].contains(path) {
                return .text(error.message + "\n", status: error.status)
            }
            if path.hasPrefix("/api/") || (request?.header("accept") ?? "").contains("application/json") {
                return OrdersAPI.json(["error": error.message], status: error.status)
            }
            return pages.page("error", configuration.defaultLanguage, title: error.status.reason, [
                "heading": error.status.description, "message": error.message,
            ], status: error.status)
        }
    }
}

/// Every route, with what they all share: store failures as HTTP (the disk full, read-only or broken is a 503 to
/// try again later; a damaged order file is a 500 that an operator must look at) and the security headers.
struct CrossResponder: Responder {
    let router: Router
    let headers: [(name: String, value: String)]
    let logger: Logger

    func respond(to request: consuming Request) throws -> Response {
        var route = ""
        return try respond(to: request, route: &route)
    }

    func respond(to request: consuming Request, route: inout String) throws -> Response {
        var response: Response
        do {
            response = try router.respond(to: request, route: &route)
        } catch let error as StoreError {
            throw Self.httpError(error, logger).adding(headers)
        } catch var error as HTTPError {
            error.headers += headers
            throw error
        }
        response.headers += headers
        return response
    }

    static func httpError(_ error: StoreError, _ logger: Logger) -> HTTPError {
        switch error {
        case .reserveReached:
            logger.error("new order refused: the disk's reserve is reached", metadata: ["error": "\(error)"])
            return HTTPError(.serviceUnavailable, "New orders cannot be taken right now: the server is keeping its last disk space for payments already under way. Nothing was saved; please try again later.")
        case .unavailable(let reason):
            logger.error("storage unavailable", metadata: ["error": "\(reason)"])
            return HTTPError(.serviceUnavailable, "Orders cannot be saved right now. Nothing was changed; please try again shortly.")
        case .damaged(let path, let reason):
            logger.critical("order file damaged", metadata: ["path": "\(path)", "error": "\(reason)"])
            return HTTPError(.internalServerError, "This order's record needs an operator's attention.")
        }
    }
}
